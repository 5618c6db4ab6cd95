"""Warm starts: a job's Python process forked from a warm interpreter of its environment (:mod:`.zygote`) instead
of started cold, so that it skips starting Python and importing its libraries (seconds) and starts in milliseconds.

The runner asks :func:`plan` whether a command can start warm: ``python script.py ...``, ``python -m module ...``
or ``python -c code ...`` with the environment's own interpreter and no interpreter options; anything else (a shell
command, another interpreter) runs cold. The first cold run of a command prefix (``python train.py``) in an
environment runs through the zygote script's ``learn`` mode, which records the installed modules it imported under
``<home>/warm/<environment>/``; the runs after it start warm: :func:`start` finds the environment's zygote (one per
environment content, its build and the job's own environment variables: an abstract Unix socket named after
them), starts it when there is none, and asks it for a child, a :class:`WarmProcess` the runner supervises as it
supervises a cold process (pid, process group, exit code, output pipes).

Off switches: AZUREML_V2_COLD_START=1 in a job's environment variables (that job), AZUREML_V2_WARM_START=0 in
the environment of the process that opens the local workspace (every job it starts).
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ZYGOTE = Path(__file__).with_name("zygote.py")
COLD_START = "AZUREML_V2_COLD_START"  # "1" in a job's environment variables: it runs cold
WARM_START = "AZUREML_V2_WARM_START"  # "0" in the workspace process's environment: every job runs cold
_PADDING = 4096  # room in the zygote's command line and job marker for a child's own
_SHELL = frozenset("|&;<>()$`\\*?[]{}~#!\n\r")  # what bash reads as more than words and quotes
_CONNECT_WAIT = 10.0  # seconds a new zygote has to listen
_ANSWER_WAIT = 300.0  # seconds a zygote has to import and fork
_REAP_GRACE = 2.0  # seconds a zygote has to report a child's end before the child's status pipe is believed


class Plan:
    """How a command would start warm: `kind` (script, module, code), `target`, `args`, the interpreter run
    (`executable`), the command's first words (`prefix`: what is learned once)."""

    __slots__ = ("kind", "target", "args", "executable", "prefix", "argv0")

    def __init__(self, kind: str, target: str, args: list[str], executable: str, prefix: str):
        self.kind, self.target, self.args, self.executable, self.prefix = kind, target, args, executable, prefix
        self.argv0 = shlex.split(prefix)[0]  # the interpreter as the command names it


def plan(command: str, bin_dir: str, path: str) -> Plan | str:
    """The warm start of `command` (run with PATH `path`, the environment's interpreters in `bin_dir`), or why it
    runs cold."""
    try:
        words = shlex.split(command) if _plain_words(command) else None
    except ValueError:  # an unclosed quote
        words = None
    if words is None:
        return "a shell command"
    if len(words) < 2 or "=" in words[0]:
        return "not a Python command"
    found = shutil.which(words[0], path=path)
    if found is None or os.path.dirname(os.path.abspath(found)) != os.path.abspath(bin_dir) \
            or not os.path.basename(found).startswith("python"):
        return "not the environment's Python"
    if words[1] in ("-m", "-c"):
        if len(words) < 3:
            return "not a Python command"
        kind, target, args = ("module" if words[1] == "-m" else "code"), words[2], words[3:]
        prefix = shlex.join(words[:3])
    elif words[1].startswith("-"):
        return f"interpreter option {words[1]}"
    else:
        kind, target, args, prefix = "script", words[1], words[2:], shlex.join(words[:2])
    return Plan(kind, target, args, found, prefix)


def _plain_words(command: str) -> bool:
    """Whether bash reads `command` as plain words: no operator, expansion or pattern outside quotes, no expansion
    inside double quotes."""
    quote = None
    for c in command:
        if quote == "'":
            quote = None if c == "'" else quote
        elif quote == '"':
            if c in '$`\\!':
                return False
            quote = None if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c in _SHELL:
            return False
    return True


def disabled(job_env: dict[str, str]) -> str | None:
    """Why warm starts are off for a job with these environment variables (None: on)."""
    if not sys.platform.startswith("linux"):  # abstract sockets, peer credentials, pidfds, /proc/<pid>/mem
        return "warm starts need Linux"
    if os.environ.get(WARM_START, "1") == "0":
        return f"warm starts are off in this workspace ({WARM_START}=0)"
    if job_env.get(COLD_START, "0") not in ("", "0"):
        return f"the job asks for a cold start ({COLD_START})"
    return None


class Environment:
    """The warm-start state of one environment (its interpreter `python`) in a home: learned modules, zygotes."""

    def __init__(self, home: Path, python: str, user_env: dict[str, str]):
        self.python = python
        env_root = Path(python).parents[2]  # <home>/envs/<content hash>/venv/bin/python (envs.prepare)
        built = env_root / "ready"
        stamp = built.stat().st_mtime_ns if built.exists() else 0
        self.folder = Path(home) / "warm" / env_root.name
        key = json.dumps([str(Path(home).resolve()), python, stamp, sorted(user_env.items()),
                          ZYGOTE.stat().st_mtime_ns, os.getuid()])
        self.name = "azureml_v2-zygote-" + hashlib.sha256(key.encode()).hexdigest()[:24]
        self.state = self.folder / self.name.rsplit("-", 1)[1]

    def record(self, prefix: str) -> Path:
        return self.folder / f"{hashlib.sha256(prefix.encode()).hexdigest()[:16]}.json"

    def learned(self, prefix: str) -> list[str] | None:
        """The modules the first cold run of `prefix` imported (None: not learned yet)."""
        try:
            return json.loads(self.record(prefix).read_text(encoding="utf-8"))["modules"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def learn_argv(self, p: Plan) -> list[str]:
        """The cold command that runs `p` and records what it imported."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return [p.executable, str(ZYGOTE), "learn", str(self.record(p.prefix)), p.argv0, p.kind, p.target, *p.args]

    def refused(self) -> str | None:
        try:
            return json.loads((self.state / "refused.json").read_text(encoding="utf-8"))["reason"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def connect(self, zygote_env: dict[str, str], log) -> socket.socket:
        """A connection to this environment's zygote, started when none listens. Raises OSError."""
        try:
            return _connect(self.name)
        except OSError:
            pass
        import fcntl  # import budget: only a zygote's start takes the lock

        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "start.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return _connect(self.name)
            except OSError:
                pass
            env = {**zygote_env, "PYTHONUNBUFFERED": "1", "AZUREML_V2_JOB": " " * _PADDING}
            with open(self.state / "zygote.log", "ab") as out:
                proc = subprocess.Popen([self.python, str(ZYGOTE), "serve", self.name, str(self.state), " " * _PADDING],
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                        cwd=self.state, start_new_session=True)
            log(f"warm start: started zygote {proc.pid} for {self.python}")
            deadline = time.monotonic() + _CONNECT_WAIT
            while True:
                try:
                    return _connect(self.name)
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)


def _connect(name: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect("\0" + name)
        uid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():  # abstract names are shared by every user of the machine: never another's
            raise OSError(f"the zygote's socket {name} belongs to user {uid}")
    except OSError:
        sock.close()
        raise
    return sock


class WarmProcess:
    """A job process forked by a zygote, supervised as a subprocess.Popen: `pid` (its own process group),
    `stdout` and `stderr` (pipes), `poll()` and `wait()` -> its exit code. Its exit code comes from the zygote that
    reaps it, or, when that zygote died (or is stopped), from the process itself (through a status pipe) or, killed
    by a signal with no one to reap it, -9."""

    def __init__(self, conn: socket.socket, pid: int, stdout: int | None, stderr: int | None, status: int, go: int):
        self._conn, self.pid, self._status, self._go = conn, pid, status, go
        self.stdout, self.stderr = (None if fd is None else os.fdopen(fd, "rb") for fd in (stdout, stderr))
        self.returncode: int | None = None
        self._buffer, self._zygote_gone, self._ended_at = b"", False, None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:  # already ended and reaped: the zygote's answer says how
            self._pidfd = None

    def go(self) -> None:
        """Let the process run the job's code (once the runner has recorded it)."""
        os.write(self._go, b"1")
        os.close(self._go)
        self._go = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        while not self._zygote_gone and select.select([self._conn], [], [], 0)[0]:
            chunk = self._conn.recv(4096)
            if not chunk:
                self._zygote_gone = True
                break
            self._buffer += chunk
            for line in self._buffer.split(b"\n")[:-1]:
                message = json.loads(line)
                if "exit" in message:
                    return self._done(message["exit"])
            self._buffer = self._buffer.rsplit(b"\n", 1)[-1]
        ended = self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]
        if ended and not self._zygote_gone:  # its zygote says how it ended, unless that zygote is stopped
            self._ended_at = self._ended_at or time.monotonic()
            self._zygote_gone = time.monotonic() - self._ended_at > _REAP_GRACE
        if self._zygote_gone and (self._pidfd is None or ended):
            try:
                text = os.read(self._status, 32)
            except OSError:
                text = b""
            return self._done(int(text) if text.strip().lstrip(b"-").isdigit() else -9)
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            select.select([self._conn] if not self._zygote_gone else [], [], [], 0.02)
        return self.returncode

    def _done(self, code: int) -> int:
        self.returncode = code
        self.close()
        return code

    def close(self) -> None:
        for fd in (self._status, self._pidfd, self._go):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._status = self._pidfd = self._go = None
        self._conn.close()


def zygote_env(job_path: str, user_env: dict[str, str]) -> dict[str, str]:
    """A zygote's own environment: its jobs' (PATH `job_path`, their environment variables `user_env`) but for
    what names one job alone."""
    return {**os.environ, "PATH": job_path, "PYTHONUNBUFFERED": "1", **user_env}


def as_bash_runs(p: Plan, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """The environment `bash -c` would give the command of `p`: what it adds to `env`."""
    return {**env, "PWD": os.path.realpath(cwd), "SHLVL": env.get("SHLVL", "0"), "_": p.executable}


def start(environment: Environment, p: Plan, modules: list[str], cwd: Path, env: dict[str, str],
          zygote_env: dict[str, str], marker: str, stopped, log, *, output: int | None = None,
          pass_fds: tuple[int, ...] = ()) -> WarmProcess | str:
    """Ask the environment's zygote for a child running `p` with environment `env` -> it (not running the job's
    code until its `go()`), or why the job runs cold. `stopped()` says the job was canceled meanwhile (the zygote
    may be importing). The child's stdout and stderr are two pipes (the process's `stdout`, `stderr`), or both
    `output`; it holds `pass_fds` at their numbers, as Popen's pass_fds."""
    refused = environment.refused()
    if refused:
        return refused
    try:
        conn = environment.connect(zygote_env, log)
    except OSError as exc:
        return f"no warm interpreter: {exc}"
    # ours: the read ends of stdout, stderr and status (the child writes) and the write end of go (it reads)
    pipes = [os.pipe() for _ in range(4 if output is None else 2)]
    ours = [r for r, _ in pipes[:-1]] + [pipes[-1][1]]
    theirs = [w for _, w in pipes[:-1]] + [pipes[-1][0]]
    sent = ([output, output] if output is not None else []) + theirs + list(pass_fds)
    request = {"kind": p.kind, "target": p.target, "args": p.args, "cwd": str(cwd), "modules": modules,
               "marker": marker, "argv0": p.argv0, "env": env, "keep": list(pass_fds)}
    answer = None
    try:
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], sent)
        answer = _answer(conn, stopped)
    except (OSError, ValueError) as exc:
        answer = {"cold": f"the warm interpreter failed: {exc}"}
    finally:
        for fd in theirs:
            os.close(fd)
    if "pid" not in answer:
        conn.close()
        for fd in ours:
            os.close(fd)
        return answer.get("cold") or "the warm interpreter did not answer"
    log(f"warm start: forked {answer['pid']} from the zygote (RSS {answer['rss_kb'] // 1024} MB)")
    stdout, stderr = ours[:2] if output is None else (None, None)
    return WarmProcess(conn, answer["pid"], stdout, stderr, ours[-2], ours[-1])


def _answer(conn: socket.socket, stopped) -> dict:
    data, deadline = b"", time.monotonic() + _ANSWER_WAIT
    zygote = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    while not data.endswith(b"\n"):
        if stopped():
            return {"cold": "canceled while the warm interpreter prepared"}
        if _stopped(zygote):  # SIGSTOP: it answers nobody until continued
            return {"cold": f"the warm interpreter (process {zygote}) is stopped"}
        if time.monotonic() > deadline:
            return {"cold": f"the warm interpreter did not answer in {_ANSWER_WAIT:g} s"}
        if select.select([conn], [], [], 0.25)[0]:
            chunk = conn.recv(4096)
            if not chunk:
                return {"cold": "the warm interpreter ended"}
            data += chunk
    return json.loads(data.split(b"\n", 1)[0])


def _stopped(pid: int) -> bool:
    """Whether process `pid` is stopped (by a signal, or a debugger)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False
