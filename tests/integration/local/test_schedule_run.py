"""`azml schedule run` as a real process: on start it says which firings were missed while no scheduler ran and
runs none of them, fires the one that is due (its job really runs), keeps a second scheduler of the same home out,
and a kill -9 of it neither loses nor repeats a firing."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from azureml_v2 import MLClient, load_schedule

pytestmark = pytest.mark.integration


def start(home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "azureml_v2.cli", "schedule", "run"], text=True,
                            env=dict(os.environ, AZUREML_V2_HOME=str(home)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for(test, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_schedule_run_reports_what_was_missed_fires_what_is_due_and_survives_kill_9(tmp_path):
    home = tmp_path / "home"
    with MLClient.local(home) as ml:
        ml.schedules.begin_create_or_update(load_schedule({
            "name": "every_minute", "trigger": {"type": "cron", "expression": "*/1 * * * *"},
            "create_job": {"type": "command", "command": "echo fired at ${{inputs.when}}",
                           "environment": {"image": "python:3.11-slim"}, "compute": "local",
                           "inputs": {"when": "${{creation_context.trigger_time}}"}}})).result()
    # as if the schedule had been made ten minutes ago and no scheduler had run since
    past = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with sqlite3.connect(home / "workspace.db") as db:
        db.execute("UPDATE schedules SET checked_at = ?, created_at = ?", (past, past))

    first = start(home)
    try:
        with MLClient.local(home) as ml:
            fired = wait_for(lambda: [f for f in ml.schedules.firings("every_minute") if f.status == "Fired"])
            missed = [f for f in ml.schedules.firings("every_minute") if f.status == "Missed"]
            assert len(missed) in (9, 10) and len(fired) == 1  # over a minute late: missed; the last one: on time
            job = wait_for(lambda: ml.jobs.get(fired[0].job_name).status in ("Completed", "Failed")
                           and ml.jobs.get(fired[0].job_name))
            assert job.status == "Completed"

            second = subprocess.run([sys.executable, "-m", "azureml_v2.cli", "schedule", "run"], text=True,
                                    env=dict(os.environ, AZUREML_V2_HOME=str(home)), capture_output=True,
                                    timeout=60)
            assert second.returncode == 1 and f"are fired by process {first.pid}" in second.stderr

            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            _, err = first.communicate()
            assert f"missed {len(missed)} firings while no scheduler ran" in err

            before = {(f.time, f.status, f.job_name) for f in ml.schedules.firings("every_minute")}
            again = start(home)  # the lock died with the killed process
            try:
                time.sleep(3)
                assert again.poll() is None
                after = {(f.time, f.status, f.job_name) for f in ml.schedules.firings("every_minute")}
                assert before <= after  # nothing lost, nothing fired twice
                assert len([f for f in after if f[1] == "Fired"]) == len({f[2] for f in after if f[1] == "Fired"})
            finally:
                again.send_signal(signal.SIGTERM)
                assert again.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
