"""MLflow's own client at the workspace's tracking URI (as on Azure ML: mlflow.set_tracking_uri(ws.mlflow_tracking_uri))
lists the experiments and runs of a served workspace and reads every job's metrics, not only through a job's port."""
from __future__ import annotations

import io

import pytest

from azureml_v2 import MLClient
from azureml_v2.entities.assets import Environment
from azureml_v2.entities.job import CommandJob
from azureml_v2.local.api import server

pytestmark = pytest.mark.integration
mlflow = pytest.importorskip("mlflow", reason="mlflow-skinny is a test dependency")


def test_mlflow_at_the_workspace_tracking_uri_reads_every_jobs_metrics(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("import sys, mlflow\nmlflow.log_metric('rmse', float(sys.argv[1]))\n")
    home = tmp_path / "home"
    state, _ = server.start(home)
    try:
        token = server.ensure_token(home)[0]
        with MLClient(token, endpoint=state["endpoint"], retry_total=0) as ml_client:
            for name, rmse in (("first", 0.5), ("second", 0.25)):
                ml_client.jobs.create_or_update(CommandJob(
                    name=name, command=f"python train.py {rmse}", code=str(src), experiment_name="iris",
                    environment=Environment(image="python:3.11"), compute="local"))
            for name in ("first", "second"):
                assert ml_client.jobs.stream(name, out=io.StringIO()).status == "Completed"
            import requests  # a dependency of mlflow-skinny
            workspace = requests.get(state["endpoint"] + ml_client._scope,
                                     params={"api-version": "2024-04-01"},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        mlflow.set_tracking_uri(workspace["properties"]["mlFlowTrackingUri"])
        client = mlflow.tracking.MlflowClient()
        experiment = client.get_experiment_by_name("iris")
        runs = {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}
        assert set(runs) == {"first", "second"}
        assert {name: run.data.metrics["rmse"] for name, run in runs.items()} == {"first": 0.5, "second": 0.25}
        assert [m.value for m in client.get_metric_history("second", "rmse")] == [0.25]
    finally:
        server.stop(home)
