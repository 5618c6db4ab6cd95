"""`azml workspace|registry|connection` and `azml model share`: several workspaces in one home, a registry between
them, connections whose secrets no command prints."""
from __future__ import annotations

import json

import pytest
import yaml

from .test_cli import azml

pytestmark = pytest.mark.integration


def test_workspaces_a_registry_and_connections_from_the_command_line(tmp_path, corpus_root):
    home, resources = tmp_path / "home", corpus_root / "cli" / "resources"
    azml("workspace", "create", "-f", str(resources / "workspace" / "basic.yml"), home=home)
    azml("workspace", "create", "-f", str(resources / "workspace" / "hbi.yml"), "--name", "team-b", home=home)
    listed = json.loads(azml("workspace", "list", home=home).stdout)
    assert [w["name"] for w in listed] == ["local", "mlw-basic-prod", "team-b"]
    updated = yaml.safe_load(azml("workspace", "update", "-w", "team-b", "--set", "tags.cost=b", "-o", "yaml",
                                  home=home).stdout)
    assert updated["tags"] == {"purpose": "demonstration", "cost": "b"} and updated["hbi_workspace"] is True

    connection = tmp_path / "feed.yml"
    connection.write_text("name: private-feed\ntype: python_feed\ntarget: https://pkgs.example.com/simple\n"
                          "credentials:\n  type: username_password\n  username: ada\n  password: s3cret-Pa55\n")
    for args in (("connection", "create", "-f", str(connection)), ("connection", "show", "-n", "private-feed"),
                 ("connection", "list", "-o", "table")):
        out = azml(*args, "-w", "team-b", home=home).stdout
        assert "private-feed" in out and "s3cret-Pa55" not in out
    assert json.loads(azml("connection", "list", "-w", "mlw-basic-prod", home=home).stdout) == []
    # -w with a name the home does not hold is an error that says how to make it, not a new workspace
    typo = azml("connection", "list", "-w", "team-c", home=home, check_rc=1)
    assert "azml workspace create -n team-c" in typo.stderr and "Traceback" not in typo.stderr
    assert azml("workspace", "create", "-n", "team-c", home=home).returncode == 0  # a name is enough
    assert json.loads(azml("connection", "list", "-w", "team-c", home=home).stdout) == []
    azml("workspace", "delete", "-n", "team-c", "-y", home=home)

    azml("registry", "create", "-f", str(resources / "registry" / "registry.yml"), home=home)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.txt").write_text("w=1")
    spec = tmp_path / "model.yml"
    spec.write_text(f"name: churn\nversion: '3'\npath: {model}\n")
    azml("model", "create", "-f", str(spec), "-w", "team-b", home=home)
    shared = json.loads(azml("model", "share", "-n", "churn", "-v", "3", "--registry-name", "DemoRegistry",
                             "--share-with-version", "1", "-w", "team-b", home=home).stdout)
    assert shared["version"] == "1"
    assert [m["name"] for m in json.loads(azml("model", "list", "--registry-name", "DemoRegistry",
                                               home=home).stdout)] == ["churn"]

    proc = azml("workspace", "delete", "-n", "team-b", "-y", home=home)
    assert [w["name"] for w in json.loads(azml("workspace", "list", home=home).stdout)] == ["local", "mlw-basic-prod"]
    proc = azml("connection", "create", "-f", str(connection), "--set", "credentials.type=magic", home=home,
                check_rc=1)
    assert "credentials.type: invalid value 'magic'" in proc.stderr and "Traceback" not in proc.stderr
