"""The local parallel job: runs a user's ``init()``/``run(mini_batch)`` over the mini-batches of an input in worker
processes, as Azure ML's parallel run step does, for a pipeline's parallel node and a batch deployment's job.

    python -m azureml_v2.local.executors.parallel --home H --workspace WS --job NAME

A job of type ``Parallel`` carries what a command job carries (``codeId``, ``environmentId``, ``inputs``,
``outputs``, ``environmentVariables``, ``resources``, ``computeId``, in REST form) and the fields of a parallel
component's spec as azure-ai-ml serialises it (snake_case): ``task`` (``entry_script``, ``program_arguments``,
``append_row_to``), ``input_data`` (``${{inputs.<name>}}``), ``mini_batch_size``, ``mini_batch_error_threshold``,
``error_threshold``, ``max_concurrency_per_instance``, ``retry_settings`` (``max_retries``, ``timeout`` in seconds
or ISO 8601), ``logging_level``; and ``output_file_name`` (the file append_row writes in a folder output; default
``parallel_run_step.txt``, a batch deployment's ``predictions.csv``) and ``input_kind`` (``files`` or ``rows``: how
to read the input when its type does not say it as Azure ML would). See docs/architecture.md.

The :class:`Engine` is the part other executors may call: it cuts the input (:mod:`.minibatch`), starts
``max_concurrency_per_instance`` x ``instance_count`` workers (:mod:`.parallel_worker`) in the job's environment
interpreter, each in its own process group, hands them mini-batches, tries failed ones again, kills and replaces a
worker whose mini-batch outlives ``retry_settings.timeout``, stops when a failure threshold is passed, and logs
progress. Its state is files: the plan (the mini-batches, cut once) and one part per finished mini-batch, renamed
into place; a restarted engine skips the mini-batches that have a part, and the output is assembled from the parts
at the end, so every mini-batch is in it once. The executor resumes: supervision restarts it after a kill -9 (the
workers die with it), and it goes on with the unfinished mini-batches.
"""
from __future__ import annotations

import json
import os
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..._contract import (LOCAL_COMPUTE, PARALLEL_SUMMARY, WARM_START_PROPERTY, Placeholder, UnresolvedPlaceholder,
                          seconds_from_iso, substitute)
from ..core.computes import cluster_nodes
from ..core.executors import executor_main
from ..core.processes import process_start
from . import minibatch, warm
from .command import JobError, Runner
from .command import substitute as fill  # ${{inputs.x}} / ${{outputs.y}} as a command fills them
from .minibatch import Files, InputError, Limits, Table, Tally

WORKER = Path(__file__).with_name("parallel_worker.py")
PIPELINE_FILE = "parallel_run_step.txt"  # the append_row file of a pipeline's parallel node (Azure ML's name)
BATCH_FILE = "predictions.csv"  # the append_row file of a batch deployment (Azure ML's default)
PROGRESS = 5.0  # seconds between two progress lines (each mini-batch at DEBUG)
SHUTDOWN = 5.0  # seconds idle workers have to run shutdown() and exit at the end
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TICK = 0.2


@dataclass
class WarmWorkers:
    """How workers start warm, forked from a warm interpreter of the job's environment (:mod:`.warm`), as a command
    job's process does: the environment's warm-start state, its zygote's own environment, the job marker."""

    environment: warm.Environment
    zygote_env: dict[str, str]
    marker: str


class ParallelError(Exception):
    """The job failed: a threshold was passed or init() failed; the message says why, with the counts."""


@dataclass
class Work:
    """What the engine runs: the entry script's `run()` over `data` cut into mini-batches of `size`."""

    python: str  # the job environment's interpreter
    entry_script: Path
    argv: list[str]  # the entry script's arguments (sys.argv[1:])
    cwd: Path
    env: dict[str, str]
    data: Files | Table
    size: int  # files (Files) or bytes (Table) per mini-batch
    state: Path  # the engine's own folder: plan, parts, worker files
    logs: Path  # where each worker's output goes (worker_<n>.txt)
    workers: int = 1
    limits: Limits = field(default_factory=Limits)
    logging_level: str = "INFO"
    output: Path | None = None  # the append_row file; None: summary_only
    header: bool = False  # a DataFrame's column names as the output's first line (--append_row_dataframe_header)
    warm: WarmWorkers | None = None  # None: every worker starts cold


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, n: int, proc: subprocess.Popen | warm.WarmProcess, tasks: int, answers: int, started: float):
        self.n, self.proc, self.tasks, self.answers, self.started = n, proc, tasks, answers, started
        self.buffer = b""
        self.ready = False
        self.task: int | None = None
        self.deadline: float | None = None

    def send(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.tasks, data):]

    def kill(self) -> None:
        """Kill its process group (what run() started too) and close the pipes."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        for fd in (self.tasks, self.answers):
            if fd >= 0:
                os.close(fd)
        self.tasks = self.answers = -1


class Engine:
    """Runs a :class:`Work` to its end. `log` takes progress lines, `stop` (set) cancels, `processes` is told the
    (process group, start time) of the live workers each time they change (so that they can be killed if this
    process dies)."""

    def __init__(self, work: Work, *, log: Callable[[str], None], stop: threading.Event | None = None,
                 processes: Callable[[list[tuple[int, int | None]]], None] | None = None):
        self.work, self.log = work, log
        self.stop = stop or threading.Event()
        self.processes = processes or (lambda groups: None)
        self.parts = work.state / "parts"
        self.debug = work.logging_level.upper() == "DEBUG"
        self._selector = selectors.DefaultSelector()
        self._workers: list[_Worker] = []
        self.started = 0  # workers started, replacements too
        self.started_warm = 0  # workers forked from a warm interpreter
        self.batches: list = []
        self.tally = Tally(0)

    # -- the run

    def run(self) -> dict | None:
        """Run every unfinished mini-batch and assemble the output -> the summary (None when stopped). Raises
        ParallelError when the job fails."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for tmp in self.parts.glob("*.tmp"):  # what a killed worker was writing
            tmp.unlink()
        batches = self._plan()
        self.batches = batches
        self.tally = tally = Tally(len(batches), self.work.limits)
        done = self._finished(tally)
        pending = deque(i for i in range(len(batches)) if i not in done)
        self.log(f"parallel: {len(batches)} mini-batch(es) of {self._unit()}, {len(done)} already finished; "
                 f"{self.work.workers} worker(s)")
        self._check(tally)
        began, items_before = time.monotonic(), tally.items
        attempts: dict[int, int] = {}
        try:
            self._loop(pending, attempts, tally, began, items_before)
        finally:
            self._stop_workers()
        if self.stop.is_set():
            return None
        seconds = time.monotonic() - began
        summary = {**tally.summary(), "seconds": round(seconds, 3),
                   "items_per_second": round((tally.items - items_before) / seconds, 1) if seconds else None}
        if self.work.output is not None:
            self._assemble(len(batches))
        self.log(f"parallel: done: {self._counts(tally)} in {seconds:.2f} s"
                 + (f" -> {self.work.output}" if self.work.output is not None else ""))
        return summary

    def _loop(self, pending: deque, attempts: dict, tally: Tally, began: float, items_before: int) -> None:
        wanted = min(self.work.workers, len(pending))
        for n in range(wanted):
            self._start(n)
        shown = time.monotonic()
        while (pending or any(w.task is not None for w in self._workers)) and not self.stop.is_set():
            for worker in self._workers:
                if worker.ready and worker.task is None and pending:
                    index = pending.popleft()
                    worker.task, worker.deadline = index, time.monotonic() + self.work.limits.timeout
                    worker.send(self._task(index))
            now = time.monotonic()
            deadlines = [w.deadline for w in self._workers if w.deadline is not None]
            wait = min([_TICK, *(d - now for d in deadlines)])
            for key, _ in self._selector.select(max(wait, 0)):
                self._read(key.data, pending, attempts, tally)
            now = time.monotonic()
            for worker in list(self._workers):
                if worker.deadline is not None and now > worker.deadline:
                    self._failed(worker.task, f"run() took longer than retry_settings.timeout "
                                              f"({self.work.limits.timeout:g} s) and was stopped", pending, attempts,
                                 tally, None)
                    self._replace(worker, pending)
            self._check(tally)
            if now - shown >= PROGRESS:
                shown = now
                rate = (tally.items - items_before) / (now - began) if now > began else 0.0
                ready = sum(w.ready for w in self._workers)
                self.log(f"parallel: {self._counts(tally)}, {len(pending)} waiting; {rate:.1f} items/s; "
                         f"{ready}/{len(self._workers)} worker(s) past init()")

    def _read(self, worker: _Worker, pending: deque, attempts: dict, tally: Tally) -> None:
        try:
            data = os.read(worker.answers, 65536)
        except OSError:
            data = b""
        if not data:  # the worker died
            code = worker.proc.wait()
            if worker.task is not None:
                self._failed(worker.task, f"the worker process exited with code {code} during run()", pending,
                             attempts, tally, None)
            elif not worker.ready:
                raise ParallelError(f"a worker process exited with code {code} before init() ended "
                                    f"(see user_logs/worker_{worker.n}.txt)")
            self._replace(worker, pending)
            return
        worker.buffer += data
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "ready" in message:
                worker.ready = True
                if self.debug:
                    how = "warm" if isinstance(worker.proc, warm.WarmProcess) else "cold"
                    self.log(f"parallel: worker {worker.n} past init() {time.monotonic() - worker.started:.3f} s "
                             f"after its start ({how})")
            elif "init_error" in message:
                raise ParallelError(f"init() of {self.work.entry_script.name} failed in worker {worker.n}:\n"
                                    f"{_tail(message['init_error'])}")
            elif "done" in message:
                index = worker.task
                worker.task = worker.deadline = None
                tally.add(index, message["items"], message["results"])
                if self.debug:
                    self.log(f"parallel: mini-batch {index}: {message['items']} item(s), {message['results']} "
                             f"result(s) in {message['seconds']:.3f} s (worker {worker.n})")
            elif "error" in message:
                index = worker.task
                worker.task = worker.deadline = None
                self._failed(index, f"run() raised:\n{_tail(message['message'])}", pending, attempts, tally,
                             message.get("items"))

    def _failed(self, index: int, error: str, pending: deque, attempts: dict, tally: Tally,
                items: int | None) -> None:
        """A mini-batch failed: try it again first, or record it failed when its retries are spent."""
        attempt = attempts.get(index, 0)
        attempts[index] = attempt + 1
        if self.work.limits.retry(attempt):
            self.log(f"parallel: mini-batch {index} failed (attempt {attempt + 1}), trying again: "
                     f"{error.splitlines()[0]}")
            pending.appendleft(index)
            return
        if items is None:
            items = self._items(index)
        self.log(f"parallel: mini-batch {index} failed after {attempt + 1} attempt(s): {error}")
        _commit(self.parts, index, {"items": items, "results": 0, "error": error}, "")
        tally.add(index, items, 0, error)

    def _check(self, tally: Tally) -> None:
        reason = tally.exceeded()
        if reason:
            raise ParallelError(f"{reason}: the job stops ({self._counts(tally)}); first failure: "
                                f"{tally.first_error}")

    # -- workers

    def _start(self, n: int) -> _Worker:
        work = self.work
        tasks_r, tasks_w = os.pipe()
        answers_r, answers_w = os.pipe()
        config = {"parent": os.getpid(), "tasks": tasks_r, "answers": answers_w,
                  "entry_script": str(work.entry_script), "argv": work.argv, "logging_level": work.logging_level,
                  "parts": str(self.parts), "append_row": work.output is not None, "header": work.header,
                  "table": work.data.options() if isinstance(work.data, Table) else None}
        path = work.state / f"worker_{n}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        work.logs.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        try:
            with open(work.logs / f"worker_{n}.txt", "ab") as out:
                proc = self._spawn(n, path, out.fileno(), (tasks_r, answers_w))
        finally:
            os.close(tasks_r)
            os.close(answers_w)
        worker = _Worker(n, proc, tasks_w, answers_r, began)
        self._workers.append(worker)
        self._selector.register(answers_r, selectors.EVENT_READ, worker)
        self.started += 1
        self._report()
        if isinstance(proc, warm.WarmProcess):
            self.started_warm += 1
            proc.go()  # recorded: it may run the entry script
        return worker

    def _spawn(self, n: int, config: Path, out: int, fds: tuple[int, int]) -> subprocess.Popen | warm.WarmProcess:
        """Start worker `n`: forked warm when it can, else cold (learning what it imports, the first time)."""
        work = self.work
        argv = [work.python, str(WORKER), str(config)]
        if work.warm is not None:
            # learned once per entry script, as a command's `python train.py`
            prefix = shlex.join([work.python, WORKER.name, os.path.relpath(work.entry_script, work.cwd)])
            plan = warm.Plan("script", str(WORKER), [str(config)], work.python, prefix)
            environment = work.warm.environment
            modules = environment.learned(prefix)
            if modules is None:
                self.log(f"parallel: worker {n} starts cold, learning what it imports")
                argv = environment.learn_argv(plan)
            else:
                started = warm.start(environment, plan, modules, work.cwd, work.env, work.warm.zygote_env,
                                     work.warm.marker, self.stop.is_set, self.log, output=out, pass_fds=fds)
                if not isinstance(started, str):
                    return started
                self.log(f"parallel: worker {n} starts cold: {started}")
        return subprocess.Popen(argv, cwd=work.cwd, env=work.env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, pass_fds=fds, start_new_session=True)

    def _replace(self, worker: _Worker, pending: deque) -> None:
        """Kill a worker (timed out or dead) and start another in its place while there is work."""
        self._drop(worker)
        if self.started > 10 * max(self.work.workers, 1) + len(self.batches) * (self.work.limits.max_retries + 1):
            raise ParallelError("worker processes keep dying: the job stops (see user_logs/worker_*.txt)")
        if pending:
            self._start(worker.n)

    def _drop(self, worker: _Worker) -> None:
        """Kill a worker and forget it."""
        self._selector.unregister(worker.answers)
        worker.kill()
        worker.proc.wait()
        self._workers.remove(worker)
        self._report()

    def _stop_workers(self) -> None:
        """End every worker: an idle one by the end of its tasks (its shutdown() runs; all end at once, within
        SHUTDOWN seconds), a busy one or any on a cancel by a kill."""
        idle = [w for w in self._workers if w.task is None and w.proc.poll() is None and not self.stop.is_set()]
        for worker in idle:
            os.close(worker.tasks)
            worker.tasks = -1
        deadline = time.monotonic() + SHUTDOWN
        for worker in idle:
            try:
                worker.proc.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                pass
        for worker in list(self._workers):
            self._drop(worker)

    def _report(self) -> None:
        self.processes([(w.proc.pid, process_start(w.proc.pid)) for w in self._workers])

    # -- state

    def _plan(self) -> list:
        """The mini-batches: cut once and kept, so that a restarted engine names the same ones."""
        path = self.work.state / "plan.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        batches = minibatch.split(self.work.data, self.work.size)
        if isinstance(self.work.data, Table):
            batches = [[[p.path, p.start, p.end, p.header] for p in batch] for batch in batches]
        _write_atomic(path, json.dumps(batches))
        return batches

    def _task(self, index: int) -> dict:
        batch = self.batches[index]
        key = "pieces" if isinstance(self.work.data, Table) else "files"
        return {"index": index, key: batch}

    def _items(self, index: int) -> int:
        """A failed mini-batch's items when its worker could not count them: its files, or the lines of its pieces."""
        batch = self.batches[index]
        if isinstance(self.work.data, Files):
            return len(batch)
        lines = 0
        for path, start, end, _ in batch:
            with open(path, "rb") as f:
                f.seek(start)
                lines += f.read(end - start).count(b"\n")
        return lines

    def _finished(self, tally: Tally) -> set[int]:
        """The mini-batches a part records (finished by an earlier engine), counted in `tally`."""
        done = set()
        for part in self.parts.glob("*.part"):
            meta = _meta(part)
            index = int(part.stem)
            done.add(index)
            tally.add(index, meta["items"], meta["results"], meta.get("error"))
        return done

    def _assemble(self, count: int) -> None:
        """Write the output from the parts, in mini-batch order, and rename it into place."""
        output = self.work.output
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.tmp")
        with open(tmp, "wb") as out:
            header_written = False
            for index in range(count):
                with open(self.parts / f"{index}.part", "rb") as part:
                    meta = json.loads(part.readline()[1:])
                    if self.work.header and meta.get("header") and not header_written:
                        out.write(meta["header"].encode("utf-8") + b"\n")
                        header_written = True
                    while chunk := part.read(1 << 20):
                        out.write(chunk)
        os.replace(tmp, output)

    # -- words

    def _unit(self) -> str:
        return f"{self.work.size} file(s)" if isinstance(self.work.data, Files) else f"about {self.work.size} bytes"

    @staticmethod
    def _counts(tally: Tally) -> str:
        return (f"{tally.finished}/{tally.total} mini-batches finished ({tally.failed} failed), {tally.items} items "
                f"({tally.failed_items} failed)")


def _commit(parts: Path, index: int, meta: dict, text: str) -> None:
    _write_atomic(parts / f"{index}.part", "#" + json.dumps(meta) + "\n" + text)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _meta(part: Path) -> dict:
    with open(part, "rb") as f:
        return json.loads(f.readline()[1:])


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# -- the executor -------------------------------------------------------------------------------------------------

class ParallelRunner(Runner):
    """Runs parallel job `name` of workspace `ws` in the local workspace at `home`; resumes after a restart."""

    def _claim(self) -> bool:
        self.resumed = self.store.claim_controller(self.ws, self.name, self.pid, os.getppid(),
                                                   process_start(self.pid))
        return self.resumed is not None

    def _execute(self) -> tuple[str, int | None, str | None]:
        doc = self.doc
        self._check_compute(doc)  # resumed too: the nodes were freed when the last process died
        if self.resumed == "Queued":
            self._move("Preparing", "Queued")
        else:
            self.log(f"resuming the job ({self.resumed})")
        for folder in (self.wd / "outputs", self.wd / "logs", self.user_logs, self.folder / "outputs"):
            folder.mkdir(parents=True, exist_ok=True)
        self._materialise_code(doc.get("codeId"))
        self._check()
        bin_dir = self._cancellable(self._environment, doc.get("environmentId"))
        inputs, input_env = self._cancellable(self._inputs, doc.get("inputs") or {})
        outputs = self._outputs(doc.get("outputs") or {})
        task = doc.get("task") or {}
        arguments = fill(task.get("program_arguments") or "", inputs, {k: str(p) for k, p in outputs.items()})
        env = self._env(bin_dir, input_env, outputs)
        with open(self.user_logs / "std_log.txt", "a", buffering=1, encoding="utf-8") as std_log:
            for notice in self._notices:
                std_log.write(f"[azureml_v2] {notice}\n")

            def log(line: str) -> None:
                std_log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")

            work = self._work(doc, task, arguments, str(Path(bin_dir) / "python"), env, outputs)
            work.warm = self._warm_workers(work, env["PATH"], doc.get("environmentVariables") or {})
            with self._tracking() as mlflow_env:
                work.env.update(mlflow_env)
                work.env.update(doc.get("environmentVariables") or {})
                if self.resumed in ("Queued", "Preparing"):
                    self._move("Running", "Preparing")
                engine = Engine(work, log=log, stop=self.stop,
                                processes=lambda groups: self.store.set_process_groups(self.ws, self.name, groups))
                try:
                    summary = engine.run()
                except ParallelError as exc:
                    log(f"parallel: failed: {exc}")
                    self._keep_artifacts()
                    self._summary(engine.tally.summary())
                    return "Failed", None, str(exc)
                finally:  # "true": every worker of this run was forked warm
                    warmed = engine.started and engine.started_warm == engine.started
                    self.store.set_results(self.ws, self.name, {WARM_START_PROPERTY: "true" if warmed else "false"})
        self._keep_artifacts()
        if summary is None:
            return "Canceled", None, None
        self._summary(summary)
        self._move("Finalizing", ("Running", "Finalizing"))  # Finalizing: resumed while storing the outputs
        self._store_outputs(doc.get("outputs") or {}, outputs)
        return "Completed", 0, None

    def _summary(self, summary: dict) -> None:
        self.store.set_results(self.ws, self.name, {PARALLEL_SUMMARY: json.dumps(summary, sort_keys=True)})

    def _warm_workers(self, work: Work, path: str, user_env: dict[str, str]) -> WarmWorkers | None:
        why = warm.disabled(user_env)
        if why is not None:
            self.log(f"cold start: {why}")
            return None
        return WarmWorkers(warm.Environment(self.store.home, work.python, user_env), warm.zygote_env(path, user_env),
                           str(self.folder))

    def _check_compute(self, doc: dict) -> None:
        """On a cluster of the workspace the job holds `instance_count` of its nodes while it runs, waiting Queued, as
        a command job does (and as Azure ML queues a parallel step); elsewhere it runs here."""
        compute = (doc.get("computeId") or LOCAL_COMPUTE).rstrip("/").rsplit("/", 1)[-1].removeprefix("azureml:")
        if cluster_nodes(self.store, self.ws, compute) is not None:
            resources = doc.get("resources") or {}
            count = resources.get("instanceCount") or resources.get("instance_count") or 1
            super()._check_compute({**doc, "resources": {**resources, "instanceCount": count}})
        elif compute != LOCAL_COMPUTE:
            self.notice(f"compute '{compute}' is not on this machine: the local workspace runs the job here, "
                        "max_concurrency_per_instance x instance_count worker processes")

    def _work(self, doc: dict, task: dict, arguments: str, python: str, env: dict, outputs: dict) -> Work:
        """The engine's work from the job's fields; a bad value is a JobError naming the field."""
        entry = task.get("entry_script")
        if not entry:
            raise JobError("task.entry_script is required: the script whose init() and run(mini_batch) run")
        script = (self.wd / entry).resolve()
        if not script.is_file():
            raise JobError(f"task.entry_script {entry!r} is not a file of the job's code")
        name = _one_name(doc.get("input_data"), "inputs", "input_data")
        item = (doc.get("inputs") or {}).get(name)
        if item is None:
            raise JobError(f"input_data names input {name!r}, which the job does not have")
        options = minibatch.run_options(task.get("program_arguments") or "")
        try:
            data = minibatch.read_input(self._path(item.get("uri") or "", f"input {name!r}", name),
                                        item.get("jobInputType", "uri_folder"), doc.get("input_kind"))
            size = minibatch.mini_batch_size(doc.get("mini_batch_size"), isinstance(data, Table))
            limits = _limits(doc, options)
        except InputError as exc:
            raise JobError(str(exc)) from None
        level = str(doc.get("logging_level") or "INFO").upper()
        if level not in _LEVELS:
            raise JobError(f"logging_level {doc.get('logging_level')!r} is not one of {', '.join(_LEVELS)}")
        output = None
        if task.get("append_row_to"):
            key = _one_name(task["append_row_to"], "outputs", "task.append_row_to")
            if key not in outputs:
                raise JobError(f"task.append_row_to names output {key!r}, which the job does not have")
            kind = (doc.get("outputs") or {})[key].get("jobOutputType", "uri_folder")
            output = outputs[key] if kind == "uri_file" else outputs[key] / (doc.get("output_file_name")
                                                                              or PIPELINE_FILE)
        return Work(python=python, entry_script=script, argv=shlex.split(arguments), cwd=self.wd, env=env, data=data,
                    size=size, state=self.folder / "parallel", logs=self.user_logs, workers=_workers(doc),
                    limits=limits, logging_level=level, output=output,
                    header=options.get("append_row_dataframe_header", "").lower() == "true")


def _one_name(text, root: str, what: str) -> str:
    """The name in a field that must be exactly ``${{<root>.<name>}}``."""
    found: list[Placeholder] = []

    def record(p: Placeholder) -> str:
        found.append(p)
        return ""

    try:
        rest = substitute(text, record) if isinstance(text, str) else text
    except UnresolvedPlaceholder:
        rest = text
    if rest != "" or len(found) != 1 or found[0].root != root or found[0].name is None:
        raise JobError(f"{what} is {text!r}: expected ${{{{{root}.<name>}}}}")
    return found[0].name


def _limits(doc: dict, options: dict[str, str]) -> Limits:
    retry = doc.get("retry_settings") or {}
    timeout = retry.get("timeout")
    try:
        if isinstance(timeout, str) and timeout.upper().startswith("P"):
            timeout = seconds_from_iso(timeout)
        values = {
            "mini_batch_error_threshold": int(doc.get("mini_batch_error_threshold", -1)),
            "error_threshold": int(options.get("error_threshold", doc.get("error_threshold", -1))),
            "allowed_failed_percent": (float(options["allowed_failed_percent"])
                                       if "allowed_failed_percent" in options else None),
            "max_retries": int(retry.get("max_retries", minibatch.DEFAULT_RETRIES)),
            "timeout": float(timeout if timeout is not None else minibatch.DEFAULT_TIMEOUT),
        }
    except (TypeError, ValueError) as exc:
        raise InputError(f"a threshold or retry setting is not a number: {exc}") from None
    if values["max_retries"] < 0 or values["timeout"] <= 0:
        raise InputError("retry_settings: max_retries must be >= 0 and timeout > 0 seconds")
    return Limits(**values)


def _workers(doc: dict) -> int:
    resources = doc.get("resources") or {}
    instances = resources.get("instanceCount") or resources.get("instance_count") or 1
    try:
        count = int(doc.get("max_concurrency_per_instance") or 1) * int(instances)
    except (TypeError, ValueError):
        raise JobError("max_concurrency_per_instance and resources.instance_count must be numbers") from None
    if count < 1:
        raise JobError("max_concurrency_per_instance and resources.instance_count must be at least 1")
    return count


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped executor still ends its job
    return executor_main(ParallelRunner, "azureml_v2.local.executors.parallel", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
