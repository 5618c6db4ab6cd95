"""Registries of the local workspace, in-process: created, listed, assets shared into them with their files, read
through a registry client and resolved by the job processes' references."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from support.local import local_client

from azureml_v2 import ValidationError, load_registry
from azureml_v2._yaml.api import load_component
from azureml_v2.entities import Registry
from azureml_v2.entities.assets import BuildContext, Environment
from azureml_v2.entities.model import Model
from azureml_v2.local.core.refs import References
from azureml_v2.local.storage.workspace import Store


@pytest.fixture
def registry(ml_client, tmp_path):
    ml_client.registries.begin_create(Registry(name="shared", location="local", tags={"team": "ml"})).result()
    client = local_client(tmp_path / "home", registry_name="shared", run_jobs=False)
    yield client
    client.close()


@pytest.fixture
def model_dir(tmp_path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.txt").write_text("w=1")
    return folder


def test_a_registry_is_created_listed_and_shown_with_its_tags(ml_client, registry):
    shown = ml_client.registries.get("shared")
    assert (shown.name, shown.location, shown.tags) == ("shared", "local", {"team": "ml"})
    assert shown.mlflow_registry_uri.endswith("/registries/shared")
    assert [r.name for r in ml_client.registries.list()] == ["shared"]
    assert registry.registries.get().name == "shared"  # a registry's client knows its own
    with pytest.raises(ResourceNotFoundError, match="registry 'other' not found"):
        ml_client.registries.get("other")


def test_a_shared_model_is_a_copy_of_its_files_in_the_registry(ml_client, registry, model_dir):
    ml_client.models.create_or_update(Model(name="m", version="2", path=str(model_dir), tags={"a": "b"}))
    shared = ml_client.models.share("m", "2", registry_name="shared", share_with_name="m-shared",
                                    share_with_version="5")
    assert (shared.name, shared.version, shared.tags) == ("m-shared", "5", {"a": "b"})
    copy = Path(urlsplit(shared.path).path)
    assert (copy / "weights.txt").read_text() == "w=1"
    (model_dir / "weights.txt").write_text("changed")  # the registry's copy does not follow the source
    assert (copy / "weights.txt").read_text() == "w=1"
    assert registry.models.get("m-shared", label="latest").version == "5"
    assert [m.name for m in ml_client.models.list()] == ["m"]  # the workspace keeps its own
    registry.models.delete("m-shared", version="5")
    assert not copy.exists()


def test_jobs_of_any_workspace_resolve_registry_references(ml_client, registry, model_dir, tmp_path):
    ml_client.models.create_or_update(Model(name="m", version="1", path=str(model_dir)))
    ml_client.models.share("m", "1", registry_name="shared")
    store = Store(tmp_path / "home")
    refs = References(store, "another-workspace")
    for reference in ("azureml://registries/shared/models/m/versions/1", "azureml://registries/shared/models/m/labels/latest",
                      registry.models.get("m", version="1")._kept.get("id", "") or
                      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                      "Microsoft.MachineLearningServices/registries/shared/models/m/versions/1"):
        path = refs.path(reference, "input 'model'", download=None)
        assert (path / "weights.txt").read_text() == "w=1"
    with pytest.raises(Exception, match="registry 'shared'"):
        refs.asset("azureml://registries/shared/models/gone/versions/1", "models")
    store.close()


def test_a_command_component_is_shared_with_its_code_and_environment(ml_client, registry, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "run.py").write_text("print('hi')\n")
    spec = tmp_path / "component.yml"
    spec.write_text("name: hello\nversion: '1'\ntype: command\ncommand: python run.py\ncode: ./src\n"
                    "environment:\n  image: python:3.11\n")
    ml_client.components.create_or_update(load_component(spec))
    shared = ml_client.components.share("hello", "1", registry_name="shared")
    assert "/registries/shared/codes/" in shared.code and "/registries/shared/environments/" in shared.environment
    code = registry.code.get(shared.code.rsplit("/", 3)[1], version=shared.code.rsplit("/", 1)[1])
    assert (Path(urlsplit(code.path).path) / "run.py").read_text() == "print('hi')\n"


def test_what_a_registry_cannot_take_is_one_clear_error(ml_client, registry, model_dir):
    with pytest.raises(ValidationError, match="a registry takes files from a workspace"):
        registry.models.create_or_update(Model(name="m", version="1", path=str(model_dir)))
    with pytest.raises(HttpResponseError, match="names no workspace"):
        registry.models.create_or_update(Model(name="m", version="1",
                                               path="azureml://datastores/workspaceblobstore/paths/x"))
    with pytest.raises(ResourceNotFoundError, match="registry 'nowhere' not found"):
        ml_client.models.create_or_update(Model(name="m", version="1", path=str(model_dir)))
        ml_client.models.share("m", "1", registry_name="nowhere")
    with pytest.raises(ValidationError, match="workspace_name or registry_name"):
        from azureml_v2 import MLClient
        MLClient(workspace_name="w", registry_name="r")
    with pytest.raises(ValidationError, match="built from a context"):
        (model_dir / "Dockerfile").write_text("FROM python:3.11\n")
        env = Environment(name="e", version="1", build=BuildContext(path=str(model_dir)))
        ml_client.environments.create_or_update(env)
        ml_client.environments.share("e", "1", registry_name="shared")


@pytest.mark.parametrize("name", ["registry.yml", "registry-storage-options.yml", "registry-demo.yml"])
def test_the_corpus_registries_load_round_trip_and_give_spec_valid_bodies(corpus_root, rest_validate, name):
    path = corpus_root / "cli" / "resources" / "registry" / name
    if name == "registry-demo.yml":  # a template: its name is a placeholder
        with pytest.raises(ValidationError, match=r"registry-demo.yml:1:\d+ name: invalid registry name .<REGISTRY-NAME>."):
            load_registry(path)
        return
    registry = load_registry(path)
    assert load_registry(dict(__import__("yaml").safe_load(registry.dump()))) == registry
    body = registry.to_rest(scope="/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/"
                                  "workspaces/w")
    assert rest_validate(body, "RegistryTrackedResource") == []
    assert [r["location"] for r in body["properties"]["regionDetails"]] == \
        [r.location for r in registry.replication_locations]
