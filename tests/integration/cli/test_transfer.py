"""`azml workspace export|import`, `azml schema export` and `--export-arm` as a user runs them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_cli import azml

pytestmark = pytest.mark.integration


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_import_round_trip_and_the_arm_template(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "weights.txt").write_text("0.5\n")
    (tmp_path / "model.yml").write_text("name: tiny\nversion: 3\npath: files/weights.txt\ndescription: a model\n")
    a, b = tmp_path / "home-a", tmp_path / "home-b"
    azml("model", "create", "-f", str(tmp_path / "model.yml"), home=a)
    azml("online-endpoint", "create", "-n", "tiny-endpoint", home=a)
    assert azml("workspace", "export", "-p", str(tmp_path / "tree"), home=a).stdout.startswith("wrote 2 files")
    proc = azml("workspace", "import", "-p", str(tmp_path / "tree"), home=b)
    assert proc.stdout.startswith("created 2, unchanged 0") and "created models/tiny/3.yml" in proc.stdout
    assert azml("workspace", "import", "-p", str(tmp_path / "tree"), home=b).stdout.startswith("created 0, unchanged 2")
    azml("workspace", "export", "-p", str(tmp_path / "again"), home=b)
    assert _tree(tmp_path / "tree") == _tree(tmp_path / "again")
    assert _tree(tmp_path / "tree")["models/tiny/3/weights.txt"] == b"0.5\n"

    azml("online-endpoint", "show", "-n", "tiny-endpoint", "--export-arm", str(tmp_path / "arm.json"), home=b)
    template = json.loads((tmp_path / "arm.json").read_text())
    assert [r["type"] for r in template["resources"]] == ["Microsoft.MachineLearningServices/workspaces/onlineEndpoints"]


def test_a_conflict_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "m.txt").write_text("x\n")
    for home, description in (("home-a", "one"), ("home-b", "two")):
        (tmp_path / "model.yml").write_text(f"name: m\nversion: 1\npath: m.txt\ndescription: {description}\n")
        azml("model", "create", "-f", str(tmp_path / "model.yml"), home=tmp_path / home)
    azml("workspace", "export", "-p", str(tmp_path / "tree"), home=tmp_path / "home-a")
    proc = azml("workspace", "import", "-p", str(tmp_path / "tree"), home=tmp_path / "home-b", check_rc=1)
    assert proc.stderr.strip().endswith("models/m/1.yml: the workspace holds it with other description")
    assert "Traceback" not in proc.stderr


def test_schema_export_writes_a_schema_per_kind(tmp_path):
    proc = azml("schema", "export", str(tmp_path / "schemas"), home=tmp_path)
    assert proc.stdout.startswith("wrote 22 schemas")
    schema = json.loads((tmp_path / "schemas" / "commandJob.schema.json").read_text())
    assert {"command", "environment", "inputs"} <= set(schema["properties"])
