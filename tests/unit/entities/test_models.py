"""Model assets: YAML as Azure ML users write it, its REST form, and located errors."""
from __future__ import annotations

import textwrap

import pytest

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2.entities.model import Model


def write_yaml(tmp_path, text: str, name: str = "asset.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def located_problems(load, path) -> list[tuple[int, str, str]]:
    """(line, field, message) of each problem `load(path)` reports, all in that file."""
    with pytest.raises(azureml_v2.ValidationError) as info:
        load(path)
    for problem in info.value.problems:
        assert problem.source == str(path)
    return [(p.line, p.path, p.message) for p in info.value.problems]


def _problems(path):
    return located_problems(azureml_v2.load_model, path)


def test_corpus_models_load_with_their_type_and_local_path(corpus_root):
    folder = corpus_root / "cli/assets/model"
    single = azureml_v2.load_model(folder / "local-file.yml")
    assert (single.name, single.type, single.path) == ("local-file-example", "custom_model",
                                                      str(folder / "mlflow-model/model.pkl"))
    mlflow = azureml_v2.load_model(folder / "local-mlflow.yml")
    assert (mlflow.type, mlflow.path) == ("mlflow_model", str(folder / "mlflow-model"))


def test_dump_writes_only_what_was_said_with_paths_relative_to_the_new_file(corpus_root, tmp_path):
    folder = corpus_root / "cli/assets/model"
    out = tmp_path / "out" / "model.yml"
    out.parent.mkdir()
    azureml_v2.load_model(folder / "local-file.yml").dump(out)
    text = out.read_text()
    assert "type:" not in text  # custom_model is the default, and the file did not say it
    assert "path: ../" in text and str(folder) not in text
    mlflow = azureml_v2.load_model(folder / "local-mlflow.yml").dump()
    assert "type: mlflow_model" in mlflow


@pytest.mark.parametrize("uri", [
    "azureml://jobs/train-42/outputs/artifacts/paths/model/",
    "azureml://datastores/workspaceblobstore/paths/models/credit/",
    "runs:/0f3c-run/model",
    "https://example.blob.core.windows.net/models/model.pkl",
])
def test_remote_paths_are_kept_as_written_and_sent_as_the_model_uri(uri, rest_validate):
    model = azureml_v2.load_model({"name": "credit", "version": 2, "type": "mlflow_model", "path": uri})
    assert model.path == uri and model.version == "2"
    assert yaml_path(model.dump()) == uri
    body = model.to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["modelUri"] == uri
    assert not rest_validate(body, "ModelVersionResource")


def yaml_path(text: str) -> str:
    import yaml
    return yaml.safe_load(text)["path"]


def test_flavors_stage_and_job_name_round_trip_through_yaml_and_rest(tmp_path, rest_validate):
    path = write_yaml(tmp_path, """
        name: credit
        version: "3"
        type: mlflow_model
        path: azureml://jobs/train-42/outputs/artifacts/paths/model/
        stage: Production
        job_name: train-42
        flavors:
          python_function:
            loader_module: mlflow.sklearn
            env_version: 2
          sklearn:
            code: null
        tags: {team: risk}
        """)
    model = azureml_v2.load_model(path)
    assert azureml_v2.load_model(write_yaml(tmp_path, model.dump(), "again.yml")) == model
    body = model.to_rest(scope=LOCAL_SCOPE)
    props = body["properties"]
    assert props["flavors"] == {"python_function": {"data": {"loader_module": "mlflow.sklearn",
                                                            "env_version": "2"}},
                                "sklearn": {"data": {"code": None}}}
    assert (props["modelType"], props["stage"], props["jobName"]) == ("mlflow_model", "Production", "train-42")
    assert not rest_validate(body, "ModelVersionResource")
    back = Model._from_rest({"id": f"{LOCAL_SCOPE}/models/credit/versions/3", **body})
    assert (back.name, back.version, back.stage, back.job_name) == ("credit", "3", "Production", "train-42")
    assert back.flavors["python_function"]["loader_module"] == "mlflow.sklearn"
    assert back.to_rest(scope=LOCAL_SCOPE) == body


def test_service_state_survives_an_update_and_pascal_case_types_read_as_the_yaml_type():
    resource = {"id": f"{LOCAL_SCOPE}/models/m/versions/1",
                "properties": {"modelType": "MLFlowModel", "modelUri": "azureml://datastores/d/paths/m",
                               "isArchived": True, "isAnonymous": False}}
    model = Model._from_rest(resource)
    assert model.type == "mlflow_model"
    model.tags = {"reviewed": "yes"}
    sent = model.to_rest(scope=LOCAL_SCOPE)["properties"]
    # the version stays archived, and its type keeps the spelling the service stored
    assert (sent["modelType"], sent["isArchived"], sent["tags"]) == ("MLFlowModel", True, {"reviewed": "yes"})
    model.type = "custom_model"
    assert model.to_rest(scope=LOCAL_SCOPE)["properties"]["modelType"] == "custom_model"


def test_bad_model_files_report_every_problem_with_its_line(tmp_path):
    path = write_yaml(tmp_path, """
        name: my model
        type: mlflow
        pth: ./model
        intellectual_property: {publisher: contoso}
        flavors:
          sklearn:
            settings: {a: 1}
        """)
    assert _problems(path) == [
        (1, "name", "invalid name 'my model': use letters, digits, '-' and '_' (at most 255), "
                    "starting with a letter or digit"),
        (1, "path", "required field is missing"),
        (2, "type", "invalid value 'mlflow': expected one of custom_model, mlflow_model, triton_model "
                    "(did you mean mlflow_model?)"),
        (3, "pth", "unknown field (did you mean path?)"),
        (4, "intellectual_property", "not supported yet"),
        (7, "flavors.sklearn.settings", "expected a plain value, got a mapping"),
    ]


@pytest.mark.parametrize("path, message", [
    ("runs:/only-a-run", "malformed MLflow URI 'runs:/only-a-run': expected runs:/<run id>/<path in the run>"),
    ("azureml://jobs/train-42/model", "malformed reference 'azureml://jobs/train-42/model'"),
    ("./missing.pkl", "no such file or folder"),
])
def test_bad_model_paths_say_what_is_wrong(tmp_path, path, message):
    (line, field, text), = _problems(write_yaml(tmp_path, f"name: m\npath: {path}\n"))
    assert (line, field) == (2, "path") and text.startswith(message)
