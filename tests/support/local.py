"""Fixtures for the local workspace service: the WSGI app over a fresh home, a client that calls it directly."""
from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest

from azureml_v2.local.service import API_VERSION, make_app, workspace_id

WS = workspace_id("local")


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


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def app(home):
    app = make_app(home, page_size=3, max_body=64 * 1024, user="tester")
    yield app
    app.close()


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture(scope="session")
def rest_response(rest_validate):
    """validate(body, definition) -> problems, checking read-only fields too (as a response)."""
    from conftest import SPEC, TOOLS  # tests/conftest.py, already loaded by pytest

    sys.path.insert(0, str(TOOLS))
    try:
        import restcheck
    finally:
        sys.path.remove(str(TOOLS))
    return lambda body, definition: restcheck.validate(body, definition, str(SPEC), request=False)
