"""The scaffold every run of a drive shares (sync, pull, resolve): the drive's lock, a clean
temp folder, a per-run log file and the run record on S3.

The run record survives an interrupt: it is written (state `running`, with the plan) before
the first action, each finished action is journalled locally as it lands, and the record is
completed at the end, or by the next run of this drive if this one was killed.

One logger per run (`clouddrive.run.<id>`), not handlers added to the package logger: two
drives running in one process (the app, a test, a script) never write into each other's logs.
Names are escaped in the log, so a file name holding a newline cannot forge a log line.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from clouddrive import errors
from clouddrive.core.models import ActionKind
from clouddrive.core.paths import escape_name
from clouddrive.history.records import RunAction
from clouddrive.history.runs import ActiveRun, RunLog
from clouddrive.ledger import S3Remote
from clouddrive.local.config import internal_dir
from clouddrive.local.lock import DriveLock
from clouddrive.sync.localside import clean_tmp
from clouddrive.sync.outcome import Outcome
from clouddrive.sync.report import SyncReport

__all__ = ["STOP_WAIT", "RunScope"]


class _EscapingFormatter(logging.Formatter):
    """Writes every character that is not printable as an escape (newlines, controls, bytes
    of names that are not UTF-8), so one entry is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_name(super().format(record))


class _RunLogHandler(logging.FileHandler):
    """The run's log file. An entry that cannot be written (a full disk) is dropped without
    the traceback `logging` prints by default: the run goes on, its outcome says the rest."""

    holding = False  #: inside `RunScope.grouped`: lines are flushed when it ends

    def handleError(self, record: logging.LogRecord) -> None:
        self.lost = getattr(self, "lost", 0) + 1

    def flush(self) -> None:
        if not self.holding:
            super().flush()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Lines written inside reach the file together when it ends."""
        nested, self.holding = self.holding, True
        try:
            yield
        finally:
            if not nested:
                self.holding = False
                try:
                    self.flush()
                except OSError:  # a full disk: the lines are dropped, as `emit` drops them
                    self.lost = getattr(self, "lost", 0) + 1


_BOOKKEEPING = frozenset({ActionKind.RECORD, ActionKind.FORGET})
STOP_WAIT = 1.0  #: seconds a stopped or failed run gives S3 to take its final record


class RunScope:
    """One run of one drive. Enter it to hold the lock (a second run is refused, `LockHeld`),
    clear leftovers and complete records earlier runs left unfinished; `begin` opens the
    run's log and starts its record once there is something to do; `outcome` logs and
    journals each finished action; `finish` completes the record; leaving it (normally or
    by an exception, Ctrl-C included) closes the log, marks an unfinished record
    interrupted and releases the lock."""

    def __init__(
        self,
        root: Path,
        run_id: str,
        *,
        user: str,
        runs: Callable[[], RunLog],
        remote: S3Remote,
    ) -> None:
        self.root = root
        self.remote = remote
        self.run_id = run_id
        self.user = user
        self._runs = runs
        self._lock = DriveLock(internal_dir(root) / "lock")
        self._handler: _RunLogHandler | None = None
        self._active: ActiveRun | None = None
        self.log = logging.getLogger(f"clouddrive.run.{run_id}")
        self.started = datetime.now(UTC)

    def __enter__(self) -> RunScope:
        self._lock.acquire()
        try:
            clean_tmp(self.root)
            try:
                self.remote.abort_interrupted_uploads()  # a killed run's open multipart parts
                self._runs().complete_unfinished()
            except errors.RemoteError as exc:
                self.log.warning("could not clean up after an earlier run: %s", exc)
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
            if self._active is not None:
                self._finish(interrupted=True, wait=STOP_WAIT)
            if self._handler is not None:
                self.log.removeHandler(self._handler)
                self._handler.close()
                self._handler = None
            logging.Logger.manager.loggerDict.pop(self.log.name, None)
        finally:
            self._lock.release()

    def begin(self, report: SyncReport, *, kind: str, record: bool = True) -> None:
        """Open this run's log file, `.clouddrive/logs/<time>-<run>.log` (report.log_path),
        and, with `record` and anything beyond bookkeeping to do, start the run record."""
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
        planned = [a for a in report.plan.actions if a.kind not in _BOOKKEEPING]
        if record and planned:
            self._active = self._runs().start(
                kind=kind,
                user=self.user,
                run_id=self.run_id,
                started=self.started,
                planned=[RunAction(a.kind.value, a.path) for a in planned],
            )

    def outcome(self, outcome: Outcome) -> None:
        """One finished action: a log line (done, or skipped and why) and, once its bases
        are stored, a journal entry of every version it wrote."""
        action = outcome.action
        if outcome.error:
            self.log.warning("skipped %s %s: %s", action.kind.value, action.path, outcome.error)
        else:
            note = f" ({outcome.note})" if outcome.note else ""
            self.log.info("%s %s%s", action.kind.value, action.path, note)
        if self._active is None:
            return
        for t in outcome.transfers if outcome.ok else ():
            self._active.done(RunAction(t.op, t.path, t.version_id, t.parent))
        if outcome.error:
            self._active.failed(action.path, action.kind.value, outcome.error)

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        """Log lines and journal entries of the outcomes handled inside are written out
        together when it ends (`StateStore.grouped` says why)."""
        with contextlib.ExitStack() as stack:
            if self._handler is not None:
                stack.enter_context(self._handler.held())
            if self._active is not None and self._active.runs.journal is not None:
                stack.enter_context(self._active.runs.journal.grouped())
            yield

    def finish(self, report: SyncReport, *, wait: float | None = None) -> None:
        """Complete the run record: `finished`, or `interrupted` for a cancelled run.

        `wait`: after a stop, give S3 at most that many seconds (the write goes on in the
        background; a paused server must not hold the stop up, and the local journal lets
        the next run complete the record). None waits as long as the write takes."""
        self._finish(interrupted=report.cancelled, wait=wait)

    def _finish(self, *, interrupted: bool, wait: float | None) -> None:
        active, self._active = self._active, None
        if active is None:
            return

        def write() -> None:
            if active.finish(interrupted=interrupted) is None:
                self.log.warning("could not write the run record of %s", self.run_id)

        if wait is None:
            write()
            return
        writer = threading.Thread(target=write, daemon=True, name="cd-run-record")
        writer.start()
        writer.join(wait)
        if writer.is_alive():
            self.log.warning(
                "the run record of %s was not written within %.1f s (S3 does not answer); "
                "the next run completes it",
                self.run_id,
                wait,
            )
