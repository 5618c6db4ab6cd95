"""`azml server`: the local workspace served over HTTP (waitress), loopback by default.

Every request needs a bearer token, but those of the studio's pages (``/studio/``), which need its session cookie. Two tokens, two roles as in Azure RBAC: the contributor token
(``server.token``) may read and write, the reader token (``server-reader.token``) may only read (GET, and
MLflow's searches, which are reads sent as POST); a datastore's ``listSecrets`` needs the contributor, as in
Azure. Tokens are generated once, stored with mode 0600, compared in constant time and never logged. Missing
or wrong token -> 401, a reader writing -> 403, both ARM error bodies; '.'/'..' segments, NUL and control
characters in the path -> 400 before the application sees them. Request bodies are bounded (413), idle
connections time out.
"""
from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import secrets
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import waitress

from ..core.processes import process_alive, process_start
from ..core.workspace import default_home
from .app import make_app
from .arm import DISCOVERY_PATH
from .blob import sas_allows
from .http import CONTRIBUTOR, MAX_BODY, READER, guard_slow_clients, require_token
from .studio import with_studio
from .studio.auth import ticket
from .tls import context, ensure_certificate, serve_tls

STATE_FILE = "server.json"
LOG_FILE = "server.log"
TOKEN_FILES = {CONTRIBUTOR: "server.token", READER: "server-reader.token"}
TOKEN_FILE = TOKEN_FILES[CONTRIBUTOR]
# waitress buffers a body before the application runs: up to this much over its limit reaches the application,
# which answers 413 with an ARM error body; beyond, waitress answers 413 itself without reading the body
_BODY_MARGIN = 1024 * 1024
# azure-storage-blob sends a file up to this size in one Put Blob (larger ones in 4 MiB blocks)
MAX_PUT_BLOB = 64 * 1024 * 1024
# from benchmarks/bench_server.py on 2 cores: 4 threads answered ~20% fewer GETs, 16 no more than 8
SERVER_OPTIONS = {"threads": 8, "connection_limit": 200, "backlog": 1024, "channel_timeout": 60,
                  "cleanup_interval": 10, "max_request_header_size": 64 * 1024, "asyncore_use_poll": True}


def ensure_token(home: Path, role: str = CONTRIBUTOR) -> tuple[str, bool]:
    """The server's token for `role`, and whether it was created just now. A token file others may read is
    refused, as ssh refuses such a key."""
    path = home / TOKEN_FILES[role]
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        # written whole beside its place (0600), then linked there: no process reads it half written, a failed
        # write (a full disk) leaves no empty token, and of two processes making it the first link wins
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=home)
        try:
            try:
                os.write(fd, (token + "\n").encode())
            finally:
                os.close(fd)
            os.link(temp, path)
        except FileExistsError:  # another process made it just now
            return ensure_token(home, role)
        finally:
            os.unlink(temp)
        return token, True
    if mode & 0o077:
        raise PermissionError(1, f"the token file may be read by others (mode {mode:04o}): run chmod 600 on it, "
                                 "or delete it for a new token", str(path))
    token = path.read_text().strip()
    if not token:
        raise PermissionError(1, "the token file is empty: delete it for a new token", str(path))
    return token, False


def status(home: Path) -> dict | None:
    """The running server's state (pid, host, port, endpoint), or None (also for a state file left by a killed
    server, whose pid is gone, a zombie or another process now)."""
    try:
        state = json.loads((home / STATE_FILE).read_text())
        pid = state["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not process_alive(pid) or state.get("started") != process_start(pid):
        return None
    return state


def served_certificate(endpoint: str, home: Path | None = None) -> str | None:
    """The certificate file a client trusts to reach the server of `home` at `endpoint` over https: the one
    `--tls` made (a certificate of one's own is trusted as any other), else None."""
    state = _serving(endpoint, home)
    return state and state.get("cafile")


def served_token(endpoint: str, home: Path | None = None) -> str | None:
    """The contributor token of the workspace `home` (default: $AZUREML_V2_HOME) when `endpoint` is where
    its running server listens, else None (the caller must be given the token)."""
    home = default_home() if home is None else home
    return ensure_token(home)[0] if _serving(endpoint, home) else None


def _serving(endpoint: str, home: Path | None) -> dict | None:
    """The state of the server of `home` (default: $AZUREML_V2_HOME) when it listens at `endpoint`, else None."""
    state = status(default_home() if home is None else home)
    if state is None or _address(state.get("endpoint", "")) != _address(endpoint):
        return None
    return state


def studio_url(home: Path, state: dict, role: str = CONTRIBUTOR) -> str:
    """A one-time login URL of the studio served by the running server `state` of `home`."""
    return f"{state['endpoint']}/studio/login?ticket={ticket(ensure_token(home, role)[0], role)}"


def _address(url: str) -> tuple:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return parts.scheme, "127.0.0.1" if host == "localhost" else host, parts.port
    except ValueError:  # a port that is not a number
        return parts.scheme, host, None


def start(home: Path, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0, *, tls: bool = False,
          certfile: Path | None = None, keyfile: Path | None = None) -> tuple[dict, str | None]:
    """Start a detached server; returns its state and the contributor token if it was generated now.

    https when `tls` (a certificate made for this machine and kept in `home`) or given `certfile` and `keyfile`
    (PEM); a bad pair raises ValueError before anything starts."""
    if status(home):
        raise RuntimeError(f"a server already runs for {home}: {status(home)['endpoint']}")
    token, created = ensure_token(home)
    ensure_token(home, READER)
    tls_args = []
    if tls or certfile or keyfile:
        if tls and (certfile or keyfile) or not tls and not (certfile and keyfile):
            raise ValueError("TLS: give either --tls (a certificate made for this machine) or both --certfile "
                             "and --keyfile")
        certfile, keyfile = ensure_certificate(home) if tls else (Path(certfile), Path(keyfile))
        context(certfile, keyfile)  # refuses a bad pair here, not in the detached process
        tls_args = ["--certfile", str(certfile), "--keyfile", str(keyfile)] + (["--own-certificate"] if tls else [])
    (home / STATE_FILE).unlink(missing_ok=True)  # a stale one, left by a killed server
    with open(home / LOG_FILE, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "azureml_v2.local.api.server", "--home", str(home),
                                  "--host", host, "--port", str(port), *tls_args],
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


def create_server(home: Path, host: str = "127.0.0.1", port: int = 0, *, max_body: int = MAX_BODY,
                  max_upload: int = MAX_PUT_BLOB, tls: ssl.SSLContext | None = None, **options):
    """The waitress server of the local workspace in `home` (not yet running), speaking https when given `tls`;
    a body may have up to `max_body` bytes, a blob upload `max_upload`; `options` override SERVER_OPTIONS."""
    token, _ = ensure_token(home)
    reader, _ = ensure_token(home, READER)
    # waitress warns "Task queue depth is N" whenever all its threads are busy: normal under load
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    local = make_app(home, max_body=max_body, run_schedules=True)
    # the studio's pages (cookie sessions) beside the REST API (bearer tokens), over the same app
    app = with_studio(require_token(local, token, reader, public=(DISCOVERY_PATH,),
                                      signed=functools.partial(sas_allows, home)), local,
                      {CONTRIBUTOR: token, READER: reader})
    sockets = options.pop("map", None)
    sockets = {} if sockets is None else sockets
    # links in answers name the address served (SERVER_NAME), not what a client put in its Host header
    server_name = socket.gethostname() if host in ("", "0.0.0.0", "::") else host
    server = waitress.create_server(app, host=host, port=port, ident="azureml_v2", server_name=server_name,
                                    map=sockets, max_request_body_size=max(max_body, max_upload) + _BODY_MARGIN,
                                    url_scheme="https" if tls else "http", **{**SERVER_OPTIONS, **options})
    guard_slow_clients(sockets)
    if tls is not None:
        serve_tls(sockets, tls)
    server.local_app = local  # serve() starts its scheduler
    return server


def serve(home: Path, host: str, port: int, certfile: Path | None = None, keyfile: Path | None = None,
          own_certificate: bool = False) -> None:
    """Run in the foreground until SIGTERM/SIGINT; https with `certfile` and `keyfile`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tls = context(certfile, keyfile) if certfile else None
    server = create_server(home, host, port, tls=tls)
    try:  # what was missed while no scheduler ran is logged
        server.local_app.scheduler.start()
    except ValueError as exc:
        logging.getLogger(__name__).info("%s; this server fires them once that process ends", exc)
    scheme = "https" if tls else "http"
    endpoint = f"{scheme}://{host if ':' not in host else f'[{host}]'}:{server.effective_port}"
    state = {"pid": os.getpid(), "started": process_start(os.getpid()), "host": host,
             "port": server.effective_port, "endpoint": endpoint,
             **({"cafile": str(certfile)} if own_certificate else {})}
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


def fire_schedules(home: Path) -> None:
    """Fire the schedules of `home` in the foreground until SIGTERM/SIGINT (`azml schedule run`): what was missed
    while no scheduler ran is logged first. ValueError when another process fires them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = make_app(home, run_schedules=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        app.scheduler.start()
        print(f"firing the schedules of {home} (Ctrl+C stops)", flush=True)
        stop.wait()
    finally:
        app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m azureml_v2.local.api.server")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--certfile", type=Path, default=None)
    parser.add_argument("--keyfile", type=Path, default=None)
    parser.add_argument("--own-certificate", action="store_true", help="the certificate was made for this home")
    ns = parser.parse_args()
    serve(ns.home or default_home(), ns.host, ns.port, ns.certfile, ns.keyfile, ns.own_certificate)
