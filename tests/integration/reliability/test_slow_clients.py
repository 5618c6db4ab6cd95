"""Attack: slowloris. Hundreds of loopback connections that trickle a request head (or send nothing) without a
token keep neither `azml server` nor a job's MLflow tracking port from answering; the job completes."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from azureml_v2._contract import API_VERSION
from azureml_v2.local.core.workspace import workspace_id

pytestmark = pytest.mark.integration

ATTACKERS = 250


@contextmanager
def trickling(endpoint: str, count: int = ATTACKERS, seconds: float = 12.0, first: bytes = b"GET / HTTP/1.1\r\n"):
    """`count` connections that each send `first` (an unfinished request head) and then one header byte every
    0.5 s, for at most `seconds` (a connection the server closes stays closed)."""
    parts = urlsplit(endpoint)
    socks, stop = [], threading.Event()
    for _ in range(count):
        try:
            sock = socket.create_connection((parts.hostname, parts.port), timeout=2)
            sock.sendall(first)
            socks.append(sock)
        except OSError:
            break

    def drip():
        ends = time.monotonic() + seconds
        while not stop.wait(0.5) and time.monotonic() < ends:
            for sock in socks:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        yield len(socks)
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


def answered(endpoint: str, target: str, token: str, tries: int = 5, timeout: float = 3.0) -> int:
    """How many of `tries` GETs, each on a new connection, were answered within `timeout` seconds."""
    parts = urlsplit(endpoint)
    count = 0
    for _ in range(tries):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request("GET", target, headers={"Authorization": f"Bearer {token}"})
            if conn.getresponse().status == 200:
                count += 1
        except OSError:
            pass
        finally:
            conn.close()
    return count


@pytest.mark.parametrize("first", [b"GET / HTTP/1.1\r\nHost: x\r\n", b"", b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /"],
                         ids=["trickled-head", "trickled-bytes", "one-refused-request-then-trickle"])
def test_azml_server_answers_while_250_slow_clients_hold_connections(serve, tmp_path, first):
    from azureml_v2.local.api.server import SERVER_OPTIONS
    endpoint, token = serve(tmp_path / "home", **SERVER_OPTIONS)
    target = f"{workspace_id('local')}/data?api-version={API_VERSION}"
    assert answered(endpoint, target, token, tries=1) == 1
    with trickling(endpoint, first=first) as opened:
        assert opened == ATTACKERS
        time.sleep(1)
        assert answered(endpoint, target, token) == 5


def test_a_trickling_request_is_cut_off(serve, tmp_path):
    """However steadily it trickles, a request head not whole after REQUEST_TIMEOUT seconds loses its connection."""
    from azureml_v2.local.api.http import REQUEST_TIMEOUT
    endpoint, _ = serve(tmp_path / "home", cleanup_interval=1)
    parts = urlsplit(endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        closed = False
        while not closed and time.monotonic() - began < REQUEST_TIMEOUT + 5:
            time.sleep(0.5)
            try:
                sock.send(b"X")
                sock.settimeout(0.01)
                closed = sock.recv(1) == b""
            except socket.timeout:
                pass
            except OSError:
                closed = True
        assert closed and REQUEST_TIMEOUT - 1 < time.monotonic() - began < REQUEST_TIMEOUT + 5


TRACKED = """
import json, os, pathlib, sys, time, urllib.request
pathlib.Path("port").write_text(os.environ["MLFLOW_TRACKING_URI"])
while not pathlib.Path("go").exists():
    time.sleep(0.05)
body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "loss", "value": 0.5, "timestamp": 0, "step": 0})
request = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric", body.encode(),
                                 {"Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"],
                                  "Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=5).read()
print("logged")
"""


def test_a_job_logs_to_mlflow_and_completes_while_250_slow_clients_trickle_on_its_port(tmp_path):
    import sys

    from azureml_v2 import MLClient, command

    script = tmp_path / "tracked.py"
    script.write_text(TRACKED)
    with MLClient.local(tmp_path / "home") as client:
        job = client.jobs.create_or_update(command(command=f"{sys.executable} {script}", name="tracked",
                                                   environment={"image": "python:3.11-slim"}))
        wd = tmp_path / "home" / "jobs" / "local" / job.name / "wd"
        deadline = time.monotonic() + 60
        while not (wd / "port").exists() or not (wd / "port").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with trickling((wd / "port").read_text(), seconds=10) as opened:
            assert opened == ATTACKERS
            time.sleep(1)
            (wd / "go").write_text("")
            while client.jobs.get(job.name).status not in ("Completed", "Failed", "Canceled"):
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert client.jobs.get(job.name).status == "Completed"
        assert client.jobs.get_metrics(job.name)["loss"][0][1] == 0.5
