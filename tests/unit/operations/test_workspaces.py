"""Several local workspaces in one home: created from the corpus YAML, listed, shown, updated and deleted, each with
its own assets; and the corpus workspace files as Azure ML takes them."""
from __future__ import annotations

import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError

from azureml_v2 import ValidationError, load_workspace
from azureml_v2.entities import Workspace
from azureml_v2.entities.model import Model
from azureml_v2.operations.workspaces import update_body

CORPUS = ("basic.yml", "cmk.yml", "hbi.yml", "mvnet-allow-internet-outbound.yml",
          "mvnet-allow-only-approved-outbound.yml", "privatelink.yml", "with-existing-resources.yml")
SCOPE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_workspace_loads_round_trips_and_gives_a_spec_valid_body(corpus_root, rest_validate, name):
    workspace = load_workspace(corpus_root / "cli" / "resources" / "workspace" / name)
    assert load_workspace(yaml.safe_load(workspace.dump())) == workspace
    body = workspace.to_rest(scope=SCOPE)
    assert rest_validate(body, "Workspace") == []
    assert body["properties"].get("friendlyName") == workspace.display_name
    assert rest_validate(update_body(workspace, SCOPE), "WorkspaceUpdateParameters") == []


def test_a_managed_network_goes_on_the_wire_as_the_spec_names_it(corpus_root):
    path = corpus_root / "cli" / "resources" / "workspace" / "mvnet-allow-only-approved-outbound.yml"
    network = load_workspace(path).to_rest(scope=SCOPE)["properties"]["managedNetwork"]
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert network["outboundRules"]["added-fqdnrule"] == {"type": "FQDN", "destination": "test2.com"}
    assert network["outboundRules"]["added-servicetagrule"]["destination"] == {
        "portRanges": "80, 8080", "protocol": "TCP", "serviceTag": "DataFactory"}


def test_workspaces_of_one_home_are_created_listed_updated_and_deleted(ml_client, corpus_root, tmp_path):
    created = ml_client.workspaces.begin_create(
        load_workspace(corpus_root / "cli" / "resources" / "workspace" / "basic.yml")).result()
    assert (created.name, created.location, created.display_name, created.tags) == \
        ("mlw-basic-prod", "eastus", "Basic workspace-example", {"purpose": "demonstration"})
    assert created.mlflow_tracking_uri.endswith("/workspaces/mlw-basic-prod")
    ml_client.workspaces.begin_create(Workspace(name="team-b")).result()
    assert [w.name for w in ml_client.workspaces.list()] == ["local", "mlw-basic-prod", "team-b"]

    shown = ml_client.workspaces.get("team-b")
    shown.description, shown.tags = "the B team", {"cost": "b"}
    updated = ml_client.workspaces.begin_update(shown).result()
    assert (updated.description, updated.tags, updated.location) == ("the B team", {"cost": "b"}, "local")

    from support.local import local_client  # its own assets: one workspace does not see another's
    team_b = local_client(tmp_path / "home", workspace_name="team-b", run_jobs=False)
    try:
        team_b.models.create_or_update(Model(name="m", version="1", path="https://example.com/m.pkl"))
        assert [m.name for m in team_b.models.list()] == ["m"]
        assert [m.name for m in ml_client.models.list()] == []
        ml_client.workspaces.begin_delete("team-b").result()
        assert [w.name for w in ml_client.workspaces.list()] == ["local", "mlw-basic-prod"]
    finally:
        team_b.close()


def test_a_mistyped_workspace_name_is_not_found_and_not_made(ml_client, tmp_path, client_api):
    from support.local import local_client

    ml_client.models.create_or_update(Model(name="m", version="1", path="https://example.com/m.pkl"))
    typo = local_client(tmp_path / "home", client_api, workspace_name="locla", run_jobs=False)
    try:
        with pytest.raises(ResourceNotFoundError, match="workspace 'locla' not found"):
            typo.workspaces.get("locla")
        with pytest.raises(ResourceNotFoundError, match="parent resource .*/workspaces/locla' could not be found"):
            list(typo.models.list())
        with pytest.raises(ResourceNotFoundError, match="could not be found: create it first"):
            typo.models.create_or_update(Model(name="m", version="2", path="https://example.com/m.pkl"))
        assert [w.name for w in ml_client.workspaces.list()] == ["local"]
    finally:
        typo.close()


def test_what_a_workspace_cannot_be_is_one_clear_error(ml_client, tmp_path):
    path = tmp_path / "ws.yml"
    path.write_text("name: w\nlocation: eastus\n")
    with pytest.raises(ValidationError, match=r"ws.yml:1:\d+ name: invalid workspace name 'w'"):
        load_workspace(path)
    path.write_text("name: www\nmanaged_network:\n  isolation_mode: open\n")
    with pytest.raises(ValidationError, match=r"ws.yml:3:\d+ managed_network.isolation_mode: invalid value 'open'"):
        load_workspace(path)
    path.write_text("name: www\nmanaged_network:\n  outbound_rules:\n  - name: r\n    type: fqdn\n"
                    "    destination: {host: x}\n")
    with pytest.raises(ValidationError, match=r"destination: an fqdn rule's destination is a host name"):
        load_workspace(path)
