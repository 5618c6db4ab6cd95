"""Schedules and their firings, in the workspace database (``workspace.db``, migration 6).

A schedule row holds its REST ``properties`` (``doc``), whether it is enabled, and ``checked_at``: the time (UTC) up
to which its firings are handled. A firing row is one due time of one schedule and what became of it: ``Firing``
(claimed: its job is being created), ``Fired`` (with the job), ``Missed`` (no scheduler ran, or it ran too late) or
``Failed`` (with why). A timed firing is claimed, and ``checked_at`` moved past it, in one transaction, and a due time
is unique per schedule: a firing is claimed once, whatever process or crash. Manual triggers have rows of their own.
"""
from __future__ import annotations

import json

from .sqlite import Table, dumps, insert, now, record, stamps

SCHEDULE_TABLES = (
    """CREATE TABLE schedules (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace TEXT NOT NULL COLLATE NOCASE REFERENCES workspaces(name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        checked_at TEXT NOT NULL,
        created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        modified_at TEXT NOT NULL, modified_by TEXT NOT NULL,
        UNIQUE (workspace, name))""",
    """CREATE TABLE schedule_firings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule INTEGER NOT NULL REFERENCES schedules(seq) ON DELETE CASCADE,
        due_at TEXT NOT NULL,
        manual INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('Firing', 'Fired', 'Missed', 'Failed')),
        job TEXT,
        error TEXT,
        recorded_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX schedule_firings_due ON schedule_firings (schedule, due_at) WHERE manual = 0",
    "CREATE INDEX schedule_firings_status ON schedule_firings (status)",
)
SCHEDULES = Table("schedules", ("t.workspace", "t.name"), lambda ws, name: f"schedule {name!r}")
_FIRING_COLUMNS = "f.*, s.workspace AS workspace, s.name AS schedule_name, s.doc AS doc"


class ScheduleStore:
    """The schedule queries over a home's :class:`~azureml_v2.local.storage.workspace.Store`."""

    def __init__(self, store):
        self.store = store

    def get(self, ws: str, name: str) -> dict:
        return SCHEDULES.get(self.store.connection(), ws, name)

    def list(self, ws: str, page, enabled: bool | None = None):
        where = [] if enabled is None else ["t.enabled = ?"]
        return SCHEDULES.list(self.store.connection(), page, (ws,), where, [] if enabled is None else [enabled])

    def put(self, ws: str, name: str, doc: dict, user: str, operation) -> tuple[dict, bool, dict]:
        """Create or replace a schedule -> (record, created, its finished operation). A new trigger, or a schedule
        enabled again, counts its firings from now on (it owes nothing for the time before); any other change keeps
        what is owed, so that a firing missed before it is still reported."""
        with self.store.write() as conn:
            row = conn.execute("SELECT seq, doc, enabled, checked_at FROM schedules WHERE workspace = ? AND name = ?",
                               (ws, name)).fetchone()
            stamp = now()
            enabled = bool(doc.get("isEnabled", True))
            if row is None:
                insert(conn, "schedules", workspace=ws, name=name, doc=dumps(doc), enabled=enabled, checked_at=stamp,
                       **stamps(user, stamp))
            else:
                same = row["enabled"] and enabled and json.loads(row["doc"]).get("trigger") == doc.get("trigger")
                conn.execute("UPDATE schedules SET doc = ?, enabled = ?, checked_at = ?, modified_at = ?, "
                             "modified_by = ? WHERE seq = ?",
                             (dumps(doc), enabled, row["checked_at"] if same else stamp, stamp, user, row["seq"]))
            op = operation(conn, ws, "create" if row is None else "update", f"schedules/{name}", stamp, True)
            return SCHEDULES.get(conn, ws, name), row is None, op

    def delete(self, ws: str, name: str) -> bool:
        with self.store.write() as conn:
            return SCHEDULES.delete(conn, ws, name)

    def enabled(self) -> list[dict]:
        """Every enabled schedule of the home."""
        rows = self.store.connection().execute("SELECT * FROM schedules WHERE enabled = 1 ORDER BY seq")
        return [record(r) for r in rows]

    def claim(self, schedule: dict, checked_at: str, firings: list[tuple[str, str, str | None]]) -> list[dict] | None:
        """Record `firings` (due time, status Firing or Missed, job name) of `schedule` and move its `checked_at`
        -> the rows claimed for firing; None, and nothing recorded, when another process moved `checked_at` first
        or the schedule changed meanwhile (compare and set)."""
        with self.store.write() as conn:
            moved = conn.execute("UPDATE schedules SET checked_at = ? WHERE seq = ? AND checked_at = ? AND "
                                 "modified_at = ? AND enabled = 1",
                                 (checked_at, schedule["seq"], schedule["checked_at"], schedule["modified_at"]))
            if moved.rowcount == 0:
                return None
            stamp, claimed = now(), []
            for due, status, job in firings:
                # a due time seen before the clock was set back: missed then (the clock ran ahead), it is due now;
                # handled otherwise, it is not handled twice
                seen = conn.execute("SELECT seq, status FROM schedule_firings WHERE schedule = ? AND manual = 0 AND "
                                    "due_at = ?", (schedule["seq"], due)).fetchone()
                if seen is None:
                    seq = insert(conn, "schedule_firings", schedule=schedule["seq"], due_at=due, status=status,
                                 job=job, recorded_at=stamp,
                                 error="no scheduler was running when it was due" if status == "Missed" else None)
                elif seen[1] == "Missed" and status == "Firing":
                    seq = seen[0]
                    conn.execute("UPDATE schedule_firings SET status = ?, job = ?, error = NULL, recorded_at = ? "
                                 "WHERE seq = ?", (status, job, stamp, seq))
                else:
                    continue
                if status == "Firing":
                    claimed.append(self._firing(conn, seq))
            return claimed

    def claim_manual(self, ws: str, name: str, due: str, job: str) -> dict:
        """Record a manual trigger of a schedule, claimed for firing -> its row."""
        with self.store.write() as conn:
            schedule = SCHEDULES.get(conn, ws, name)
            seq = insert(conn, "schedule_firings", schedule=schedule["seq"], due_at=due, manual=True, status="Firing",
                         job=job, recorded_at=now())
            return self._firing(conn, seq)

    def pending(self) -> list[dict]:
        """Firings claimed but not settled (their process stopped in between)."""
        rows = self.store.connection().execute(
            f"SELECT {_FIRING_COLUMNS} FROM schedule_firings f JOIN schedules s ON s.seq = f.schedule "
            "WHERE f.status = 'Firing' ORDER BY f.seq")
        return [record(r) for r in rows]

    def settle(self, firing: dict, status: str, error: str | None = None) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE schedule_firings SET status = ?, error = ?, recorded_at = ? WHERE seq = ? AND "
                         "status = 'Firing'", (status, error, now(), firing["seq"]))

    def firings(self, ws: str, name: str, limit: int = 1000) -> list[dict]:
        """The firings of a schedule, newest due first."""
        conn = self.store.connection()
        schedule = SCHEDULES.get(conn, ws, name)
        rows = conn.execute("SELECT * FROM schedule_firings WHERE schedule = ? ORDER BY due_at DESC, seq DESC "
                            "LIMIT ?", (schedule["seq"], limit))
        return [dict(r) for r in rows]

    @staticmethod
    def _firing(conn, seq: int) -> dict:
        return record(conn.execute(f"SELECT {_FIRING_COLUMNS} FROM schedule_firings f JOIN schedules s ON "
                                   "s.seq = f.schedule WHERE f.seq = ?", (seq,)).fetchone())
