"""Where a job's named outputs given no path are found: the default datastore's azureml/<job>/<output>/ (Azure ML's
place), or for a job that ran before outputs moved there, its old home under the job's artifacts. Bindings
(azureml://jobs/<job>/outputs/<output>) and reused pipeline steps follow them."""
from __future__ import annotations

import shutil

import pytest
from support.local import Client

from azureml_v2._contract import BEST_CHILD, REUSE_KEY_PROPERTY
from azureml_v2.local import make_app
from azureml_v2.local.core.refs import References, RefError
from azureml_v2.local.executors.reuse import Reuse

WS = "local"
OUTPUTS = {"model": {"jobOutputType": "uri_folder"}, "score": {"jobOutputType": "uri_file"}}
NEW = "azureml://datastores/workspaceblobstore/paths/azureml"
OLD = "azureml://datastores/workspaceartifactstore/paths/ExperimentRun"


@pytest.fixture
def app(home):
    app = make_app(home, user="tester", run_jobs=False)
    client = Client(app)
    for name in ("fresh", "older"):
        _completed(app, name, OUTPUTS, {REUSE_KEY_PROPERTY: f"key-{name}"})
    new = home / "datastores" / "workspaceblobstore" / "azureml" / "fresh"
    (new / "model").mkdir(parents=True)
    (new / "model" / "w.bin").write_text("fresh")
    (new / "score").mkdir()
    (new / "score" / "score").write_text("0.9")
    old = home / "datastores" / "workspaceartifactstore" / "ExperimentRun" / "dcid.older"
    (old / "model").mkdir(parents=True)
    (old / "model" / "w.bin").write_text("older")
    (old / "score").write_text("0.1")
    yield app
    app.close()


def _completed(app, name: str, outputs: dict, properties: dict | None = None) -> None:
    assert Client(app).put(f"/jobs/{name}", {"properties": {
        "jobType": "Command", "command": "python train.py", "environmentId": "azureml:env:1",
        "outputs": outputs, "properties": properties or {}}}).status == 201
    for status in ("Queued", "Preparing", "Running", "Finalizing", "Completed"):
        app.store.set_job_status(WS, name, status)


def _no_download(url):
    raise AssertionError(url)


def test_a_binding_to_an_earlier_jobs_output_reads_it_where_it_is_kept(app):
    refs = References(app.store, WS)
    for job, text, score in (("fresh", "fresh", "0.9"), ("older", "older", "0.1")):
        folder = refs.path(f"azureml://jobs/{job}/outputs/model", "input", _no_download)
        assert (folder / "w.bin").read_text() == text
        assert refs.path(f"azureml://jobs/{job}/outputs/score", "input", _no_download).read_text() == score


def test_a_reused_step_points_at_the_outputs_of_the_step_it_reused_where_they_are_kept(app):
    refs = References(app.store, WS)
    reuse = Reuse(app.store, WS, refs)
    props = {"outputs": {k: dict(v) for k, v in OUTPUTS.items()}, "properties": {}}
    uris = {job: {k: v["uri"] for k, v in reuse.reused_props(props, app.store.get_job(WS, job), "key")[
        "outputs"].items()} for job in ("fresh", "older")}
    assert uris == {"fresh": {"model": f"{NEW}/fresh/model/", "score": f"{NEW}/fresh/score/score"},
                    "older": {"model": f"{OLD}/dcid.older/model/", "score": f"{OLD}/dcid.older/score"}}
    # the step's own output, once stored, is where Azure ML keeps it
    assert refs.output_target("next", "model", OUTPUTS["model"]) == \
        app.store.datastore_folder("workspaceblobstore") / "azureml" / "next" / "model"


def test_a_step_whose_outputs_are_gone_is_not_reused(app, home):
    reuse = Reuse(app.store, WS, References(app.store, WS))
    assert reuse.original("key-fresh")["name"] == "fresh"
    shutil.rmtree(home / "datastores" / "workspaceblobstore" / "azureml" / "fresh" / "model")
    assert reuse.original("key-fresh") is None  # reusing it would hand the next steps a folder that is not there


def test_a_reused_steps_outputs_are_still_read_once_the_step_it_reused_is_deleted(app):
    refs = References(app.store, WS)
    reuse = Reuse(app.store, WS, refs)
    props = reuse.reused_props({"outputs": OUTPUTS, "properties": {}}, app.store.get_job(WS, "fresh"), "key-fresh")
    _completed(app, "again", props["outputs"], props["properties"])
    assert Client(app).delete("/jobs/fresh").status == 202
    folder = refs.path("azureml://jobs/again/outputs/model", "input", _no_download)
    assert (folder / "w.bin").read_text() == "fresh"  # the files the reused step points at are still there
    assert refs.path("azureml://jobs/again/outputs/score", "input", _no_download).read_text() == "0.9"
    with pytest.raises(RefError, match="not found"):  # the deleted job itself is gone
        refs.path("azureml://jobs/fresh/outputs/model", "input", _no_download)


def test_a_reused_sweep_step_points_at_its_best_trials_outputs(app, home):
    _completed(app, "search", OUTPUTS)
    _completed(app, "search_3", OUTPUTS)
    app.store.set_results(WS, "search", {BEST_CHILD: "search_3"})
    best = home / "datastores" / "workspaceblobstore" / "azureml" / "search_3" / "model"
    best.mkdir(parents=True)
    (best / "w.bin").write_text("best")
    reuse = Reuse(app.store, WS, References(app.store, WS))
    props = reuse.reused_props({"outputs": OUTPUTS, "properties": {}}, app.store.get_job(WS, "search"), "k")
    # what the reused step's job shows (and jobs.download reads) is where the best trial's output is kept
    assert props["outputs"]["model"]["uri"] == f"{NEW}/search_3/model/"


def test_a_job_name_whose_files_a_home_keeps_is_refused_before_outputs_mix(app, home):
    """The workspaces of a home share their built-in datastores' folders, where a job's outputs given no path and its
    artifacts are kept under its name: a job of another workspace (or a deleted one) of the same name would write into
    (and download) the files of the first."""
    client = Client(app)
    app.store.ensure_workspace("other", "tester")
    body = {"properties": {"jobType": "Command", "command": "python train.py", "environmentId": "azureml:env:1",
                           "outputs": OUTPUTS}}
    other = client.put("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                       "Microsoft.MachineLearningServices/workspaces/other/jobs/fresh", body)
    assert other.status == 409
    assert "azureml/fresh" in other.json["error"]["message"] and "another name" in other.json["error"]["message"]
    assert Client(app).delete("/jobs/fresh").status == 202
    again = client.put("/jobs/fresh", body)  # its files outlive a deleted job
    assert again.status == 409
    assert client.put("/jobs/unused", body).status == 201
