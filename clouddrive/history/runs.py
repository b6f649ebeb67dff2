"""Run records: who did what, one small JSON object per run under `PREFIX/.clouddrive/runs/`.

The remote state always comes from the version listing; run records add what the listing
cannot say: who put a delete marker (markers carry no metadata), and which versions one run
wrote, so that the run can be undone. A record's key sorts by time:
`PREFIX/.clouddrive/runs/<UTC %Y%m%dT%H%M%SZ>-<user>-<run id>.json`.

Records are written once and never changed, so every record read is also kept in a local
cache (the drive's `.clouddrive/cache/runs/`): a feed or a "deleted by" lookup fetches each
record from S3 at most once per machine.

Format (version 1; records written before `format` existed read the same way):
`run_id`, `user`, `host`, `started`, `finished` (ISO 8601), `kind` (`sync`, `restore`,
`restore-deleted`, `restore-at`, `undo`; missing means `sync`), `actions` (each `op`,
`path`, `version_id`, `parent`, and `source` for a copy forward), `failed` (each `path`,
`action`, `error`), and for time travel `undo_of` (a run id) and `at` (a moment).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clouddrive import errors
from clouddrive.core.paths import INTERNAL_DIR, safe_name
from clouddrive.ledger import S3Remote

__all__ = [
    "CREATING_OPS",
    "RECORD_FORMAT",
    "RUNS_DIR",
    "RunAction",
    "RunLog",
    "RunRecord",
    "RunRef",
    "parse_relkey",
    "record_relkey",
]

RUNS_DIR = f"{INTERNAL_DIR}/runs"
RECORD_FORMAT = 1
#: ops that wrote a new version or delete marker on S3 (`version_id` is what they wrote);
#: the others (download, delete-local) changed only the runner's own disk.
CREATING_OPS = frozenset({"upload", "conflict-copy", "delete-remote", "restore"})
#: how long before a delete marker's time the run that wrote it may have started
LOOKBACK = timedelta(days=3)
#: how far a client's clock (which names the record) may run ahead of S3's
SKEW = timedelta(days=1)

_STAMP = "%Y%m%dT%H%M%SZ"
_RELKEY = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<user>.*)-(?P<run>[^-/]+)\.json$")

log = logging.getLogger("clouddrive")


@dataclass(frozen=True, slots=True)
class RunAction:
    """One change a run made. For CREATING_OPS, `version_id` is the version (or delete
    marker) it wrote and `parent` the version it replaced; `source` is the version a
    restore copied forward."""

    op: str
    path: str
    version_id: str | None = None
    parent: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": self.op,
            "path": self.path,
            "version_id": self.version_id,
            "parent": self.parent,
        }
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunAction:
        def opt(name: str) -> str | None:
            value = data.get(name)
            return None if value is None else str(value)

        return cls(
            str(data.get("op", "")),
            str(data.get("path", "")),
            opt("version_id"),
            opt("parent"),
            opt("source"),
        )


@dataclass(frozen=True)
class RunRecord:
    """Who did what in one run."""

    run_id: str
    user: str
    host: str
    started: datetime
    finished: datetime | None = None
    kind: str = "sync"
    actions: tuple[RunAction, ...] = ()
    failed: tuple[dict[str, Any], ...] = ()
    undo_of: str | None = None
    at: datetime | None = None
    relkey: str | None = None  #: where it is stored (relative to the prefix)

    @property
    def remote_actions(self) -> list[RunAction]:
        """The actions that wrote versions or delete markers on S3."""
        return [a for a in self.actions if a.op in CREATING_OPS and a.version_id]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for action in self.actions:
            found[action.op] = found.get(action.op, 0) + 1
        return found

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": RECORD_FORMAT,
            "run_id": self.run_id,
            "kind": self.kind,
            "user": self.user,
            "host": self.host,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "actions": [a.to_json() for a in self.actions],
            "failed": list(self.failed),
        }
        if self.undo_of is not None:
            data["undo_of"] = self.undo_of
        if self.at is not None:
            data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], relkey: str | None = None) -> RunRecord:
        """Read a record of any format so far; raises ValueError if it is not one."""
        if not isinstance(data, dict) or "run_id" not in data or "started" not in data:
            raise ValueError("not a run record")

        def moment(value: Any) -> datetime | None:
            if not value:
                return None
            parsed = datetime.fromisoformat(str(value))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        started = moment(data["started"])
        assert started is not None
        return cls(
            run_id=str(data["run_id"]),
            user=str(data.get("user", "unknown")),
            host=str(data.get("host", "")),
            started=started,
            finished=moment(data.get("finished")),
            kind=str(data.get("kind") or "sync"),
            actions=tuple(
                RunAction.from_json(a) for a in data.get("actions", []) if isinstance(a, dict)
            ),
            failed=tuple(f for f in data.get("failed", []) if isinstance(f, dict)),
            undo_of=str(data["undo_of"]) if data.get("undo_of") else None,
            at=moment(data.get("at")),
            relkey=relkey,
        )


@dataclass(frozen=True, slots=True)
class RunRef:
    """A record known by its key alone: when it started, whose, which run."""

    relkey: str
    started: datetime
    user: str
    run_id: str


def record_relkey(started: datetime, user: str, run_id: str) -> str:
    """Where a run's record goes, relative to the prefix."""
    return f"{RUNS_DIR}/{started.astimezone(UTC):{_STAMP}}-{safe_name(user)}-{run_id}.json"


def parse_relkey(relkey: str) -> RunRef | None:
    """The time, user and run id a record's key names; None for anything else."""
    name = relkey.rsplit("/", 1)[-1]
    match = _RELKEY.match(name)
    if not match:
        return None
    started = datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)
    return RunRef(relkey, started, match["user"], match["run"])


def _could_have_written(started: datetime, times: Sequence[datetime]) -> bool:
    """Could a run that started at `started` have written an entry stamped at one of
    `times` (sorted)? Entries come after their run's start, give or take clock skew."""
    i = bisect.bisect_left(times, started - SKEW)
    return i < len(times) and times[i] <= started + LOOKBACK


@dataclass
class RunLog:
    """The run records of one prefix: write, list, read (with a local cache)."""

    remote: S3Remote
    cache_dir: Path | None = None
    workers: int = 8
    _memory: dict[str, RunRecord | None] = field(default_factory=dict, repr=False)

    # -- writing -----------------------------------------------------------------------------

    def write(self, record: RunRecord) -> str:
        """Store a record; its key. Raises RemoteError if S3 refuses."""
        relkey = record_relkey(record.started, record.user, record.run_id)
        body = json.dumps(record.to_json(), indent=1).encode()
        self.remote.put_bytes(relkey, body)
        self._cache_put(relkey, body)
        return relkey

    # -- listing -----------------------------------------------------------------------------

    def refs(self, *, since: datetime | None = None) -> list[RunRef]:
        """Every record's key (started at or after `since`), oldest first."""
        start_after = None
        floor = None
        if since is not None:
            # Keys sort by their time stamp, and "STAMP-..." sorts after "STAMP".
            floor = since.astimezone(UTC).replace(microsecond=0)
            start_after = f"{RUNS_DIR}/{floor:{_STAMP}}"
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
        body = self._cache_get(ref.relkey)
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
        if record is not None and not from_cache:
            self._cache_put(ref.relkey, body)
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

    def writers(self, times: Sequence[datetime]) -> dict[tuple[str, str], RunRecord]:
        """(path, version id) -> the run that wrote that version or delete marker, for runs
        that could have written an entry stamped at one of `times`."""
        if not times:
            return {}
        ordered = sorted(times)
        refs = [
            r
            for r in self.refs(since=ordered[0] - LOOKBACK)
            if _could_have_written(r.started, ordered)
        ]
        found: dict[tuple[str, str], RunRecord] = {}
        for record in self.read_many(refs):
            for action in record.remote_actions:
                assert action.version_id is not None
                found[(action.path, action.version_id)] = record
        return found

    # -- the local cache -----------------------------------------------------------------------

    def _cache_path(self, relkey: str) -> Path | None:
        if self.cache_dir is None:
            return None
        name = relkey.rsplit("/", 1)[-1]
        if parse_relkey(name) is None or name.startswith("."):
            return None
        return self.cache_dir / name

    def _cache_get(self, relkey: str) -> bytes | None:
        path = self._cache_path(relkey)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _cache_put(self, relkey: str, body: bytes) -> None:
        path = self._cache_path(relkey)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, path)
        except OSError as exc:  # a cache: never worth failing over
            log.debug("cannot cache run record %s: %s", relkey, exc)
