"""The local workspace service in-process: a client that calls its WSGI app directly, and an MLClient on it
with every request it sends recorded."""
from __future__ import annotations

import io
import json
import re
from types import SimpleNamespace
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest

from azureml_v2._client import MLClient
from azureml_v2._contract import API_VERSION
from azureml_v2._http.inprocess import AsyncWSGITransport, WSGITransport
from azureml_v2.local import make_app
from azureml_v2.local.core.workspace import workspace_id

WS = workspace_id("local")


def wsgi_call(app, method, path, body=b"", query="", headers=None):
    """One raw request to a WSGI app (any path; `headers` by their HTTP names) -> status, headers, body bytes."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}}
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, response_headers):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    raw = b"".join(app(environ, start_response))
    return SimpleNamespace(status=seen["status"], headers=seen["headers"], body=raw)


class Client:
    """Calls a WSGI app in-process; `path` is relative to workspace `local` unless it starts with /subscriptions."""

    def __init__(self, app):
        self.app = app

    def call(self, method: str, path: str = "", body=None, *, query: str | None = None,
             api_version: str | None = API_VERSION, headers: dict | None = None):
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            path, query = parts.path, parts.query
        elif not path.startswith("/subscriptions"):
            path = WS + path
        if query is None:
            query = "" if api_version is None else f"api-version={api_version}"
        data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                   "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json",
                   "wsgi.input": io.BytesIO(data)}
        for key, value in (headers or {}).items():
            environ[key] = value
        setup_testing_defaults(environ)
        seen = {}

        def start_response(status, response_headers):
            seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

        raw = b"".join(self.app(environ, start_response))
        assert seen["headers"]["Content-Length"] == str(len(raw))
        return SimpleNamespace(status=seen["status"], headers=seen["headers"], json=json.loads(raw) if raw else None)

    def get(self, path="", **kw):
        return self.call("GET", path, **kw)

    def put(self, path, body, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def names(self, path: str, params: str = "") -> list[str]:
        """The names on the first page of a list, with query `params` (a=b&c=d) besides the api-version."""
        response = self.get(path, query=f"api-version={API_VERSION}&{params}")
        assert response.status == 200, response.json
        return [item["name"] for item in response.json["value"]]

    def pages(self, path, **kw) -> list[list[dict]]:
        """Every page of a list, following nextLink."""
        response = self.get(path, **kw)
        pages = []
        while True:
            assert response.status == 200, response.json
            pages.append(response.json["value"])
            link = response.json.get("nextLink")
            if not link:
                return pages
            response = self.get(link)


# PUT path under the workspace -> the spec definition of its body
_BODY_DEFINITIONS = [
    (re.compile(r"/(jobs)/[^/]+$"), {"jobs": "JobBaseResource"}),
    (re.compile(r"/(codes|data|environments|models|components)/[^/]+/versions/[^/]+$"), {
        "codes": "CodeVersionResource", "data": "DataVersionBaseResource",
        "environments": "EnvironmentVersionResource", "models": "ModelVersionResource",
        "components": "ComponentVersionResource"}),
    (re.compile(r"/(codes|data|environments|models|components)/[^/]+$"), {
        "codes": "CodeContainerResource", "data": "DataContainerResource",
        "environments": "EnvironmentContainerResource", "models": "ModelContainerResource",
        "components": "ComponentContainerResource"}),
    (re.compile(r"/(datastores)/[^/]+$"), {"datastores": "DatastoreResource"}),
    (re.compile(r"/(computes)/[^/]+$"), {"computes": "ComputeResource"}),
    (re.compile(r"/(schedules)/[^/]+$"), {"schedules": "ScheduleResource"}),
    (re.compile(r"/(registries)/[^/]+$"), {"registries": "RegistryTrackedResource"}),
    (re.compile(r"/providers/Microsoft\.MachineLearningServices/(workspaces)/[^/]+$"), {"workspaces": "Workspace"}),
    (re.compile(r"/(connections)/[^/]+$"), {"connections": "WorkspaceConnectionPropertiesV2BasicResource"}),
    (re.compile(r"/(onlineEndpoints|batchEndpoints)/[^/]+$"), {
        "onlineEndpoints": "OnlineEndpointTrackedResource", "batchEndpoints": "BatchEndpointTrackedResource"}),
    (re.compile(r"/(onlineEndpoints|batchEndpoints)/[^/]+/deployments/[^/]+$"), {
        "onlineEndpoints": "OnlineDeploymentTrackedResource", "batchEndpoints": "BatchDeploymentTrackedResource"}),
]


class Recorder:
    """WSGI middleware that keeps (method, path, query, JSON body) of every request."""

    def __init__(self, app):
        self.app, self.requests = app, []

    def __call__(self, environ, start_response):
        raw = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(raw)
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"],
                              json.loads(raw) if raw else None))
        return self.app(environ, start_response)

    def close(self):
        self.app.close()

    def puts(self) -> list[tuple[str, dict]]:
        return [(path, body) for method, path, _, body in self.requests if method == "PUT"]

    def definition(self, path: str) -> str:
        for pattern, names in _BODY_DEFINITIONS:
            m = pattern.search(path)
            if m:
                return names[m.group(1)]
        raise AssertionError(f"no spec definition known for PUT {path}")


def local_client(home, api: str = "sync", *, workspace_name=None, registry_name=None, **service_options):
    """MLClient (api "sync"), or azureml_v2.aio.MLClient behind a synchronous face ("aio"), on the local
    workspace in `home`, in this process; `client.sent` records every request."""
    recorder = Recorder(make_app(home, **service_options))
    names = {"workspace_name": workspace_name, "registry_name": registry_name}
    if api == "aio":
        from azureml_v2 import aio as azureml_aio

        from .aio import Client
        client = Client(azureml_aio.MLClient(home=home, transport=AsyncWSGITransport(recorder), polling_interval=0,
                                             **names))
    else:
        client = MLClient(home=home, transport=WSGITransport(recorder), polling_interval=0, **names)
    client.sent = recorder
    return client
