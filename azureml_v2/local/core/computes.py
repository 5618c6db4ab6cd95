"""Computes of the local workspace: the built-in `local` (this machine) and the computes users create.

A cluster (AmlCompute) is a definition honoured on this machine: a job that targets it holds
`resources.instance_count` of its `maxNodeCount` nodes while it runs, so jobs beyond that wait Queued
(:func:`hold_nodes`). A node is a lock file under ``<home>/computes/<ws>/<name>/``: the operating system frees it when
its holder dies, however it dies. Compute instances start Running; start, stop and restart are recorded (state and
last operation). Attached computes (Kubernetes, virtual machines, Synapse Spark) are recorded; jobs that target them
run here. Every change is done at once: its long-running operation is Succeeded when answered.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .checks import Invalid, compute_doc
from .workspace import LOCAL_COMPUTE, BadRequest, NotFound, Store, now

POWER = {"start": ("Start", "Running"), "stop": ("Stop", "Stopped"), "restart": ("Restart", "Running")}
_NODE_POLL = 0.2  # seconds between tries for free nodes


class Computes:
    """What the API does with computes, over a home's store."""

    def __init__(self, store: Store, user: str):
        self.store, self.user = store, user

    def put(self, ws: str, name: str, resource: dict) -> tuple[dict, bool, dict]:
        if name.lower() == LOCAL_COMPUTE:
            raise BadRequest(f"compute '{LOCAL_COMPUTE}' is built in (this machine): it cannot be changed")
        doc = compute_doc(resource)
        kind = doc["properties"]["computeType"]

        def same_type(old):
            if old is not None and old["doc"]["properties"]["computeType"] != kind:
                raise Invalid(f"compute {name!r} is a {old['doc']['properties']['computeType']}; its computeType "
                              f"cannot change to {kind}")

        return self.store.put_compute(ws, name, doc, self.user, check=same_type,
                                      state="Running" if kind == "ComputeInstance" else None)

    def power(self, ws: str, name: str, action: str) -> dict:
        """Start, stop or restart a compute instance -> the (finished) operation."""
        if name.lower() == LOCAL_COMPUTE:
            raise BadRequest(f"compute '{LOCAL_COMPUTE}' is this machine: it is always running")
        record = self.store.get_compute(ws, name)
        kind = record["doc"]["properties"]["computeType"]
        if kind != "ComputeInstance":
            raise BadRequest(f"compute {name!r} is of type {kind}: only compute instances are started and stopped "
                             "(a cluster scales with its jobs)")
        operation, state = POWER[action]
        last = {"operationName": operation, "operationTime": now(), "operationStatus": "Succeeded",
                "operationTrigger": "User"}
        return self.store.set_compute_state(ws, name, state, last, self.user)

    def delete(self, ws: str, name: str) -> dict:
        if name.lower() == LOCAL_COMPUTE:
            raise BadRequest(f"compute '{LOCAL_COMPUTE}' is built in (this machine): it cannot be deleted")
        return self.store.delete_compute(ws, name)


def rendered(record: dict, home: Path) -> dict:
    """A stored compute's ARM `properties`, with what the service adds (a cluster's nodes in use now)."""
    doc = record["doc"]
    props = {**doc["properties"], "provisioningState": "Succeeded", "createdOn": record["created_at"],
             "modifiedOn": record["modified_at"], "isAttachedCompute": doc["properties"]["computeType"] not in
             ("AmlCompute", "ComputeInstance"), "disableLocalAuth": doc["properties"].get("disableLocalAuth", True)}
    own = dict(props.get("properties") or {})
    if props["computeType"] == "AmlCompute":
        busy = nodes_in_use(node_folder(home, record["workspace"], record["name"]),
                            own["scaleSettings"]["maxNodeCount"])
        own.update({"allocationState": "Steady", "allocationStateTransitionTime": record["modified_at"],
                    "currentNodeCount": busy, "targetNodeCount": busy})
    elif props["computeType"] == "ComputeInstance":
        own["state"] = record["state"]
        if record.get("last_operation"):
            own["lastOperation"] = record["last_operation"]
    if own:
        props["properties"] = own
    return props


def local_compute(created_at: str) -> dict:
    """The built-in `local` compute's ARM `properties`."""
    return {"computeType": "VirtualMachine", "computeLocation": "local",
            "description": "This machine: jobs run as local processes", "provisioningState": "Succeeded",
            "createdOn": created_at, "modifiedOn": created_at, "isAttachedCompute": True, "disableLocalAuth": True,
            "properties": {"address": "127.0.0.1"}}


# -- a cluster's nodes --------------------------------------------------------------------------------------
def cluster_nodes(store: Store, ws: str, compute: str) -> int | None:
    """How many nodes cluster `compute` has (its maxNodeCount); None when it is no cluster of the workspace."""
    if compute.lower() == LOCAL_COMPUTE:
        return None
    try:
        doc = store.get_compute(ws, compute)["doc"]
    except NotFound:  # a compute this machine does not know: the job runs here as on `local`
        return None
    if doc["properties"]["computeType"] != "AmlCompute":
        return None
    return int(doc["properties"]["properties"]["scaleSettings"]["maxNodeCount"])


def node_folder(home: Path, ws: str, compute: str) -> Path:
    return Path(home) / "computes" / ws.lower() / compute.lower()


def hold_nodes(folder: Path, count: int, total: int, stop) -> list[int] | None:
    """Wait until `count` of the `total` nodes in `folder` are free and hold them -> their open lock files (close
    them to free the nodes), or None when `stop()` became true first. Nodes are taken all at once or not at all, so
    two jobs each waiting for a second node never hold one each forever."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        held = []
        for index in range(total):
            fd = os.open(folder / f"node-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held.append(fd)
            if len(held) == count:
                return held
        for fd in held:
            os.close(fd)
        if stop():
            return None
        time.sleep(_NODE_POLL)


def nodes_in_use(folder: Path, total: int) -> int:
    """How many of a cluster's nodes jobs hold now (a node whose lock is taken)."""
    busy = 0
    for index in range(total):
        try:
            fd = os.open(folder / f"node-{index}.lock", os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            busy += 1
        finally:
            os.close(fd)
    return busy
