"""Attack: make a healthy job look dead. Its runner's heartbeat is late (the store's write lock held 5 s, the runner
stopped with SIGSTOP, heavy PUT traffic) while readers poll it: nothing kills it, it completes. Liveness is read
from the process itself (pid and start time), and a read never kills."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest
from support.jobs import ENV_ID, wait

from azureml_v2.local.core.jobs import HEARTBEAT_TIMEOUT

pytestmark = pytest.mark.integration



def _status(client, name) -> str:
    return client.get(f"/jobs/{name}").json["properties"]["status"]


def test_a_write_lock_held_past_the_heartbeat_timeout_kills_nothing(client, tmp_path):
    client.put("/jobs/held", {"properties": {"jobType": "Command", "command": "sleep 4; echo done",
                                             "environmentId": ENV_ID}})
    wait(client, "held", ("Running",), timeout=60)
    db = sqlite3.connect(tmp_path / "home" / "workspace.db", timeout=30)
    db.execute("BEGIN IMMEDIATE")  # every writer, the runner's heartbeat included, waits
    try:
        ends = time.monotonic() + HEARTBEAT_TIMEOUT + 2
        while time.monotonic() < ends:
            assert _status(client, "held") == "Running"  # readers go on reading
            time.sleep(0.2)
    finally:
        db.rollback()
        db.close()
    assert wait(client, "held", timeout=60)["status"] == "Completed"


def test_a_stopped_runner_under_heavy_put_traffic_is_alive(client):
    client.put("/jobs/paused", {"properties": {"jobType": "Command", "command": "sleep 3; echo done",
                                               "environmentId": ENV_ID}})
    wait(client, "paused", ("Running",), timeout=60)
    runner = client.app.store.get_job("local", "paused")["runner_pid"]
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            client.put(f"/data/noise/versions/{n}", {"properties": {"dataType": "uri_file",
                                                                     "dataUri": "https://example.com/x"}})

    threads = [threading.Thread(target=writer) for _ in range(2)]
    os.kill(runner, signal.SIGSTOP)
    try:
        for t in threads:
            t.start()
        ends = time.monotonic() + HEARTBEAT_TIMEOUT + 2
        while time.monotonic() < ends:
            assert _status(client, "paused") == "Running"
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
        os.kill(runner, signal.SIGCONT)
    assert wait(client, "paused", timeout=60)["status"] == "Completed"
