"""`azml server`: the local workspace served over HTTP (waitress), loopback by default.

Every request needs a bearer token. Two tokens, two roles as in Azure RBAC: the contributor token
(``server.token``) may read and write, the reader token (``server-reader.token``) may only read (GET, and
MLflow's searches, which are reads sent as POST); a datastore's ``listSecrets`` needs the contributor, as in
Azure. Tokens are generated once, stored with mode 0600, compared in constant time and never logged. Missing
or wrong token -> 401, a reader writing -> 403, both ARM error bodies; '.'/'..' segments, NUL and control
characters in the path -> 400 before the application sees them. Request bodies are bounded (413), idle
connections time out.
"""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

STATE_FILE = "server.json"
LOG_FILE = "server.log"
CONTRIBUTOR, READER = "contributor", "reader"
TOKEN_FILES = {CONTRIBUTOR: "server.token", READER: "server-reader.token"}
TOKEN_FILE = TOKEN_FILES[CONTRIBUTOR]
MAX_BODY = 16 * 1024 * 1024
# waitress buffers a body before the application runs: up to this much over its limit reaches the application,
# which answers 413 with an ARM error body; beyond, waitress answers 413 itself without reading the body
_BODY_MARGIN = 1024 * 1024
# from benchmarks/bench_server.py on 2 cores: 4 threads answered ~20% fewer GETs, 16 no more than 8
SERVER_OPTIONS = {"threads": 8, "connection_limit": 200, "backlog": 1024, "channel_timeout": 60,
                  "cleanup_interval": 10, "max_request_header_size": 64 * 1024, "asyncore_use_poll": True}

_READ_METHODS = frozenset({"GET", "HEAD"})
_READ_POSTS = re.compile(r"/api/2\.0/mlflow/(?:experiments|runs|logged-models)/search/?$")
_BAD_PATH = re.compile(r"(?:^|/)\.{1,2}(?:/|$)|[\x00-\x1f\x7f\\]")


def default_home() -> Path:
    """The local workspace folder: $AZUREML_V2_HOME, else ~/.azureml_v2."""
    return Path(os.environ.get("AZUREML_V2_HOME") or Path.home() / ".azureml_v2")


def _deny(start_response, status: str, code: str, message: str, extra: tuple = ()):
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body))), *extra])
    return [body]


def require_token(app, token: str, reader_token: str | None = None):
    """WSGI middleware: every request must carry `Authorization: Bearer <token>`; `reader_token` may only read."""
    tokens = [(token, CONTRIBUTOR)] + ([(reader_token, READER)] if reader_token else [])
    if not all(t for t, _ in tokens):
        raise ValueError("a server token may not be empty")
    tokens = [(t.encode(), role) for t, role in tokens]

    def guarded(environ, start_response):
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        given = given.strip().encode("latin-1", "replace")  # WSGI headers are latin-1 strings
        role = None
        for expected, name in tokens:  # every token is compared: the time tells nothing of which one matched
            if hmac.compare_digest(given, expected):
                role = name
        if scheme.lower() != "bearer" or role is None:
            return _deny(start_response, "401 Unauthorized", "AuthenticationFailed",
                         "missing or invalid bearer token for this local workspace",
                         (("WWW-Authenticate", 'Bearer realm="azureml_v2"'),))
        path = environ.get("PATH_INFO", "")
        if _BAD_PATH.search(path):
            return _deny(start_response, "400 Bad Request", "InvalidRequestUri",
                         "the path may not hold '.' or '..' segments, backslashes or control characters")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if role == READER and method not in _READ_METHODS and not (method == "POST" and _READ_POSTS.search(path)):
            return _deny(start_response, "403 Forbidden", "AuthorizationFailed",
                         f"the reader token does not have authorization to perform {method} here; "
                         "writes need the contributor token")
        return app(environ, start_response)

    return guarded


def ensure_token(home: Path, role: str = CONTRIBUTOR) -> tuple[str, bool]:
    """The server's token for `role`, and whether it was created just now. A token file others may read is
    refused, as ssh refuses such a key."""
    path = home / TOKEN_FILES[role]
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it just now
            return ensure_token(home, role)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        return token, True
    if mode & 0o077:
        raise PermissionError(1, f"the token file may be read by others (mode {mode:04o}): run chmod 600 on it, "
                                 "or delete it for a new token", str(path))
    return path.read_text().strip(), False


def status(home: Path) -> dict | None:
    """The running server's state (pid, host, port, endpoint), or None (also for a state file left by a killed
    server, whose pid is gone, a zombie or another process now)."""
    from .store import process_alive, process_start

    try:
        state = json.loads((home / STATE_FILE).read_text())
        pid = state["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not process_alive(pid) or state.get("started") != process_start(pid):
        return None
    return state


def served_token(endpoint: str, home: Path | None = None) -> str:
    """The contributor token of the workspace `home` (default: $AZUREML_V2_HOME) when `endpoint` is where
    its running server listens; else a ValidationError telling the user to pass the token."""
    from ..exceptions import ValidationError

    home = default_home() if home is None else home
    state = status(home)
    if state is None or _address(state.get("endpoint", "")) != _address(endpoint):
        where = f"the server of {home} listens on {state.get('endpoint')}" if state else f"no server runs for {home}"
        raise ValidationError(f"endpoint {endpoint}: {where}, so its token is unknown; pass credential=<token> "
                              "(`azml server token` in that workspace prints it)")
    return ensure_token(home)[0]


def _address(url: str) -> tuple:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return parts.scheme, "127.0.0.1" if host == "localhost" else host, parts.port
    except ValueError:  # a port that is not a number
        return parts.scheme, host, None


def start(home: Path, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> tuple[dict, str | None]:
    """Start a detached server; returns its state and the contributor token if it was generated now."""
    if status(home):
        raise RuntimeError(f"a server already runs for {home}: {status(home)['endpoint']}")
    token, created = ensure_token(home)
    ensure_token(home, READER)
    (home / STATE_FILE).unlink(missing_ok=True)  # a stale one, left by a killed server
    with open(home / LOG_FILE, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "azureml_v2.local.server", "--home", str(home),
                                  "--host", host, "--port", str(port)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = status(home)
        if state and state["pid"] == child.pid:
            return state, token if created else None
        if child.poll() is not None:
            break
        time.sleep(0.05)
    child.kill()
    child.wait()
    tail = (home / LOG_FILE).read_text(errors="replace").splitlines()[-5:]
    raise RuntimeError("the server did not start: " + " | ".join(tail))


def stop(home: Path, timeout: float = 10.0) -> bool:
    from .store import process_alive

    state = status(home)
    if not state:
        (home / STATE_FILE).unlink(missing_ok=True)
        return False
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process_alive(state["pid"]):
        time.sleep(0.05)
    if process_alive(state["pid"]):
        os.kill(state["pid"], signal.SIGKILL)
    (home / STATE_FILE).unlink(missing_ok=True)
    return True


def create_server(home: Path, host: str = "127.0.0.1", port: int = 0, *, max_body: int = MAX_BODY, **options):
    """The waitress server of the local workspace in `home` (not yet running); `options` override
    SERVER_OPTIONS."""
    import waitress

    from .service import make_app

    token, _ = ensure_token(home)
    reader, _ = ensure_token(home, READER)
    # waitress warns "Task queue depth is N" whenever all its threads are busy: normal under load
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = require_token(make_app(home, max_body=max_body), token, reader)
    return waitress.create_server(app, host=host, port=port, ident="azureml_v2",
                                  max_request_body_size=max_body + _BODY_MARGIN,
                                  **{**SERVER_OPTIONS, **options})


def serve(home: Path, host: str, port: int) -> None:
    """Run in the foreground until SIGTERM/SIGINT."""
    from .store import process_start

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = create_server(home, host, port)
    endpoint = f"http://{host if ':' not in host else f'[{host}]'}:{server.effective_port}"
    state = {"pid": os.getpid(), "started": process_start(os.getpid()), "host": host,
             "port": server.effective_port, "endpoint": endpoint}
    tmp = home / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, home / STATE_FILE)

    def _stop(*_):
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    finally:
        server.task_dispatcher.shutdown(timeout=5)  # let requests in flight finish
        try:
            if json.loads((home / STATE_FILE).read_text()).get("pid") == os.getpid():
                (home / STATE_FILE).unlink()
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m azureml_v2.local.server")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    ns = parser.parse_args()
    serve(ns.home or default_home(), ns.host, ns.port)
