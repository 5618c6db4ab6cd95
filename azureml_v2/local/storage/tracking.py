"""The tracking database, ``<home>/tracking.db``: MLflow experiments, runs, metrics, params, tags, run
inputs/outputs and logged models of every workspace of a home. Errors are :class:`MlflowError` with MLflow's error
codes; limits are MLflow's own. This module does not import mlflow."""
from __future__ import annotations

import getpass
import json
import itertools
import math
import sqlite3
import time
import uuid
from pathlib import Path

from ..._contract import DEFAULT_EXPERIMENT
from .sqlite import SQLiteFile, dumps

DB_NAME = "tracking.db"
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
MIGRATIONS: list[tuple] = [
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
    (  # 2: metric tiles (see _tiles), filled from the points already logged
        """CREATE TABLE metric_tiles (
            run INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
            key TEXT NOT NULL, level INTEGER NOT NULL, tile INTEGER NOT NULL,
            first_step INTEGER NOT NULL, first_value REAL NOT NULL, low_step INTEGER NOT NULL, low_value REAL NOT NULL,
            high_step INTEGER NOT NULL, high_value REAL NOT NULL, last_step INTEGER NOT NULL, last_value REAL NOT NULL,
            PRIMARY KEY (run, key, level, tile)) WITHOUT ROWID""",
        lambda conn: _tile_logged_points(conn),
    ),
]


class MlflowError(Exception):
    """An MLflow REST error: `code` is an MLflow ErrorCode name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message)


def now_ms() -> int:
    return int(time.time() * 1000)



# a value a line can draw: not NaN (stored NULL) nor infinite (9e999 reads as infinity)
_FINITE = "value IS NOT NULL AND value > -9e999 AND value < 9e999"


def double(value: float | None):
    """A double as protobuf JSON writes it: NaN and infinities as strings."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def kv(pairs) -> list[dict]:
    return [{"key": k, "value": v} for k, v in pairs]



# -- the database


class TrackingStore(SQLiteFile):
    """``<home>/tracking.db``: one connection per thread, one ``BEGIN IMMEDIATE`` transaction per write."""

    def __init__(self, home, *, busy_timeout: float = 30.0):
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        super().__init__(self.home / DB_NAME, MIGRATIONS, busy_timeout=busy_timeout)

    # -- experiments

    def _default_artifacts(self, ws: str, experiment_id: int) -> str:
        return (self.home / "mlflow-artifacts" / ws / str(experiment_id)).as_uri()

    def create_experiment(self, ws: str, name: str, artifact_location: str | None = None,
                          tags: list[dict] = ()) -> int:
        if not name or not isinstance(name, str):
            raise invalid("Invalid experiment name: the name must be a non-empty string")
        stamp = now_ms()
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
                "lifecycle_stage": stage, "creation_time": created, "last_update_time": updated, "tags": kv(tags)}

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
                             (name, stage, now_ms(), number))
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
                (ws, run_id, number, run_name, user_id or getpass.getuser(), start_time or now_ms(), artifact_uri))
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
        metrics_ = [{"key": k, "value": double(v), "timestamp": o[1], "step": o[0]}
                    for k, (o, v) in sorted(latest.items())]
        params = conn.execute("SELECT key, value FROM params WHERE run = ? ORDER BY key", (seq,)).fetchall()
        tags = conn.execute("SELECT key, value FROM tags WHERE run = ? ORDER BY key", (seq,)).fetchall()
        inputs = {"dataset_inputs": [], "model_inputs": []}
        for kind, doc in conn.execute("SELECT kind, doc FROM run_inputs WHERE run = ? ORDER BY rowid", (seq,)):
            inputs[f"{kind}_inputs"].append(json.loads(doc))
        outputs = [{"model_id": m, "step": s} for m, s in
                   conn.execute("SELECT model_id, step FROM run_outputs WHERE run = ? ORDER BY rowid", (seq,))]
        return {"info": self._run_info(row),
                "data": {"metrics": metrics_, "params": kv(params), "tags": kv(tags)},
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
            raise invalid(f"Invalid run status {status!r}: expected one of {', '.join(RUN_STATUSES)}")
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
        tags = [tag_pair(t) for t in tags]
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
                for key in {p[0] for p in points}:
                    _store_tiles(conn, seq, key, _tiles((p[1], p[2]) for p in points if p[0] == key))

    def delete_tag(self, ws: str, run_id: str, key: str) -> None:
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            if not conn.execute("DELETE FROM tags WHERE run = ? AND key = ?", (seq, key)).rowcount:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                                  f"No tag with name: {key} in run with id {run_id}")

    def log_inputs(self, ws: str, run_id: str, datasets: list[dict] = (), models: list[dict] = ()) -> None:
        docs = [("dataset", dumps(d)) for d in datasets] + [("model", dumps(m)) for m in models]
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            conn.executemany("INSERT OR IGNORE INTO run_inputs VALUES (?, ?, ?)", [(seq, k, d) for k, d in docs])

    def log_outputs(self, ws: str, run_id: str, models: list[dict]) -> None:
        with self.write() as conn:
            seq = self._run_row(conn, ws, run_id, active=True)
            conn.executemany("INSERT OR IGNORE INTO run_outputs VALUES (?, ?, ?)",
                             [(seq, required(m, "model_id"), int(m.get("step") or 0)) for m in models])

    def history(self, ws: str, run_id: str, key: str | None = None) -> list[tuple]:
        """(key, step, value, timestamp) of a run's metric points in logging order (one key, or all)."""
        conn = self.connection()
        seq = self._run_row(conn, ws, run_id)
        if key is None:
            return conn.execute("SELECT key, step, value, timestamp FROM metrics WHERE run = ? ORDER BY rowid",
                                (seq,)).fetchall()
        return conn.execute("SELECT key, step, value, timestamp FROM metrics WHERE run = ? AND key = ? "
                            "ORDER BY rowid", (seq, key)).fetchall()

    def summary(self, ws: str, run_id: str) -> dict[str, tuple[list[tuple[int, float]], float]]:
        """Per metric key of a run: (points (step, value) to draw it, in step order, its latest value as MLflow's run
        shows it). A metric of at most RAW_POINTS points gives its finite points; a longer one the points its tiles
        keep at the finest level that covers its steps in at most MAX_TILES tiles (each a logged point, the extremes
        among them), so that the cost of a chart does not grow with the metric's length."""
        conn = self.connection()
        seq = self._run_row(conn, ws, run_id)
        keys = [k for (k,) in conn.execute(  # a loose index scan: one seek per key, however many points
            "WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM metrics WHERE run = ?1 UNION ALL "
            "SELECT (SELECT MIN(key) FROM metrics WHERE run = ?1 AND key > k.key) FROM k WHERE k.key IS NOT NULL) "
            "SELECT key FROM k WHERE key IS NOT NULL", (seq,))]
        found = {}
        for key in keys:
            latest = conn.execute("SELECT value FROM metrics WHERE run = ? AND key = ? "
                                  "ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1", (seq, key)).fetchone()[0]
            found[key] = (_chart_points(conn, seq, key), math.nan if latest is None else latest)
        return found

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
        stamp = now_ms()
        with self.write() as conn:
            seq = conn.execute(
                "INSERT INTO logged_models (model_id, workspace, experiment_id, name, artifact_uri, status, "
                "model_type, source_run_id, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, ws, number, name or model_id, f"{base.rstrip('/')}/models/{model_id}",
                 "LOGGED_MODEL_PENDING", model_type, source_run_id, stamp, stamp)).lastrowid
            conn.executemany("INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)",
                             [(seq, *_param(p)) for p in params])
            conn.executemany("INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                             [(seq, *tag_pair(t)) for t in tags])
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
            raise invalid(f"Invalid logged model status {status!r}")
        with self.write() as conn:
            seq = self._model_seq(conn, ws, model_id)
            conn.execute("UPDATE logged_models SET status = coalesce(?, status), last_update_time = ?, "
                         "lifecycle_stage = ? WHERE seq = ?",
                         (status, now_ms(), "deleted" if delete else "active", seq))
            conn.executemany("INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)",
                             [(seq, *_param(p)) for p in params])
            conn.executemany("INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)",
                             [(seq, *tag_pair(t)) for t in tags])
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
                "tags": kv(conn.execute("SELECT key, value FROM logged_model_tags WHERE model = ? ORDER BY key",
                                         (seq,)))}
        points = conn.execute(
            "SELECT m.key, m.value, m.timestamp, m.step, m.dataset_name, m.dataset_digest, r.run_id FROM metrics m "
            "JOIN runs r ON r.seq = m.run WHERE m.model_id = ? ORDER BY m.rowid", (model_id,)).fetchall()
        metrics_ = [{"key": k, "value": double(v), "timestamp": t, "step": s, "dataset_name": dn,
                     "dataset_digest": dd, "model_id": model_id, "run_id": r} for k, v, t, s, dn, dd, r in points]
        data = {"params": kv(conn.execute("SELECT key, value FROM logged_model_params WHERE model = ? ORDER BY key",
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


def required(body: dict, name: str):
    value = body.get(name)
    if value is None or value == "":
        raise invalid(f"Missing value for required parameter '{name}'.")
    return value


def _key(body: dict, what: str) -> str:
    key = required(body, "key")
    if not isinstance(key, str) or len(key) > MAX_KEY or ".." in key.split("/") or key.startswith("/"):
        raise invalid(f"Invalid {what} name: '{key}'. Names may be up to {MAX_KEY} characters long and may not be "
                       "an absolute path or contain '..' segments.")
    return key


def _param(body: dict) -> tuple[str, str]:
    key, value = _key(body, "param"), str(body.get("value", ""))
    if len(value) > MAX_PARAM_VALUE:
        raise invalid(f"Param value '{value[:100]}...' had length {len(value)}, which exceeded length limit of "
                       f"{MAX_PARAM_VALUE}")
    return key, value


def tag_pair(body: dict) -> tuple[str, str]:
    key, value = _key(body, "tag"), str(body.get("value", ""))
    if len(value) > MAX_TAG_VALUE:
        raise invalid(f"Tag value '{value[:100]}...' had length {len(value)}, which exceeded length limit of "
                       f"{MAX_TAG_VALUE}")
    return key, value


# -- metric tiles
# Tile t of level L of a run's metric holds the first, lowest, highest and last of its finite points whose step is
# in [t * 4**L, (t + 1) * 4**L). They are kept as points are logged, so a chart reads a few hundred tiles instead of
# millions of points.
TILE_LEVELS = range(2, 21)  # tiles of 16 steps up to tiles of 4**20
MAX_TILES = 1200  # a chart reads at most this many tiles (4 points each)
RAW_POINTS = 20_000  # a metric of at most this many points is read whole


def _chart_points(conn, seq: int, key: str) -> list[tuple[int, float]]:
    where = f"run = ? AND key = ? AND {_FINITE}"
    count = conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE {where} LIMIT ?)",
                         (seq, key, RAW_POINTS + 1)).fetchone()[0]
    if count <= RAW_POINTS:
        return [tuple(p) for p in conn.execute(f"SELECT step, value FROM metrics WHERE {where} ORDER BY step",
                                               (seq, key))]
    first, last = (conn.execute(f"SELECT step FROM metrics WHERE {where} ORDER BY step {way} LIMIT 1",
                                (seq, key)).fetchone()[0] for way in ("ASC", "DESC"))
    level = next((n for n in TILE_LEVELS if (last >> 2 * n) - (first >> 2 * n) < MAX_TILES), TILE_LEVELS[-1])
    points: list[tuple[int, float]] = []
    for row in conn.execute("SELECT first_step, first_value, low_step, low_value, high_step, high_value, last_step, "
                            "last_value FROM metric_tiles WHERE run = ? AND key = ? AND level = ? ORDER BY tile",
                            (seq, key, level)):
        points += sorted({(row[0], row[1]), (row[2], row[3]), (row[4], row[5]), (row[6], row[7])})
    return points


def _tiles(points) -> dict[tuple[int, int], list]:
    """(level, tile) -> [first, lowest, highest, last] (each (step, value)) of the finite ones of `points`."""
    finest = TILE_LEVELS[0]
    tiles: dict[tuple[int, int], list] = {}
    for step, value in points:
        if value is not None and math.isfinite(value):
            _merge(tiles, (finest, step >> 2 * finest), [(step, value)] * 4)
    below = dict(tiles)
    for level in TILE_LEVELS[1:]:  # each tile is four of the level below
        above: dict[tuple[int, int], list] = {}
        for (_, tile), extremes in below.items():
            _merge(above, (level, tile >> 2), extremes)
        tiles.update(above)
        below = above
    return tiles


def _merge(tiles: dict, where: tuple[int, int], extremes: list) -> None:
    kept = tiles.get(where)
    if kept is None:
        tiles[where] = list(extremes)
        return
    first, low, high, last = extremes
    if first[0] < kept[0][0]:
        kept[0] = first
    if low[1] < kept[1][1]:
        kept[1] = low
    if high[1] > kept[2][1]:
        kept[2] = high
    if last[0] >= kept[3][0]:  # the same step logged again: the later point
        kept[3] = last


def _store_tiles(conn, seq: int, key: str, tiles: dict) -> None:
    """Merge `tiles` into the stored ones (SET reads the row as it was)."""
    conn.executemany(
        "INSERT INTO metric_tiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run, key, level, tile) DO UPDATE SET "
        "first_step = iif(excluded.first_step < first_step, excluded.first_step, first_step), "
        "first_value = iif(excluded.first_step < first_step, excluded.first_value, first_value), "
        "low_step = iif(excluded.low_value < low_value, excluded.low_step, low_step), "
        "low_value = iif(excluded.low_value < low_value, excluded.low_value, low_value), "
        "high_step = iif(excluded.high_value > high_value, excluded.high_step, high_step), "
        "high_value = iif(excluded.high_value > high_value, excluded.high_value, high_value), "
        "last_step = iif(excluded.last_step >= last_step, excluded.last_step, last_step), "
        "last_value = iif(excluded.last_step >= last_step, excluded.last_value, last_value)",
        [(seq, key, level, tile, *first, *low, *high, *last)
         for (level, tile), (first, low, high, last) in tiles.items()])


def _tile_logged_points(conn, chunk: int = 100_000) -> None:
    """Tiles for the points logged before tiles were kept."""
    rows = conn.execute(f"SELECT run, key, step, value FROM metrics WHERE {_FINITE} ORDER BY run, key, step")
    for (seq, key), points in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        while batch := [(r[2], r[3]) for r in itertools.islice(points, chunk)]:
            _store_tiles(conn, seq, key, _tiles(batch))


def _metric_row(body: dict) -> tuple:
    key = _key(body, "metric")
    try:
        value = float(body["value"])
        step = int(body.get("step") or 0)
        timestamp = int(body.get("timestamp") or now_ms())
    except (KeyError, TypeError, ValueError):
        raise invalid(f"Got invalid value, step or timestamp for metric '{key}': {body}") from None
    return (key, step, None if math.isnan(value) else value, timestamp,
            body.get("model_id") or None, body.get("dataset_name") or None, body.get("dataset_digest") or None)


def _set_tags(conn, seq: int, tags: list[dict]) -> None:
    conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", [(seq, t["key"], t["value"]) for t in tags])


def _check_params(conn, seq: int, run_id: str, params: list[tuple[str, str]]) -> None:
    """Params are immutable: a key logged again must carry the same value (MLflow's rule and message)."""
    new: dict[str, str] = {}
    for key, value in params:
        if new.setdefault(key, value) != value:
            raise invalid(f"Duplicate parameter keys have been submitted: key='{key}' was given the values "
                           f"'{new[key]}' and '{value}'")
    marks = ",".join("?" * len(new))
    for key, old in conn.execute(f"SELECT key, value FROM params WHERE run = ? AND key IN ({marks})",
                                 (seq, *new)):
        if old != new[key]:
            raise invalid(f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                           f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new[key]}'.")


