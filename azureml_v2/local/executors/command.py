"""The local job runner: executes one command job of a local workspace on this machine.

    python -m azureml_v2.local.executors.command --home H --workspace WS --job NAME

Core starts it, detached in its own session, when a command job is created (supervision, when its submitter died
before starting it). It claims the job (NotStarted -> Queued, recording its pid), prepares it (code snapshot into
``wd/``, environment, inputs, outputs: Preparing), runs the command with ``bash -c`` in the job's own process
group(s) (Running), stores named outputs and ``./outputs``, ``./logs`` in the artifact datastore and registers
output assets (Finalizing), and ends the job Completed, Failed or Canceled. Each status change is one store
transaction. A watcher thread writes a heartbeat every second and polls the status every 0.25 s, so that a cancel
(CancelRequested) stops the whole process tree within seconds.

One runner process lives beside every running job, so it stays small (under 30 MB resident here).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..._contract import (ACTIVE_STATUSES, ARTIFACT_STORE, DEFAULT_EXPERIMENT, LOCAL_RESOURCE_GROUP,
                          LOCAL_SUBSCRIPTION, MODEL_TYPES, TERMINAL_STATUSES, WARM_START_PROPERTY, Placeholder,
                          UnresolvedPlaceholder, job_artifacts_path, output_uri, seconds_from_iso)
from ..._contract import substitute as _substitute
# the job's MLflow endpoint is served by the API layer's tracking routes: a job process serves them for its command
from ..api.mlflow import serve_for_job
from ..core.assets import put_asset_version
from ..core.computes import cluster_nodes, hold_nodes, node_folder
from ..core.executors import HEARTBEAT, executor_main
from ..core.metrics import finish_run
from ..core.processes import JOB_MARKER, kill_marked, process_start
from ..core.refs import References, RefError
from ..core.workspace import LOCAL_COMPUTE, NotFound, Store, now
from . import envs, warm

KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
TAIL_LINES = 20  # lines of stderr quoted in a failed job's error
TAIL_LINE_BYTES = 4096  # of each, its end
_POLL = 0.25

_FOLDER_TYPES = ("uri_folder", "mltable", *MODEL_TYPES)


class JobError(Exception):
    """The job cannot run or failed; the message is the job's error, for its user."""


class _Stopped(Exception):
    """The job was canceled, deleted or ended elsewhere while the runner worked on it."""


class Runner:
    """Runs job `name` of workspace `ws` in the local workspace at `home`."""

    JOB_TYPE = "Command"  # the jobType this runner runs
    PROGRAM = "the command"  # what it runs, for a failed job's error

    def __init__(self, home: str | os.PathLike, ws: str, name: str):
        self.store = Store(home)
        self.record = self.store.get_job(ws, name)
        self.ws, self.name = self.record["workspace"], name
        self.refs = References(self.store, self.ws)
        self.doc = self.record["doc"]
        self.folder = self.store.job_folder(self.ws, name)
        self.wd = self.folder / "wd"
        self.user_logs = self.folder / "user_logs"
        self.artifacts = self.store.datastore_folder(ARTIFACT_STORE) / job_artifacts_path(name)
        self.pid = os.getpid()
        self.stop = threading.Event()  # cancel requested, or the job left this runner's hands
        self._done = threading.Event()
        self._notices: list[str] = []
        self._nodes: list[int] = []  # the lock files of the cluster nodes the job holds
        (self.folder / "system_logs").mkdir(parents=True, exist_ok=True)
        self._log = open(self.folder / "system_logs" / "runner.log", "a", buffering=1,  # noqa: SIM115 - while alive
                         encoding="utf-8")

    # -- bookkeeping

    def log(self, message: str) -> None:
        self._log.write(f"{now()} {message}\n")

    def notice(self, message: str) -> None:
        """A one-line notice for the user: in the runner log and at the top of std_log.txt."""
        self.log(f"notice: {message}")
        self._notices.append(message)

    def _move(self, status: str, expect: str | tuple[str, ...]) -> None:
        if not self.store.set_job_status(self.ws, self.name, status, expect=expect):
            raise _Stopped()
        self.log(f"status {status}")

    def _check(self) -> None:
        if self.stop.is_set():
            raise _Stopped()

    def _cancellable(self, work, *args):
        """Run a long step (an environment build, downloads) in a thread, so that a cancel need not wait for it.

        A canceled step is abandoned, not stopped: the runner ends the job and exits.
        """
        result = {}

        def step():
            try:
                result["value"] = work(*args)
            except BaseException as exc:  # noqa: BLE001 - raised again in the runner's thread
                result["error"] = exc

        thread = threading.Thread(target=step, name=work.__name__, daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(_POLL)
            self._check()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def _watch(self) -> None:
        """Heartbeat every second; poll the status for a cancel in between."""
        beat = 0.0
        while not self._done.wait(_POLL):
            try:
                if time.monotonic() - beat >= HEARTBEAT:
                    status = self.store.heartbeat(self.ws, self.name, self.pid)
                    beat = time.monotonic()
                else:
                    status = self.store.get_job(self.ws, self.name)["status"]
            except NotFound:
                status = None
            except Exception as exc:  # noqa: BLE001 - a busy store: try again at the next tick
                self.log(f"watcher: {type(exc).__name__}: {exc}")
                continue
            if status is None or status == "CancelRequested" or status in TERMINAL_STATUSES:
                if not self.stop.is_set():
                    self.log(f"stopping: the job is {status or 'gone'}")
                self.stop.set()

    # -- the run

    def run(self) -> str | None:
        """Run the job to its end -> the final status (None when another runner has it or it was not NotStarted)."""
        if not self._claim():
            self.log(f"not started: the job is {self.store.get_job(self.ws, self.name)['status']}")
            return None
        self.log(f"runner {self.pid} claimed the job")
        watcher = threading.Thread(target=self._watch, name="heartbeat", daemon=True)
        watcher.start()
        status, exit_code, error = "Failed", None, None
        try:
            status, exit_code, error = self._execute()
        except _Stopped:
            status = "Canceled"
        except KeyboardInterrupt:  # SIGTERM or SIGINT to the runner itself
            error = "the local runner was interrupted"
        except (JobError, RefError) as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the job must end, with the reason
            self.log(traceback.format_exc())
            error = f"the local runner failed: {type(exc).__name__}: {exc} (see system_logs/runner.log)"
        finally:
            self._done.set()
            watcher.join()
            for fd in self._nodes:  # the nodes are free for the next job once this one's processes are gone
                os.close(fd)
        if error:
            self.log(f"error: {error}")
        moved = self.store.set_job_status(self.ws, self.name, status, expect=ACTIVE_STATUSES, exit_code=exit_code,
                                          error=error)
        self.log(f"status {status}" if moved else f"the job had already ended; not {status}")
        self._finish_tracking(status)
        self.log(f"runner memory: {_memory()}")
        return status

    def _claim(self) -> bool:
        """Take the job: a NotStarted one only (a command is never run twice)."""
        return self.store.claim_job(self.ws, self.name, self.pid, process_start(self.pid))

    def _execute(self) -> tuple[str, int | None, str | None]:
        doc = self.doc
        if doc.get("jobType") != self.JOB_TYPE:
            raise JobError(f"the local runner runs {self.JOB_TYPE.lower()} jobs, not {doc.get('jobType')} jobs")
        self._check_compute(doc)  # a command job takes its cluster's nodes here, waiting Queued
        self._move("Preparing", "Queued")
        for folder in (self.wd / "outputs", self.wd / "logs", self.user_logs, self.folder / "outputs"):
            folder.mkdir(parents=True, exist_ok=True)
        self._materialise_code(doc.get("codeId"))
        self._check()
        python_bin = self._cancellable(self._environment, doc.get("environmentId"))
        inputs, input_env = self._cancellable(self._inputs, doc.get("inputs") or {})
        outputs = self._outputs(doc.get("outputs") or {})
        processes = self._plan(doc, inputs, outputs)
        timeout = self._timeout(doc.get("limits"))
        env = self._env(python_bin, input_env, outputs)
        user_env = doc.get("environmentVariables") or {}
        warm_start = self._warm_plan(processes, python_bin, env, user_env)
        self._check()
        with self._tracking() as mlflow_env:
            env.update(mlflow_env)
            env.update(user_env)
            self._move("Running", "Preparing")
            code, reason, tail = self._run_processes(processes, env, timeout, warm_start)
        self._keep_artifacts()
        if reason == "canceled":
            return "Canceled", code, None
        if reason == "timeout":
            return "Canceled", code, (f"the job ran longer than its limits.timeout of {timeout:g} s and was stopped"
                                      + _quote(tail))
        self._move("Finalizing", "Running")
        if code != 0:
            return "Failed", code, f"{self.PROGRAM} exited with code {code}" + _quote(tail)
        self._store_outputs(doc.get("outputs") or {}, outputs)
        return "Completed", 0, None

    # -- preparation

    def _check_compute(self, doc: dict) -> None:
        """Take the job's `resources.instance_count` nodes of the cluster it targets, waiting Queued while other jobs
        hold them. A compute that is no cluster here is this one machine: one node."""
        count = (doc.get("resources") or {}).get("instanceCount") or 1
        compute = (doc.get("computeId") or LOCAL_COMPUTE).rstrip("/").rsplit("/", 1)[-1].removeprefix("azureml:")
        total = cluster_nodes(self.store, self.ws, compute)
        if total is None:
            if count > 1:
                raise JobError(f"resources.instance_count is {count}: compute '{compute}' is this one machine; "
                               f"target a cluster of the workspace with max_instances of at least {count} (azml "
                               "compute create), or set instance_count to 1 (distribution.process_count_per_instance "
                               "starts several processes here)")
            if compute != LOCAL_COMPUTE:
                self.notice(f"compute '{compute}' is not on this machine: the local workspace runs the job here")
        elif count > total:
            raise JobError(f"resources.instance_count is {count}, more than the {total} nodes (max_instances) of "
                           f"cluster '{compute}'")
        else:
            self.log(f"waiting for {count} of the {total} nodes of cluster {compute}")
            held = hold_nodes(node_folder(self.store.home, self.ws, compute), count, total, self.stop.is_set)
            if held is None:
                raise _Stopped()
            self._nodes = held
            self.log(f"holding {count} node(s) of cluster {compute}")
        services = sorted((doc.get("services") or {}).items())
        if services:
            kinds = ", ".join(f"{name} ({(s or {}).get('jobServiceType', '?')})" for name, s in services)
            self.notice(f"services {kinds} are not started by the local workspace")

    def _materialise_code(self, code_id: str | None) -> None:
        if not code_id:
            return
        uri = self.refs.asset(code_id, "codes")["codeUri"]
        source = self._path(uri, "code")
        if source.is_dir():
            shutil.copytree(source, self.wd, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(source, self.wd / source.name)
        self.log(f"code {uri} -> {self.wd}")

    def _environment(self, environment_id: str | None) -> str:
        """Prepare the job's environment -> the folder of its executables (first on PATH)."""
        props = None
        if environment_id:
            curated = envs.curated(environment_id)
            props = curated if curated is not None else self.refs.asset(environment_id, "environments")
        with open(self.folder / "system_logs" / "environment_build.log", "a", encoding="utf-8") as build_log:
            try:
                prepared = envs.prepare(props, self.store.home, log=build_log)
            except envs.EnvironmentBuildError as exc:
                raise JobError(f"the environment could not be built: {exc}") from None
        if prepared.notice:
            self.notice(prepared.notice)
        self.log(f"environment: {prepared.python} ({'cached' if prepared.cached else 'built'})")
        return prepared.bin_dir

    def _inputs(self, spec: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Each input's value for the command line, and the AZURE_ML_INPUT_<name> variables."""
        values, env, mounted = {}, {}, False
        for key, item in spec.items():
            if item.get("jobInputType") == "literal":
                values[key] = str(item.get("value", ""))
                continue
            uri, mode = item.get("uri") or "", item.get("mode")
            what = f"input {key!r}"
            if mode == "Direct":
                value = self.refs.uri_of(uri)
            else:
                path = self._path(uri, what, key)
                if mode in ("Download", "EvalDownload"):
                    path = self._copy_in(path, key)
                else:
                    mounted = mounted or mode in (None, "ReadOnlyMount", "EvalMount")
                value = str(path)
            values[key] = env[f"AZURE_ML_INPUT_{key}"] = value
        if mounted:
            self.notice("ro_mount inputs are the data's own files on this machine; read-only is not enforced")
        return values, env

    def _outputs(self, spec: dict) -> dict[str, Path]:
        """The path where the command writes each named output (folders created, a uri_file's parent)."""
        paths = {}
        for key, item in spec.items():
            path = self.folder / "outputs" / key
            if item.get("jobOutputType", "uri_folder") in _FOLDER_TYPES:
                path.mkdir(parents=True, exist_ok=True)
            paths[key] = path
        return paths

    def _plan(self, doc: dict, inputs: dict[str, str], outputs: dict[str, Path]) -> list:
        """What to run: (argv, extra environment, log files) of each process to start."""
        command = substitute(doc["command"], inputs, {k: str(p) for k, p in outputs.items()})
        self.log(f"command: {command}")
        return self._processes(doc.get("distribution"), command, len(self._nodes) or 1)

    def _processes(self, distribution: dict | None, command: str, nodes: int = 1
                   ) -> list[tuple[list[str], dict, list[str]]]:
        """(argv, extra environment, log files) of each process to start: per node, as Azure ML starts them on a
        cluster's nodes (`AZUREML_NODE_COUNT`, `NODE_RANK`; with pytorch, the ranks across all nodes)."""
        shell = shutil.which("bash")
        if shell is None:
            raise JobError("bash is not on PATH: the local runner runs the command with bash -c, as Azure ML does")
        kind = (distribution or {}).get("distributionType")
        cluster = {"AZUREML_NODE_COUNT": str(nodes)}
        if kind is None:
            if nodes == 1:
                return [([shell, "-c", command], cluster, ["std_log.txt"])]
            return [([shell, "-c", command], {**cluster, "NODE_RANK": str(n)},
                     [f"std_log_node_{n}.txt"] + (["std_log.txt"] if not n else [])) for n in range(nodes)]
        if kind == "Mpi":
            mpirun = shutil.which("mpirun")
            if mpirun is None:
                raise JobError("distribution type mpi needs mpirun on PATH (install Open MPI or MPICH), or remove "
                               "distribution to run a single process")
            count = (distribution.get("processCountPerInstance") or 1) * nodes
            return [([mpirun, "-np", str(count), shell, "-c", command], cluster, ["std_log.txt"])]
        if kind == "PyTorch":
            per_node = distribution.get("processCountPerInstance") or 1
            world, port = per_node * nodes, str(_free_port())
            ranks = [{**cluster, "RANK": str(n * per_node + local), "LOCAL_RANK": str(local),
                      "WORLD_SIZE": str(world), "NODE_RANK": str(n), "GROUP_RANK": str(n),
                      "LOCAL_WORLD_SIZE": str(per_node), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
                     for n in range(nodes) for local in range(per_node)]
        elif kind == "TensorFlow":
            workers = distribution.get("workerCount") or 1
            servers = distribution.get("parameterServerCount") or 0
            tasks = [("worker", i) for i in range(workers)] + [("ps", i) for i in range(servers)]
            addresses = [f"127.0.0.1:{_free_port()}" for _ in tasks]
            spec = {"worker": addresses[:workers]}
            if servers:
                spec["ps"] = addresses[workers:]
            ranks = [{**cluster, "TF_CONFIG": json.dumps({"cluster": spec, "task": {"type": t, "index": i}})}
                     for t, i in tasks]
        else:
            raise JobError(f"distribution type {kind!r} is not supported: use pytorch, tensorflow or mpi")
        return [([shell, "-c", command], extra, [f"std_log_process_{rank}.txt"] + (["std_log.txt"] if not rank else []))
                for rank, extra in enumerate(ranks)]

    @staticmethod
    def _timeout(limits: dict | None) -> float | None:
        text = (limits or {}).get("timeout")
        if not text:
            return None
        try:
            return seconds_from_iso(text)
        except ValueError as exc:
            raise JobError(f"limits.timeout {text!r} is not a duration: {exc}") from None

    def _env(self, bin_dir: str, input_env: dict, outputs: dict[str, Path]) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        experiment = self.doc.get("experimentName") or DEFAULT_EXPERIMENT
        env.update({"AZUREML_RUN_ID": self.name, "AZUREML_ROOT_RUN_ID": self.name,
                    "AZUREML_EXPERIMENT_NAME": experiment, "AZUREML_ARM_PROJECT_NAME": experiment,
                    "AZUREML_ARM_SUBSCRIPTION": LOCAL_SUBSCRIPTION, "AZUREML_ARM_RESOURCEGROUP": LOCAL_RESOURCE_GROUP,
                    "AZUREML_ARM_WORKSPACE_NAME": self.ws, "PYTHONUNBUFFERED": "1", **input_env,
                    JOB_MARKER: str(self.folder)})
        env.update({f"AZURE_ML_OUTPUT_{key}": str(path) for key, path in outputs.items()})
        return env

    # -- data

    def _path(self, uri: str, what: str, key: str | None = None) -> Path:
        """The local file or folder behind a URI, a datastore path, an earlier job's output or an asset."""
        return self.refs.path(uri, what, lambda url: self._download(url, what, key or "download"))

    def _download(self, url: str, what: str, key: str) -> Path:
        from urllib.request import urlopen  # import-time budget: few jobs download an input

        target = self.folder / "inputs" / key
        target.mkdir(parents=True, exist_ok=True)
        path = target / (os.path.basename(unquote(urlsplit(url).path)) or "download")
        self.log(f"downloading {url}")
        try:
            with urlopen(url, timeout=30) as response, open(path, "wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
            raise JobError(f"{what}: cannot download {url}: {getattr(exc, 'reason', exc)}") from None
        return path

    def _copy_in(self, path: Path, key: str) -> Path:
        """Download mode: a copy of the input in the working folder, as Azure ML's INPUT_<name>."""
        target = self.wd / f"INPUT_{key}"
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
            return target
        target.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(path, target / path.name))

    # -- running

    def _warm_plan(self, processes: list, bin_dir: str, env: dict, user_env: dict):
        """How the one `bash -c` command of a job may start warm (:mod:`.warm`): (environment, plan, the zygote's
        environment), or None (with the reason logged)."""
        if len(processes) != 1 or processes[0][0][1:2] != ["-c"] or os.path.basename(processes[0][0][0]) != "bash":
            return None  # distributed, or another program (spark-submit)
        command = processes[0][0][2]
        why = warm.disabled(user_env)
        found = warm.plan(command, bin_dir, env["PATH"]) if why is None else why
        if isinstance(found, str):
            self.log(f"cold start: {found}")
            return None
        return (warm.Environment(self.store.home, os.path.join(bin_dir, "python"), user_env), found,
                warm.zygote_env(env["PATH"], user_env))

    def _launch(self, argv, env: dict, warm_start):
        """Start one process: forked warm when it can (a :class:`warm.WarmProcess`), else cold."""
        if warm_start is not None:
            environment, plan, base = warm_start
            modules = environment.learned(plan.prefix)
            if modules is None:
                self.log(f"cold start: learning what `{plan.prefix}` imports")
                argv, env = environment.learn_argv(plan), warm.as_bash_runs(plan, env, self.wd)
            else:
                started = warm.start(environment, plan, modules, self.wd, warm.as_bash_runs(plan, env, self.wd),
                                     base, str(self.folder), self.stop.is_set, self.log)
                if not isinstance(started, str):
                    return started
                self.log(f"cold start: {started}")
        return subprocess.Popen(argv, cwd=self.wd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def _run_processes(self, processes, env: dict, timeout: float | None,
                       warm_start=None) -> tuple[int | None, str | None, str]:
        """Start the processes and wait for them -> (exit code, 'canceled' | 'timeout' | None, stderr tail)."""
        header = "".join(f"[azureml_v2] {n}\n" for n in self._notices)
        procs, pumps, tails, files = [], [], [], []
        try:
            for argv, extra, logs in processes:
                fds = [os.open(self.user_logs / log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for log in logs]
                files += fds
                if header and "std_log.txt" in logs:
                    os.write(fds[logs.index("std_log.txt")], header.encode())
                proc = self._launch(argv, {**env, **extra}, warm_start)
                procs.append(proc)
                tail = deque(maxlen=TAIL_LINES)
                tails.append(tail)
                pumps += [_pump(proc.stdout, fds, None), _pump(proc.stderr, fds, tail)]
            self.log(f"started process(es) {', '.join(str(p.pid) for p in procs)}")
            self.store.set_process_groups(self.ws, self.name, [(p.pid, process_start(p.pid)) for p in procs])
            warmed = [p for p in procs if isinstance(p, warm.WarmProcess)]
            for p in warmed:
                p.go()  # recorded: it may run the job's code
            if self.JOB_TYPE == "Command" and len(procs) == 1:
                self.store.set_results(self.ws, self.name, {WARM_START_PROPERTY: "true" if warmed else "false"})
            return self._wait(procs, pumps, tails, timeout)
        finally:
            _kill_tree(procs)
            kill_marked(str(self.folder))  # what left the process groups (setsid daemons): Azure ML ends the container
            for pump in pumps:
                pump.join(timeout=2)
            for fd in files:
                os.close(fd)

    def _wait(self, procs, pumps, tails, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        reason = None
        while True:
            codes = [p.poll() for p in procs]
            failed = next((i for i, c in enumerate(codes) if c not in (None, 0)), None)
            if None not in codes:
                break
            if failed is not None:  # one rank failed: the others would wait for it forever
                self.log(f"process {procs[failed].pid} exited with {codes[failed]}: stopping the others")
                break
            if self.stop.wait(0.05):
                reason = "canceled"
                break
            if deadline is not None and time.monotonic() > deadline:
                reason = "timeout"
                break
        _kill_tree(procs)
        for pump in pumps:
            pump.join(timeout=2)  # the rest of their output, for the tail
        codes = [p.wait() for p in procs]
        if failed is None:  # the ranks stopped here: report the first with an error
            failed = next((i for i, c in enumerate(codes) if c != 0), 0)
        self.log(f"exit code(s) {codes}" + (f" ({reason})" if reason else ""))
        return codes[failed], reason, "".join(tails[failed])

    # -- results

    def _keep_artifacts(self) -> None:
        """./outputs and ./logs of the working folder become the job's artifacts (as on Azure ML)."""
        for name in ("outputs", "logs"):
            source = self.wd / name
            if source.is_dir():
                shutil.copytree(source, self.artifacts / name, symlinks=True, dirs_exist_ok=True)

    def _store_outputs(self, spec: dict, paths: dict[str, Path]) -> None:
        for key, item in spec.items():
            source, target = paths[key], self.refs.output_target(self.name, key, item)
            if item.get("jobOutputType", "uri_folder") in _FOLDER_TYPES:
                source.mkdir(parents=True, exist_ok=True)  # the command may have removed it
            elif not source.is_file():
                raise JobError(f"output {key!r} (uri_file): the command wrote no file at {source}")
            _move_into(source, target)
            self.log(f"output {key} -> {target}")
            if item.get("assetName"):
                self._register(key, item)

    def _register(self, key: str, item: dict) -> None:
        """Register an output with a name as a data or model asset version pointing at the stored output."""
        kind = item.get("jobOutputType", "uri_folder")
        uri = output_uri(self.name, key, item)
        if kind in _FOLDER_TYPES and not uri.endswith("/"):
            uri += "/"
        name = item["assetName"]
        if kind in MODEL_TYPES:
            assets, props = "models", {"modelType": kind, "modelUri": uri, "jobName": self.name}
        else:
            assets, props = "data", {"dataType": kind, "dataUri": uri}
        props["description"] = item.get("description") or f"output {key} of job {self.name}"
        version = item.get("assetVersion")
        if not version:
            try:
                version = str(self.store.get_container(self.ws, assets, name)["next_version"])
            except NotFound:
                version = "1"
        put_asset_version(self.store, self.ws, assets, name, version, props, self.record["created_by"])
        self.log(f"registered {assets} {name}:{version} -> {uri}")

    # -- MLflow

    def _tracking(self):
        return serve_for_job(self.store.home, self.ws, self.name, self.doc.get("experimentName") or DEFAULT_EXPERIMENT,
                                      self.artifacts)

    def _finish_tracking(self, status: str) -> None:
        try:
            finish_run(self.store.home, self.ws, self.name, status)
        except Exception as exc:  # noqa: BLE001 - the job's own status is already recorded
            self.log(f"MLflow run not finished: {type(exc).__name__}: {exc}")


def substitute(command: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """Fill ${{inputs.x}} and ${{outputs.y}}; drop each $[[ ... ]] block that names an absent input."""
    def value(p: Placeholder) -> str | None:
        values = {"inputs": inputs, "outputs": outputs}.get(p.root)
        if values is not None and p.name is None:  # `${{inputs}}`, `${{inputs.a.b}}`
            raise JobError(f"the command uses {p.text}, which names no {p.root[:-1]}: expected "
                           f"${{{{{p.root}.<name>}}}}")
        if p.root == "inputs":
            return values.get(p.name)  # None: absent, which only an optional block may be
        if values is None or p.name not in values:
            what = f"no {p.root[:-1]} {p.name!r}" if values is not None else "no such expression"
            raise JobError(f"the command uses {p.text}, but the job has {what}")
        return values[p.name]

    try:
        return _substitute(command, value)
    except UnresolvedPlaceholder as exc:
        raise JobError(f"the command uses {exc.placeholder.text}, but the job has no input {exc.placeholder.name!r} "
                       "(wrap an optional input's part of the command in $[[ ... ]])") from None


def _move_into(source: Path, target: Path) -> None:
    """Move a file or folder to `target`, merging into a folder that exists there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and target.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(source)
    else:
        shutil.move(source, target)


def _quote(tail: str) -> str:
    tail = tail.strip()
    return f"; last lines of stderr:\n{tail[-4000:]}" if tail else ""


def _pump(stream, fds: list[int], tail: deque | None) -> threading.Thread:
    """Copy a process's output to its log files (and keep its last lines) in a thread."""
    def copy():
        partial = b""
        try:
            for chunk in iter(lambda: stream.read1(65536), b""):
                for fd in fds:
                    os.write(fd, chunk)
                if tail is not None:
                    lines = (partial + chunk).split(b"\n")
                    # the end of a line kept, never all of it: `\r` progress bars write one line for ever
                    partial = lines.pop()[-TAIL_LINE_BYTES:]
                    tail.extend(line[-TAIL_LINE_BYTES:].decode("utf-8", "replace") + "\n" for line in lines)
            if tail is not None and partial:
                tail.append(partial.decode("utf-8", "replace"))
        finally:
            stream.close()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def _kill_tree(procs: list[subprocess.Popen]) -> None:
    """Stop each process group: SIGTERM, then SIGKILL to what is left after KILL_GRACE seconds."""
    groups = [p.pid for p in procs if _signal_group(p.pid, signal.SIGTERM)]
    deadline = time.monotonic() + KILL_GRACE
    while groups and time.monotonic() < deadline:
        for p in procs:
            p.poll()  # reap leaders, so that an empty group reads as gone
        groups = [g for g in groups if _signal_group(g, 0)]
        time.sleep(0.05)
    for group in groups:
        _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, sig: int) -> bool:
    try:
        os.killpg(group, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _memory() -> str:
    """Resident and peak resident memory of this process (Linux), for the runner log."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
    except OSError:
        return "unknown"
    return f"VmRSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


def _free_port() -> int:
    import socket  # import-time budget: only distributed jobs need a free port

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped runner still ends its job
    return executor_main(Runner, "azureml_v2.local.executors.command", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
