"""What azure-ai-ml's ``jobs.download`` reads from the local workspace, in-process through WSGI: a run's data (its
outputs as assets), the dataset and model data planes resolving those assets to datastore URIs, and the job's logs
among its artifacts on the blob endpoint."""
from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

import pytest
from support.local import Client
from support.local import wsgi_call as call

from azureml_v2._contract import BEST_CHILD, PIPELINE_OUTPUTS
from azureml_v2.local import make_app
from azureml_v2.local.api import blob, history
from azureml_v2.local.api.http import require_token

ACCOUNT = "/blob/local"
SCOPE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
         "Microsoft.MachineLearningServices/workspaces/local")
OUTPUTS = {"model": {"jobOutputType": "uri_folder", "mode": "ReadWriteMount"},
           "score": {"jobOutputType": "uri_file", "mode": "Upload"},
           "weights": {"jobOutputType": "mlflow_model", "mode": "Upload"}}


@pytest.fixture
def app(home):
    app = make_app(home, user="tester", run_jobs=False)
    client = Client(app)
    assert client.put("/jobs/trained_1", {"properties": {
        "jobType": "Command", "command": "python train.py", "environmentId": "azureml:env:1",
        "outputs": OUTPUTS}}).status == 201
    # what the runner leaves behind: artifacts in the artifact store, outputs given no path in the default
    # datastore's azureml/<job>/<output>/, logs in the job's folder
    artifacts = home / "datastores" / "workspaceartifactstore" / "ExperimentRun" / "dcid.trained_1"
    (artifacts / "outputs").mkdir(parents=True)
    (artifacts / "outputs" / "metrics.json").write_text('{"acc": 0.9}')
    model = home / "datastores" / "workspaceblobstore" / "azureml" / "trained_1" / "model"
    model.mkdir(parents=True)
    (model / "model.pkl").write_bytes(b"\x00pickle")
    logs = app.store.job_folder("local", "trained_1") / "user_logs"
    logs.mkdir(parents=True)
    (logs / "std_log.txt").write_text("training\n")
    yield app
    app.close()


def post(app, path, body, headers=None):
    response = call(app, "POST", path, json.dumps(body).encode(),
                    headers={"Content-Type": "application/json", **(headers or {})})
    return response.status, json.loads(response.body)


def test_run_data_names_each_output_as_an_asset_the_data_planes_resolve_to_where_it_is_stored(app):
    status, data = post(app, f"/history/v1.0{SCOPE}/rundata", {
        "runId": "trained_1", "selectRunMetadata": True, "selectRunDefinition": True,
        "selectJobSpecification": True})
    assert status == 200
    run = data["runMetadata"]
    assert run["runId"] == "trained_1" and run["status"] == "NotStarted"
    assert {k: v["type"] for k, v in run["outputs"].items()} == {
        "model": "uri_folder", "score": "uri_file", "weights": "MLFlowModel"}
    assert data["runDefinition"]["command"] == "python train.py"

    ids = {k: v["assetId"] for k, v in run["outputs"].items()}
    status, datasets = post(app, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris",
                            {"values": [ids["model"], ids["score"], "azureml://locations/x/workspaces/local/data/"
                                                                     "azureml_nosuch_output_data_model/versions/1"]})
    assert status == 200
    # a folder's URI ends with '/', so listing it leaves out an output whose name starts with the same letters
    # (where Azure ML keeps outputs given no path; a uri_file output is the file named as the output there)
    assert datasets == {"values": {
        ids["model"]: {"uri": "azureml://datastores/workspaceblobstore/paths/azureml/trained_1/model/",
                       "type": "uri_folder"},
        ids["score"]: {"uri": "azureml://datastores/workspaceblobstore/paths/azureml/trained_1/score/score",
                       "type": "uri_file"}}}
    status, models = post(app, f"/modelregistry/v1.0{SCOPE}/models/batchGetResolvedUris",
                          {"values": [ids["weights"]]})
    assert status == 200 and models == {"values": {ids["weights"]: {
        "path": "azureml://datastores/workspaceblobstore/paths/azureml/trained_1/weights/",
        "type": "MLFlowModel"}}}


def test_outputs_of_a_job_that_ran_before_outputs_moved_resolve_to_their_old_home(app, home):
    """Homes once kept outputs given no path under the job's artifacts: those stay found there."""
    old = home / "datastores" / "workspaceartifactstore" / "ExperimentRun" / "dcid.trained_1"
    (old / "weights").mkdir(parents=True)
    (old / "weights" / "MLmodel").write_text("flavors: {}\n")
    (old / "score").write_text("0.9\n")
    _, data = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": "trained_1", "selectRunMetadata": True})
    ids = {k: v["assetId"] for k, v in data["runMetadata"]["outputs"].items()}
    _, models = post(app, f"/modelregistry/v1.0{SCOPE}/models/batchGetResolvedUris", {"values": [ids["weights"]]})
    assert models["values"][ids["weights"]]["path"] == \
        "azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.trained_1/weights/"
    _, datasets = post(app, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris",
                       {"values": [ids["score"], ids["model"]]})
    assert {k: v["uri"] for k, v in datasets["values"].items()} == {
        ids["score"]: "azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.trained_1/score",
        ids["model"]: "azureml://datastores/workspaceblobstore/paths/azureml/trained_1/model/"}


def test_an_output_stored_on_a_datastore_of_its_own_resolves_there(app):
    client = Client(app)
    uri = "azureml://datastores/workspaceblobstore/paths/results/run7"
    assert client.put("/jobs/stored", {"properties": {
        "jobType": "Command", "command": "echo", "environmentId": "azureml:env:1",
        "outputs": {"out": {"jobOutputType": "uri_folder", "uri": uri}}}}).status == 201
    _, data = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": "stored", "selectRunMetadata": True})
    asset = data["runMetadata"]["outputs"]["out"]["assetId"]
    _, resolved = post(app, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris", {"values": [asset]})
    assert resolved["values"][asset]["uri"] == uri + "/"


def test_a_sweeps_output_resolves_to_its_best_trials_and_a_pipelines_to_its_steps(app):
    client = Client(app)
    command = {"jobType": "Command", "command": "python t.py", "environmentId": "azureml:env:1",
               "outputs": {"out": {"jobOutputType": "uri_folder"}}}
    for name in ("search_0", "search_1", "pipe_make"):
        assert client.put(f"/jobs/{name}", {"properties": command}).status == 201
    for name in ("search", "pipe"):  # the parents, as far as the run history looks at them: their outputs
        assert client.put(f"/jobs/{name}", {"properties": {**command, "outputs": {
            "out" if name == "search" else "result": {"jobOutputType": "uri_folder"}}}}).status == 201
    app.store.set_results("local", "search", {BEST_CHILD: "search_1"})
    app.store.set_results("local", "pipe", {PIPELINE_OUTPUTS: json.dumps({
        "result": "azureml://jobs/pipe_make/outputs/out"})})
    ids = {}
    for name in ("search", "pipe"):
        _, data = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": name, "selectRunMetadata": True})
        ids[name] = next(iter(data["runMetadata"]["outputs"].values()))["assetId"]
    _, resolved = post(app, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris", {"values": list(ids.values())})
    outputs = "azureml://datastores/workspaceblobstore/paths/azureml"
    assert resolved["values"] == {ids["search"]: {"uri": f"{outputs}/search_1/out/", "type": "uri_folder"},
                                  ids["pipe"]: {"uri": f"{outputs}/pipe_make/out/", "type": "uri_folder"}}


def test_bad_questions_get_one_error_body(app):
    for path, body in ((f"/history/v1.0{SCOPE}/rundata", {}),
                       (f"/history/v1.0{SCOPE}/rundata", {"runId": 7}),
                       (f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris", {"values": "x"}),
                       (f"/modelregistry/v1.0{SCOPE}/models/batchGetResolvedUris", {"values": [1]})):
        status, error = post(app, path, body)
        assert status == 400 and error["error"]["code"] == "InvalidRequestContent", (path, error)
    status, error = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": "nosuch", "selectRunMetadata": True})
    assert status == 404 and "nosuch" in error["error"]["message"]
    client = Client(app)
    evil = {"jobType": "Command", "command": "x", "environmentId": "azureml:e:1",
            "outputs": {"../up": {"jobOutputType": "uri_folder"}}}
    refused = client.put("/jobs/evil", {"properties": evil})
    assert refused.status == 400 and "../up" in refused.json["error"]["message"]
    # one recorded before output names were checked
    app.store.put_job("local", "evil", {**evil, "properties": {}}, "tester", mutable=frozenset())
    _, data = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": "evil", "selectRunMetadata": True})
    assert "outputs" not in data["runMetadata"]  # no name a client would make a folder of outside its download
    sneaky = "azureml://locations/local/workspaces/local/data/azureml_evil_output_data_../up/versions/1"
    assert post(app, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris", {"values": [sneaky]}) == (
        200, {"values": {}})
    status, error = post(app, f"/data/v1.0{SCOPE}/dataversion/other", {"values": []})
    assert status == 404 and "batchGetResolvedUris" in error["error"]["message"]
    assert call(app, "GET", f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris").status == 405


def test_a_jobs_inputs_and_outputs_are_the_specs_or_the_job_is_refused(app):
    """The run history, the data planes and the runner read them: a job whose outputs are not JobOutputs by name
    made each run-history answer a 500."""
    client = Client(app)
    job = {"jobType": "Command", "command": "x", "environmentId": "azureml:e:1"}
    for key, value, where in (("outputs", {"o": "x"}, "outputs.o: expected an object"),
                              ("outputs", ["o"], "outputs: expected an object"),
                              ("outputs", {"o": {"uri": "azureml://datastores/d/paths/p"}}, "o.jobOutputType is required"),
                              ("outputs", {"o": {"jobOutputType": 5}}, "o.jobOutputType: expected a string"),
                              ("outputs", {"o": {"jobOutputType": "uri_file", "uri": 5}}, "o.uri: expected a string"),
                              ("outputs", {"a/b": {"jobOutputType": "uri_folder"}}, "\"a/b\" cannot name"),
                              ("inputs", {"i": 3}, "inputs.i: expected an object"),
                              ("inputs", {"i": {"value": "3"}}, "i.jobInputType is required")):
        response = client.put("/jobs/bad", {"properties": {**job, key: value}})
        assert response.status == 400 and where in response.json["error"]["message"], (value, response.json)
    # a null one is one not given (the spec lets a value be null)
    assert client.put("/jobs/good", {"properties": {**job, "inputs": {"i": None}, "outputs": {
        "o": None, "p": {"jobOutputType": "uri_file"}}}}).status == 201
    status, data = post(app, f"/history/v1.0{SCOPE}/rundata", {"runId": "good", "selectRunMetadata": True})
    assert status == 200 and data["runMetadata"]["outputs"]["p"]["type"] == "uri_file"
    assert list(data["runMetadata"]["outputs"]) == ["p"]


def test_a_reader_may_ask_the_data_planes(app, home):
    guarded = require_token(app, "writer", "reader", signed=functools.partial(blob.sas_allows, home))
    status, data = post(guarded, f"/history/v1.0{SCOPE}/rundata", {"runId": "trained_1", "selectRunMetadata": True},
                        {"Authorization": "Bearer reader"})
    assert status == 200 and data["runMetadata"]["outputs"]
    status, _ = post(guarded, f"/data/v1.0{SCOPE}/dataversion/batchGetResolvedUris", {"values": []},
                     {"Authorization": "Bearer reader"})
    assert status == 200


def test_a_jobs_logs_are_among_its_artifacts_read_only(app):
    prefix = "ExperimentRun/dcid.trained_1/"
    query = urlencode({"restype": "container", "comp": "list", "prefix": prefix})
    listed = call(app, "GET", f"{ACCOUNT}/workspaceartifactstore", query=query)
    assert listed.status == 200
    root = ET.fromstring(listed.body)
    names = [b.findtext("Name") for b in root.iter("Blob")]
    assert names == [prefix + n for n in ("outputs/metrics.json", "user_logs/std_log.txt")]
    sizes = [b.findtext("Properties/Content-Length") for b in root.iter("Blob")]
    assert sizes == ["12", "9"]
    log = call(app, "GET", f"{ACCOUNT}/workspaceartifactstore/{prefix}user_logs/std_log.txt")
    assert log.status == 200 and log.body == b"training\n"
    # a listing from higher up shows them too
    for higher in ("Experiment", "ExperimentRun/dcid.trai"):
        everything = call(app, "GET", f"{ACCOUNT}/workspaceartifactstore",
                          query=urlencode({"restype": "container", "comp": "list", "prefix": higher}))
        assert f"<Name>{prefix}user_logs/std_log.txt</Name>".encode() in everything.body
    # `dcid..` names no job: no way to the workspace's jobs folder (here a job named user_logs)
    (app.store.job_folder("local", "user_logs") / "wd").mkdir(parents=True)
    (app.store.job_folder("local", "user_logs") / "wd" / "secret").write_text("x")
    sneaky = "ExperimentRun/dcid../user_logs/wd/secret"
    assert call(app, "GET", f"{ACCOUNT}/workspaceartifactstore/{sneaky}").status == 404
    assert b"secret" not in call(app, "GET", f"{ACCOUNT}/workspaceartifactstore", query=urlencode(
        {"restype": "container", "comp": "list", "prefix": "ExperimentRun/dcid../"})).body
    written = call(app, "PUT", f"{ACCOUNT}/workspaceartifactstore/{prefix}user_logs/std_log.txt", b"forged",
                   headers={"x-ms-blob-type": "BlockBlob"})
    assert written.status == 403
    assert (app.store.job_folder("local", "trained_1") / "user_logs" / "std_log.txt").read_text() == "training\n"
    missing = call(app, "GET", f"{ACCOUNT}/workspaceartifactstore/ExperimentRun/dcid.other/user_logs/std_log.txt")
    assert missing.status == 404


def test_a_runs_children_are_listed_as_the_run_history_pages_them(app, monkeypatch):
    """What azure-ai-ml reads to download a batch job: its children (the scoring step), each a Run with its outputs
    as assets; `$top` and `nextLink` page them, oldest first."""
    client = Client(app)
    command = {"jobType": "Command", "command": "python score.py", "environmentId": "azureml:env:1",
               "outputs": {"score": {"jobOutputType": "uri_folder"}}}
    assert client.put("/jobs/batch", {"properties": command}).status == 201
    for n in range(3):
        assert client.put(f"/jobs/batch_step{n}", {"properties": {
            **command, "displayName": f"step {n}", "properties": {"azureml.parentJobName": "batch"}}}).status == 201
    children = f"/history/v1.0{SCOPE}/runs/batch/children"
    everything = json.loads(call(app, "GET", children).body)
    assert [r["runId"] for r in everything["value"]] == ["batch_step0", "batch_step1", "batch_step2"]
    assert "nextLink" not in everything
    step = everything["value"][0]
    assert step["parentRunId"] == "batch" and step["displayName"] == "step 0" and step["status"] == "NotStarted"
    assert step["outputs"]["score"] == {"type": "uri_folder", "assetId": "azureml://locations/local/workspaces/local/"
                                                                         "data/azureml_batch_step0_output_data_score/"
                                                                         "versions/1"}
    first = json.loads(call(app, "GET", children, query="$top=2").body)
    assert [r["runId"] for r in first["value"]] == ["batch_step0", "batch_step1"] and "nextLink" not in first
    monkeypatch.setattr(history, "CHILDREN_PAGE", 2)
    first = json.loads(call(app, "GET", children).body)
    assert [r["runId"] for r in first["value"]] == ["batch_step0", "batch_step1"]
    link = urlsplit(first["nextLink"])
    assert link.path == children
    rest = json.loads(call(app, "GET", link.path, query=link.query).body)
    assert [r["runId"] for r in rest["value"]] == ["batch_step2"] and "nextLink" not in rest
    assert json.loads(call(app, "GET", f"/history/v1.0{SCOPE}/runs/batch_step0/children").body) == {"value": []}
    bad = call(app, "GET", children, query="$continuationtoken=forged")
    assert bad.status == 400 and b"$continuationtoken" in bad.body
    assert call(app, "GET", children, query="$top=0").status == 400
    filtered = call(app, "GET", children, query="$filter=status eq 'Completed'")
    assert filtered.status == 400 and b"$filter" in filtered.body
    missing = call(app, "GET", f"/history/v1.0{SCOPE}/runs/nosuch/children")
    assert missing.status == 404 and b"nosuch" in missing.body
