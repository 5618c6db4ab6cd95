"""The reliability suite: attacks on the local workspace, bounded in time, on loopback only."""
from __future__ import annotations

import threading

import pytest

from azureml_v2 import MLClient
from azureml_v2.local.api import server
from azureml_v2.local.api.http import stop_server


@pytest.fixture
def serve():
    """serve(home, **options) -> (endpoint, contributor token): `azml server`'s waitress server in a thread of this
    process, stopped after the test; `options` override its settings."""
    running = []

    def start(home, **options):
        sockets: dict = {}
        srv = server.create_server(home, map=sockets, **options)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        running.append((srv, sockets, thread))
        return f"http://127.0.0.1:{srv.effective_port}", server.ensure_token(home)[0]

    yield start
    for srv, sockets, thread in running:
        stop_server(srv, sockets, thread, 5)


@pytest.fixture
def served_client(serve):
    """served_client(home) -> an MLClient on `azml server` serving `home` (one server per home)."""
    endpoints = {}

    def client(home):
        if home not in endpoints:
            endpoints[home] = serve(home)
        endpoint, token = endpoints[home]
        return MLClient(endpoint=endpoint, credential=token)

    return client
