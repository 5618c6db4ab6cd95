"""Attack: a full disk. `azml` says in one line which disk is full (the target's, not the source file's), with no
traceback and no minutes of retries. Needs a small tmpfs (root); skipped where it cannot be mounted."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _azml(home, *args, cwd):
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "azureml_v2.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=dict(os.environ, AZUREML_V2_HOME=str(home)))
    return proc, time.monotonic() - began


def test_an_upload_to_a_full_disk_names_the_target_in_one_line(full_disk, tmp_path):
    (tmp_path / "big.bin").write_bytes(os.urandom(5 * 1024 * 1024))
    (tmp_path / "big.yml").write_text("name: big\npath: big.bin\ntype: uri_file\n")
    proc, seconds = _azml(full_disk / "home", "data", "create", "-f", "big.yml", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"azml: error: no space left on the disk of {full_disk / 'home'}")
    assert line.endswith(": free some space and retry") and "big.bin" not in line
    assert seconds < 60  # no retries


def test_a_job_submitted_to_a_full_disk_says_the_disk_is_full(full_disk, tmp_path):
    (tmp_path / "job.yml").write_text("command: echo hi\nenvironment:\n  image: python:3.11-slim\n")
    proc, _ = _azml(full_disk / "home", "data", "list", cwd=tmp_path)  # the home exists
    assert proc.returncode == 0, proc.stderr
    with open(full_disk / "filler", "wb", buffering=0) as fh:  # every byte left (unbuffered: nothing left to flush)
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    proc, seconds = _azml(full_disk / "home", "job", "create", "-f", "job.yml", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.splitlines()
    assert "disk is full" in line and "free some space" in line
    assert seconds < 60  # no retries
