"""The JSON Schemas `azml schema export` writes: every corpus file of a kind they cover validates against its
kind's schema, and invalid files the loader refuses are refused by the schema too."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from support.corpus_kinds import corpus_files

from azureml_v2._yaml.api import load
from azureml_v2._yaml.jsonschema import KINDS, export_schemas, kind_schema
from azureml_v2.exceptions import ValidationError

SCHEMAS = {kind: kind_schema(kind) for kind in KINDS}


def _kind(data: dict) -> str:
    return str(data.get("$schema", "")).rsplit("/", 1)[-1].split(".")[0]


def _errors(kind: str, data: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft7Validator(SCHEMAS[kind]).iter_errors(data)]


def test_every_schema_is_a_valid_draft_7_schema(tmp_path):
    written = export_schemas(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.schema.json" for k in KINDS)
    for path in written:
        jsonschema.Draft7Validator.check_schema(json.loads(open(path, encoding="utf-8").read()))


def test_every_corpus_file_of_a_covered_kind_validates(corpus_root):
    checked, failures = 0, {}
    for path in corpus_files(corpus_root):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if not isinstance(data, dict) or _kind(data) not in KINDS:
            continue
        checked += 1
        errors = _errors(_kind(data), data)
        if errors:
            failures[str(path.relative_to(corpus_root))] = errors
    assert failures == {}
    assert checked >= 150  # the corpus's jobs, components, assets, datastores, endpoints and deployments


# (kind, loader, document): each refused by the loader with a located error
INVALID = [
    ("commandJob", "job", {"command": "echo", "environment": "azureml:e:1", "comand": "x"}),
    ("commandJob", "job", {"command": "echo", "environment": "azureml:e:1", "resources": {"instance_count": "two"}}),
    ("commandJob", "job", {"command": "echo", "environment": "azureml:e:1", "inputs": {"d": {"type": "uri_foldr",
                                                                                             "path": "x"}}}),
    ("commandJob", "job", {"command": "echo", "environment": "azureml:e:1", "inputs": {"d": {"path": "https://x/y",
                                                                                             "mode": "mounted"}}}),
    ("commandJob", "job", {"command": ["echo"], "environment": "azureml:e:1"}),
    ("sweepJob", "job", {"type": "sweep", "trial": {"command": "echo", "environment": "azureml:e:1"},
                         "objective": {"goal": "maximise", "primary_metric": "acc"},
                         "sampling_algorithm": "random", "search_space": {}}),
    ("commandComponent", "component", {"name": "c", "environment": "azureml:e:1"}),
    ("commandComponent", "component", {"name": "c", "command": "echo", "environment": "azureml:e:1",
                                       "inputs": {"x": {"type": "number", "default": 1, "optinal": True}}}),
    ("data", "data", {"name": "d", "path": "https://x/y", "type": "uri_foldr"}),
    ("data", "data", {"name": "bad name", "path": "https://x/y"}),
    ("model", "model", {"name": "m", "path": "https://x/y", "flavours": {}}),
    ("environment", "environment", {"name": "e", "image": "python", "os_type": "mac"}),
    ("azureBlob", "datastore", {"name": "s", "type": "azure_blob", "container_name": "c"}),
    ("managedOnlineEndpoint", "online_endpoint", {"name": "my-endpoint", "auth_mode": "password"}),
    ("managedOnlineEndpoint", "online_endpoint", {"name": "my-endpoint", "traffic": {"blue": "all"}}),
    ("managedOnlineDeployment", "online_deployment", {"name": "blue", "endpoint_name": "e-1", "model": "azureml:m:1",
                                                      "instance_count": 1.5}),
    ("batchEndpoint", "batch_endpoint", {"name": "my-batch", "defaults": {"deployment": "x"}}),
    ("schedule", "schedule", {"name": "s", "trigger": {"type": "weekly", "expression": "0 2 * * *"},
                              "create_job": "azureml:some_job"}),
    ("schedule", "schedule", {"name": "s", "trigger": {"type": "recurrence", "frequency": "week", "intervl": 1},
                              "create_job": "azureml:some_job"}),
    ("modelBatchDeployment", "batch_deployment", {"name": "d", "endpoint_name": "e-1", "model": "azureml:m:1",
                                                  "compute": "c", "settings": {"output_action": "append"}}),
]


@pytest.mark.parametrize("kind,loader,document", INVALID, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(INVALID)])
def test_an_invalid_file_is_refused_by_loader_and_schema_alike(kind, loader, document):
    with pytest.raises(ValidationError):
        load(loader, document)
    assert _errors(kind, document), f"the {kind} schema took {document}"


def test_a_schedule_the_loader_takes_validates():
    document = {"name": "nightly", "trigger": {"type": "cron", "expression": "0 2 * * *", "time_zone": "UTC"},
                "create_job": "azureml:some_job"}
    load("schedule", document)
    assert _errors("schedule", document) == []
