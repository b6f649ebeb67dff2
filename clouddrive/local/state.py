"""The drive's state database: the base of every path (ROOT/.clouddrive/state.db, SQLite).

A base row is written only after its action succeeded, so a crash loses at most the record
of work that a rerun then adopts as "same on both sides". That is also why commits need
not wait for the disk, nor come one per base: in WAL mode
with `synchronous=NORMAL` a power cut can only lose the last few commits (never corrupt
the file), and base writes are grouped into one transaction per `COMMIT_EVERY` writes or
`COMMIT_AFTER` seconds (and at every meta write and close), so a killed process loses at
most that last group. The rerun adopts those paths. An fsync'd commit per base
(`synchronous=FULL`) cost a download of 5,000 small files most of its time, on the one
thread that records every outcome.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from clouddrive.core.models import BaseEntry

__all__ = ["COMMIT_AFTER", "COMMIT_EVERY", "StateStore"]

COMMIT_EVERY = 500  #: base writes per transaction, at most
COMMIT_AFTER = 0.5  #: seconds a base write waits for its commit, at most (see `_wrote`)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS base (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    version_id TEXT NOT NULL,
    etag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StateStore:
    """SQLite in WAL mode; safe to call from several threads (one lock, short transactions)."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = db_path
        self._lock = threading.Lock()
        # "DEFERRED": sqlite3 opens a transaction before a write; `_wrote` commits groups
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level="DEFERRED")
        self._pending = 0
        self._since = 0.0
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def load(self) -> dict[str, BaseEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, sha256, version_id, etag FROM base"
            ).fetchall()
        return {row[0]: BaseEntry(*row) for row in rows}

    def put(self, entry: BaseEntry) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO base VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.path,
                    entry.size,
                    entry.mtime_ns,
                    entry.sha256,
                    entry.version_id,
                    entry.etag,
                ),
            )
            self._wrote()

    def forget(self, path: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM base WHERE path = ?", (path,))
            self._wrote()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self._commit()

    def flush(self) -> None:
        """Commit the base writes still waiting for their group."""
        with self._lock:
            self._commit()

    def _wrote(self) -> None:
        """One base written (lock held): commit its group when it is full or old enough."""
        now = time.monotonic()
        if self._pending == 0:
            self._since = now
        self._pending += 1
        if self._pending >= COMMIT_EVERY or now - self._since >= COMMIT_AFTER:
            self._commit()

    def _commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        with self._lock:
            self._commit()
            self._db.close()
