"""The local workspace service with real processes: a runner that died, a writer killed mid-write."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from unit.local.test_service import COMMAND_JOB, app  # noqa: F401 (app: a fixture)

from azureml_v2.local.storage.workspace import Store

pytestmark = pytest.mark.integration


def test_supervision_fails_a_job_whose_runner_died_and_a_read_changes_nothing(client, app):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in ("gone", "silent", "alive", "starting"):
        client.put(f"/jobs/{name}", {"properties": COMMAND_JOB})
    app.store.set_runner("local", "starting", os.getpid())  # started, not yet claimed: no heartbeat to judge
    assert app.store.claim_job("local", "gone", dead.pid)
    assert not app.store.claim_job("local", "gone", os.getpid())  # claimed once
    assert app.store.claim_job("local", "silent", os.getpid())
    assert app.store.claim_job("local", "alive", os.getpid())
    app.store.connection().execute("UPDATE jobs SET heartbeat_at = heartbeat_at - 10 "
                                   "WHERE name IN ('silent', 'starting')")
    assert client.get("/jobs/gone").json["properties"]["status"] == "Queued"  # a read only reads
    app.supervise()
    gone = client.get("/jobs/gone").json["properties"]
    assert gone["status"] == "Failed" and "the runner stopped" in gone["properties"]["Error"]
    assert {job["name"]: job["properties"]["status"] for page in client.pages("/jobs") for job in page} == {
        "gone": "Failed", "silent": "Failed", "alive": "Queued", "starting": "NotStarted"}
    assert app.store.heartbeat("local", "alive", os.getpid()) == "Queued"
    assert app.store.heartbeat("local", "alive", dead.pid) is None  # not this runner's job
    assert app.store.get_job("local", "silent")["ended_at"]


WRITER = """
import sys
from azureml_v2.local import make_app
from support.local import Client
client = Client(make_app(sys.argv[1], run_jobs=False))
i = 0
while True:
    i += 1
    client.put(f"/models/m/versions/{i}", {"properties": {"tags": {"n": str(i)}}})
    client.put(f"/jobs/j{i}", {"properties": {"jobType": "Pipeline"}})
    print(i, flush=True)
"""


def test_kill_9_mid_write_leaves_a_consistent_store(home, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(script), str(home)], stdout=subprocess.PIPE, env=env)
    for _ in range(30):  # let it commit a few rounds, then kill it mid-flight
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    store = Store(home)
    conn = store.connection()
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    versions = conn.execute("SELECT count(*), max(CAST(version AS INTEGER)) FROM versions").fetchone()
    assert versions[0] == versions[1] >= 30
    next_version = conn.execute("SELECT next_version FROM containers WHERE name = 'm'").fetchone()[0]
    assert next_version == versions[1] + 1
    jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert jobs in (versions[0], versions[0] - 1)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    store.close()
