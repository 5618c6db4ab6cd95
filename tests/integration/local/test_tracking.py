"""MLflow tracking on the local workspace: real MLflow clients (a job's script in a subprocess, MlflowClient here)
against serve_for_job."""
from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from unit.local.test_tracking import JOB, artifact_dir  # noqa: F401 (artifact_dir: a fixture)

from azureml_v2.local.api import mlflow as tracking_api
from azureml_v2.local.core import metrics as tracking
from azureml_v2.local.storage import tracking as tracking_db

pytestmark = pytest.mark.integration

mlflow = pytest.importorskip("mlflow", reason="mlflow-skinny is a test dependency")

# no network calls from MLflow's telemetry during tests
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


@pytest.fixture
def served(home, artifact_dir):
    with tracking_api.serve_for_job(home, "local", JOB, "exp-a", artifact_dir) as env:
        yield env


@pytest.fixture
def client(served, monkeypatch):
    """MLflow's own client at the job's tracking URI, with the job's token."""
    for key, value in {**QUIET, "MLFLOW_TRACKING_TOKEN": served["MLFLOW_TRACKING_TOKEN"]}.items():
        monkeypatch.setenv(key, value)
    return mlflow.tracking.MlflowClient(tracking_uri=served["MLFLOW_TRACKING_URI"])


def run_script(env: dict, code: str, cwd) -> subprocess.CompletedProcess:
    script = cwd / "train.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, env={**os.environ, **QUIET, **env},
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_job_script_logs_into_the_jobs_run(served, home, artifact_dir, tmp_path):
    assert served["MLFLOW_RUN_ID"] == JOB and served["MLFLOW_EXPERIMENT_NAME"] == "exp-a"
    done = run_script(served, """
        import mlflow
        with mlflow.start_run() as run:
            print("RUN", run.info.run_id, run.info.experiment_id)
            mlflow.log_param("lr", 0.1)
            for step in range(20):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metric("loss", 0.01, step=5)   # a second value for a step is kept too
            mlflow.log_metrics({"acc": 0.75, "f1": float("nan")}, step=19)
            mlflow.set_tag("team", "blue")
            with open("notes.txt", "w") as fh:
                fh.write("hello")
            mlflow.log_artifact("notes.txt")
            mlflow.log_artifact("notes.txt", artifact_path="docs")
    """, tmp_path)
    assert f"RUN {JOB} {served['MLFLOW_EXPERIMENT_ID']}" in done.stdout

    points = tracking.metrics(home, "local", JOB)
    assert [(s, v) for s, v, _ in points["loss"]] == [(s, 1.0 / (s + 1)) for s in range(20)] + [(5, 0.01)]
    stamps = [t for _, _, t in points["loss"]]
    assert stamps == sorted(stamps) and stamps[0] > 1.6e12
    assert [(s, v) for s, v, _ in points["acc"]] == [(19, 0.75)]
    assert math.isnan(points["f1"][0][1])

    run = tracking.tracking_store(home).run("local", JOB)
    assert run["info"]["status"] == "FINISHED"  # the script's end_run
    assert {"key": "lr", "value": "0.1"} in run["data"]["params"]
    assert {"key": "team", "value": "blue"} in run["data"]["tags"]
    assert (artifact_dir / "notes.txt").read_text() == "hello"
    assert (artifact_dir / "docs" / "notes.txt").exists()

    assert tracking.finish_run(home, "local", JOB, "Failed")  # the job's status names its run's
    info = tracking.tracking_store(home).run("local", JOB)["info"]
    assert info["status"] == "FAILED" and info["end_time"] >= info["start_time"]


def test_mlflow_client_reads_history_and_searches(client, served, home):
    run = client.get_run(JOB)
    assert run.info.status == "RUNNING" and run.info.experiment_id == served["MLFLOW_EXPERIMENT_ID"]
    assert client.get_experiment_by_name("exp-a").experiment_id == served["MLFLOW_EXPERIMENT_ID"]
    for step, value in enumerate([0.9, 0.7, 0.4]):
        client.log_metric(JOB, "rmse", value, step=step)
    client.log_batch(JOB, metrics=[mlflow.entities.Metric("rmse", 0.3, 0, 3)],
                     params=[mlflow.entities.Param("depth", "4")])
    history = client.get_metric_history(JOB, "rmse")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.7), (2, 0.4), (3, 0.3)]
    assert client.get_run(JOB).data.metrics == {"rmse": 0.3}  # the latest step

    other = client.create_run(served["MLFLOW_EXPERIMENT_ID"], run_name="other")
    client.log_param(other.info.run_id, "depth", "8")
    found = client.search_runs([served["MLFLOW_EXPERIMENT_ID"]], "params.depth = '4'")
    assert [r.info.run_id for r in found] == [JOB]
    found = client.search_runs([served["MLFLOW_EXPERIMENT_ID"]], "metrics.rmse < 0.5 and attributes.status = 'RUNNING'")
    assert [r.info.run_id for r in found] == [JOB]
    assert len(client.search_runs([served["MLFLOW_EXPERIMENT_ID"]])) == 2
    client.set_terminated(other.info.run_id, "KILLED")
    assert client.get_run(other.info.run_id).info.status == "KILLED"
    client.set_tag(JOB, "stage", "x")
    client.delete_tag(JOB, "stage")
    assert "stage" not in client.get_run(JOB).data.tags


def test_params_are_immutable_as_in_mlflow(client):
    client.log_param(JOB, "lr", "0.1")
    client.log_param(JOB, "lr", "0.1")  # the same value again is fine
    with pytest.raises(mlflow.exceptions.MlflowException) as caught:
        client.log_param(JOB, "lr", "0.2")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in caught.value.message and "'0.1'" in caught.value.message
    assert client.get_run(JOB).data.params == {"lr": "0.1"}


def test_token_is_required(served):
    url = served["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/get"
    assert requests.get(url, params={"run_id": JOB}, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.get(url, params={"run_id": JOB}, headers=wrong, timeout=10).status_code == 401
    good = {"Authorization": f"Bearer {served['MLFLOW_TRACKING_TOKEN']}"}
    response = requests.get(url, params={"run_id": JOB}, headers=good, timeout=10)
    assert response.status_code == 200 and response.json()["run"]["info"]["run_id"] == JOB


def test_eight_concurrent_writers(client, home):
    def write(worker: int):
        for step in range(40):
            client.log_metric(JOB, f"w{worker}", float(step), step=step)
        client.log_param(JOB, f"p{worker}", str(worker))

    with ThreadPoolExecutor(8) as pool:
        for done in [pool.submit(write, n) for n in range(8)]:
            done.result()
    points = tracking.metrics(home, "local", JOB)
    assert {key: [s for s, _, _ in values] for key, values in points.items()} == \
        {f"w{n}": list(range(40)) for n in range(8)}
    assert len(client.get_run(JOB).data.params) == 8


@pytest.mark.skipif(not (importlib.util.find_spec("sklearn") and importlib.util.find_spec("pandas")),
                    reason="mlflow.autolog() for scikit-learn needs scikit-learn and pandas in the test venv")
def test_autolog_and_log_model(served, home, artifact_dir, tmp_path):
    run_script(served, f"""
        import mlflow
        from sklearn.datasets import load_diabetes
        from sklearn.linear_model import Ridge
        mlflow.autolog()
        X, y = load_diabetes(return_X_y=True)
        with mlflow.start_run():
            model = Ridge(alpha=0.5).fit(X, y)
            mlflow.sklearn.log_model(model, name="ridge", serialization_format="cloudpickle",
                                     pip_requirements=["scikit-learn"])
        loaded = mlflow.sklearn.load_model("runs:/{JOB}/ridge")
        assert loaded.alpha == 0.5
    """, tmp_path)
    run = tracking.tracking_store(home).run("local", JOB)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["alpha"] == "0.5"
    assert "training_r2_score" in tracking.metrics(home, "local", JOB)
    assert run["inputs"]["dataset_inputs"]  # autolog's training data set
    models = {m["model_id"] for m in run["outputs"]["model_outputs"]}
    names = {tracking.tracking_store(home).logged_model("local", m)["info"]["name"] for m in models}
    assert "ridge" in names
    assert len(list(artifact_dir.glob("models/m-*/MLmodel"))) == len(models)


def test_rerun_keeps_the_run_and_server_stops(home, artifact_dir):
    with tracking_api.serve_for_job(home, "local", JOB, None, artifact_dir) as env:
        url = env["MLFLOW_TRACKING_URI"]
        headers = {"Authorization": f"Bearer {env['MLFLOW_TRACKING_TOKEN']}"}
        body = {"run_id": JOB, "key": "m", "value": 1.5, "timestamp": 1, "step": 0}
        assert requests.post(url + "/api/2.0/mlflow/runs/log-metric", json=body, headers=headers,
                             timeout=10).status_code == 200
    assert env["MLFLOW_EXPERIMENT_NAME"] == "Default"
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/api/2.0/mlflow/runs/get", params={"run_id": JOB}, headers=headers, timeout=5)
    with tracking_api.serve_for_job(home, "local", JOB, None, artifact_dir) as again:
        assert again["MLFLOW_TRACKING_TOKEN"] != env["MLFLOW_TRACKING_TOKEN"]
    assert tracking.metrics(home, "local", JOB) == {"m": [(0, 1.5, 1)]}
