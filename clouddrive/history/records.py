"""The run record's data: one small JSON object per run under `PREFIX/.clouddrive/runs/`.

A record's key sorts by time, `<UTC %Y%m%dT%H%M%SZ>-<user>-<run id>.json`, so that
`ListObjectsV2` with `StartAfter` on the runs folder is a change feed (watch mode).

Format (version 2; older records read the same way): `run_id`, `user`, `host`, `started`,
`finished` (ISO 8601), `state` (`running`: written before the first destructive step, so
an interrupt leaves a trace; `interrupted`: completed by a later run from what the drive
recorded locally; `finished`; missing means `finished`), `kind` (`sync`, `pull`, `resolve`,
`restore`, `restore-deleted`, `restore-at`, `undo`; missing means `sync`), `actions` (each
`op`, `path`, `version_id`, `parent`, and `source` for a copy forward: what was DONE),
`planned` (the same shape, `version_id` null: what the run set out to do), `failed` (each
`path`, `action`, `error`), and for time travel `request` (what was asked, to recognise a
rerun), `undo_of` (a run id) and `at` (a moment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clouddrive.core.paths import INTERNAL_DIR, safe_name

__all__ = [
    "CREATING_OPS",
    "FINISHED",
    "INTERRUPTED",
    "RECORD_FORMAT",
    "RUNNING",
    "RUNS_DIR",
    "STAMP",
    "RunAction",
    "RunRecord",
    "RunRef",
    "parse_relkey",
    "record_relkey",
]

RUNS_DIR = f"{INTERNAL_DIR}/runs"
RECORD_FORMAT = 2
#: ops that wrote a new version or delete marker on S3 (`version_id` is what they wrote);
#: the others (download, delete-local) changed only the runner's own disk.
CREATING_OPS = frozenset({"upload", "conflict-copy", "delete-remote", "restore"})
RUNNING = "running"  #: written before the first destructive step; the run may still be going
INTERRUPTED = "interrupted"  #: the run stopped early; a later run completed its record
FINISHED = "finished"
STAMP = "%Y%m%dT%H%M%SZ"

_RELKEY = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<user>.*)-(?P<run>[^-/]+)\.json$")


@dataclass(frozen=True, slots=True)
class RunAction:
    """One change a run made. For CREATING_OPS, `version_id` is the version (or delete
    marker) it wrote and `parent` the version it replaced; `source` is the version a
    restore copied forward. In a record's `planned` list, `version_id` is None."""

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


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _actions(items: Any) -> tuple[RunAction, ...]:
    return tuple(RunAction.from_json(a) for a in items or [] if isinstance(a, dict))


@dataclass(frozen=True)
class RunRecord:
    """Who did what in one run (and, while it runs or after an interrupt, what it meant to)."""

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
    state: str = FINISHED
    planned: tuple[RunAction, ...] = ()
    request: str | None = None  #: time travel: what was asked (a rerun asks the same)

    @property
    def remote_actions(self) -> list[RunAction]:
        """The actions that wrote versions or delete markers on S3."""
        return [a for a in self.actions if a.op in CREATING_OPS and a.version_id]

    @property
    def is_finished(self) -> bool:
        return self.state == FINISHED

    @property
    def unconfirmed_writes(self) -> list[RunAction]:
        """Planned writes that may have landed on S3 without being recorded as done.

        A run that did not finish may have been killed between a write and its journal
        entry: every planned write it does not list is one. A finished run may have made
        a write whose answer was lost (S3 applied it, the retry was refused and the check
        for our own entry failed too): the planned writes at the paths it lists as failed."""
        done = {a.path for a in self.remote_actions}
        if self.is_finished:
            failed = {str(f.get("path")) for f in self.failed}
            return [a for a in self.planned if a.op in CREATING_OPS and a.path in failed - done]
        return [a for a in self.planned if a.op in CREATING_OPS and a.path not in done]

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
            "state": self.state,
            "user": self.user,
            "host": self.host,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "actions": [a.to_json() for a in self.actions],
            "failed": list(self.failed),
        }
        if self.planned:
            data["planned"] = [a.to_json() for a in self.planned]
        if self.request is not None:
            data["request"] = self.request
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
        started = _moment(data["started"])
        if started is None:
            raise ValueError("a run record without a start time")
        return cls(
            run_id=str(data["run_id"]),
            user=str(data.get("user", "unknown")),
            host=str(data.get("host", "")),
            started=started,
            finished=_moment(data.get("finished")),
            kind=str(data.get("kind") or "sync"),
            actions=_actions(data.get("actions")),
            failed=tuple(f for f in data.get("failed", []) if isinstance(f, dict)),
            undo_of=str(data["undo_of"]) if data.get("undo_of") else None,
            at=_moment(data.get("at")),
            relkey=relkey,
            state=str(data.get("state") or FINISHED),
            planned=_actions(data.get("planned")),
            request=str(data["request"]) if data.get("request") else None,
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
    return f"{RUNS_DIR}/{started.astimezone(UTC):{STAMP}}-{safe_name(user)}-{run_id}.json"


def parse_relkey(relkey: str) -> RunRef | None:
    """The time, user and run id a record's key names; None for anything else."""
    name = relkey.rsplit("/", 1)[-1]
    match = _RELKEY.match(name)
    if not match:
        return None
    started = datetime.strptime(match["stamp"], STAMP).replace(tzinfo=UTC)
    return RunRef(relkey, started, match["user"], match["run"])
