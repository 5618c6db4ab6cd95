"""azure-ai-ml, unchanged, against a running `azml server`; our client reads back what it created.

azure-ai-ml runs in its own cached environment (benchmarks/bench_yaml.py makes it; it is never a dependency);
the test skips, saying why, when that environment cannot be made.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azureml_v2 import MLClient
from azureml_v2.local.api import server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "support" / "ai_ml_driver.py"
# what works unchanged
WORKS = ("workspaces.get", "datastores.list", "datastores.get_default", "compute.list",
         "environments.create_or_update", "environments.get", "environments.list", "data.create_or_update",
         "data.get", "data.list", "models.create_or_update", "models.get", "models.list",
         "components.create_or_update", "components.get", "components.list", "jobs.create_or_update", "jobs.get",
         "jobs.list", "jobs.begin_cancel")


@pytest.fixture(scope="module")
def ai_ml_python() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_yaml import reference_python
    finally:
        sys.path.pop(0)
    python, note = reference_python()
    if python is None:
        pytest.skip(f"azure-ai-ml could not be installed in its own environment: {note}")
    return python


def test_azure_ai_ml_works_against_the_local_server(ai_ml_python, tmp_path):
    home = tmp_path / "home"
    state, _ = server.start(home, tls=True)
    try:
        token = server.ensure_token(home)[0]
        assert state["endpoint"].startswith("https://")
        # azure-core sends a bearer token over https only: the client trusts the server's own certificate
        env = {**os.environ, "REQUESTS_CA_BUNDLE": state["cafile"]}
        done = subprocess.run([ai_ml_python, str(DRIVER), state["endpoint"], token, str(tmp_path)],
                              capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        results = json.loads(done.stdout.splitlines()[-1])
        failed = {op: results.get(op) for op in WORKS if results.get(op) != "ok"}
        assert not failed, failed
        # a local file needs a blob upload over https: azure-ai-ml has no other way to send it
        assert "blob.core.windows.net" in results["data.create_or_update (local file)"]

        with MLClient(token, endpoint=state["endpoint"], retry_total=0, connection_verify=state["cafile"]) as ours:
            assert ours.environments.get("ai-env", version="1").image == "python:3.11-slim"
            assert ours.data.get("ai-data", version="1").path == "https://example.com/iris.csv"
            assert ours.models.get("ai-model", version="1").path == "https://example.com/model.pkl"
            assert ours.components.get("ai_comp", version="1").command == "echo hi"
            job = ours.jobs.get(results["job"])
            assert job.experiment_name == "ai" and job.status in ("CancelRequested", "Canceled")
    finally:
        server.stop(home)
