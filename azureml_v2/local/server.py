"""`azml server`: the local workspace served over HTTP (waitress), loopback by default, behind a
bearer token that is generated once, stored with mode 0600 and compared in constant time."""
from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE_FILE = "server.json"
TOKEN_FILE = "server.token"
LOG_FILE = "server.log"


def default_home() -> Path:
    """The local workspace folder: $AZUREML_V2_HOME, else ~/.azureml_v2."""
    return Path(os.environ.get("AZUREML_V2_HOME") or Path.home() / ".azureml_v2")


def require_token(app, token: str):
    """WSGI middleware: every request must carry `Authorization: Bearer <token>`."""
    expected = token.encode()

    def guarded(environ, start_response):
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            body = json.dumps({"error": {"code": "AuthenticationFailed",
                                         "message": "missing or invalid bearer token for this local workspace"}})
            start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                                ("Content-Length", str(len(body))),
                                                ("WWW-Authenticate", 'Bearer realm="azureml_v2"')])
            return [body.encode()]
        return app(environ, start_response)

    return guarded


def ensure_token(home: Path) -> tuple[str, bool]:
    """The server's token, and whether it was created just now."""
    path = home / TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


def status(home: Path) -> dict | None:
    """The running server's state (pid, host, port, endpoint), or None."""
    try:
        state = json.loads((home / STATE_FILE).read_text())
        os.kill(state["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def start(home: Path, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> tuple[dict, str | None]:
    """Start a detached server; returns its state and the token if it was generated now."""
    if status(home):
        raise RuntimeError(f"a server already runs for {home}: {status(home)['endpoint']}")
    token, created = ensure_token(home)
    (home / STATE_FILE).unlink(missing_ok=True)
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
    tail = (home / LOG_FILE).read_text(errors="replace").splitlines()[-5:]
    raise RuntimeError("the server did not start: " + " | ".join(tail))


def stop(home: Path, timeout: float = 10.0) -> bool:
    state = status(home)
    if not state:
        return False
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(state["pid"], 0)
        except OSError:
            break
        time.sleep(0.05)
    else:
        os.kill(state["pid"], signal.SIGKILL)
    (home / STATE_FILE).unlink(missing_ok=True)
    return True


def serve(home: Path, host: str, port: int) -> None:
    """Run in the foreground until SIGTERM/SIGINT."""
    from waitress import create_server

    from .service import make_app

    token, _ = ensure_token(home)
    server = create_server(require_token(make_app(home), token), host=host, port=port, threads=8,
                           max_request_body_size=64 * 1024 * 1024, channel_timeout=60, ident="azureml_v2")
    bound_port = server.effective_port
    endpoint = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
    state = {"pid": os.getpid(), "host": host, "port": bound_port, "endpoint": endpoint}
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
