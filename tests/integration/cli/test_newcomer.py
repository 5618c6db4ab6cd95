"""A newcomer's first hour with `azml`: what they try, and what they should be told."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from azureml_v2.local import make_app

from .test_cli import azml

pytestmark = pytest.mark.integration


def _job_file(folder: Path, command: str, **fields) -> Path:
    path = folder / "job.yml"
    extra = "".join(f"{k}: {v}\n" for k, v in fields.items())
    path.write_text(f"name: first\ncommand: {command}\nenvironment:\n  image: python:3.11-slim\n{extra}")
    return path


def _wait(home, name, statuses=("Completed", "Failed", "Canceled"), timeout=60):
    deadline = time.monotonic() + timeout
    while (job := json.loads(azml("job", "show", "-n", name, home=home).stdout))["status"] not in statuses:
        assert time.monotonic() < deadline, f"{name} still {job['status']}"
        time.sleep(0.2)
    return job


def test_version(tmp_path):
    proc = azml("--version", home=tmp_path)
    assert proc.stdout.startswith("azml 0.") and "Python 3." in proc.stdout


def test_a_second_create_updates_mutable_fields_and_refuses_other_changes(tmp_path):
    home = tmp_path / "home"
    azml("job", "create", "-f", str(_job_file(tmp_path, "echo one")), home=home)
    changed = azml("job", "create", "-f", str(_job_file(tmp_path, "echo two")), home=home, check_rc=1)
    assert changed.stderr.strip() == ("azml: error: job 'first' already exists with a different command; it cannot "
                                      "be changed: use a new name or version (HTTP 409)")
    updated = json.loads(azml("job", "create", "-f", str(_job_file(tmp_path, "echo one", description="better",
                                                                  display_name="First")), home=home).stdout)
    assert (updated["description"], updated["display_name"], updated["command"]) == ("better", "First", "echo one")


def test_command_jobs_show_their_type(tmp_path):
    home = tmp_path / "home"
    azml("job", "create", "-f", str(_job_file(tmp_path, "echo one")), home=home)
    assert json.loads(azml("job", "show", "-n", "first", home=home).stdout)["type"] == "command"
    assert azml("job", "list", "-o", "tsv", home=home).stdout.split("\t")[:2] == ["first", "command"]


def test_list_into_head_has_no_broken_pipe_error(tmp_path):
    home = tmp_path / "home"
    app = make_app(home, user="tester", run_jobs=False)
    try:
        from support.local import Client
        client = Client(app)
        env = client.put("/environments/host/versions/1", {"properties": {"image": "python:3.11-slim"}}).json["id"]
        for i in range(400):
            client.put(f"/jobs/job{i}", {"properties": {"jobType": "Command", "command": "true", "environmentId": env}})
    finally:
        app.close()
    pipeline = f"{sys.executable} -m azureml_v2.cli job list --all-results -o json | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, AZUREML_V2_HOME=str(home)))
    assert proc.stdout == "[\n" and proc.stderr == "" and proc.returncode == 0


def test_ctrl_c_while_streaming_says_the_job_goes_on(tmp_path):
    home = tmp_path / "home"
    job = _job_file(tmp_path, "python -c \"import time; print('started', flush=True); time.sleep(60)\"")
    proc = subprocess.Popen([sys.executable, "-m", "azureml_v2.cli", "job", "create", "-f", str(job), "--stream"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, AZUREML_V2_HOME=str(home)))
    try:
        deadline = time.monotonic() + 60
        while "started" not in (line := proc.stdout.readline()):
            assert line and time.monotonic() < deadline
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert err.strip() == ("azml: stopped following job first; it goes on running. Follow it again with "
                               "`azml job stream -n first`, or stop it with `azml job cancel -n first`")
        assert json.loads(azml("job", "show", "-n", "first", home=home).stdout)["status"] == "Running"
    finally:
        proc.kill()
        azml("job", "cancel", "-n", "first", home=home, check_rc=None)


def test_download_says_where_files_went_and_brings_the_std_log(tmp_path):
    home = tmp_path / "home"
    azml("job", "create", "-f", str(_job_file(tmp_path, "mkdir -p outputs && echo hi > outputs/a.txt && echo said")),
         home=home)
    _wait(home, "first")
    proc = azml("job", "download", "-n", "first", "-p", str(tmp_path / "dl"), home=home)
    assert proc.stdout.splitlines() == [f"downloaded {tmp_path / 'dl' / 'artifacts' / part}"
                                        for part in ("outputs", "user_logs")]
    assert "said" in (tmp_path / "dl" / "artifacts" / "user_logs" / "std_log.txt").read_text()


def test_a_sweep_without_its_metric_warns_and_download_names_the_trials(tmp_path):
    home = tmp_path / "home"
    sweep = tmp_path / "sweep.yml"
    sweep.write_text("name: quiet\ntype: sweep\ntrial:\n  command: echo ${{search_space.x}}\n  environment:\n"
                     "    image: python:3.11-slim\nsearch_space:\n  x:\n    type: choice\n    values: [1]\n"
                     "objective:\n  primary_metric: rmse\n  goal: minimize\nsampling_algorithm: random\n"
                     "limits:\n  max_total_trials: 1\n")
    proc = azml("job", "create", "-f", str(sweep), "--stream", home=home, check_rc=None)
    assert "Warning: no trial logged the primary metric 'rmse'" in proc.stdout, proc.stdout + proc.stderr
    proc = azml("job", "download", "-n", "quiet", "-p", str(tmp_path / "dl"), home=home)
    assert proc.stdout.strip() == ("job quiet has no files to download: a sweep's files are its trials' (list them "
                                   "with azml job show -n quiet)")


def test_a_preview_example_in_a_fresh_home_says_to_create_its_environment(tmp_path):
    examples = Path(__file__).resolve().parents[3] / "examples" / "lightgbm"
    proc = azml("job", "create", "-f", str(examples / "job-preview.yml"), home=tmp_path / "home", check_rc=1)
    assert proc.stderr.strip() == ("azml: error: environment 'azureml:lightgbm-diabetes:1' is not in this workspace: "
                                   "create it first (`azml environment create -f <its YAML>`, name lightgbm-diabetes, "
                                   "version 1)")
    assert "azml environment create -f examples/lightgbm/environment/environment.yml" in \
        (examples / "job-preview.yml").read_text()
