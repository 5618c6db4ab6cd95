"""A whole workspace as a YAML tree and back: export A, import into B, export B gives the same bytes; imports are
idempotent, conflicts are named, secrets never reach a file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.local import local_client

from azureml_v2 import (load_batch_deployment, load_batch_endpoint, load_component, load_compute, load_connection,
                        load_data, load_environment, load_job, load_model, load_online_deployment, load_online_endpoint,
                        load_schedule)
from azureml_v2.entities import AccountKeyConfiguration, AzureBlobDatastore, BatchEndpointDefaults, Model, Workspace
from azureml_v2.exceptions import ValidationError
from azureml_v2.operations.export import export_workspace, import_workspace

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SECRET = "c2VjcmV0LWFjY291bnQta2V5LW5ldmVyLWV4cG9ydGVk"
PAT = "ghp_personal-access-token-never-exported"
# corpus assets that are assets of this workspace (the data imports and empty source folders are left out)
CORPUS_ASSETS = {
    "data": ["cloud-file-https.yml", "cloud-file-wasbs.yml", "cloud-file.yml", "cloud-folder.yml", "cloud-mltable.yml",
             "local-file.yml", "local-folder.yml", "local-mltable.yml", "public-file-https.yml"],
    "model": ["local-file.yml", "local-mlflow.yml"],
    "environment": ["docker-image.yml", "docker-image-plus-conda.yaml"],
    "component": ["pipeline.yml"],
}
LOADERS = {"data": (load_data, "data"), "model": (load_model, "models"),
           "environment": (load_environment, "environments"), "component": (load_component, "components")}


@pytest.fixture
def client_api():
    """export_workspace and import_workspace drive a synchronous MLClient."""
    return "sync"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def workspace_a(ml_client, corpus_root, tmp_path):
    """The examples of the repository (assets, jobs, endpoints with traffic) and the corpus assets, in one local
    workspace whose jobs are recorded, not run."""
    ml = ml_client
    ml.environments.create_or_update(load_environment(EXAMPLES / "lightgbm/environment/environment.yml"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.txt").write_text("tree\n")
    ml.models.create_or_update(Model(name="lightgbm-diabetes", path=str(model), type="custom_model"))
    ml.data.create_or_update(load_data({"name": "lines", "type": "uri_folder",
                                        "path": str(EXAMPLES / "inputs-outputs/data")}))
    for component in sorted((EXAMPLES / "pipeline/components").glob("*.yml")):
        ml.components.create_or_update(load_component(component))
    for job in ("hello-world/job.yml", "lightgbm/job.yml", "lightgbm/sweep.yml", "pipeline/pipeline.yml",
                "inputs-outputs/job.yml"):
        ml.jobs.create_or_update(load_job(EXAMPLES / job))
    ml.online_endpoints.begin_create_or_update(load_online_endpoint(EXAMPLES / "endpoint/endpoint.yml")).result()
    for name in ("blue", "green"):
        ml.online_deployments.begin_create_or_update(load_online_deployment(EXAMPLES / f"endpoint/{name}.yml")).result()
    endpoint = ml.online_endpoints.get("diabetes-endpoint")
    endpoint.traffic = {"blue": 90, "green": 10}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    ml.batch_endpoints.begin_create_or_update(load_batch_endpoint(EXAMPLES / "endpoint/batch-endpoint.yml")).result()
    ml.batch_deployments.begin_create_or_update(load_batch_deployment(EXAMPLES / "endpoint/batch-deployment.yml")).result()
    batch = ml.batch_endpoints.get("diabetes-batch")
    batch.defaults = BatchEndpointDefaults(deployment_name="lightgbm")
    ml.batch_endpoints.begin_create_or_update(batch).result()
    ml.datastores.create_or_update(_shared_blob(SECRET))
    ml.compute.begin_create_or_update(load_compute(corpus_root / "cli/resources/compute/cluster-basic.yml")).result()
    ml.connections.create_or_update(_git_feed(PAT))
    ml.schedules.begin_create_or_update(load_schedule({
        "name": "nightly-hello", "trigger": {"type": "cron", "expression": "0 2 * * *", "time_zone": "UTC"},
        "create_job": str(EXAMPLES / "hello-world/job.yml")})).result()
    ml.schedules.begin_create_or_update(load_schedule({
        "name": "weekly-sweep",
        "trigger": {"type": "recurrence", "frequency": "week", "interval": 1, "schedule": {"hours": 6, "minutes": 0}},
        "create_job": str(EXAMPLES / "lightgbm/sweep.yml")})).result()
    ml.schedules.begin_disable("weekly-sweep").result()
    for kind, files in CORPUS_ASSETS.items():
        loader, group = LOADERS[kind]
        for name in files:
            getattr(ml, group).create_or_update(loader(corpus_root / "cli/assets" / kind / name))
    return ml


def _git_feed(pat: str):
    return load_connection({"name": "git-feed", "type": "git", "target": "https://git.example.com/team/repo",
                            "credentials": {"type": "pat", "pat": pat}})


def _shared_blob(key: str) -> AzureBlobDatastore:
    return AzureBlobDatastore(name="shared_blob", account_name="acct", container_name="c",
                              credentials=AccountKeyConfiguration(account_key=key))


@pytest.fixture
def workspace_b(tmp_path, workspace_a):
    """Another workspace of the same home (-w other), holding the blob datastore and the git connection with its own
    secrets (secrets are not exported)."""
    workspace_a.workspaces.begin_create(Workspace(name="other")).result()
    client = local_client(workspace_a.home, workspace_name="other", run_jobs=False)
    client.datastores.create_or_update(_shared_blob("a-key-of-b"))
    client.connections.create_or_update(_git_feed("a-pat-of-b"))
    yield client
    client.close()
    client.sent.close()


def test_round_trip_is_byte_identical(workspace_a, workspace_b, tmp_path):
    export_workspace(workspace_a, tmp_path / "a")
    report = import_workspace(workspace_b, tmp_path / "a", jobs=True)
    export_workspace(workspace_b, tmp_path / "b")
    tree = _tree(tmp_path / "a")
    assert tree == _tree(tmp_path / "b")
    # the datastore and the connection were there (with B's own secrets)
    assert len(report.created) == len([f for f in tree if f.endswith(".yml")]) - 2
    # what the user sees in the tree: one file per version, files beside it, references by name
    model = yaml.safe_load(tree["models/lightgbm-diabetes/1.yml"])
    assert model["path"] == "1/model" and tree["models/lightgbm-diabetes/1/model/model.txt"] == b"tree\n"
    deployment = yaml.safe_load(tree["online-deployments/diabetes-endpoint/blue.yml"])
    assert deployment["model"] == "azureml:lightgbm-diabetes:1"
    assert deployment["environment"].startswith("azureml:CliV2AnonymousEnvironment:")
    assert not any("/subscriptions/" in text.decode() for text in tree.values() if text[:1] != b"\x00")
    assert {f for f in tree if f.startswith("jobs/") and f.endswith(".yml")} == {
        f"jobs/{job.name}.yml" for job in workspace_a.jobs.list()}
    assert "datastores/shared_blob.yml" in tree and "datastores/workspaceblobstore.yml" not in tree
    assert yaml.safe_load(tree["compute/basic-example.yml"])["max_instances"] == 2 and "compute/local.yml" not in tree
    assert yaml.safe_load(tree["connections/git-feed.yml"])["credentials"] == {"type": "pat", "pat": None}
    assert workspace_b.compute.get("basic-example").max_instances == 2
    assert workspace_b.connections.get("git-feed", populate_secrets=True).credentials.pat == "a-pat-of-b"
    assert yaml.safe_load(tree["schedules/weekly-sweep.yml"])["is_enabled"] is False
    assert [s.name for s in workspace_b.schedules.list()] == ["nightly-hello"]  # the disabled one stays disabled
    # and in B: traffic and the default deployment set once the deployments exist
    assert workspace_b.online_endpoints.get("diabetes-endpoint").traffic == {"blue": 90, "green": 10}
    assert workspace_b.batch_endpoints.get("diabetes-batch").defaults.deployment_name == "lightgbm"


def test_second_export_of_an_unchanged_workspace_is_the_same(workspace_a, tmp_path):
    export_workspace(workspace_a, tmp_path / "one")
    export_workspace(workspace_a, tmp_path / "two")
    (tmp_path / "two" / "models" / "stale.yml").write_text("name: gone\n")
    export_workspace(workspace_a, tmp_path / "two")  # what the workspace no longer holds leaves the tree
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_no_secret_reaches_the_tree(workspace_a, tmp_path):
    export_workspace(workspace_a, tmp_path / "tree")
    keys = workspace_a.online_endpoints.get_keys("diabetes-endpoint")
    texts = [p.read_bytes() for p in (tmp_path / "tree").rglob("*") if p.is_file()]
    for secret in (SECRET, PAT, keys.primary_key, keys.secondary_key):
        assert not any(secret.encode() in text for text in texts)
    # a workspace without the datastore is told where the secret is missing, and nothing is created
    fresh = local_client(tmp_path / "home-c", run_jobs=False)
    with pytest.raises(ValidationError) as err:
        import_workspace(fresh, tmp_path / "tree")
    assert str(err.value).splitlines() == [
        f"{tmp_path / 'tree/datastores/shared_blob.yml'} credentials.account_key: not exported (secrets never are): "
        "fill it in, or create the datastore in this workspace first",
        f"{tmp_path / 'tree/connections/git-feed.yml'} credentials.pat: not exported (secrets never are): fill it in, "
        "or create the connection in this workspace first"]
    assert list(fresh.models.list()) == []
    fresh.close()


def test_importing_twice_changes_nothing_and_jobs_are_asked_for(workspace_a, workspace_b, tmp_path):
    export_workspace(workspace_a, tmp_path / "tree")
    first = import_workspace(workspace_b, tmp_path / "tree")
    assert first.skipped and all(f.startswith("jobs/") for f in first.skipped)
    assert list(workspace_b.jobs.list()) == []
    again = import_workspace(workspace_b, tmp_path / "tree")
    assert again.created == [] and sorted(again.unchanged) == sorted(first.created + first.unchanged)
    assert sorted(first.unchanged) == ["connections/git-feed.yml", "datastores/shared_blob.yml"]  # B held them


def test_a_conflict_names_the_differing_fields_and_changes_nothing(workspace_a, workspace_b, tmp_path):
    export_workspace(workspace_a, tmp_path / "tree")
    model = tmp_path / "other"
    model.mkdir()
    (model / "model.txt").write_text("another tree\n")
    workspace_b.models.create_or_update(Model(name="lightgbm-diabetes", version="1", path=str(model),
                                              description="not the same", type="custom_model"))
    with pytest.raises(ValidationError) as err:
        import_workspace(workspace_b, tmp_path / "tree")
    assert str(err.value) == (f"{tmp_path / 'tree/models/lightgbm-diabetes/1.yml'}: the workspace holds it with "
                              "other description, path")
    assert list(workspace_b.environments.list()) == []  # checked before anything was created


def test_a_broken_file_is_one_located_error(workspace_a, workspace_b, tmp_path):
    export_workspace(workspace_a, tmp_path / "tree")
    broken = tmp_path / "tree/environments/lightgbm-diabetes/1.yml"
    broken.write_text(broken.read_text().replace("image:", "imagee:"))
    shutil.rmtree(tmp_path / "tree/jobs")
    with pytest.raises(ValidationError) as err:
        import_workspace(workspace_b, tmp_path / "tree")
    assert f"{broken}:" in str(err.value) and "imagee: unknown field (did you mean image?)" in str(err.value)
    assert list(workspace_b.models.list()) == []


def test_a_pipeline_component_is_imported_after_the_components_it_uses(ml_client, tmp_path):
    """`components/a_pipeline` sorts before `components/z_echo`, and refers to it: created after it all the same."""
    ml_client.components.create_or_update(load_component({
        "name": "z_echo", "version": "1", "type": "command", "command": "echo ${{inputs.word}}",
        "environment": {"image": "python:3.11"}, "inputs": {"word": {"type": "string"}}}))
    ml_client.components.create_or_update(load_component({
        "name": "a_pipeline", "version": "1", "type": "pipeline", "inputs": {"word": {"type": "string"}},
        "jobs": {"say": {"type": "command", "component": "azureml:z_echo:1",
                         "inputs": {"word": "${{parent.inputs.word}}"}}}}))
    export_workspace(ml_client, tmp_path / "tree")
    ml_client.workspaces.begin_create(Workspace(name="other")).result()
    target = local_client(ml_client.home, workspace_name="other", run_jobs=False)
    report = import_workspace(target, tmp_path / "tree")
    assert report.created.index("components/z_echo/1.yml") < report.created.index("components/a_pipeline/1.yml")
    assert target.components.get("a_pipeline", version="1").jobs["say"].component.endswith("/z_echo/versions/1")
    target.close()


def test_a_tree_whose_files_name_paths_outside_it_is_refused_and_nothing_is_uploaded(ml_client, tmp_path):
    """A doctored export cannot make import upload the importer's own files (`path: ../../../.ssh`) to the workspace."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "id_rsa").write_text("key\n")
    tree = tmp_path / "tree"
    (tree / "models/stolen").mkdir(parents=True)
    (tree / "models/stolen/1.yml").write_text(
        "name: stolen\nversion: '1'\ntype: custom_model\npath: ../../../private\n")
    (tree / "components/echo").mkdir(parents=True)
    (tree / "components/echo/1.yml").write_text(
        f"name: echo\nversion: '1'\ntype: command\ncommand: echo\ncode: {private}\n"
        "environment:\n  image: python:3.11\n")
    with pytest.raises(ValidationError) as err:
        import_workspace(ml_client, tree)
    assert sorted(str(err.value).splitlines()) == [
        f"{tree / 'components/echo/1.yml'} code: {private} is outside the imported folder",
        f"{tree / 'models/stolen/1.yml'} path: {private} is outside the imported folder"]
    assert list(ml_client.models.list()) == [] and list(ml_client.components.list()) == []


def test_a_duplicate_key_in_a_file_whose_secrets_were_left_out_is_refused(ml_client, tmp_path):
    ml_client.connections.create_or_update(_git_feed(PAT))
    tree = tmp_path / "tree"
    (tree / "connections").mkdir(parents=True)
    (tree / "connections/git-feed.yml").write_text(
        "name: git-feed\ntype: git\ntarget: https://elsewhere.example.com\ntarget: https://git.example.com/team/repo\n"
        "credentials:\n  type: pat\n  pat: null\n")
    with pytest.raises(ValidationError) as err:
        import_workspace(ml_client, tree)
    assert str(err.value) == f"{tree / 'connections/git-feed.yml'}:4:1 target: duplicate key (first at line 3)"
