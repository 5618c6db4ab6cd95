"""Attack: a job leaves a daemon behind (its own session, `setsid`). As on Azure ML, where the container ends, the
daemon ends when the job completes, is canceled, or its runner dies."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from support.jobs import ENV_ID, wait

from azureml_v2.local.core.processes import process_alive

pytestmark = pytest.mark.integration

DAEMON = (f"{sys.executable} -c \"import os, sys, time; os.setsid(); open('daemon', 'w').write(str(os.getpid())); "
          "time.sleep(300)\" & ")


def _daemon(tmp_path, name) -> int:
    path = tmp_path / "home" / "jobs" / "local" / name / "wd" / "daemon"
    deadline = time.monotonic() + 30
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.05)
    return int(path.read_text())


def _ends(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


@pytest.mark.parametrize("how", ["completes", "canceled", "runner-killed"])
def test_a_setsid_daemon_ends_with_its_job(client, tmp_path, how):
    command = DAEMON + ("sleep 1" if how == "completes" else "sleep 60")
    client.put(f"/jobs/{how}", {"properties": {"jobType": "Command", "command": command, "environmentId": ENV_ID}})
    daemon = _daemon(tmp_path, how)
    try:
        if how == "canceled":
            client.call("POST", f"/jobs/{how}/cancel")
        elif how == "runner-killed":
            os.kill(client.app.store.get_job("local", how)["runner_pid"], signal.SIGKILL)
        expected = {"completes": "Completed", "canceled": "Canceled", "runner-killed": "Failed"}[how]
        assert wait(client, how, timeout=60)["status"] == expected
        assert _ends(daemon), f"daemon {daemon} outlived job {how}"
    finally:
        if process_alive(daemon):
            os.kill(daemon, signal.SIGKILL)
