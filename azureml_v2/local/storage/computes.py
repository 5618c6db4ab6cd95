"""The computes of a workspace (table `computes` of ``workspace.db``): the ARM resource as sent, a compute instance's
power state and its last start, stop or restart. Mixed into :class:`~.workspace.Store`."""
from __future__ import annotations

import json

from .sqlite import Table, dumps, insert, now, record, stamps

COMPUTES = Table("computes", ("t.workspace", "t.name"), lambda ws, name: f"compute {name!r}")


def compute_target(name: str) -> str:
    """The path below the workspace that names a compute (in the operations table)."""
    return f"computes/{name}"


class ComputeRows:
    """Store methods for computes. Every change is done when it returns: its operation is recorded Succeeded."""

    def get_compute(self, ws: str, name: str) -> dict:
        return _decoded(COMPUTES.get(self.connection(), ws, name))

    def list_computes(self, ws: str, page):
        rows, token = COMPUTES.list(self.connection(), page, (ws,))
        return [_decoded(r) for r in rows], token

    def put_compute(self, ws: str, name: str, doc: dict, user: str, *, state: str | None = None,
                    check=None) -> tuple[dict, bool, dict]:
        """Create or replace a compute -> (record, created, its finished operation). `check(old record or None)`
        runs inside the transaction; a new compute starts in `state`."""
        with self.write() as conn:
            row = conn.execute("SELECT * FROM computes WHERE workspace = ? AND name = ?", (ws, name)).fetchone()
            if check is not None:
                check(None if row is None else _decoded(record(row)))
            stamp = now()
            if row is None:
                insert(conn, "computes", workspace=ws, name=name, doc=dumps(doc), state=state, **stamps(user, stamp))
            else:
                conn.execute("UPDATE computes SET doc = ?, modified_at = ?, modified_by = ? WHERE seq = ?",
                             (dumps(doc), stamp, user, row["seq"]))
            op = self._operation(conn, ws, "create" if row is None else "update", compute_target(name), stamp, True)
            return _decoded(COMPUTES.get(conn, ws, name)), row is None, op

    def set_compute_state(self, ws: str, name: str, state: str, operation: dict, user: str) -> dict:
        """Record a power operation (start, stop, restart) and the state it leaves -> its finished operation."""
        with self.write() as conn:
            COMPUTES.get(conn, ws, name)
            stamp = now()
            conn.execute("UPDATE computes SET state = ?, last_operation = ?, modified_at = ?, modified_by = ? "
                         "WHERE workspace = ? AND name = ?", (state, dumps(operation), stamp, user, ws, name))
            return self._operation(conn, ws, "update", compute_target(name), stamp, True)

    def delete_compute(self, ws: str, name: str) -> dict:
        """Remove a compute -> its finished delete operation. Raises NotFound when it is not there."""
        with self.write() as conn:
            COMPUTES.get(conn, ws, name)
            COMPUTES.delete(conn, ws, name)
            return self._operation(conn, ws, "delete", compute_target(name), now(), True)


def _decoded(row: dict) -> dict:
    if isinstance(row.get("last_operation"), str):
        row["last_operation"] = json.loads(row["last_operation"])
    return row
