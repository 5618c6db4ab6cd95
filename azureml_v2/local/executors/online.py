"""The host of one online endpoint: its router on loopback and the scoring servers of its deployments.

    python -m azureml_v2.local.executors.online --home H --workspace WS --endpoint NAME

One detached process per endpoint (started by :class:`azureml_v2.local.core.serving.Serving`, which it outlives).
It holds ``host.lock`` while it lives, reads the endpoint and its deployments from the store whenever the store
changes, ends their provisioning (Succeeded, Failed, or removed after a delete) and writes ``state.json`` (see
:mod:`azureml_v2.local.core.serving`).

- Each deployment runs ``instance_count`` processes of azureml-inference-server-http (Azure ML's scoring server:
  gunicorn and Flask around the user's ``init()``/``run()``), bound to 127.0.0.1, in the deployment's environment
  (built and cached as a job's, with the server added when the environment lacks it), with the model's files under
  ``AZUREML_MODEL_DIR`` as Azure ML lays them out (``azureml-models/<name>/<version>/<file or folder>``). An MLflow
  model without a scoring script is served by :mod:`azureml_v2.local.executors.mlflow_scoring` in an environment made
  from the model's own conda file.
- A deployment is Succeeded when every instance answers its readiness probe (``GET /``). A change starts new
  instances, switches to them once they are ready, then drains the old ones (they finish what they took): no request
  fails during an update. An instance that dies is started again on a new port, and the restart is written to the
  deployment's log.
- The router (asyncio, HTTP/1.1 with keep-alive) answers ``POST /score`` and ``GET /swagger.json``: it checks the
  bearer key or aml token (401), picks a deployment by the ``azureml-model-deployment`` header or by traffic weight
  (404 when no deployment takes traffic), copies a share of requests to the mirror deployment (its answers are
  dropped), waits for a free instance at most ``max_queue_wait`` (429 after), and gives the instance
  ``request_timeout`` (408 after). An instance that refuses or drops the connection gives 502; a deployment without
  a live instance gives 503 at once.
"""
from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from pathlib import Path

from ..._contract import ASSET_ID, LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION, SHORT_REF
from ..core import serving
from ..core.endpoints import credential_valid
from ..core.refs import RefError, References
from ..core.workspace import NotFound, Store
from . import envs

SERVER_PACKAGE = "azureml-inference-server-http"
SERVER_MODULE = "azureml_inference_server_http"
# azmlinfsrv binds every interface; the local workspace serves on loopback only, behind the router's auth
_LAUNCHER = ("import sys, azureml_inference_server_http.constants as c; c.DEFAULT_HOST = '127.0.0.1'; "
             "from azureml_inference_server_http.amlserver import run; sys.exit(run())")
TICK = 0.1  # seconds between two looks at the store and the instances
PROBE_EVERY = 0.05  # seconds between two readiness probes of a starting instance
MAX_HEAD = 64 * 1024
MAX_BODY = 100 * 1024 * 1024
_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host", b"te",
                  b"trailer", b"upgrade", b"proxy-connection", b"proxy-authorization"})
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}


class DeploymentError(Exception):
    """A deployment cannot be made ready; the message is its error."""


class Instance:
    """One scoring server process."""

    def __init__(self, index: int, proc: subprocess.Popen, port: int, run_dir: str):
        self.index, self.proc, self.port, self.run_dir = index, proc, port, run_dir
        self.inflight = 0
        self.ready = False
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.run_dir, ignore_errors=True)


class Version:
    """One generation of a deployment: its launch recipe, request settings and instances."""

    def __init__(self, name: str, generation: int, launch: dict, settings: tuple[float, int, float]):
        self.name, self.generation, self.launch = name, generation, launch
        self.timeout, self.concurrent, self.queue_wait = settings
        self.instances: list[Instance] = []
        self.spare: Instance | None = None  # a ready server beyond instance_count, for a dead instance's place
        self.waiters: deque[asyncio.Future] = deque()

    def everything(self) -> list[Instance]:
        return self.instances + ([self.spare] if self.spare is not None else [])

    def free(self) -> Instance | None:
        best = None
        for inst in self.instances:
            if inst.ready and inst.inflight < self.concurrent and (best is None or inst.inflight < best.inflight):
                best = inst
        return best

    def live(self) -> bool:
        return any(inst.ready for inst in self.instances)

    def busy(self) -> bool:
        return bool(self.waiters) or any(inst.inflight for inst in self.instances)

    async def acquire(self) -> Instance | None:
        """A ready instance with a free slot, waiting at most `queue_wait` -> None when none is live; raises
        TimeoutError when the wait is over."""
        inst = self.free()
        if inst is None and not self.live():
            return None
        if inst is None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.queue_wait
            while inst is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                waiter = loop.create_future()
                self.waiters.append(waiter)
                try:
                    await asyncio.wait_for(waiter, remaining)
                finally:
                    if waiter in self.waiters:
                        self.waiters.remove(waiter)
                inst = self.free()
                if inst is None and not self.live():
                    return None
        inst.inflight += 1
        return inst

    def release(self, inst: Instance) -> None:
        inst.inflight -= 1
        self.wake()

    def wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class Deployment:
    def __init__(self, name: str):
        self.name = name
        self.active: Version | None = None  # the version that takes requests
        self.pending: Version | None = None  # the version being started
        self.task: asyncio.Task | None = None
        self.asked: dict | None = None  # what the store asks it to serve (serving.served)
        self.generation = 0  # one more for each change of what it serves
        self.state, self.error = "Creating", None


class Host:
    """The host of an online endpoint (see the module docstring)."""

    kind = "online"

    def __init__(self, home: str, ws: str, endpoint: str):
        self.home, self.ws, self.endpoint = Path(home), ws, endpoint
        self.folder = serving.endpoint_folder(self.home, ws, self.kind, endpoint)
        self.store = Store(self.home)
        self.refs = References(self.store, ws)
        self.record: dict | None = None  # the endpoint as stored
        self.keys: dict = {}
        self.traffic: dict | None = None
        self.data_version = None
        self.changed = False  # whether the store changed since the last reconcile
        self.deployments: dict[str, Deployment] = {}
        self.draining: list[Version] = []
        self.deleting: set[str] = set()  # deployments whose delete ends once their instances stopped
        self.splitter = serving.Splitter({})
        self.mirrors: list[tuple[str, serving.Mirror]] = []
        self.port = None
        self._state_text = None

    # -- the process

    def run(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = open(self.folder / "host.lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another host serves this endpoint
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        gone = False
        try:
            gone = asyncio.run(self.main())
        finally:
            self.stop_all()
            if gone:  # deleted: free everything, then end the delete
                shutil.rmtree(self.folder, ignore_errors=True)
                self.store.finish_endpoint_delete(self.ws, self.kind, self.endpoint)
            lock.close()
        return 0

    async def main(self) -> bool:
        """Serve until the endpoint is deleted -> True (False: it was not there)."""
        if not self.refresh():
            return False
        server = await self._listen((serving.read_json(self.folder / "state.json") or {}).get("port") or 0)
        self.port = server.sockets[0].getsockname()[1]
        self.log(f"router listening on http://127.0.0.1:{self.port}/score")
        async with server:
            while True:
                try:
                    if self.changed:  # the store changed: what it asks may have
                        self.changed = False
                        self.reconcile()
                    self.supervise()
                    self.write_state()
                except sqlite3.OperationalError:  # a busy store: the next round tries again
                    self.log("the store is busy:\n" + traceback.format_exc())
                if self.record["state"] == "Deleting":
                    self.log("endpoint deleted: stopping")
                    return True
                await asyncio.sleep(TICK)
                if not self.store.path.exists() or not self.refresh():  # the home or the endpoint is gone
                    return False

    async def _listen(self, port: int):
        """The router's server: on the port the endpoint had (its scoring URI stays), else on a new one."""
        try:
            return await asyncio.start_server(self.handle, "127.0.0.1", port, limit=MAX_HEAD)
        except OSError:  # taken meanwhile (a reboot): state.json tells the new one
            return await asyncio.start_server(self.handle, "127.0.0.1", 0, limit=MAX_HEAD)

    def log(self, message: str) -> None:
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
        sys.stderr.flush()

    def deployment_log(self, name: str, kind: str, message: str) -> None:
        folder = self.folder / "deployments" / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{kind}.log", "a", encoding="utf-8") as f:
            f.write(f"[azureml_v2] {time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")

    # -- what the store asks

    def refresh(self) -> bool:
        """Read the endpoint again when the store changed (a cheap check, made for every request: a regenerated key
        refuses the old one at once) -> whether the endpoint exists."""
        try:
            version = self.store.connection().execute("PRAGMA data_version").fetchone()[0]
            if version == self.data_version and self.record is not None:
                return True
            record = self.store.get_endpoint(self.ws, self.kind, self.endpoint)
        except NotFound:
            return False
        except sqlite3.OperationalError:  # a busy store: what was read last still holds
            return self.record is not None
        self.data_version, self.record, self.changed = version, record, True
        self.keys = json.loads(record["keys"] or "{}")
        props = record["doc"]["properties"]
        traffic = (props.get("traffic") or {}, props.get("mirrorTraffic") or {})
        if traffic != self.traffic:  # a new splitter only when the weights change: the split stays exact
            self.traffic = traffic
            self.splitter = serving.Splitter(traffic[0])
            self.mirrors = [(name, serving.Mirror(p)) for name, p in sorted(traffic[1].items()) if int(p)]
        return True

    def reconcile(self) -> None:
        """Start what is new or changed, drain what is deleted, and end what a PUT or DELETE waits for."""
        if self.record["state"] in ("Creating", "Updating"):
            self.store.set_provisioning(self.ws, self.kind, self.endpoint, None, "Succeeded")
            self.record = {**self.record, "state": "Succeeded"}
        records = {r["name"]: r for r in self.store.list_deployments(self.ws, self.kind, self.endpoint)}
        for name in list(self.deployments):
            if name not in records or records[name]["state"] == "Deleting":
                self.remove(name)
        for name, record in records.items():
            if record["state"] == "Deleting":
                if name not in self.deployments:
                    self.deleting.add(name)
                continue
            dep = self.deployments.setdefault(name, Deployment(name))
            asked = serving.served(record)
            if asked != dep.asked:
                dep.asked, dep.generation = asked, dep.generation + 1
                if dep.task is not None:
                    dep.task.cancel()
                dep.state, dep.error = ("Updating" if dep.active else "Creating"), None
                dep.task = asyncio.get_running_loop().create_task(self.roll_out(dep, asked))
            elif record["state"] in ("Creating", "Updating") and dep.state in ("Succeeded", "Failed"):
                self._provisioned(dep)  # a change of what it does not serve (its description)

    def _provisioned(self, dep: Deployment) -> None:
        self.store.set_provisioning(self.ws, self.kind, self.endpoint, dep.name, dep.state, error=dep.error)

    def remove(self, name: str) -> None:
        dep = self.deployments.pop(name)
        if dep.task is not None:
            dep.task.cancel()
        for version in (dep.active, dep.pending):
            if version is not None:
                self.draining.append(version)
        self.deleting.add(name)
        self.deployment_log(name, "inference-server", "deployment deleted: its instances stop once drained")

    async def roll_out(self, dep: Deployment, asked: dict) -> None:
        version = None
        try:
            launch = await asyncio.to_thread(self.prepare, dep.name, dep.generation, asked)
            props, count = asked["properties"], asked["instanceCount"]
            version = Version(dep.name, dep.generation, launch, serving.request_settings(props))
            dep.pending = version
            await asyncio.gather(*(self.start_instance(version, i) for i in range(count)))
            old, dep.active, dep.pending = dep.active, version, None
            if old is not None:
                self.draining.append(old)
            dep.state, dep.error = "Succeeded", None
            self.deployment_log(dep.name, "inference-server", f"generation {version.generation}: {count} instance(s) "
                                                              "ready, taking requests")
            asyncio.get_running_loop().create_task(self._start_spare(dep, version))
        except asyncio.CancelledError:
            if version is not None and dep.pending is version:
                dep.pending = None
                self.draining.append(version)
            raise
        except Exception as exc:  # noqa: BLE001 - whatever stops a deployment fails it, with the reason
            if not isinstance(exc, (DeploymentError, RefError, envs.EnvironmentBuildError, OSError)):
                self.log("deployment %s failed:\n%s" % (dep.name, traceback.format_exc()))
            if version is not None:
                dep.pending = None
                self.draining.append(version)
            dep.state, dep.error = "Failed", str(exc) or type(exc).__name__
            self.deployment_log(dep.name, "inference-server", f"deployment failed: {dep.error}")
        self._provisioned(dep)
        self.write_state()

    def prepare(self, name: str, generation: int, asked: dict) -> dict:
        """Model, code and environment of a deployment generation -> how to start one instance (in a thread)."""
        props = asked["properties"]
        gen = self.folder / "deployments" / name.lower() / f"generation-{generation}"
        shutil.rmtree(gen, ignore_errors=True)
        gen.mkdir(parents=True)
        with open(gen.parent / "storage-initializer.log", "a", encoding="utf-8") as log:
            log.write(f"[azureml_v2] generation {generation}: preparing model, code and environment\n")
            log.flush()
            model_dir, model_path, model_type = self._model(props.get("model"), gen)
            code = props.get("codeConfiguration") or {}
            if code.get("codeId") or code.get("scoringScript"):
                if not code.get("codeId") or not code.get("scoringScript"):
                    raise DeploymentError("code_configuration needs both code and scoring_script")
                source = self.refs.path(self.refs.asset(code["codeId"], "codes")["codeUri"], "code", _no_download)
                app_root = gen / "code"
                shutil.copytree(source, app_root, symlinks=True)
                script = app_root / code["scoringScript"]
                if not script.is_file():
                    raise DeploymentError(f"scoring script {code['scoringScript']!r} is not in the code "
                                          f"{source}")
                environment = self._environment(props.get("environmentId"))
            elif model_type == "mlflowmodel" and model_path is not None:
                app_root = gen / "code"
                app_root.mkdir()
                script = Path(shutil.copy2(Path(__file__).with_name("mlflow_scoring.py"), app_root / "score.py"))
                environment = self._mlflow_environment(model_path) if not props.get("environmentId") \
                    else self._environment(props.get("environmentId"))
            else:
                raise DeploymentError("a deployment needs code_configuration (code and scoring_script) unless its "
                                      "model is an MLflow model (type mlflow_model)")
            prepared = envs.prepare(environment, self.home, log=log, also=_server_requirement(environment))
            if prepared.notice:
                log.write(f"[azureml_v2] {prepared.notice}\n")
            log.write(f"[azureml_v2] environment: {prepared.python} ({'cached' if prepared.cached else 'built'})\n")
        env = {**os.environ, "PATH": prepared.bin_dir + os.pathsep + os.environ.get("PATH", ""),
               "AML_APP_ROOT": str(app_root), "PYTHONUNBUFFERED": "1", "AZUREML_ARM_WORKSPACE_NAME": self.ws, "AZUREML_ARM_SUBSCRIPTION": LOCAL_SUBSCRIPTION,
               "AZUREML_ARM_RESOURCEGROUP": LOCAL_RESOURCE_GROUP,
               **{str(k): str(v) for k, v in (props.get("environmentVariables") or {}).items()}}
        for key in ("PYTHONHOME", "VIRTUAL_ENV", "PYTHONPATH"):
            env.pop(key, None)
        return {"python": prepared.python, "script": str(script), "env": env, "cwd": str(app_root),
                "model_dir": str(model_dir), "probe": props.get("readinessProbe") or {}}

    def _model(self, reference: str | None, gen: Path) -> tuple[Path, Path | None, str]:
        """Lay the model out as Azure ML does -> (AZUREML_MODEL_DIR, the model's file or folder, its type)."""
        if not reference:
            model_dir = gen / "azureml-models"
            model_dir.mkdir()
            return model_dir, None, ""
        model = self.refs.asset(reference, "models")
        m = ASSET_ID.match(reference) or SHORT_REF.match(reference)
        name = m.group("name")
        version = m.groupdict().get("version") or "latest"
        path = self.refs.path(model["modelUri"], "model", _no_download)
        model_dir = gen / "azureml-models" / name / version
        model_dir.mkdir(parents=True)
        _link_copy(path, model_dir / path.name)
        return model_dir, model_dir / path.name, str(model.get("modelType") or "").replace("_", "").lower()

    def _environment(self, reference: str | None) -> dict | None:
        if not reference:
            return None
        curated = envs.curated(reference)
        return curated if curated is not None else self.refs.asset(reference, "environments")

    @staticmethod
    def _mlflow_environment(model_path: Path) -> dict:
        """An MLflow model's own environment: its conda file (or requirements.txt), as Azure ML's no-code
        deployments build it."""
        root = model_path if model_path.is_dir() else model_path.parent
        for mlmodel in [root / "MLmodel", *root.rglob("MLmodel")]:
            if mlmodel.is_file():
                root = mlmodel.parent
                break
        for name in ("conda.yaml", "requirements.txt"):
            if (root / name).is_file():
                text = (root / name).read_text(encoding="utf-8")
                if name == "requirements.txt":
                    text = "\n".join(line for line in text.splitlines() if not line.startswith("-r"))
                return {"condaFile": text}
        raise DeploymentError(f"the MLflow model in {root} has neither conda.yaml nor requirements.txt: add a "
                              "scoring script and an environment")

    # -- instances

    async def start_instance(self, version: Version, index: int, spare: bool = False) -> Instance:
        """Start one scoring server (instance `index`, or the version's warm spare) and wait until it answers its
        readiness probe."""
        launch = version.launch
        port = _free_port()
        log_path = self.folder / "deployments" / version.name / "inference-server.log"
        # gunicorn's control socket goes to $XDG_RUNTIME_DIR: one short private folder per instance
        run_dir = tempfile.mkdtemp(prefix="azml-")
        with open(log_path, "ab") as out:
            offset = out.tell()
            proc = subprocess.Popen([launch["python"], "-c", _LAUNCHER, "--entry_script", launch["script"],
                                     "--port", str(port), "--model_dir", launch["model_dir"]],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=launch["cwd"], env={**launch["env"], "XDG_RUNTIME_DIR": run_dir},
                                    start_new_session=True)
        inst = Instance(index, proc, port, run_dir)
        if spare:
            version.spare = inst
        elif index < len(version.instances):
            version.instances[index] = inst
        else:
            version.instances.append(inst)
        probe = launch["probe"]  # Azure ML's defaults: a probe every 10 s, 30 failures allowed
        limit = max(60.0, serving.milliseconds(probe.get("period"), 10000) / 1000 * (probe.get("failureThreshold") or 30))
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DeploymentError(f"instance {index} exited with code {proc.returncode} before it was ready "
                                      f"(see get_logs):\n{_failure(log_path, offset)}")
            if await _probe(port):
                inst.ready = True
                version.wake()
                return inst
            await asyncio.sleep(PROBE_EVERY)
        inst.stop()
        raise DeploymentError(f"instance {index} did not answer its readiness probe within {limit:.0f} s")

    def supervise(self) -> None:
        """Restart instances that died (the warm spare takes the place of a dead one at once); stop drained
        versions."""
        loop = asyncio.get_running_loop()
        for dep in self.deployments.values():
            version = dep.active
            if version is None:
                continue
            spare = version.spare
            if spare is not None and not spare.stopping and spare.proc.poll() is not None:
                spare.stop()
                version.spare = None
                loop.create_task(self._start_spare(dep, version))
            for inst in list(version.instances):
                if inst.stopping or inst.proc.poll() is None:
                    continue
                inst.ready = False
                inst.stop()  # and what the server left (its gunicorn worker)
                self.deployment_log(dep.name, "inference-server",
                                    f"instance {inst.index} (pid {inst.proc.pid}) exited with code "
                                    f"{inst.proc.returncode}: restarting it")
                spare = version.spare
                if spare is not None and spare.ready and spare.proc.poll() is None:
                    spare.index, version.instances[inst.index], version.spare = inst.index, spare, None
                    version.wake()
                    self.deployment_log(dep.name, "inference-server", f"instance {inst.index} restarted: the warm "
                                                                      f"spare (pid {spare.proc.pid}) took its place")
                    loop.create_task(self._start_spare(dep, version))
                else:
                    loop.create_task(self._restart(dep, version, inst.index))
        for version in list(self.draining):
            if not version.busy():
                for inst in version.everything():
                    inst.stop()
                self.draining.remove(version)
        for name in list(self.deleting):  # its instances stopped: its delete ends
            if not any(version.name == name for version in self.draining):
                self.deleting.discard(name)
                self.store.finish_endpoint_delete(self.ws, self.kind, self.endpoint, name)

    async def _start_spare(self, dep: Deployment, version: Version) -> None:
        """Keep one more server of the version ready, so that a dead instance is replaced at once."""
        if version.spare is not None or dep.active is not version:
            return
        try:
            await self.start_instance(version, -1, spare=True)
        except (DeploymentError, OSError) as exc:
            self.deployment_log(dep.name, "inference-server", f"the warm spare could not start: {exc}")
            if version.spare is not None:
                version.spare.stop()
                version.spare = None

    async def _restart(self, dep: Deployment, version: Version, index: int) -> None:
        try:
            await self.start_instance(version, index)
            self.deployment_log(dep.name, "inference-server", f"instance {index} restarted")
        except (DeploymentError, OSError) as exc:
            self.deployment_log(dep.name, "inference-server", f"instance {index} could not restart: {exc}")

    def stop_all(self) -> None:
        for dep in self.deployments.values():
            for version in (dep.active, dep.pending):
                if version is not None:
                    self.draining.append(version)
        for version in self.draining:
            for inst in version.everything():
                inst.stop()
        self.draining = []

    def write_state(self) -> None:
        """state.json: this process, its router's port, and the processes of each deployment's instances (and of
        its warm spare, once ready)."""
        state = {"pid": os.getpid(), "port": self.port,
                 "deployments": {name: {"generation": dep.active.generation,
                                        "instances": [inst.proc.pid for inst in dep.active.instances],
                                        "spare": dep.active.spare.proc.pid if dep.active.spare and
                                        dep.active.spare.ready else None}
                                 for name, dep in self.deployments.items() if dep.active is not None}}
        text = json.dumps(state, sort_keys=True)
        if text != self._state_text:
            serving.write_json(self.folder / "state.json", state)
            self._state_text = text

    # -- the router

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader, writer)
                if request is None:
                    break
                status, headers, body = await self.respond(*request)
                keep = request[2].get(b"connection", b"").lower() != b"close"
                head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode()]
                head += [name + b": " + value + b"\r\n" for name, value in headers]
                head.append(b"Content-Length: %d\r\n" % len(body))
                head.append(b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n")
                writer.write(b"".join(head) + body)
                await writer.drain()
                if not keep:
                    break
        except _BadRequest as exc:
            body = json.dumps({"message": str(exc)}).encode()
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(body), body))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:
                pass

    async def respond(self, method: bytes, target: bytes, headers: dict, body: bytes):
        path = target.split(b"?", 1)[0]
        if path not in (b"/score", b"/swagger.json"):
            return error_answer(404, f"no route {path.decode('latin-1')!r}: the endpoint answers /score and /swagger.json")
        if not self.refresh():
            return error_answer(404, f"endpoint {self.endpoint!r} not found")
        scheme, _, credential = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip() or \
                not credential_valid(self.record, self.keys, credential.strip()):
            return error_answer(401, "Unauthorized: the request has no valid key or token (Authorization: Bearer ...)")
        named = headers.get(b"azureml-model-deployment")
        if named:
            name = named.decode("latin-1")
            if name not in self.deployments:
                return error_answer(404, f"deployment {name!r} not found in endpoint {self.endpoint!r}")
        else:
            name = self.splitter.pick()
            if name is None:
                return error_answer(404, f"endpoint {self.endpoint!r} has no deployment that takes traffic")
            for shadow, mirror in self.mirrors:
                if mirror.take() and shadow in self.deployments:
                    asyncio.get_running_loop().create_task(self._mirror(shadow, method, target, headers, body))
        dep = self.deployments.get(name)
        version = dep.active if dep is not None else None
        if version is None:
            return error_answer(503, f"deployment {name!r} is {dep.state if dep else 'not ready'}: it serves no requests yet")
        try:
            inst = await version.acquire()
        except TimeoutError:
            return error_answer(429, f"too many pending requests for deployment {name!r}: none of its "
                               f"{len(version.instances)} instance(s) was free within max_queue_wait "
                               f"({version.queue_wait * 1000:.0f} ms)", name)
        if inst is None:
            return error_answer(503, f"deployment {name!r} has no live instance (restarting)", name)
        try:
            status, out_headers, out = await asyncio.wait_for(
                _forward(inst.port, method, target, headers, body), version.timeout)
        except TimeoutError:
            return error_answer(408, f"request timed out after request_timeout ({version.timeout * 1000:.0f} ms)", name)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            inst.ready = inst.proc.poll() is None and inst.ready
            return error_answer(502, f"the scoring server of deployment {name!r} dropped the request", name)
        finally:
            version.release(inst)
        out_headers.append((b"azureml-model-deployment", name.encode()))
        return status, out_headers, out

    async def _mirror(self, name: str, method, target, headers, body) -> None:
        dep = self.deployments.get(name)
        version = dep.active if dep else None
        if version is None:
            return
        try:
            inst = await version.acquire()
        except TimeoutError:
            return
        if inst is None:
            return
        try:
            await asyncio.wait_for(_forward(inst.port, method, target, headers, body), version.timeout)
        except (TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            version.release(inst)


def _server_requirement(environment: dict | None) -> tuple[str, ...]:
    """The scoring server, added to an environment that lacks it (Azure ML's inference images have it)."""
    if environment is None or not environment.get("condaFile"):
        import importlib.util  # import budget: only a host environment needs the check
        return () if importlib.util.find_spec(SERVER_MODULE) else (SERVER_PACKAGE,)
    requirements, _ = envs.pip_requirements(environment)
    names = {envs.requirement_name(line) for line in requirements}
    return () if names & {SERVER_PACKAGE, "azureml-defaults"} else (SERVER_PACKAGE,)


def _link_copy(source: Path, target: Path) -> None:
    """A copy of a file or folder whose files are hard links when they can be (cheap, whatever the model's size):
    real files, not symlinks, which MLflow refuses to load from."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:  # another file system
            shutil.copy2(src, dst)
    if source.is_dir():
        shutil.copytree(source, target, copy_function=link)
    else:
        link(source, target)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _no_download(url: str):
    raise RefError(f"{url}: a deployment's model and code must be on this machine (register them from local files)")


def _failure(path: Path, offset: int, lines: int = 25) -> str:
    """What an instance wrote to its log from `offset`: from its first traceback on (the user's init() failing),
    else its last lines."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    starts = [i for i, line in enumerate(text) if "Traceback (most recent call last)" in line]
    return "\n".join(text[starts[0]:starts[0] + lines] if starts else text[-lines:])


def error_answer(status: int, message: str, deployment: str | None = None):
    """An answer of the router itself: a JSON {"message": ...} body, as Azure ML's front end gives."""
    headers = [(b"Content-Type", b"application/json")]
    if deployment:
        headers.append((b"azureml-model-deployment", deployment.encode()))
    return status, headers, json.dumps({"message": message}).encode()


class _BadRequest(Exception):
    pass


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    """The next request on a connection -> (method, target, headers with lower-case names, body); None at its end."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise _BadRequest("malformed request line")
    headers = await _read_headers(reader)
    if headers.get(b"expect", b"").lower() == b"100-continue":  # curl's, for bodies over 1 KB
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await _read_headers(reader)
                break
            if len(body) + size > MAX_BODY:
                raise _BadRequest("request body too large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return parts[0], parts[1], headers, bytes(body)
    try:
        length = int(headers.get(b"content-length", b"0"))
    except ValueError:
        raise _BadRequest("malformed Content-Length") from None
    if length < 0 or length > MAX_BODY:
        raise _BadRequest("request body too large")
    return parts[0], parts[1], headers, (await reader.readexactly(length) if length else b"")


async def _read_headers(reader: asyncio.StreamReader) -> dict:
    headers: dict[bytes, bytes] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, sep, value = line.partition(b":")
        if not sep:
            raise _BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()


async def _forward(port: int, method: bytes, target: bytes, headers: dict, body: bytes):
    """Send a request to a scoring server (one connection: gunicorn's sync workers close it; plain non-blocking
    socket calls, cheaper than streams) -> (status, headers, body)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        head = [method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in headers.items() if name not in _HOP]
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        await loop.sock_sendall(sock, b"".join(head) + body)
        data = bytearray()
        while chunk := await loop.sock_recv(sock, 65536):
            data += chunk
    finally:
        sock.close()
    raw_head, sep, out = bytes(data).partition(b"\r\n\r\n")
    lines = raw_head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if not sep or len(parts) < 2:
        raise ConnectionResetError("no answer")
    out_headers, length = [], None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key not in _HOP and key not in (b"server", b"date"):
            out_headers.append((name.strip(), value.strip()))
    if length is not None and len(out) < length:
        raise ConnectionResetError("the answer was cut short")
    return int(parts[1]), out_headers, out[:length] if length is not None else out


async def _probe(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 2)
        return line.split()[1:2] == [b"200"]
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


def host_main(cls, module: str, doc: str, argv: list[str] | None = None) -> int:
    """An endpoint host's command line: ``cls(home, workspace, endpoint).run()``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args(argv)
    return cls(args.home, args.workspace, args.endpoint).run()


def main(argv: list[str] | None = None) -> int:
    return host_main(Host, __name__, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
