"""Attack: huge logs. A command that writes 100 MB of `\\r` progress (no newline) runs at copying speed and
completes; following a job's log holds a bounded part of it in memory, not the whole file."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from azureml_v2 import MLClient, command

pytestmark = pytest.mark.integration

MB = 1 << 20
# 100 MB of a progress bar on stderr, one `\r` per update and no newline, then a last line
PROGRESS = ("import sys\nbar = b''.join(b'\\rtraining %3d%%' % (i % 100) for i in range(1 << 16))\n"
            "for _ in range(100 * (1 << 20) // len(bar)): sys.stderr.buffer.write(bar)\n"
            "sys.stderr.buffer.write(b'\\ndone\\n')")


def _wait(client, name, timeout):
    deadline = time.monotonic() + timeout
    while (job := client.jobs.get(name)).status not in ("Completed", "Failed", "Canceled"):
        assert time.monotonic() < deadline, f"job {name} still {job.status} after {timeout} s"
        time.sleep(0.2)
    return job


@pytest.fixture(scope="module")
def progress_job(tmp_path_factory):
    """(home, name, seconds from create to Completed) of a job writing 100 MB of `\\r` progress to stderr."""
    home = tmp_path_factory.mktemp("logs") / "home"
    script = home.parent / "progress.py"
    script.write_text(PROGRESS)
    with MLClient.local(home) as client:
        began = time.monotonic()
        job = client.jobs.create_or_update(command(command=f"{sys.executable} {script}", name="progress",
                                                   environment={"image": "python:3.11-slim"}))
        ended = _wait(client, job.name, timeout=90)
        return home, job.name, ended.status, time.monotonic() - began


def test_a_100_mb_progress_bar_without_newline_completes_at_copying_speed(progress_job):
    home, name, status, seconds = progress_job
    assert status == "Completed"
    log = home / "jobs" / "local" / name / "user_logs" / "std_log.txt"
    assert log.stat().st_size > 99 * MB
    assert seconds < 60  # quadratic copying took minutes; linear takes seconds


def test_following_a_huge_log_holds_a_bounded_part_in_memory(progress_job):
    home, name, _, _ = progress_job
    # the peak resident memory of this process's image (VmHWM; ru_maxrss would count the forked test runner's)
    follow = ("import os, re\nfrom azureml_v2 import MLClient\n"
              f"with MLClient.local({str(home)!r}) as c, open(os.devnull, 'w') as out:\n"
              f"    c.jobs.stream({name!r}, out=out)\n"
              "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)")
    done = subprocess.run([sys.executable, "-c", follow], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1])
    assert peak_mb < 200, f"{peak_mb} MB to follow a {100} MB log"
