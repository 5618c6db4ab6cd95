"""`azml server` over real HTTP (waitress): tokens and roles, path traversal, body limit, idle timeout, a small
bounded load, and kill -9 during concurrent writes."""
from __future__ import annotations

import http.client
import importlib.util
import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.core.exceptions import HttpResponseError

from azureml_v2 import MLClient
from azureml_v2.local.api import server
from azureml_v2.local.api.http import stop_server
from azureml_v2._contract import API_VERSION
from azureml_v2.local.core.processes import process_alive
from azureml_v2.local.core.workspace import workspace_id

pytestmark = pytest.mark.integration

pytest.importorskip("waitress")

WS = workspace_id("local")
Q = f"?api-version={API_VERSION}"
BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_server.py"


def call(endpoint: str, method: str, target: str, token: str | None = None, body: bytes | None = None,
         headers: dict | None = None):
    """One request, the target sent as given -> (status, headers, JSON body or raw bytes)."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        conn.request(method, target, body=body, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw)
        except ValueError:
            data = raw
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def data_body(n) -> bytes:
    return json.dumps({"properties": {"dataType": "uri_file", "dataUri": f"azureml://datastores/x/paths/{n}.csv",
                                      "tags": {"n": str(n)}}}).encode()


@pytest.fixture
def served(tmp_path):
    """The server of `azml server`, in this process, with a 64 KiB body limit (blob uploads too) and a 1 s idle
    timeout."""
    home = tmp_path / "home"
    sockets: dict = {}
    srv = server.create_server(home, max_body=64 * 1024, max_upload=0, channel_timeout=1, cleanup_interval=1,
                               map=sockets)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield {"endpoint": f"http://127.0.0.1:{srv.effective_port}", "home": home,
               "contributor": server.ensure_token(home)[0], "reader": server.ensure_token(home, server.READER)[0]}
    finally:
        stop_server(srv, sockets, thread, 5)


def test_a_server_whose_loop_ran_the_stop_before_the_wake_up_stops_quietly(tmp_path, monkeypatch):
    sockets: dict = {}
    srv = server.create_server(tmp_path / "home", map=sockets)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    pull = srv.trigger._physical_pull

    def late_pull():  # the loop woke for another reason and ran the stop (closing the trigger) before this write
        with srv.trigger.lock:
            thunks, srv.trigger.thunks = srv.trigger.thunks, []
        for thunk in thunks:
            thunk()
        pull()

    monkeypatch.setattr(srv.trigger, "_physical_pull", late_pull)
    stop_server(srv, sockets, thread, 5)
    assert not thread.is_alive() and sockets == {}


def test_every_request_needs_a_token_and_readers_only_read(served, caplog):
    caplog.set_level(logging.DEBUG)
    url, writer, reader = served["endpoint"], served["contributor"], served["reader"]
    version = f"{WS}/data/d/versions/1{Q}"
    status, headers, body = call(url, "GET", f"{WS}{Q}")
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert headers["www-authenticate"].startswith("Bearer")
    assert call(url, "GET", f"{WS}{Q}", "not-the-token")[0] == 401
    assert call(url, "GET", f"{WS}{Q}", writer[:-1])[0] == 401
    assert call(url, "GET", f"{WS}{Q}", headers={"Authorization": f"Basic {writer}"})[0] == 401
    assert call(url, "GET", f"{WS}{Q}", reader)[0] == 200

    status, _, body = call(url, "PUT", version, reader, data_body(1))
    assert status == 403 and body["error"]["code"] == "AuthorizationFailed"
    assert call(url, "GET", version, writer)[0] == 404  # the refused write left nothing
    assert call(url, "PUT", version, writer, data_body(1))[0] == 201
    assert call(url, "GET", version, reader)[2]["properties"]["tags"] == {"n": "1"}
    assert call(url, "DELETE", version, reader)[0] == 403
    assert call(url, "PATCH", version, reader, b"{}")[0] == 403
    # listSecrets needs more than Reader, as in Azure
    assert call(url, "POST", f"{WS}/datastores/workspaceblobstore/listSecrets{Q}", reader, b"")[0] == 403
    # MLflow's searches are reads sent as POST; creating a run is a write
    search = call(url, "POST", "/api/2.0/mlflow/experiments/search", reader, b'{"max_results": 10}')
    assert search[0] == 200 and "experiments" in search[2]
    assert call(url, "POST", "/api/2.0/mlflow/runs/create", reader, b'{"experiment_id": "0"}')[0] == 403
    assert call(url, "POST", "/api/2.0/mlflow/runs/create", writer, b'{"experiment_id": "0"}')[0] == 200

    assert writer not in caplog.text and reader not in caplog.text


def test_the_sdk_with_a_reader_token_reads_and_is_refused_writes(served):
    from azureml_v2 import Data

    with MLClient(endpoint=served["endpoint"], credential=served["contributor"]) as client:
        client.data.create_or_update(Data(name="d", version="1", path="azureml://datastores/x/paths/a.csv",
                                          type="uri_file"))
    with MLClient(endpoint=served["endpoint"], credential=served["reader"], retry_total=0) as client:
        assert client.data.get("d", version="1").path.endswith("a.csv")
        with pytest.raises(HttpResponseError) as refused:
            client.data.create_or_update(Data(name="d", version="2", path="azureml://datastores/x/paths/b.csv",
                                              type="uri_file"))
        assert refused.value.status_code == 403


def test_blob_metadata_named_with_underscores_is_kept(tmp_path):
    """azure-ai-ml marks an upload finished with `upload_status` and skips content already marked so."""
    home = tmp_path / "home"
    sockets: dict = {}
    srv = server.create_server(home, map=sockets)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        endpoint, token = f"http://127.0.0.1:{srv.effective_port}", server.ensure_token(home)[0]
        assert call(endpoint, "GET", WS + Q, token)[0] == 200  # the default workspace, made on first use
        blob = "/blob/local/workspaceblobstore/LocalUpload/abc/.amlignore"
        status, _, answer = call(endpoint, "PUT", blob, token, b"*.pyc", headers={
            "x-ms-blob-type": "BlockBlob", "x-ms-meta-upload_status": "completed", "X-Ms-Meta-Name": "my_code",
            "x_forwarded_for": "10.0.0.1"})
        assert status == 201, answer
        status, headers, _ = call(endpoint, "HEAD", blob, token)
        assert status == 200 and headers["x-ms-meta-upload_status"] == "completed"
        assert headers["x-ms-meta-name"] == "my_code"
    finally:
        stop_server(srv, sockets, thread, 5)


@pytest.mark.parametrize("target", [
    f"{WS}/data/../../../../etc/passwd{Q}",
    f"{WS}/data/%2e%2e/versions/1{Q}",
    f"{WS}/data/%2E%2E%2F%2E%2E%2Fetc/versions/1{Q}",
    f"{WS}/data/.%2e/versions/..{Q}",
    f"{WS}/data/d/versions/%2e{Q}",
    f"{WS}/data/d%00x/versions/1{Q}",
    f"{WS}/data/d/versions/1%00{Q}",
    f"{WS}/data//etc/passwd{Q}",
    f"{WS}/data/%2Fetc%2Fpasswd/versions/1{Q}",
    f"{WS}/data/..%5c..%5cwindows/versions/1{Q}",
    f"{WS}/jobs/..{Q}",
    f"{WS}/jobs/%2e%2e%2f%2e%2e%2fescape{Q}",
    f"{WS}/datastores/..%2f..%2f{Q}",
    f"{WS}/codes/c/versions/%2fabs%2fpath{Q}",
    f"{WS[:-len('/local')]}/..%2f..%2fevil/data{Q}",
    f"{WS[:-len('/local')]}/%2e%2e/data{Q}",
    "/api/2.0/mlflow/../../../etc/passwd",
    "/api/2.0/mlflow/%2e%2e/%2e%2e/etc/passwd",
    "/subscriptions/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_path_traversal_is_refused_never_a_500(served, target, method):
    home = served["home"]
    before = sorted(p for p in home.parent.rglob("*") if home not in p.parents and p != home)
    status, _, body = call(served["endpoint"], method, target, served["contributor"],
                           data_body(1) if method == "PUT" else None)
    assert status in (400, 404, 405), (status, body)
    assert isinstance(body, dict) and body.get("error", {}).get("code") or body.get("error_code"), body
    assert sorted(p for p in home.parent.rglob("*") if home not in p.parents and p != home) == before


def test_mlflow_ids_with_traversal_are_not_found(served):
    status, _, body = call(served["endpoint"], "GET", "/api/2.0/mlflow/runs/get?run_id=..%2f..%2fetc%2fpasswd",
                           served["reader"])
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_no_directory_listing(served):
    folder = served["home"] / "datastores" / "workspaceblobstore"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inner.txt").write_text("TOPSECRET")
    for target in ("/", "/datastores/", "/datastores/workspaceblobstore/", "/subscriptions/",
                   "/datastores/workspaceblobstore/inner.txt"):
        status, _, body = call(served["endpoint"], "GET", target, served["contributor"])
        assert status in (400, 404) and isinstance(body, dict), (target, status, body)
        assert "TOPSECRET" not in json.dumps(body)
        assert target.endswith("inner.txt") or "inner.txt" not in json.dumps(body)
    # the datastore's resource names its folder, never what is in it
    status, _, body = call(served["endpoint"], "GET", f"{WS}/datastores/workspaceblobstore/{Q}", served["reader"])
    assert status == 200 and "inner.txt" not in json.dumps(body)


def test_oversized_bodies_are_413(served):
    url, token = served["endpoint"], served["contributor"]
    target = f"{WS}/data/big/versions/1{Q}"
    over = b'{"properties": {"description": "' + b"x" * (80 * 1024) + b'"}}'
    status, _, body = call(url, "PUT", target, token, over)  # past the service's limit: an ARM error body
    assert status == 413 and body["error"]["code"] == "RequestEntityTooLarge"
    parts = urlsplit(url)
    for path in (target, "/api/2.0/mlflow/runs/create"):  # past waitress's cap: refused before the body is sent
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                         f"Content-Length: {2 * 1024 * 1024}\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 413 ")
    chunks = iter([b'{"properties": {"description": "', b"x" * (80 * 1024), b'"}}'])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("PUT", target, body=chunks, headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"}, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()
    assert call(url, "GET", target, token)[0] == 404


def test_an_idle_or_half_sent_request_is_cut_off(served):
    parts = urlsplit(served["endpoint"])
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        sock.settimeout(10)
        began = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - began < 9


def _bench():
    spec = importlib.util.spec_from_file_location("bench_server", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_bounded_load_is_answered_in_full(served):
    bench = _bench()
    tokens = {"writer": served["contributor"], "reader": served["reader"]}
    bench.seed(served["endpoint"], tokens["writer"])
    result = bench.load(served["endpoint"], tokens, clients=8, writers=2, duration=5, requests=40)
    assert result["errors"] == []
    assert result["answered"] == result["sent"] == 10 * 40
    assert result["routes"]["put"]["count"] == 80


def test_kill_9_during_concurrent_puts_loses_no_acknowledged_write(tmp_path):
    home = tmp_path / "home"
    state, _ = server.start(home)
    assert state["endpoint"].startswith("http://127.0.0.1:")  # loopback unless told otherwise
    token = server.ensure_token(home)[0]
    acked: dict[str, list[int]] = {}
    failed = threading.Event()

    def writer(name: str):
        parts = urlsplit(state["endpoint"])
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        acked[name] = []
        n = 0
        while not failed.is_set() and n < 5000:
            n += 1
            try:
                conn.request("PUT", f"{WS}/data/{name}/versions/{n}{Q}", body=data_body(n),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed.set()
                break
            assert response.status == 201, response.status
            acked[name].append(n)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while sum(map(len, acked.values())) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(state["pid"], signal.SIGKILL)
    for t in threads:
        t.join(15)
    assert failed.is_set() and sum(map(len, acked.values())) >= 200
    deadline = time.monotonic() + 10  # the kernel ends a killed process a moment after its sockets
    while process_alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)

    assert (home / server.STATE_FILE).exists() and server.status(home) is None  # stale, and seen as such
    with sqlite3.connect(home / "workspace.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    again, token_again = server.start(home)
    try:
        assert token_again is None and again["pid"] != state["pid"]
        reader = server.ensure_token(home, server.READER)[0]
        with MLClient(endpoint=again["endpoint"], credential=reader) as client:
            for name, versions in acked.items():
                stored = {int(d.version): d.tags["n"] for d in client.data.list(name=name)}
                assert set(versions) <= set(stored), name
                assert all(str(n) == tag for n, tag in stored.items())  # an unacknowledged one is whole or absent
    finally:
        assert server.stop(home)
    log = (home / server.LOG_FILE).read_text()
    assert token not in log and reader not in log


def test_tls_serves_https_only_and_our_client_trusts_the_certificate_it_made(tmp_path, monkeypatch):
    import ssl

    home = tmp_path / "home"
    monkeypatch.setenv("AZUREML_V2_HOME", str(home))
    state, token = server.start(home, tls=True)
    try:
        assert state["endpoint"].startswith("https://127.0.0.1:") and Path(state["cafile"]).exists()
        # a body and an answer many TLS records long, both ways
        trusted = ssl.create_default_context(cafile=state["cafile"])
        big = json.dumps({"properties": {"dataType": "uri_file", "dataUri": "https://example.com/a.csv",
                                         "description": "x" * 3_000_000}}).encode()
        for method, body in (("PUT", big), ("GET", None)):
            conn = http.client.HTTPSConnection("127.0.0.1", state["port"], context=trusted, timeout=30)
            conn.request(method, f"{WS}/data/big/versions/1{Q}", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status in (200, 201) and len(json.loads(response.read())["properties"]["description"]) \
                == 3_000_000
            conn.close()
        with MLClient(endpoint=state["endpoint"]) as ml:  # the token and the certificate found in the home
            assert len(ml.data.get("big", version="1").description) == 3_000_000
        # the studio's session cookie is never sent over plain http
        login = urlsplit(server.studio_url(home, state))
        conn = http.client.HTTPSConnection("127.0.0.1", state["port"], context=trusted, timeout=30)
        conn.request("GET", f"{login.path}?{login.query}")
        response = conn.getresponse()
        assert response.status == 303 and response.getheader("Set-Cookie").endswith("HttpOnly; SameSite=Strict; Secure")
        conn.close()
        # plain http on the https port, or a client that does not trust the certificate: no answer
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            call(state["endpoint"].replace("https", "http"), "GET", "/discovery")
        with pytest.raises(ssl.SSLCertVerificationError):
            conn = http.client.HTTPSConnection("127.0.0.1", state["port"], context=ssl.create_default_context(),
                                               timeout=10)
            conn.request("GET", "/discovery")
        assert server.status(home)  # none of this hurt the server
    finally:
        server.stop(home)
