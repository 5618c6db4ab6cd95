"""ml_client.jobs against the local workspace, in-process: what create_or_update uploads and resolves before the
PUT, names, get/list/archive/restore/cancel, validate, and stream/download/get_metrics on finished jobs."""
from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from support.local import local_client

from azureml_v2._contract import BEST_CHILD
from azureml_v2 import JobStateError, ValidationError
from azureml_v2._yaml.api import load_job
from azureml_v2.entities.assets import Data, Environment
from azureml_v2.entities.inputs import Input, Output
from azureml_v2.entities.job import CommandJob
from azureml_v2.entities.model import Model
from azureml_v2.operations.jobs import JobFailedError


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WS = "local"


@pytest.fixture
def ml_client(tmp_path, request):
    """The local workspace without a runner (jobs stay NotStarted unless a test moves them); every PUT body
    it was sent must validate against the spec on teardown."""
    try:
        validate = request.getfixturevalue("rest_validate")
    except pytest.skip.Exception:
        validate = None
    client = local_client(tmp_path / "home", run_jobs=False)
    yield client
    client.close()
    client.sent.close()
    for path, body in client.sent.puts() if validate else ():
        definition = "JobBaseResource" if "/jobs/" in path else client.sent.definition(path)
        assert validate(body, definition) == [], f"PUT {path}: {body}"


def _job_puts(ml_client) -> list[dict]:
    return [body for path, body in ml_client.sent.puts() if "/jobs/" in path]


def _store(ml_client):
    return ml_client.sent.app.store


def _datastore_file(ml_client, uri: str) -> Path:
    store, _, path = uri.removeprefix("azureml://datastores/").partition("/paths/")
    return Path(ml_client.datastores.get(store).path) / path


def _job(tmp_path, **kwargs) -> CommandJob:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text("print('hi')\n")
    fields = {"command": "python main.py", "code": str(src), "environment": Environment(image="python:3.11"),
              "compute": "local"}
    return CommandJob(**{**fields, **kwargs})


def _finish(ml_client, name: str, status: str = "Completed", **kwargs) -> None:
    """Move a job through the runner's statuses, as the runner does, to `status`."""
    store = _store(ml_client)
    for step in ("Queued", "Preparing", "Running", "Finalizing"):
        store.set_job_status(WS, name, step)
    store.set_job_status(WS, name, status, **kwargs)


# -- create_or_update ----------------------------------------------------------------------------------
def test_create_uploads_local_code_and_data_then_puts_arm_ids(ml_client):
    job = load_job(EXAMPLES / "inputs-outputs" / "job.yml")
    created = ml_client.jobs.create_or_update(job)
    assert created.status == "NotStarted" and created.experiment_name == "inputs-outputs"
    [body] = _job_puts(ml_client)
    props = body["properties"]
    scope = ml_client._scope
    assert re.fullmatch(rf"{re.escape(scope)}/codes/[0-9a-f]{{64}}/versions/1", props["codeId"])
    assert props["environmentId"].startswith(f"{scope}/environments/CliV2AnonymousEnvironment/versions/")
    assert props["computeId"] == f"{scope}/computes/local"
    uri = props["inputs"]["data"]["uri"]
    assert re.fullmatch(r"azureml://datastores/workspaceblobstore/paths/LocalUpload/[0-9a-f]{64}/data", uri)
    uploaded = sorted(p.name for p in _datastore_file(ml_client, uri).iterdir())
    assert uploaded == sorted(p.name for p in (EXAMPLES / "inputs-outputs" / "data").iterdir())
    assert props["inputs"]["min_lines"] == {"jobInputType": "literal", "value": "2"}
    # the uploaded code and environment exist as assets the runner can read
    code_name = props["codeId"].split("/codes/")[1].split("/")[0]
    assert ml_client.code.get(code_name, version="1").path
    assert ml_client.environments.get("CliV2AnonymousEnvironment",
                                      version=props["environmentId"].rsplit("/", 1)[1]).image


def test_a_local_file_input_is_uploaded_under_its_own_name(ml_client, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("a\n1\n")
    ml_client.jobs.create_or_update(_job(tmp_path, inputs={"rows": Input(type="uri_file", path=str(data))}))
    uri = _job_puts(ml_client)[0]["properties"]["inputs"]["rows"]["uri"]
    assert uri.endswith("/rows.csv") and _datastore_file(ml_client, uri).read_text() == "a\n1\n"


def test_a_job_without_name_gets_a_fresh_one_and_the_callers_job_is_untouched(ml_client, tmp_path, monkeypatch):
    job = _job(tmp_path)
    (tmp_path / "my project").mkdir()
    monkeypatch.chdir(tmp_path / "my project")
    first, second = ml_client.jobs.create_or_update(job), ml_client.jobs.create_or_update(job)
    for created in (first, second):
        assert re.fullmatch(r"[a-z]+_[a-z]+_[a-z0-9]{10}", created.name)
        assert (created.display_name, created.experiment_name) == (created.name, "myproject")  # as azure-ai-ml
    assert first.name != second.name
    assert job.name is None and job.code == str(tmp_path / "src") and isinstance(job.environment, Environment)
    # the same snapshot is uploaded once
    assert first.code == second.code


def test_keywords_override_the_jobs_fields(ml_client, tmp_path):
    created = ml_client.jobs.create_or_update(
        _job(tmp_path, name="from-file", tags={"a": "1"}), name="given", description="d", compute="cpu-cluster",
        tags={"stage": "dev"}, experiment_name="exp", display_name="shown")
    assert (created.name, created.description, created.tags, created.experiment_name, created.display_name) == (
        "given", "d", {"stage": "dev"}, "exp", "shown")
    assert created.compute == "cpu-cluster"  # its own workspace's compute by name, as azure-ai-ml shows it


def test_latest_and_versioned_references_become_arm_ids(ml_client, tmp_path):
    csv = tmp_path / "iris.csv"
    csv.write_text("a\n")
    for _ in range(2):
        ml_client.data.create_or_update(Data(name="iris", path=str(csv), type="uri_file"))
    ml_client.environments.create_or_update(Environment(name="py", image="python:3.10"))
    ml_client.environments.create_or_update(Environment(name="py", image="python:3.11"))
    ml_client.models.create_or_update(Model(name="clf", path=str(csv)))
    job = _job(tmp_path, environment="azureml:py@latest", inputs={
        "latest": Input(type="uri_file", path="azureml:iris@latest"),
        "pinned": Input(type="uri_file", path="azureml:iris:1"),
        "model": Input(type="custom_model", path="azureml:clf@latest"),
        "store": Input(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/some/folder")})
    ml_client.jobs.create_or_update(job)
    props = _job_puts(ml_client)[0]["properties"]
    scope = ml_client._scope
    assert props["environmentId"] == f"{scope}/environments/py/versions/2"
    assert props["inputs"]["latest"]["uri"] == f"{scope}/data/iris/versions/2"
    assert props["inputs"]["pinned"]["uri"] == f"{scope}/data/iris/versions/1"
    assert props["inputs"]["model"]["uri"] == f"{scope}/models/clf/versions/1"
    assert props["inputs"]["store"]["uri"] == "azureml://datastores/workspaceblobstore/paths/some/folder"


def test_an_unknown_latest_reference_is_not_found_and_nothing_is_submitted(ml_client, tmp_path):
    job = _job(tmp_path, inputs={"x": Input(type="uri_file", path="azureml:nope@latest")})
    with pytest.raises(ResourceNotFoundError, match="nope"):
        ml_client.jobs.create_or_update(job)
    assert _job_puts(ml_client) == []


def test_a_curated_environment_reference_is_left_for_the_local_runner(ml_client, tmp_path):
    envs = pytest.importorskip("azureml_v2.local.executors.envs")
    reference = "azureml:AzureML-sklearn-1.5@latest"
    if envs.curated(reference) is None:
        pytest.skip(f"{reference} has no local equivalent")
    created = ml_client.jobs.create_or_update(_job(tmp_path, environment=reference))
    assert created.environment == reference


def test_a_sweep_uploads_its_trial_code_and_creates_its_environment(ml_client):
    sweep = load_job(EXAMPLES / "lightgbm" / "sweep.yml")
    created = ml_client.jobs.create_or_update(sweep)
    trial = _job_puts(ml_client)[0]["properties"]["trial"]
    assert "/codes/" in trial["codeId"] and "/environments/CliV2AnonymousEnvironment/" in trial["environmentId"]
    assert type(created).__name__ == "SweepJob" and created.trial.code.endswith("/versions/1")
    ml_client.jobs.begin_cancel(created.name).result()  # no LightGBM trials left running behind the test


def test_a_missing_environment_is_refused_at_submit(ml_client, tmp_path):
    job = _job(tmp_path)
    job.environment = "azureml:no-such-env:1"
    with pytest.raises(ResourceNotFoundError, match="no-such-env"):
        ml_client.jobs.create_or_update(job)
    assert _job_puts(ml_client) == []


# -- validate ------------------------------------------------------------------------------------------
def test_a_placeholder_compute_is_refused_at_submit_naming_where_it_is(ml_client, tmp_path):
    (tmp_path / "pipeline.yml").write_text(
        "type: pipeline\nsettings: {default_compute: azureml:<CLUSTER>}\njobs:\n  step:\n    type: command\n"
        "    command: echo hi\n    environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"
        "    compute: <ATTACHED_SPARK_POOL_NAME>\n")
    job = load_job(tmp_path / "pipeline.yml")
    problems = [str(p) for p in ml_client.jobs.validate(job)]
    assert problems == [
        "<PipelineJob> settings.default_compute: azureml:<CLUSTER> is a placeholder to fill in: the name of a "
        "compute of the workspace (on the local workspace: local), set in the YAML, with `--set`, or on the "
        "loaded job before it is submitted",
        "<PipelineJob> jobs.step.compute: <ATTACHED_SPARK_POOL_NAME> is a placeholder to fill in: the name of a "
        "compute of the workspace (on the local workspace: local), set in the YAML, with `--set`, or on the "
        "loaded job before it is submitted"]
    with pytest.raises(ValidationError):
        ml_client.jobs.create_or_update(job)
    assert _job_puts(ml_client) == []
    job.settings.default_compute, job.jobs["step"].compute = "local", None
    assert ml_client.jobs.validate(job) == []


def test_a_placeholder_compute_inside_a_pipeline_node_is_refused_at_submit(ml_client, tmp_path):
    (tmp_path / "pipeline.yml").write_text(
        "type: pipeline\nsettings: {default_compute: local}\njobs:\n  outer:\n    type: pipeline\n    component:\n"
        "      type: pipeline\n      jobs:\n        inner:\n          type: command\n          command: echo hi\n"
        "          environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest\n"
        "          compute: <ATTACHED_SPARK_POOL_NAME>\n")
    job = load_job(tmp_path / "pipeline.yml")
    problems = [str(p) for p in ml_client.jobs.validate(job)]
    # the inner step would run here, under a compute no workspace can have
    assert [p.split(" is a ")[0] for p in problems] == [
        "<PipelineJob> jobs.outer.component.jobs.inner.compute: <ATTACHED_SPARK_POOL_NAME>"]
    with pytest.raises(ValidationError):
        ml_client.jobs.create_or_update(job)
    assert _job_puts(ml_client) == []


def test_validate_returns_located_problems_without_sending(ml_client, tmp_path):
    job = CommandJob(name="bad name", command="python x.py ${{inputs.missing}}", code=str(tmp_path / "nowhere"),
                     inputs={"data": Input(type="uri_folder", path=str(tmp_path / "no-data"))})
    problems = [str(p) for p in ml_client.jobs.validate(job)]
    assert problems[0].startswith("<CommandJob> name: invalid job name 'bad name'")
    assert any("command: ${{inputs.missing}}: no input named 'missing'" in p for p in problems)
    assert any(p.startswith("<CommandJob> environment: an environment is required") for p in problems)
    assert any(p.startswith("<CommandJob> code:") and "no such file or folder" in p for p in problems)
    assert any(p.startswith("<CommandJob> inputs.data.path:") for p in problems)
    assert ml_client.jobs.validate(_job(tmp_path)) == []
    with pytest.raises(ValidationError) as info:
        ml_client.jobs.create_or_update(job)
    assert len(info.value.problems) == len(problems)
    assert ml_client.sent.requests == []


# -- get, list, archive, restore, cancel -------------------------------------------------------------------
def test_get_list_archive_restore(ml_client, tmp_path):
    for name in ("first", "second"):
        ml_client.jobs.create_or_update(_job(tmp_path, name=name))
    assert ml_client.jobs.get("first").command == "python main.py"
    assert [j.name for j in ml_client.jobs.list()] == ["second", "first"]
    ml_client.jobs.archive("first")
    assert [j.name for j in ml_client.jobs.list()] == ["second"]
    assert [j.name for j in ml_client.jobs.list(list_view_type="ArchivedOnly")] == ["first"]
    ml_client.jobs.restore("first")
    assert [j.name for j in ml_client.jobs.list(list_view_type="All")] == ["second", "first"]
    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.get("nope")
    with pytest.raises(ValidationError, match="list_view_type"):
        ml_client.jobs.list(list_view_type="Everything")


def test_list_by_parent_job(ml_client, tmp_path):
    ml_client.jobs.create_or_update(_job(tmp_path, name="parent"))
    ml_client.jobs.create_or_update(_job(tmp_path, name="child", properties={"azureml.parentJobName": "parent"}))
    assert [j.name for j in ml_client.jobs.list()] == ["parent"]
    assert [j.name for j in ml_client.jobs.list(parent_job_name="parent")] == ["child"]
    assert list(ml_client.jobs.list(parent_job_name="child")) == []


def test_jobs_of_other_types_list_as_plain_jobs(ml_client):
    ml_client.jobs._put({"properties": {"jobType": "AutoML", "displayName": "p",
                                        "taskDetails": {"taskType": "Classification", "targetColumnName": "y",
                                                        "trainingData": {"jobInputType": "mltable",
                                                                         "uri": "azureml:rows:1"}}}}, "jobs", "pipe")
    [job] = list(ml_client.jobs.list())
    assert (type(job).__name__, job.name, job.display_name, job.status) == ("Job", "pipe", "p", "NotStarted")


def test_cancel_a_job_that_has_not_started(ml_client, tmp_path):
    ml_client.jobs.create_or_update(_job(tmp_path, name="waiting"))
    ml_client.jobs.begin_cancel("waiting").result()
    assert ml_client.jobs.get("waiting").status == "Canceled"
    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.begin_cancel("nope")


# -- stream --------------------------------------------------------------------------------------------
def _log(ml_client, name: str) -> Path:
    path = ml_client.home / "jobs" / WS / name / "user_logs" / "std_log.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_stream_prints_the_whole_log_of_a_finished_job(ml_client, tmp_path):
    ml_client.jobs.create_or_update(_job(tmp_path, name="done"))
    _log(ml_client, "done").write_text("line 1\nno newline at the end")
    _finish(ml_client, "done")
    out = io.StringIO()
    assert ml_client.jobs.stream("done", out=out).status == "Completed"
    assert out.getvalue() == "RunId: done\nline 1\nno newline at the end\nStatus: Completed\n"


def test_stream_follows_a_running_job_until_it_ends(ml_client, tmp_path):
    ml_client.jobs.create_or_update(_job(tmp_path, name="live"))
    log = _log(ml_client, "live")
    _store(ml_client).set_job_status(WS, "live", "Running")
    out = io.StringIO()
    streamer = threading.Thread(target=ml_client.jobs.stream, args=("live",), kwargs={"out": out})
    streamer.start()
    with open(log, "a") as fh:
        fh.write("epoch 1\n")
    deadline = time.monotonic() + 30
    while "epoch 1" not in out.getvalue() and time.monotonic() < deadline:  # shown while the job still runs
        time.sleep(0.05)
    assert "epoch 1" in out.getvalue() and streamer.is_alive()
    with open(log, "a") as fh:
        fh.write("epoch 2\n")
    _store(ml_client).set_job_status(WS, "live", "Completed")
    streamer.join(30)
    assert out.getvalue() == "RunId: live\nStatus: Running\nepoch 1\nepoch 2\nStatus: Completed\n"


def test_stream_of_a_failed_job_raises_with_its_error(ml_client, tmp_path):
    ml_client.jobs.create_or_update(_job(tmp_path, name="broken"))
    _log(ml_client, "broken").write_text("Traceback ...\nZeroDivisionError\n")
    _finish(ml_client, "broken", "Failed", exit_code=1, error="exit code 1: ZeroDivisionError")
    out = io.StringIO()
    with pytest.raises(JobFailedError, match="job broken failed: exit code 1: ZeroDivisionError") as info:
        ml_client.jobs.stream("broken", out=out)
    assert info.value.job.status == "Failed"
    assert "ZeroDivisionError\nStatus: Failed\n" in out.getvalue()


# -- download ------------------------------------------------------------------------------------------
def _artifacts(ml_client, name: str) -> Path:
    return Path(ml_client.datastores.get("workspaceartifactstore").path) / "ExperimentRun" / f"dcid.{name}"


def _outputs(ml_client, name: str) -> Path:
    """Where a job's named outputs given no path are kept: the default datastore's azureml/<job>/."""
    return Path(ml_client.datastores.get("workspaceblobstore").path) / "azureml" / name


def test_download_artifacts_and_named_outputs_of_a_finished_job(ml_client, tmp_path):
    job = _job(tmp_path, name="trained", outputs={
        "model": Output(type="uri_folder"),
        "report": Output(type="uri_file", path="azureml://datastores/workspaceblobstore/paths/reports/r.txt")})
    ml_client.jobs.create_or_update(job)
    with pytest.raises(JobStateError, match="trained is NotStarted") as early:
        ml_client.jobs.download("trained", download_path=tmp_path / "early")
    assert early.value.job.name == "trained" and early.value.job.status == "NotStarted"
    _finish(ml_client, "trained")
    root = _artifacts(ml_client, "trained")
    for rel, text in (("outputs/metrics.json", "{}"), ("logs/run.log", "ok")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (_outputs(ml_client, "trained") / "model").mkdir(parents=True)
    (_outputs(ml_client, "trained") / "model" / "weights.bin").write_text("w")
    report = _datastore_file(ml_client, "azureml://datastores/workspaceblobstore/paths/reports/r.txt")
    report.parent.mkdir(parents=True)
    report.write_text("good")

    ml_client.jobs.download("trained", download_path=tmp_path / "default")
    assert (tmp_path / "default" / "artifacts" / "outputs" / "metrics.json").read_text() == "{}"
    assert (tmp_path / "default" / "artifacts" / "logs" / "run.log").read_text() == "ok"
    assert not (tmp_path / "default" / "model").exists()

    ml_client.jobs.download("trained", download_path=tmp_path / "one", output_name="model")
    assert (tmp_path / "one" / "model" / "weights.bin").read_text() == "w"
    assert not (tmp_path / "one" / "artifacts").exists()

    ml_client.jobs.download("trained", download_path=tmp_path / "all", all=True)
    found = sorted(p.relative_to(tmp_path / "all").as_posix() for p in (tmp_path / "all").rglob("*") if p.is_file())
    assert found == ["artifacts/logs/run.log", "artifacts/outputs/metrics.json", "model/weights.bin",
                     "report/r.txt"]

    with pytest.raises(ValidationError, match="no output named 'nope' \\(outputs: model, report\\)"):
        ml_client.jobs.download("trained", output_name="nope")


def test_an_output_path_naming_the_job_downloads_that_jobs_files(ml_client, tmp_path):
    path = "azureml://datastores/workspaceblobstore/paths/runs/${{name}}/${{output_name}}/"
    for name in ("first", "second"):
        ml_client.jobs.create_or_update(_job(tmp_path, name=name, outputs={"model": Output(type="uri_folder",
                                                                                           path=path)}))
        _finish(ml_client, name)
        folder = _datastore_file(ml_client, f"azureml://datastores/workspaceblobstore/paths/runs/{name}/model/")
        folder.mkdir(parents=True)
        (folder / f"{name}.bin").write_text(name)
    ml_client.jobs.download("second", download_path=tmp_path / "dl", output_name="model")
    assert [p.name for p in (tmp_path / "dl" / "model").iterdir()] == ["second.bin"]


def test_download_finds_outputs_given_no_path_where_azure_ml_keeps_them_and_where_older_jobs_kept_them(
        ml_client, tmp_path):
    outputs = {"model": {"jobOutputType": "uri_folder"}, "score": {"jobOutputType": "uri_file"}}
    for name in ("fresh", "v1", "older"):
        ml_client.jobs._put({"properties": {"jobType": "Command", "command": "x", "environmentId": "azureml:e:1",
                                            "outputs": outputs}}, "jobs", name)
        _finish(ml_client, name)
    # the service's place: azureml/<job>/<output>/, a uri_file output the file named as the output in it
    (_outputs(ml_client, "fresh") / "model").mkdir(parents=True)
    (_outputs(ml_client, "fresh") / "model" / "weights.bin").write_text("fresh")
    (_outputs(ml_client, "fresh") / "score" / "score").parent.mkdir()
    (_outputs(ml_client, "fresh") / "score" / "score").write_text("0.9")
    # the place the service used for outputs of older jobs: dataset/<job>/<output>/
    (_outputs(ml_client, "v1").parent.parent / "dataset" / "v1" / "model").mkdir(parents=True)
    (_outputs(ml_client, "v1").parent.parent / "dataset" / "v1" / "model" / "weights.bin").write_text("v1")
    # a home from before outputs moved: under the job's artifacts, a uri_file output a file named as the output
    (_artifacts(ml_client, "older") / "model").mkdir(parents=True)
    (_artifacts(ml_client, "older") / "model" / "weights.bin").write_text("older")
    (_artifacts(ml_client, "older") / "score").write_text("0.1")

    dl = tmp_path / "dl"
    for name in ("fresh", "older"):
        ml_client.jobs.download(name, download_path=dl / name, all=True)
    found = sorted(p.relative_to(dl).as_posix() for p in dl.rglob("*") if p.is_file())
    assert found == ["fresh/model/weights.bin", "fresh/score/score", "older/model/weights.bin", "older/score/score"]
    assert (dl / "fresh" / "model" / "weights.bin").read_text() == "fresh"
    assert (dl / "older" / "score" / "score").read_text() == "0.1"
    ml_client.jobs.download("v1", download_path=dl / "v1", output_name="model")
    assert (dl / "v1" / "model" / "weights.bin").read_text() == "v1"
    with pytest.raises(ValidationError, match="job v1's output 'score' has no files: looked in "
                                              "azureml://datastores/workspaceblobstore/paths/azureml/v1/score/"):
        ml_client.jobs.download("v1", download_path=dl / "v1", output_name="score")


def test_download_of_a_sweep_brings_its_best_trials_files(ml_client, tmp_path):
    sweep = {"properties": {"jobType": "Sweep", "trial": {"command": "python t.py", "environmentId": "azureml:e:1"},
                            "objective": {"goal": "Minimize", "primaryMetric": "loss"},
                            "samplingAlgorithm": {"samplingAlgorithmType": "Random"},
                            "searchSpace": {"x": ["choice", [[1, 2]]]}, "limits": {"jobLimitsType": "Sweep"}}}
    ml_client.jobs._put(sweep, "jobs", "search")
    for trial in ("search_0", "search_1"):
        ml_client.jobs._put({"properties": {"jobType": "Command", "command": "python t.py",
                                            "environmentId": "azureml:e:1"}}, "jobs", trial)
        _finish(ml_client, trial)
        (_artifacts(ml_client, trial) / "outputs").mkdir(parents=True)
        (_artifacts(ml_client, trial) / "outputs" / "model.txt").write_text(trial)
    _finish(ml_client, "search")
    _store(ml_client).set_results(WS, "search", {BEST_CHILD: "search_1"})
    written = ml_client.jobs.download("search", download_path=tmp_path / "dl")
    assert tmp_path / "dl" / "artifacts" / "outputs" in written
    assert (tmp_path / "dl" / "artifacts" / "outputs" / "model.txt").read_text() == "search_1"


def test_a_served_client_downloads_the_user_logs_as_the_run_history_lists_them(ml_client, tmp_path, client_api):
    """Our client pointed at a served workspace (here the same app, through an in-process transport) reads no
    job folder: it fetches the logs the run history lists, so its download equals the one made in-process."""
    from azureml_v2 import MLClient, aio
    from azureml_v2._http.inprocess import AsyncWSGITransport, WSGITransport
    from support.aio import Client

    ml_client.jobs.create_or_update(_job(tmp_path, name="logged"))
    _finish(ml_client, "logged")
    _log(ml_client, "logged").write_text("hello\n")
    (_log(ml_client, "logged").parent / "nested" / "rank_1.txt").parent.mkdir()
    (_log(ml_client, "logged").parent / "nested" / "rank_1.txt").write_bytes(b"\xff binary\n")
    (ml_client.home / "jobs" / WS / "logged" / "system_logs").mkdir()
    (ml_client.home / "jobs" / WS / "logged" / "system_logs" / "runner.log").write_text("not a user log")
    (_artifacts(ml_client, "logged") / "outputs").mkdir(parents=True)
    (_artifacts(ml_client, "logged") / "outputs" / "a.txt").write_text("a")
    app, endpoint = ml_client.sent.app, "http://127.0.0.1:9"
    served = MLClient(endpoint=endpoint, credential="tok", transport=WSGITransport(app)) if client_api == "sync" \
        else Client(aio.MLClient(endpoint=endpoint, credential="tok", transport=AsyncWSGITransport(app)))
    with served:
        served.jobs.download("logged", download_path=tmp_path / "served")
    ml_client.jobs.download("logged", download_path=tmp_path / "here")
    files = {kind: {p.relative_to(tmp_path / kind).as_posix(): p.read_bytes()
                    for p in (tmp_path / kind).rglob("*") if p.is_file()} for kind in ("served", "here")}
    assert files["served"] == files["here"] == {"artifacts/outputs/a.txt": b"a",
                                                "artifacts/user_logs/std_log.txt": b"hello\n",
                                                "artifacts/user_logs/nested/rank_1.txt": b"\xff binary\n"}


def test_download_refuses_to_write_outside_the_download_path(ml_client, tmp_path):
    # a service answers a job with such an output (the local one refuses to record it)
    _store(ml_client).ensure_workspace(WS, "tester")
    _store(ml_client).put_job(WS, "evil", {"jobType": "Command", "command": "x", "environmentId": "azureml:e:1",
                                           "outputs": {"../escape": {"jobOutputType": "uri_folder"}}}, "tester",
                              mutable=frozenset())
    _finish(ml_client, "evil")
    escape = _outputs(ml_client, "evil") / "../escape"
    escape.mkdir(parents=True)
    (escape / "f").write_text("x")
    with pytest.raises(ValidationError, match="refusing to download output '../escape'"):
        ml_client.jobs.download("evil", download_path=tmp_path / "dl", all=True)
    assert not (tmp_path / "escape").exists()


# -- metrics -------------------------------------------------------------------------------------------
def test_get_metrics_of_a_job_without_runs_is_not_found(ml_client):
    with pytest.raises(ResourceNotFoundError) as info:
        ml_client.jobs.get_metrics("never-ran")
    assert str(info.value) == "Run with id=never-ran not found" and info.value.status_code == 404


class _Credential:
    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        return AccessToken("token", int(time.time()) + 3600)


def test_get_metrics_and_child_lists_need_the_local_workspace():
    from azureml_v2 import MLClient
    cloud = MLClient(_Credential(), "sub", "rg", "ws")
    with pytest.raises(ValidationError, match="tracking URI"):
        cloud.jobs.get_metrics("x")
    with pytest.raises(ValidationError, match="run history"):
        cloud.jobs.list(parent_job_name="x")


def test_stream_on_a_cloud_workspace_shows_status_changes_only(ml_client, tmp_path):
    from azureml_v2 import MLClient
    from azureml_v2._http.inprocess import WSGITransport
    ml_client.jobs.create_or_update(_job(tmp_path, name="remote"))
    _log(ml_client, "remote").write_text("not readable from Azure\n")
    _finish(ml_client, "remote")
    # the Azure code path (ARM URLs, bearer token), answered by the local service's ARM routes
    cloud = MLClient(_Credential(), ml_client.subscription_id, ml_client.resource_group_name,
                     ml_client.workspace_name, transport=WSGITransport(ml_client.sent.app), polling_interval=0)
    out = io.StringIO()
    assert cloud.jobs.stream("remote", out=out).status == "Completed"
    assert out.getvalue() == ("RunId: remote\n(logs are not streamed from this workspace: status changes only)\n"
                              "Status: Completed\n")
