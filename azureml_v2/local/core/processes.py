"""Processes of this machine: is one alive, when did it start, stop the groups a dead job process left, start a
detached one."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading


_PROC = os.path.isdir("/proc/self")  # Linux: a process's state and start time are read from /proc/<pid>/stat


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot; Linux), None when it is gone or unknown."""
    fields = _stat(pid) if _PROC else None
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine and is not a zombie."""
    if _PROC:
        fields = _stat(pid)
        return bool(fields) and fields[0] != b"Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def kill_groups(groups_json: str | None) -> None:
    """Kill the process groups a dead job process recorded as (group, leader start time) pairs, checked against
    their start time: never a reused pid."""
    for group, started in json.loads(groups_json or "[]"):
        if process_start(group) == started:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass


class Spawner:
    """Starts detached processes (their own session: they outlive this one) and reaps those that ended, so that
    none lingers as a zombie of this process."""

    def __init__(self):
        self._children: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def spawn(self, argv: list[str], *, cwd, stderr_path) -> int:
        """Start `argv` detached, its stderr appended to `stderr_path` -> its pid. Raises OSError."""
        self.reap()
        with open(stderr_path, "ab") as stderr:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                    cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        with self._lock:
            self._children.append(proc)
        return proc.pid

    def reap(self) -> None:
        with self._lock:
            self._children = [p for p in self._children if p.poll() is None]


class ChildExits:
    """Naps that a child process's exit ends early (SIGCHLD through a wakeup fd): an executor polling its child jobs
    fills a free slot at once. Made once per process, in its main thread."""

    def __init__(self):
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # the wakeup fd needs a Python-level handler
        signal.siginterrupt(signal.SIGCHLD, False)  # restart system calls the signal interrupts
        signal.set_wakeup_fd(write)
        self._read = read

    def nap(self, seconds: float) -> None:
        """Sleep up to `seconds`, less when a child exits."""
        select.select([self._read], [], [], seconds)
        try:
            os.read(self._read, 4096)
        except BlockingIOError:
            pass
