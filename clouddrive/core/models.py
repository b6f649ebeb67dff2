"""The value types of the planning core: what each side holds, what was agreed, what to do.

Pure data: no I/O, no boto3, no clock. Paths are POSIX strings relative to the drive root
(`a/b.txt`); the remote key of a path is `PREFIX/a/b.txt`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "PULL_KINDS",
    "Action",
    "ActionKind",
    "BaseEntry",
    "LocalChange",
    "LocalFile",
    "Plan",
    "RemoteChange",
    "RemoteEntry",
    "Skipped",
]


class LocalChange(StrEnum):
    """How the local file moved since the base (see sync-model.md)."""

    UNCHANGED = "unchanged"  #: stat or hash equals the base
    CREATED = "created"  #: a file, no base
    MODIFIED = "modified"  #: a file whose hash differs from the base
    DELETED = "deleted"  #: a base, no file
    ABSENT = "absent"  #: neither


class RemoteChange(StrEnum):
    """How the key's newest entry moved since the base."""

    UNCHANGED = "unchanged"  #: the latest version is the base version
    CREATED = "created"  #: an object, no base
    MODIFIED = "modified"  #: another object version is latest
    DELETED = "deleted"  #: a delete marker is latest
    VANISHED = "vanished"  #: a base, but no entry at all (purged?): suspicious
    #: the base's version is gone from the key's history (an outside hard delete of a
    #: version): the newest entry left is older, not a change anyone made on top of ours
    REWRITTEN = "rewritten"
    ABSENT = "absent"  #: neither


class ActionKind(StrEnum):
    """One step of a plan. Values are what `--json` prints."""

    UPLOAD = "upload"  #: put the local file as a new version (conditional)
    DOWNLOAD = "download"  #: fetch the latest version into place (atomic)
    DELETE_LOCAL = "delete-local"  #: remove the local file; its content stays in S3 history
    DELETE_REMOTE = "delete-remote"  #: put a delete marker; the versions stay
    CONFLICT = "conflict"  #: keep both: local becomes a conflict copy, remote comes down
    RECORD = "record"  #: both sides already agree: write the base only
    FORGET = "forget"  #: both sides deleted: drop the base


#: what bringing S3's state into the drive may do without asking: only take S3's state
#: for files unchanged here (the rest waits for a sync, which shows its plan and asks)
PULL_KINDS = frozenset(
    {ActionKind.DOWNLOAD, ActionKind.DELETE_LOCAL, ActionKind.RECORD, ActionKind.FORGET}
)


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A regular file under the root, as the scanner saw it.

    `sha256` is None only when size and mtime_ns equal the base (no need to hash).
    """

    path: str
    size: int
    mtime_ns: int
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """The newest entry of a key in the version listing.

    `sha256` comes from the object's metadata (or a matching MD5 ETag) and is filled in only
    where a decision needs it; listings never carry metadata.
    """

    path: str
    key: str
    version_id: str
    is_delete_marker: bool
    last_modified: datetime
    etag: str | None = None
    size: int = 0
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class BaseEntry:
    """What this client last saw both sides agree on for a path.

    `recorded_ns` is when the base was recorded (no later than its content was read; 0:
    unknown). A file whose mtime is not safely older than that may have changed within the
    same timestamp tick, so equal size and mtime do not prove it unchanged ("racily clean").
    """

    path: str
    size: int
    mtime_ns: int
    sha256: str
    version_id: str
    etag: str
    recorded_ns: int = 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path left out of the run, and why (reported and logged; the rest proceeds)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Action:
    """One decided step for one path, with everything the executor must re-check.

    `if_match` is the ETag an upload or delete is conditional on; an upload without it is
    sent with `If-None-Match: *`. `conflict_path` names the copy a conflict keeps the local
    content under.
    """

    kind: ActionKind
    path: str
    local_change: LocalChange
    remote_change: RemoteChange
    local: LocalFile | None = None
    remote: RemoteEntry | None = None
    base: BaseEntry | None = None
    if_match: str | None = None
    conflict_path: str | None = None

    @property
    def is_bookkeeping(self) -> bool:
        """Only the state database changes: nothing a user needs to see or approve."""
        return self.kind in (ActionKind.RECORD, ActionKind.FORGET)

    @property
    def size(self) -> int:
        """Bytes this action moves (for progress and the plan table)."""
        if self.kind is ActionKind.UPLOAD and self.local is not None:
            return self.local.size
        if self.kind in (ActionKind.DOWNLOAD, ActionKind.CONFLICT) and self.remote is not None:
            size = self.remote.size
            if self.kind is ActionKind.CONFLICT and self.local is not None:
                size += self.local.size
            return size
        return 0


@dataclass(frozen=True, slots=True)
class Plan:
    """The actions of one sync, plus what needs the user's attention."""

    actions: tuple[Action, ...] = ()
    vanished: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.actions

    def counts(self) -> Counter[ActionKind]:
        return Counter(action.kind for action in self.actions)

    @property
    def local_deletes(self) -> int:
        return sum(1 for a in self.actions if a.kind is ActionKind.DELETE_LOCAL)

    @property
    def remote_deletes(self) -> int:
        return sum(1 for a in self.actions if a.kind is ActionKind.DELETE_REMOTE)

    def visible(self) -> tuple[Action, ...]:
        """The actions worth showing a user: everything but pure bookkeeping."""
        return tuple(a for a in self.actions if not a.is_bookkeeping)
