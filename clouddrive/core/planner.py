"""The three-way planner: (local, remote, base) -> a plan, per the decision table.

A pure function of its inputs: no boto3, no disk, no clock (the caller passes `now`). The
decision table lives in `decide()`; see ../shared/design/sync-model.md for the contract.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from clouddrive.core.models import (
    Action,
    ActionKind,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
)
from clouddrive.core.paths import MAX_NAME_BYTES, safe_name

__all__ = [
    "CLOCK_SKEW_NS",
    "RACY_WINDOW_NS",
    "classify_local",
    "classify_remote",
    "conflict_moment",
    "conflict_name",
    "decide",
    "is_racy",
    "plan",
    "rolled_back",
    "swaps",
]

#: How much older than its base's record a file's mtime must be to trust an equal stat: file
#: systems with coarse timestamps (FAT: 2 s, many others 1 s) give edits within one tick
#: the same mtime.
RACY_WINDOW_NS = 2_000_000_000


#: S3 refuses requests signed more than 15 minutes off its clock, so a client's clock and the
#: server's LastModified stamps agree at least this well.
CLOCK_SKEW_NS = 15 * 60 * 1_000_000_000


def rolled_back(remote: RemoteEntry, base: BaseEntry) -> bool:
    """With the base's version gone from history, is the newest entry older than the base
    (its version was deleted while current: a rollback), rather than a newer change whose
    old base version later expired (noncurrent-version lifecycle)? A base recorded at an
    unknown moment counts as rolled back: keeping a copy can be undone, losing one cannot."""
    if base.recorded_ns == 0:
        return True
    written_ns = int(remote.last_modified.timestamp() * 1_000_000_000)
    return written_ns <= base.recorded_ns + CLOCK_SKEW_NS


def is_racy(base: BaseEntry, mtime_ns: int) -> bool:
    """git's "racily clean": a file with this mtime may have changed after `base` was recorded
    without its stat showing it, so only its hash can tell (see sync-model.md)."""
    return mtime_ns + RACY_WINDOW_NS > base.recorded_ns


def classify_local(local: LocalFile | None, base: BaseEntry | None) -> LocalChange:
    """How the local side moved: stat first, then hash (the scanner hashed if stat moved)."""
    if local is None:
        return LocalChange.DELETED if base is not None else LocalChange.ABSENT
    if base is None:
        return LocalChange.CREATED
    if local.sha256 is None and local.size == base.size and local.mtime_ns == base.mtime_ns:
        return LocalChange.UNCHANGED  # stat equal and not racy: the scanner did not hash it
    if local.sha256 is None:
        raise ValueError(f"{local.path}: stat moved but the scanner did not hash it")
    return LocalChange.UNCHANGED if local.sha256 == base.sha256 else LocalChange.MODIFIED


def classify_remote(
    remote: RemoteEntry | None, base: BaseEntry | None, *, base_gone: bool = False
) -> RemoteChange:
    """How the remote side moved: by version id only, never by time.

    `base_gone`: the base's version id is no longer in the key's history (the caller found
    out from the version listing); if what is newest now is older than the base, history
    was rewritten (see `rolled_back`).
    """
    if remote is None:
        return RemoteChange.VANISHED if base is not None else RemoteChange.ABSENT
    if (
        base_gone
        and base is not None
        and remote.version_id != base.version_id
        and rolled_back(remote, base)
    ):
        return RemoteChange.REWRITTEN
    if remote.is_delete_marker:
        return RemoteChange.DELETED
    if base is None:
        return RemoteChange.CREATED
    return RemoteChange.UNCHANGED if remote.version_id == base.version_id else RemoteChange.MODIFIED


def conflict_name(path: str, user: str, now: datetime, taken: set[str] | frozenset[str]) -> str:
    """`name (conflict USER YYYY-MM-DD HHMMSS).ext` beside `path`, unique among `taken`.

    `now` is the moment in the name: the planner passes the local copy's mtime
    (`conflict_moment`), so the same conflict has the same name in `status` and in the
    sync that follows. The stem (and if need be the user name) is shortened so the name
    fits MAX_NAME_BYTES.
    """
    folder, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    if not stem:  # a dot-file such as ".env": keep the whole name as the stem
        stem, ext = name, ""
    who = _fit(safe_name(user), 64)
    label = f"conflict {who} {now:%Y-%m-%d %H%M%S}"
    n = 1
    while True:
        suffix = f" {n}" if n > 1 else ""
        tail = f" ({label}{suffix}){ext}"
        room = MAX_NAME_BYTES - len(tail.encode("utf-8", "surrogatepass"))
        if room < 1:  # an absurdly long extension: drop it rather than overflow
            tail, ext = f" ({label}{suffix})", ""
            room = MAX_NAME_BYTES - len(tail.encode("utf-8", "surrogatepass"))
        candidate = posixpath.join(folder, _fit(stem, room) + tail)
        if candidate not in taken:
            return candidate
        n += 1


def conflict_moment(local: LocalFile | None, now: datetime) -> datetime:
    """The moment a conflict copy is named after: when the local copy was last changed (the
    same for every plan of the same conflict), or `now` when there is no local copy."""
    if local is None:
        return now
    return datetime.fromtimestamp(local.mtime_ns / 1_000_000_000, UTC)


def _fit(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


@dataclass(frozen=True, slots=True)
class Swaps:
    """Paths that clear the way for a file replaced by a folder of the same name (or the
    reverse), so the swap is planned in one run instead of read as a name collision."""

    leaving_local: frozenset[str]  #: unchanged here, deleted on S3: deleted here first
    leaving_remote: frozenset[str]  #: deleted here, unchanged on S3: a delete marker first
    #: created or edited here, no current object on S3, and its name clashes with a file or
    #: folder that stays on S3 (a swap on S3, or a swap here that lost to an edit there)
    set_aside: frozenset[str]


def _folders(paths: Iterable[str]) -> set[str]:
    """Every folder that `paths` imply (`a/b/c` -> `a`, `a/b`)."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")
        found.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return found


def _clash_point(path: str, files: AbstractSet[str], folders: AbstractSet[str]) -> str | None:
    """Where `path` clashes as file/folder with the names of another side: itself (a folder
    there), or its first folder that is a file there; None if it does not."""
    if path in folders:
        return path
    parts = path.split("/")
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if folder in files:
            return folder
    return None


def swaps(
    local: Mapping[str, LocalFile],
    remote: Mapping[str, RemoteEntry],
    base: Mapping[str, BaseEntry],
) -> Swaps:
    """What a file/folder swap made on one side means for this run (see `Swaps`).

    Collisions are then computed over what each side will hold after the run, not over the
    union of what they hold now (where `a` and `a/b` would block each other forever).
    """
    leaving_local: set[str] = set()
    edited_gone: set[str] = set()
    for path, lf in local.items():
        b, r = base.get(path), remote.get(path)
        if r is not None and not r.is_delete_marker:
            continue  # a current object on S3: a clash there is S3's own (skipped)
        lc = classify_local(lf, b)
        if lc is LocalChange.UNCHANGED and r is not None:
            leaving_local.add(path)
        elif lc in (LocalChange.CREATED, LocalChange.MODIFIED):
            edited_gone.add(path)
    leaving_remote = frozenset(
        path
        for path, r in remote.items()
        if path not in local
        and (b := base.get(path)) is not None
        and classify_remote(r, b) is RemoteChange.UNCHANGED
    )
    present = {p for p, r in remote.items() if not r.is_delete_marker} - leaving_remote
    present_folders = _folders(present)
    set_aside = frozenset(
        p for p in edited_gone if _clash_point(p, present, present_folders) is not None
    )
    return Swaps(frozenset(leaving_local), leaving_remote, set_aside)


def _aside_name(
    path: str,
    remote: Mapping[str, RemoteEntry],
    user: str,
    now: datetime,
    taken: AbstractSet[str],
) -> str:
    """The conflict copy of an edit set aside by a swap: beside the file (`a (conflict ...)`)
    or, when a folder of it became a file on S3, under a renamed folder
    (`a (conflict ...)/b`), so the copy clashes with nothing."""
    present = {p for p, r in remote.items() if not r.is_delete_marker}
    point = _clash_point(path, present, _folders(present)) or path
    return conflict_name(point, user, now, _folders(taken) | set(taken)) + path[len(point) :]


def _hashed(local: LocalFile | None, base: BaseEntry | None) -> LocalFile | None:
    """`local` with its hash filled in from the base when the scanner trusted its stat."""
    if local is not None and local.sha256 is None and base is not None:
        return LocalFile(local.path, local.size, local.mtime_ns, base.sha256)
    return local


def _same_content(local: LocalFile | None, remote: RemoteEntry | None) -> bool:
    return (
        local is not None
        and remote is not None
        and local.sha256 is not None
        and local.sha256 == remote.sha256
    )


def decide(
    path: str,
    local: LocalFile | None,
    remote: RemoteEntry | None,
    base: BaseEntry | None,
    *,
    user: str,
    now: datetime,
    taken: set[str] | frozenset[str] = frozenset(),
    base_gone: bool = False,
    aside_path: str | None = None,
) -> Action | None:
    """The decision table for one path. None means nothing to do.

    `base_gone` (history rewritten from outside): the local copy is kept and uploaded again
    over whatever is newest now, never overwritten or deleted by an older entry.
    `aside_path` (a swap took this name on S3, or a swap here lost to an edit there, see
    `swaps`): a local file with no current object on S3 becomes a conflict copy there
    instead of going up at a name that is a folder on S3 (or under a folder that is a file
    there).
    """
    lc = classify_local(local, base)
    rc = classify_remote(remote, base, base_gone=base_gone)

    def act(
        kind: ActionKind, if_match: str | None = None, conflict_path: str | None = None
    ) -> Action:
        return Action(
            kind,
            path,
            lc,
            rc,
            local=local,
            remote=remote,
            base=base,
            if_match=if_match,
            conflict_path=conflict_path,
        )

    L, R = LocalChange, RemoteChange
    both_have_content = rc in (R.CREATED, R.MODIFIED)

    if aside_path is not None and lc in (L.CREATED, L.MODIFIED) and not both_have_content:
        return act(ActionKind.CONFLICT, conflict_path=aside_path)

    if rc is R.REWRITTEN:
        assert remote is not None
        if lc in (L.UNCHANGED, L.MODIFIED):
            if _same_content(_hashed(local, base), remote):
                return act(ActionKind.RECORD)  # already put back (by another drive)
            # The version this drive holds was deleted from history: its content may exist
            # only here now. Put it back on top of the older entry (conditional on that
            # entry still being the newest one).
            return act(ActionKind.UPLOAD, if_match=None if remote.is_delete_marker else remote.etag)
        if remote.is_delete_marker:
            return act(ActionKind.FORGET)  # deleted here; an older delete is newest there
        return act(ActionKind.DOWNLOAD)  # deleted here: an older version is newest there

    if lc is L.UNCHANGED:
        assert local is not None and base is not None
        if rc is R.UNCHANGED:
            stat_moved = (local.size, local.mtime_ns) != (base.size, base.mtime_ns)
            return act(ActionKind.RECORD) if stat_moved else None
        if rc is R.MODIFIED:
            return act(ActionKind.DOWNLOAD)
        if rc is R.DELETED:
            return act(ActionKind.DELETE_LOCAL)
        # Vanished: the base's versions are gone; the local file may be the only copy left.
        return act(ActionKind.UPLOAD)

    if lc in (L.CREATED, L.MODIFIED):
        if both_have_content:
            if _same_content(local, remote):
                return act(ActionKind.RECORD)
            moment = conflict_moment(local, now)
            return act(ActionKind.CONFLICT, conflict_path=conflict_name(path, user, moment, taken))
        if rc is R.UNCHANGED:
            assert base is not None
            return act(ActionKind.UPLOAD, if_match=base.etag)
        # Remote deleted, vanished or absent: an edit beats a delete; the key has no current
        # object, so the upload is conditional on there still being none.
        return act(ActionKind.UPLOAD)

    if lc is L.DELETED:
        assert base is not None
        if rc is R.UNCHANGED:
            return act(ActionKind.DELETE_REMOTE, if_match=base.etag)
        if both_have_content:
            return act(ActionKind.DOWNLOAD)  # an edit beats a delete
        return act(ActionKind.FORGET)  # deleted on both sides, or vanished

    # Local absent, no base.
    if both_have_content:
        return act(ActionKind.DOWNLOAD)
    return None


def plan(
    local: Mapping[str, LocalFile],
    remote: Mapping[str, RemoteEntry],
    base: Mapping[str, BaseEntry],
    *,
    user: str,
    now: datetime,
    base_gone: Collection[str] = frozenset(),
    set_aside: Collection[str] = frozenset(),
) -> Plan:
    """Plan one sync of every path any of the three inputs knows, in path order.

    `base_gone`: paths whose base version id is no longer in their key's history;
    `set_aside`: local edits whose name a file/folder swap took on S3 (see `swaps`).
    """
    paths = sorted(set(local) | set(remote) | set(base))
    taken = frozenset(local) | frozenset(remote)
    gone = frozenset(base_gone)
    actions: list[Action] = []
    vanished: list[str] = []
    for path in paths:
        moment = conflict_moment(local.get(path), now)
        aside = _aside_name(path, remote, user, moment, taken) if path in set_aside else None
        action = decide(
            path,
            local.get(path),
            remote.get(path),
            base.get(path),
            user=user,
            now=now,
            taken=taken,
            base_gone=path in gone,
            aside_path=aside,
        )
        if action is None:
            continue
        if action.remote_change is RemoteChange.VANISHED:
            vanished.append(path)
        if action.conflict_path is not None:
            taken = taken | {action.conflict_path}
        actions.append(action)
    return Plan(actions=tuple(actions), vanished=tuple(vanished))
