"""Command jobs: YAML <-> CommandJob <-> REST, the seed's preview job, the command() builder, bad input."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2._builders import command
from azureml_v2.entities.assets import Environment
from azureml_v2.entities.inputs import Input, Output
from azureml_v2.entities.job import (AmlTokenIdentity, CommandJob, CommandJobLimits, JobResources, JobService,
                                     ManagedIdentity, MpiDistribution, PyTorchDistribution, TensorFlowDistribution,
                                     UserIdentity, environment_to_rest_id)
from conftest import SEED, SPEC

SCOPE = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
FULL = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: full_job
display_name: Full job
experiment_name: exp
description: every field
tags: {team: ml, stage: 2}
properties: {source: test, final: true}
command: >-
  python train.py --lr ${{inputs.lr}} --data ${{inputs.data}}
  $[[--epochs ${{inputs.epochs}}]] --out ${{outputs.model}}
code: src
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04
  conda_file: conda.yml
environment_variables: {OMP_NUM_THREADS: 4}
compute: azureml:gpu-cluster
inputs:
  lr: 0.01
  epochs: {type: integer, default: 3}
  data: {type: uri_folder, path: azureml:cifar:2, mode: download}
outputs:
  model: {type: mlflow_model, mode: upload}
distribution: {type: tensorflow, worker_count: 2, parameter_server_count: 1}
resources: {instance_count: 2, instance_type: STANDARD_NC6, shm_size: 8g, docker_args: --ipc=host}
limits: {timeout: 7200}
identity: {type: managed, client_id: 00000000-0000-0000-0000-000000000001}
services:
  ssh: {type: ssh, ssh_public_keys: ssh-rsa AAAA, nodes: all}
  tb: {type: tensor_board, log_dir: outputs/tb, port: 6006}
queue_settings: {job_tier: spot}
"""


def write(folder: Path, text: str, name: str = "job.yml") -> Path:
    (folder / "src").mkdir(exist_ok=True)
    (folder / "conda.yml").write_text("name: env\ndependencies: [python=3.11]\n")
    path = folder / name
    path.write_text(text)
    return path


def round_trip(job, tmp_path: Path, monkeypatch):
    out = tmp_path / "elsewhere" / "nested" / "job.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    job.dump(out)
    text = out.read_text()
    assert str(tmp_path) not in text, text
    monkeypatch.chdir(out.parent.parent)
    again = azureml_v2.load_job(out)
    assert again == job, text
    again.dump(out)
    assert out.read_text() == text
    return text


def problems_of(path_or_data) -> list[str]:
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_job(path_or_data)
    return str(info.value).splitlines()


# -- YAML ----------------------------------------------------------------------------------
def test_every_field_loads_round_trips_and_maps_to_valid_rest(tmp_path, monkeypatch, rest_validate):
    job = azureml_v2.load_job(write(tmp_path, FULL))
    assert job.code == str(tmp_path / "src")
    assert job.environment.conda_file == str(tmp_path / "conda.yml")
    assert job.distribution == TensorFlowDistribution(worker_count=2, parameter_server_count=1)
    assert job.identity == ManagedIdentity(client_id="00000000-0000-0000-0000-000000000001")
    assert job.services["tb"] == JobService(type="tensor_board", log_dir="outputs/tb", port=6006)
    assert job.inputs["epochs"] == Input(type="integer", default=3)

    text = round_trip(job, tmp_path, monkeypatch)
    assert text.startswith("$schema:") and "code: ../../src\n" in text and "type: command" not in text

    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    p = body["properties"]
    assert p["computeId"] == f"{SCOPE}/computes/gpu-cluster"
    assert p["environmentId"].startswith(f"{SCOPE}/environments/CliV2AnonymousEnvironment/versions/")
    assert p["inputs"]["data"] == {"jobInputType": "uri_folder", "uri": f"{SCOPE}/data/cifar/versions/2",
                                   "mode": "Download"}
    assert p["limits"] == {"jobLimitsType": "Command", "timeout": "PT2H"}
    assert p["distribution"] == {"distributionType": "TensorFlow", "workerCount": 2, "parameterServerCount": 1}
    assert p["resources"] == {"instanceCount": 2, "instanceType": "STANDARD_NC6", "shmSize": "8g",
                              "dockerArgs": "--ipc=host"}
    assert p["services"]["ssh"] == {"jobServiceType": "SSH", "nodes": {"nodesValueType": "All"},
                                    "properties": {"sshPublicKeys": "ssh-rsa AAAA"}}
    assert p["queueSettings"] == {"jobTier": "Spot"}
    assert p["environmentVariables"] == {"OMP_NUM_THREADS": "4"}
    assert (p["tags"], p["properties"]) == ({"team": "ml", "stage": "2"}, {"source": "test", "final": "true"})


@pytest.mark.parametrize("distribution, identity, rest", [
    ("{type: pytorch, process_count_per_instance: 4}", "{type: user_identity}",
     ({"distributionType": "PyTorch", "processCountPerInstance": 4}, {"identityType": "UserIdentity"})),
    ("{type: MPI}", "{type: aml_token}", ({"distributionType": "Mpi"}, {"identityType": "AMLToken"})),
])
def test_distribution_and_identity_kinds(tmp_path, monkeypatch, rest_validate, distribution, identity, rest):
    path = write(tmp_path, f"command: echo hi\nenvironment: azureml:env:1\n"
                           f"distribution: {distribution}\nidentity: {identity}\n")
    job = azureml_v2.load_job(path)
    round_trip(job, tmp_path, monkeypatch)
    body = job.to_rest(scope=LOCAL_SCOPE)
    assert (body["properties"]["distribution"], body["properties"]["identity"]) == rest
    assert rest_validate(body, "JobBaseResource") == []


@pytest.mark.parametrize("compute", ["cpu-cluster", "azureml:cpu-cluster", f"{SCOPE}/computes/cpu-cluster"])
def test_compute_forms_map_to_one_arm_id(tmp_path, compute):
    job = azureml_v2.load_job(write(tmp_path, f"command: echo\nenvironment: azureml:e:1\ncompute: {compute}\n"))
    assert job.to_rest(scope=SCOPE)["properties"]["computeId"] == f"{SCOPE}/computes/cpu-cluster"


def test_inline_environment_id_is_content_addressed():
    a = Environment(image="python:3.11")
    assert environment_to_rest_id(a, SCOPE) == environment_to_rest_id(Environment(image="python:3.11"), SCOPE)
    assert environment_to_rest_id(a, SCOPE) != environment_to_rest_id(Environment(image="python:3.12"), SCOPE)
    assert environment_to_rest_id("azureml:env:3", SCOPE) == f"{SCOPE}/environments/env/versions/3"


def test_environment_from_a_file_reference(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "env.yml").write_text("name: e\nimage: python:3.11\n")
    job = azureml_v2.load_job(write(tmp_path, "command: echo\nenvironment: file:./env/env.yml\n"))
    assert job.environment == Environment(name="e", image="python:3.11")
    round_trip(job, tmp_path, monkeypatch)


def test_optional_blocks_and_shell_brackets_are_accepted(tmp_path):
    cmd = "if [[ -d x ]]; then run $[[--x ${{inputs.x}}]]; fi"
    job = azureml_v2.load_job(write(tmp_path, f"command: {cmd}\nenvironment: azureml:e:1\n"
                                              "inputs: {x: {type: string, optional: true}}\n"))
    assert job.command == cmd and job.inputs["x"].optional is True


# -- the seed's 2020 preview dialect -------------------------------------------------------
def seed_block(title: str) -> str:
    if not SEED.exists():
        pytest.skip(f"seed not found at {SEED}")
    text = SEED.read_text(encoding="utf-8")
    return re.search(re.escape(title) + r"\s*```yaml\n(.*?)```", text, re.S).group(1)


def test_seed_preview_command_job(tmp_path, monkeypatch, rest_validate):
    text = seed_block("**Command Job:**")
    (tmp_path / "samples" / "LightGBM" / "examples").mkdir(parents=True)
    path = tmp_path / "job.yml"
    path.write_text(text)
    job = azureml_v2.load_job(path)
    assert job.name == "single_job" and job.experiment_name == "lightgbm"
    assert job.command == "python ./examples/python-guide/advanced_example.py"
    assert job.code == str(tmp_path / "samples" / "LightGBM" / "examples")
    assert job.environment == "azureml:AzureML-AutoML-DNN-GPU@latest"  # the preview's unversioned ARM id
    assert job.compute == "goazurego" and job.properties == {"source": "repo"}
    dumped = round_trip(job, tmp_path, monkeypatch)
    assert "run:" not in dumped and "on_compute" not in dumped and "compute: goazurego" in dumped
    assert rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource") == []


def test_seed_preview_errors_point_at_the_lines_written(tmp_path):
    path = tmp_path / "job.yml"
    path.write_text("run:\n  command: python x.py\n  environment: azureml:e:1\n  code: missing\n"
                    "on_compute:\n  target: bad/compute\n")
    lines = problems_of(path)
    assert any(line.startswith(f"{path}:4:3 code: no such file") for line in lines), lines
    assert any(line.startswith(f"{path}:6:3 compute:") for line in lines), lines


# -- REST examples -------------------------------------------------------------------------
EXAMPLES = SPEC / ("machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2024-04-01/"
                   "examples/Job/CommandJob")
_SERVER_ONLY = ("status", "parameters")


def _command_responses():
    if not EXAMPLES.exists():
        return []
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        example = json.loads(path.read_text())
        for code, response in example["responses"].items():
            body = response.get("body") or {}
            for i, item in enumerate(body.get("value", [body])):
                if item.get("properties", {}).get("jobType") == "Command":
                    out.append(pytest.param(example["parameters"], item, id=f"{path.stem}-{code}-{i}"))
    return out


def _as_sent(resource: dict, scope: str) -> dict:
    """The response body as a client would send it: realistic ids, no server-only members."""
    props = copy.deepcopy(resource["properties"])
    for key in _SERVER_ONLY:
        props.pop(key, None)
    for service in (props.get("services") or {}).values():
        for key in ("status", "errorMessage", "endpoint"):
            service.pop(key, None)
    # the examples hold the placeholder "string" where real bodies hold ARM ids
    props["computeId"] = f"{scope}/computes/cluster"
    props["codeId"] = f"{scope}/codes/code/versions/1"
    props["environmentId"] = f"{scope}/environments/env/versions/1"
    return {"properties": props}


@pytest.mark.parametrize("parameters, resource", _command_responses())
def test_rest_examples_round_trip(parameters, resource, rest_validate):
    scope = (f"/subscriptions/{parameters['subscriptionId']}/resourceGroups/{parameters['resourceGroupName']}"
             f"/providers/Microsoft.MachineLearningServices/workspaces/{parameters['workspaceName']}")
    expected = _as_sent(resource, scope)
    job = CommandJob._from_rest({**resource, **expected})
    assert job.status is None or job.status == resource["properties"].get("status")
    assert job.to_rest(scope=scope) == expected
    assert rest_validate(expected, "JobBaseResource") == []
    assert CommandJob._from_rest(resource).services["string"].endpoint == "string"  # read-only, still readable


@pytest.mark.parametrize("parameters, resource", _command_responses()[:1])
def test_a_job_read_from_rest_writes_yaml_that_loads_back(parameters, resource, tmp_path):
    sent = _as_sent(resource, SCOPE)
    for service in sent["properties"]["services"].values():
        service["jobServiceType"] = "TensorBoard"  # placeholders -> values YAML can hold
    for output in sent["properties"]["outputs"].values():
        output["uri"] = "azureml://datastores/workspaceblobstore/paths/out"
    job = CommandJob._from_rest({**resource, **sent})
    assert job.code.startswith("azureml:/subscriptions/")
    job.dump(tmp_path / "job.yml")
    text = (tmp_path / "job.yml").read_text()
    assert "status" not in text and "endpoint" not in text
    assert azureml_v2.load_job(tmp_path / "job.yml") == job


def test_rest_example_list_is_covered():
    if not EXAMPLES.exists():
        pytest.skip(f"REST spec not found at {EXAMPLES}")
    assert len(_command_responses()) >= 4


# -- Python --------------------------------------------------------------------------------
def test_command_builder_equals_the_yaml_job(tmp_path, monkeypatch):
    path = write(tmp_path, "command: python t.py --lr ${{inputs.lr}} --data ${{inputs.data}}\ncode: src\n"
                           "environment: {image: python:3.11}\ncompute: cpu\ninputs:\n  lr: 0.1\n"
                           "  data: {type: uri_folder, path: src}\noutputs: {m: {type: uri_folder}}\n"
                           "distribution: {type: mpi, process_count_per_instance: 2}\nresources: {instance_count: 2}\n"
                           "limits: {timeout: 60}\nidentity: {type: user_identity}\n"
                           "services: {s: {type: ssh, ssh_public_keys: k}}\n")
    from_yaml = azureml_v2.load_job(path)
    monkeypatch.chdir(tmp_path)
    built = command(command="python t.py --lr ${{inputs.lr}} --data ${{inputs.data}}", code="src",
                    environment=Environment(image="python:3.11"), compute="cpu",
                    inputs={"lr": 0.1, "data": Input(type="uri_folder", path="src")}, outputs={"m": Output()},
                    distribution={"type": "mpi", "process_count_per_instance": 2}, instance_count=2, timeout=60,
                    identity=UserIdentity(), services={"s": JobService(type="ssh", ssh_public_keys="k")})
    assert built == from_yaml
    assert built.resources == JobResources(instance_count=2) and built.limits == CommandJobLimits(timeout=60)


def test_command_builder_reports_every_problem():
    with pytest.raises(azureml_v2.ValidationError) as info:
        command(command="python ${{inputs.x}}", environment="azureml:e:1", instance_count=0,
                distribution=PyTorchDistribution(process_count_per_instance=0), identity={"type": "root"})
    lines = str(info.value).splitlines()
    assert "command() command: ${{inputs.x}}: no input named 'x' is declared (declared: none)" in lines
    assert "command() resources.instance_count: must be at least 1" in lines
    assert "command() distribution.process_count_per_instance: must be at least 1" in lines
    assert any(line.startswith("command() identity.type: invalid value 'root'") for line in lines)


def test_call_sets_inputs_on_a_copy_and_sweep_delegates(monkeypatch):
    job = command(command="python t.py --lr ${{inputs.lr}}", environment="azureml:e:1", inputs={"lr": 0.1})
    tuned = job(lr=0.5, seed=1)
    assert tuned.inputs == {"lr": 0.5, "seed": 1} and job.inputs == {"lr": 0.1}
    calls = []
    monkeypatch.setattr("azureml_v2.entities.job.sweep_from_command", lambda j, **kw: calls.append((j, kw)) or "sweep")
    assert tuned.sweep(primary_metric="acc", goal="maximize") == "sweep"
    [(trial, given)] = calls
    assert trial is tuned and given["primary_metric"] == "acc" and given["goal"] == "maximize"
    assert given["sampling_algorithm"] == "random" and given["max_total_trials"] is None


# -- bad input -----------------------------------------------------------------------------
BASE = "command: python t.py ${{inputs.lr}}\nenvironment: azureml:env:1\ninputs: {lr: 1}\n"


@pytest.mark.parametrize("extra, expected", [
    ("resources:\n  instance_cont: 2\n",
     "job.yml:5:3 resources.instance_cont: unknown field (did you mean instance_count?)"),
    ("distribution:\n  type: pytorchh\n",
     "job.yml:5:3 distribution.type: invalid value 'pytorchh': expected one of pytorch, mpi, tensorflow "
     "(did you mean pytorch?)"),
    ("identity: {type: managed_identty}\n", "job.yml:4:12 identity.type: invalid value 'managed_identty'"),
    ("resources: {shm_size: 2 gigs}\n", "job.yml:4:13 resources.shm_size: expected a size such as 2g"),
    ("limits: {timeout: -5}\n", "job.yml:4:10 limits.timeout: must not be negative"),
    ("services: {s: {type: ssh, log_dir: x}}\n", "job.yml:4:27 services.s.log_dir: only a tensor_board service"),
    ("services: {s: {type: vscode}}\n", "job.yml:4:16 services.s.type: invalid value 'vscode'"),
    ("compute: bad/compute\n", "job.yml:4:1 compute: malformed reference 'bad/compute'"),
    ("notification_setting: {emails: [a@b.c]}\n", "job.yml:4:1 notification_setting: not supported yet"),
    ("queue_settings: {job_tier: cheap}\n", "job.yml:4:18 queue_settings.job_tier: invalid value 'cheap'"),
])
def test_bad_field_is_located(tmp_path, extra, expected):
    lines = problems_of(write(tmp_path, BASE + extra))
    assert any(line.startswith(f"{tmp_path}/{expected}") for line in lines), lines


@pytest.mark.parametrize("cmd, expected", [
    ("python t.py ${{inputs.lrr}}", "no input named 'lrr' is declared (declared: lr) (did you mean lr?)"),
    ("python t.py ${{outputs.model}}", "no output named 'model' is declared (declared: none)"),
    ("python t.py ${{input.lr}}", "unknown placeholder; use ${{inputs.<name>}} or ${{outputs.<name>}} "
                                  "(did you mean inputs?)"),
    ("python t.py $[[--lr ${{inputs.lr}}", "unclosed optional block"),
    ("python t.py ${{{inputs.lr}}}", "${{{inputs.lr}}: not a placeholder; expected ${{inputs.<name>}}"),
    ("python t.py ${{inputs.{lr}}}", "${{inputs.{lr}}: not a placeholder"),
    ("python t.py --lr ${{inputs.lr} --x 1", "${{inputs.lr} --x 1: not a placeholder"),
])
def test_bad_placeholder_is_located_at_the_command(tmp_path, cmd, expected):
    lines = problems_of(write(tmp_path, f"command: {cmd}\nenvironment: azureml:env:1\ninputs: {{lr: 1}}\n"))
    assert any(line.startswith(f"{tmp_path}/job.yml:1:1 command: ") and expected in line for line in lines), lines


def test_all_problems_at_once(tmp_path):
    lines = problems_of(write(tmp_path, "display_name: x\nresources: {instance_count: many}\n"))
    assert [line.split(" ", 1)[1] for line in lines] == [
        "command: required field is missing", "environment: required field is missing",
        "resources.instance_count: expected an integer, got a string"]


@pytest.mark.parametrize("kind", ["automl", "data_transfer"])
def test_other_job_types_are_located_not_supported(tmp_path, kind):
    lines = problems_of(write(tmp_path, f"$schema: x\ntype: {kind}\njobs: {{}}\n"))
    assert lines == [f"{tmp_path}/job.yml:2:1 type: not supported yet: {kind} jobs"]


def test_unknown_job_type_has_a_hint(tmp_path):
    lines = problems_of(write(tmp_path, "type: comand\ncommand: x\n"))
    assert lines[0].startswith(f"{tmp_path}/job.yml:1:1 type: invalid value 'comand'")
    assert lines[0].endswith("(did you mean command?)")


def test_inline_environment_problems_are_located(tmp_path):
    lines = problems_of(write(tmp_path, "command: x\nenvironment:\n  imag: python\n"))
    assert any(line.startswith(f"{tmp_path}/job.yml:3:3 environment.imag: unknown field (did you mean image?)")
               for line in lines), lines


def test_distribution_kinds_are_distinct_entities():
    assert MpiDistribution(process_count_per_instance=2) != PyTorchDistribution(process_count_per_instance=2)
    assert AmlTokenIdentity() != UserIdentity()
