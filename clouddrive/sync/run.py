"""The scaffold every run of a drive shares (sync, pull, resolve): the drive's lock, a clean
temp folder, a per-run log file and the run record on S3.

One logger per run (`clouddrive.run.<id>`), not handlers added to the package logger: two
drives running in one process (the app, a test, a script) never write into each other's logs.
Names are escaped in the log, so a file name holding a newline cannot forge a log line.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from clouddrive import errors
from clouddrive.core.paths import escape_name
from clouddrive.history.runs import RunAction, RunLog, RunRecord
from clouddrive.local.config import internal_dir
from clouddrive.local.lock import DriveLock
from clouddrive.sync.executor import Outcome, clean_tmp
from clouddrive.sync.report import SyncReport

__all__ = ["RunScope"]


class _EscapingFormatter(logging.Formatter):
    """Writes every character that is not printable as an escape (newlines, controls, bytes
    of names that are not UTF-8), so one entry is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_name(super().format(record))


class _RunLogHandler(logging.FileHandler):
    """The run's log file. An entry that cannot be written (a full disk) is dropped without
    the traceback `logging` prints by default: the run goes on, its outcome says the rest."""

    def handleError(self, record: logging.LogRecord) -> None:
        self.lost = getattr(self, "lost", 0) + 1


class RunScope:
    """One run of one drive. Enter it to hold the lock (a second run is refused, `LockHeld`)
    and clear leftovers; `begin` opens the run's log once there is something to do; `record`
    writes the run record; leaving it closes the log and releases the lock."""

    def __init__(self, root: Path, run_id: str, *, user: str, runs: Callable[[], RunLog]) -> None:
        self.root = root
        self.run_id = run_id
        self.user = user
        self._runs = runs
        self._lock = DriveLock(internal_dir(root) / "lock")
        self._handler: logging.Handler | None = None
        self.log = logging.getLogger(f"clouddrive.run.{run_id}")
        self.started = datetime.now(UTC)

    def __enter__(self) -> RunScope:
        self._lock.acquire()
        try:
            clean_tmp(self.root)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._handler is not None:
                self.log.removeHandler(self._handler)
                self._handler.close()
                self._handler = None
            logging.Logger.manager.loggerDict.pop(self.log.name, None)
        finally:
            self._lock.release()

    def begin(self, report: SyncReport) -> None:
        """Open this run's log file, `.clouddrive/logs/<time>-<run>.log` (report.log_path)."""
        self.started = datetime.now(UTC)
        logs = internal_dir(self.root) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"{self.started:%Y%m%dT%H%M%SZ}-{self.run_id}.log"
        handler = _RunLogHandler(path, encoding="utf-8", errors="backslashreplace")
        handler.setFormatter(_EscapingFormatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)
        self.log.setLevel(logging.INFO)
        self._handler = handler
        report.log_path = path
        for left in report.plan.skipped:
            self.log.warning("skipped %s: %s", left.path, left.reason)

    def outcome(self, outcome: Outcome) -> None:
        """One line per finished action: done, or skipped and why."""
        action = outcome.action
        if outcome.error:
            self.log.warning("skipped %s %s: %s", action.kind.value, action.path, outcome.error)
        else:
            note = f" ({outcome.note})" if outcome.note else ""
            self.log.info("%s %s%s", action.kind.value, action.path, note)

    def record(self, report: SyncReport, kind: str, *, wait: float | None = None) -> None:
        """Who did what: one small JSON object per run that changed anything (history.runs).

        `wait`: after a stop, give S3 at most that many seconds (the write goes on in the
        background; a paused server must not hold the stop up). None waits as long as the
        write takes."""
        transfers = report.transfers
        if not transfers:
            return
        record = RunRecord(
            run_id=report.run_id,
            user=self.user,
            host=socket.gethostname(),
            started=self.started,
            finished=datetime.now(UTC),
            kind=kind,
            actions=tuple(RunAction(t.op, t.path, t.version_id, t.parent) for t in transfers),
            failed=tuple(
                {"path": o.action.path, "action": o.action.kind.value, "error": o.error}
                for o in report.failed
            ),
        )
        if wait is None:
            self._write(record)
            return
        writer = threading.Thread(target=self._write, args=(record,), daemon=True)
        writer.start()
        writer.join(wait)
        if writer.is_alive():
            self.log.warning(
                "the run record of %s was not written within %.1f s (S3 does not answer)",
                report.run_id,
                wait,
            )

    def _write(self, record: RunRecord) -> None:
        try:
            self._runs().write(record)
        except errors.RemoteError as exc:
            self.log.warning("could not write the run record of %s: %s", record.run_id, exc)
