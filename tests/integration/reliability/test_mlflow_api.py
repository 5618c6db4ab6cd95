"""Attack: malformed MLflow tracking requests. Each is a 400 with MLflow's error JSON, never a 500; workspace names
in the path are checked as on the ARM routes."""
from __future__ import annotations

import io
import json

import pytest

from azureml_v2.local.api.mlflow import make_tracking_app
from azureml_v2.local.core.metrics import ensure_run

pytestmark = pytest.mark.integration

PREFIX = "/api/2.0/mlflow/"


@pytest.fixture
def call(tmp_path):
    home = tmp_path / "home"
    app = make_tracking_app(home)
    ensure_run(home, "local", "job1", "exp", tmp_path / "artifacts")

    def call(method, path, body=None, query=""):
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path if path.startswith("/") else PREFIX + path,
                   "QUERY_STRING": query, "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json",
                   "wsgi.input": io.BytesIO(data)}
        seen = {}
        raw = b"".join(app(environ, lambda status, headers: seen.update(status=int(status.split()[0]))))
        return seen["status"], json.loads(raw)

    return call


METRIC = {"run_id": "job1", "key": "loss", "value": 0.5, "timestamp": 0, "step": 0}


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,                       # deep JSON
    b'{"run_id": "job1", "key": "loss", "value": 0.5, "timestamp": 0, "params": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    {**METRIC, "step": 10 ** 30},                          # a step past 64 bits
    {**METRIC, "timestamp": -(10 ** 40)},
    {**METRIC, "run_id": {"a": 1}},                        # a dict as run_id
    {**METRIC, "run_id": ["job1"]},
    {**METRIC, "value": "high"},
    {**METRIC, "key": {"k": 1}},
], ids=["deep-json", "deep-field", "huge-step", "huge-timestamp", "dict-run-id", "list-run-id", "string-value",
        "dict-key"])
def test_malformed_log_metric_is_a_400(call, body):
    status, answer = call("POST", "runs/log-metric", body)
    assert status == 400, answer
    assert answer["error_code"] in ("INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST")


@pytest.mark.parametrize("body", [
    {"run_id": "job1", "metrics": "abc"},                  # a string as metrics
    {"run_id": "job1", "metrics": [1, 2]},
    {"run_id": "job1", "metrics": [{"key": "a", "value": 1, "timestamp": 0, "step": 10 ** 30}]},
    {"run_id": "job1", "params": "abc"},
    {"run_id": "job1", "tags": {"a": "b"}},
], ids=["string-metrics", "number-metrics", "huge-step", "string-params", "dict-tags"])
def test_malformed_log_batch_is_a_400(call, body):
    status, answer = call("POST", "runs/log-batch", body)
    assert status == 400, answer


@pytest.mark.parametrize("ws", ["a%00b", "%2e%2e", "..", "a" * 3000, "a%2Fb", "a b", "-a"],
                         ids=["nul", "encoded-dots", "dots", "3000-chars", "encoded-slash", "space", "leading-dash"])
def test_a_bad_workspace_name_is_a_400(call, ws):
    path = f"/subscriptions/0/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/{ws}" \
           f"{PREFIX}runs/get"
    status, answer = call("GET", path, query="run_id=job1")
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE" and "workspace name" in answer["message"]


def test_a_good_request_still_works(call):
    assert call("POST", "runs/log-metric", METRIC) == (200, {})
    status, answer = call("GET", "runs/get", query="run_id=job1")
    assert status == 200 and answer["run"]["data"]["metrics"][0]["value"] == 0.5
