"""MLClient against a local workspace served over HTTP on a loopback port, and what importing it loads (in a
fresh interpreter)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError

from azureml_v2 import ValidationError
from azureml_v2._client import MLClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_importing_mlclient_loads_no_azure_sdk_modules():
    code = ("import sys; from azureml_v2._client import MLClient; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'marshmallow', 'yaml', 'requests')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_served_local_workspace_over_http_needs_its_token(tmp_path):
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from azureml_v2.local import make_app
    from azureml_v2.local.api.http import require_token

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    app = make_app(tmp_path / "home")
    server = make_server("127.0.0.1", 0, require_token(app, "tok-1"), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    try:
        with MLClient(endpoint=endpoint, credential="tok-1") as client:
            assert [c.name for c in client.compute.list()] == ["local"]
        with MLClient(endpoint=endpoint, credential="tok-2", retry_total=0) as stranger:
            with pytest.raises(ClientAuthenticationError, match="missing or invalid bearer token"):
                stranger.compute.get("local")
    finally:
        server.shutdown()
        thread.join()
        app.close()


def _serve_home(home):
    """Serve the workspace `home` in a thread with its own tokens and write its server.json as `azml server
    start` does (this process stands in for the server's)."""
    import os
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from azureml_v2.local import make_app
    from azureml_v2.local.api.http import READER, require_token
    from azureml_v2.local.api.server import STATE_FILE, ensure_token
    from azureml_v2.local.core.processes import process_start

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    app = make_app(home)
    server = make_server("127.0.0.1", 0, require_token(app, ensure_token(home)[0], ensure_token(home, READER)[0]),
                         handler_class=Quiet)
    endpoint = f"http://127.0.0.1:{server.server_port}"
    (home / STATE_FILE).write_text(json.dumps({"pid": os.getpid(), "started": process_start(os.getpid()),
                                               "host": "127.0.0.1", "port": server.server_port,
                                               "endpoint": endpoint}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, app, endpoint


def test_a_served_endpoint_without_credential_uses_the_token_of_the_home_serving_it(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("AZUREML_V2_HOME", str(home))
    server, thread, app, endpoint = _serve_home(home)
    try:
        with MLClient(endpoint=endpoint + "/", retry_total=0) as client:
            assert [c.name for c in client.compute.list()] == ["local"]
        with MLClient(endpoint=endpoint.replace("127.0.0.1", "localhost"), retry_total=0) as client:
            assert client.compute.get("local").name == "local"
        other = f"http://127.0.0.1:{server.server_port + 1 if server.server_port < 65535 else 1}"
        with pytest.raises(ValidationError, match=r"no server of .* listens there.*pass credential=<token>"
                                                  r".*azml server token"):
            MLClient(endpoint=other)
    finally:
        server.shutdown()
        thread.join()
        app.close()
