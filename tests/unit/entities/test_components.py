"""Command components: declarations load, dump back equal, and map to a spec-valid ComponentVersion."""
from __future__ import annotations

from pathlib import Path

import pytest

import azureml_v2
from azureml_v2.entities.component import CommandComponent
from azureml_v2.entities.inputs import Input, Output
from azureml_v2.entities.job import JobResources, PyTorchDistribution

SCOPE = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
TRAIN = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train_component
version: 3
display_name: Train
description: trains
tags: {author: me}
type: command
is_deterministic: false
inputs:
  data: {type: uri_folder}
  epochs: {type: integer, default: 5, min: 1, max: 100}
  lr: {type: number, optional: true}
  kind: {type: string, enum: [a, b], default: a, description: which}
outputs:
  model: {type: mlflow_model}
command: >-
  python train.py --data ${{inputs.data}} --epochs ${{inputs.epochs}}
  $[[--lr ${{inputs.lr}}]] --kind ${{inputs.kind}} --model ${{outputs.model}}
code: ./src
environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
"""


def write(folder: Path, text: str) -> Path:
    (folder / "src").mkdir(exist_ok=True)
    path = folder / "component.yml"
    path.write_text(text)
    return path


def test_declarations_load(tmp_path):
    c = azureml_v2.load_component(write(tmp_path, TRAIN))
    assert isinstance(c, CommandComponent)
    assert (c.name, c.version, c.is_deterministic) == ("train_component", "3", False)
    assert c.inputs["epochs"] == Input(type="integer", default=5, min=1, max=100)
    assert c.inputs["lr"] == Input(type="number", optional=True)
    assert c.inputs["kind"] == Input(type="string", enum=["a", "b"], default="a", description="which")
    assert c.outputs == {"model": Output(type="mlflow_model")}
    assert c.code == str(tmp_path / "src")
    assert c.distribution == PyTorchDistribution(process_count_per_instance=2)
    assert c.resources == JobResources(instance_count=2)


def test_round_trip_elsewhere(tmp_path, monkeypatch):
    c = azureml_v2.load_component(write(tmp_path, TRAIN))
    out = tmp_path / "out" / "deep" / "c.yml"
    out.parent.mkdir(parents=True)
    c.dump(out)
    text = out.read_text()
    assert "code: ../../src\n" in text and str(tmp_path) not in text
    monkeypatch.chdir(out.parent)
    assert azureml_v2.load_component(out) == c
    azureml_v2.load_component(out).dump(out)
    assert out.read_text() == text


def test_rest_is_spec_valid_and_reads_back(tmp_path, rest_validate):
    c = azureml_v2.load_component(write(tmp_path, TRAIN))
    c.code = f"azureml:{SCOPE}/codes/abc/versions/1"  # as the operations layer sets it after upload
    body = c.to_rest(scope=SCOPE)
    assert rest_validate(body, "ComponentVersionResource") == []
    spec = body["properties"]["componentSpec"]
    assert spec["type"] == "command" and spec["name"] == "train_component" and spec["version"] == "3"
    assert spec["code"] == f"azureml:{SCOPE}/codes/abc/versions/1"
    assert spec["inputs"]["epochs"] == {"type": "integer", "default": "5", "min": "1", "max": "100"}  # as azure-ai-ml
    assert spec["environment"] == "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"
    back = CommandComponent._from_rest({"id": f"{SCOPE}/components/train_component/versions/3",
                                        "properties": {**body["properties"],
                                                       "componentSpec": {**spec, "_source": "YAML.COMPONENT"}}})
    assert back == c


def test_inline_environment_becomes_an_anonymous_reference(tmp_path, rest_validate):
    text = TRAIN.replace("environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
                         "environment: {image: python:3.11}")
    body = azureml_v2.load_component(write(tmp_path, text)).to_rest(scope=SCOPE)
    assert body["properties"]["componentSpec"]["environment"].startswith(
        f"azureml:{SCOPE}/environments/CliV2AnonymousEnvironment/versions/")
    assert rest_validate(body, "ComponentVersionResource") == []


@pytest.mark.parametrize("old, new, expected", [
    ("  lr: {type: number, optional: true}", "  lr: 0.1", "12:3 inputs.lr: expected a mapping with a type, got a number"),
    ("  lr: {type: number, optional: true}", "  lr: {type: numbr}",
     "12:8 inputs.lr.type: invalid value 'numbr'"),
    ("--kind ${{inputs.kind}}", "--kind ${{inputs.knd}}",
     "16:1 command: ${{inputs.knd}}: no input named 'knd' is declared (declared: data, epochs, lr, kind) "
     "(did you mean kind?)"),
    ("is_deterministic: false", "additional_includes: [../common]", "8:23 additional_includes[0]: no such file or folder"),
    ("name: train_component", "name: train component", "2:1 name: invalid name 'train component'"),
    ("type: command", "type: data_transfer", "7:1 type: not supported yet: data_transfer components"),
])
def test_bad_component_is_located(tmp_path, old, new, expected):
    assert old in TRAIN
    path = write(tmp_path, TRAIN.replace(old, new))
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_component(path)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{path}:{expected}") for line in lines), lines
