"""Attack: a job's MLflow token used beyond its run. It writes to its own run and the runs it creates (nested
runs), and is refused (403) writes to another job's run and requests for another workspace."""
from __future__ import annotations

import sys
import time

import pytest

from azureml_v2 import MLClient, command

pytestmark = pytest.mark.integration

SCRIPT = """
import json, os, urllib.error, urllib.request
uri, token, run = os.environ["MLFLOW_TRACKING_URI"], os.environ["MLFLOW_TRACKING_TOKEN"], os.environ["MLFLOW_RUN_ID"]

def post(path, body, prefix=""):
    request = urllib.request.Request(uri + prefix + "/api/2.0/mlflow/" + path, json.dumps(body).encode(),
                                     {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())

metric = {"key": "loss", "value": 0.5, "timestamp": 0, "step": 0}
other_ws = "/subscriptions/0/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/other"
nested = post("runs/create", {"experiment_id": os.environ["MLFLOW_EXPERIMENT_ID"],
                              "tags": [{"key": "mlflow.parentRunId", "value": run}]})[1]["run"]["info"]["run_id"]
print("own", post("runs/log-metric", {**metric, "run_id": run})[0])
print("nested", post("runs/log-metric", {**metric, "run_id": nested})[0])
print("victim", post("runs/log-metric", {**metric, "run_id": "victim", "value": 666})[0])
print("other-workspace", post("runs/create", {"experiment_id": "0"}, prefix=other_ws)[0])
"""


def test_a_job_token_writes_only_its_own_runs(tmp_path):
    script = tmp_path / "scope.py"
    script.write_text(SCRIPT)
    with MLClient.local(tmp_path / "home") as client:
        env = {"image": "python:3.11-slim"}
        for name, line in (("victim", "true"), ("attacker", f"{sys.executable} {script}")):
            client.jobs.create_or_update(command(command=line, name=name, environment=env))
            deadline = time.monotonic() + 60
            while client.jobs.get(name).status not in ("Completed", "Failed", "Canceled"):
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert client.jobs.get("attacker").status == "Completed"
        log = (tmp_path / "home" / "jobs" / "local" / "attacker" / "user_logs" / "std_log.txt").read_text()
        assert log.splitlines()[-4:] == ["own 200", "nested 200", "victim 403", "other-workspace 403"]
        assert "loss" not in client.jobs.get_metrics("victim")
        assert client.jobs.get_metrics("attacker")["loss"][0][1] == 0.5
