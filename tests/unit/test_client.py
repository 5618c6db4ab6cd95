"""MLClient construction, config.json discovery, and the pipeline (auth, user agent, retries, logging,
errors, paging, polling) driven through the in-process transport against small WSGI apps.

The Azure path is exercised here against scripted responses; tests/unit/operations/test_cassettes.py replays vcrpy cassettes shaped on the
spec's examples (recordings/).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from support.credentials import TOKEN, FakeCredential

from azureml_v2 import ValidationError
from azureml_v2._client import MLClient, find_config
from azureml_v2._http.inprocess import WSGITransport

ROOT = Path(__file__).resolve().parents[2]
SUB = "11111111-2222-3333-4444-555555555555"


class ScriptedApp:
    """A WSGI app answering each request with the next scripted (status, headers, body); records requests."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.requests.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                              "query": environ["QUERY_STRING"], "body": body,
                              "headers": {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                                          if k.startswith("HTTP_")}})
        status, headers, payload = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), *headers])
        return [data]


def azure_client(app, **kwargs):
    return MLClient(kwargs.pop("credential", None) or FakeCredential(), SUB, "rg", "ws",
                    transport=WSGITransport(app), **kwargs)


# -- construction -------------------------------------------------------------------------------------------
def test_no_arguments_opens_the_local_workspace_under_azureml_v2_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_V2_HOME", str(tmp_path / "home"))
    client = MLClient()
    assert client.home == tmp_path / "home"
    assert client.is_local
    assert client._scope == ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                             "Microsoft.MachineLearningServices/workspaces/local")
    assert MLClient.local(tmp_path / "other").home == (tmp_path / "other").resolve()


def test_azure_workspace_scope_and_incomplete_arguments():
    client = MLClient(FakeCredential(), SUB, "rg", "ws")
    assert not client.is_local and client.home is None
    assert client._scope.endswith(f"{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws")
    with pytest.raises(ValidationError, match="resource_group_name, workspace_name"):
        MLClient(FakeCredential(), SUB)
    with pytest.raises(ValidationError, match="not a token string"):
        MLClient("token", SUB, "rg", "ws")
    with pytest.raises(ValidationError, match="needs a workspace"):
        MLClient(FakeCredential())


# -- config.json --------------------------------------------------------------------------------------------
def _write_config(folder: Path, **values) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(values))
    return path


def test_from_config_finds_dot_azureml_config_in_a_parent_folder(tmp_path):
    _write_config(tmp_path / ".azureml", subscription_id=SUB, resource_group="rg", workspace_name="ws")
    nested = tmp_path / "project" / "src"
    nested.mkdir(parents=True)
    client = MLClient.from_config(FakeCredential(), path=nested)
    assert (client.subscription_id, client.resource_group_name, client.workspace_name) == (SUB, "rg", "ws")


def test_from_config_prefers_the_nearest_folder_and_reads_a_scope_id(tmp_path, monkeypatch):
    _write_config(tmp_path, subscription_id=SUB, resource_group="far", workspace_name="far")
    near = _write_config(tmp_path / "a", Scope=f"/subscriptions/{SUB}/resourceGroups/near/providers/"
                                               "Microsoft.MachineLearningServices/workspaces/near-ws")
    monkeypatch.chdir(tmp_path / "a")
    assert find_config() == near
    client = MLClient.from_config(FakeCredential())
    assert (client.resource_group_name, client.workspace_name) == ("near", "near-ws")


def test_from_config_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(ValidationError, match="no .azureml/config.json or config.json"):
        MLClient.from_config(FakeCredential(), path=tmp_path)
    with pytest.raises(ValidationError, match="no such file or folder"):
        MLClient.from_config(FakeCredential(), path=tmp_path / "missing.json")
    bad = tmp_path / "config.json"
    bad.write_text('{\n  "subscription_id": "x",\n  oops\n}')
    with pytest.raises(ValidationError, match=r"config.json:3:3: not valid JSON"):
        MLClient.from_config(FakeCredential(), path=tmp_path)
    _write_config(tmp_path, subscription_id=SUB)
    with pytest.raises(ValidationError) as info:
        MLClient.from_config(FakeCredential(), path=bad)
    assert [p.message for p in info.value.problems] == ["missing resource_group", "missing workspace_name"]


# -- the pipeline -------------------------------------------------------------------------------------------
NOT_FOUND = ("404 Not Found", [], {"error": {"code": "UserError", "message": "Could not find asset with name: nope"}})
EMPTY_PAGE = ("200 OK", [], {"value": []})


def test_azure_requests_carry_a_bearer_token_for_arm_and_our_user_agent():
    app = ScriptedApp(EMPTY_PAGE)
    credential = FakeCredential()
    client = azure_client(app, credential=credential)
    assert list(client.data.list()) == []
    request = app.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert credential.scopes == ["https://management.azure.com/.default"]
    assert request["headers"]["user-agent"].startswith("azureml_v2/")
    assert request["path"] == (f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
                               "Microsoft.MachineLearningServices/workspaces/ws/data")
    assert "api-version=2024-04-01" in request["query"]


def test_a_served_local_workspace_gets_the_static_token(monkeypatch):
    app = ScriptedApp(EMPTY_PAGE)
    client = MLClient(endpoint="http://127.0.0.1:9", credential="tok-123", transport=WSGITransport(app))
    list(client.environments.list())
    assert app.requests[0]["headers"]["authorization"] == "Bearer tok-123"
    assert app.requests[0]["headers"]["host"] == "127.0.0.1:9"


def test_error_statuses_become_azure_core_exceptions_with_the_service_message():
    client = azure_client(ScriptedApp(NOT_FOUND))
    with pytest.raises(ResourceNotFoundError) as info:
        client.data.get("nope", version="1")
    assert "Could not find asset with name: nope" in str(info.value)
    assert info.value.error.code == "UserError"
    unauthorized = ("401 Unauthorized", [], {"error": {"code": "AuthenticationFailed", "message": "bad token"}})
    with pytest.raises(ClientAuthenticationError, match="bad token"):
        azure_client(ScriptedApp(unauthorized)).data.get("x", version="1")
    bad = ("400 Bad Request", [], {"error": {"code": "UserError", "message": "description too long"}})
    with pytest.raises(HttpResponseError, match="description too long"):
        azure_client(ScriptedApp(bad)).data.get("x", version="1")


def test_429_is_retried_after_the_retry_after_delay():
    throttled = ("429 Too Many Requests", [("Retry-After", "0")], {"error": {"code": "TooMany", "message": "slow"}})
    app = ScriptedApp(throttled, EMPTY_PAGE)
    assert list(azure_client(app).models.list()) == []
    assert len(app.requests) == 2


def test_list_follows_next_link_across_pages():
    def resource(name):
        return {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                      f"workspaces/ws/data/{name}", "name": name, "properties": {"dataType": "uri_folder"}}
    next_link = (f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers/"
                 "Microsoft.MachineLearningServices/workspaces/ws/data?api-version=2024-04-01&$skipToken=abc")
    app = ScriptedApp(("200 OK", [], {"value": [resource("a"), resource("b")], "nextLink": next_link}),
                      ("200 OK", [], {"value": [resource("c")]}))
    assert [d.name for d in azure_client(app).data.list()] == ["a", "b", "c"]
    assert "$skipToken=abc" in app.requests[1]["query"]


def test_logging_never_shows_the_token_or_secrets(caplog):
    secret_body = {"secretsType": "AccountKey", "key": "c3VwZXJzZWNyZXRrZXk="}
    app = ScriptedApp(NOT_FOUND)
    client = azure_client(app, logging_enable=True)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ResourceNotFoundError):
            client.data.get("nope", version="1")
        client._pipeline.send_request(client.data._request("PUT", "datastores", "blob", json={
            "properties": {"credentials": {"credentialsType": "AccountKey", "secrets": secret_body}}}))
        app.responses = [("200 OK", [], secret_body)]
        client._pipeline.send_request(client.data._request("POST", "datastores", "blob", "listSecrets"))
    text = caplog.text
    assert "'Authorization': 'REDACTED'" in text
    assert "secret-token-value" not in text and "c3VwZXJzZWNyZXRrZXk=" not in text
    assert '"secrets": "REDACTED"' in text  # request bodies are logged, with credentials redacted
    assert "Could not find asset with name: nope" in text  # response bodies are logged too
    assert "Response body: <secrets: not logged>" in text


def test_begin_delete_polls_the_location_until_done():
    scope = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
    location = f"https://management.azure.com{scope}/computeOperationsStatus/op1?api-version=2024-04-01"
    app = ScriptedApp(("202 Accepted", [("Location", location), ("Retry-After", "0")], b""),
                      ("202 Accepted", [("Location", location), ("Retry-After", "0")], b""),
                      ("200 OK", [], b""))
    poller = azure_client(app, polling_interval=0).compute.begin_delete("cpu")
    assert poller.result() is None and poller.status() == "Succeeded"
    assert [(r["method"], r["path"].rsplit("/", 2)[-2:]) for r in app.requests] == [
        ("DELETE", ["computes", "cpu"]), ("GET", ["computeOperationsStatus", "op1"]),
        ("GET", ["computeOperationsStatus", "op1"])]
    assert "underlyingResourceAction=Delete" in app.requests[0]["query"]


def test_the_wsgi_transport_hands_over_method_path_query_headers_and_body():
    app = ScriptedApp(("201 Created", [("x-ms-request-id", "r1")], {"ok": True}))
    from azure.core.rest import HttpRequest
    with WSGITransport(app) as transport:
        response = transport.send(HttpRequest("PUT", "http://localhost/a%20b/c?x=1&y=%C3%A9",
                                              json={"k": "v"}, headers={"X-Custom": "1"}))
    assert (response.status_code, response.reason, response.json()) == (201, "Created", {"ok": True})
    assert response.headers["X-MS-REQUEST-ID"] == "r1"
    seen = app.requests[0]
    assert (seen["method"], seen["path"], seen["query"]) == ("PUT", "/a b/c", "x=1&y=%C3%A9")
    assert json.loads(seen["body"]) == {"k": "v"} and seen["headers"]["x-custom"] == "1"


def test_begin_create_or_update_polls_the_async_operation_then_reads_the_compute(rest_validate):
    from azureml_v2.entities import AmlCompute
    scope = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
    status = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/" \
             "locations/eastus/computeOperationsStatus/op2?api-version=2024-04-01"
    resource = {"id": f"{scope}/computes/cpu", "name": "cpu", "location": "eastus", "properties": {
        "computeType": "AmlCompute", "provisioningState": "Succeeded", "properties": {
            "vmSize": "STANDARD_DS3_V2", "vmPriority": "LowPriority",
            "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT2M"}}}}
    app = ScriptedApp(("201 Created", [("Azure-AsyncOperation", status)], {**resource, "properties": {
                          **resource["properties"], "provisioningState": "Creating"}}),
                      ("200 OK", [], {"status": "InProgress"}),
                      ("200 OK", [], {"status": "Succeeded"}),
                      ("200 OK", [], resource))
    compute = AmlCompute(name="cpu", location="eastus", size="STANDARD_DS3_V2", tier="low_priority",
                         min_instances=0, max_instances=4, idle_time_before_scale_down=120)
    result = azure_client(app, polling_interval=0).compute.begin_create_or_update(compute).result()
    assert result == AmlCompute(name="cpu", location="eastus", size="STANDARD_DS3_V2", tier="low_priority",
                                min_instances=0, max_instances=4, idle_time_before_scale_down=120,
                                provisioning_state="Succeeded")
    sent = json.loads(app.requests[0]["body"])
    assert rest_validate(sent, "ComputeResource") == []
    assert sent["properties"]["properties"]["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == "PT2M"
    assert [r["method"] for r in app.requests] == ["PUT", "GET", "GET", "GET"]


# -- the real local workspace ---------------------------------------------------------------------------
def test_the_local_workspace_is_created_on_first_use(tmp_path):
    home = tmp_path / "fresh"
    with MLClient.local(home) as client:
        assert not home.exists()  # nothing happens until the first call
        assert client.datastores.get_default().name == "workspaceblobstore"
        assert home.is_dir()


def test_an_endpoint_without_credential_and_no_server_in_home_asks_for_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_V2_HOME", str(tmp_path / "nothing-served"))
    with pytest.raises(ValidationError, match="no server of .*nothing-served.*pass credential=<token>"):
        MLClient(endpoint="http://127.0.0.1:9")
    assert not (tmp_path / "nothing-served").exists()


@pytest.mark.parametrize("verb", ["start", "stop", "restart"])
def test_compute_start_stop_restart_are_long_running_posts(verb):
    location = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/" \
               "locations/eastus/computeOperationsStatus/op3?api-version=2024-04-01"
    app = ScriptedApp(("202 Accepted", [("Location", location)], b""), ("200 OK", [], b""))
    poller = getattr(azure_client(app, polling_interval=0).compute, f"begin_{verb}")("ci")
    poller.wait()
    assert poller.done() and poller.status() == "Succeeded"
    assert (app.requests[0]["method"], app.requests[0]["path"].rsplit("/", 2)[-2:]) == ("POST", ["ci", verb])
