"""MLflow tracking on the local workspace: the REST app's errors and scoping called in-process, the database."""
from __future__ import annotations

import io
import json
import sqlite3
from wsgiref.util import setup_testing_defaults

import pytest

from azureml_v2.local.api import mlflow as tracking_api
from azureml_v2.local.core import metrics as tracking
from azureml_v2.local.storage import tracking as tracking_db


JOB = "bright_lamp_1x2y"


@pytest.fixture
def artifact_dir(tmp_path):
    return tmp_path / "jobs" / JOB / "artifacts"


def call(app, method: str, path: str, body=None, *, query: str = "", headers: dict | None = None):
    data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(data),
               **(headers or {})}
    setup_testing_defaults(environ)
    seen = {}
    raw = b"".join(app(environ, lambda status, hdrs: seen.update(status=int(status.split()[0]))))
    return seen["status"], json.loads(raw)


def test_errors_are_mlflow_error_json(home):
    app = tracking_api.make_tracking_app(home)
    status, body = call(app, "GET", "/api/2.0/mlflow/runs/get", query="run_id=nope")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST") and "nope" in body["message"]
    status, body = call(app, "POST", "/api/2.0/mlflow/runs/teleport", {})
    assert (status, body["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    status, body = call(app, "POST", "/api/2.0/mlflow/experiments/create", b"{not json")
    assert (status, body["error_code"]) == (400, "MALFORMED_REQUEST")
    status, body = call(app, "POST", "/api/2.0/mlflow/experiments/create", {})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE") and "'name'" in body["message"]
    status, body = call(app, "POST", "/api/2.0/mlflow/experiments/create", {"name": "e"})
    assert status == 200
    status, body = call(app, "POST", "/api/2.0/mlflow/experiments/create", {"name": "e"})
    assert (status, body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    status, run = call(app, "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "0"})
    run_id = run["run"]["info"]["run_id"]
    metrics_ = [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]
    status, body = call(app, "POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": run_id, "metrics": metrics_})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE") and "1000" in body["message"]
    status, body = call(app, "POST", "/api/2.0/mlflow/runs/log-metric",
                        {"run_id": run_id, "key": "../x", "value": 1, "timestamp": 1})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, body = call(app, "POST", "/api/2.0/mlflow/runs/search",
                        {"experiment_ids": ["0"], "filter": "metrics.m >>> 2"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_runs_are_scoped_by_workspace(home, artifact_dir):
    tracking.ensure_run(home, "team-a", JOB, "exp", artifact_dir)
    app = tracking_api.make_tracking_app(home)
    assert call(app, "GET", "/api/2.0/mlflow/runs/get", query=f"run_id={JOB}")[0] == 404
    prefixed = ("/mlflow/v1.0/subscriptions/0/resourceGroups/local/providers/Microsoft.MachineLearningServices"
                "/workspaces/team-a/api/2.0/mlflow/runs/get")
    status, body = call(app, "GET", prefixed, query=f"run_id={JOB}")
    assert status == 200 and body["run"]["info"]["artifact_uri"] == artifact_dir.resolve().as_uri()
    assert tracking.metrics(home, "local", JOB) == {}
    tracking.ensure_run(home, "local", JOB, "exp", artifact_dir)  # the same name in another workspace
    tracking.finish_run(home, "local", JOB, "KILLED")
    assert tracking.tracking_store(home).run("team-a", JOB)["info"]["status"] == "RUNNING"


def test_database_is_wal_and_migrated(home, artifact_dir):
    tracking.ensure_run(home, "local", JOB, None, artifact_dir)
    conn = sqlite3.connect(home / "tracking.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(tracking_db.MIGRATIONS)
    with pytest.raises(ValueError, match="FINISHED, FAILED or KILLED"):
        tracking.finish_run(home, "local", JOB, "Running")
    assert tracking.finish_run(home, "local", "never_started", "Failed") is False


@pytest.mark.parametrize("method, path, body", [
    ("POST", "experiments/create", {"name": "e", "tags": [1]}),
    ("POST", "experiments/update", {"experiment_id": "0", "new_name": [1]}),
    ("POST", "experiments/search", {"filter": [1]}),
    ("POST", "runs/create", {"experiment_id": "0", "tags": "x"}),
    ("POST", "runs/create", {"experiment_id": "0", "start_time": 10 ** 30}),
    ("POST", "runs/log-batch", {"run_id": [], "metrics": []}),
    ("POST", "runs/log-batch", {"run_id": "r", "metrics": {"a": 1}}),
    ("POST", "logged-models", {"experiment_id": "0", "tags": -1}),
    ("POST", "logged-models/search", {"filter": 1.5}),
])
def test_a_body_whose_fields_have_the_wrong_type_gets_one_mlflow_error(home, method, path, body):
    app = tracking_api.make_tracking_app(home)
    status, answer = call(app, method, f"/api/2.0/mlflow/{path}", body)
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert "wrong type or size" in answer["message"]


def test_a_body_past_the_limit_or_with_a_bad_length_is_one_mlflow_error(home):
    app = tracking_api.make_tracking_app(home)
    for length in (str(tracking_api.MAX_BODY + 1), "12x"):
        status, body = call(app, "POST", "/api/2.0/mlflow/experiments/create", {"name": "e"},
                            headers={"CONTENT_LENGTH": length})
        assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), body
