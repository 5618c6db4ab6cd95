"""azure-ai-ml, unchanged, against a running `azml server`; our client reads back what it created.

azure-ai-ml runs in its own cached environment (benchmarks/bench_yaml.py makes it; it is never a dependency);
the test skips, saying why, when that environment cannot be made.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from azureml_v2 import MLClient, command, load_batch_deployment, load_batch_endpoint, load_job
from azureml_v2.entities import Environment
from azureml_v2.sweep import Choice
from azureml_v2.local import job_folder
from azureml_v2.local.api import server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "support" / "ai_ml_driver.py"
# what works unchanged
WORKS = ("workspaces.get", "datastores.list", "datastores.get_default", "compute.list",
         "environments.create_or_update", "environments.get", "environments.list", "data.create_or_update",
         "data.get", "data.list", "models.create_or_update", "models.get", "models.list",
         "components.create_or_update", "components.get", "components.list", "jobs.create_or_update", "jobs.get",
         "jobs.list", "jobs.begin_cancel", "data.create_or_update (local file)",
         "models.create_or_update (local folder)", "components.create_or_update (local code)",
         "jobs.create_or_update (local code)", "jobs.stream", "jobs.stream (local code)",
         "jobs.create_or_update (named output)", "jobs.download", "jobs.download (output_name)",
         "jobs.download (output_name, uri_file)",
         "jobs.download (all)", "jobs.download (sweep)", "jobs.download (pipeline)",
         "jobs.download (pipeline, output_name)", "jobs.download (pipeline, all)",
         "compute.begin_create_or_update (cluster)", "jobs.create_or_update (pipeline)",
         "jobs.get (pipeline, completed)", "jobs.download (pipeline, its own)", "batch_endpoints.invoke",
         "jobs.download (batch)")
# a sweep trial: its loss is its argument; it leaves the argument in ./outputs
TRIAL = """import os, sys
import mlflow
mlflow.log_metric("loss", float(sys.argv[1]))
os.makedirs("outputs", exist_ok=True)
open("outputs/loss.txt", "w").write(sys.argv[1])
"""
# a pipeline whose output is its one step's
PIPELINE = """type: pipeline
experiment_name: dl
settings: {default_compute: azureml:local}
outputs:
  result: {type: uri_folder}
jobs:
  make:
    type: command
    code: ./trial
    command: python -c "import os, sys; open(os.path.join(sys.argv[1], 'data.txt'), 'w').write('made')" ${{outputs.out}}
    environment: azureml:dl-env:1
    outputs:
      out: ${{parent.outputs.result}}
"""
# a batch deployment's scoring script: a line per file, its name and the sum of its numbers
SCORE = """import os
def init():
    pass
def run(mini_batch):
    return [f"{os.path.basename(p)} {sum(int(x) for x in open(p).read().split())}" for p in mini_batch]
"""


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
    token = server.ensure_token(home)[0]
    try:
        assert state["endpoint"].startswith("https://")
        # azure-core sends a bearer token over https only: the client trusts the server's own certificate
        env = {**os.environ, "REQUESTS_CA_BUNDLE": state["cafile"]}
        sweep, pipeline = _submitted(state, token, tmp_path)  # azure-ai-ml downloads them once they have ended
        done = subprocess.run([ai_ml_python, str(DRIVER), state["endpoint"], token, str(tmp_path), sweep, pipeline],
                              capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        results = json.loads(done.stdout.splitlines()[-1])
        assert "hello from uploaded code" in done.stdout  # streamed by azure-ai-ml from the run history
        failed = {op: results.get(op) for op in WORKS if results.get(op) != "ok"}
        assert not failed, failed

        with MLClient(token, endpoint=state["endpoint"], retry_total=0, connection_verify=state["cafile"]) as ours:
            assert ours.environments.get("ai-env", version="1").image == "python:3.11-slim"
            assert ours.data.get("ai-data", version="1").path == "https://example.com/iris.csv"
            assert ours.models.get("ai-model", version="1").path == "https://example.com/model.pkl"
            assert ours.components.get("ai_comp", version="1").command == "echo hi"
            job = ours.jobs.get(results["job"])
            assert job.experiment_name == "ai" and job.status in ("CancelRequested", "Canceled")
            # what azure-ai-ml uploaded landed in the workspace's datastore, and runs
            uploaded = ours.data.get("ai-local", version="1").path
            assert uploaded.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
            folder = home / "datastores" / "workspaceblobstore" / uploaded.split("/paths/", 1)[1]
            assert folder.read_text() == "a,b\n1,2\n"
            model = ours.models.get("ai-local-model", version="1").path
            weights = home / "datastores" / "workspaceblobstore" / model.split("/paths/", 1)[1] / "weights.bin"
            assert weights.read_bytes() == bytes(range(256)) * 4096
            assert ours.components.get("ai_code", version="1").code.startswith("azureml:")
            assert ours.jobs.get(results["coded_job"]).status == "Completed"
            log = job_folder(home, "local", results["coded_job"]) / "user_logs" / "std_log.txt"
            assert "hello from uploaded code" in log.read_text()

            # azure-ai-ml's jobs.download lays the files out as for a job of the service, byte for byte ours
            trained = results["trained_job"]
            ours.jobs.download(trained, download_path=tmp_path / "ours", all=True)  # served too, logs included
            ours.jobs.download(sweep, download_path=tmp_path / "ours-sweep")
            ours.jobs.download(pipeline, download_path=tmp_path / "ours-pipeline", output_name="result")
            default, named, file, every, swept = (_files(tmp_path / f"dl-{kind}")
                                                  for kind in ("default", "named", "file", "all", "sweep"))
            ours_all, ours_sweep = _files(tmp_path / "ours"), _files(tmp_path / "ours-sweep")
            assert default["artifacts/outputs/metrics.json"] == b'{"acc": 0.9}'
            assert b"trained" in default["artifacts/user_logs/std_log.txt"]
            assert "artifacts/system_logs/runner.log" in default
            # every artifact ours gives (outputs/, user_logs/), azure-ai-ml gets the same
            ours_artifacts = {k: v for k, v in ours_all.items() if k.startswith("artifacts/")}
            assert ours_artifacts and {k: default[k] for k in ours_artifacts} == ours_artifacts
            assert "artifacts/user_logs/std_log.txt" in ours_artifacts
            assert named == {"named-outputs/model/sub/model.bin": bytes(range(256)) * 64}
            assert named["named-outputs/model/sub/model.bin"] == ours_all["model/sub/model.bin"]
            assert file == {"named-outputs/score/score": b"id,score\n1,0.9\n"}
            assert file["named-outputs/score/score"] == ours_all["score/score"]
            assert every == {**default, **named, **file}
            # the named outputs (given no path) are kept where Azure ML keeps them, not among the artifacts: each
            # comes once, in named-outputs/
            assert [k for k in every if k.endswith(("model.bin", "/score"))] == [
                "named-outputs/model/sub/model.bin", "named-outputs/score/score"]
            # a sweep: the best trial's files (and the sweep's own logs, in hd-artifacts/)
            assert swept["artifacts/outputs/loss.txt"] == b"0.2" == ours_sweep["artifacts/outputs/loss.txt"]
            assert {k: swept[k] for k in ours_sweep} == ours_sweep
            # a pipeline: its own logs, and its output (its step's) by the pipeline's name for it
            piped, step_output = (_files(tmp_path / f"dl-pipeline-{kind}") for kind in ("all", "output_name"))
            assert step_output == {"named-outputs/result/data.txt": b"made"}
            assert _files(tmp_path / "ours-pipeline") == {"result/data.txt": b"made"}
            assert piped == {**_files(tmp_path / "dl-pipeline-default"), **step_output}
            assert "artifacts/system_logs/runner.log" in piped
            # azure-ai-ml's own pipeline ran here, its step's output read back by azure-ai-ml and by ours
            assert _files(tmp_path / "dl-ai-pipeline") == {"named-outputs/result/data.txt": b"made\n"}
            assert ours.jobs.get(results["ai_pipeline"]).compute == "ai-cluster"
            # a batch job azure-ai-ml invoked: its scoring step's predictions, where azure-ai-ml puts them
            predictions = _files(tmp_path / "dl-batch")
            assert predictions == {"predictions.csv": b"n0.txt 0\nn1.txt 11\nn2.txt 22\n"}
            ours.jobs.download(results["batch_job"], download_path=tmp_path / "ours-batch", output_name="score")
            assert _files(tmp_path / "ours-batch") == {"score/predictions.csv": predictions["predictions.csv"]}
            ours.jobs.download(results["batch_job"], download_path=tmp_path / "ours-batch-default")
            assert _files(tmp_path / "ours-batch-default") == predictions  # laid out as azure-ai-ml does
    finally:
        with MLClient(token, endpoint=state["endpoint"], retry_total=0, connection_verify=state["cafile"]) as ours, \
                contextlib.suppress(ResourceNotFoundError):
            ours.batch_endpoints.begin_delete("dl-batch").result()  # its host process ends with it
        server.stop(home)


def _submitted(state: dict, token: str, tmp_path: Path) -> tuple[str, str]:
    """A sweep of two trials and a pipeline submitted with our client (they run while azure-ai-ml works) -> their
    names; and the batch endpoint `dl-batch` with its model deployment `sums`, for azure-ai-ml to invoke."""
    (tmp_path / "trial").mkdir()
    (tmp_path / "trial" / "t.py").write_text(TRIAL)
    (tmp_path / "scorer").mkdir()
    (tmp_path / "scorer" / "score.py").write_text(SCORE)
    (tmp_path / "scorer-model").mkdir()
    (tmp_path / "scorer-model" / "weights.txt").write_text("1")
    with MLClient(token, endpoint=state["endpoint"], retry_total=0, connection_verify=state["cafile"]) as ours:
        ours.environments.create_or_update(Environment(name="dl-env", version="1", image="python:3.11-slim"))
        ours.batch_endpoints.begin_create_or_update(load_batch_endpoint({"name": "dl-batch"})).result()
        ours.batch_deployments.begin_create_or_update(load_batch_deployment({
            "name": "sums", "endpoint_name": "dl-batch", "type": "model",
            "model": {"path": str(tmp_path / "scorer-model")}, "compute": "local",
            "code_configuration": {"code": str(tmp_path / "scorer"), "scoring_script": "score.py"},
            "environment": "azureml:dl-env:1", "settings": {"output_action": "append_row"}})).result()
        trial = command(command="python t.py ${{inputs.loss}}", code=str(tmp_path / "trial"),
                        environment="azureml:dl-env:1", compute="local", inputs={"loss": 0.5})
        job = trial(loss=Choice([0.5, 0.2])).sweep(primary_metric="loss", goal="minimize",
                                                   sampling_algorithm="grid", max_total_trials=2)
        (tmp_path / "pipeline.yml").write_text(PIPELINE)
        pipeline = load_job(tmp_path / "pipeline.yml")
        return ours.jobs.create_or_update(job).name, ours.jobs.create_or_update(pipeline).name


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
