"""Strict exactly where Azure ML is: what the service takes loads and maps to a body the 2024-04-01 spec
admits; what it refuses is one located problem.

Each case is a class of file found written by others (or a rule of the service's schemas), not a made-up one.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import azureml_v2
from azureml_v2 import ValidationError
from azureml_v2._contract import LOCAL_SCOPE

JOB = """
command: python train.py --n ${{inputs.n}}
code: src
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:cpu-cluster
"""
COMPONENT = """
name: train
version: "1"
command: python train.py
environment: azureml:AzureML-sklearn-1.5:1
"""
SWEEP = """
type: sweep
trial:
  command: python train.py --lr ${{search_space.lr}}
  code: src
  environment: azureml:AzureML-sklearn-1.5:1
compute: azureml:cpu-cluster
sampling_algorithm: random
search_space: {lr: {type: uniform, min_value: 0.01, max_value: 0.1}}
objective: {goal: maximize, primary_metric: accuracy}
"""
PIPELINE = """
type: pipeline
compute: azureml:cpu-cluster
inputs: {x: %s}
jobs:
  %s:
    component:
      command: python train.py --n ${{inputs.n}}
      environment: azureml:AzureML-sklearn-1.5:1
      inputs: {n: {type: integer}}
    inputs: {n: %s}
"""
SCHEDULE = "name: s\ntrigger: {type: cron, expression: '%s'}\ncreate_job: azureml:nightly\n"
ARM_DATA = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/ws/data/iris/versions/3")
REST = {"job": "JobBaseResource", "component": "ComponentVersionResource", "data": "DataVersionBaseResource",
        "model": "ModelVersionResource", "datastore": "DatastoreResource", "schedule": "ScheduleResource"}


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    return tmp_path


def _load(kind: str, text: str):
    Path(f"{kind}.yml").write_text(textwrap.dedent(text).lstrip("\n"))
    return getattr(azureml_v2, f"load_{kind}")(f"{kind}.yml")


ACCEPTED = [
    ("identity in REST spelling: AMLToken", "job", JOB + "inputs: {n: 1}\nidentity: {type: AMLToken}\n",
     lambda j: type(j.identity).__name__ == "AmlTokenIdentity"),
    ("identity in REST spelling: UserIdentity", "job", JOB + "inputs: {n: 1}\nidentity: {type: UserIdentity}\n",
     lambda j: type(j.identity).__name__ == "UserIdentity"),
    ("identity in REST spelling: Managed", "job", JOB + "inputs: {n: 1}\nidentity: {type: Managed}\n",
     lambda j: type(j.identity).__name__ == "ManagedIdentity"),
    ("identity in YAML spelling: managed_identity", "job",
     JOB + "inputs: {n: 1}\nidentity: {type: managed_identity, client_id: abc}\n",
     lambda j: j.identity.client_id == "abc"),
    ("output mode mount is a read-write mount", "job",
     JOB + "inputs: {n: 1}\noutputs: {model: {type: uri_folder, mode: mount}}\n",
     lambda j: j.outputs["model"].mode == "rw_mount"),
    ("a literal input written {value: 42}", "job", JOB + "inputs: {n: {value: 42}}\n",
     lambda j: j.inputs["n"] == 42),
    ("an input path that is a bare ARM id", "job",
     JOB + f"inputs: {{n: 1, d: {{type: uri_folder, path: '{ARM_DATA}'}}}}\n",
     lambda j: j.inputs["d"].path == ARM_DATA),
    ("a version with dots", "data", "name: iris\nversion: 1.2.3\npath: https://example.com/iris.csv\n",
     lambda d: d.version == "1.2.3"),
    ("a version with a colon", "data", "name: iris\nversion: '2024:01'\npath: https://example.com/iris.csv\n",
     lambda d: d.version == "2024:01"),
    ("null tag and property values", "data",
     "name: iris\nversion: 1\npath: https://example.com/iris.csv\ntags: {owner: ~}\nproperties: {stage: null}\n",
     lambda d: d.tags == {"owner": None} and d.properties == {"stage": None}),
    ("null job tags", "job", JOB + "inputs: {n: 1}\ntags: {reviewed: null}\n",
     lambda j: j.tags == {"reviewed": None}),
    ("max_concurrent_trials above max_total_trials (the service clamps it)", "job",
     SWEEP + "limits: {max_total_trials: 2, max_concurrent_trials: 5}\n",
     lambda s: s.limits.max_concurrent_trials == 5),
    ("the datastore of a data asset", "data", "name: iris\nversion: 1\npath: src\ndatastore: azureml:mystore\n",
     lambda d: d.datastore == "azureml:mystore"),
    ("the datastore of a model", "model", "name: clf\nversion: 1\npath: src\ndatastore: workspaceblobstore\n",
     lambda m: m.datastore == "workspaceblobstore"),
    ("a OneLake datastore", "datastore",
     "name: fabric\ntype: one_lake\none_lake_workspace_name: sales\nendpoint: onelake.dfs.fabric.microsoft.com\n"
     "artifact: {type: lake_house, name: orders}\n",
     lambda d: (d.one_lake_workspace_name, d.artifact.name) == ("sales", "orders")),
    ("a OneLake datastore with a service principal", "datastore",
     "name: fabric\ntype: one_lake\none_lake_workspace_name: sales\nendpoint: onelake.dfs.fabric.microsoft.com\n"
     "artifact: {name: orders}\ncredentials: {tenant_id: t, client_id: c, client_secret: s}\n",
     lambda d: d.credentials.client_id == "c"),
    ("a model's creation time, quoted or not", "model",
     "name: clf\nversion: 1\npath: https://example.com/m.pkl\nutc_time_created: 2020-10-19 17:44:02\n",
     lambda m: m.utc_time_created == "2020-10-19 17:44:02"),
    ("the legacy path port type of components", "component",
     COMPONENT + "inputs: {data: {type: path}}\noutputs: {model: {type: path}}\n",
     lambda c: (c.inputs["data"].type, c.outputs["model"].type) == ("uri_folder", "uri_folder")),
    ("typed defaults written as text", "component",
     COMPONENT + "inputs: {n: {type: integer, default: '5'}, flag: {type: boolean, default: 'True'}, "
                 "lr: {type: number, default: '1e-3'}}\n",
     lambda c: c.inputs["n"].default == "5"),
    ("a dotted input name (a group's input)", "component", COMPONENT + "inputs: {opt.lr: {type: number}}\n",
     lambda c: "opt.lr" in c.inputs),
    # the service parses a literal given to a typed port as it parses a default: text that parses is taken
    ("an integer node input written as text", "job", PIPELINE % (1, "train", "'3'"),
     lambda j: j.jobs["train"].inputs["n"] == "3"),
    ("a number node input written 1e-3 (text to YAML, a number to the service)", "job",
     PIPELINE.replace("type: integer", "type: number") % (1, "train", "1e-3"),
     lambda j: j.jobs["train"].inputs["n"] == "1e-3"),
    ("an integer node input bound to a pipeline input", "job", PIPELINE % ("'7'", "train", "'${{parent.inputs.x}}'"),
     lambda j: j.jobs["train"].inputs["n"] == "${{parent.inputs.x}}"),
    ("a node name of 255 characters (the spec's longest name)", "job", PIPELINE % (1, "n" * 255, 1),
     lambda j: list(j.jobs) == ["n" * 255]),
    ("a node name in capitals (azure-ai-ml wants lower case; the spec and the service's bindings do not)", "job",
     PIPELINE % (1, "Train", 1), lambda j: list(j.jobs) == ["Train"]),
    ("a display name that is not ASCII (free text)", "job", PIPELINE % (1, "train", 1) + "display_name: Entraîner\n",
     lambda j: j.display_name == "Entraîner"),
    # the spec's pattern for an expression, [a-zA-Z0-9_], marks its 30 required strings as not blank: stars only
    # mean every minute to the service's NCronTab (azure-ai-ml sends them as written); they go out with a step
    ("the cron * * * * * (every minute)", "schedule", SCHEDULE % "* * * * *",
     lambda s: s.trigger.expression == "* * * * *"
     and s.to_rest(scope=LOCAL_SCOPE)["properties"]["trigger"]["expression"] == "*/1 * * * *"),
]


@pytest.mark.parametrize("kind, text, check", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_what_the_service_accepts_loads_and_maps_to_a_spec_body(kind, text, check, here, rest_validate):
    entity = _load(kind, text)
    assert check(entity)
    if kind == "data" or kind == "model":
        entity.path = "azureml://datastores/workspaceblobstore/paths/x"  # what the upload makes of it
    assert rest_validate(entity.to_rest(scope=LOCAL_SCOPE), REST[kind]) == []


REFUSED = [
    ("a blank input name", "component", COMPONENT + "inputs: {'': {type: string}}\n",
     "5:10 inputs.: invalid key: '' is not an input or output name"),
    ("a dash in an input name", "component", COMPONENT + "inputs: {learning-rate: {type: number}}\n",
     "5:10 inputs.learning-rate: invalid key: 'learning-rate' is not an input or output name"),
    ("an input name with a leading digit", "job", JOB + "inputs: {n: 1, 2nd: 3}\n",
     "5:16 inputs.2nd: invalid key: '2nd' is not an input or output name"),
    ("special characters in an output name", "job", JOB + "inputs: {n: 1}\noutputs: {model$: {type: uri_folder}}\n",
     "6:11 outputs.model$: invalid key: 'model$' is not an input or output name"),
    ("names that differ only in case", "component", COMPONENT + "inputs: {lr: {type: number}, LR: {type: number}}\n",
     "5:30 inputs.LR: 'LR' and 'lr' differ only in case: the service takes them as one name"),
    ("code azureml:<name> without a version", "job", JOB.replace("code: src", "code: azureml:train-src")
     + "inputs: {n: 1}\n", "2:1 code: reference 'azureml:train-src' names no version"),
    ("a uri_file default that is a number", "component", COMPONENT + "inputs: {f: {type: uri_file, default: 3}}\n",
     "5:30 inputs.f.default: a uri_file default is a path or URI, not int"),
    ("an integer default that does not parse", "component",
     COMPONENT + "inputs: {n: {type: integer, default: abc}}\n", "5:29 inputs.n.default: the default 'abc' is not "
                                                                 "an integer"),
    ("an integer default with a fraction", "component",
     COMPONENT + "inputs: {n: {type: integer, default: 2.5}}\n", "5:29 inputs.n.default: an integer default is a "
                                                                 "whole number, got 2.5"),
    ("a number default that does not parse", "component",
     COMPONENT + "inputs: {lr: {type: number, default: fast}}\n", "5:29 inputs.lr.default: the default 'fast' is "
                                                                  "not a number"),
    ("a boolean default that does not parse", "component",
     COMPONENT + "inputs: {flag: {type: boolean, default: maybe}}\n", "5:32 inputs.flag.default: a boolean default is "
                                                                    "true or false, got 'maybe'"),
    ("an input mode mount (outputs only)", "job",
     JOB + "inputs: {n: 1, d: {type: uri_folder, path: 'https://example.com/d', mode: mount}}\n",
     "5:69 inputs.d.mode: invalid value 'mount'"),
    ("a version with a slash", "data", "name: iris\nversion: 1/2\npath: https://example.com/iris.csv\n",
     "2:1 version: invalid version '1/2': at most 255 characters"),
    ("an empty pipeline", "job", "type: pipeline\njobs: {}\n",
     "2:1 jobs: a pipeline needs at least one node: with none, Azure ML has nothing to run"),
    ("an empty pipeline component", "component", "type: pipeline\nname: p\njobs: {}\n",
     "3:1 jobs: a pipeline needs at least one node"),
    ("text that is no integer for a node's integer input", "job", PIPELINE % (1, "train", "abc"),
     "10:14 jobs.train.inputs.n: node train: input 'n' (integer): the value 'abc' is not an integer"),
    ("a fraction for a node's integer input", "job", PIPELINE % (1, "train", 2.5),
     "10:14 jobs.train.inputs.n: node train: input 'n' (integer): an integer value is a whole number, got 2.5"),
    ("a boolean for a node's integer input", "job", PIPELINE % (1, "train", "true"),
     "10:14 jobs.train.inputs.n: node train: input 'n' (integer): an integer value is a number, got bool"),
    ("text that is no boolean for a node's boolean input", "job",
     PIPELINE.replace("type: integer", "type: boolean") % (1, "train", "yes please"),
     "10:14 jobs.train.inputs.n: node train: input 'n' (boolean): a boolean value is true or false, got 'yes please'"),
    ("a pipeline input that is no integer bound to an integer input", "job",
     PIPELINE % ("abc", "train", "'${{parent.inputs.x}}'"),
     "10:14 jobs.train.inputs.n: node train: input 'n' (integer) is bound to pipeline input x: the value 'abc' is "
     "not an integer"),
    ("a node name that is not ASCII", "job", PIPELINE % (1, "entraîner", 1),
     "5:3 jobs.entraîner: invalid key: invalid node name: ASCII letters, digits and '_', starting with a letter"),
    # capitals are taken (above), but not as the only difference between two nodes: azure-ai-ml, which takes lower
    # case only, could not write either pipeline, and a port name's case is no difference to the service either
    ("node names that differ only in case", "job", (PIPELINE % (1, "train", 1)).replace("\njobs:\n", "\njobs:\n  Train:\n"
     "    component: {command: echo, environment: 'azureml:AzureML-sklearn-1.5:1'}\n"),
     "7:3 jobs.train: node 'train': 'train' and 'Train' differ only in case: rename one"),
    ("a node name longer than a YAML key can be", "job", PIPELINE % (1, "n" * 1100, 1),
     "5:1103: YAML syntax: a key of 1100 characters; a plain key is at most 1024"),
    ("a pipeline job name that is not ASCII", "job", PIPELINE % (1, "train", 1) + "name: entraîner\n",
     "11:1 name: invalid name 'entraîner'"),
    ("a OneLake datastore without its artifact", "datastore",
     "name: fabric\ntype: one_lake\none_lake_workspace_name: sales\nendpoint: onelake.dfs.fabric.microsoft.com\n",
     "1:1 artifact: required field is missing"),
]


@pytest.mark.parametrize("kind, text, where", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_the_service_refuses_is_one_located_problem(kind, text, where, here):
    with pytest.raises(ValidationError) as info:
        _load(kind, text)
    assert str(info.value).startswith(f"{kind}.yml:{where}"), str(info.value)


def test_a_node_name_longer_than_any_name_the_spec_admits_is_refused(here):
    with pytest.raises(ValidationError) as info:
        _load("job", PIPELINE % (1, "n" * 256, 1))
    (problem,) = info.value.problems
    assert (problem.line, problem.column, problem.message) == (
        5, 3, "invalid key: invalid node name: 256 characters, at most 255")
