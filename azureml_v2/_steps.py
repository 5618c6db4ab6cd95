"""A pipeline's steps as a user reads them: the DAG as text, the table of nodes (status, reused, duration, key
metric) live while it runs and in `azml job show`, and why a step ran although an earlier one nearly matched. Plain
data in, text out; reading the workspace is the job operations' part."""
from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from datetime import datetime

from ._contract import (NODE_PROPERTY, REUSE_MISS_PROPERTY, REUSED_FROM_PROPERTY, TERMINAL_STATUSES,
                        binding, job_error)
from ._trials import LiveTable, aligned, fmt


@dataclass
class Node:
    """One node of a pipeline: its name, what it reads from, and its step (child job) once it has one."""
    name: str
    after: list[str]
    job: str | None = None
    status: str = "NotStarted"
    reused_from: str | None = None
    ran_because: str | None = None  # why it ran although an earlier run of the node nearly matched
    started: str | None = None
    ended: str | None = None
    metric: tuple[str, float] | None = None
    error: str | None = None

    @property
    def duration(self) -> str:
        if self.reused_from:
            return "0 s"
        if not self.started:
            return ""
        end = datetime.fromisoformat(self.ended) if self.ended else datetime.now(datetime.fromisoformat(
            self.started).tzinfo)
        return f"{(end - datetime.fromisoformat(self.started)).total_seconds():.1f} s"


@dataclass
class PipelineView:
    """A pipeline and its nodes (in the DAG's order) at one moment."""
    name: str
    status: str
    nodes: list[Node] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def trials(self):  # the live table's name for its rows
        return self.nodes


def pipeline_view(resource: dict, children: list[dict], metrics) -> PipelineView:
    """The pipeline in `resource` (REST) with its child jobs; `metrics(child name)` -> (key, value) or None."""
    props = resource.get("properties", {})
    jobs = props.get("jobs") or {}
    after = {name: sorted({path[1] for item in (body.get("inputs") or {}).values() if isinstance(item, dict)
                           for path in [binding(item.get("value"))] if path and path[0] == "jobs"})
             for name, body in jobs.items() if isinstance(body, dict)}
    try:
        order = list(graphlib.TopologicalSorter(after).static_order())
    except graphlib.CycleError:
        order = list(after)
    by_node = {(c["properties"].get("properties") or {}).get(NODE_PROPERTY): c for c in children}
    nodes = []
    for name in order:
        node = Node(name, after.get(name, []))
        child = by_node.get(name)
        if child is not None:
            cp, user = child["properties"], child["properties"].get("properties") or {}
            node.job, node.status = child["name"], cp.get("status")
            node.reused_from, node.ran_because = user.get(REUSED_FROM_PROPERTY), user.get(REUSE_MISS_PROPERTY)
            node.started, node.ended = user.get("StartTimeUtc"), user.get("EndTimeUtc")
            node.error = job_error(child)
            if node.status == "Completed" and not node.reused_from:
                node.metric = metrics(child["name"])
        nodes.append(node)
    outputs = {}
    for key in props.get("outputs") or {}:
        for name, body in jobs.items():
            for own, item in ((body or {}).get("outputs") or {}).items():
                if binding(item.get("value") if isinstance(item, dict) else item) == ("outputs", key):
                    outputs[key] = f"{name}.outputs.{own}"
    return PipelineView(resource["name"], props.get("status"), nodes, outputs, job_error(resource))


def dag(view: PipelineView) -> list[str]:
    """The DAG as text: each node (in an order where a node follows those it reads from) and its predecessors."""
    width = max((len(n.name) for n in view.nodes), default=0)
    return [(f"  {n.name:<{width}}" + (f"  <- {', '.join(n.after)}" if n.after else "")).rstrip() for n in view.nodes]


def cells(view: PipelineView) -> tuple[list[str], list[list[str]]]:
    rows = []
    for n in view.nodes:
        reused = f"reused {n.reused_from}" if n.reused_from else "ran" if n.status in TERMINAL_STATUSES else ""
        metric = f"{n.metric[0]}={fmt(n.metric[1], 6)}" if n.metric else ""
        rows.append([n.name, n.status, reused, n.duration, metric])
    return ["Node", "Status", "Reuse", "Duration", "Metric"], rows


def table(view: PipelineView) -> list[str]:
    return aligned(*cells(view))


def summary(view: PipelineView) -> list[str]:
    """Why steps ran, the status and error, and where the outputs are."""
    lines = [f"{n.name}: ran although an earlier run existed: {n.ran_because}" for n in view.nodes
             if n.ran_because and not n.reused_from]
    lines.append(f"Status: {view.status}" + (f"  ({view.error})" if view.error else ""))
    lines += [f"Output {key}: {where}" for key, where in view.outputs.items()]
    return lines


class LivePipeline(LiveTable):
    """The live table of a running pipeline's nodes; `finish` adds why steps ran, the status and the outputs."""

    def _table(self, view: PipelineView) -> list[str]:
        return table(view)

    def _final(self, view: PipelineView) -> list[str]:
        return table(view) + summary(view)

    def _write_changes(self, view: PipelineView) -> None:
        for node in view.nodes:
            state = (node.status, bool(node.reused_from))
            if node.job and self.seen.get(node.name) != state:
                self.seen[node.name] = state
                how = f"  reused {node.reused_from}" if node.reused_from else ""
                self.out.write(f"node {node.name:<12} {node.status}{how}\n")
