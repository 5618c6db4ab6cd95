"""SQLite files of a home folder: WAL, a connection per thread, one ``BEGIN IMMEDIATE`` transaction per write,
``PRAGMA user_version`` migrations, keyset paging, and :class:`Table`: get, list and delete of keyed rows, declared
once per table."""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ...exceptions import AzureMLError

MAX_FILTER_TERMS = 100  # terms of one list filter, well under SQLite's expression and variable limits


def disk_full(folder) -> bool:
    """Whether the file system holding `folder` has (next to) no space left for this user."""
    try:
        found = os.statvfs(folder)
    except OSError:
        return False
    return found.f_bavail * found.f_frsize < 64 * 1024


class StoreError(AzureMLError):
    """The store cannot be used (not a database, not writable, written by a newer azureml_v2)."""


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


class Exists(Exception):
    """A create-only write (If-None-Match: *) of a resource that exists."""


class BadRequest(Exception):
    pass


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def diff(old, new, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON values differ (recursing into objects)."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths = []
        for key in sorted(old.keys() | new.keys()):
            paths += diff(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return paths
    return [] if old == new else [prefix or "(body)"]


def record(row: sqlite3.Row) -> dict:
    """A row as a dict, its JSON `doc` decoded."""
    result = dict(row)
    if "doc" in result:
        result["doc"] = json.loads(result["doc"])
    return result


def insert(conn, table: str, **columns) -> int:
    """INSERT one row -> its rowid."""
    names = ", ".join(columns)
    return conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",
                        tuple(columns.values())).lastrowid


def stamps(user: str, stamp: str) -> dict:
    """The created/modified columns of a new row."""
    return {"created_at": stamp, "created_by": user, "modified_at": stamp, "modified_by": user}


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


VIEWS = {"ActiveOnly": ["t.archived = 0"], "ArchivedOnly": ["t.archived = 1"], "All": []}


# The key of a registry where a workspace's name goes (see workspace.Store): no workspace name holds a '/'
REGISTRY_PREFIX = "registries/"


def scope_name(key: str) -> str:
    """A workspace's or registry's key as messages name it: `workspace 'w'`, `registry 'r'`."""
    if key.startswith(REGISTRY_PREFIX):
        return f"registry {key[len(REGISTRY_PREFIX):]!r}"
    return f"workspace {key!r}"


class Table:
    """Rows named by `keys` (columns of the FROM clause `source`, whose main table is `t`; a key on `workspace`
    first scopes them to a workspace): get, list and delete, declared once. `what(*key values)` names a row in
    errors."""

    def __init__(self, table: str, keys: tuple[str, ...], what: Callable[..., str], *, source: str | None = None,
                 columns: str = "t.*"):
        self.table, self.keys, self.what = table, keys, what
        self.source = source or f"{table} t"
        self.select = f"SELECT {columns} FROM {self.source}"

    def _where(self, values) -> list[str]:
        return [f"{key} = ?" for key in self.keys[:len(values)]]

    def get(self, conn, *values) -> dict:
        row = conn.execute(f"{self.select} WHERE {' AND '.join(self._where(values))}", values).fetchone()
        if row is None:
            scope = f" in {scope_name(values[0])}" if self.keys[0].endswith("workspace") else ""
            raise NotFound(f"{self.what(*values)} not found{scope}")
        return record(row)

    def list(self, conn, page: Page, values: tuple, where=(), args=()) -> tuple[list[dict], str | None]:
        """One page of the rows whose first keys are `values`, with the extra `where` clauses."""
        rows, token = page.query(conn, self.select, [*self._where(values), *where], [*values, *args])
        return [record(r) for r in rows], token

    def delete(self, conn, *values) -> bool:
        """Delete the row -> whether it existed."""
        return conn.execute(f"DELETE FROM {self.table} WHERE rowid IN (SELECT t.rowid FROM {self.source} WHERE "
                            f"{' AND '.join(self._where(values))})", values).rowcount > 0


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

    @property
    def schema_version(self) -> int:
        return self.connection().execute("PRAGMA user_version").fetchone()[0]

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`write` for changes)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            try:
                self._use_wal(conn)
            except sqlite3.OperationalError as exc:  # WAL needs to write the file and files beside it
                conn.close()
                hint = "" if "locked" in str(exc) else \
                    ": its disk is full; free some space and retry" if disk_full(self.path.parent) else \
                    ": its folder and the file must be writable by this user"
                raise StoreError(f"{self.path}: cannot open the local workspace database ({exc}){hint}") from None
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
                for sql in steps:  # SQL, or a function of the connection (a data migration)
                    sql(conn) if callable(sql) else conn.execute(sql)
                conn.execute(f"PRAGMA user_version = {number}")
