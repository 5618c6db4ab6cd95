"""`azml job ...` as a user runs it, against a fresh local workspace whose jobs really run on this machine."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .test_cli import azml

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

SCRIPT = """\
import os, sys
os.makedirs("outputs", exist_ok=True)
open("outputs/note.txt", "w").write("artifact")
with open(os.path.join(sys.argv[1], "model.txt"), "w") as fh:
    fh.write("weights")
print("trained")
"""


def _write_job(folder: Path, command: str, extra: str = "") -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "train.py").write_text(SCRIPT)
    path = folder / "job.yml"
    path.write_text(f"command: {command}\ncode: src\nenvironment:\n  image: python:3.11\ncompute: local\n{extra}")
    return path


def test_create_show_list_archive_restore(home, tmp_path):
    job_file = EXAMPLES / "hello-world" / "job.yml"
    created = json.loads(azml("job", "create", "-f", str(job_file), "--name", "hello-1", "--set",
                              "experiment_name=cli", home=home).stdout)
    assert (created["name"], created["experiment_name"]) == ("hello-1", "cli")
    assert created["status"] in ("NotStarted", "Queued", "Preparing", "Running", "Finalizing", "Completed")
    second = json.loads(azml("job", "create", "-f", str(job_file), home=home).stdout)["name"]
    assert second != "hello-1"  # a fresh name when the file has none
    shown = json.loads(azml("job", "show", "-n", "hello-1", home=home).stdout)
    assert shown["command"] == 'echo "hello world"' and "status" in shown
    listed = azml("job", "list", "-o", "table", home=home).stdout.splitlines()
    assert listed[0].split() == ["Name", "Type", "Status"]
    assert [row.split()[:2] for row in listed[2:]] == [[second, "command"], ["hello-1", "command"]]
    assert [j["name"] for j in json.loads(azml("job", "list", "--max-results", "1", home=home).stdout)] == [second]
    azml("job", "archive", "-n", "hello-1", home=home)
    assert [j["name"] for j in json.loads(azml("job", "list", home=home).stdout)] == [second]
    assert [j["name"] for j in json.loads(azml("job", "list", "--archived-only", home=home).stdout)] == ["hello-1"]
    azml("job", "restore", "-n", "hello-1", home=home)
    assert len(json.loads(azml("job", "list", home=home).stdout)) == 2
    assert json.loads(azml("job", "list", "--parent-job-name", "hello-1", home=home).stdout) == []


def test_create_stream_download(home, tmp_path):
    job_file = _write_job(tmp_path, "python train.py ${{outputs.model}}", "outputs:\n  model:\n    type: uri_folder\n")
    proc = azml("job", "create", "-f", str(job_file), "-n", "train-1", "--stream", home=home)
    lines = proc.stdout.splitlines()
    assert lines[0] == "RunId: train-1" and "trained" in lines and lines[-1] == "Status: Completed"
    assert proc.stderr == ""
    again = azml("job", "stream", "-n", "train-1", home=home).stdout
    assert "trained" in again and again.endswith("Status: Completed\n")

    azml("job", "download", "-n", "train-1", "--download-path", str(tmp_path / "default"), home=home)
    assert (tmp_path / "default" / "artifacts" / "outputs" / "note.txt").read_text() == "artifact"
    azml("job", "download", "-n", "train-1", "--output-name", "model", "-p", str(tmp_path / "one"), home=home)
    assert (tmp_path / "one" / "model" / "model.txt").read_text() == "weights"
    azml("job", "download", "-n", "train-1", "--all", "-p", str(tmp_path / "all"), home=home)
    assert (tmp_path / "all" / "model" / "model.txt").is_file()
    assert (tmp_path / "all" / "artifacts" / "outputs" / "note.txt").is_file()
    proc = azml("job", "download", "-n", "train-1", "--output-name", "nope", home=home, check_rc=1)
    assert proc.stderr.strip().endswith("job train-1 has no output named 'nope' (outputs: model)")


def test_create_stream_of_a_failing_job_exits_1_with_its_error(home, tmp_path):
    job_file = _write_job(tmp_path, "python -c \"import sys; print('about to fail'); sys.exit(3)\"")
    proc = azml("job", "create", "-f", str(job_file), "-n", "fails", "--stream", home=home, check_rc=1)
    assert "about to fail" in proc.stdout and proc.stdout.endswith("Status: Failed\n")
    [line] = proc.stderr.splitlines()
    assert line.startswith("azml: error: job fails failed")
    azml("job", "stream", "-n", "fails", home=home, check_rc=1)


def test_cancel_a_running_job(home, tmp_path):
    job_file = _write_job(tmp_path, "python -c \"import time; print('started', flush=True); time.sleep(60)\"")
    azml("job", "create", "-f", str(job_file), "-n", "long", home=home)
    deadline = time.monotonic() + 30
    while json.loads(azml("job", "show", "-n", "long", home=home).stdout)["status"] != "Running":
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.2)
    azml("job", "cancel", "-n", "long", home=home)
    assert json.loads(azml("job", "show", "-n", "long", home=home).stdout)["status"] == "Canceled"
    proc = azml("job", "stream", "-n", "long", home=home, check_rc=1)
    assert "started" in proc.stdout and proc.stderr.startswith("azml: error: job long canceled")


def test_errors_are_one_line_and_usage_exits_2(home, tmp_path):
    proc = azml("job", "show", "-n", "missing", home=home, check_rc=1)
    assert proc.stderr.strip() == "azml: error: job 'missing' not found in workspace 'local' (HTTP 404)"
    proc = azml("job", "cancel", home=home, check_rc=2)
    assert "--name/-n" in proc.stderr
    azml("job", "download", home=home, check_rc=2)
    bad = tmp_path / "bad.yml"
    bad.write_text("command: echo hi\nenvironment: azureml:env:1\ncode: ./missing\n")
    proc = azml("job", "create", "-f", str(bad), home=home, check_rc=1)
    assert len(proc.stderr.splitlines()) == 1 and f"{bad}:3:1 code: no such file or folder" in proc.stderr
    proc = azml("job", "list", "--max-results", "0", home=home, check_rc=1)
    assert proc.stderr.strip() == "azml: error: --max-results must be at least 1"
