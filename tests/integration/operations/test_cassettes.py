"""Recording the Azure path against a loopback server keeps the token off disk."""
from __future__ import annotations

import json
import threading

import pytest
from conftest import cloud_vcr

from azureml_v2._client import MLClient

pytestmark = pytest.mark.integration


def test_recording_against_a_live_endpoint_never_writes_the_token(tmp_path):
    """Should someone re-record against a workspace, filter_headers keeps the token off disk: recorded here
    against a loopback server that, like ARM, answers only with the bearer token."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    seen = []

    def app(environ, start_response):
        seen.append(environ.get("HTTP_AUTHORIZATION"))
        ok = environ.get("HTTP_AUTHORIZATION") == "Bearer secret-recording-token"
        start_response("200 OK" if ok else "401 Unauthorized", [("Content-Type", "application/json")])
        return [json.dumps({"value": []} if ok else {"error": {"code": "Unauthorized", "message": "no"}}).encode()]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with cloud_vcr.use_cassette(str(tmp_path / "live.yaml"), record_mode="all"), \
                MLClient(endpoint=f"http://127.0.0.1:{server.server_port}", credential="secret-recording-token",
                         retry_total=0) as client:
            assert list(client.compute.list()) == []
    finally:
        server.shutdown()
        thread.join()
    assert seen == ["Bearer secret-recording-token"]
    text = (tmp_path / "live.yaml").read_text(encoding="utf-8")
    assert "/computes?api-version=2024-04-01" in text
    assert "secret-recording-token" not in text and "authorization" not in text.lower()
