"""The local workspace's REST service, driven in-process through WSGI: routes, Azure ML semantics, errors, store."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.local import WS, Client

from azureml_v2.local import make_app
from azureml_v2._contract import API_VERSION, SERVED_API_VERSIONS
from azureml_v2.exceptions import AzureMLError
from azureml_v2.local.core.jobs import Jobs, runner_died
from azureml_v2.local.core.processes import process_start
from azureml_v2.local.storage.sqlite import Page, StoreError
from azureml_v2.local.storage.workspace import DB_NAME, MIGRATIONS, Store


ASSETS = {  # kind: (spec definition stem, a valid version body, an immutable field changed, the field's path)
    "codes": ("Code", {"codeUri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/0ab/src"},
              {"codeUri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/1cd/src"}, "codeUri"),
    "data": ("Data", {"dataType": "uri_folder", "dataUri": "azureml://datastores/workspaceblobstore/paths/iris/"},
             {"dataUri": "azureml://datastores/workspaceblobstore/paths/other/"}, "dataUri"),
    "environments": ("Environment", {"image": "python:3.11-slim"}, {"image": "python:3.12-slim"}, "image"),
    "models": ("Model", {"modelUri": "azureml://datastores/workspaceblobstore/paths/m/model.pkl",
                         "modelType": "custom_model"}, {"modelType": "mlflow_model"}, "modelType"),
    "components": ("Component", {"componentSpec": {"name": "train", "type": "command", "command": "python a.py"}},
                   {"componentSpec": {"name": "train", "type": "command", "command": "python b.py"}},
                   "componentSpec.command"),
}
COMMAND_JOB = {"jobType": "Command", "command": "python train.py", "environmentId": "azureml:env:1",
               "computeId": "local"}


@pytest.fixture
def app(home):
    """The REST layer alone: created jobs stay NotStarted (tests/integration/local/test_runner.py runs them)."""
    app = make_app(home, page_size=3, max_body=64 * 1024, user="tester", run_jobs=False)
    yield app
    app.close()


def version_definition(kind):
    return ASSETS[kind][0] + ("VersionBase" if kind == "data" else "Version") + "Resource"


def names(items):
    return [item["name"] for item in items]


def test_the_default_workspace_is_made_on_first_use_any_other_only_by_its_put(client, rest_response):
    response = client.get()
    assert response.status == 200
    assert response.json["id"] == WS and response.json["name"] == "local"
    assert response.json["properties"]["provisioningState"] == "Succeeded"
    assert rest_response(response.json, "Workspace") == []
    # a typo is not a new workspace: reads, and writes inside it, answer 404 as Azure ML does, and leave nothing
    typo = WS.rsplit("/", 1)[0] + "/team-ws"
    missing = client.get(typo)
    assert missing.status == 404 and missing.json["error"]["code"] == "ResourceNotFound"
    assert "workspace 'team-ws' not found" in missing.json["error"]["message"]
    for method, path, body in (("GET", "/jobs", None), ("PUT", "/data/d/versions/1",
                                                         {"properties": {"dataUri": "https://x/a.csv"}})):
        inside = client.call(method, typo + path, body)
        assert inside.status == 404 and inside.json["error"]["code"] == "ParentResourceNotFound"
        assert f"parent resource '{typo}' could not be found" in inside.json["error"]["message"]
    assert client.call("PATCH", typo, {"tags": {"a": "b"}}).status == 404
    assert names(client.get(WS.rsplit("/", 1)[0]).json["value"]) == ["local"]
    other = client.put(typo, {"location": "local"})
    assert other.status == 200 and other.json["properties"]["workspaceId"] != response.json["properties"][
        "workspaceId"]
    assert client.get(typo + "/jobs").status == 200
    listed = client.get(WS.rsplit("/", 1)[0])
    assert sorted(names(listed.json["value"])) == ["local", "team-ws"]
    assert rest_response(listed.json, "WorkspaceListResult") == []


def test_workspace_names_its_tracking_uri_and_discovery_document_on_this_server(client):
    spoofed = {"HTTP_HOST": "elsewhere.example", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5123"}
    props = client.get(headers=spoofed).json["properties"]
    assert props["mlFlowTrackingUri"] == "http://127.0.0.1:5123" + WS
    discovery = client.get(props["discoveryUrl"], api_version=None)
    assert discovery.status == 200 and discovery.json["history"] == discovery.json["api"] == "http://127.0.0.1"
    # MLflow clients pointed at the tracking URI reach the workspace's experiments
    tracking = props["mlFlowTrackingUri"].removeprefix("http://127.0.0.1:5123") + "/api/2.0/mlflow/experiments"
    assert client.call("POST", tracking + "/create", {"name": "iris"}, api_version=None).status == 200
    found = client.call("POST", tracking + "/search", {"max_results": 10}, api_version=None)
    assert found.status == 200 and [e["name"] for e in found.json["experiments"]] == ["iris"]


def test_arm_path_segments_are_case_insensitive(client):
    path = WS.replace("resourceGroups", "resourcegroups").replace("Microsoft.MachineLearningServices",
                                                                  "microsoft.machinelearningservices")
    assert client.put(path + "/Codes/c/versions/1", {"properties": {}}).status == 201
    assert client.get("/codes/c/versions/1").status == 200


@pytest.mark.parametrize("kind", ASSETS)
def test_asset_version_lifecycle(client, rest_response, kind):
    stem, body, changed, field = ASSETS[kind]
    created = client.put(f"/{kind}/thing/versions/1", {"properties": {**body, "tags": {"a": "1"}}})
    assert created.status == 201, created.json
    resource = created.json
    assert resource["id"] == f"{WS}/{kind}/thing/versions/1" and resource["name"] == "1"
    assert resource["type"] == f"Microsoft.MachineLearningServices/workspaces/{kind}/versions"
    assert resource["properties"]["isAnonymous"] is False and resource["properties"]["isArchived"] is False
    assert resource["systemData"]["createdBy"] == "tester"
    assert rest_response(resource, version_definition(kind)) == []
    assert client.get(f"/{kind}/thing/versions/1").json == resource

    container = client.get(f"/{kind}/thing")
    assert container.status == 200
    assert container.json["properties"]["latestVersion"] == "1" and container.json["properties"]["nextVersion"] == "2"
    assert rest_response(container.json, f"{stem}ContainerResource") == []

    # the same content again (read-only fields echoed from a GET included) returns it unchanged
    again = client.put(f"/{kind}/thing/versions/1", {"properties": resource["properties"], "id": resource["id"]})
    assert again.status == 200 and again.json == resource

    conflict = client.put(f"/{kind}/thing/versions/1", {"properties": {**body, **changed, "tags": {"a": "1"}}})
    assert conflict.status == 409
    assert conflict.json["error"]["code"] == "Conflict"
    assert f"version '1' already exists with a different {field}" in conflict.json["error"]["message"]

    updated = client.put(f"/{kind}/thing/versions/1", {"properties": {**body, "tags": {"a": "2"}, "description": "d"}})
    assert updated.status == 200
    assert updated.json["properties"]["tags"] == {"a": "2"} and updated.json["properties"]["description"] == "d"

    assert client.delete(f"/{kind}/thing/versions/1").status == 200
    missing = client.get(f"/{kind}/thing/versions/1")
    assert missing.status == 404 and missing.json["error"]["code"] == "ResourceNotFound"
    assert client.delete(f"/{kind}/thing/versions/1").status == 204


def test_next_version_is_monotonic_and_latest_is_newest_active(client):
    for version in ("9" * 60, "1", "2", "10", "beta"):  # too long a number to be the next integer: a name
        assert client.put(f"/models/m/versions/{version}", {"properties": {}}).status == 201
    props = client.get("/models/m").json["properties"]
    assert props["nextVersion"] == "11" and props["latestVersion"] == "beta"
    client.delete("/models/m/versions/10")
    client.delete("/models/m/versions/beta")
    props = client.get("/models/m").json["properties"]
    assert props["nextVersion"] == "11" and props["latestVersion"] == "2"


@pytest.mark.parametrize("version", sorted(SERVED_API_VERSIONS))
def test_every_api_version_the_official_clients_send_is_answered_in_one_shape(client, version, rest_response):
    client.put("/data/iris/versions/1", {"properties": ASSETS["data"][1]}, api_version=version)
    got = client.get("/data/iris/versions/1", api_version=version)
    assert got.status == 200 and got.json["properties"]["dataUri"] == ASSETS["data"][1]["dataUri"]
    assert rest_response(got.json, "DataVersionBaseResource") == []


def test_links_use_the_servers_own_address_not_the_host_header(client):
    for i in range(5):
        client.put(f"/models/m/versions/{i}", {"properties": {}})
    spoofed = {"HTTP_HOST": "attacker.example:8443", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5123"}
    link = client.get("/models/m/versions", headers=spoofed).json["nextLink"]
    assert link.startswith("http://127.0.0.1:5123/subscriptions/")
    client.put("/jobs/j", {"properties": COMMAND_JOB}, headers=spoofed)
    location = client.post("/jobs/j/cancel", headers=spoofed).headers["Location"]
    assert location.startswith("http://127.0.0.1:5123/subscriptions/") and "attacker" not in location


def test_versions_page_through_next_link_newest_first(client):
    for i in range(1, 8):
        client.put(f"/data/iris/versions/{i}", {"properties": ASSETS["data"][1]})
    pages = client.pages("/data/iris/versions")
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [v for page in pages for v in names(page)] == ["7", "6", "5", "4", "3", "2", "1"]
    oldest_first = client.pages("/data/iris/versions", query=f"api-version={API_VERSION}&$orderBy=createdtime asc")
    assert [v for page in oldest_first for v in names(page)] == [str(i) for i in range(1, 8)]
    top = client.pages("/data/iris/versions", query=f"api-version={API_VERSION}&$top=5")
    assert [names(p) for p in top] == [["7", "6", "5"], ["4", "3"]]
    newest = client.get("/data/iris/versions", query=f"api-version={API_VERSION}&$orderBy=createdtime desc&$top=1")
    assert names(newest.json["value"]) == ["7"] and "nextLink" not in newest.json


def test_next_link_is_absolute_keeps_filters_and_survives_inserts(client):
    for i in range(5):
        client.put(f"/models/m/versions/{i}", {"properties": {"tags": {"team": "a" if i % 2 else "b"}}})
    first = client.get("/models/m/versions", query=f"api-version={API_VERSION}&listViewType=All")
    link = first.json["nextLink"]
    assert link.startswith("http://127.0.0.1/subscriptions/") and "listViewType=All" in link
    assert "api-version=2024-04-01" in link and "$skipToken=" in link
    client.put("/models/m/versions/99", {"properties": {}})  # a new version does not shift the pages
    assert names(client.get(link).json["value"]) == ["1", "0"]
    assert client.names("/models/m/versions", "$skip=" + link.split("$skipToken=")[1]) == ["1", "0"]


def test_containers_page_and_list_newest_first(client):
    for name in ("a", "b", "c", "d"):
        client.put(f"/environments/{name}/versions/1", {"properties": {"image": "python"}})
    pages = client.pages("/environments")
    assert [names(p) for p in pages] == [["d", "c", "b"], ["a"]]
    assert client.names("/environments", "count=4") == ["d", "c", "b", "a"]


def test_archive_hides_versions_and_containers(client):
    for version in ("1", "2"):
        client.put(f"/codes/src/versions/{version}", {"properties": {"codeUri": "x"}})
    resource = client.get("/codes/src/versions/2").json
    resource["properties"]["isArchived"] = True
    assert client.put("/codes/src/versions/2", resource).status == 200
    assert client.names("/codes/src/versions") == ["1"]
    assert client.names("/codes/src/versions", "listViewType=ArchivedOnly") == ["2"]
    assert client.names("/codes/src/versions", "listViewType=All") == ["2", "1"]
    assert client.get("/codes/src").json["properties"]["latestVersion"] == "1"
    assert client.get("/codes/src/versions/2").status == 200  # still there by name

    container = client.get("/codes/src").json
    container["properties"]["isArchived"] = True
    assert client.put("/codes/src", container).status == 200
    assert client.get("/codes").json["value"] == []
    assert client.names("/codes", "listViewType=ArchivedOnly") == ["src"]


def test_container_put_and_cascading_delete(client, rest_response):
    created = client.put("/data/iris", {"properties": {"dataType": "uri_file", "description": "flowers"}})
    assert created.status == 201 and created.json["properties"]["nextVersion"] == "1"
    assert "latestVersion" not in created.json["properties"]
    assert rest_response(created.json, "DataContainerResource") == []
    changed = client.put("/data/iris", {"properties": {"dataType": "mltable"}})
    assert changed.status == 409 and "dataType" in changed.json["error"]["message"]
    assert client.put("/data/iris", {"properties": {"dataType": "URI_FILE"}}).status == 200  # enum: any case
    client.put("/data/iris/versions/1", {"properties": {"dataType": "uri_file", "dataUri": "x"}})
    assert client.delete("/data/iris").status == 200
    assert client.get("/data/iris/versions/1").status == 404
    assert client.delete("/data/iris").status == 204


def test_version_list_filters(client):
    client.put("/models/m/versions/1", {"properties": {"tags": {"stage": "prod", "team": "a"}}})
    client.put("/models/m/versions/2", {"properties": {"tags": {"stage": "dev"}, "properties": {"k": "v"}}})
    assert client.names("/models/m/versions", "tags=team") == ["1"]
    assert client.names("/models/m/versions", "tags=stage=dev") == ["2"]
    assert client.names("/models/m/versions", "properties=k=v") == ["2"]
    assert client.names("/models/m/versions", "version=1") == ["1"]
    client.put("/data/d/versions/1", {"properties": {"dataType": "uri_file", "dataUri": "x", "tags": {"x": "y"}}})
    assert client.names("/data/d/versions", "$tags=x=y") == ["1"]


def test_code_versions_are_found_by_content_hash_across_names(client):
    snapshot = {"codeUri": "u", "isAnonymous": True, "properties": {"hash_sha256": "ab12", "hash_version": "202208"}}
    client.put("/codes/0a1b2c/versions/1", {"properties": snapshot})
    client.put("/codes/other/versions/1", {"properties": {"codeUri": "v"}})
    found = client.get("/codes/anything/versions", query=f"api-version={API_VERSION}&hash=ab12&hashVersion=202208")
    assert [r["id"].split("/codes/")[1] for r in found.json["value"]] == ["0a1b2c/versions/1"]
    assert client.get("/codes/x/versions", query=f"api-version={API_VERSION}&hash=ffff").json["value"] == []


def test_default_datastores_are_local_folders(client, home, rest_response):
    stores = {d["name"]: d for d in client.get("/datastores").json["value"]}
    assert set(stores) == {"workspaceblobstore", "workspaceartifactstore"}
    blob = stores["workspaceblobstore"]
    assert blob["properties"]["isDefault"] is True
    assert stores["workspaceartifactstore"]["properties"]["isDefault"] is False
    assert blob["properties"]["datastoreType"] == "AzureBlob"  # a spec type every client reads
    assert rest_response(blob, "DatastoreResource") == []
    folder = Path(blob["properties"]["properties"]["azureml.localFolder"])
    assert folder == home.resolve() / "datastores" / "workspaceblobstore" and folder.is_dir()
    default = client.get("/datastores", query=f"api-version={API_VERSION}&isDefault=true").json["value"]
    assert names(default) == ["workspaceblobstore"]
    assert client.put("/datastores/workspaceblobstore", blob).status == 200  # the same body again
    changed = client.put("/datastores/workspaceblobstore",
                         {"properties": {**blob["properties"], "properties": {"azureml.localFolder": "/elsewhere"}}})
    assert changed.status == 409 and "built into the local workspace" in changed.json["error"]["message"]
    assert client.delete("/datastores/workspaceblobstore").status == 409
    assert client.post("/datastores/workspaceblobstore/listSecrets").status == 400


def test_user_datastore_keeps_secrets_apart(client, rest_response):
    body = {"properties": {"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "c",
                           "credentials": {"credentialsType": "AccountKey",
                                           "secrets": {"secretsType": "AccountKey", "key": "s3cret"}}}}
    created = client.put("/datastores/blobs", body)
    assert created.status == 201 and created.json["properties"]["isDefault"] is False
    assert "s3cret" not in json.dumps(client.get("/datastores/blobs").json)
    assert rest_response(created.json, "DatastoreResource") == []
    secrets = client.post("/datastores/blobs/listSecrets")
    assert secrets.status == 200 and secrets.json == {"secretsType": "AccountKey", "key": "s3cret"}
    assert rest_response(secrets.json, "AccountKeyDatastoreSecrets") == []
    echoed = client.get("/datastores/blobs").json  # GET, change, PUT back: the key stays
    echoed["properties"]["description"] = "mine"
    assert client.put("/datastores/blobs", echoed).status == 200
    assert client.post("/datastores/blobs/listSecrets").json["key"] == "s3cret"
    assert client.names("/datastores", "names=blobs,nope") == ["blobs"]
    assert client.names("/datastores", "searchText=BLOB") == ["blobs", "workspaceblobstore"]
    assert client.delete("/datastores/blobs").status == 200
    assert client.delete("/datastores/blobs").status == 204
    assert client.get("/datastores/blobs").status == 404


def test_datastores_page_and_order(client):
    body = {"properties": {"datastoreType": "AzureFile", "accountName": "a", "fileShareName": "s",
                           "credentials": {"credentialsType": "None"}}}
    for name in ("one", "two"):
        assert client.put(f"/datastores/{name}", body).status == 201
    assert [names(p) for p in client.pages("/datastores")] == [["two", "one", "workspaceartifactstore"],
                                                                ["workspaceblobstore"]]
    assert client.names("/datastores", "orderByAsc=true&count=2") == ["workspaceblobstore", "workspaceartifactstore"]


def test_job_create_get_update_list(client, rest_response):
    created = client.put("/jobs/job-1", {"properties": {**COMMAND_JOB, "jobType": "command", "tags": {"t": "1"}}})
    assert created.status == 201, created.json
    props = created.json["properties"]
    assert props["status"] == "NotStarted" and props["jobType"] == "Command" and props["experimentName"] == "Default"
    assert created.json["type"] == "Microsoft.MachineLearningServices/workspaces/jobs"
    assert rest_response(created.json, "JobBaseResource") == []
    assert client.put("/jobs/job-1", {"properties": props}).status == 200
    conflict = client.put("/jobs/job-1", {"properties": {**props, "command": "python other.py"}})
    assert conflict.status == 409 and "different command" in conflict.json["error"]["message"]
    renamed = client.put("/jobs/job-1", {"properties": {**props, "displayName": "nice", "tags": {"t": "2"}}})
    assert renamed.status == 200 and renamed.json["properties"]["displayName"] == "nice"

    client.put("/jobs/pipe", {"properties": {"jobType": "Pipeline"}})
    client.put("/jobs/step", {"properties": {**COMMAND_JOB, "properties": {"azureml.parentJobName": "pipe"}}})
    listed = client.get("/jobs")
    assert names(listed.json["value"]) == ["pipe", "job-1"]  # children are listed under their parent
    assert rest_response(listed.json, "JobBaseResourceArmPaginatedResult") == []
    assert client.names("/jobs", "parentJobName=pipe") == ["step"]
    assert client.names("/jobs", "jobType=pipeline") == ["pipe"]
    assert client.names("/jobs", "tag=t") == ["job-1"]
    archived = client.get("/jobs/pipe").json
    archived["properties"]["isArchived"] = True
    client.put("/jobs/pipe", archived)
    assert client.names("/jobs") == ["job-1"] and client.names("/jobs", "listViewType=ArchivedOnly") == ["pipe"]


def test_jobs_page_through_next_link(client):
    for i in range(7):
        client.put(f"/jobs/j{i}", {"properties": COMMAND_JOB})
    assert [names(p) for p in client.pages("/jobs")] == [["j6", "j5", "j4"], ["j3", "j2", "j1"], ["j0"]]


def poll(client, response):
    """Follow a long-running operation's Location once -> the poll response."""
    assert response.status == 202
    return client.get(response.headers["Location"])


def test_cancel_and_delete_of_a_job_that_has_not_started_finish_at_once(client):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    cancel = client.post("/jobs/j/cancel")
    assert cancel.headers["Retry-After"] == "0"
    assert poll(client, cancel).status == 200
    assert client.get("/jobs/j").json["properties"]["status"] == "Canceled"
    delete = client.delete("/jobs/j")
    assert poll(client, delete).status == 200
    assert client.get("/jobs/j").status == 404
    assert client.delete("/jobs/j").status == 204
    assert client.post("/jobs/j/cancel").status == 404


def test_cancel_of_a_running_job_is_polled_until_the_runner_stops_it(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    assert app.store.set_job_status("local", "j", "Running", expect="NotStarted")
    cancel = client.post("/jobs/j/cancel")
    assert cancel.headers["Retry-After"] == "1"
    assert poll(client, cancel).status == 202
    assert client.get("/jobs/j").json["properties"]["status"] == "CancelRequested"
    status = client.get(cancel.headers["Azure-AsyncOperation"]).json
    assert status["status"] == "InProgress" and "endTime" not in status
    assert app.store.set_job_status("local", "j", "Canceled", expect="CancelRequested")
    assert poll(client, cancel).status == 200
    status = client.get(cancel.headers["Azure-AsyncOperation"]).json
    assert status["status"] == "Succeeded" and status["endTime"] >= status["startTime"]
    job = app.store.get_job("local", "j")
    assert job["started_at"] and job["ended_at"] >= job["started_at"]


def test_delete_of_a_running_job_cancels_it_then_deletes_it(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    app.store.set_job_status("local", "j", "Running")
    delete = client.delete("/jobs/j")
    assert poll(client, delete).status == 202
    assert client.get("/jobs/j").json["properties"]["status"] == "CancelRequested"
    assert app.store.set_job_status("local", "j", "Failed", expect=("Running", "CancelRequested"))
    assert poll(client, delete).status == 200
    assert client.get("/jobs/j").status == 404


def test_set_job_status_is_compare_and_set(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    assert not app.store.set_job_status("local", "j", "Running", expect="Queued")
    assert app.store.set_job_status("local", "j", "Starting", expect="NotStarted")
    assert not app.store.set_job_status("local", "j", "Starting", expect="NotStarted")  # a second runner loses
    assert not app.store.set_job_status("local", "nope", "Running")
    assert client.get("/jobs/j").json["properties"]["status"] == "Starting"


def test_a_read_never_starts_a_job_and_supervision_without_run_jobs_starts_none(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    with app.store.write() as conn:  # recorded long ago by a submitter that died before starting its runner
        conn.execute("UPDATE jobs SET status_at = '2020-01-01T00:00:00.000000Z' WHERE name = 'j'")
    assert client.get("/jobs/j").json["properties"]["status"] == "NotStarted"
    assert [job["name"] for page in client.pages("/jobs") for job in page] == ["j"]
    app.supervise()
    job = app.store.get_job("local", "j")
    assert job["status"] == "NotStarted" and job["runner_pid"] is None


def test_run_properties_are_read_only(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    app.store.claim_job("local", "j", os.getpid())
    app.store.set_job_status("local", "j", "Running")
    app.store.set_job_status("local", "j", "Failed", exit_code=2, error="it broke")
    job = client.get("/jobs/j").json
    run = job["properties"]["properties"]
    assert run["ExitCode"] == "2" and run["Error"] == "it broke" and run["StartTimeUtc"] <= run["EndTimeUtc"]
    job["properties"]["properties"]["mine"] = "x"  # a changed user property is still a conflict; run ones are not
    assert client.put("/jobs/j", job).status == 409
    del job["properties"]["properties"]["mine"]
    assert client.put("/jobs/j", job).status == 200


def test_mlflow_tracking_answers_at_the_root_and_under_a_workspace(client):
    for prefix in ("", WS):
        response = client.call("GET", f"{prefix}/api/2.0/mlflow/experiments/get-by-name", query="experiment_name=nope")
        assert response.status == 404 and response.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    typo = WS.rsplit("/", 1)[0] + "/team-ws"  # a workspace not made: nothing is tracked in it, as for the ARM routes
    response = client.call("POST", f"{typo}/api/2.0/mlflow/experiments/create", {"name": "e"})
    assert response.status == 404 and response.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "workspace 'team-ws' not found" in response.json["message"]
    assert client.put(typo, {"location": "local"}).status == 200
    assert client.call("POST", f"{typo}/api/2.0/mlflow/experiments/create", {"name": "e"}).status == 200


def test_computes_have_the_builtin_local(client, rest_response):
    listed = client.get("/computes")
    assert names(listed.json["value"]) == ["local"]
    local = client.get("/computes/local")
    assert local.status == 200 and local.json["properties"]["provisioningState"] == "Succeeded"
    assert rest_response(local.json, "ComputeResource") == []
    assert client.get("/computes/gpu-cluster").status == 404
    refused = client.put("/computes/local", {"properties": {"computeType": "AmlCompute"}})
    assert refused.status == 400 and "built in" in refused.json["error"]["message"]


UAI = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/trainer"


@pytest.mark.parametrize("path, body, definition", [
    ("/computes/cpu", {"properties": {"computeType": "AmlCompute",
                                      "properties": {"scaleSettings": {"maxNodeCount": 1}}}}, "ComputeResource"),
    ("/onlineEndpoints/scorer", {"properties": {"authMode": "Key"}}, "OnlineEndpointTrackedResource"),
])
def test_a_managed_identity_is_answered_with_only_what_a_request_sets(client, rest_response, path, body, definition):
    """What a request says of a user-assigned identity's ids (or anything else) is the service's to fill: it is not
    stored, and the answer stays what the spec defines."""
    identity = {"type": "UserAssigned", "principalId": "forged", "tenantId": "forged",
                "userAssignedIdentities": {UAI: {"principalId": "forged", "clientId": "forged", "extra": [1]}}}
    put = client.put(path, {"location": "local", "identity": identity, **body})
    assert put.status in (200, 201), put.json
    answered = client.get(path).json
    assert answered["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {UAI: {}}}
    assert rest_response(answered, definition) == []


BAD_REQUESTS = [  # (method, path, body, query, status, error code)
    ("PUT", "/codes/c/versions/1", b"{not json", None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", b"[1, 2]", None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", b'{"properties": NaN}', None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", b"\xff\xfe\x00", None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", b"[" * 20000, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", b"", None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"name": "c"}, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"properties": []}, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"properties": {"tags": ["a"]}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"properties": {"tags": {"a": 1}}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"properties": {"isArchived": "yes"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/codes/c/versions/1", {"properties": {"codeUri": 5}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/data/d/versions/1", {"properties": {"dataUri": "x"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/data/d/versions/1", {"properties": {"dataType": "table", "dataUri": "x"}}, None, 400,
     "InvalidRequestContent"),
    ("PUT", "/data/d/versions/1", {"properties": {"dataType": "uri_file"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/data/d", {"properties": {}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/environments/e/versions/1", {"properties": {}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/environments/e/versions/1", {"properties": {"build": {}}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/components/c/versions/1", {"properties": {}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"command": "x"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"jobType": "Batch"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"jobType": "Command", "environmentId": "e"}}, None, 400,
     "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"jobType": "Sweep"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/datastores/d", {"properties": {"datastoreType": "AzureBlob"}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/datastores/d", {"properties": {"datastoreType": "Ftp", "credentials": {"credentialsType": "None"}}},
     None, 400, "InvalidRequestContent"),
    ("PUT", "/datastores/d", {"properties": {"datastoreType": "AzureBlob", "credentials": {
        "credentialsType": "AccountKey", "secrets": "key"}}}, None, 400, "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"jobType": "Command", "command": "x", "environmentId": "azureml:e:1",
                                       "computeId": WS + "/computes/<ATTACHED_SPARK_POOL_NAME>"}}, None, 400,
     "InvalidRequestContent"),
    ("PUT", "/jobs/j", {"properties": {"jobType": "Pipeline", "jobs": {"n": {
        "type": "spark", "componentId": WS + "/components/c/versions/1", "computeId": "<ATTACHED_SPARK_POOL_NAME>"}}}},
     None, 400, "InvalidRequestContent"),
    ("GET", "/codes", None, "api-version=2021-07-01", 400, "InvalidApiVersionParameter"),
    ("GET", "/codes", None, "", 400, "MissingApiVersionParameter"),
    ("GET", "/codes/-bad", None, None, 400, "InvalidResourceName"),
    ("GET", "/codes/" + "a" * 256, None, None, 400, "InvalidResourceName"),
    ("PUT", "/models/m.1/versions/1", {"properties": {}}, None, 400, "InvalidResourceName"),
    ("PUT", "/models/m/versions/1%2F..", {"properties": {}}, None, 400, "InvalidResourceName"),
    ("GET", "/jobs/a b", None, None, 400, "InvalidResourceName"),
    ("GET", "/codes/../jobs", None, None, 400, "InvalidRequestUri"),
    ("GET", "/codes/c/versions/1/../../../../../../etc", None, None, 400, "InvalidRequestUri"),
    ("GET", WS.rsplit("/", 1)[0] + "/x", None, None, 400, "InvalidResourceName"),
    ("GET", "/codes", None, f"api-version={API_VERSION}&listViewType=Some", 400, "InvalidRequestContent"),
    ("GET", "/codes/c/versions", None, f"api-version={API_VERSION}&$top=0", 400, "InvalidRequestContent"),
    ("GET", "/codes/c/versions", None, f"api-version={API_VERSION}&$orderBy=name", 400, "InvalidRequestContent"),
    ("GET", "/codes/c/versions", None, f"api-version={API_VERSION}&$skipToken=abc", 400, "BadRequest"),
    ("GET", "/codes/c/versions", None, f"api-version={API_VERSION}&$skipToken=" + Page.encode(2 ** 70), 400,
     "BadRequest"),
    ("GET", "/models/m/versions", None, f"api-version={API_VERSION}&tags=" + ",".join(map(str, range(5000))), 400,
     "BadRequest"),
    ("GET", "/datastores", None, f"api-version={API_VERSION}&names=" + ",".join(map(str, range(40000))), 400,
     "InvalidRequestContent"),
    ("GET", "/datastores", None, f"api-version={API_VERSION}&isDefault=maybe", 400, "InvalidRequestContent"),
    ("GET", "/jobs", None, f"api-version={API_VERSION}&jobType=Batch", 400, "InvalidRequestContent"),
    ("GET", "/widgets", None, None, 404, "ResourceNotFound"),
    ("GET", "/codes/c/versions/1/extra", None, None, 404, "ResourceNotFound"),
    ("GET", "/operationResults/nope", None, None, 404, "ResourceNotFound"),
    ("GET", "/operationsStatus/" + "0" * 32, None, None, 404, "ResourceNotFound"),
    ("GET", WS.replace("00000000-0000-0000-0000-000000000000", "11111111-0000-0000-0000-000000000000"), None, None,
     404, "SubscriptionNotFound"),
    ("GET", WS.replace("/local/", "/prod/"), None, None, 404, "ResourceGroupNotFound"),
    ("GET", "/subscriptions", None, None, 404, "ResourceNotFound"),
    ("PATCH", "/codes/c", {"properties": {}}, None, 405, "MethodNotAllowed"),
    ("POST", "/jobs/j", None, None, 405, "MethodNotAllowed"),
    ("POST", "", None, None, 405, "MethodNotAllowed"),
]


@pytest.mark.parametrize("method,path,body,query,status,code", BAD_REQUESTS,
                         ids=[f"{m} {p[-40:]} {(q or '')[:60]}" for m, p, _, q, *_ in BAD_REQUESTS])
def test_bad_requests_get_arm_errors(client, method, path, body, query, status, code):
    response = client.call(method, path, body, query=query)
    assert response.status == status, response.json
    assert set(response.json) == {"error"} and response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_body_limits_and_media_type(client):
    big = client.put("/codes/c/versions/1", {"properties": {"description": "x" * 70000}})
    assert big.status == 413 and big.json["error"]["code"] == "RequestEntityTooLarge"
    text = client.call("PUT", "/codes/c/versions/1", b"{}", headers={"CONTENT_TYPE": "text/plain"})
    assert text.status == 415
    chunked = client.call("PUT", "/codes/c/versions/1", b'{"properties": {}}',
                          headers={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert chunked.status == 201


def test_client_request_id_is_echoed(client):
    response = client.get("/codes", headers={"HTTP_X_MS_CLIENT_REQUEST_ID": "abc-123"})
    assert response.headers["x-ms-client-request-id"] == "abc-123" and response.headers["x-ms-request-id"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
PUT_PATHS = ["/codes/c/versions/1", "/data/d/versions/1", "/environments/e/versions/1", "/models/m/versions/1",
             "/components/c/versions/1", "/codes/c", "/data/d", "/datastores/ds", "/jobs/j",
             "/datastores/workspaceblobstore"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PUT_PATHS), properties=JSON, extra=st.dictionaries(st.text(max_size=5), JSON, max_size=2))
def test_no_body_makes_a_server_error(client, path, properties, extra):
    response = client.put(path, {**extra, "properties": properties})
    assert response.status in (200, 201, 400, 409), response.json


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(st.text(min_size=1, max_size=6).filter(lambda s: "/" not in s), min_size=1, max_size=5),
       query=st.text(max_size=30), method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
def test_no_path_or_query_makes_a_server_error(client, segments, query, method):
    path = "/" + "/".join(segments)
    response = client.call(method, path.encode().decode("latin-1"), {"properties": {}},
                           query=f"api-version={API_VERSION}&{query}")
    assert response.status < 500, response.json


def test_concurrent_writers_keep_the_store_consistent(home):
    app = make_app(home, run_jobs=False)
    errors = []

    def writer(worker):
        client = Client(app)
        try:
            for i in range(20):
                number = worker * 20 + i + 1
                assert client.put(f"/models/shared/versions/{number}", {"properties": {}}).status == 201
                assert client.put(f"/jobs/w{worker}-{i}", {"properties": COMMAND_JOB}).status == 201
                # every worker also races on one explicit version with the same content
                assert client.put("/models/shared/versions/race", {"properties": {"modelType": "x"}}).status in (
                    200, 201)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            app.store.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    client = Client(app)
    versions = [v for page in client.pages("/models/shared/versions", query=f"api-version={API_VERSION}&count=1000")
                for v in page]
    assert len(versions) == 161 and len(set(names(versions))) == 161
    assert client.get("/models/shared").json["properties"]["nextVersion"] == "161"
    assert sum(len(p) for p in client.pages("/jobs")) == 160
    assert app.store.connection().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_migrations_run_from_an_empty_file_once(home):
    home.mkdir()
    (home / DB_NAME).write_bytes(b"")
    store = Store(home)
    assert store.schema_version == len(MIGRATIONS)
    assert store.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.connection().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"workspaces", "containers", "versions", "datastores", "jobs", "operations"} <= tables
    store.close()
    again = Store(home)  # reopening applies nothing twice
    assert again.schema_version == len(MIGRATIONS)
    again.close()


def test_a_store_of_schema_1_is_migrated_keeping_its_jobs(home):
    home.mkdir()
    conn = sqlite3.connect(home / DB_NAME)
    for sql in MIGRATIONS[0]:
        conn.execute(sql)
    conn.execute("INSERT INTO workspaces VALUES ('local', 'id', '{}', 't', 'u', 't', 'u')")
    conn.execute("INSERT INTO jobs (workspace, name, doc, job_type, status, status_at, created_at, created_by, "
                 "modified_at, modified_by) VALUES ('local', 'old', '{}', 'Command', 'Running', 't', 't', 'u', 't', 'u')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = Store(home)
    assert store.schema_version == len(MIGRATIONS)
    job = store.get_job("local", "old")
    assert job["status"] == "Running" and job["runner_pid"] is None and job["error"] is None
    assert Jobs(store, "u").fail_if_runner_died(job)["status"] == "Running"  # no runner recorded: nothing to judge
    store.close()


def test_a_job_process_that_exists_and_is_its_own_is_alive_however_long_it_is_silent(client, app):
    """A stopped (SIGSTOP) or busy process writes no heartbeat: it is alive while its pid names it (start time)."""
    me, started = os.getpid(), process_start(os.getpid())
    for name in ("paused", "reused", "unknown"):
        client.put(f"/jobs/{name}", {"properties": COMMAND_JOB})
    assert app.store.claim_job("local", "paused", me, started)
    assert app.store.claim_job("local", "reused", me, started + 1)  # the pid names another process now
    assert app.store.claim_job("local", "unknown", me)  # start time unknown (no /proc): the heartbeat tells
    app.store.connection().execute("UPDATE jobs SET heartbeat_at = heartbeat_at - 60")
    assert not runner_died(app.store.get_job("local", "paused"))
    assert runner_died(app.store.get_job("local", "reused"))
    assert runner_died(app.store.get_job("local", "unknown"))


def test_a_launcher_records_its_process_only_on_a_job_no_other_process_took(client, app):
    client.put("/jobs/j", {"properties": COMMAND_JOB})
    assert app.store.set_runner("local", "j", 101, launcher=os.getpid())  # a new job: no process yet
    # another supervisor took the job over meanwhile; a late launcher does not overwrite it
    app.store.connection().execute("UPDATE jobs SET runner_pid = 202 WHERE name = 'j'")
    assert not app.store.set_runner("local", "j", 303, launcher=os.getpid())
    assert app.store.set_runner("local", "j", 404, launcher=202)  # the one that took it records its process
    assert app.store.get_job("local", "j")["runner_pid"] == 404


def test_a_put_answers_what_it_wrote_even_when_a_delete_follows_at_once(client, app, monkeypatch):
    """Another process deletes the resource right after the PUT's transaction commits: the PUT still answers 2xx
    with what it wrote (read inside its transaction), not 404."""
    write, other = app.store.write, Store(app.store.home)
    deletes = {"jobs": "DELETE FROM jobs", "versions": "DELETE FROM versions", "datastores":
               "DELETE FROM datastores WHERE builtin = 0", "containers": "DELETE FROM containers"}
    target = {}

    @contextlib.contextmanager
    def then_delete():
        with write() as conn:
            yield conn
        if target:
            with other.write() as conn:
                conn.execute(deletes[target["table"]])

    monkeypatch.setattr(app.store, "write", then_delete)
    for table, path, body in (
            ("versions", "/environments/e/versions/1", {"properties": {"image": "python:3.11-slim"}}),
            ("containers", "/models/m", {"properties": {}}),
            ("datastores", "/datastores/d", {"properties": {"datastoreType": "AzureBlob", "accountName": "a",
                                                            "containerName": "c", "credentials": {"credentialsType": "None"}}}),
            ("jobs", "/jobs/j", {"properties": COMMAND_JOB})):
        target["table"] = table
        response = client.put(path, body)
        assert response.status == 201, (path, response.json)
        assert response.json["name"] == path.split("/")[-1]
    other.close()


SWEEP_JOB = {"jobType": "Sweep", "searchSpace": {"x": ["choice", [[1]]]},
             "samplingAlgorithm": {"samplingAlgorithmType": "Grid"}, "limits": {"jobLimitsType": "Sweep"},
             "objective": {"goal": "Minimize", "primaryMetric": "loss"},
             "trial": {"command": "echo ${{search_space.x}}", "environmentId": "azureml:env:1"}}


@pytest.mark.parametrize("failing", ["spawn", "log folder"])
def test_a_job_whose_executor_cannot_be_started_again_ends_failed_instead_of_waiting_forever(client, app,
                                                                                           monkeypatch, failing):
    """A sweep whose controller died is taken over to start a new one; when that cannot start (no process, a full
    disk), the sweep ends Failed: it would otherwise stay held by the live supervising process."""
    gone = int(Path("/proc/sys/kernel/pid_max").read_text())  # pids are below pid_max: no process has this one
    assert client.put("/jobs/s", {"properties": SWEEP_JOB}).status == 201
    assert app.store.claim_controller("local", "s", gone, 0) == "Queued"
    app.store.set_job_status("local", "s", "Running")

    def no_process(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    jobs = Jobs(app.store, "u")
    if failing == "spawn":
        monkeypatch.setattr(jobs._spawner, "spawn", no_process)
    else:  # its log folder cannot be made (a full disk; here: under a file)
        monkeypatch.setattr(app.store, "job_folder", lambda ws, name: Path("/proc/version") / name)
    jobs.supervise()
    job = app.store.get_job("local", "s")
    assert job["status"] == "Failed" and "the local runner could not start: [Errno" in job["error"]


def test_a_job_whose_restarter_died_before_starting_it_is_started_again_not_failed(client, app, monkeypatch):
    """A supervisor takes over a never-started job to start it and is killed before it starts the runner: the job
    never ran, so the next supervisor starts it; a runner that died before claiming its job still fails it."""
    gone = int(Path("/proc/sys/kernel/pid_max").read_text())  # pids are below pid_max: no process has this one
    for name in ("orphan", "crashed"):
        client.put(f"/jobs/{name}", {"properties": COMMAND_JOB})
    job = app.store.get_job("local", "orphan")
    assert app.store.take_over_if(job, lambda row: True, gone, rerun=True)  # ... and it died here
    app.store.set_runner("local", "crashed", gone)  # started a runner, which died before claiming the job
    started = []
    jobs = Jobs(app.store, "u")
    monkeypatch.setattr(jobs._spawner, "spawn", lambda argv, **kw: started.append(argv[-1]) or os.getpid())
    jobs.supervise()
    assert started == ["orphan"]
    orphan, crashed = app.store.get_job("local", "orphan"), app.store.get_job("local", "crashed")
    assert orphan["status"] == "NotStarted" and orphan["runner_pid"] == os.getpid() and orphan["heartbeat_at"]
    assert crashed["status"] == "Failed" and "the runner stopped" in crashed["error"]


def test_one_job_that_cannot_be_supervised_does_not_stop_the_others(client, app, caplog):
    gone = int(Path("/proc/sys/kernel/pid_max").read_text())  # pids are below pid_max: no process has this one
    for name in ("damaged", "dead"):
        client.put(f"/jobs/{name}", {"properties": COMMAND_JOB})
    with app.store.write() as conn:
        conn.execute("UPDATE jobs SET status_at = 'yesterday' WHERE name = 'damaged'")
    assert app.store.claim_job("local", "dead", gone)
    Jobs(app.store, "u", launch=False).supervise()
    assert app.store.get_job("local", "dead")["status"] == "Failed"
    assert "supervision of job damaged failed" in caplog.text


def test_a_store_from_a_newer_version_or_not_a_database_is_refused(home, tmp_path):
    home.mkdir()
    conn = sqlite3.connect(home / DB_NAME)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this azureml_v2"):
        Store(home)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a local workspace database"):
        Store(junk)


def test_a_home_that_cannot_be_written_is_one_error_of_the_package_saying_so(home, monkeypatch):
    Store(home).close()

    def read_only(self, conn):  # what SQLite answers when WAL cannot create its files beside the database
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(Store, "_use_wal", read_only)
    with pytest.raises(AzureMLError, match="cannot open the local workspace database .* must be writable") as caught:
        Store(home)
    assert isinstance(caught.value, StoreError)
    assert "not a local workspace database" not in str(caught.value)


@pytest.mark.parametrize("error", [sqlite3.OperationalError("database or disk is full"),
                                   OSError(28, "No space left on device")])
def test_a_full_disk_is_one_clear_error_and_writes_nothing(client, app, monkeypatch, error):
    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(app.store, "put_version", full)
    response = client.put("/environments/e/versions/1", {"properties": {"image": "python:3.11-slim"}})
    assert response.status == 507 and response.json["error"]["code"] == "InsufficientStorage"
    assert "its disk is full" in response.json["error"]["message"]
    assert client.get("/environments/e/versions/1").status == 404


def test_a_home_that_is_a_file_or_under_one_is_one_error_saying_so(tmp_path):
    (tmp_path / "file").write_text("x")
    for home in (tmp_path / "file", tmp_path / "file" / "home"):
        with pytest.raises(StoreError, match="home must be a folder, and this path is a file or lies under one"):
            Store(home)


def test_state_survives_a_new_app_on_the_same_home(home):
    Client(make_app(home)).put("/environments/e/versions/3", {"properties": {"image": "python"}})
    assert os.stat(home / DB_NAME).st_mode & 0o077 == 0  # it holds datastore secrets
    client = Client(make_app(home))
    assert client.get("/environments/e").json["properties"]["nextVersion"] == "4"
    assert client.get("/environments/e/versions/3").json["properties"]["osType"] == "Linux"


def test_supervision_never_calls_time_sleep(home, monkeypatch):
    from azureml_v2.local.api import app as app_module

    monkeypatch.setattr(app_module, "SUPERVISE_EVERY", 0.02)
    slept = []
    opened = make_app(home, user="tester")  # run_jobs: supervised on the timer
    monkeypatch.setattr("time.sleep", slept.append)  # as tests that record retry delays do
    try:
        rounds = threading.Event()
        monkeypatch.setattr(opened, "supervise", rounds.set)
        assert rounds.wait(5)  # the timer ran a round while time.sleep was patched
    finally:
        opened.close()
    assert slept == []
