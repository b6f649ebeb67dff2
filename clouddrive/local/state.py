"""The drive's state database: the base of every path (ROOT/.clouddrive/state.db, SQLite).

A base row is written only after its action succeeded, so a crash loses at most the record
of work that a rerun then adopts as "same on both sides". That is also why commits need
not wait for the disk, nor come one per base: in WAL mode with `synchronous=NORMAL` a power
cut can only lose the last few commits (never corrupt the file), and base writes are grouped
into one transaction per `COMMIT_EVERY` writes or `COMMIT_AFTER` seconds (and at every meta
write, flush and close), so a killed process loses at most that last group. The rerun adopts
those paths. An fsync'd commit per base (`synchronous=FULL`) cost a download of 5,000 small
files most of its time, on the one thread that records every outcome.
Each row keeps when it was recorded (`recorded_ns`), for the "racily clean" rule.
"""

from __future__ import annotations

import contextlib
import itertools
import shlex
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clouddrive import errors
from clouddrive.core.models import BaseEntry

__all__ = ["COMMIT_AFTER", "COMMIT_EVERY", "StateDamaged", "StateStore"]

_ROW = "(?, ?, ?, ?, ?, ?, ?)"  #: one base row's parameters
_PUT = f"INSERT OR REPLACE INTO base VALUES {_ROW}"
_FORGET = "DELETE FROM base WHERE path = ?"
#: rows of a group written by one statement (7 parameters a row; SQLite allows 32,766)
_ROWS_A_STATEMENT = 500


def _write_rows(db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Many rows in one statement: `executemany` steps once a row and gives up the GIL at
    each step (100 rows took 30 ms while transfer threads ran); one statement steps once."""
    if sql == _PUT:
        values = ", ".join([_ROW] * len(rows))
        db.execute(f"INSERT OR REPLACE INTO base VALUES {values}", _flat(rows))
    else:
        marks = ", ".join(["?"] * len(rows))
        db.execute(f"DELETE FROM base WHERE path IN ({marks})", _flat(rows))


def _flat(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [value for row in rows for value in row]


COMMIT_EVERY = 500  #: base writes per transaction, at most
COMMIT_AFTER = 0.5  #: seconds a base write waits for its commit, at most (see `_wrote`)


class StateDamaged(errors.LocalError):
    """The state database cannot be read: `clouddrive reset` rebuilds it (files and S3
    stay as they are; the next sync compares both sides afresh)."""


class StateDiskFull(errors.LocalError):
    """The disk holding the state database is full."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS base (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    version_id TEXT NOT NULL,
    etag TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL DEFAULT 0
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
        self._pending = 0
        self._since = 0.0
        #: writes waiting for the end of a `grouped` block: (statement, parameters)
        self._held: list[tuple[str, tuple[Any, ...]]] | None = None
        with self._translated():
            # "DEFERRED": sqlite3 opens a transaction before a write; `_wrote` commits groups
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level="DEFERRED")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            with contextlib.suppress(sqlite3.OperationalError):  # a database from before it
                self._db.execute(
                    "ALTER TABLE base ADD COLUMN recorded_ns INTEGER NOT NULL DEFAULT 0"
                )
        self._content_since_ns: int | None = None

    def reading_from(self, moment_ns: int) -> None:
        """Contents of bases put from now on were read no earlier than `moment_ns` (a run's
        scan start): they are stamped with it, never later, so an edit made after the read
        in the same mtime tick still reads as "racily clean" and gets hashed."""
        with self._lock:
            self._content_since_ns = moment_ns

    def _stamp(self) -> int:
        now = time.time_ns()
        since = self._content_since_ns
        return now if since is None else min(now, since)

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's failures in the user's words: a full disk, a damaged file (with the
        command that fixes it, runnable as printed)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            raise StateDiskFull(
                f"the disk holding {self.path} is full: free some space on it, then run the "
                "command again"
            ) from exc
        except sqlite3.DatabaseError as exc:
            root = self.path.parent.parent
            raise StateDamaged(
                f"the sync state database {self.path} is damaged ({exc}); your files and S3 "
                "are fine. Rebuild it (the next sync compares both sides afresh) with: "
                f"clouddrive --root {shlex.quote(str(root))} reset --yes"
            ) from exc

    def load(self) -> dict[str, BaseEntry]:
        with self._lock, self._translated():
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, sha256, version_id, etag, recorded_ns FROM base"
            ).fetchall()
        return {row[0]: BaseEntry(*row) for row in rows}

    def put(self, entry: BaseEntry) -> None:
        row = (
            entry.path,
            entry.size,
            entry.mtime_ns,
            entry.sha256,
            entry.version_id,
            entry.etag,
            entry.recorded_ns or self._stamp(),
        )
        with self._lock:
            if self._held is not None:
                self._held.append((_PUT, row))
                return
            with self._translated():
                self._db.execute(_PUT, row)
                self._wrote()

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        """Puts and forgets inside are written together when it ends, in their order (one
        statement a run of puts or of forgets, `_write_rows`). Why: the outcomes of a bulk
        transfer arrive by the hundred, and each `execute` gives up the GIL and waits to get
        it back from the transfer threads (5,000 single puts took 2.6 s of the main thread's
        time). Reads inside see the state from before it; only the engine's outcome loop
        groups."""
        with self._lock:
            nested = self._held is not None
            if not nested:
                self._held = []
        if nested:
            yield
            return
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held or [], None
                with self._translated():
                    for sql, group in itertools.groupby(held, key=lambda op: op[0]):
                        rows = [row for _, row in group]
                        for start in range(0, len(rows), _ROWS_A_STATEMENT):
                            _write_rows(self._db, sql, rows[start : start + _ROWS_A_STATEMENT])
                        self._wrote(len(rows))

    def restamp(self, paths: Iterable[str], recorded_ns: int) -> None:
        """Mark the bases of `paths` as recorded at `recorded_ns` (their files were just hashed
        and found equal to the base: only the racily-clean clock moves)."""
        rows = [(recorded_ns, path, recorded_ns) for path in paths]
        if not rows:
            return
        with self._lock, self._translated():
            self._db.executemany(
                "UPDATE base SET recorded_ns = ? WHERE path = ? AND recorded_ns < ?", rows
            )
            self._commit()

    def forget(self, path: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append((_FORGET, (path,)))
                return
            with self._translated():
                self._db.execute(_FORGET, (path,))
                self._wrote()

    def get_meta(self, key: str) -> str | None:
        with self._lock, self._translated():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._translated():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self._commit()

    def flush(self) -> None:
        """Commit the base writes still waiting for their group."""
        with self._lock, self._translated():
            self._commit()

    def _wrote(self, count: int = 1) -> None:
        """`count` bases written (lock held): commit their group when it is full or old
        enough."""
        now = time.monotonic()
        if self._pending == 0:
            self._since = now
        self._pending += count
        if self._pending >= COMMIT_EVERY or now - self._since >= COMMIT_AFTER:
            self._commit()

    def _commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):  # a damaged or full database: nothing to keep
                self._commit()
            self._db.close()
