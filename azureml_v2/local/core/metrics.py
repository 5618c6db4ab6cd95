"""Metrics and MLflow runs of local jobs, over the tracking database: what job processes and the API use.

    ensure_run(home, ws, job, experiment, artifact_dir)    # the job's run, created RUNNING
    finish_run(home, ws, job, "Completed")                  # its final status
    metrics(home, ws, job)                                  # {key: [(step, value, timestamp_ms), ...]}
    chart_points(home, ws, job)                             # {key: ([(step, value), ...] to chart, latest)}
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

from ..._contract import DEFAULT_EXPERIMENT
from ..storage.tracking import (MAX_BATCH, MAX_BATCH_TOTAL, MAX_RESULTS, MlflowError, TrackingStore, double, invalid,
                                now_ms, required, tag_pair)

__all__ = ["MAX_BATCH", "MAX_BATCH_TOTAL", "MAX_RESULTS", "MlflowError", "TrackingStore",
           "chart_points", "double", "ensure_run", "finish_run", "invalid", "metrics", "required", "tag_pair",
           "tracking_store"]

_stores: dict[Path, TrackingStore] = {}
_stores_lock = threading.Lock()


def tracking_store(home) -> TrackingStore:
    """One store per home per process (connections are per thread), so that repeated calls are cheap."""
    key = Path(home).expanduser().resolve()
    with _stores_lock:
        if key not in _stores:
            _stores[key] = TrackingStore(key)
        return _stores[key]


def ensure_run(home, workspace: str, run_id: str, experiment_name: str | None, artifact_dir) -> dict:
    """The job's run (created RUNNING unless it exists) -> its REST ``info``."""
    store = tracking_store(home)
    experiment_id = store.ensure_experiment(workspace, experiment_name or DEFAULT_EXPERIMENT)
    store.create_run(workspace, experiment_id, run_id=run_id, run_name=run_id, exist_ok=True,
                     artifact_uri=Path(artifact_dir).resolve().as_uri())
    return store.run(workspace, run_id)["info"]


# a job's final status -> its run's
RUN_STATUS_OF_JOB = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}


def finish_run(home, workspace: str, run_id: str, status: str) -> bool:
    """Set the run's final status (FINISHED, FAILED or KILLED, or the job's Completed, Failed or Canceled) and end
    time; False when the job never had a run (it failed before its command started)."""
    status = RUN_STATUS_OF_JOB.get(status, status)
    if status not in RUN_STATUS_OF_JOB.values():
        raise ValueError(f"a finished run's status is FINISHED, FAILED or KILLED, not {status!r}")
    try:
        tracking_store(home).update_run(workspace, run_id, status=status, end_time=now_ms(), require_active=False)
    except MlflowError:
        return False
    return True


def metrics(home, workspace: str, run_id: str, key: str | None = None) -> dict[str, list[tuple[int, float, int]]]:
    """Every logged point of every metric of a run (or of metric `key` only): key -> [(step, value, timestamp_ms)]
    in logging order. A run that does not exist (yet) has no metrics."""
    result: dict[str, list[tuple[int, float, int]]] = {}
    try:
        points = tracking_store(home).history(workspace, run_id, key)
    except MlflowError:
        return result
    for key, step, value, timestamp in points:
        result.setdefault(key, []).append((step, math.nan if value is None else value, timestamp))
    return result


def chart_points(home, workspace: str, run_id: str) -> dict[str, tuple[list[tuple[int, float]], float]]:
    """Per metric of a run: points to chart it (all its finite points, or for a long metric those its tiles keep: a
    chart of a million points costs what one of twenty thousand does) and its latest value. A run that does not
    exist (yet) has no metrics."""
    try:
        return tracking_store(home).summary(workspace, run_id)
    except MlflowError:
        return {}
