"""MLflow tracking for the local workspace: the MLflow tracking REST API (the subset MLflow 3 clients call for runs,
metrics, params, tags, inputs/outputs and logged models) over its own SQLite file, ``<home>/tracking.db``.

    app = make_tracking_app(home)                 # WSGI: /api/2.0/mlflow/...
    with serve_for_job(home, ws, job, experiment, artifact_dir) as env:   # MLFLOW_* variables for the job
        ...
    metrics(home, ws, job)                         # {key: [(step, value, timestamp_ms), ...]}

As on Azure ML, a job's run id is the job name (MLflow accepts any ``[a-zA-Z0-9][\\w-]*`` id) and its experiment is
the job's experiment. Artifact URIs are ``file://`` folders, so clients write artifacts straight to disk and no
artifact proxy is needed. Paths may carry Azure ML's workspace prefix (``.../workspaces/<ws>/api/2.0/mlflow/...``);
without one a request belongs to the app's default workspace. Errors are MLflow's error JSON
(``error_code``, ``message``). This module does not import mlflow.
"""
from __future__ import annotations

import base64
import getpass
import json
import logging
import math
import os
import re
import secrets
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote

from .service import DEFAULT_WORKSPACE
from .store import SQLiteFile

DB_NAME = "tracking.db"
DEFAULT_EXPERIMENT = "Default"
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MODEL_STATUSES = ("LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                  "LOGGED_MODEL_UPLOAD_FAILED")
# MLflow's own limits (mlflow/utils/validation.py), so that what works here works on a real server too
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_KEY = 250
MAX_BATCH = {"metrics": 1000, "params": 100, "tags": 100}
MAX_BATCH_TOTAL = 1000
MAX_RESULTS = 50000
RUN_NAME_TAG = "mlflow.runName"

# Schema migrations: PRAGMA user_version is the number of steps applied. Append steps; never edit an applied one.
MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: experiments, runs, metrics, params, tags, run inputs/outputs, logged models
        """CREATE TABLE experiments (
            experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE,
            name TEXT NOT NULL,
            artifact_location TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL,
            UNIQUE (workspace, name))""",
        """CREATE TABLE experiment_tags (
            experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (experiment_id, key))""",
        """CREATE TABLE runs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE,
            run_id TEXT NOT NULL,
            experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
            run_name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            artifact_uri TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            UNIQUE (workspace, run_id))""",
        "CREATE INDEX runs_experiment ON runs (experiment_id, start_time)",
        # every logged value is kept; only an exact repeat (a client retry) is ignored, as MLflow's SQL store does.
        # NaN is stored as NULL (SQLite's REAL has no NaN).
        """CREATE TABLE metrics (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            key TEXT NOT NULL,
            step INTEGER NOT NULL,
            value REAL,
            timestamp INTEGER NOT NULL,
            model_id TEXT, dataset_name TEXT, dataset_digest TEXT)""",
        "CREATE UNIQUE INDEX metrics_point ON metrics (run, key, step, timestamp, value)",
        "CREATE INDEX metrics_model ON metrics (model_id) WHERE model_id IS NOT NULL",
        """CREATE TABLE params (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (run, key))""",
        """CREATE TABLE tags (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (run, key))""",
        """CREATE TABLE run_inputs (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('dataset', 'model')),
            doc TEXT NOT NULL,
            UNIQUE (run, kind, doc))""",
        """CREATE TABLE run_outputs (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            model_id TEXT NOT NULL, step INTEGER NOT NULL,
            UNIQUE (run, model_id, step))""",
        """CREATE TABLE logged_models (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            model_id TEXT NOT NULL UNIQUE,
            workspace TEXT NOT NULL COLLATE NOCASE,
            experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
            name TEXT NOT NULL,
            artifact_uri TEXT NOT NULL,
            status TEXT NOT NULL,
            status_message TEXT,
            model_type TEXT,
            source_run_id TEXT,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL)""",
        "CREATE INDEX logged_models_experiment ON logged_models (experiment_id, seq)",
        """CREATE TABLE logged_model_params (
            model INTEGER NOT NULL REFERENCES logged_models(seq) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (model, key))""",
        """CREATE TABLE logged_model_tags (
            model INTEGER NOT NULL REFERENCES logged_models(seq) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (model, key))""",
    ),
]

# MLflow's HTTP status for each error code (mlflow/exceptions.py)
_STATUS = {"INVALID_PARAMETER_VALUE": 400, "MALFORMED_REQUEST": 400, "RESOURCE_ALREADY_EXISTS": 400,
           "INVALID_STATE": 400, "RESOURCE_DOES_NOT_EXIST": 404, "ENDPOINT_NOT_FOUND": 404,
           "INTERNAL_ERROR": 500}
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


class MlflowError(Exception):
    """An MLflow REST error: `code` is an MLflow ErrorCode name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def _number(value: float | None):
    """A double as protobuf JSON writes it: NaN and infinities as strings."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _kv(pairs) -> list[dict]:
    return [{"key": k, "value": v} for k, v in pairs]


# -- the database


class TrackingStore(SQLiteFile):
    """``<home>/tracking.db``: one connection per thread, one ``BEGIN IMMEDIATE`` transaction per write."""

    def __init__(self, home: str | os.PathLike, *, busy_timeout: float = 30.0):
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        super().__init__(self.home / DB_NAME, MIGRATIONS, busy_timeout=busy_timeout)

    # -- experiments

    def _default_artifacts(self, ws: str, experiment_id: int) -> str:
        return (self.home / "mlflow-artifacts" / ws / str(experiment_id)).as_uri()

    def create_experiment(self, ws: str, name: str, artifact_location: str | None = None,
                          tags: list[dict] = ()) -> int:
        if not name or not isinstance(name, str):
            raise _invalid("Invalid experiment name: the name must be a non-empty string")
        stamp = _now_ms()
        with self.write() as conn:
            try:
                cur = conn.execute(
                    "INSERT INTO experiments (workspace, name, artifact_location, creation_time, last_update_time) "
                    "VALUES (?, ?, '', ?, ?)", (ws, name, stamp, stamp))
            except sqlite3.IntegrityError:
                raise MlflowError("RESOURCE_ALREADY_EXISTS",
                                  f"Experiment '{name}' already exists.") from None
            experiment_id = cur.lastrowid
            conn.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                         (artifact_location or self._default_artifacts(ws, experiment_id), experiment_id))
            conn.executemany("INSERT OR REPLACE INTO experiment_tags VALUES (?, ?, ?)",
                             [(experiment_id, t["key"], str(t.get("value", ""))) for t in tags])
        return experiment_id

    def ensure_experiment(self, ws: str, name: str) -> int:
        row = self.connection().execute("SELECT experiment_id FROM experiments WHERE workspace = ? AND name = ?",
                                        (ws, name)).fetchone()
        if row:
            return row[0]
        try:
            return self.create_experiment(ws, name)
        except MlflowError:  # created by another writer meanwhile
            return self.ensure_experiment(ws, name)

    def experiment_id(self, ws: str, experiment_id) -> int:
        """An experiment id of this workspace; "0" (MLflow's default experiment) is the workspace's Default."""
        if str(experiment_id) == "0":
            return self.ensure_experiment(ws, DEFAULT_EXPERIMENT)
        try:
            number = int(experiment_id)
        except (TypeError, ValueError):
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No Experiment with id={experiment_id} exists") from None
        row = self.connection().execute("SELECT 1 FROM experiments WHERE workspace = ? AND experiment_id = ?",
                                        (ws, number)).fetchone()
        if row is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No Experiment with id={experiment_id} exists")
        return number

    def experiment(self, ws: str, *, experiment_id=None, name: str | None = None) -> dict:
        conn = self.connection()
        if name is not None:
            row = conn.execute("SELECT * FROM experiments WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            if row is None:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'")
        else:
            row = conn.execute("SELECT * FROM experiments WHERE experiment_id = ?",
                               (self.experiment_id(ws, experiment_id),)).fetchone()
        return self._experiment(conn, row)

    @staticmethod
    def _experiment(conn, row) -> dict:
        experiment_id, _, name, location, stage, created, updated = row
        tags = conn.execute("SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key",
                            (experiment_id,)).fetchall()
        return {"experiment_id": str(experiment_id), "name": name, "artifact_location": location,
                "lifecycle_stage": stage, "creation_time": created, "last_update_time": updated, "tags": _kv(tags)}

    def experiments(self, ws: str, view: str) -> list[dict]:
        conn = self.connection()
        rows = conn.execute(f"SELECT * FROM experiments WHERE workspace = ? {_stage_sql(view)} "
                            "ORDER BY experiment_id DESC", (ws,)).fetchall()
        return [self._experiment(conn, row) for row in rows]

    def update_experiment(self, ws: str, experiment_id, *, name: str | None = None, stage: str | None = None,
                          tags: list[dict] = (), delete_tag: str | None = None) -> None:
        number = self.experiment_id(ws, experiment_id)
        with self.write() as conn:
            try:
                conn.execute("UPDATE experiments SET name = coalesce(?, name), lifecycle_stage = "
                             "coalesce(?, lifecycle_stage), last_update_time = ? WHERE experiment_id = ?",
                             (name, stage, _now_ms(), number))
            except sqlite3.IntegrityError:
                raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.") from None
            conn.executemany("INSERT OR REPLACE INTO experiment_tags VALUES (?, ?, ?)",
                             [(number, t["key"], str(t.get("value", ""))) for t in tags])
            if delete_tag is not None:
                conn.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (number, delete_tag))

    # -- runs

    def create_run(self, ws: str, experiment_id, *, run_id: str | None = None, run_name: str | None = None,
                   user_id: str | None = None, start_time: int | None = None, tags: list[dict] = (),
                   artifact_uri: str | None = None, exist_ok: bool = False) -> str:
        number = self.experiment_id(ws, experiment_id)
        run_id = run_id or uuid.uuid4().hex
        tags = [dict(t) for t in tags]
        run_name = run_name or next((t.get("value") for t in tags if t.get("key") == RUN_NAME_TAG), None) or run_id
        tags = [t for t in tags if t.get("key") != RUN_NAME_TAG] + [{"key": RUN_NAME_TAG, "value": run_name}]
        if artifact_uri is None:
            location = self.connection().execute("SELECT artifact_location FROM experiments WHERE experiment_id = ?",
                                                  (number,)).fetchone()[0]
            artifact_uri = f"{location.rstrip('/')}/{run_id}/artifacts"
        with self.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO runs (workspace, run_id, experiment_id, run_name, user_id, status, start_time, "
                "artifact_uri) VALUES (?, ?, ?, ?, ?, 'RUNNING', ?, ?)",
                (ws, run_id, number, run_name, user_id or getpass.getuser(), start_time or _now_ms(), artifact_uri))
            if not cur.rowcount:
                if exist_ok:
                    return run_id
                raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Run with id={run_id} already exists")
            _set_tags(conn, cur.lastrowid, tags)
        return run_id

    def _run_row(self, conn, ws: str, run_id: str, *, active: bool = False):
        row = conn.execute("SELECT seq, lifecycle_stage FROM runs WHERE workspace = ? AND run_id = ?",
                           (ws, run_id)).fetchone()
        if row is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run with id={run_id} not found")
        if active and row[1] != "active":
            raise MlflowError("INVALID_STATE", f"The run {run_id} must be in the 'active' state. "
                                               f"Current state is {row[1]}.")
        return row[0]

    def run(self, ws: str, run_id: str) -> dict:
        conn = self.connection()
        row = conn.execute("SELECT * FROM runs WHERE workspace = ? AND run_id = ?", (ws, run_id)).fetchone()
        if row is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run with id={run_id} not found")
        return self._run(conn, row)

    @staticmethod
    def _run_info(row) -> dict:
        _, _, run_id, experiment_id, name, user, status, start, end, uri, stage = row
        info = {"run_id": run_id, "run_uuid": run_id, "run_name": name, "experiment_id": str(experiment_id),
                "user_id": user, "status": status, "start_time": start, "artifact_uri": uri,
                "lifecycle_stage": stage}
        if end is not None:
            info["end_time"] = end
        return info

    def _run(self, conn, row) -> dict:
        seq = row[0]
        latest: dict[str, tuple] = {}
        for key, step, timestamp, value in conn.execute(
                "SELECT key, step, timestamp, value FROM metrics WHERE run = ?", (seq,)):
            order = (step, timestamp, -math.inf if value is None else value)
            if key not in latest or order > latest[key][0]:
                latest[key] = (order, value)
        metrics_ = [{"key": k, "value": _number(v), "timestamp": o[1], "step": o[0]}
                    for k, (o, v) in sorted(latest.items())]
        params = conn.execute("SELECT key, value FROM params WHERE run = ? ORDER BY key", (seq,)).fetchall()
        tags = conn.execute("SELECT key, value FROM tags WHERE run = ? ORDER BY key", (seq,)).fetchall()
        inputs = {"dataset_inputs": [], "model_inputs": []}
        for kind, doc in conn.execute("SELECT kind, doc FROM run_inputs WHERE run = ? ORDER BY rowid", (seq,)):
            inputs[f"{kind}_inputs"].append(json.loads(doc))
        outputs = [{"model_id": m, "step": s} for m, s in
                   conn.execute("SELECT model_id, step FROM run_outputs WHERE run = ? ORDER BY rowid", (seq,))]
        return {"info": self._run_info(row),
                "data": {"metrics": metrics_, "params": _kv(params), "tags": _kv(tags)},
                "inputs": inputs, "outputs": {"model_outputs": outputs}}

    def runs(self, ws: str, experiment_ids: list, view: str) -> list[dict]:
        numbers = [self.experiment_id(ws, e) for e in experiment_ids]
        conn = self.connection()
        marks = ",".join("?" * len(numbers))
        rows = conn.execute(f"SELECT * FROM runs WHERE workspace = ? AND experiment_id IN ({marks}) "
                            f"{_stage_sql(view)} ORDER BY start_time DESC, seq DESC", (ws, *numbers)).fetchall()
        return [self._run(conn, row) for row in rows]

    def update_run(self, ws: str, run_id: str, *, status: str | None = None, end_time: int | None = None,
                   run_name: str | None = None, stage: str | None = None, require_active: bool = True) -> dict:
        if status is not None and status not in RUN_STATUSES:
            raise _invalid(f"Invalid run status {status!r}: expected one of {', '.join(RUN_STATUSES)}")
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=require_active and stage is None)
            conn.execute("UPDATE runs SET status = coalesce(?, status), end_time = coalesce(?, end_time), "
                         "run_name = coalesce(?, run_name), lifecycle_stage = coalesce(?, lifecycle_stage) "
                         "WHERE seq = ?", (status, end_time, run_name or None, stage, seq))
            if run_name:
                _set_tags(conn, seq, [{"key": RUN_NAME_TAG, "value": run_name}])
            row = conn.execute("SELECT * FROM runs WHERE seq = ?", (seq,)).fetchone()
        return self._run_info(row)

    def log_batch(self, ws: str, run_id: str, metrics_: list[dict] = (), params: list[dict] = (),
                  tags: list[dict] = ()) -> None:
        """Metrics, params and tags of one run in one transaction (MLflow's log-batch, and the single-item calls)."""
        points = [_metric_row(m) for m in metrics_]
        params = [_param(p) for p in params]
        tags = [_tag(t) for t in tags]
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            if params:
                _check_params(conn, seq, run_id, params)
                conn.executemany("INSERT OR IGNORE INTO params VALUES (?, ?, ?)", [(seq, k, v) for k, v in params])
            if tags:
                _set_tags(conn, seq, [{"key": k, "value": v} for k, v in tags])
                name = next((v for k, v in reversed(tags) if k == RUN_NAME_TAG), None)
                if name:
                    conn.execute("UPDATE runs SET run_name = ? WHERE seq = ?", (name, seq))
            if points:
                conn.executemany("INSERT OR IGNORE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 [(seq, *p) for p in points])

    def delete_tag(self, ws: str, run_id: str, key: str) -> None:
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            if not conn.execute("DELETE FROM tags WHERE run = ? AND key = ?", (seq, key)).rowcount:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                                  f"No tag with name: {key} in run with id {run_id}")

    def log_inputs(self, ws: str, run_id: str, datasets: list[dict] = (), models: list[dict] = ()) -> None:
        docs = [("dataset", _dumps(d)) for d in datasets] + [("model", _dumps(m)) for m in models]
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            conn.executemany("INSERT OR IGNORE INTO run_inputs VALUES (?, ?, ?)", [(seq, k, d) for k, d in docs])

    def log_outputs(self, ws: str, run_id: str, models: list[dict]) -> None:
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            conn.executemany("INSERT OR IGNORE INTO run_outputs VALUES (?, ?, ?)",
                             [(seq, _required(m, "model_id"), int(m.get("step") or 0)) for m in models])

    def history(self, ws: str, run_id: str, key: str | None = None) -> list[tuple]:
        """(key, step, value, timestamp) of a run's metric points in logging order (one key, or all)."""
        conn = self.connection()
        seq = self._run_row(conn, ws, run_id)
        if key is None:
            return conn.execute("SELECT key, step, value, timestamp FROM metrics WHERE run = ? ORDER BY rowid",
                                (seq,)).fetchall()
        return conn.execute("SELECT key, step, value, timestamp FROM metrics WHERE run = ? AND key = ? "
                            "ORDER BY rowid", (seq, key)).fetchall()

    # -- logged models (MLflow 3's log_model records one, then writes its files under its artifact_uri)

    def create_logged_model(self, ws: str, experiment_id, *, name: str | None, model_type: str | None,
                            source_run_id: str | None, params: list[dict], tags: list[dict]) -> str:
        number = self.experiment_id(ws, experiment_id)
        model_id = f"m-{uuid.uuid4().hex}"
        conn = self.connection()
        if source_run_id:
            run = conn.execute("SELECT artifact_uri FROM runs WHERE workspace = ? AND run_id = ?",
                               (ws, source_run_id)).fetchone()
            if run is None:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run with id={source_run_id} not found")
            base = run[0]
        else:
            base = conn.execute("SELECT artifact_location FROM experiments WHERE experiment_id = ?",
                                (number,)).fetchone()[0]
        stamp = _now_ms()
        with self.write() as conn:
            seq = conn.execute(
                "INSERT INTO logged_models (model_id, workspace, experiment_id, name, artifact_uri, status, "
                "model_type, source_run_id, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, ws, number, name or model_id, f"{base.rstrip('/')}/models/{model_id}",
                 "LOGGED_MODEL_PENDING", model_type, source_run_id, stamp, stamp)).lastrowid
            conn.executemany("INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)",
                             [(seq, *_param(p)) for p in params])
            conn.executemany("INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                             [(seq, *_tag(t)) for t in tags])
        return model_id

    def _model_seq(self, conn, ws: str, model_id: str, allow_deleted: bool = False) -> int:
        row = conn.execute("SELECT seq, lifecycle_stage FROM logged_models WHERE workspace = ? AND model_id = ?",
                           (ws, model_id)).fetchone()
        if row is None or (row[1] != "active" and not allow_deleted):
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model with ID '{model_id}' not found.")
        return row[0]

    def update_logged_model(self, ws: str, model_id: str, *, status: str | None = None, params: list[dict] = (),
                            tags: list[dict] = (), delete_tag: str | None = None, delete: bool = False) -> None:
        if status is not None and status not in MODEL_STATUSES:
            raise _invalid(f"Invalid logged model status {status!r}")
        with self.write() as conn:
            seq = self._model_seq(conn, ws, model_id)
            conn.execute("UPDATE logged_models SET status = coalesce(?, status), last_update_time = ?, "
                         "lifecycle_stage = ? WHERE seq = ?",
                         (status, _now_ms(), "deleted" if delete else "active", seq))
            conn.executemany("INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)",
                             [(seq, *_param(p)) for p in params])
            conn.executemany("INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                             [(seq, *_tag(t)) for t in tags])
            if delete_tag is not None:
                conn.execute("DELETE FROM logged_model_tags WHERE model = ? AND key = ?", (seq, delete_tag))

    def logged_model(self, ws: str, model_id: str, allow_deleted: bool = False) -> dict:
        conn = self.connection()
        seq = self._model_seq(conn, ws, model_id, allow_deleted)
        return self._logged_model(conn, conn.execute("SELECT * FROM logged_models WHERE seq = ?", (seq,)).fetchone())

    @staticmethod
    def _logged_model(conn, row) -> dict:
        (seq, model_id, _, experiment_id, name, uri, status, message, model_type, source_run_id, _,
         created, updated) = row
        info = {"model_id": model_id, "experiment_id": str(experiment_id), "name": name,
                "creation_timestamp_ms": created, "last_updated_timestamp_ms": updated, "artifact_uri": uri,
                "status": status, "status_message": message, "model_type": model_type,
                "source_run_id": source_run_id,
                "tags": _kv(conn.execute("SELECT key, value FROM logged_model_tags WHERE model = ? ORDER BY key",
                                         (seq,)))}
        points = conn.execute(
            "SELECT m.key, m.value, m.timestamp, m.step, m.dataset_name, m.dataset_digest, r.run_id FROM metrics m "
            "JOIN runs r ON r.seq = m.run WHERE m.model_id = ? ORDER BY m.rowid", (model_id,)).fetchall()
        metrics_ = [{"key": k, "value": _number(v), "timestamp": t, "step": s, "dataset_name": dn,
                     "dataset_digest": dd, "model_id": model_id, "run_id": r} for k, v, t, s, dn, dd, r in points]
        data = {"params": _kv(conn.execute("SELECT key, value FROM logged_model_params WHERE model = ? ORDER BY key",
                                           (seq,))),
                "metrics": [{k: v for k, v in m.items() if v is not None} for m in metrics_]}
        return {"info": {k: v for k, v in info.items() if v is not None}, "data": data}

    def logged_models(self, ws: str, experiment_ids: list) -> list[dict]:
        numbers = [self.experiment_id(ws, e) for e in experiment_ids]
        conn = self.connection()
        rows = conn.execute(f"SELECT * FROM logged_models WHERE workspace = ? AND lifecycle_stage = 'active' AND "
                            f"experiment_id IN ({','.join('?' * len(numbers))}) ORDER BY seq DESC",
                            (ws, *numbers)).fetchall()
        return [self._logged_model(conn, row) for row in rows]


def _stage_sql(view: str) -> str:
    return {"ACTIVE_ONLY": "AND lifecycle_stage = 'active'", "DELETED_ONLY": "AND lifecycle_stage = 'deleted'",
            "ALL": ""}.get(view or "ACTIVE_ONLY", "AND lifecycle_stage = 'active'")


def _required(body: dict, name: str):
    value = body.get(name)
    if value is None or value == "":
        raise _invalid(f"Missing value for required parameter '{name}'.")
    return value


def _key(body: dict, what: str) -> str:
    key = _required(body, "key")
    if not isinstance(key, str) or len(key) > MAX_KEY or ".." in key.split("/") or key.startswith("/"):
        raise _invalid(f"Invalid {what} name: '{key}'. Names may be up to {MAX_KEY} characters long and may not be "
                       "an absolute path or contain '..' segments.")
    return key


def _param(body: dict) -> tuple[str, str]:
    key, value = _key(body, "param"), str(body.get("value", ""))
    if len(value) > MAX_PARAM_VALUE:
        raise _invalid(f"Param value '{value[:100]}...' had length {len(value)}, which exceeded length limit of "
                       f"{MAX_PARAM_VALUE}")
    return key, value


def _tag(body: dict) -> tuple[str, str]:
    key, value = _key(body, "tag"), str(body.get("value", ""))
    if len(value) > MAX_TAG_VALUE:
        raise _invalid(f"Tag value '{value[:100]}...' had length {len(value)}, which exceeded length limit of "
                       f"{MAX_TAG_VALUE}")
    return key, value


def _metric_row(body: dict) -> tuple:
    key = _key(body, "metric")
    try:
        value = float(body["value"])
        step = int(body.get("step") or 0)
        timestamp = int(body.get("timestamp") or _now_ms())
    except (KeyError, TypeError, ValueError):
        raise _invalid(f"Got invalid value, step or timestamp for metric '{key}': {body}") from None
    return (key, step, None if math.isnan(value) else value, timestamp,
            body.get("model_id") or None, body.get("dataset_name") or None, body.get("dataset_digest") or None)


def _set_tags(conn, seq: int, tags: list[dict]) -> None:
    conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", [(seq, t["key"], t["value"]) for t in tags])


def _check_params(conn, seq: int, run_id: str, params: list[tuple[str, str]]) -> None:
    """Params are immutable: a key logged again must carry the same value (MLflow's rule and message)."""
    new: dict[str, str] = {}
    for key, value in params:
        if new.setdefault(key, value) != value:
            raise _invalid(f"Duplicate parameter keys have been submitted: key='{key}' was given the values "
                           f"'{new[key]}' and '{value}'")
    marks = ",".join("?" * len(new))
    for key, old in conn.execute(f"SELECT key, value FROM params WHERE run = ? AND key IN ({marks})",
                                 (seq, *new)):
        if old != new[key]:
            raise _invalid(f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                           f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new[key]}'.")


# -- search filters: MLflow's search syntax, clauses joined by AND (enough for the filters clients send)

_CLAUSE = re.compile(
    r"""\s*(?P<ident>`[^`]+`|"[^"]+"|[\w.]+(?:\.`[^`]+`|\."[^"]+")?)\s*
        (?P<op>!=|>=|<=|=|>|<|\bLIKE\b|\bILIKE\b|\bIS\s+NOT\b|\bIS\b)\s*
        (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?[\d.]+(?:e-?\d+)?|NULL)\s*(?:\bAND\b|$)""",
    re.IGNORECASE | re.VERBOSE)


_KINDS = {"metric": "metric", "metrics": "metric", "param": "param", "params": "param", "parameter": "param",
          "parameters": "param", "tag": "tag", "tags": "tag", "attribute": "attribute", "attributes": "attribute",
          "attr": "attribute", "run": "attribute"}


def _parse_filter(text: str | None) -> list[tuple[str, str, str, object]]:
    """'metrics.rmse < 0.5 and params.lr = "0.1"' -> [(kind, key, op, value), ...]."""
    clauses, pos, text = [], 0, (text or "").strip()
    while pos < len(text):
        match = _CLAUSE.match(text, pos)
        if not match or match.end() == pos:
            raise _invalid(f"Invalid filter '{text}': could not parse at '{text[pos:]}'. Use clauses like "
                           "metrics.x > 1, params.x = 'a', tags.x = 'a', attributes.status = 'FINISHED' joined "
                           "by AND.")
        pos = match.end()
        ident = match["ident"]
        kind, _, key = ident.partition(".")
        if ident.startswith(("`", '"')) or kind.lower() not in _KINDS:
            kind, key = "attribute", ident
        raw = match["value"]
        value = None if raw.upper() == "NULL" else raw[1:-1] if raw[0] in "'\"" else float(raw)
        clauses.append((_KINDS.get(kind.lower(), kind), key.strip('`"'), " ".join(match["op"].upper().split()), value))
    return clauses


def _compare(actual, op: str, expected) -> bool:
    if op in ("IS", "IS NOT"):
        return (actual is None) == (op == "IS")
    if actual is None:
        return False
    if op in ("LIKE", "ILIKE"):
        flags = re.IGNORECASE if op == "ILIKE" else 0
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(expected))
        return re.fullmatch(pattern, str(actual), flags | re.DOTALL) is not None
    if isinstance(expected, float):
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            return False
    else:
        actual = str(actual)
    return {"=": actual == expected, "!=": actual != expected, ">": actual > expected, ">=": actual >= expected,
            "<": actual < expected, "<=": actual <= expected}[op]


_RUN_ATTRIBUTES = {"run_id": "run_id", "run_name": "run_name", "status": "status", "start_time": "start_time",
                   "end_time": "end_time", "user_id": "user_id", "artifact_uri": "artifact_uri",
                   "lifecycle_stage": "lifecycle_stage", "created": "start_time", "Created": "start_time"}


def _run_field(run: dict, kind: str, key: str):
    if kind == "attribute":
        if key not in _RUN_ATTRIBUTES:
            raise _invalid(f"Invalid attribute key '{key}' specified. Valid keys are {sorted(_RUN_ATTRIBUTES)}")
        return run["info"].get(_RUN_ATTRIBUTES[key])
    items = run["data"][{"metric": "metrics", "param": "params", "tag": "tags"}[kind]]
    value = next((item["value"] for item in items if item["key"] == key), None)
    return float(value) if kind == "metric" and value is not None else value


def _model_field(model: dict, kind: str, key: str):
    if kind == "attribute":
        return model["info"].get({"creation_time": "creation_timestamp_ms",
                                  "last_updated_timestamp": "last_updated_timestamp_ms"}.get(key, key))
    items = model["data"]["params"] if kind == "param" else model["info"]["tags"] if kind == "tag" else \
        model["data"]["metrics"]
    return next((item["value"] for item in reversed(items) if item["key"] == key), None)


def _page(items: list, body: dict, field: str, max_default: int) -> dict:
    """Offset paging with an opaque token."""
    try:
        size = int(body.get("max_results") or max_default)
        token = body.get("page_token")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except (TypeError, ValueError):
        raise _invalid("Invalid page token or max_results") from None
    if not 0 < size <= MAX_RESULTS:
        raise _invalid(f"Invalid value {size} for parameter 'max_results' supplied. It must be at most "
                       f"{MAX_RESULTS}, and at least 1.")
    result = {field: items[offset:offset + size]}
    if offset + size < len(items):
        result["next_page_token"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return result


def _order(items: list, order_by: list[str], field) -> list:
    for clause in reversed(order_by or []):
        words = clause.split()
        descending = len(words) > 1 and words[-1].upper() == "DESC"
        ident = words[0] if words else ""
        kind, _, key = ident.partition(".")
        if kind.lower() not in _KINDS:
            kind, key = "attribute", ident
        kind, key = _KINDS.get(kind.lower(), kind), key.strip('`"')
        present = [i for i in items if field(i, kind, key) is not None]
        missing = [i for i in items if field(i, kind, key) is None]
        present.sort(key=lambda i: field(i, kind, key), reverse=descending)
        items = present + missing
    return items


# -- the WSGI application


class _Api:
    """One handler per MLflow REST method; each takes (workspace, request dict) and returns the response dict."""

    def __init__(self, store: TrackingStore):
        self.store = store
        s = self
        self.routes = {
            ("POST", "experiments/create"): s.create_experiment,
            ("GET", "experiments/get"): s.get_experiment,
            ("GET", "experiments/get-by-name"): s.get_experiment_by_name,
            ("POST", "experiments/search"): s.search_experiments,
            ("POST", "experiments/update"): s.update_experiment,
            ("POST", "experiments/delete"): s.delete_experiment,
            ("POST", "experiments/restore"): s.restore_experiment,
            ("POST", "experiments/set-experiment-tag"): s.set_experiment_tag,
            ("POST", "experiments/delete-experiment-tag"): s.delete_experiment_tag,
            ("POST", "runs/create"): s.create_run,
            ("GET", "runs/get"): s.get_run,
            ("POST", "runs/update"): s.update_run,
            ("POST", "runs/delete"): s.delete_run,
            ("POST", "runs/restore"): s.restore_run,
            ("POST", "runs/search"): s.search_runs,
            ("POST", "runs/log-metric"): s.log_metric,
            ("POST", "runs/log-parameter"): s.log_param,
            ("POST", "runs/set-tag"): s.set_tag,
            ("POST", "runs/delete-tag"): s.delete_tag,
            ("POST", "runs/log-batch"): s.log_batch,
            ("POST", "runs/log-model"): s.log_model,
            ("POST", "runs/log-inputs"): s.log_inputs,
            ("POST", "runs/outputs"): s.log_outputs,
            ("GET", "metrics/get-history"): s.get_metric_history,
            ("POST", "logged-models"): s.create_logged_model,
            ("POST", "logged-models/search"): s.search_logged_models,
        }
        # /logged-models/{model_id}[/tags[/{key}]|/params]
        self.model_routes = {
            ("GET", ""): s.get_logged_model, ("PATCH", ""): s.finalize_logged_model,
            ("DELETE", ""): s.delete_logged_model, ("PATCH", "tags"): s.set_logged_model_tags,
            ("DELETE", "tags"): s.delete_logged_model_tag, ("POST", "params"): s.log_logged_model_params,
        }

    # experiments
    def create_experiment(self, ws, body):
        experiment_id = self.store.create_experiment(ws, _required(body, "name"), body.get("artifact_location"),
                                                     [dict(zip(("key", "value"), _tag(t))) for t in
                                                      body.get("tags") or []])
        return {"experiment_id": str(experiment_id)}

    def get_experiment(self, ws, body):
        return {"experiment": self.store.experiment(ws, experiment_id=_required(body, "experiment_id"))}

    def get_experiment_by_name(self, ws, body):
        return {"experiment": self.store.experiment(ws, name=_required(body, "experiment_name"))}

    def search_experiments(self, ws, body):
        items = self.store.experiments(ws, body.get("view_type"))
        clauses = _parse_filter(body.get("filter"))
        field = (lambda e, kind, key: e.get(key) if kind == "attribute" else
                 next((t["value"] for t in e["tags"] if t["key"] == key), None))
        items = [e for e in items if all(_compare(field(e, *c[:2]), *c[2:]) for c in clauses)]
        return _page(_order(items, _list(body.get("order_by")), field), body, "experiments", 1000)

    def update_experiment(self, ws, body):
        self.store.update_experiment(ws, _required(body, "experiment_id"), name=_required(body, "new_name"))
        return {}

    def delete_experiment(self, ws, body):
        self.store.update_experiment(ws, _required(body, "experiment_id"), stage="deleted")
        return {}

    def restore_experiment(self, ws, body):
        self.store.update_experiment(ws, _required(body, "experiment_id"), stage="active")
        return {}

    def set_experiment_tag(self, ws, body):
        key, value = _tag(body)
        self.store.update_experiment(ws, _required(body, "experiment_id"), tags=[{"key": key, "value": value}])
        return {}

    def delete_experiment_tag(self, ws, body):
        self.store.update_experiment(ws, _required(body, "experiment_id"), delete_tag=_required(body, "key"))
        return {}

    # runs
    def create_run(self, ws, body):
        tags = [dict(zip(("key", "value"), _tag(t))) for t in body.get("tags") or []]
        run_id = self.store.create_run(ws, body.get("experiment_id") or "0", run_name=body.get("run_name"),
                                       user_id=body.get("user_id"), start_time=_int(body.get("start_time")),
                                       tags=tags)
        return {"run": self.store.run(ws, run_id)}

    def get_run(self, ws, body):
        return {"run": self.store.run(ws, _run_id(body))}

    def update_run(self, ws, body):
        info = self.store.update_run(ws, _run_id(body), status=body.get("status"),
                                     end_time=_int(body.get("end_time")), run_name=body.get("run_name"))
        return {"run_info": info}

    def delete_run(self, ws, body):
        self.store.update_run(ws, _run_id(body), stage="deleted")
        return {}

    def restore_run(self, ws, body):
        self.store.update_run(ws, _run_id(body), stage="active")
        return {}

    def search_runs(self, ws, body):
        runs = self.store.runs(ws, _list(body.get("experiment_ids")), body.get("run_view_type"))
        clauses = _parse_filter(body.get("filter"))
        runs = [r for r in runs if all(_compare(_run_field(r, *c[:2]), *c[2:]) for c in clauses)]
        return _page(_order(runs, _list(body.get("order_by")), _run_field), body, "runs", 1000)

    def log_metric(self, ws, body):
        self.store.log_batch(ws, _run_id(body), metrics_=[body])
        return {}

    def log_param(self, ws, body):
        self.store.log_batch(ws, _run_id(body), params=[body])
        return {}

    def set_tag(self, ws, body):
        self.store.log_batch(ws, _run_id(body), tags=[body])
        return {}

    def delete_tag(self, ws, body):
        self.store.delete_tag(ws, _run_id(body), _required(body, "key"))
        return {}

    def log_batch(self, ws, body):
        parts = {name: body.get(name) or [] for name in MAX_BATCH}
        for name, items in parts.items():
            if len(items) > MAX_BATCH[name]:
                raise _invalid(f"A batch logging request can contain at most {MAX_BATCH[name]} {name}. "
                               f"Got {len(items)} {name}.")
        if sum(map(len, parts.values())) > MAX_BATCH_TOTAL:
            raise _invalid(f"A batch logging request can contain at most {MAX_BATCH_TOTAL} metrics, params "
                           "and tags in total.")
        self.store.log_batch(ws, _required(body, "run_id"), parts["metrics"], parts["params"], parts["tags"])
        return {}

    def log_model(self, ws, body):
        """MLflow 2's model record: kept as the run's `mlflow.log-model.history` tag, as MLflow's stores do."""
        run_id = _required(body, "run_id")
        try:
            model = json.loads(_required(body, "model_json"))
        except ValueError:
            raise _invalid("model_json is not valid JSON") from None
        run = self.store.run(ws, run_id)
        old = next((t["value"] for t in run["data"]["tags"] if t["key"] == "mlflow.log-model.history"), "[]")
        self.store.log_batch(ws, run_id, tags=[{"key": "mlflow.log-model.history",
                                                "value": json.dumps(json.loads(old) + [model])}])
        return {}

    def log_inputs(self, ws, body):
        self.store.log_inputs(ws, _required(body, "run_id"), body.get("datasets") or [], body.get("models") or [])
        return {}

    def log_outputs(self, ws, body):
        self.store.log_outputs(ws, _required(body, "run_id"), body.get("models") or [])
        return {}

    def get_metric_history(self, ws, body):
        key = _required(body, "metric_key")
        points = [{"key": k, "value": _number(v), "timestamp": t, "step": s}
                  for k, s, v, t in self.store.history(ws, _run_id(body), key)]
        return _page(points, body, "metrics", MAX_RESULTS)

    # logged models
    def create_logged_model(self, ws, body):
        model_id = self.store.create_logged_model(
            ws, _required(body, "experiment_id"), name=body.get("name"), model_type=body.get("model_type"),
            source_run_id=body.get("source_run_id"), params=body.get("params") or [], tags=body.get("tags") or [])
        return {"model": self.store.logged_model(ws, model_id)}

    def search_logged_models(self, ws, body):
        models = self.store.logged_models(ws, _list(body.get("experiment_ids")))
        clauses = _parse_filter(body.get("filter"))
        models = [m for m in models if all(_compare(_model_field(m, *c[:2]), *c[2:]) for c in clauses)]
        order = [f"{o['field_name']} {'ASC' if o.get('ascending', True) else 'DESC'}"
                 for o in body.get("order_by") or []]
        return _page(_order(models, order, _model_field), body, "models", 1000)

    def get_logged_model(self, ws, body, model_id):
        return {"model": self.store.logged_model(ws, model_id, str(body.get("allow_deleted")).lower() == "true")}

    def finalize_logged_model(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, status=_required(body, "status"))
        return {"model": self.store.logged_model(ws, model_id)}

    def delete_logged_model(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, delete=True)
        return {}

    def set_logged_model_tags(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, tags=body.get("tags") or [])
        return {"model": self.store.logged_model(ws, model_id)}

    def delete_logged_model_tag(self, ws, body, model_id, key):
        self.store.update_logged_model(ws, model_id, delete_tag=key)
        return {}

    def log_logged_model_params(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, params=body.get("params") or [])
        return {}

    def dispatch(self, method: str, path: str, ws: str, body: dict) -> dict:
        handler = self.routes.get((method, path))
        if handler:
            return handler(ws, body)
        parts = path.split("/")
        if parts[0] == "logged-models" and len(parts) >= 2 and parts[1] != "search":
            sub = parts[2] if len(parts) > 2 else ""
            handler = self.model_routes.get((method, sub))
            if handler and len(parts) == (4 if (method, sub) == ("DELETE", "tags") else 3 if sub else 2):
                return handler(ws, body, unquote(parts[1]), *map(unquote, parts[3:]))
        raise MlflowError("ENDPOINT_NOT_FOUND", f"No MLflow endpoint {method} /api/2.0/mlflow/{path} here")


def _list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _int(value) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise _invalid(f"Expected an integer, got {value!r}") from None


def _run_id(body: dict) -> str:
    run_id = body.get("run_id") or body.get("run_uuid")
    if not run_id:
        raise _invalid("Missing value for required parameter 'run_id'.")
    return run_id


_PREFIX = re.compile(r"^(?:.*/workspaces/(?P<ws>[^/]+))?/api/2\.0/mlflow/(?P<path>.*)$")
_GET_LISTS = ("experiment_ids",)


def make_tracking_app(home, *, workspace: str = DEFAULT_WORKSPACE):
    """The MLflow tracking REST API over ``<home>/tracking.db`` as a WSGI callable."""
    api = _Api(_store(home))

    def app(environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        match = _PREFIX.match(environ.get("PATH_INFO", ""))
        try:
            if not match:
                raise MlflowError("ENDPOINT_NOT_FOUND", f"No MLflow endpoint {environ.get('PATH_INFO')} here")
            ws = unquote(match["ws"]) if match["ws"] else workspace
            body = _read_body(environ, method)
            status, result = 200, api.dispatch(method, match["path"].rstrip("/"), ws, body)
        except MlflowError as exc:
            status, result = _STATUS.get(exc.code, 400), {"error_code": exc.code, "message": exc.message}
        except sqlite3.OperationalError as exc:  # busy past the timeout: a 503 makes MLflow's client retry
            status, result = 503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": str(exc)}
        data = json.dumps(result).encode()
        start_response(f"{status} {_REASONS.get(status, 'Service Unavailable')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return app


def _read_body(environ, method: str) -> dict:
    if method in ("GET", "DELETE") and environ.get("QUERY_STRING"):
        query = parse_qs(environ["QUERY_STRING"], keep_blank_values=True)
        return {k: v if k in _GET_LISTS else v[-1] for k, v in query.items()}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise MlflowError("MALFORMED_REQUEST", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object")
    return body


# -- entry points for the runner, the sweep controller and the SDK

_stores: dict[Path, TrackingStore] = {}
_stores_lock = threading.Lock()


def _store(home) -> TrackingStore:
    """One store per home per process (connections are per thread), so that repeated calls are cheap."""
    key = Path(home).expanduser().resolve()
    with _stores_lock:
        if key not in _stores:
            _stores[key] = TrackingStore(key)
        return _stores[key]


def ensure_run(home, workspace: str, run_id: str, experiment_name: str | None, artifact_dir) -> dict:
    """The job's run (created RUNNING unless it exists) -> its REST ``info``."""
    store = _store(home)
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
        _store(home).update_run(workspace, run_id, status=status, end_time=_now_ms(), require_active=False)
    except MlflowError:
        return False
    return True


def metrics(home, workspace: str, run_id: str, key: str | None = None) -> dict[str, list[tuple[int, float, int]]]:
    """Every logged point of every metric of a run (or of metric `key` only): key -> [(step, value, timestamp_ms)]
    in logging order. A run that does not exist (yet) has no metrics."""
    result: dict[str, list[tuple[int, float, int]]] = {}
    try:
        points = _store(home).history(workspace, run_id, key)
    except MlflowError:
        return result
    for key, step, value, timestamp in points:
        result.setdefault(key, []).append((step, math.nan if value is None else value, timestamp))
    return result


@contextmanager
def serve_for_job(home, workspace: str, job_name: str, experiment_name: str | None, artifact_dir,
                  *, stop_timeout: float = 5.0):
    """Serve the tracking API on loopback, behind a fresh token, while the job runs; yields the job's MLFLOW_*
    environment variables."""
    from waitress import create_server, wasyncore

    from azureml_v2.local.server import require_token

    # waitress warns "Task queue depth is N" whenever its threads are busy: normal for a chatty training script
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    Path(artifact_dir).mkdir(parents=True, exist_ok=True)
    info = ensure_run(home, workspace, job_name, experiment_name, artifact_dir)
    token = secrets.token_urlsafe(32)
    sockets: dict = {}
    server = create_server(require_token(make_tracking_app(home, workspace=workspace), token), map=sockets,
                           host="127.0.0.1", port=0, threads=4, ident="azureml_v2-mlflow", channel_timeout=30)
    thread = threading.Thread(target=server.run, name=f"mlflow-{job_name}", daemon=True)
    thread.start()
    try:
        yield {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{server.effective_port}",
               "MLFLOW_TRACKING_TOKEN": token,
               "MLFLOW_RUN_ID": job_name,
               "MLFLOW_EXPERIMENT_NAME": experiment_name or DEFAULT_EXPERIMENT,
               "MLFLOW_EXPERIMENT_ID": info["experiment_id"]}
    finally:
        # sockets are closed by the loop's own thread (closing them from here races its select()); an empty map
        # ends the loop
        server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets))
        thread.join(stop_timeout)
        server.task_dispatcher.shutdown(timeout=stop_timeout)
