"""`import azureml_v2` stays light: heavy dependencies and schemas load when first used.

Each check runs a fresh interpreter and looks at sys.modules (never at the clock).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import azureml_v2

pytestmark = pytest.mark.integration

PACKAGE_ROOT = Path(azureml_v2.__file__).resolve().parents[1]
HEAVY = ("azure.identity", "azure.storage.blob", "marshmallow")
SCHEMAS = tuple(f"azureml_v2._yaml.{m}" for m in ("base", "fields", "assets", "io", "jobs", "kinds", "sweep", "models",
                                                   "datastores", "dialect"))


def modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The names in sys.modules after running `code` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                     os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=cwd,
                         check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def loaded(modules: set[str], names) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_bare_import_uses_only_the_standard_library():
    modules = modules_after("import azureml_v2")
    at_startup = modules_after("")  # what site (.pth hooks, editable-install finders) loads anyway
    third_party = sorted(m for m in modules - at_startup
                         if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "azureml_v2")
    assert third_party == []
    assert loaded(modules, SCHEMAS) == []


def test_load_job_name_imports_no_schema_and_no_azure():
    modules = modules_after("from azureml_v2 import load_job, load_data, ValidationError")
    assert loaded(modules, HEAVY + SCHEMAS + ("azure",)) == []


def test_mlclient_and_load_job_names_import_no_typing():
    for names in ("MLClient", "load_job, load_data"):
        assert "typing" not in modules_after(f"from azureml_v2 import {names}"), names


def test_loading_one_kind_leaves_the_other_schemas_unloaded(tmp_path):
    (tmp_path / "data.yml").write_text("name: iris\ntype: uri_file\npath: https://example.com/iris.csv\n")
    modules = modules_after("from azureml_v2 import load_data\nload_data('data.yml')", cwd=tmp_path)
    assert "azureml_v2._yaml.assets" in modules  # the check below is not vacuous
    assert loaded(modules, ("azureml_v2._yaml.jobs", "azureml_v2._yaml.sweep", "azureml_v2._yaml.models",
                            "azureml_v2._yaml.datastores", "azure")) == []


def test_command_job_does_not_load_the_sweep_schema(tmp_path):
    (tmp_path / "job.yml").write_text("command: echo hi\nenvironment: azureml:AzureML-sklearn-1.5@latest\n")
    modules = modules_after("from azureml_v2 import load_job\nload_job('job.yml')", cwd=tmp_path)
    if "azureml_v2._yaml.jobs" not in modules:
        pytest.skip("command jobs do not load yet")
    assert loaded(modules, ("azureml_v2._yaml.sweep", "azureml_v2._yaml.models", "azureml_v2._yaml.datastores",
                            "azure.identity", "azure.storage.blob")) == []


def test_mlclient_name_imports_no_credentials_storage_or_schemas():
    if "MLClient" not in getattr(azureml_v2, "_EXPORTS", {}):
        pytest.skip("azureml_v2.MLClient is not exported yet")
    modules = modules_after("from azureml_v2 import MLClient")
    assert loaded(modules, HEAVY + SCHEMAS) == []


def test_importing_entities_loads_no_entity_module():
    added = modules_after("import azureml_v2.entities")
    assert sorted(m for m in added if m.startswith("azureml_v2.entities.")) == []
