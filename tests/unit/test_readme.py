"""The README a newcomer follows: its two commands as CI runs them, and what it says of skipped tests."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_are_there_as_ci_runs_them():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = "python3.11 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q"
    assert f"\n```\n{test_command}\n```\n" in README and ci.rstrip().endswith(test_command)
    assert ("\n```\npython3.11 -m venv .venv && .venv/bin/pip install -q '.[sweep]' && .venv/bin/azml job create -f "
            "examples/lightgbm/sweep.yml --stream\n```\n") in README


def test_the_readme_explains_skips_and_where_reference_data_is_found():
    assert "skips about a hundred tests, each with its reason" in README
    assert "`AZUREML_V2_SHARED`" in README and "`../shared`" in README


def test_the_cassette_generator_finds_the_spec_through_azureml_v2_shared(monkeypatch, tmp_path):
    monkeypatch.setenv("AZUREML_V2_SHARED", str(tmp_path))
    spec = importlib.util.spec_from_file_location("make_cassettes_fresh", ROOT / "tests" / "support" / "make_cassettes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DEFAULT_SPEC == tmp_path / "azure-rest-spec"
