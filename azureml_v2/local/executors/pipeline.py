"""The local pipeline executor: runs one pipeline job of a local workspace as a DAG of child jobs on this machine.

    python -m azureml_v2.local.executors.pipeline --home H --workspace WS --job NAME

Core starts it, detached, when a pipeline job is created (and supervision again when it finds it dead: it resumes).
Each node of the pipeline's ``jobs`` becomes a child job ``<pipeline>_<node>`` created through core's job creation,
so the existing executors run it: a command step by the command runner, a sweep step by the sweep controller, a
pipeline component by a nested pipeline executor. A node starts when the steps whose outputs it reads have Completed;
independent nodes run at once, at most ``azureml.pipeline.maxConcurrentNodes`` (a property of the pipeline job;
default: the number of CPUs) at a time. A node whose step an earlier Completed step of the workspace already ran
(same component content, inputs, data content and settings; see :mod:`.reuse`) is recorded Completed at once,
pointing at that step's outputs, and takes no slot.

A failed step: the nodes after it are not started; unless ``settings.continue_on_step_failure``, the running steps are
canceled and the pipeline ends Failed at once, else the independent branches finish first. The error names the
failed node. A cancel of the pipeline cancels its running steps (their runners stop within seconds).

All state is in the store: the steps are child jobs named after their node, so a new executor adopts the running
ones, starts those its predecessor recorded but did not start, and goes on: no node runs twice, none is lost.
"""
from __future__ import annotations

import graphlib
import json
import os
import sys

from ..._contract import (MAX_CONCURRENT_NODES, NODE_PROPERTY, PIPELINE_OUTPUTS, REUSE_FIELDS_PROPERTY,
                          REUSE_KEY_PROPERTY, REUSE_MISS_PROPERTY, TERMINAL_STATUSES)
from ..core.checks import Invalid
from ..core.executors import executor_main
from ..core.refs import References, RefError
from ..core.workspace import Page
from .parents import POLL, Lost, ParentExecutor, Stop
from .reuse import Reuse
from .steps import StepError, build, child_name, output_bindings, upstream

MAX_NODES = 10_000


class PipelineExecutor(ParentExecutor):
    """Runs pipeline `name` of workspace `ws` in the local workspace at `home`."""

    kind = "pipeline"

    def __init__(self, home: str | os.PathLike, ws: str, name: str):
        super().__init__(home, ws, name)
        self.settings = self.doc.get("settings") or {}
        self.refs = References(self.store, self.ws)
        self.reuse = Reuse(self.store, self.ws, self.refs)
        self.nodes: dict[str, dict] = self.doc.get("jobs") or {}
        self.after: dict[str, set[str]] = {}  # node -> the nodes whose outputs it reads
        self.steps: dict[str, dict] = {}  # node -> its child job's record
        limit = (self.doc.get("properties") or {}).get(MAX_CONCURRENT_NODES)
        self.limit = int(limit) if str(limit or "").isdigit() and int(limit) > 0 else os.cpu_count() or 1
        self._specs: dict[str, dict] = {}  # componentId -> componentSpec

    # -- the run

    def _ending(self, final: str) -> None:
        if final == "Completed":
            self._record_outputs()

    def _record_outputs(self) -> None:
        """Where each pipeline output is: the output of the step bound to it."""
        bound = {output: f"azureml://jobs/{child_name(self.name, node)}/outputs/{own}"
                 for node, body in self.nodes.items() for output, own in output_bindings(body).items()}
        if bound:
            self.store.set_results(self.ws, self.name, {PIPELINE_OUTPUTS: json.dumps(bound, sort_keys=True)})

    def _work(self) -> tuple[str, str | None]:
        self.log(f"at most {self.limit} step(s) at a time")
        self._graph()
        self._adopt()
        keep_going = str(self.settings.get("continue_on_step_failure", "")).lower() == "true"
        while True:
            status = self._status()
            if status in TERMINAL_STATUSES:  # ended elsewhere (its executor judged dead): its steps end too
                self._cancel_all()
                raise Lost()
            if status == "CancelRequested":
                self._cancel_all()
                return "Canceled", None
            self._refresh()
            failed = [n for n, r in self.steps.items() if r["status"] in ("Failed", "Canceled")]
            if failed and not keep_going:
                self._cancel_all()
                return "Failed", self._failure(failed)
            running = sum(r["status"] not in TERMINAL_STATUSES for r in self.steps.values())
            started = True
            while started:  # a reused step completes at once: the nodes after it may start in the same pass
                started = False
                for node in self._ready():
                    if running >= self.limit:
                        break
                    if not self._start(node):
                        running += 1
                    started = True
            if not running:
                if failed:
                    return "Failed", self._failure(failed)
                return "Completed", None
            self.exits.nap(POLL)

    def _graph(self) -> None:
        """The nodes and the order between them; a binding to an unknown node or a cycle ends the pipeline."""
        if not self.nodes:
            raise Stop("the pipeline has no jobs to run")
        if len(self.nodes) > MAX_NODES:
            raise Stop(f"the pipeline has {len(self.nodes)} jobs; the local workspace runs at most {MAX_NODES}")
        for node, body in self.nodes.items():
            self.after[node] = upstream(body if isinstance(body, dict) else {})
            unknown = sorted(self.after[node] - self.nodes.keys())
            if unknown:
                raise Stop(f"node {node}: its inputs read outputs of {', '.join(unknown)}, which the pipeline "
                                    "has no node for")
        try:
            tuple(graphlib.TopologicalSorter(self.after).static_order())
        except graphlib.CycleError as exc:
            raise Stop(f"the pipeline's nodes form a cycle: {' -> '.join(exc.args[1])}") from None

    def _ready(self) -> list[str]:
        """Nodes not started whose predecessors have all Completed, in the pipeline's order."""
        return [n for n in self.nodes if n not in self.steps
                and all(self.steps.get(u, {}).get("status") == "Completed" for u in self.after[n])]

    def _failure(self, failed: list[str]) -> str:
        first = min(failed, key=lambda n: self.steps[n]["seq"])
        record = self.steps[first]
        blocked = [n for n in self.nodes if n not in self.steps]
        more = f"; {len(failed) - 1} other node(s) failed" if len(failed) > 1 else ""
        skipped = f"; not started: {', '.join(blocked)}" if blocked else ""
        return (f"node {first} (job {record['name']}) ended {record['status']}: "
                f"{record['error'] or 'no error recorded'}{more}{skipped}")

    # -- steps

    def _start(self, node: str) -> bool:
        """Create the step of `node` -> whether it completed at once (reused)."""
        body = self.nodes[node]
        try:
            if not isinstance(body, dict):
                raise StepError("expected a job mapping")
            step = build(self.name, self.doc, node, body, self._spec(body), self.settings)
        except (StepError, RefError) as exc:
            raise Stop(f"node {node}: {exc}") from None
        props, reused = step.props, None
        if step.kind != "pipeline":
            fields = self.reuse.fields(step)
            key = self.reuse.key(fields)
            why = self._why_run(step)
            reused = None if why else self.reuse.original(key)
            if reused is not None:
                props = self.reuse.reused_props(props, reused, key)
            else:
                why = why or self.reuse.near_miss(node, fields)
                props["properties"].update({REUSE_KEY_PROPERTY: key, REUSE_FIELDS_PROPERTY: json.dumps(fields),
                                            **({REUSE_MISS_PROPERTY: why} if why else {})})
        if step.kind == "pipeline":
            props["properties"][MAX_CONCURRENT_NODES] = str(self.limit)
        name = child_name(self.name, node)
        try:
            record, created = self.jobs.create(self.ws, name, props, completed=reused is not None)
        except Invalid as exc:
            raise Stop(f"node {node}: its job cannot be created: {exc}") from None
        self.steps[node] = record
        how = f"reused {reused['name']}" if reused is not None else "created" if created else "exists"
        self.log(f"node {node}: job {name} {how}")
        return reused is not None

    def _why_run(self, step) -> str | None:
        """Why a step runs whatever earlier steps did (None: it may be reused)."""
        if str(self.settings.get("force_rerun", "")).lower() == "true":
            return "the pipeline's settings.force_rerun is true"
        if str(step.spec.get("is_deterministic", True)).lower() == "false":
            return "its component is not deterministic (is_deterministic: false)"
        return None

    def _spec(self, body: dict) -> dict:
        """The componentSpec of a node's component (a sweep node's trial)."""
        component = body.get("componentId") or (body.get("trial") or {}).get("componentId")
        if not component:
            raise StepError("it names no component (componentId)")
        if component not in self._specs:
            self._specs[component] = self.refs.asset(component, "components")["componentSpec"]
        return self._specs[component]

    def _children(self):
        """(node, record) of each step of the pipeline."""
        records, _ = self.store.list_jobs(self.ws, Page(MAX_NODES, ascending=True), "All", parent=self.name)
        for record in records:
            node = (record["doc"].get("properties") or {}).get(NODE_PROPERTY)
            if node in self.nodes and record["name"] == child_name(self.name, node):  # not a child someone else made
                yield node, record

    def _refresh(self) -> None:
        """Read the steps; fail those whose runner died (or start again a resuming one)."""
        for node, record in self._children():
            if record["status"] not in TERMINAL_STATUSES:
                record = self.jobs.look_after(record, self.pid)
            self.steps[node] = record

    def _adopt(self) -> None:
        """Take the steps an earlier executor left: start those it recorded but did not start."""
        for node, record in self._children():
            if record["status"] not in TERMINAL_STATUSES:
                self.jobs.look_after(record, self.pid, recorder_gone=True)
            self.steps[node] = record
        if self.steps:
            self.log(f"adopted {len(self.steps)} step(s): "
                     + ", ".join(f"{n} {r['status']}" for n, r in self.steps.items()))

    def _records(self):
        return self.steps.values()


def main(argv: list[str] | None = None) -> int:
    return executor_main(PipelineExecutor, "azureml_v2.local.executors.pipeline", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
