"""The remote change feed: "did anyone else change the prefix since I last looked?"

Every clouddrive run that changes anything writes a record under `PREFIX/.clouddrive/runs/`
whose key starts with its UTC start time, so one small `ListObjectsV2` with `StartAfter`
answers the question whatever the size of the drive. Two things make a plain "after the last
key I saw" wrong, so the feed looks back over a window instead and remembers what it saw:

- clocks differ between machines: a record named by a clock that runs behind sorts before
  records already seen;
- a record is named by its run's *start*, but may appear only when the run ends (or be
  rewritten when it completes), minutes later.

So each poll lists the keys stamped after `now - lookback` (on this machine's clock), and
reports the ones not seen before that this drive did not write itself (its own run ids are
noted by the loop) and that changed something on S3 (a run that only downloaded is no news;
this also keeps two watching drives from waking each other for nothing). A record still
open (`finished` empty) is read again on later polls, and reported again when it completes,
so the tail of a long run is not missed. Writers that are not clouddrive leave no record at
all: the watch loop's slower full check catches those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from clouddrive import errors
from clouddrive.history.records import RUNS_DIR, RunRecord, RunRef, parse_relkey
from clouddrive.ledger import S3Remote

__all__ = ["DEFAULT_LOOKBACK", "ChangeFeed"]

#: how far back each poll looks: covers clock skew and runs that write their record late
DEFAULT_LOOKBACK = timedelta(minutes=10)
#: an open record is watched for at most this long (a crashed run never completes it)
OPEN_RECORD_LIMIT = timedelta(hours=1)

_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass
class ChangeFeed:
    """Polls one prefix's run records; `poll()` returns the new ones written by others."""

    remote: S3Remote
    lookback: timedelta = DEFAULT_LOOKBACK
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    own_runs: set[str] = field(default_factory=set)
    _seen: dict[str, datetime] = field(default_factory=dict, repr=False)
    _open: dict[str, datetime] = field(default_factory=dict, repr=False)
    requests: int = 0  #: S3 requests made so far (for the idle benchmark)
    others: int = 0  #: records by others in the last poll, news or not (a paused loop retries)

    def note_own(self, run_id: str) -> None:
        """A run of this drive: its record is not news."""
        self.own_runs.add(run_id)

    def _list(self, now: datetime) -> list[RunRef]:
        floor = (now - self.lookback).astimezone(UTC)
        self.requests += 1
        keys = self.remote.list_objects(f"{RUNS_DIR}/", start_after=f"{RUNS_DIR}/{floor:{_STAMP}}")
        return [ref for ref in map(parse_relkey, keys) if ref is not None]

    def prime(self) -> None:
        """Take the records already there as seen (the watch starts with a full sync)."""
        now = self.clock()
        for ref in self._list(now):
            self._seen[ref.relkey] = now

    def poll(self) -> list[RunRef]:
        """The records by others that changed S3 and appeared (or completed) since the last
        poll, oldest first. Raises RemoteError if S3 cannot be reached (the loop goes
        offline)."""
        now = self.clock()
        found = [ref for ref in self._list(now) if ref.relkey not in self._seen]
        news: list[RunRef] = []
        self.others = 0
        for ref in found:
            self._seen[ref.relkey] = now
            if ref.run_id in self.own_runs:
                continue
            self.others += 1
            record = self._read(ref)
            if record is None or record.remote_actions:
                news.append(ref)
            if record is not None and record.finished is None:
                self._open[ref.relkey] = now
        news += self._completed(now)
        self._forget_old(now)
        return sorted(set(news), key=lambda r: (r.started, r.relkey))

    def _read(self, ref: RunRef) -> RunRecord | None:
        """The record (None if it cannot be read or parsed: then it counts as news). A run
        that only downloaded or deleted local files changed nothing on S3: no news."""
        try:
            self.requests += 1
            return RunRecord.from_json(json.loads(self.remote.read_bytes(ref.relkey)), ref.relkey)
        except (errors.RemoteError, ValueError, TypeError, KeyError):
            return None

    def _completed(self, now: datetime) -> list[RunRef]:
        """Open records read again: the ones now finished (or given up on) are news."""
        done = []
        for relkey, first in list(self._open.items()):
            ref = parse_relkey(relkey)
            record = self._read(ref) if ref is not None else None
            if record is None or record.finished is not None or now - first > OPEN_RECORD_LIMIT:
                del self._open[relkey]
                if ref is not None and (record is None or record.remote_actions):
                    done.append(ref)
        return done

    def _forget_old(self, now: datetime) -> None:
        """Keys stamped before the window are never listed again: forget them."""
        floor = now - self.lookback - timedelta(minutes=1)
        for relkey in list(self._seen):
            ref = parse_relkey(relkey)
            if ref is None or ref.started < floor:
                self._seen.pop(relkey, None)
