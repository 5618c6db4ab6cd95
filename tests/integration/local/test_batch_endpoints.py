"""Batch endpoints on the local workspace: an invocation is a pipeline job visible with the other jobs, whose step
`batchscoring` (the parallel engine) writes predictions.csv (append_row) or a summary to its output `score`; a
pipeline component deployment runs as a pipeline job."""
from __future__ import annotations

import textwrap
import time

import pytest

from azureml_v2 import MLClient, load_batch_deployment, load_batch_endpoint, load_component
from azureml_v2.entities import BatchEndpointDefaults, Input

pytestmark = pytest.mark.integration

SCORE = """
import os
def init():
    global offset
    offset = len(os.listdir(os.environ["AZUREML_MODEL_DIR"]))  # the model's folder, as Azure ML lays it out
def run(mini_batch):
    return [f"{os.path.basename(p)} {sum(int(x) for x in open(p).read().split()) + offset}" for p in mini_batch]
"""


def _wait(ml: MLClient, name: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while (job := ml.jobs.get(name)).status not in ("Completed", "Failed", "Canceled"):
        assert time.monotonic() < deadline, f"job {name} is still {job.status}"
        time.sleep(0.2)
    return job


def test_invoke_runs_a_scoring_job_that_writes_predictions(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(SCORE))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("1")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(5):
        (data / f"f{i}.txt").write_text(f"{i} {i * 10}")
    ml = MLClient(home=tmp_path / "home")
    ml.batch_endpoints.begin_create_or_update(load_batch_endpoint({"name": "sums-ep"})).result()
    settings = {"max_concurrency_per_instance": 2, "mini_batch_size": 2, "output_action": "append_row",
                "output_file_name": "predictions.csv"}
    for name, action in (("rows", "append_row"), ("summary", "summary_only")):
        deployment = load_batch_deployment({
            "name": name, "endpoint_name": "sums-ep", "type": "model", "model": {"path": str(tmp_path / "model")},
            "code_configuration": {"code": str(tmp_path / "code"), "scoring_script": "score.py"},
            "environment": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"}, "compute": "local",
            "resources": {"instance_count": 1}, "settings": {**settings, "output_action": action}})
        assert ml.batch_deployments.begin_create_or_update(deployment).result().provisioning_state == "Succeeded"
    endpoint = ml.batch_endpoints.get("sums-ep")
    assert endpoint.scoring_uri.startswith("http://127.0.0.1:") and endpoint.scoring_uri.endswith("/jobs")
    endpoint.defaults = BatchEndpointDefaults(deployment_name="rows")
    ml.batch_endpoints.begin_create_or_update(endpoint).result()

    job = ml.batch_endpoints.invoke("sums-ep", inputs={"data": Input(type="uri_folder", path=str(data))})
    job = _wait(ml, job.name)
    assert job.status == "Completed", ml.jobs.get(job.name)
    assert job.type == "pipeline" and job.tags["azureml.batchrun"] == "true"
    ml.jobs.download(job.name, download_path=tmp_path / "dl", output_name="score")
    predictions = tmp_path / "dl" / "score" / "predictions.csv"
    assert predictions.read_text().split("\n")[:5] == [f"f{i}.txt {i * 11 + 1}" for i in range(5)]
    ml.jobs.download(job.name, download_path=tmp_path / "plain")  # the predictions in the folder, as azure-ai-ml
    assert (tmp_path / "plain" / "predictions.csv").read_bytes() == predictions.read_bytes()
    assert job.name in [j.name for j in ml.jobs.list()]
    assert job.name in [j.name for j in ml.batch_endpoints.list_jobs("sums-ep")]
    assert [step.name for step in ml.jobs.list(parent_job_name=job.name)] == [f"{job.name}_batchscoring"]

    summary = _wait(ml, ml.batch_endpoints.invoke("sums-ep", deployment_name="summary", inputs={
        "data": Input(type="uri_folder", path=str(data))}).name)
    assert summary.status == "Completed"
    assert not list((tmp_path / "home" / "datastores").glob(f"**/*{summary.name}*/score/predictions.csv"))
    assert '"items": 5' in ml.jobs.get(f"{summary.name}_batchscoring").properties["azureml.parallel.summary"]
    ml.batch_endpoints.begin_delete("sums-ep").result()
    with pytest.raises(Exception):
        ml.batch_endpoints.get("sums-ep")


def test_a_pipeline_component_deployment_runs_as_a_pipeline_job(tmp_path, corpus_root):
    hello = corpus_root / "cli/endpoints/batch/deploy-pipelines/hello-batch"
    ml = MLClient(home=tmp_path / "home")
    ml.components.create_or_update(load_component(hello / "hello-component/hello.yml"))
    ml.batch_endpoints.begin_create_or_update(load_batch_endpoint(hello / "endpoint.yml", params_override=[
        {"name": "hello-pipeline-batch"}])).result()
    deployment = ml.batch_deployments.begin_create_or_update(load_batch_deployment(hello / "deployment.yml")).result()
    assert deployment.provisioning_state == "Succeeded"
    job = _wait(ml, ml.batch_endpoints.invoke("hello-pipeline-batch", deployment_name="hello-batch-dpl",
                                              inputs={}).name, timeout=300)
    assert job.status == "Completed" and job.type == "pipeline"
    step = tmp_path / "home" / "jobs" / "local" / f"{job.name}_main_main_job" / "user_logs" / "std_log.txt"
    assert "hello world!" in step.read_text()
    ml.batch_endpoints.begin_delete("hello-pipeline-batch").result()


def test_a_schedule_invokes_the_batch_endpoint_with_its_trigger_time(tmp_path):
    from support.local import WS, Client

    from azureml_v2.local import make_app

    home = tmp_path / "home"
    ml = MLClient(home=home)
    ml.components.create_or_update(load_component({
        "name": "stamp", "version": "1", "type": "pipeline", "inputs": {"create_time": {"type": "string"}},
        "jobs": {"say": {"type": "command", "inputs": {"t": "${{parent.inputs.create_time}}"}, "component": {
            "type": "command", "command": "echo scored at ${{inputs.t}}", "environment": {"image": "python:3.11"},
            "inputs": {"t": {"type": "string"}}}}}}))
    ml.batch_endpoints.begin_create_or_update(load_batch_endpoint({"name": "stamped"})).result()
    ml.batch_deployments.begin_create_or_update(load_batch_deployment({
        "name": "stamp-dpl", "endpoint_name": "stamped", "type": "pipeline", "component": "azureml:stamp:1"})).result()
    endpoint = ml.batch_endpoints.get("stamped")
    endpoint.defaults = BatchEndpointDefaults(deployment_name="stamp-dpl")
    ml.batch_endpoints.begin_create_or_update(endpoint).result()
    rest = make_app(home, run_jobs=False)
    try:  # the spec's InvokeBatchEndpoint action (the YAML has no form for it)
        assert Client(rest).put("/schedules/nightly", {"properties": {
            "trigger": {"triggerType": "Cron", "expression": "0 2 * * *"},
            "action": {"actionType": "InvokeBatchEndpoint", "endpointInvocationDefinition": {
                "endpoint": f"azureml:{WS}/batchEndpoints/stamped",
                "inputs": {"create_time": "${{creation_context.trigger_time}}"}}}}}).status == 201
    finally:
        rest.close()
    fired = ml.schedules.trigger("nightly", schedule_time="2026-01-02T02:00:00+00:00")
    job = _wait(ml, fired.job_name, timeout=300)
    assert job.status == "Completed" and job.type == "pipeline"
    assert job.name in [j.name for j in ml.batch_endpoints.list_jobs("stamped")]
    step = next((home / "jobs" / "local").glob(f"{job.name}_*say*/user_logs/std_log.txt"))
    assert "scored at 2026-01-02T02:00:00+00:00" in step.read_text()
    assert [f.status for f in ml.schedules.firings("nightly")] == ["Fired"]
    ml.batch_endpoints.begin_delete("stamped").result()
