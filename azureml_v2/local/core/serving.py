"""Online endpoints served on this machine: what is asked of each endpoint, its keys and tokens, how traffic is split,
and the provisioning state the ARM API reports.

Each endpoint has a folder ``<home>/endpoints/<workspace>/<endpoint>/``. Core writes what is asked in ``spec.json``
(the endpoint's REST properties, its keys, its token secret, and each deployment's REST properties
with a generation that grows on every change); a detached host process (:mod:`azureml_v2.local.executors.online`)
holds ``host.lock`` for as long as it lives, serves the endpoint's router on loopback, runs each deployment's
scoring servers, and writes what is so in ``state.json`` (the port it listens on, the generation of the spec it has
applied, and each deployment's state). A deployment's provisioning state is read from both: Succeeded or Failed only
once the host has applied its current generation (Succeeded when the readiness probes answered), Creating or
Updating before, Deleting while a deployment removed from the spec still runs.

A host that died (a crash, a reboot) is started again by :meth:`Serving.supervise`, which the app runs on its
supervision timer, and by any write to the endpoint: its lock is free, so no process serves the endpoint.
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from ..._contract import seconds_from_iso
from .processes import Spawner

HOST_MODULE = "azureml_v2.local.executors.online"
TOKEN_LIFETIME = 3600.0  # seconds an aml token is valid (Azure ML: one hour)
STATE_WAIT = 5.0  # seconds a change of keys waits for the host to apply it, so that an old key is refused at once
# Azure ML's request_settings defaults (managed online deployments)
DEFAULT_REQUEST_TIMEOUT_MS = 5000
DEFAULT_MAX_CONCURRENT = 1
DEFAULT_QUEUE_WAIT_MS = 500


class ServingError(Exception):
    """An endpoint or deployment request the local workspace cannot serve; the message says why."""


# -- what core and the host agree on


def endpoint_folder(home, ws: str, endpoint: str) -> Path:
    return Path(home) / "endpoints" / ws / endpoint


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, doc: dict) -> None:
    """Write `doc` atomically (readers see the old or the new file), readable by this user only: it holds keys."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def request_settings(props: dict) -> tuple[float, int, float]:
    """A deployment's (request timeout s, max concurrent requests per instance, max queue wait s)."""
    settings = props.get("requestSettings") or {}
    timeout = milliseconds(settings.get("requestTimeout"), DEFAULT_REQUEST_TIMEOUT_MS)
    wait = milliseconds(settings.get("maxQueueWait"), DEFAULT_QUEUE_WAIT_MS)
    concurrent = settings.get("maxConcurrentRequestsPerInstance") or DEFAULT_MAX_CONCURRENT
    return timeout / 1000, int(concurrent), wait / 1000


def milliseconds(value, default: int) -> float:
    """An ISO 8601 duration (None: `default`) in milliseconds."""
    if not value:
        return default
    return seconds_from_iso(value) * 1000


class Splitter:
    """Picks deployments in proportion to their traffic weights, deterministically: smooth weighted round robin
    (each pick adds every weight to its running credit and takes the largest, which pays back the total), so that
    every run of sum(weights) picks holds each deployment exactly its weight."""

    def __init__(self, weights: dict[str, int]):
        self.weights = {name: int(w) for name, w in sorted(weights.items()) if int(w) > 0}
        self.total = sum(self.weights.values())
        self.credit = dict.fromkeys(self.weights, 0)

    def pick(self) -> str | None:
        if not self.total:
            return None
        for name, weight in self.weights.items():
            self.credit[name] += weight
        best = max(self.credit, key=self.credit.__getitem__)
        self.credit[best] -= self.total
        return best


class Mirror:
    """Which requests are copied to the shadow deployment: `percent` of them, evenly spread."""

    def __init__(self, percent: int):
        self.percent, self.credit = max(0, min(100, int(percent))), 0

    def take(self) -> bool:
        self.credit += self.percent
        if self.credit >= 100:
            self.credit -= 100
            return True
        return False


def issue_token(secret: str, endpoint: str, lifetime: float = TOKEN_LIFETIME, now: float | None = None) -> dict:
    """An aml token for `endpoint` (Azure ML's getToken answer): signed with the endpoint's secret, valid `lifetime`
    seconds."""
    issued = time.time() if now is None else now
    payload = _b64(json.dumps({"aud": endpoint, "exp": int(issued + lifetime)}).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return {"accessToken": f"{payload}.{signature}", "tokenType": "Bearer",
            "expiryTimeUtc": int(issued + lifetime), "refreshAfterTimeUtc": int(issued + lifetime / 2)}


def token_valid(secret: str, endpoint: str, token: str, now: float | None = None) -> bool:
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return False
    return claims.get("aud") == endpoint and (time.time() if now is None else now) < claims.get("exp", 0)


def authorized(spec: dict, endpoint: str, header: str | None, now: float | None = None) -> bool:
    """Whether an Authorization header opens `endpoint`: a bearer key in key mode, a valid unexpired aml token in
    token modes."""
    if not header:
        return False
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return False
    credential = credential.strip()
    if (spec["endpoint"].get("authMode") or "Key").lower() == "key":
        return any(hmac.compare_digest(credential.encode(), key.encode()) for key in spec["keys"].values())
    return token_valid(spec["token_secret"], endpoint, credential, now)


def provisioning_state(spec: dict | None, state: dict | None, deployment: str) -> str | None:
    """A deployment's ARM provisioning state from what is asked and what the host reports; None when it is gone."""
    asked = (spec or {}).get("deployments", {}).get(deployment)
    seen = ((state or {}).get("deployments") or {}).get(deployment)
    if asked is None:
        return "Deleting" if seen is not None else None
    if seen is not None and seen["generation"] == asked["generation"] and seen["state"] in ("Succeeded", "Failed"):
        return seen["state"]
    return "Updating" if seen is not None and seen.get("served") else "Creating"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _new_key() -> str:
    return secrets.token_urlsafe(24)


def host_alive(folder: Path) -> bool:
    """Whether a host process serves the endpoint of `folder` (it holds host.lock while it lives)."""
    try:
        with open(folder / "host.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


class Serving:
    """The online endpoints of a home (see the module docstring). With `launch=False` no host is started."""

    def __init__(self, home, *, launch: bool = True):
        self.home, self.launch = Path(home), launch
        self._spawner = Spawner()

    def folder(self, ws: str, endpoint: str) -> Path:
        return endpoint_folder(self.home, ws, endpoint)

    def spec(self, ws: str, endpoint: str) -> dict | None:
        return read_json(self.folder(ws, endpoint) / "spec.json")

    def state(self, ws: str, endpoint: str) -> dict | None:
        return read_json(self.folder(ws, endpoint) / "state.json")

    # -- writes

    def put_endpoint(self, ws: str, endpoint: str, props: dict) -> dict:
        """Ask for an endpoint with REST `properties` (auth mode, traffic, mirror traffic) -> its served view."""
        folder = self.folder(ws, endpoint)
        spec = self.spec(ws, endpoint)
        if spec is None:
            folder.mkdir(parents=True, exist_ok=True)
            spec = {"generation": 0, "keys": {"primaryKey": _new_key(), "secondaryKey": _new_key()},
                    "token_secret": secrets.token_hex(32), "deployments": {}}
        self._check_traffic(props, spec)
        spec["endpoint"] = {k: props.get(k) for k in ("authMode", "traffic", "mirrorTraffic")}
        self._write(ws, endpoint, spec)
        return self.endpoint_view(ws, endpoint)

    def put_deployment(self, ws: str, endpoint: str, name: str, body: dict) -> str:
        """Ask for a deployment with its REST body (`properties`, and `sku` whose capacity is the instance count)
        -> its provisioning state. A change of what it serves (not its description or properties bag) starts new
        servers, then switches to them."""
        spec = self.spec(ws, endpoint)
        if spec is None:
            raise ServingError(f"online endpoint {endpoint!r} not found in workspace {ws!r}")
        current = spec["deployments"].get(name)
        props = {k: v for k, v in (body.get("properties") or {}).items()
                 if k not in ("description", "properties", "provisioningState")}
        served = {"properties": props, "instanceCount": int((body.get("sku") or {}).get("capacity") or 1)}
        if current is None or current["served"] != served:
            spec["deployments"][name] = {"generation": (current or {}).get("generation", 0) + 1, "served": served}
            self._write(ws, endpoint, spec)
        return provisioning_state(spec, self.state(ws, endpoint), name)

    def delete_deployment(self, ws: str, endpoint: str, name: str) -> str | None:
        """Stop a deployment's servers (the host drains them) -> its provisioning state (None: gone)."""
        spec = self.spec(ws, endpoint)
        if spec is None or name not in spec["deployments"]:
            return None
        weight = int(((spec["endpoint"] or {}).get("traffic") or {}).get(name) or 0)
        if weight:
            raise ServingError(f"deployment {name!r} takes {weight}% of the traffic of endpoint {endpoint!r}: set its "
                               "traffic to 0 before deleting it")
        del spec["deployments"][name]
        self._write(ws, endpoint, spec)
        return provisioning_state(spec, self.state(ws, endpoint), name)

    def delete_endpoint(self, ws: str, endpoint: str) -> bool:
        """Stop everything an endpoint runs and free its port -> whether it is gone already (else its host is
        stopping it: Deleting)."""
        folder = self.folder(ws, endpoint)
        (folder / "spec.json").unlink(missing_ok=True)
        if not folder.exists():
            return True
        if not host_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)
            return True
        return False

    def regenerate_key(self, ws: str, endpoint: str, key_type: str, key_value: str | None = None) -> None:
        """Replace the primary or secondary key; the old one is refused once this returns."""
        spec = self._existing(ws, endpoint)
        key = {"primary": "primaryKey", "secondary": "secondaryKey"}.get(key_type.lower())
        if key is None:
            raise ServingError(f"keyType must be Primary or Secondary, not {key_type!r}")
        spec["keys"][key] = key_value or _new_key()
        self._write(ws, endpoint, spec)
        self._wait_applied(ws, endpoint, spec["generation"])

    # -- reads

    def keys(self, ws: str, endpoint: str) -> dict:
        return dict(self._existing(ws, endpoint)["keys"])

    def token(self, ws: str, endpoint: str, lifetime: float = TOKEN_LIFETIME) -> dict:
        spec = self._existing(ws, endpoint)
        if (spec["endpoint"].get("authMode") or "Key").lower() == "key":
            raise ServingError(f"endpoint {endpoint!r} uses keys (auth_mode key): it issues no tokens")
        return issue_token(spec["token_secret"], endpoint, lifetime)

    def endpoint_view(self, ws: str, endpoint: str) -> dict:
        """What the ARM body of an endpoint shows of its serving: provisioningState, scoringUri, swaggerUri."""
        folder = self.folder(ws, endpoint)
        spec, state = self.spec(ws, endpoint), self.state(ws, endpoint)
        if spec is None:
            return {"provisioningState": "Deleting"} if folder.exists() else {}
        applied = (state or {}).get("generation", -1) >= spec["generation"] and host_alive(folder)
        view = {"provisioningState": "Succeeded" if applied else ("Updating" if state else "Creating")}
        port = (state or {}).get("port")
        if port:  # the host's router, on the port it had before when it is free (a restart keeps the URI)
            view.update(scoringUri=f"http://127.0.0.1:{port}/score", swaggerUri=f"http://127.0.0.1:{port}/swagger.json")
        return view

    def deployment_state(self, ws: str, endpoint: str, name: str) -> str | None:
        return provisioning_state(self.spec(ws, endpoint), self.state(ws, endpoint), name)

    def deployment_error(self, ws: str, endpoint: str, name: str) -> str | None:
        seen = ((self.state(ws, endpoint) or {}).get("deployments") or {}).get(name) or {}
        return seen.get("error")

    def logs(self, ws: str, endpoint: str, name: str, lines: int | None = None,
             container: str = "inference-server") -> str:
        """The tail of a deployment's log: its scoring servers' output (`inference-server`), or the preparation of
        its model, code and environment (`storage-initializer`)."""
        kind = "storage-initializer" if container.replace("_", "-").lower() == "storage-initializer" \
            else "inference-server"
        path = self.folder(ws, endpoint) / "deployments" / name / f"{kind}.log"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "".join(text.splitlines(keepends=True)[-lines:]) if lines else text

    # -- supervision

    def supervise(self) -> None:
        """Start a host for every endpoint that has none (a crash, a reboot); clear what deleted ones left."""
        root = self.home / "endpoints"
        if not root.is_dir():
            return
        for folder in root.glob("*/*"):
            if (folder / "spec.json").exists():
                self._ensure_host(folder.parent.name, folder.name)
            elif not host_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self._spawner.reap()

    # -- helpers

    def _existing(self, ws: str, endpoint: str) -> dict:
        spec = self.spec(ws, endpoint)
        if spec is None:
            raise ServingError(f"online endpoint {endpoint!r} not found in workspace {ws!r}")
        return spec

    @staticmethod
    def _check_traffic(props: dict, spec: dict) -> None:
        traffic = props.get("traffic") or {}
        total = sum(int(v) for v in traffic.values())
        if traffic and total not in (0, 100):
            raise ServingError(f"the traffic of an endpoint must add up to 100 (or 0), not {total}: {traffic}")
        missing = sorted(set(traffic) - set(spec["deployments"]))
        if missing and any(int(traffic[m]) for m in missing):
            raise ServingError(f"traffic names deployments the endpoint does not have: {', '.join(missing)}")
        mirror = props.get("mirrorTraffic") or {}
        for name, percent in mirror.items():
            if int(traffic.get(name) or 0):
                raise ServingError(f"deployment {name!r} cannot take both live and mirrored traffic")
            if not 0 <= int(percent) <= 50:
                raise ServingError(f"mirror traffic of {name!r} must be between 0 and 50 percent, not {percent}")

    def _write(self, ws: str, endpoint: str, spec: dict) -> None:
        spec["generation"] += 1
        write_json(self.folder(ws, endpoint) / "spec.json", spec)
        self._ensure_host(ws, endpoint)

    def _ensure_host(self, ws: str, endpoint: str) -> None:
        folder = self.folder(ws, endpoint)
        if not self.launch or host_alive(folder):
            return
        self._spawner.spawn([sys.executable, "-m", HOST_MODULE, "--home", str(self.home), "--workspace", ws,
                             "--endpoint", endpoint], cwd=self.home, stderr_path=folder / "host.log")

    def _wait_applied(self, ws: str, endpoint: str, generation: int) -> None:
        deadline = time.monotonic() + STATE_WAIT
        while self.launch and time.monotonic() < deadline:
            if (self.state(ws, endpoint) or {}).get("generation", -1) >= generation:
                return
            time.sleep(0.02)
