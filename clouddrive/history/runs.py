"""Run records on S3: writing a run's record so that it survives an interrupt, listing and
reading records (with a local cache), and finding who wrote a version or delete marker.

The remote state always comes from the version listing; run records add what the listing
cannot say: who put a delete marker (markers carry no metadata), and which versions one run
wrote, so that the run can be undone. The data itself is in `clouddrive.history.records`.

A run's life (`RunLog.start` -> `ActiveRun`):
1. `start` completes any record this drive left unfinished (from its local journal), then
   writes the new record to S3 with state `running` and what is planned, before the first
   destructive step; the same record goes into the drive's local journal.
2. `ActiveRun.done` / `failed` as each action ends: appended to the journal (cheap), and the
   S3 record is rewritten at most every `flush_every` seconds.
3. `ActiveRun.finish` writes the record with every action and state `finished` (or
   `interrupted`) and drops the journal. A run killed before this leaves the journal: the
   next `start` (or `complete_unfinished`) of the same drive writes its record as
   `interrupted`, with every action that finished.

Records change only while their run is unfinished; a finished record read once is kept in
a local cache (the drive's `.clouddrive/cache/runs/`), so a feed or a "deleted by" look-up
fetches each finished record from S3 at most once per machine.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from clouddrive import errors
from clouddrive.history.cache import RecordCache
from clouddrive.history.journal import RunJournal
from clouddrive.history.records import (
    FINISHED,
    INTERRUPTED,
    RUNNING,
    RUNS_DIR,
    STAMP,
    RunAction,
    RunRecord,
    RunRef,
    parse_relkey,
    record_relkey,
)
from clouddrive.ledger import S3Remote

__all__ = ["LOOKBACK", "ActiveRun", "RunLog", "Writers", "new_run_id"]

#: how long before a delete marker's time the run that wrote it may have started
LOOKBACK = timedelta(days=3)
#: how far a client's clock (which names the record) may run ahead of S3's
SKEW = timedelta(days=1)
#: how far back a rerun looks for its own unfinished run to finish
RESUME_WINDOW = timedelta(days=7)

log = logging.getLogger("clouddrive")


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


def _could_have_written(started: datetime, times: Sequence[datetime]) -> bool:
    """Could a run that started at `started` have written an entry stamped at one of
    `times` (sorted)? Entries come after their run's start, give or take clock skew."""
    i = bisect.bisect_left(times, started - SKEW)
    return i < len(times) and times[i] <= started + LOOKBACK


class Writers:
    """Who wrote which version or delete marker: (path, version id) -> run record.

    A run may have written a key it did not record (`RunRecord.unconfirmed_writes`): a key
    it planned to write, and that no record claims, is put down to it (`get` falls back to
    it)."""

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], RunRecord] = {}
        self.planned: dict[str, RunRecord] = {}

    def get(self, key: tuple[str, str]) -> RunRecord | None:
        return self.exact.get(key) or self.planned.get(key[0])


class ActiveRun:
    """A run in progress: its record is on S3 (state `running`) and in the local journal."""

    def __init__(self, runs: RunLog, record: RunRecord, flush_every: float) -> None:
        self.runs = runs
        self.record = record
        self.flush_every = flush_every
        self._done = list(record.actions)
        self._failed = list(record.failed)
        self._lock = threading.Lock()
        self._flushed = time.monotonic()
        self.relkey: str | None = record.relkey

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def actions(self) -> list[RunAction]:
        with self._lock:
            return list(self._done)

    def done(self, action: RunAction) -> None:
        """One action finished (call it after the action, before anything else)."""
        self.runs.journal_done(self.run_id, action)
        with self._lock:
            self._done.append(action)
            due = time.monotonic() - self._flushed >= self.flush_every
            if due:
                self._flushed = time.monotonic()
        if due:
            self._write(RUNNING)

    def failed(self, path: str, action: str, error: str) -> None:
        failure = {"path": path, "action": action, "error": error}
        self.runs.journal_failed(self.run_id, failure)
        with self._lock:
            self._failed.append(failure)

    def snapshot(self, state: str) -> RunRecord:
        with self._lock:
            done, failed = tuple(self._done), tuple(self._failed)
        finished = None if state == RUNNING else self.runs.clock()
        return dataclasses.replace(
            self.record, actions=done, failed=failed, state=state, finished=finished
        )

    def _write(self, state: str) -> str | None:
        try:
            self.relkey = self.runs.write(self.snapshot(state))
        except errors.RemoteError as exc:
            log.warning("could not write the run record of %s: %s", self.run_id, exc)
            return None
        return self.relkey

    def finish(self, *, interrupted: bool = False) -> str | None:
        """Write the complete record (`finished`, or `interrupted`) and drop the journal;
        its key, or None if S3 refused (the journal then stays: the next run completes it)."""
        written = self._write(INTERRUPTED if interrupted else FINISHED)
        if written is not None:
            self.runs.journal_end(self.run_id)
        elif self.runs.journal is not None:
            self.runs.journal.close(self.run_id)  # kept on disk, but no longer held open
        return written

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(interrupted=exc is not None)


@dataclass
class RunLog:
    """The run records of one prefix: start and finish runs, list and read records.

    `journal_dir`: where this drive journals its runs in progress (default: beside the
    cache, `ROOT/.clouddrive/journal/` when `cache_dir` is `ROOT/.clouddrive/cache/runs/`);
    without either, nothing is journalled and only S3 holds a running record."""

    remote: S3Remote
    cache_dir: Path | None = None
    workers: int = 8
    journal_dir: Path | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    flush_every: float = 30.0  #: seconds between rewrites of a running record on S3
    _memory: dict[str, RunRecord | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.journal_dir is None and self.cache_dir is not None:
            self.journal_dir = self.cache_dir.parent.parent / "journal"
        self.journal = RunJournal(self.journal_dir) if self.journal_dir is not None else None
        self.cache = RecordCache(self.cache_dir)

    # -- a run's life ------------------------------------------------------------------------

    def start(
        self,
        *,
        kind: str,
        user: str,
        planned: Sequence[RunAction] = (),
        run_id: str | None = None,
        started: datetime | None = None,
        done: Sequence[RunAction] = (),
        request: str | None = None,
        undo_of: str | None = None,
        at: datetime | None = None,
    ) -> ActiveRun:
        """Begin a run: complete records this drive left unfinished, then write this one
        (state `running`, with `planned`) to the journal and to S3. Call it before the
        first destructive step. `run_id`/`started`/`done`: to carry on an interrupted run
        under its own record (time travel resuming)."""
        run_id = run_id or new_run_id()
        self.complete_unfinished(keep={run_id})
        started = started or self.clock()
        record = RunRecord(
            run_id=run_id,
            user=user,
            host=socket.gethostname(),
            started=started,
            kind=kind,
            actions=tuple(done),
            undo_of=undo_of,
            at=at,
            relkey=record_relkey(started, user, run_id),
            state=RUNNING,
            planned=tuple(planned),
            request=request,
        )
        if self.journal is not None:
            try:
                self.journal.begin(record)
            except OSError as exc:
                raise errors.LocalError(f"cannot write the run journal: {exc}") from exc
        run = ActiveRun(self, record, self.flush_every)
        run._write(RUNNING)
        return run

    def journal_done(self, run_id: str, action: RunAction) -> None:
        if self.journal is not None:
            self.journal.done(run_id, action)

    def journal_failed(self, run_id: str, failure: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.failed(run_id, failure)

    def journal_end(self, run_id: str) -> None:
        if self.journal is not None:
            self.journal.end(run_id)

    def complete_unfinished(self, *, keep: Iterable[str] = ()) -> list[str]:
        """Write the records of this drive's interrupted runs (from its journal) as
        `interrupted`, with every action they finished; their keys. Runs in `keep` stay."""
        if self.journal is None:
            return []
        kept = set(keep)
        written = []
        for record in self.journal.pending():
            if record.run_id in kept:
                continue
            final = dataclasses.replace(record, state=INTERRUPTED, finished=self.clock())
            try:
                written.append(self.write(final))
            except errors.RemoteError as exc:
                log.warning("could not complete the record of run %s: %s", record.run_id, exc)
                continue
            self.journal.end(record.run_id)
        return written

    def unfinished(self, user: str, kind: str, request: str) -> RunRecord | None:
        """This user's newest run of `kind` asked as `request` that did not finish (from the
        journal first, else from S3), to carry on with the same plan; None if there is none."""
        if self.journal is not None:
            for record in reversed(self.journal.pending()):
                if (record.user, record.kind, record.request) == (user, kind, request):
                    return record
        refs = [
            r
            for r in self.refs(since=self.clock() - RESUME_WINDOW)
            if r.relkey == record_relkey(r.started, user, r.run_id)
        ]
        for record in sorted(self.read_many(refs), key=lambda r: r.started, reverse=True):
            if not record.is_finished and (record.kind, record.request) == (kind, request):
                return record
        return None

    # -- writing -----------------------------------------------------------------------------

    def write(self, record: RunRecord) -> str:
        """Store a record (a new one, or a new state of a run's own); its key. Raises
        RemoteError if S3 refuses."""
        relkey = record_relkey(record.started, record.user, record.run_id)
        # compact: `indent` would send json through its pure-Python encoder (1.5 s of CPU for
        # a record of 5,000 actions, written twice a run); `clouddrive runs` shows it anyway
        body = json.dumps(record.to_json(), separators=(",", ":")).encode()
        self.remote.put_bytes(relkey, body)
        self._memory.pop(relkey, None)
        if record.is_finished:
            self.cache.put(relkey, body)
        return relkey

    # -- listing -----------------------------------------------------------------------------

    def refs(self, *, since: datetime | None = None) -> list[RunRef]:
        """Every record's key (started at or after `since`), oldest first."""
        start_after = None
        floor = None
        if since is not None:
            # Keys sort by their time stamp, and "STAMP-..." sorts after "STAMP".
            floor = since.astimezone(UTC).replace(microsecond=0)
            start_after = f"{RUNS_DIR}/{floor:{STAMP}}"
        found = []
        for relkey in self.remote.list_objects(f"{RUNS_DIR}/", start_after=start_after):
            ref = parse_relkey(relkey)
            if ref is not None and (floor is None or ref.started >= floor):
                found.append(ref)
        return sorted(found, key=lambda r: (r.started, r.relkey))

    def find(self, run_id: str) -> RunRecord:
        """The record of one run (a unique prefix of its id will do)."""
        wanted = run_id.strip()
        if not wanted:
            raise errors.UserError("no run id given (see 'clouddrive activity')")
        refs = self.refs()
        exact = [r for r in refs if r.run_id == wanted]
        matches = exact or [r for r in refs if r.run_id.startswith(wanted)]
        if not matches:
            raise errors.UserError(f"no run {wanted} on this drive (see 'clouddrive activity')")
        if len({r.run_id for r in matches}) > 1:
            raise errors.UserError(f"run id {wanted} is ambiguous; give more of it")
        record = self.read(matches[0])
        if record is None:
            raise errors.RemoteError(f"the record of run {wanted} cannot be read")
        return record

    # -- reading -----------------------------------------------------------------------------

    def read(self, ref: RunRef) -> RunRecord | None:
        """One record (None, logged, if it is unreadable: a feed must not die of one)."""
        if ref.relkey in self._memory:
            return self._memory[ref.relkey]
        body = self.cache.get(ref.relkey)
        from_cache = body is not None
        if body is None:
            try:
                body = self.remote.read_bytes(ref.relkey)
            except errors.RemoteError as exc:
                log.warning("cannot read run record %s: %s", ref.relkey, exc)
                return None
        try:
            record: RunRecord | None = RunRecord.from_json(json.loads(body), ref.relkey)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("run record %s is not valid: %s", ref.relkey, exc)
            record = None
        if record is not None and not record.is_finished:
            return record  # it may still change: never cached
        if record is not None and not from_cache:
            self.cache.put(ref.relkey, body)
        self._memory[ref.relkey] = record
        return record

    def read_many(self, refs: Iterable[RunRef]) -> list[RunRecord]:
        """Several records, fetched in parallel, in the order given (unreadable ones left out)."""
        refs = list(refs)
        if not refs:
            return []
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            records = list(pool.map(self.read, refs))
        return [r for r in records if r is not None]

    def writers(self, times: Sequence[datetime]) -> Writers:
        """Who wrote which version or delete marker, among the runs that could have written
        an entry stamped at one of `times`."""
        found = Writers()
        if not times:
            return found
        ordered = sorted(times)
        refs = [
            r
            for r in self.refs(since=ordered[0] - LOOKBACK)
            if _could_have_written(r.started, ordered)
        ]
        for record in self.read_many(refs):
            for action in record.remote_actions:
                assert action.version_id is not None
                found.exact[(action.path, action.version_id)] = record
            # A write the run may have made without recording it (killed before its journal
            # entry; or an answer lost and the write reported failed): a key it planned,
            # that no record claims, is put down to it.
            for action in record.unconfirmed_writes:
                found.planned.setdefault(action.path, record)
        return found
