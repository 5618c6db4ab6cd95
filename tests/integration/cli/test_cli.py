"""The `azml` command line as a user meets it: exit codes, one-line errors, output formats."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def azml(*args, home: Path, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, AZUREML_V2_HOME=str(home))
    proc = subprocess.run([sys.executable, "-m", "azureml_v2.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stdout + proc.stderr
    return proc


def test_usage_errors_exit_2(tmp_path):
    proc = azml("data", "show", home=tmp_path, check_rc=2)
    assert "--name/-n" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_prints_normalised_yaml(tmp_path):
    proc = azml("job", "validate", "-f", str(EXAMPLES / "lightgbm" / "job-preview.yml"), home=tmp_path)
    assert "command: python train.py" in proc.stdout and "run:" not in proc.stdout
    assert "compute: local" in proc.stdout


def test_validate_rest_body_is_json(tmp_path):
    proc = azml("job", "validate", "-f", str(EXAMPLES / "hello-world" / "job.yml"), "--rest", "-o", "json",
                home=tmp_path)
    body = json.loads(proc.stdout)
    assert body["properties"]["jobType"] == "Command"


def test_bad_yaml_is_one_located_line_exit_1(tmp_path):
    bad = tmp_path / "job.yml"
    bad.write_text("command: echo hi\nenvironment:\n  image: python\nresources:\n  instance_cont: 2\n")
    proc = azml("job", "validate", "-f", str(bad), home=tmp_path, check_rc=1)
    assert proc.stderr.strip() == (f"{bad}:5:3 resources.instance_cont: unknown field "
                                   "(did you mean instance_count?)")


def test_debug_shows_traceback(tmp_path):
    proc = azml("job", "validate", "-f", str(tmp_path / "missing.yml"), "--debug", home=tmp_path, check_rc=1)
    assert "Traceback" in proc.stderr


def _get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_server_requires_its_token(tmp_path):
    pytest.importorskip("waitress")
    proc = azml("server", "start", home=tmp_path)
    try:
        lines = proc.stdout.splitlines()
        endpoint = lines[0].split(" at ")[1].split(" ")[0]
        token = lines[-1].strip()
        token_file = tmp_path / "server.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token_file.read_text().strip() == token
        ws = (endpoint + "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
              "Microsoft.MachineLearningServices/workspaces/local?api-version=2024-04-01")
        status, body = _get(ws)
        assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
        assert _get(ws, "wrong-token")[0] == 401
        status, body = _get(ws, token)
        assert status == 200 and body["name"] == "local"
        assert "running at" in azml("server", "status", home=tmp_path).stdout
        again = azml("server", "start", home=tmp_path, check_rc=1)
        assert "already runs" in again.stderr
    finally:
        azml("server", "stop", home=tmp_path)
    assert azml("server", "status", home=tmp_path, check_rc=3).stdout.strip() == "not running"
    # a restart keeps the token and does not print it again
    proc = azml("server", "start", home=tmp_path)
    try:
        assert "bearer token" not in proc.stdout
    finally:
        azml("server", "stop", home=tmp_path)
