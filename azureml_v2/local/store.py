"""The local workspace's SQLite store: schema migrations, transactions and the records behind the REST service.

One database file, ``<home>/workspace.db``, in WAL mode holds every workspace of a home. Each thread has its own
connection; every write is one ``BEGIN IMMEDIATE`` transaction, so writers in several threads or processes (the
in-process client, ``azml server``, job runners) serialise on the busy timeout and a killed process leaves the last
committed state. Documents (``doc``) are the REST ``properties`` objects as clients sent them, normalised, without
the read-only fields the service adds when it renders them. Records are plain dicts.

Job status is a column of its own so that a runner can move it with :meth:`Store.set_job_status` (compare and set);
that also completes the cancel/delete operations waiting on the job, in the same transaction.
A runner claims a job with its pid (:meth:`Store.claim_job`) and writes a heartbeat every second;
:meth:`Store.fail_if_runner_died` fails a job whose runner is gone or silent, and :meth:`Store.take_over` gives it
to a new runner instead (a sweep controller resumes its sweep, and reruns its trials left without a runner).
"""
from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..entities._refs import ARTIFACT_STORE
from ..entities.job import TERMINAL_STATUSES

DB_NAME = "workspace.db"
DEFAULT_DATASTORE = "workspaceblobstore"
BUILTIN_DATASTORES = (DEFAULT_DATASTORE, ARTIFACT_STORE)
# A child job (pipeline step, sweep trial) names its parent in this user property; `parentJobName` lists by it.
PARENT_JOB_PROPERTY = "azureml.parentJobName"
# Statuses a job can leave at once, without a runner to stop first.
IDLE_STATUSES = TERMINAL_STATUSES | {"NotStarted"}
# A runner writes its heartbeat every second; one silent for longer than this has stopped.
HEARTBEAT_TIMEOUT = 3.0
_OPERATION_RETENTION = timedelta(days=1)
MAX_FILTER_TERMS = 100  # terms of one list filter, well under SQLite's expression and variable limits

# Schema migrations: PRAGMA user_version is the number of steps applied. Append steps; never edit an applied one.
MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: workspaces, asset containers and versions, datastores, jobs, long-running operations
        """CREATE TABLE workspaces (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            workspace_id TEXT NOT NULL,
            doc TEXT NOT NULL,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL)""",
        """CREATE TABLE containers (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            doc TEXT NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0,
            next_version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, kind, name))""",
        """CREATE TABLE versions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            container INTEGER NOT NULL REFERENCES containers(seq) ON DELETE CASCADE,
            version TEXT NOT NULL,
            doc TEXT NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (container, version))""",
        "CREATE INDEX versions_latest ON versions (container, archived, seq)",
        """CREATE TABLE datastores (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            doc TEXT NOT NULL,
            secrets TEXT,
            is_default INTEGER NOT NULL DEFAULT 0,
            builtin INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, name))""",
        """CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            doc TEXT NOT NULL,
            job_type TEXT NOT NULL,
            parent TEXT,
            archived INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            status_at TEXT NOT NULL,
            started_at TEXT,
            ended_at TEXT,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, name))""",
        "CREATE INDEX jobs_parent ON jobs (workspace, parent, seq)",
        "CREATE INDEX jobs_status ON jobs (status)",
        """CREATE TABLE operations (
            id TEXT PRIMARY KEY,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            action TEXT NOT NULL CHECK (action IN ('cancel', 'delete')),
            job TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT)""",
        "CREATE INDEX operations_job ON operations (workspace, job, status)",
    ),
    (  # 2: the runner of a job (pid, heartbeat in unix seconds, its command's process groups) and how the job ended
        "ALTER TABLE jobs ADD COLUMN runner_pid INTEGER",
        "ALTER TABLE jobs ADD COLUMN heartbeat_at REAL",
        "ALTER TABLE jobs ADD COLUMN process_groups TEXT",
        "ALTER TABLE jobs ADD COLUMN exit_code INTEGER",
        "ALTER TABLE jobs ADD COLUMN error TEXT",
    ),
    (  # 3: read-only properties a job's runner reports (a sweep's best trial, a trial's early termination)
        "ALTER TABLE jobs ADD COLUMN results TEXT",
    ),
]


class StoreError(Exception):
    """The store cannot be used (not a database, written by a newer azureml_v2)."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


class BadRequest(Exception):
    pass


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def diff(old, new, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON values differ (recursing into objects)."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths = []
        for key in sorted(old.keys() | new.keys()):
            paths += diff(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return paths
    return [] if old == new else [prefix or "(body)"]


def _replace(conn, table: str, where: str, args: tuple, old_json: str, doc: dict, user: str, stamp: str, *,
             what: str, frozen) -> None:
    """PUT over an existing row: a change to a `frozen(top-level field)` is a Conflict naming the fields."""
    old = json.loads(old_json)
    fields = [f for f in diff(old, doc) if frozen(f.split(".")[0])]
    if fields:
        shown = ", ".join(fields[:8]) + (f" and {len(fields) - 8} more" if len(fields) > 8 else "")
        raise Conflict(f"{what} already exists with a different {shown}; it cannot be changed: "
                       "use a new name or version")
    if old != doc:
        conn.execute(f"UPDATE {table} SET doc = ?, archived = ?, modified_at = ?, modified_by = ? WHERE {where}",
                     (_dumps(doc), bool(doc.get("isArchived")), stamp, user, *args))


def _dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


class Page:
    """Keyset paging over `seq`: stable while rows are added or removed between pages."""

    def __init__(self, size: int, token: str | None = None, ascending: bool = False, limit: int | None = None):
        self.size = size if limit is None else min(size, limit)
        self.ascending = ascending
        self.limit = limit
        self.after = self.decode(token) if token else None

    @staticmethod
    def encode(seq: int) -> str:
        return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")

    @staticmethod
    def decode(token: str) -> int:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            kind, _, value = text.partition(":")
            if kind == "seq" and value.isascii() and value.isdigit() and int(value) < 2 ** 63:
                return int(value)
        except ValueError:
            pass
        raise BadRequest(f"invalid $skipToken {token!r}: pass the nextLink of the previous page unchanged")

    def query(self, conn, sql: str, where: list[str], args: list):
        """Run `sql WHERE ...` for one page -> (rows, token of the next page or None)."""
        where = list(where)
        args = list(args)
        if self.after is not None:
            where.append("t.seq > ?" if self.ascending else "t.seq < ?")
            args.append(self.after)
        order = "ASC" if self.ascending else "DESC"
        text = f"{sql} WHERE {' AND '.join(where) or '1'} ORDER BY t.seq {order} LIMIT ?"
        rows = conn.execute(text, [*args, self.size + 1]).fetchall()
        more = len(rows) > self.size and (self.limit is None or self.limit > self.size)
        rows = rows[:self.size]
        return rows, (self.encode(rows[-1]["seq"]) if more else None)


def kv_filter(column: str, member: str, spec: str) -> tuple[list[str], list]:
    """`a,b=c` -> SQL requiring key a in the JSON object `member` of `column`, and key b equal to c."""
    where, args = [], []
    items = [part.strip() for part in spec.split(",") if part.strip()]
    if len(items) > MAX_FILTER_TERMS:
        raise BadRequest(f"too many filter terms ({len(items)}); the limit is {MAX_FILTER_TERMS}")
    for item in items:
        key, eq, value = item.partition("=")
        test = "key = ?" + (" AND value = ?" if eq else "")
        where.append(f"EXISTS (SELECT 1 FROM json_each({column}, '$.{member}') WHERE {test})")
        args += [key.strip(), value.strip()] if eq else [key.strip()]
    return where, args


def _view(view: str) -> list[str]:
    return {"ActiveOnly": ["t.archived = 0"], "ArchivedOnly": ["t.archived = 1"], "All": []}[view]


class SQLiteFile:
    """One SQLite file of a home folder: WAL, a connection per thread, one transaction per write, and
    `PRAGMA user_version` migrations (a list of steps, each a list of SQL statements)."""

    def __init__(self, path: Path, migrations: list, *, busy_timeout: float = 30.0):
        self.path = path
        if not self.path.exists():  # the local databases hold secrets: owner only
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._migrate(self.connection(), migrations)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`write` for changes)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            try:
                self._use_wal(conn)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StoreError(f"{self.path} is not a local workspace database: {exc}") from None
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a process crash never loses a commit
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def _use_wal(self, conn) -> None:
        """Switch to WAL. Processes opening a new file at once (a sweep starting its trials' runners) race for
        the switch, and the loser is refused without the busy handler: it tries again until the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def write(self):
        """One write transaction; taken at once so that concurrent writers wait instead of failing."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _migrate(self, conn, migrations: list) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations):
            return
        with self.write():
            current = conn.execute("PRAGMA user_version").fetchone()[0]  # again: another process may have won
            if current > len(migrations):
                raise StoreError(f"{self.path} has schema version {current}, newer than this azureml_v2 "
                                 f"understands ({len(migrations)}): upgrade azureml_v2")
            for number, steps in enumerate(migrations[current:], start=current + 1):
                for sql in steps:
                    conn.execute(sql)
                conn.execute(f"PRAGMA user_version = {number}")


class Store(SQLiteFile):
    """The database of one home folder (created on first use, migrated on open)."""

    def __init__(self, home: str | os.PathLike, *, busy_timeout: float = 30.0):
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._workspaces: set[str] = set()
        super().__init__(self.home / DB_NAME, MIGRATIONS, busy_timeout=busy_timeout)

    @property
    def schema_version(self) -> int:
        return self.connection().execute("PRAGMA user_version").fetchone()[0]

    # -- workspaces

    def datastore_folder(self, name: str) -> Path:
        """The folder of a built-in file datastore (shared by the workspaces of this home)."""
        return self.home / "datastores" / name

    def job_folder(self, ws: str, name: str) -> Path:
        """Where a job runs and keeps its logs: wd/, user_logs/, system_logs/, outputs/."""
        return self.home / "jobs" / ws / name

    def ensure_workspace(self, name: str, user: str) -> None:
        """Create workspace `name` with its built-in datastores unless it exists."""
        key = name.lower()
        if key in self._workspaces:
            return
        for store in BUILTIN_DATASTORES:
            self.datastore_folder(store).mkdir(parents=True, exist_ok=True)
        conn = self.connection()
        if conn.execute("SELECT 1 FROM workspaces WHERE name = ?", (name,)).fetchone() is None:
            with self.write():
                stamp = now()
                created = conn.execute(
                    "INSERT OR IGNORE INTO workspaces VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, str(uuid.uuid4()), _dumps({"friendlyName": name}), stamp, user, stamp, user)).rowcount
                if created:
                    for store in BUILTIN_DATASTORES:
                        conn.execute(
                            "INSERT INTO datastores (workspace, name, doc, is_default, builtin, created_at, "
                            "created_by, modified_at, modified_by) VALUES (?, ?, '{}', ?, 1, ?, ?, ?, ?)",
                            (name, store, store == DEFAULT_DATASTORE, stamp, user, stamp, user))
        self._workspaces.add(key)

    def get_workspace(self, name: str) -> dict:
        row = self.connection().execute("SELECT * FROM workspaces WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"workspace {name!r} not found")
        return _record(row)

    def list_workspaces(self) -> list[dict]:
        return [_record(r) for r in self.connection().execute("SELECT * FROM workspaces ORDER BY name")]

    # -- asset containers and versions

    _CONTAINER = ("SELECT t.*, (SELECT v.version FROM versions v WHERE v.container = t.seq AND v.archived = 0 "
                  "ORDER BY v.seq DESC LIMIT 1) AS latest_version FROM containers t")

    def get_container(self, ws: str, kind: str, name: str) -> dict:
        row = self.connection().execute(
            f"{self._CONTAINER} WHERE t.workspace = ? AND t.kind = ? AND t.name = ?", (ws, kind, name)).fetchone()
        if row is None:
            raise NotFound(f"{kind} container {name!r} not found in workspace {ws!r}")
        return _record(row)

    def list_containers(self, ws: str, kind: str, page: Page, view: str = "ActiveOnly"):
        rows, token = page.query(self.connection(), self._CONTAINER,
                                 ["t.workspace = ?", "t.kind = ?", *_view(view)], [ws, kind])
        return [_record(r) for r in rows], token

    def put_container(self, ws: str, kind: str, name: str, doc: dict, user: str,
                      immutable: tuple[str, ...] = ()) -> tuple[dict, bool]:
        """Create or replace a container -> (record, created); fields in `immutable` cannot change."""
        with self.write() as conn:
            row = conn.execute("SELECT doc FROM containers WHERE workspace = ? AND kind = ? AND name = ?",
                               (ws, kind, name)).fetchone()
            stamp = now()
            if row is None:
                conn.execute(
                    "INSERT INTO containers (workspace, kind, name, doc, archived, created_at, created_by, "
                    "modified_at, modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ws, kind, name, _dumps(doc), bool(doc.get("isArchived")), stamp, user, stamp, user))
            else:
                _replace(conn, "containers", "workspace = ? AND kind = ? AND name = ?", (ws, kind, name), row["doc"],
                         doc, user, stamp, what=f"{kind} container {name!r}", frozen=lambda key: key in immutable)
        return self.get_container(ws, kind, name), row is None

    def delete_container(self, ws: str, kind: str, name: str) -> bool:
        """Delete a container and all its versions -> whether it existed."""
        with self.write() as conn:
            return conn.execute("DELETE FROM containers WHERE workspace = ? AND kind = ? AND name = ?",
                                (ws, kind, name)).rowcount > 0

    _VERSION = "SELECT t.*, c.name AS name FROM versions t JOIN containers c ON c.seq = t.container"

    def get_version(self, ws: str, kind: str, name: str, version: str) -> dict:
        row = self.connection().execute(
            f"{self._VERSION} WHERE c.workspace = ? AND c.kind = ? AND c.name = ? AND t.version = ?",
            (ws, kind, name, version)).fetchone()
        if row is None:
            raise NotFound(f"{kind} {name!r} version {version!r} not found in workspace {ws!r}")
        return _record(row)

    def list_versions(self, ws: str, kind: str, name: str | None, page: Page, view: str = "ActiveOnly",
                      where: list[str] = (), args: list = ()):
        """Versions of `name` (of every name when None), newest first unless `page.ascending`."""
        clauses, values = ["c.workspace = ?", "c.kind = ?", *_view(view), *where], [ws, kind, *args]
        if name is not None:
            clauses.append("c.name = ?")
            values.append(name)
        rows, token = page.query(self.connection(), self._VERSION, clauses, values)
        return [_record(r) for r in rows], token

    def put_version(self, ws: str, kind: str, name: str, version: str, doc: dict, user: str, *,
                    mutable: frozenset[str], container_doc: dict) -> tuple[dict, bool]:
        """Create a version, or update the `mutable` fields of an existing one -> (record, created).

        Any other difference raises Conflict naming the fields: an explicit version is immutable. The container
        is created with `container_doc` if missing; its next integer version moves past an integer `version`.
        """
        with self.write() as conn:
            stamp = now()
            container = conn.execute("SELECT seq FROM containers WHERE workspace = ? AND kind = ? AND name = ?",
                                     (ws, kind, name)).fetchone()
            if container is None:
                seq = conn.execute(
                    "INSERT INTO containers (workspace, kind, name, doc, created_at, created_by, modified_at, "
                    "modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (ws, kind, name, _dumps(container_doc), stamp, user, stamp, user)).lastrowid
            else:
                seq = container["seq"]
            row = conn.execute("SELECT doc FROM versions WHERE container = ? AND version = ?",
                               (seq, version)).fetchone()
            if row is not None:
                _replace(conn, "versions", "container = ? AND version = ?", (seq, version), row["doc"], doc, user,
                         stamp, what=f"{kind} {name!r} version {version!r}", frozen=lambda key: key not in mutable)
            else:
                conn.execute(
                    "INSERT INTO versions (container, version, doc, archived, created_at, created_by, "
                    "modified_at, modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, version, _dumps(doc), bool(doc.get("isArchived")), stamp, user, stamp, user))
                integer = version.isascii() and version.isdigit() and len(version) <= 18  # fits SQLite's int64
                following = int(version) + 1 if integer else 0
                conn.execute("UPDATE containers SET next_version = max(next_version, ?), modified_at = ?, "
                             "modified_by = ? WHERE seq = ?", (following, stamp, user, seq))
        return self.get_version(ws, kind, name, version), row is None

    def delete_version(self, ws: str, kind: str, name: str, version: str) -> bool:
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM versions WHERE version = ? AND container = "
                "(SELECT seq FROM containers WHERE workspace = ? AND kind = ? AND name = ?)",
                (version, ws, kind, name)).rowcount > 0

    # -- datastores

    def get_datastore(self, ws: str, name: str) -> dict:
        row = self.connection().execute("SELECT * FROM datastores t WHERE workspace = ? AND name = ?",
                                        (ws, name)).fetchone()
        if row is None:
            raise NotFound(f"datastore {name!r} not found in workspace {ws!r}")
        return _record(row)

    def list_datastores(self, ws: str, page: Page, where: list[str] = (), args: list = ()):
        rows, token = page.query(self.connection(), "SELECT * FROM datastores t",
                                 ["t.workspace = ?", *where], [ws, *args])
        return [_record(r) for r in rows], token

    def put_datastore(self, ws: str, name: str, doc: dict, secrets: dict | None, user: str) -> tuple[dict, bool]:
        """Create or replace a user datastore -> (record, created); secrets are kept apart from `doc`."""
        with self.write() as conn:
            row = conn.execute("SELECT builtin FROM datastores WHERE workspace = ? AND name = ?",
                               (ws, name)).fetchone()
            if row is not None and row["builtin"]:
                raise Conflict(f"datastore {name!r} is built into the local workspace and cannot be changed")
            stamp = now()
            if row is None:
                conn.execute(
                    "INSERT INTO datastores (workspace, name, doc, secrets, created_at, created_by, modified_at, "
                    "modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (ws, name, _dumps(doc), secrets and _dumps(secrets), stamp, user, stamp, user))
            else:
                conn.execute("UPDATE datastores SET doc = ?, secrets = coalesce(?, secrets), modified_at = ?, "
                             "modified_by = ? WHERE workspace = ? AND name = ?",
                             (_dumps(doc), secrets and _dumps(secrets), stamp, user, ws, name))
        return self.get_datastore(ws, name), row is None

    def delete_datastore(self, ws: str, name: str) -> bool:
        with self.write() as conn:
            row = conn.execute("SELECT builtin FROM datastores WHERE workspace = ? AND name = ?",
                               (ws, name)).fetchone()
            if row is not None and row["builtin"]:
                raise Conflict(f"datastore {name!r} is built into the local workspace and cannot be deleted")
            return conn.execute("DELETE FROM datastores WHERE workspace = ? AND name = ?",
                                (ws, name)).rowcount > 0

    # -- jobs

    def get_job(self, ws: str, name: str) -> dict:
        row = self.connection().execute("SELECT * FROM jobs t WHERE workspace = ? AND name = ?",
                                        (ws, name)).fetchone()
        if row is None:
            raise NotFound(f"job {name!r} not found in workspace {ws!r}")
        return _record(row)

    def list_jobs(self, ws: str, page: Page, view: str = "ActiveOnly", parent: str | None = None,
                  where: list[str] = (), args: list = ()):
        """Top-level jobs, or the children of `parent`, newest first."""
        clauses = ["t.workspace = ?", "t.parent IS NULL" if parent is None else "t.parent = ?", *_view(view)]
        values = [ws] + ([] if parent is None else [parent])
        rows, token = page.query(self.connection(), "SELECT * FROM jobs t", clauses + list(where),
                                 values + list(args))
        return [_record(r) for r in rows], token

    def put_job(self, ws: str, name: str, doc: dict, user: str, *, mutable: frozenset[str]) -> tuple[dict, bool]:
        """Record a new job (status NotStarted) or update the `mutable` fields of an existing one."""
        with self.write() as conn:
            row = conn.execute("SELECT doc FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            stamp = now()
            if row is None:
                parent = (doc.get("properties") or {}).get(PARENT_JOB_PROPERTY)
                conn.execute(
                    "INSERT INTO jobs (workspace, name, doc, job_type, parent, archived, status, status_at, "
                    "created_at, created_by, modified_at, modified_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'NotStarted', ?, ?, ?, ?, ?)",
                    (ws, name, _dumps(doc), doc["jobType"], parent, bool(doc.get("isArchived")), stamp, stamp,
                     user, stamp, user))
            else:
                _replace(conn, "jobs", "workspace = ? AND name = ?", (ws, name), row["doc"], doc, user, stamp,
                         what=f"job {name!r}", frozen=lambda key: key not in mutable)
        return self.get_job(ws, name), row is None

    def set_job_status(self, ws: str, name: str, status: str, *, expect: str | tuple[str, ...] | None = None,
                       exit_code: int | None = None, error: str | None = None) -> bool:
        """Move a job to `status` if its status is in `expect` (any when None) -> whether it moved.

        Sets started_at on Running and ended_at on a terminal status (with `exit_code` and `error` when given),
        and completes the cancel/delete operations waiting on the job (a waiting delete then removes it).
        """
        expected = (expect,) if isinstance(expect, str) else expect
        with self.write() as conn:
            row = conn.execute("SELECT status FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            if row is None or (expected is not None and row["status"] not in expected):
                return False
            self._move(conn, ws, name, status, exit_code, error)
        return True

    def _move(self, conn, ws: str, name: str, status: str, exit_code: int | None = None,
              error: str | None = None) -> None:
        stamp = now()
        conn.execute(
            "UPDATE jobs SET status = ?, status_at = ?, "
            "started_at = coalesce(started_at, CASE WHEN ? IN ('Running', 'Finalizing') THEN ? END), "
            "ended_at = CASE WHEN ? IN ('Completed', 'Failed', 'Canceled') THEN ? ELSE ended_at END, "
            "exit_code = coalesce(?, exit_code), error = coalesce(?, error) "
            "WHERE workspace = ? AND name = ?",
            (status, stamp, status, stamp, status, stamp, exit_code, error, ws, name))
        if status in TERMINAL_STATUSES:
            self._settle(conn, ws, name, stamp)

    def set_runner(self, ws: str, name: str, pid: int) -> None:
        """Record the process that will run a job (its heartbeat starts now)."""
        with self.write() as conn:
            conn.execute("UPDATE jobs SET runner_pid = ?, heartbeat_at = ? WHERE workspace = ? AND name = ?",
                         (pid, time.time(), ws, name))

    def claim_job(self, ws: str, name: str, pid: int) -> bool:
        """A runner takes a NotStarted job: Queued, with its pid and a first heartbeat -> whether it got it."""
        with self.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'Queued', status_at = ?, runner_pid = ?, heartbeat_at = ? "
                "WHERE workspace = ? AND name = ? AND status = 'NotStarted'",
                (now(), pid, time.time(), ws, name)).rowcount > 0

    def set_process_groups(self, ws: str, name: str, groups: list[tuple[int, int]]) -> None:
        """Record the (process group, leader start time) pairs a runner started, to stop them if it dies."""
        with self.write() as conn:
            conn.execute("UPDATE jobs SET process_groups = ? WHERE workspace = ? AND name = ?",
                         (json.dumps(groups), ws, name))

    def heartbeat(self, ws: str, name: str, pid: int) -> str | None:
        """The runner `pid` is alive -> the job's status (None when the job is gone or has another runner)."""
        with self.write() as conn:
            conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE workspace = ? AND name = ? AND runner_pid = ?",
                         (time.time(), ws, name, pid))
            row = conn.execute("SELECT status, runner_pid FROM jobs WHERE workspace = ? AND name = ?",
                               (ws, name)).fetchone()
        return row["status"] if row is not None and row["runner_pid"] == pid else None

    def fail_if_runner_died(self, record: dict) -> dict:
        """Fail a job whose runner stopped without ending it (one transaction) -> the current record.

        The runner is dead when its process is gone or its heartbeat is older than HEARTBEAT_TIMEOUT (a zombie or a
        reused pid). The command's process groups it left behind are killed.
        """
        def fail(conn, row):
            self._move(conn, row["workspace"], row["name"], "Failed",
                       error=f"the runner stopped: process {row['runner_pid']} ended without finishing the job "
                             "(see system_logs/runner.log)")

        if not self._orphaned(record, runner_died, fail):
            return record
        try:
            return self.get_job(record["workspace"], record["name"])
        except NotFound:  # a delete was waiting for the job to end
            return {**record, "status": "Failed"}

    def take_over(self, record: dict, pid: int, *, rerun: bool = False) -> bool:
        """Give a job whose runner died (or, with `rerun`, never started) to the runner `pid` will start -> whether
        this caller won it (one transaction: of concurrent callers, one wins).

        `rerun` starts the job again from NotStarted (a sweep trial); otherwise it keeps its status (a sweep
        controller resumes where the dead one stopped). The dead runner's process groups are killed.
        """
        def orphan(row) -> bool:
            if rerun and row["status"] == "NotStarted" and row["runner_pid"] is None:
                return True
            return runner_died(row)

        def take(conn, row):
            conn.execute(
                "UPDATE jobs SET runner_pid = ?, heartbeat_at = ?, process_groups = NULL, "
                "status = CASE WHEN ? THEN 'NotStarted' ELSE status END, status_at = ?, "
                "started_at = CASE WHEN ? THEN NULL ELSE started_at END WHERE workspace = ? AND name = ?",
                (pid, time.time(), rerun, now(), rerun, row["workspace"], row["name"]))

        return self._orphaned(record, orphan, take)

    def _orphaned(self, record: dict, orphan, change) -> bool:
        """`change(conn, row)` a job that `orphan(row)` judges left by its runner, checked again inside the write
        transaction, then kill the process groups that runner left -> whether it was changed."""
        if not orphan(record):
            return False
        with self.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE workspace = ? AND name = ?",
                               (record["workspace"], record["name"])).fetchone()
            if row is None or not orphan(row):
                return False
            change(conn, row)
        _kill_groups(row)
        return True

    def claim_controller(self, ws: str, name: str, pid: int, launcher: int) -> str | None:
        """A sweep controller takes its job: a NotStarted one (Queued), or one its `launcher` took over for it
        (:meth:`take_over`) -> the job's status, None when it is not this controller's."""
        with self.write() as conn:
            claimed = conn.execute(
                "UPDATE jobs SET runner_pid = ?, heartbeat_at = ?, "
                "status = CASE WHEN status = 'NotStarted' THEN 'Queued' ELSE status END "
                "WHERE workspace = ? AND name = ? AND status NOT IN ('Completed', 'Failed', 'Canceled') "
                "AND (status = 'NotStarted' OR runner_pid IN (?, ?))",
                (pid, time.time(), ws, name, pid, launcher)).rowcount
            row = conn.execute("SELECT status FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
        return row["status"] if claimed else None

    def set_results(self, ws: str, name: str, results: dict[str, str]) -> None:
        """Merge read-only result properties into a job (the service shows them in its `properties`)."""
        with self.write() as conn:
            conn.execute("UPDATE jobs SET results = json_patch(coalesce(results, '{}'), ?) "
                         "WHERE workspace = ? AND name = ?", (_dumps(results), ws, name))

    def request_cancel(self, ws: str, name: str) -> dict:
        """Cancel a job: at once when it has not started, else ask its runner (CancelRequested).

        Returns the operation, InProgress until the job ends. Raises NotFound for a missing job.
        """
        with self.write() as conn:
            status = self._job_status(conn, ws, name)
            stamp = now()
            if status == "NotStarted":
                conn.execute("UPDATE jobs SET status = 'Canceled', status_at = ?, ended_at = ? "
                             "WHERE workspace = ? AND name = ?", (stamp, stamp, ws, name))
                self._settle(conn, ws, name, stamp)
            elif status not in TERMINAL_STATUSES:
                conn.execute("UPDATE jobs SET status = 'CancelRequested', status_at = ? "
                             "WHERE workspace = ? AND name = ?", (stamp, ws, name))
            return self._operation(conn, ws, "cancel", name, stamp, done=status in IDLE_STATUSES)

    def request_delete(self, ws: str, name: str) -> dict:
        """Delete a job: at once when it is not running, else cancel it first and delete it when it ends.

        Returns the operation, InProgress until the job is gone. Raises NotFound for a missing job.
        """
        with self.write() as conn:
            status = self._job_status(conn, ws, name)
            stamp = now()
            if status in IDLE_STATUSES:
                conn.execute("DELETE FROM jobs WHERE workspace = ? AND name = ?", (ws, name))
                self._settle(conn, ws, name, stamp)
            elif status != "CancelRequested":
                conn.execute("UPDATE jobs SET status = 'CancelRequested', status_at = ? "
                             "WHERE workspace = ? AND name = ?", (stamp, ws, name))
            return self._operation(conn, ws, "delete", name, stamp, done=status in IDLE_STATUSES)

    def get_operation(self, ws: str, op_id: str) -> dict:
        row = self.connection().execute("SELECT * FROM operations WHERE workspace = ? AND id = ?",
                                        (ws, op_id)).fetchone()
        if row is None:
            raise NotFound(f"operation {op_id!r} not found in workspace {ws!r}")
        return dict(row)

    @staticmethod
    def _job_status(conn, ws: str, name: str) -> str:
        row = conn.execute("SELECT status FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
        if row is None:
            raise NotFound(f"job {name!r} not found in workspace {ws!r}")
        return row["status"]

    @staticmethod
    def _operation(conn, ws: str, action: str, job: str, stamp: str, done: bool) -> dict:
        op = {"id": uuid.uuid4().hex, "workspace": ws, "action": action, "job": job,
              "status": "Succeeded" if done else "InProgress", "started_at": stamp, "ended_at": stamp if done else None}
        conn.execute("INSERT INTO operations VALUES (:id, :workspace, :action, :job, :status, :started_at, "
                     ":ended_at)", op)
        horizon = (datetime.now(timezone.utc) - _OPERATION_RETENTION).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.execute("DELETE FROM operations WHERE ended_at < ?", (horizon,))
        return op

    @staticmethod
    def _settle(conn, ws: str, job: str, stamp: str) -> None:
        """The job ended (or is gone): finish its operations; a waiting delete removes it."""
        if conn.execute("SELECT 1 FROM operations WHERE workspace = ? AND job = ? AND status = 'InProgress' "
                        "AND action = 'delete'", (ws, job)).fetchone():
            conn.execute("DELETE FROM jobs WHERE workspace = ? AND name = ?", (ws, job))
        conn.execute("UPDATE operations SET status = 'Succeeded', ended_at = ? "
                     "WHERE workspace = ? AND job = ? AND status = 'InProgress'", (stamp, ws, job))


def runner_died(row) -> bool:
    """Whether the runner of a job stopped without ending it: its process is gone, or its heartbeat is older than
    HEARTBEAT_TIMEOUT (a zombie or a reused pid)."""
    if row["status"] in TERMINAL_STATUSES or row["runner_pid"] is None:
        return False
    if not process_alive(row["runner_pid"]):
        return True
    # a runner that has not claimed its job yet (a busy machine) writes no heartbeat
    return row["status"] != "NotStarted" and time.time() - (row["heartbeat_at"] or 0) > HEARTBEAT_TIMEOUT


def _kill_groups(row) -> None:
    """Kill the process groups a dead runner left behind (checked against their start time: not a reused pid)."""
    for group, started in json.loads(row["process_groups"] or "[]"):
        if process_start(group) == started:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot; Linux), None when it is gone or unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine and is not a zombie."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _record(row: sqlite3.Row) -> dict:
    record = dict(row)
    record["doc"] = json.loads(record["doc"])
    return record
