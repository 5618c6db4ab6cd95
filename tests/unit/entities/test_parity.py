"""The same YAML behaves the same on Azure whichever SDK submitted it: what azure-ai-ml sends for literal inputs,
component input defaults, model inputs and inline environments (the expected values below were computed by
azure-ai-ml 1.35.2 itself on the same files; tests/integration/test_body_parity.py recomputes them live)."""
from __future__ import annotations

import pytest

from azureml_v2 import load_component, load_job
from azureml_v2.entities import CommandComponent

SCOPE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
         "Microsoft.MachineLearningServices/workspaces/ws")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"


def _write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_boolean_literal_inputs_reach_the_command_line_as_azure_ml_writes_them(tmp_path):
    job = load_job(_write(tmp_path, "job.yml", "command: python t.py --a ${{inputs.a}} --b ${{inputs.b}} "
                                               "--lr ${{inputs.lr}}\nenvironment: azureml:env:1\n"
                                               "inputs: {a: true, b: false, lr: 0.5}\n"))
    assert job.to_rest(scope=SCOPE)["properties"]["inputs"] == {
        "a": {"jobInputType": "literal", "value": "True"}, "b": {"jobInputType": "literal", "value": "False"},
        "lr": {"jobInputType": "literal", "value": "0.5"}}


def test_component_input_defaults_and_bounds_go_out_as_the_strings_azure_ml_renders(tmp_path):
    path = _write(tmp_path, "c.yml", "name: c\nversion: '1'\ntype: command\ncommand: echo ${{inputs.a}}\n"
                                     "environment: azureml:env:1\ninputs:\n"
                                     "  a: {type: number, default: 1.0e-3, min: 0, max: 1.5}\n"
                                     "  b: {type: integer, default: 3, min: 1, max: 10, optional: true}\n"
                                     "  c: {type: string, enum: [x, 'y'], default: x}\n"
                                     "  d: {type: boolean, default: false}\n"
                                     "  e: {type: number, default: 1e-3}\n")  # YAML 1.1 reads 1e-3 as text
    body = load_component(path).to_rest(scope=SCOPE)
    assert body["properties"]["componentSpec"]["inputs"] == {  # azure-ai-ml's componentSpec.inputs, key for key
        "a": {"type": "number", "default": "0.001", "min": "0.0", "max": "1.5"},
        "b": {"type": "integer", "default": "3", "optional": True, "min": "1", "max": "10"},
        "c": {"type": "string", "default": "x", "enum": ["x", "y"]},
        "d": {"type": "boolean", "default": "False"}, "e": {"type": "number", "default": "0.001"}}
    again = CommandComponent._from_rest({"id": f"{SCOPE}/components/c/versions/1", **body})
    assert (again.inputs["d"].default, again.inputs["b"].max) == (False, 10)
    assert again.to_rest(scope=SCOPE) == body


@pytest.mark.parametrize("kind", ["mlflow_model", "custom_model", "triton_model"])
def test_a_model_input_by_name_and_version_is_a_model_id_in_the_jobs_own_body(tmp_path, kind):
    job = load_job(_write(tmp_path, "job.yml", "command: ls ${{inputs.m}}\nenvironment: azureml:env:1\n"
                                               f"inputs:\n  m: {{type: {kind}, path: 'azureml:churn:3'}}\n"
                                               "  d: {type: uri_folder, path: 'azureml:iris:1'}\n"))
    inputs = job.to_rest(scope=SCOPE)["properties"]["inputs"]
    assert inputs["m"]["uri"] == f"{SCOPE}/models/churn/versions/3"
    assert inputs["d"]["uri"] == f"{SCOPE}/data/iris/versions/1"


CONDA = ("name: demo\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  - pip\n"
         "  - pip: [numpy==1.26.4, \"mlflow>=2\"]\n")
# the inline environment of each job and the version azure-ai-ml 1.35.2 names it (CliV2AnonymousEnvironment)
ANONYMOUS = {
    "image": (f"image: {IMAGE}", "91c34d2adee6e59b6ff74d03d3938ae75e1c893c2696b67ec4dad15529c6b0e2"),
    "image and conda file": (f"image: {IMAGE}\n  conda_file: conda.yml",
                             "5782b682170ed4fe790dcf549f6e5b847b0cf0a541c143b803193bd705eb50f5"),
    "build context": ("build:\n    path: ctx", "f3010d41344f2cfa11a448a15f03691ca706b087551d89c9c0e9f027be0c0a48"),
    "build context and Dockerfile": ("build:\n    path: ctx\n    dockerfile_path: Dockerfile",
                                     "18639b8993825ea6b23e648dd7caadb9ffac120b02780ddbeb10fdd88df118a6"),
}


@pytest.mark.parametrize("case", ANONYMOUS, ids=list(ANONYMOUS))
def test_an_inline_environment_is_versioned_as_azure_ai_ml_versions_it(tmp_path, case):
    _write(tmp_path, "conda.yml", CONDA)
    _write(tmp_path, "ctx/Dockerfile", "FROM python:3.11-slim\nRUN pip install numpy\n")
    _write(tmp_path, "ctx/sub/a.py", "x=1\n")
    _write(tmp_path, "ctx/B.txt", "y\n")
    environment, version = ANONYMOUS[case]
    job = load_job(_write(tmp_path, "job.yml", f"command: echo hi\nenvironment:\n  {environment}\n"))
    assert job.to_rest(scope=SCOPE)["properties"]["environmentId"] == \
        f"{SCOPE}/environments/CliV2AnonymousEnvironment/versions/{version}"
