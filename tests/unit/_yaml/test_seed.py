"""The seed brief's 2020 preview examples load, normalise to today's schema, round-trip and map to
spec-valid REST bodies. The blocks are read from ../shared/seed, never copied here."""
from __future__ import annotations

import re

import pytest
import yaml

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from conftest import SEED


def _block(title: str) -> str:
    if not SEED.exists():
        pytest.skip(f"seed brief not found at {SEED}")
    text = SEED.read_text(encoding="utf-8")
    start = text.index(title)
    match = re.compile(r"```[a-z]*\n(.*?)```", re.S).search(text, start)
    return match.group(1)


def test_seed_dataset(tmp_path, rest_validate):
    path = tmp_path / "dataset.yml"
    path.write_text(_block("## Datasets"))
    data = azureml_v2.load_data(path)
    assert (data.name, data.version, data.type) == ("testDataset", "1.0", "uri_file")
    assert data.path == "azureml://datastores/workspaceblobstore/paths/v2test/test.rtf"
    out = tmp_path / "out" / "dataset.yml"
    out.parent.mkdir()
    data.dump(out)
    dumped = yaml.safe_load(out.read_text())
    assert "assetPaths" not in dumped and "linkedServiceId" not in dumped  # today's schema
    assert azureml_v2.load_data(out) == data
    assert rest_validate(data.to_rest(scope=LOCAL_SCOPE), "DataVersionBaseResource") == []


def test_seed_environment(tmp_path, rest_validate):
    path = tmp_path / "environment.yml"
    path.write_text(_block("## Environment"))
    env = azureml_v2.load_environment(path)
    assert env.image == "mcr.microsoft.com/azureml/base:0.2.2"
    assert env.conda_file["dependencies"][0] == "python=3.6.2"
    out = tmp_path / "out" / "environment.yml"
    out.parent.mkdir()
    env.dump(out)
    dumped = yaml.safe_load(out.read_text())
    assert set(dumped) == {"name", "version", "image", "conda_file"}
    assert azureml_v2.load_environment(out) == env
    body = env.to_rest(scope=LOCAL_SCOPE)
    assert rest_validate(body, "EnvironmentVersionResource") == []
    assert yaml.safe_load(body["properties"]["condaFile"]) == env.conda_file


def test_seed_environment_odd_interpreter_is_reported(tmp_path):
    text = _block("## Environment").replace('interpreter_path: "python"', 'interpreter_path: "/opt/py/bin/python"')
    path = tmp_path / "environment.yml"
    path.write_text(text)
    with pytest.raises(azureml_v2.ValidationError) as exc:
        azureml_v2.load_environment(path)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "interpreter_path" in l)
    assert str(exc.value).startswith(f"{path}:{line}:")
    assert "interpreter_path" in str(exc.value)
