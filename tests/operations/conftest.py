"""An MLClient on a fresh local workspace, in-process, with every request it sends recorded."""
from __future__ import annotations

import io
import json
import re

import pytest

from azureml_v2._client import MLClient
from azureml_v2._http.inprocess import WSGITransport
from azureml_v2.local import make_app

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


def local_client(home, **service_options):
    recorder = Recorder(make_app(home, **service_options))
    client = MLClient(home=home, transport=WSGITransport(recorder), polling_interval=0)
    client.sent = recorder
    return client


@pytest.fixture
def ml_client(tmp_path, request):
    """The local workspace; on teardown every PUT body it was sent must validate against the spec
    (when ../shared holds the spec)."""
    try:
        validate = request.getfixturevalue("rest_validate")
    except pytest.skip.Exception:
        validate = None
    client = local_client(tmp_path / "home")
    yield client
    client.close()
    client.sent.close()
    for path, body in client.sent.puts() if validate else ():
        assert validate(body, client.sent.definition(path)) == [], f"PUT {path}: {body}"
