"""The public namespaces, as azure-ai-ml users write them."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import azureml_v2
from azureml_v2 import constants, entities, exceptions
from azureml_v2._contract import LOCAL_SCOPE, MODEL_TYPES, TERMINAL_STATUSES, ACTIVE_STATUSES
from azureml_v2.entities.inputs import DATA_INPUT_TYPES, INPUT_MODES, LITERAL_TYPES, OUTPUT_MODES

ROOT = Path(azureml_v2.__file__).resolve().parent


def test_entities_exports_what_azure_ai_ml_users_import():
    from azureml_v2.entities import CommandJob, Data, Environment, Input, Model, Output, SweepJob
    assert CommandJob.__module__ == "azureml_v2.entities.job" and SweepJob.__module__ == "azureml_v2.entities.job"
    assert {Data.__name__, Environment.__name__, Model.__name__, Input.__name__, Output.__name__} == {
        "Data", "Environment", "Model", "Input", "Output"}
    assert entities.UserIdentityConfiguration is entities.UserIdentity


def test_every_public_entity_class_is_exported():
    for path in sorted((ROOT / "entities").glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = importlib.import_module(f"azureml_v2.entities.{path.stem}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_") \
                    and path.stem != "sweep":  # search-space classes: azureml_v2.sweep
                assert getattr(entities, name) is value, name


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError):
        entities.NoSuchThing  # noqa: B018
    with pytest.raises(AttributeError):
        azureml_v2.NoSuchThing  # noqa: B018


def test_constants_hold_the_values_the_entities_take():
    def values(cls):
        return {v for k, v in vars(cls).items() if k.isupper()}
    assert values(constants.AssetTypes) == set(DATA_INPUT_TYPES) and set(MODEL_TYPES) <= values(constants.AssetTypes)
    assert values(constants.InputTypes) == set(LITERAL_TYPES)
    assert values(constants.InputOutputModes) == set(INPUT_MODES) | set(OUTPUT_MODES)
    assert values(constants.JobType) == {"command", "sweep"}
    assert set(TERMINAL_STATUSES) | set(ACTIVE_STATUSES) <= values(constants.JobStatus)


def test_job_status_values_are_the_specs(rest_spec_definitions):
    assert {v for k, v in vars(constants.JobStatus).items() if k.isupper()} == set(
        rest_spec_definitions["JobStatus"]["enum"])


@pytest.fixture
def rest_spec_definitions():
    import json
    from conftest import SPEC
    files = list(SPEC.rglob("2024-04-01/mfe.json")) if SPEC.exists() else []
    if not files:
        pytest.skip("the Azure REST spec is not available")
    return json.loads(files[0].read_text(encoding="utf-8"))["definitions"]


def test_the_exceptions_share_one_root():
    assert issubclass(exceptions.ValidationError, exceptions.AzureMLError)
    assert issubclass(exceptions.ValidationError, ValueError)  # bad input, as before
    assert issubclass(exceptions.NotSupportedError, exceptions.ValidationError)
    assert issubclass(exceptions.JobFailedError, exceptions.JobStateError)
    assert issubclass(exceptions.JobStateError, exceptions.AzureMLError)
    from azureml_v2.operations.jobs import JobFailedError
    assert JobFailedError is exceptions.JobFailedError is azureml_v2.JobFailedError


def test_not_supported_is_chosen_only_when_every_problem_is():
    unsupported = exceptions.Problem("not supported yet", "datastore")
    other = exceptions.Problem("unknown field", "x")
    assert type(exceptions.ValidationError.of([unsupported])) is exceptions.NotSupportedError
    assert type(exceptions.ValidationError.of([unsupported, other])) is exceptions.ValidationError
    assert type(exceptions.ValidationError.of([])) is exceptions.ValidationError


def test_a_rest_body_needs_a_scope():
    job = azureml_v2.command(command="echo hi", environment="azureml:env:1", compute="cpu")
    with pytest.raises(TypeError):
        job.to_rest()  # never silently the local workspace's ids
    body = job.to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["environmentId"] == f"{LOCAL_SCOPE}/environments/env/versions/1"
    scope = azureml_v2.workspace_scope("s", "g", "w")
    assert job.to_rest(scope=scope)["properties"]["computeId"] == f"{scope}/computes/cpu"


def test_the_package_is_typed():
    assert (ROOT / "py.typed").is_file()
    assert '"py.typed"' in (ROOT.parent / "setup.py").read_text(encoding="utf-8")


def test_public_functions_have_annotated_signatures():
    for name in ("load_job", "load_data", "load_environment", "load_model", "load_component", "load_code",
                 "load_datastore", "command"):
        signature = inspect.signature(getattr(azureml_v2, name))
        assert signature.return_annotation is not inspect.Signature.empty, name
        missing = [p.name for p in signature.parameters.values()
                   if p.annotation is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
        assert missing == [], (name, missing)
