"""Endpoints served on this machine: the provisioner that starts their hosts, how traffic is split and
mirrored, and a deployment's request settings.

The store holds what is asked (an endpoint's auth mode, keys, traffic and mirror traffic; each deployment's
properties and instance count) and its provisioning state. :class:`Serving` is the store's
:class:`~azureml_v2.local.core.endpoints.Provisioner`: after each change it makes sure a host
process serves the endpoint (:mod:`azureml_v2.local.executors.online`, one per endpoint, detached: it outlives the
process that started it). The host reads the store, starts, switches and stops scoring servers, and ends each
create, update or delete by moving the resource to Succeeded or Failed or removing it. It holds ``host.lock`` in the
endpoint's folder ``<home>/endpoints/<workspace>/<kind>/<endpoint>/`` for as long as it lives, and writes ``state.json``
there (its pid, its router's port, each deployment's instances); the deployments' logs are beside it. A batch
endpoint's host (:mod:`azureml_v2.local.executors.batch`) answers its invocations with scoring jobs.

A host that died (a crash, a reboot) is started again by :meth:`Serving.supervise`, which the app runs on its
supervision timer, and by any change to the endpoint: its lock is free, so no process serves it.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path

from ..._contract import seconds_from_iso
from .endpoints import Provisioner
from .processes import Spawner
from .workspace import Store

HOST_MODULES = {"online": "azureml_v2.local.executors.online", "batch": "azureml_v2.local.executors.batch"}
# Azure ML's request_settings defaults (managed online deployments)
DEFAULT_REQUEST_TIMEOUT_MS = 5000
DEFAULT_MAX_CONCURRENT = 1
DEFAULT_QUEUE_WAIT_MS = 500
LOG_FILES = {"InferenceServer": "inference-server.log", "StorageInitializer": "storage-initializer.log"}


# the local scheduler's invocation of a batch endpoint names the scoring job after its firing (invoked once)
JOB_NAME_HEADER = "x-azml-job-name"


def endpoint_folder(home, ws: str, kind: str, endpoint: str) -> Path:
    return Path(home) / "endpoints" / ws.lower() / kind / endpoint.lower()


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, doc: dict) -> None:
    """Write `doc` atomically: readers see the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


def served(record: dict) -> dict:
    """What a deployment record asks to serve: a change of it starts new servers (a new description does not)."""
    props = {k: v for k, v in record["doc"]["properties"].items()
             if k not in ("description", "properties", "provisioningState")}
    return {"properties": props, "instanceCount": int((record["doc"].get("sku") or {}).get("capacity") or 1)}


def request_settings(props: dict) -> tuple[float, int, float]:
    """A deployment's (request timeout s, max concurrent requests per instance, max queue wait s)."""
    settings = props.get("requestSettings") or {}
    timeout = milliseconds(settings.get("requestTimeout"), DEFAULT_REQUEST_TIMEOUT_MS)
    wait = milliseconds(settings.get("maxQueueWait"), DEFAULT_QUEUE_WAIT_MS)
    concurrent = settings.get("maxConcurrentRequestsPerInstance") or DEFAULT_MAX_CONCURRENT
    return timeout / 1000, int(concurrent), wait / 1000


def milliseconds(value, default: int) -> float:
    """An ISO 8601 duration (None: `default`) in milliseconds."""
    return default if not value else seconds_from_iso(value) * 1000


class Splitter:
    """Picks deployments in proportion to their traffic weights, deterministically: smooth weighted round robin
    (each pick adds every weight to its running credit and takes the largest, which pays back the total), so that
    every run of sum(weights) picks holds each deployment exactly its weight, spread out."""

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
    """Which requests are copied to a shadow deployment: `percent` of them, evenly spread."""

    def __init__(self, percent: int):
        self.percent, self.credit = max(0, min(100, int(percent))), 0

    def take(self) -> bool:
        self.credit += self.percent
        if self.credit >= 100:
            self.credit -= 100
            return True
        return False


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


class Serving(Provisioner):
    """The provisioner of a home whose endpoints are served (see the module docstring). With `launch=False` nothing
    is started, and everything is provisioned once stored (the base provisioner)."""

    def __init__(self, store: Store, *, launch: bool = True):
        super().__init__(store)
        self.launch = launch
        self._spawner = Spawner()

    def folder(self, ws: str, kind: str, endpoint: str) -> Path:
        return endpoint_folder(self.store.home, ws, kind, endpoint)

    def state(self, ws: str, kind: str, endpoint: str) -> dict | None:
        return read_json(self.folder(ws, kind, endpoint) / "state.json")

    # -- the provisioner's hooks

    def endpoint_stored(self, ws: str, kind: str, endpoint: str, action: str) -> None:
        if not self.launch:
            return super().endpoint_stored(ws, kind, endpoint, action)
        self._ensure_host(ws, kind, endpoint)

    def deployment_stored(self, ws: str, kind: str, endpoint: str, deployment: str, action: str) -> None:
        if not self.launch:
            return super().deployment_stored(ws, kind, endpoint, deployment, action)
        self._ensure_host(ws, kind, endpoint)

    def deleting(self, ws: str, kind: str, endpoint: str, deployment: str | None) -> None:
        if not self.launch:
            return super().deleting(ws, kind, endpoint, deployment)
        self._ensure_host(ws, kind, endpoint)

    def scoring_uri(self, ws: str, kind: str, endpoint: str) -> str | None:
        port = (self.state(ws, kind, endpoint) or {}).get("port")
        return f"http://127.0.0.1:{port}/{'score' if kind == 'online' else 'jobs'}" if port else None

    def swagger_uri(self, ws: str, kind: str, endpoint: str) -> str | None:
        port = (self.state(ws, kind, endpoint) or {}).get("port")
        return f"http://127.0.0.1:{port}/swagger.json" if port and kind == "online" else None

    def logs(self, ws: str, kind: str, endpoint: str, deployment: str, container: str, tail: int | None) -> str:
        """The scoring servers' output (InferenceServer), or the preparation of the deployment's model, code and
        environment (StorageInitializer)."""
        path = self.folder(ws, kind, endpoint) / "deployments" / deployment.lower() / LOG_FILES[container]
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        if tail is None:
            return text
        return "".join(text.splitlines(keepends=True)[-tail:]) if tail else ""

    # -- supervision

    def supervise(self) -> None:
        """Start a host for every endpoint that has none (a crash, a reboot)."""
        if not self.launch:
            return
        for kind in HOST_MODULES:
            for ws, endpoint in self.store.endpoint_names(kind):
                self._ensure_host(ws, kind, endpoint)

    def close(self) -> None:
        self._spawner.reap()

    def _ensure_host(self, ws: str, kind: str, endpoint: str) -> None:
        folder = self.folder(ws, kind, endpoint)
        folder.mkdir(parents=True, exist_ok=True)
        if host_alive(folder):
            return
        self._spawner.spawn([sys.executable, "-m", HOST_MODULES[kind], "--home", str(self.store.home),
                             "--workspace", ws, "--endpoint", endpoint], cwd=self.store.home,
                            stderr_path=folder / "host.log")
