"""The workspace database, ``<home>/workspace.db``: workspaces, asset containers and versions, datastores, jobs and
long-running operations of every workspace of a home.

Each thread has its own connection; every write is one ``BEGIN IMMEDIATE`` transaction, so writers in several
threads or processes (the in-process client, ``azml server``, job processes) serialise on the busy timeout and a
killed process leaves the last committed state. Documents (``doc``) are the REST ``properties`` objects as clients
sent them, normalised, without the read-only fields the API adds when it renders them. Records are plain dicts.

Job status is a column of its own so that a job process can move it with :meth:`Store.set_job_status` (compare and
set); that also completes the cancel/delete operations waiting on the job, in the same transaction.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..._contract import ARTIFACT_STORE, DEFAULT_DATASTORE, LOCAL_WORKSPACE, REUSED_PROPERTY, TERMINAL_STATUSES
from . import paths
from .computes import ComputeRows
from .schedules import SCHEDULE_TABLES
from .sqlite import (REGISTRY_PREFIX, VIEWS, Conflict, Exists, SQLiteFile, StoreError, Table, diff, dumps, insert,
                     now, record, scope_name, stamps)

DB_NAME = "workspace.db"
BUILTIN_DATASTORES = (DEFAULT_DATASTORE, ARTIFACT_STORE)
# Statuses a job can leave at once, without a process to stop first.
IDLE_STATUSES = TERMINAL_STATUSES | {"NotStarted"}
_OPERATION_RETENTION = timedelta(days=1)
MAX_ERROR_TEXT = 16_384  # characters of a job's error kept in its record; the rest is in its logs

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
    (  # 4: when the job's process started (clock ticks since boot, NULL when unknown): tells it from a reused pid
        "ALTER TABLE jobs ADD COLUMN runner_started INTEGER",
    ),
    (  # 5: online and batch endpoints and their deployments; long-running operations on them too (`job` then holds
       # the resource's path, `onlineEndpoints/<name>[/deployments/<name>]`, which no job name can be)
        """CREATE TABLE endpoints (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('online', 'batch')),
            name TEXT NOT NULL COLLATE NOCASE,
            doc TEXT NOT NULL,
            state TEXT NOT NULL,
            keys TEXT,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, kind, name))""",
        """CREATE TABLE deployments (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            endpoint INTEGER NOT NULL REFERENCES endpoints(seq) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            doc TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (endpoint, name))""",
        """CREATE TABLE operations_5 (
            id TEXT PRIMARY KEY,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            action TEXT NOT NULL CHECK (action IN ('cancel', 'delete', 'create', 'update', 'regenerate')),
            job TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            error TEXT)""",
        "INSERT INTO operations_5 (id, workspace, action, job, status, started_at, ended_at) "
        "SELECT id, workspace, action, job, status, started_at, ended_at FROM operations",
        "DROP TABLE operations",
        "ALTER TABLE operations_5 RENAME TO operations",
        "CREATE INDEX operations_job ON operations (workspace, job, status)",
    ),
    SCHEDULE_TABLES,  # 6: schedules and their firings (storage/schedules.py)
    (  # 7: workspace connections, their secrets apart from the document every read shows; workspace resources
        """CREATE TABLE connections (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            doc TEXT NOT NULL,
            secrets TEXT,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, name))""",
        # a workspace's doc becomes its resource (location, tags, identity ... around `properties`), as a registry's
        "UPDATE workspaces SET doc = json_object('properties', json(doc)) WHERE name NOT LIKE 'registries/%'",
    ),
    (  # 8: computes (clusters, compute instances, attached computes): `doc` is the ARM resource as sent, `state` a
       # compute instance's power state, `last_operation` its last start, stop or restart
        """CREATE TABLE computes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            doc TEXT NOT NULL,
            state TEXT,
            last_operation TEXT,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
            UNIQUE (workspace, name))""",
    ),
]


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
                     (dumps(doc), bool(doc.get("isArchived")), stamp, user, *args))


# The tables, by their keys (a get, list or delete of a new resource type is a line here)
WORKSPACES = Table("workspaces", ("t.name",), lambda name: scope_name(name))
CONTAINERS = Table("containers", ("t.workspace", "t.kind", "t.name"),
                   lambda ws, kind, name: f"{kind} container {name!r}",
                   columns="t.*, (SELECT v.version FROM versions v WHERE v.container = t.seq AND v.archived = 0 "
                           "ORDER BY v.seq DESC LIMIT 1) AS latest_version")
VERSIONS = Table("versions", ("c.workspace", "c.kind", "c.name", "t.version"),
                 lambda ws, kind, name, version: f"{kind} {name!r} version {version!r}",
                 source="versions t JOIN containers c ON c.seq = t.container", columns="t.*, c.name AS name")
DATASTORES = Table("datastores", ("t.workspace", "t.name"), lambda ws, name: f"datastore {name!r}")
CONNECTIONS = Table("connections", ("t.workspace", "t.name"), lambda ws, name: f"connection {name!r}")
JOBS = Table("jobs", ("t.workspace", "t.name"), lambda ws, name: f"job {name!r}")
OPERATIONS = Table("operations", ("t.workspace", "t.id"), lambda ws, op_id: f"operation {op_id!r}")
ENDPOINTS = Table("endpoints", ("t.workspace", "t.kind", "t.name"), lambda ws, kind, name: f"{kind} endpoint {name!r}")
DEPLOYMENTS = Table("deployments", ("e.workspace", "e.kind", "e.name", "t.name"),
                    lambda ws, kind, endpoint, name: f"deployment {name!r} of {kind} endpoint {endpoint!r}",
                    source="deployments t JOIN endpoints e ON e.seq = t.endpoint",
                    columns="t.*, e.name AS endpoint_name, e.kind AS kind, e.workspace AS workspace")
def registry_key(name: str) -> str:
    """The store key of registry `name` (where a workspace's name goes)."""
    return REGISTRY_PREFIX + name


# Provisioning states that end a create, update or delete (ARM's terminal states)
PROVISIONED = ("Succeeded", "Failed", "Canceled")


class Store(ComputeRows, SQLiteFile):
    """The database of one home folder (created on first use, migrated on open)."""

    def __init__(self, home, *, busy_timeout: float = 30.0):
        self.home = Path(home).expanduser().resolve()
        try:
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        except (FileExistsError, NotADirectoryError):  # it, or a folder above it, is a file
            raise StoreError(f"{self.home}: the local workspace's home must be a folder, and this path is a file or "
                             "lies under one") from None
        mode = paths.writable_by_others(self.home)
        if mode:  # as ssh refuses such a folder: another user could plant code or an environment the jobs run
            raise StoreError(f"{self.home}: the local workspace's home is writable by other users (mode {mode}): "
                             f"anyone could plant code its jobs run; make it private with `chmod 700 {self.home}`")
        self._workspaces: set[str] = set()
        super().__init__(self.home / DB_NAME, MIGRATIONS, busy_timeout=busy_timeout)

    def datastore_folder(self, name: str) -> Path:
        """The folder of a built-in file datastore (shared by the workspaces of this home)."""
        return paths.datastore_folder(self.home, name)

    def job_folder(self, ws: str, name: str) -> Path:
        """Where a job runs and keeps its logs: wd/, user_logs/, system_logs/, outputs/."""
        return paths.job_folder(self.home, ws, name)

    # -- workspaces and registries
    # A registry's assets are kept as a workspace's are, in a row of `workspaces` keyed `registries/<name>`
    # (registry_key), a name no workspace can take ('/'); it has no datastores or jobs.

    def ensure_workspace(self, name: str, user: str) -> None:
        """Create workspace `name` with its built-in datastores unless it exists."""
        key = name.lower()
        if key in self._workspaces:
            return
        if self.connection().execute("SELECT 1 FROM workspaces WHERE name = ?", (name,)).fetchone() is None:
            self.put_workspace(name, {"properties": {"friendlyName": name}}, user, create_only=True)
        self._workspaces.add(key)

    def open_workspace(self, name: str, user: str) -> bool:
        """Whether workspace `name` exists. The home's default workspace (`local`) is made on first use; any other
        only by its PUT, as Azure ML answers 404 for a workspace that does not exist."""
        if name.lower() == LOCAL_WORKSPACE:
            self.ensure_workspace(name, user)
        elif name.lower() not in self._workspaces:
            if self.connection().execute("SELECT 1 FROM workspaces WHERE name = ?", (name,)).fetchone() is None:
                return False
            self._workspaces.add(name.lower())
        return True

    def put_workspace(self, name: str, doc: dict, user: str, *, create_only: bool = False) -> tuple[dict, bool]:
        """Create workspace (or registry, by its key) `name` with `doc`, or replace its doc -> (record, created);
        a workspace gets its built-in datastores. With `create_only`, an existing one is left as it is."""
        registry = name.startswith(REGISTRY_PREFIX)
        if not registry:
            for store in BUILTIN_DATASTORES:
                self.datastore_folder(store).mkdir(parents=True, exist_ok=True)
        with self.write() as conn:
            stamp = now()
            created = conn.execute(
                "INSERT OR IGNORE INTO workspaces VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, str(uuid.uuid4()), dumps(doc), stamp, user, stamp, user)).rowcount
            if created and not registry:
                for store in BUILTIN_DATASTORES:
                    insert(conn, "datastores", workspace=name, name=store, doc="{}",
                           is_default=store == DEFAULT_DATASTORE, builtin=1, **stamps(user, stamp))
            elif not created and not create_only:
                conn.execute("UPDATE workspaces SET doc = ?, modified_at = ?, modified_by = ? WHERE name = ?",
                             (dumps(doc), stamp, user, name))
        return self.get_workspace(name), bool(created)

    def get_workspace(self, name: str) -> dict:
        return WORKSPACES.get(self.connection(), name)

    def list_workspaces(self, registries: bool = False) -> list[dict]:
        """The workspaces of this home (with `registries`, its registries instead), by name."""
        test = "" if registries else "NOT "
        return [record(r) for r in self.connection().execute(
            f"{WORKSPACES.select} WHERE t.name {test}LIKE ? ORDER BY t.name", (REGISTRY_PREFIX + "%",))]

    def delete_workspace(self, name: str) -> bool:
        """Delete a workspace (or registry, by its key) with everything recorded in it -> whether it existed."""
        self._workspaces.discard(name.lower())
        with self.write() as conn:
            return WORKSPACES.delete(conn, name)

    # -- asset containers and versions

    def get_container(self, ws: str, kind: str, name: str) -> dict:
        return CONTAINERS.get(self.connection(), ws, kind, name)

    def list_containers(self, ws: str, kind: str, page, view: str = "ActiveOnly"):
        return CONTAINERS.list(self.connection(), page, (ws, kind), VIEWS[view])

    def put_container(self, ws: str, kind: str, name: str, doc: dict, user: str,
                      immutable: tuple[str, ...] = ()) -> tuple[dict, bool]:
        """Create or replace a container -> (record, created); fields in `immutable` cannot change."""
        with self.write() as conn:
            row = conn.execute("SELECT doc FROM containers WHERE workspace = ? AND kind = ? AND name = ?",
                               (ws, kind, name)).fetchone()
            stamp = now()
            if row is None:
                insert(conn, "containers", workspace=ws, kind=kind, name=name, doc=dumps(doc),
                       archived=bool(doc.get("isArchived")), **stamps(user, stamp))
            else:
                _replace(conn, "containers", "workspace = ? AND kind = ? AND name = ?", (ws, kind, name), row["doc"],
                         doc, user, stamp, what=f"{kind} container {name!r}", frozen=lambda key: key in immutable)
            return CONTAINERS.get(conn, ws, kind, name), row is None  # as written: a delete may follow at once

    def delete_container(self, ws: str, kind: str, name: str) -> bool:
        """Delete a container and all its versions -> whether it existed."""
        with self.write() as conn:
            return CONTAINERS.delete(conn, ws, kind, name)

    def get_version(self, ws: str, kind: str, name: str, version: str) -> dict:
        return VERSIONS.get(self.connection(), ws, kind, name, version)

    def list_versions(self, ws: str, kind: str, name: str | None, page, view: str = "ActiveOnly",
                      where: list[str] = (), args: list = ()):
        """Versions of `name` (of every name when None), newest first unless `page.ascending`."""
        keys = (ws, kind) if name is None else (ws, kind, name)
        return VERSIONS.list(self.connection(), page, keys, [*VIEWS[view], *where], args)

    def put_version(self, ws: str, kind: str, name: str, version: str, doc: dict, user: str, *,
                    mutable: frozenset[str], container_doc: dict, create_only: bool = False) -> tuple[dict, bool]:
        """Create a version, or update the `mutable` fields of an existing one -> (record, created).

        Any other difference raises Conflict naming the fields: an explicit version is immutable. The container
        is created with `container_doc` if missing; its next integer version moves past an integer `version`.
        With `create_only`, an existing version raises Exists: the check and the insert are one transaction.
        """
        with self.write() as conn:
            stamp = now()
            container = conn.execute("SELECT seq FROM containers WHERE workspace = ? AND kind = ? AND name = ?",
                                     (ws, kind, name)).fetchone()
            if container is None:
                seq = insert(conn, "containers", workspace=ws, kind=kind, name=name, doc=dumps(container_doc),
                             **stamps(user, stamp))
            else:
                seq = container["seq"]
            row = conn.execute("SELECT doc FROM versions WHERE container = ? AND version = ?",
                               (seq, version)).fetchone()
            if row is not None and create_only:
                raise Exists(f"{kind} {name!r} version {version!r} already exists")
            if row is not None:
                _replace(conn, "versions", "container = ? AND version = ?", (seq, version), row["doc"], doc, user,
                         stamp, what=f"{kind} {name!r} version {version!r}", frozen=lambda key: key not in mutable)
            else:
                insert(conn, "versions", container=seq, version=version, doc=dumps(doc),
                       archived=bool(doc.get("isArchived")), **stamps(user, stamp))
                integer = version.isascii() and version.isdigit() and len(version) <= 18  # fits SQLite's int64
                following = int(version) + 1 if integer else 0
                conn.execute("UPDATE containers SET next_version = max(next_version, ?), modified_at = ?, "
                             "modified_by = ? WHERE seq = ?", (following, stamp, user, seq))
            return VERSIONS.get(conn, ws, kind, name, version), row is None

    def delete_version(self, ws: str, kind: str, name: str, version: str) -> bool:
        with self.write() as conn:
            return VERSIONS.delete(conn, ws, kind, name, version)

    # -- datastores

    def get_datastore(self, ws: str, name: str) -> dict:
        return DATASTORES.get(self.connection(), ws, name)

    def list_datastores(self, ws: str, page, where: list[str] = (), args: list = ()):
        return DATASTORES.list(self.connection(), page, (ws,), where, args)

    def _builtin(self, conn, ws: str, name: str, action: str) -> bool:
        """Whether datastore `name` exists; a built-in one cannot be changed (Conflict)."""
        row = conn.execute("SELECT builtin FROM datastores WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
        if row is not None and row["builtin"]:
            raise Conflict(f"datastore {name!r} is built into the local workspace and cannot be {action}")
        return row is not None

    def put_datastore(self, ws: str, name: str, doc: dict, secrets: dict | None, user: str) -> tuple[dict, bool]:
        """Create or replace a user datastore -> (record, created); secrets are kept apart from `doc`."""
        with self.write() as conn:
            exists = self._builtin(conn, ws, name, "changed")
            stamp = now()
            if not exists:
                insert(conn, "datastores", workspace=ws, name=name, doc=dumps(doc),
                       secrets=secrets and dumps(secrets), **stamps(user, stamp))
            else:
                conn.execute("UPDATE datastores SET doc = ?, secrets = coalesce(?, secrets), modified_at = ?, "
                             "modified_by = ? WHERE workspace = ? AND name = ?",
                             (dumps(doc), secrets and dumps(secrets), stamp, user, ws, name))
            return DATASTORES.get(conn, ws, name), not exists

    def delete_datastore(self, ws: str, name: str) -> bool:
        with self.write() as conn:
            self._builtin(conn, ws, name, "deleted")
            return DATASTORES.delete(conn, ws, name)

    # -- connections

    def get_connection(self, ws: str, name: str) -> dict:
        return CONNECTIONS.get(self.connection(), ws, name)

    def list_connections(self, ws: str, page, where: list[str] = (), args: list = ()):
        return CONNECTIONS.list(self.connection(), page, (ws,), where, args)

    def put_connection(self, ws: str, name: str, doc: dict, secrets: dict, user: str) -> tuple[dict, bool]:
        """Create or replace a connection -> (record, created); its secrets replace the stored ones."""
        with self.write() as conn:
            stamp = now()
            exists = conn.execute("SELECT 1 FROM connections WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            if exists is None:
                insert(conn, "connections", workspace=ws, name=name, doc=dumps(doc), secrets=dumps(secrets),
                       **stamps(user, stamp))
            else:
                conn.execute("UPDATE connections SET doc = ?, secrets = ?, modified_at = ?, modified_by = ? "
                             "WHERE workspace = ? AND name = ?", (dumps(doc), dumps(secrets), stamp, user, ws, name))
        return self.get_connection(ws, name), exists is None

    def delete_connection(self, ws: str, name: str) -> bool:
        with self.write() as conn:
            return CONNECTIONS.delete(conn, ws, name)

    # -- jobs

    def get_job(self, ws: str, name: str) -> dict:
        return JOBS.get(self.connection(), ws, name)

    def list_jobs(self, ws: str, page, view: str = "ActiveOnly", parent: str | None = None,
                  where: list[str] = (), args: list = ()):
        """Top-level jobs, or the children of `parent`, newest first."""
        clauses = ["t.parent IS NULL" if parent is None else "t.parent = ?", *VIEWS[view], *where]
        return JOBS.list(self.connection(), page, (ws,), clauses, ([] if parent is None else [parent]) + list(args))

    def active_jobs(self) -> list[dict]:
        """The jobs of every workspace that have not ended, each with its parent's type and status (None: no
        parent)."""
        marks = ", ".join("?" * len(TERMINAL_STATUSES))
        rows = self.connection().execute(
            f"SELECT t.*, p.job_type AS parent_type, p.status AS parent_status FROM jobs t "
            f"LEFT JOIN jobs p ON p.workspace = t.workspace AND p.name = t.parent "
            f"WHERE t.status NOT IN ({marks}) ORDER BY t.seq", tuple(TERMINAL_STATUSES))
        return [dict(r, doc=json.loads(r["doc"])) for r in rows]

    def put_job(self, ws: str, name: str, doc: dict, user: str, *, mutable: frozenset[str],
                parent: str | None = None, status: str = "NotStarted") -> tuple[dict, bool]:
        """Record a new job (with `status`: NotStarted, or Completed for one that ends as it is recorded), a child
        of job `parent` if given, or update the `mutable` fields of an existing one."""
        with self.write() as conn:
            row = conn.execute("SELECT doc FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            stamp = now()
            if row is None:
                ended = stamp if status in TERMINAL_STATUSES else None
                insert(conn, "jobs", workspace=ws, name=name, doc=dumps(doc), job_type=doc["jobType"], parent=parent,
                       archived=bool(doc.get("isArchived")), status=status, status_at=stamp, started_at=ended,
                       ended_at=ended, **stamps(user, stamp))
            else:
                _replace(conn, "jobs", "workspace = ? AND name = ?", (ws, name), row["doc"], doc, user, stamp,
                         what=f"job {name!r}", frozen=lambda key: key not in mutable)
            return JOBS.get(conn, ws, name), row is None

    def reusable_jobs(self, ws: str, prop: str, value: str, limit: int) -> list[dict]:
        """The latest Completed jobs (at most `limit`, newest first) that ran, not reused, whose user property
        `prop` is `value`: earlier runs of a pipeline step."""
        path = f'$.properties."{prop}"'
        rows = self.connection().execute(
            f"SELECT * FROM jobs WHERE workspace = ? AND status = 'Completed' AND json_extract(doc, ?) = ? "
            f"AND json_extract(doc, '$.properties.\"{REUSED_PROPERTY}\"') IS NULL ORDER BY seq DESC LIMIT ?",
            (ws, path, value, limit))
        return [record(r) for r in rows]

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
        if error is not None and len(error) > MAX_ERROR_TEXT:  # it is served with every list of jobs
            more = len(error) - MAX_ERROR_TEXT
            error = f"{error[:MAX_ERROR_TEXT]}... ({more:,} more characters; see the job's logs)"
        conn.execute(
            "UPDATE jobs SET status = ?, status_at = ?, "
            "started_at = coalesce(started_at, CASE WHEN ? IN ('Running', 'Finalizing') THEN ? END), "
            "ended_at = CASE WHEN ? IN ('Completed', 'Failed', 'Canceled') THEN ? ELSE ended_at END, "
            "exit_code = coalesce(?, exit_code), error = coalesce(?, error) "
            "WHERE workspace = ? AND name = ?",
            (status, stamp, status, stamp, status, stamp, exit_code, error, ws, name))
        if status in TERMINAL_STATUSES:
            self._settle(conn, ws, name, stamp)

    def set_runner(self, ws: str, name: str, pid: int, started: int | None = None, *,
                   launcher: int | None = None) -> bool:
        """Record the process `pid` (started at `started`, clock ticks since boot) that will run a job, when the job
        has no process yet or `launcher` holds it (it took the job over to start `pid`); its heartbeat starts now ->
        whether it was recorded. A job another process took meanwhile keeps its process."""
        with self.write() as conn:
            return conn.execute(
                "UPDATE jobs SET runner_pid = ?, runner_started = ?, heartbeat_at = ? WHERE workspace = ? AND name = ? "
                "AND (runner_pid IS NULL OR runner_pid IN (?, ?))",
                (pid, started, time.time(), ws, name, pid, launcher)).rowcount > 0

    def claim_job(self, ws: str, name: str, pid: int, started: int | None = None) -> bool:
        """A runner takes a NotStarted job: Queued, with its pid, its start time and a first heartbeat -> whether it
        got it."""
        with self.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'Queued', status_at = ?, runner_pid = ?, runner_started = ?, "
                "heartbeat_at = ? WHERE workspace = ? AND name = ? AND status = 'NotStarted'",
                (now(), pid, started, time.time(), ws, name)).rowcount > 0

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

    def fail_if(self, job: dict, test, error) -> dict | None:
        """Fail the job with `error(row)` if `test(row)` holds, checked inside the write transaction -> the row it
        had, None when unchanged."""
        def fail(conn, row):
            self._move(conn, row["workspace"], row["name"], "Failed", error=error(row))
        return self._change_if(job, test, fail)

    def take_over_if(self, job: dict, test, pid: int, started: int | None = None, *,
                     rerun: bool = False) -> dict | None:
        """Give the job to the process `pid` (started at `started`) if `test(row)` holds, checked inside the write
        transaction (of concurrent callers, one wins) -> the row it had, None when unchanged. `rerun` starts the job
        again from NotStarted, without a heartbeat until :meth:`set_runner` records the process `pid` starts (so a
        `pid` that dies before is seen to have started nothing); otherwise it keeps its status."""
        def take(conn, row):
            conn.execute(
                "UPDATE jobs SET runner_pid = ?, runner_started = ?, heartbeat_at = CASE WHEN ? THEN NULL ELSE ? END, "
                "process_groups = NULL, status = CASE WHEN ? THEN 'NotStarted' ELSE status END, status_at = ?, "
                "started_at = CASE WHEN ? THEN NULL ELSE started_at END WHERE workspace = ? AND name = ?",
                (pid, started, rerun, time.time(), rerun, now(), rerun, row["workspace"], row["name"]))
        return self._change_if(job, test, take)

    def _change_if(self, job: dict, test, change) -> dict | None:
        if not test(job):
            return None
        with self.write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE workspace = ? AND name = ?",
                               (job["workspace"], job["name"])).fetchone()
            if row is None or not test(row):
                return None
            change(conn, row)
        return dict(row)

    def claim_controller(self, ws: str, name: str, pid: int, launcher: int, started: int | None = None) -> str | None:
        """A resuming job's process (a sweep controller, started at `started`) takes its job: a NotStarted one
        (Queued), or one its `launcher` took over for it (:meth:`take_over_if`) -> the job's status, None when it is
        not this one's."""
        with self.write() as conn:
            claimed = conn.execute(
                "UPDATE jobs SET runner_pid = ?, runner_started = ?, heartbeat_at = ?, "
                "status = CASE WHEN status = 'NotStarted' THEN 'Queued' ELSE status END "
                "WHERE workspace = ? AND name = ? AND status NOT IN ('Completed', 'Failed', 'Canceled') "
                "AND (status = 'NotStarted' OR runner_pid IN (?, ?))",
                (pid, started, time.time(), ws, name, pid, launcher)).rowcount
            row = conn.execute("SELECT status FROM jobs WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
        return row["status"] if claimed else None

    def set_results(self, ws: str, name: str, results: dict[str, str]) -> None:
        """Merge read-only result properties into a job (the API shows them in its `properties`)."""
        with self.write() as conn:
            conn.execute("UPDATE jobs SET results = json_patch(coalesce(results, '{}'), ?) "
                         "WHERE workspace = ? AND name = ?", (dumps(results), ws, name))

    def request_cancel(self, ws: str, name: str) -> dict:
        """Cancel a job: at once when it has not started, else ask its runner (CancelRequested).

        Returns the operation, InProgress until the job ends. Raises NotFound for a missing job.
        """
        with self.write() as conn:
            status = JOBS.get(conn, ws, name)["status"]
            stamp = now()
            if status == "NotStarted":
                conn.execute("UPDATE jobs SET status = 'Canceled', status_at = ?, ended_at = ? "
                             "WHERE workspace = ? AND name = ?", (stamp, stamp, ws, name))
                self._settle(conn, ws, name, stamp)
            elif status not in TERMINAL_STATUSES:
                self._cancel_requested(conn, ws, name, stamp)
            return self._operation(conn, ws, "cancel", name, stamp, done=status in IDLE_STATUSES)

    def request_delete(self, ws: str, name: str) -> dict:
        """Delete a job: at once when it is not running, else cancel it first and delete it when it ends.

        Returns the operation, InProgress until the job is gone. Raises NotFound for a missing job.
        """
        with self.write() as conn:
            status = JOBS.get(conn, ws, name)["status"]
            stamp = now()
            if status in IDLE_STATUSES:
                JOBS.delete(conn, ws, name)
                self._settle(conn, ws, name, stamp)
            elif status != "CancelRequested":
                self._cancel_requested(conn, ws, name, stamp)
            return self._operation(conn, ws, "delete", name, stamp, done=status in IDLE_STATUSES)

    @staticmethod
    def _cancel_requested(conn, ws: str, name: str, stamp: str) -> None:
        conn.execute("UPDATE jobs SET status = 'CancelRequested', status_at = ? WHERE workspace = ? AND name = ?",
                     (stamp, ws, name))

    def get_operation(self, ws: str, op_id: str) -> dict:
        return OPERATIONS.get(self.connection(), ws, op_id)

    @staticmethod
    def _operation(conn, ws: str, action: str, job: str, stamp: str, done: bool) -> dict:
        op = {"id": uuid.uuid4().hex, "workspace": ws, "action": action, "job": job,
              "status": "Succeeded" if done else "InProgress", "started_at": stamp, "ended_at": stamp if done else None}
        insert(conn, "operations", **op)
        horizon = (datetime.now(timezone.utc) - _OPERATION_RETENTION).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.execute("DELETE FROM operations WHERE ended_at < ?", (horizon,))
        return op

    @staticmethod
    def _settle(conn, ws: str, job: str, stamp: str) -> None:
        """The job ended (or is gone): finish its operations; a waiting delete removes it."""
        if conn.execute("SELECT 1 FROM operations WHERE workspace = ? AND job = ? AND status = 'InProgress' "
                        "AND action = 'delete'", (ws, job)).fetchone():
            JOBS.delete(conn, ws, job)
        conn.execute("UPDATE operations SET status = 'Succeeded', ended_at = ? "
                     "WHERE workspace = ? AND job = ? AND status = 'InProgress'", (stamp, ws, job))

    # -- endpoints and deployments

    def get_endpoint(self, ws: str, kind: str, name: str) -> dict:
        return ENDPOINTS.get(self.connection(), ws, kind, name)

    def list_endpoints(self, ws: str, kind: str, page):
        return ENDPOINTS.list(self.connection(), page, (ws, kind))

    def endpoint_names(self, kind: str) -> list[tuple[str, str]]:
        """(workspace, name) of every endpoint of `kind` in the home."""
        rows = self.connection().execute("SELECT workspace, name FROM endpoints WHERE kind = ? ORDER BY seq", (kind,))
        return [(r["workspace"], r["name"]) for r in rows]

    def get_deployment(self, ws: str, kind: str, endpoint: str, name: str) -> dict:
        return DEPLOYMENTS.get(self.connection(), ws, kind, endpoint, name)

    def list_deployments(self, ws: str, kind: str, endpoint: str, page=None):
        """One page of an endpoint's deployments (all of them without `page`), oldest first."""
        conn = self.connection()
        ENDPOINTS.get(conn, ws, kind, endpoint)  # an endpoint that is not there is a 404, not an empty list
        if page is None:
            rows = conn.execute(f"{DEPLOYMENTS.select} WHERE e.workspace = ? AND e.kind = ? AND e.name = ? "
                                "ORDER BY t.seq", (ws, kind, endpoint))
            return [record(r) for r in rows]
        return DEPLOYMENTS.list(conn, page, (ws, kind, endpoint))

    def put_endpoint(self, ws: str, kind: str, name: str, doc: dict, user: str, *, keys: dict | None = None,
                     check=None) -> tuple[dict, bool, dict]:
        """Create (state Creating) or replace (Updating) an endpoint -> (record, created, its operation).

        `keys` are stored when given; `check(conn, record or None, doc)` runs inside the transaction (the traffic
        rules need the endpoint's deployments as they are). An endpoint being deleted cannot be changed."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM endpoints WHERE workspace = ? AND kind = ? AND name = ?",
                               (ws, kind, name)).fetchone()
            if row is not None and row["state"] == "Deleting":
                raise Conflict(f"{kind} endpoint {name!r} is being deleted; wait until it is gone")
            if check is not None:
                check(conn, None if row is None else record(row), doc)
            stamp = now()
            if row is None:
                insert(conn, "endpoints", workspace=ws, kind=kind, name=name, doc=dumps(doc), state="Creating",
                       keys=keys and dumps(keys), **stamps(user, stamp))
            else:
                conn.execute("UPDATE endpoints SET doc = ?, state = 'Updating', keys = coalesce(?, keys), "
                             "modified_at = ?, modified_by = ? WHERE seq = ?",
                             (dumps(doc), keys and dumps(keys), stamp, user, row["seq"]))
            op = self._operation(conn, ws, "create" if row is None else "update", target(kind, name), stamp, False)
            return ENDPOINTS.get(conn, ws, kind, name), row is None, op

    def set_endpoint_keys(self, ws: str, kind: str, name: str, keys: dict, user: str) -> dict:
        """Replace an endpoint's keys -> the (finished) regenerate operation."""
        with self.write() as conn:
            ENDPOINTS.get(conn, ws, kind, name)
            stamp = now()
            conn.execute("UPDATE endpoints SET keys = ?, modified_at = ?, modified_by = ? WHERE workspace = ? "
                         "AND kind = ? AND name = ?", (dumps(keys), stamp, user, ws, kind, name))
            return self._operation(conn, ws, "regenerate", target(kind, name), stamp, True)

    def put_deployment(self, ws: str, kind: str, endpoint: str, name: str, doc: dict, user: str, *,
                       immutable: tuple[str, ...] = ()) -> tuple[dict, bool, dict]:
        """Create (Creating) or replace (Updating) a deployment of an existing endpoint -> (record, created, its
        operation). Fields in `immutable` cannot change; a deployment (or endpoint) being deleted cannot either."""
        with self.write() as conn:
            parent = ENDPOINTS.get(conn, ws, kind, endpoint)
            if parent["state"] == "Deleting":
                raise Conflict(f"{kind} endpoint {endpoint!r} is being deleted")
            row = conn.execute("SELECT * FROM deployments WHERE endpoint = ? AND name = ?",
                               (parent["seq"], name)).fetchone()
            stamp = now()
            what = f"deployment {name!r} of {kind} endpoint {endpoint!r}"
            if row is None:
                insert(conn, "deployments", endpoint=parent["seq"], name=name, doc=dumps(doc), state="Creating",
                       **stamps(user, stamp))
            else:
                if row["state"] == "Deleting":
                    raise Conflict(f"{what} is being deleted; wait until it is gone")
                frozen = [f for f in diff(json.loads(row["doc"]), doc)
                          if any(f == key or f.startswith(key + ".") for key in immutable)]
                if frozen:
                    raise Conflict(f"{what} already exists with a different {', '.join(frozen)}; it cannot be "
                                   "changed: delete the deployment or use a new name")
                conn.execute("UPDATE deployments SET doc = ?, state = 'Updating', modified_at = ?, modified_by = ? "
                             "WHERE seq = ?", (dumps(doc), stamp, user, row["seq"]))
            op = self._operation(conn, ws, "create" if row is None else "update", target(kind, endpoint, name),
                                 stamp, False)
            return DEPLOYMENTS.get(conn, ws, kind, endpoint, name), row is None, op

    def set_provisioning(self, ws: str, kind: str, endpoint: str, deployment: str | None, state: str, *,
                         error: str | None = None) -> bool:
        """Move an endpoint (`deployment` None) or a deployment to provisioning `state` -> whether it exists.

        A terminal state (Succeeded, Failed, Canceled) ends the create/update operations waiting on it: Failed
        ones carry `error`."""
        with self.write() as conn:
            if deployment is None:
                changed = conn.execute("UPDATE endpoints SET state = ? WHERE workspace = ? AND kind = ? AND name = ?",
                                       (state, ws, kind, endpoint)).rowcount
            else:
                changed = conn.execute(
                    "UPDATE deployments SET state = ? WHERE name = ? AND endpoint = (SELECT seq FROM endpoints "
                    "WHERE workspace = ? AND kind = ? AND name = ?)", (state, deployment, ws, kind, endpoint)).rowcount
            if changed and state in PROVISIONED:
                conn.execute("UPDATE operations SET status = ?, ended_at = ?, error = ? WHERE workspace = ? AND "
                             "job = ? AND status = 'InProgress' AND action IN ('create', 'update')",
                             ("Succeeded" if state == "Succeeded" else "Failed", now(), error, ws,
                              target(kind, endpoint, deployment)))
            return bool(changed)

    def request_endpoint_delete(self, ws: str, kind: str, endpoint: str, deployment: str | None = None,
                                check=None) -> dict:
        """Mark an endpoint (with its deployments) or a deployment Deleting -> the delete operation, InProgress
        until :meth:`finish_endpoint_delete`. Raises NotFound when it is not there; `check(conn, record)` may refuse
        (a deployment that still takes traffic)."""
        with self.write() as conn:
            if deployment is None:
                row = ENDPOINTS.get(conn, ws, kind, endpoint)
                conn.execute("UPDATE endpoints SET state = 'Deleting' WHERE seq = ?", (row["seq"],))
                conn.execute("UPDATE deployments SET state = 'Deleting' WHERE endpoint = ?", (row["seq"],))
            else:
                row = DEPLOYMENTS.get(conn, ws, kind, endpoint, deployment)
                if check is not None:
                    check(conn, row)
                conn.execute("UPDATE deployments SET state = 'Deleting' WHERE seq = ?", (row["seq"],))
            return self._operation(conn, ws, "delete", target(kind, endpoint, deployment), now(), False)

    def finish_endpoint_delete(self, ws: str, kind: str, endpoint: str, deployment: str | None = None) -> None:
        """Remove an endpoint (and its deployments) or a deployment, ending the operations waiting on it."""
        with self.write() as conn:
            stamp = now()
            if deployment is None:
                ENDPOINTS.delete(conn, ws, kind, endpoint)
                prefix = target(kind, endpoint)
                conn.execute("UPDATE operations SET status = 'Succeeded', ended_at = ? WHERE workspace = ? AND "
                             "status = 'InProgress' AND (job = ? OR job LIKE ? ESCAPE '\\')",
                             (stamp, ws, prefix, prefix.replace("_", "\\_") + "/%"))
            else:
                DEPLOYMENTS.delete(conn, ws, kind, endpoint, deployment)
                conn.execute("UPDATE operations SET status = 'Succeeded', ended_at = ? WHERE workspace = ? AND "
                             "status = 'InProgress' AND job = ?", (stamp, ws, target(kind, endpoint, deployment)))


ENDPOINT_COLLECTIONS = {"online": "onlineEndpoints", "batch": "batchEndpoints"}


def target(kind: str, endpoint: str, deployment: str | None = None) -> str:
    """The path below the workspace that names an endpoint or deployment (in the operations table)."""
    path = f"{ENDPOINT_COLLECTIONS[kind]}/{endpoint}"
    return path if deployment is None else f"{path}/deployments/{deployment}"
