"""The content hashes of files a home has read, ``<home>/hashes.db``, keyed by (path, size, mtime): a pipeline
step's input data is hashed once while it is unchanged, however often steps read it. A cache: deleting the file
loses nothing."""
from __future__ import annotations

from pathlib import Path

from .sqlite import SQLiteFile

DB_NAME = "hashes.db"

MIGRATIONS: list[tuple[str, ...]] = [
    ("CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
     "sha256 TEXT NOT NULL)",),
]


class ContentHashes(SQLiteFile):
    """The cache of one home folder."""

    def __init__(self, home):
        super().__init__(Path(home) / DB_NAME, MIGRATIONS)

    def get(self, path: str, size: int, mtime_ns: int) -> str | None:
        row = self.connection().execute("SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                                        (path, size, mtime_ns)).fetchone()
        return row["sha256"] if row else None

    def put_many(self, rows: list[tuple[str, int, int, str]]) -> None:
        """Remember (path, size, mtime_ns, sha256) rows, in one transaction."""
        if rows:
            with self.write() as conn:
                conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", rows)
