"""Asset operation groups (code, data, environments, models, components) against the local workspace,
in-process: versions, latest, archive/restore, lists and paging, delete, uploads, errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from support.local import local_client

from azureml_v2 import ValidationError
from azureml_v2._yaml.api import load_component
from azureml_v2.entities.assets import BuildContext, Code, Data, Environment
from azureml_v2.entities.model import Model


def _datastore_folder(ml_client, uri: str) -> Path:
    """The file behind azureml://datastores/<name>/paths/<path> in the local workspace."""
    store, _, path = uri.removeprefix("azureml://datastores/").partition("/paths/")
    return Path(ml_client.datastores.get(store).path) / path


@pytest.fixture
def csv(tmp_path) -> Path:
    path = tmp_path / "iris.csv"
    path.write_text("a,b\n1,2\n")
    return path


# -- versions --------------------------------------------------------------------------------------------
def test_a_local_file_is_uploaded_and_gets_the_next_integer_version(ml_client, csv):
    first = ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file"))
    assert first.version == "1"
    assert first.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert first.path.endswith("/iris.csv")
    assert _datastore_folder(ml_client, first.path).read_text() == "a,b\n1,2\n"
    second = ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file"))
    assert (second.version, second.path) == ("2", first.path)  # same content: same upload, no copy


def test_the_callers_entity_is_left_unchanged(ml_client, csv):
    data = Data(name="iris", path=str(csv), type="uri_file")
    ml_client.data.create_or_update(data)
    assert (data.version, data.path) == (None, str(csv))


def test_an_explicit_version_is_immutable(ml_client, csv):
    data = Data(name="iris", version="5", path=str(csv), type="uri_file", description="first")
    created = ml_client.data.create_or_update(data)
    assert ml_client.data.create_or_update(data) == created
    csv.write_text("changed\n")
    with pytest.raises(ResourceExistsError) as info:
        ml_client.data.create_or_update(data)
    assert "dataUri" in str(info.value)  # the service says which field differs
    assert ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file")).version == "6"


def test_get_by_version_and_by_label_latest(ml_client, csv):
    for description in ("one", "two"):
        ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file", description=description))
    assert ml_client.data.get("iris", version="1").description == "one"
    latest = ml_client.data.get("iris", label="latest")
    assert (latest.version, latest.description) == ("2", "two")
    with pytest.raises(ValidationError, match="either version or label"):
        ml_client.data.get("iris")
    with pytest.raises(ValidationError, match="only 'latest'"):
        ml_client.data.get("iris", label="production")


def test_missing_assets_raise_resource_not_found_with_the_service_message(ml_client):
    with pytest.raises(ResourceNotFoundError, match="data 'nope' version '1' not found"):
        ml_client.data.get("nope", version="1")
    with pytest.raises(ResourceNotFoundError):
        ml_client.environments.get("nope", label="latest")
    with pytest.raises(HttpResponseError, match="invalid name"):
        ml_client.environments.create_or_update(Environment(name="bad name!", version="1", image="python:3.11"))


# -- lists, archive, restore, delete ---------------------------------------------------------------------
def _names(items) -> list[tuple]:
    return [(item.name, item.version) for item in items]


def test_lists_are_newest_first_and_hide_archived_versions(ml_client):
    for version in ("1", "2", "3"):
        ml_client.environments.create_or_update(Environment(name="env", version=version, image=f"python:3.1{version}"))
    ml_client.environments.create_or_update(Environment(name="other", version="1", image="python:3.11"))
    assert _names(ml_client.environments.list("env")) == [("env", "3"), ("env", "2"), ("env", "1")]
    assert sorted(e.name for e in ml_client.environments.list()) == ["env", "other"]

    ml_client.environments.archive("env", version="3")
    assert _names(ml_client.environments.list("env")) == [("env", "2"), ("env", "1")]
    assert _names(ml_client.environments.list("env", list_view_type="ArchivedOnly")) == [("env", "3")]
    assert len(list(ml_client.environments.list("env", list_view_type="All"))) == 3
    assert ml_client.environments.get("env", label="latest").version == "2"  # latest skips archived
    assert ml_client.environments.get("env", version="3").image == "python:3.13"  # still readable

    ml_client.environments.restore("env", version="3")
    assert ml_client.environments.get("env", label="latest").version == "3"

    ml_client.environments.archive("env")  # the whole asset
    assert [e.name for e in ml_client.environments.list()] == ["other"]
    ml_client.environments.restore("env")
    assert sorted(e.name for e in ml_client.environments.list()) == ["env", "other"]
    with pytest.raises(ValidationError, match="list_view_type"):
        ml_client.environments.list(list_view_type="Everything")


def test_archiving_a_whole_data_asset(ml_client, csv):
    ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file"))
    ml_client.data.archive("iris")
    assert list(ml_client.data.list()) == []
    assert [d.name for d in ml_client.data.list(list_view_type="ArchivedOnly")] == ["iris"]
    ml_client.data.restore("iris")
    assert [d.name for d in ml_client.data.list()] == ["iris"]


def test_list_follows_next_link_across_pages(tmp_path):
    client = local_client(tmp_path / "home", page_size=2)
    for version in range(1, 6):
        client.models.create_or_update(Model(name="m", version=str(version), path="azureml://jobs/j/outputs/o"))
    assert [m.version for m in client.models.list("m")] == ["5", "4", "3", "2", "1"]
    lists = [q for method, path, q, _ in client.sent.requests if method == "GET" and path.endswith("/versions")]
    assert len(lists) == 3 and "$skipToken=" in lists[1]
    client.close()
    client.sent.close()


def test_delete_a_version_then_the_whole_asset(ml_client):
    for version in ("1", "2"):
        ml_client.environments.create_or_update(Environment(name="env", version=version, image="python:3.11"))
    ml_client.environments.delete("env", version="1")
    assert _names(ml_client.environments.list("env")) == [("env", "2")]
    ml_client.environments.delete("env")
    with pytest.raises(ResourceNotFoundError):
        ml_client.environments.get("env", version="2")


# -- code ------------------------------------------------------------------------------------------------
@pytest.fixture
def src(tmp_path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text("print('training')\n")
    (folder / "notes.tmp").write_text("scratch\n")
    (folder / ".amlignore").write_text("*.tmp\n")
    return folder


def test_anonymous_code_is_named_by_content_hash_and_uploaded_once(ml_client, src):
    code = ml_client.code.create_or_update(Code(path=str(src)))
    assert len(code.name) == 64 and code.version == "1"
    assert code.properties == {"hash_sha256": code.name, "hash_version": "202208"}  # as azure-ai-ml records
    uploaded = _datastore_folder(ml_client, code.path)
    assert sorted(p.name for p in uploaded.iterdir()) == [".amlignore", "train.py"]  # *.tmp ignored

    puts = len(ml_client.sent.puts())
    (src / "notes.tmp").write_text("an ignored change\n")
    assert ml_client.code.create_or_update(Code(path=str(src))) == code
    assert len(ml_client.sent.puts()) == puts  # known snapshot: one GET, nothing sent

    (src / "train.py").write_text("print('changed')\n")
    assert ml_client.code.create_or_update(Code(path=str(src))).name != code.name


def test_named_code_gets_versions(ml_client, src):
    assert ml_client.code.create_or_update(Code(name="trainer", path=str(src))).version == "1"
    (src / "train.py").write_text("print('v2')\n")
    assert ml_client.code.create_or_update(Code(name="trainer", path=str(src))).version == "2"
    assert [c.version for c in ml_client.code.list("trainer")] == ["2", "1"]
    assert ml_client.code.get("trainer", label="latest").version == "2"
    ml_client.code.delete("trainer", version="2")
    assert ml_client.code.get("trainer", label="latest").version == "1"


# -- environments, models, components ---------------------------------------------------------------------
def test_environment_with_conda_file_and_a_local_build_context(ml_client, tmp_path):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11\n")
    conda = {"name": "train", "dependencies": ["python=3.11", {"pip": ["lightgbm"]}]}
    env = ml_client.environments.create_or_update(Environment(name="lgbm", image="python:3.11", conda_file=conda))
    assert ml_client.environments.get("lgbm", version=env.version).conda_file == conda

    built = ml_client.environments.create_or_update(
        Environment(name="built", build=BuildContext(path=str(context), dockerfile_path="Dockerfile")))
    assert built.build.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert (_datastore_folder(ml_client, built.build.path) / "Dockerfile").is_file()


def test_a_local_model_folder_is_uploaded(ml_client, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    model = ml_client.models.create_or_update(Model(name="clf", path=str(folder), type="mlflow_model"))
    assert (model.version, model.type) == ("1", "mlflow_model")
    assert (_datastore_folder(ml_client, model.path) / "MLmodel").is_file()
    ml_client.models.archive("clf", version="1")
    assert list(ml_client.models.list("clf")) == []


def test_a_component_with_local_code_and_an_inline_environment(ml_client, tmp_path, src):
    spec = tmp_path / "component.yml"
    spec.write_text(f"""\
name: train
type: command
inputs:
  lr: {{type: number, default: 0.1}}
code: {src.name}
environment:
  image: python:3.11
command: python train.py --lr ${{{{inputs.lr}}}}
""")
    component = load_component(spec)
    created = ml_client.components.create_or_update(component)
    assert created.version == "1"
    code_id, env_id = created.code.removeprefix("azureml:"), created.environment.removeprefix("azureml:")
    assert code_id.startswith(ml_client._scope + "/codes/") and code_id.endswith("/versions/1")
    assert "/environments/CliV2AnonymousEnvironment/versions/" in env_id
    assert ml_client.environments.get("CliV2AnonymousEnvironment", version=env_id.rsplit("/", 1)[1]).image == \
        "python:3.11"

    again = ml_client.components.create_or_update(component)
    assert (again.code, again.environment, again.version) == (created.code, created.environment, "2")
    assert ml_client.components.get("train", label="latest").command == "python train.py --lr ${{inputs.lr}}"


def test_references_with_at_latest_are_resolved(ml_client):
    ml_client.environments.create_or_update(Environment(name="base", version="7", image="python:3.11"))
    component = load_component({"name": "echo", "type": "command", "command": "echo hi",
                                "environment": "azureml:base@latest"})
    created = ml_client.components.create_or_update(component)
    assert created.environment == f"azureml:{ml_client._scope}/environments/base/versions/7"


def test_updating_an_archived_asset_keeps_it_archived(ml_client):
    from azureml_v2.entities.component import CommandComponent
    ml_client.environments.create_or_update(Environment(name="env", version="1", image="python:3.11"))
    ml_client.components.create_or_update(CommandComponent(name="comp", version="1", command="echo hi",
                                                           environment="azureml:env:1"))
    ml_client.components.archive("comp", version="1")
    ml_client.components.create_or_update(ml_client.components.get("comp", version="1"))
    assert [c.version for c in ml_client.components.list("comp", list_view_type="ArchivedOnly")] == ["1"]
    assert list(ml_client.components.list("comp")) == []
