"""Where a job's named outputs given no path are found: the default datastore's azureml/<job>/<output>/ (Azure ML's
place), or for a job that ran before outputs moved there, its old home under the job's artifacts. Bindings
(azureml://jobs/<job>/outputs/<output>) and reused pipeline steps follow them."""
from __future__ import annotations

import pytest
from support.local import Client

from azureml_v2.local import make_app
from azureml_v2.local.core.refs import References
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
        assert client.put(f"/jobs/{name}", {"properties": {
            "jobType": "Command", "command": "python train.py", "environmentId": "azureml:env:1",
            "outputs": OUTPUTS}}).status == 201
        for status in ("Queued", "Preparing", "Running", "Finalizing", "Completed"):
            app.store.set_job_status(WS, name, status)
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
