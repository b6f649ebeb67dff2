"""The history of a key, and what it takes to move it back in time: pure planning.

A key's history is its versions and delete markers, newest first (`Entry`). The functions
here decide, without any I/O, what one step of time travel must do to a key: copy an old
version forward (`Op.COPY`) or put a delete marker (`Op.DELETE`). Both are append-only: the
entries in between stay in history. `timetravel` gathers the histories from S3 and carries
the steps out.

Ordering: S3 lists a key's entries newest first, versions and delete markers interleaved, but
botocore splits them into two lists and `LastModified` has whole seconds only. The remote
layer restores the document order from the raw listing (see `S3Remote.histories`);
`order()` then sorts by time (newest first, stable, so ties keep the listing's order) and
puts the entry S3 marks `IsLatest` first. On servers that list versions and markers
separately (moto), entries within one second cannot be told apart beyond `IsLatest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Entry",
    "KeyHistory",
    "Op",
    "Skip",
    "Step",
    "at",
    "current",
    "last_content",
    "order",
    "plan_at",
    "plan_revert",
    "plan_undelete",
    "plan_version",
    "predecessor",
    "top_markers",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One version (content) or delete marker of one key."""

    version_id: str
    is_delete_marker: bool
    modified: datetime
    is_latest: bool = False
    size: int = 0
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """Every entry of one key, newest first. `unsafe` names why `path` (then the raw key
    relative to the prefix) has no safe local path; such keys are reported, not touched."""

    path: str
    key: str
    entries: tuple[Entry, ...]
    unsafe: str | None = None


class Op(StrEnum):
    """What a step does to its key. Values are what `--json` prints."""

    COPY = "restore"  #: copy an old version onto the key: it becomes current again
    DELETE = "delete"  #: put a delete marker


@dataclass(frozen=True, slots=True)
class Step:
    """One change to one key. `expect` is the version id that must still be current when
    the step runs (None: the key must have no entry at all); anything else means someone
    changed the key since the plan, and the step is left out."""

    path: str
    op: Op
    expect: str | None
    source: Entry | None = None  #: the version to copy forward (Op.COPY)
    why: str = ""


@dataclass(frozen=True, slots=True)
class Skip:
    """A path the plan leaves alone, and why (shown to the user; nothing changes)."""

    path: str
    reason: str


def order(entries: Sequence[Entry]) -> list[Entry]:
    """Newest first: the latest entry, then by time; ties keep their given (listing) order."""
    by_time = sorted(entries, key=lambda e: e.modified, reverse=True)
    return sorted(by_time, key=lambda e: not e.is_latest)


def current(entries: Sequence[Entry]) -> Entry | None:
    """The key's newest entry (an object version or a delete marker), or None."""
    return entries[0] if entries else None


def top_markers(entries: Sequence[Entry]) -> list[Entry]:
    """The delete markers stacked on top of the newest content version, newest first."""
    stacked: list[Entry] = []
    for entry in entries:
        if not entry.is_delete_marker:
            break
        stacked.append(entry)
    return stacked


def last_content(entries: Sequence[Entry]) -> Entry | None:
    """The newest content version (not a delete marker), if any is left."""
    return next((e for e in entries if not e.is_delete_marker), None)


def at(entries: Sequence[Entry], moment: datetime) -> Entry | None:
    """The entry that was current at `moment` (None: the key did not exist yet).

    Times have whole seconds: an entry stamped in the same second as `moment` counts as
    before it.
    """
    return next((e for e in entries if e.modified <= moment), None)


def predecessor(entries: Sequence[Entry], version_id: str) -> Entry | None:
    """The entry right before (older than) `version_id`; None if it was the first.

    Raises KeyError when `version_id` is not in the history (purged, or never there).
    """
    for i, entry in enumerate(entries):
        if entry.version_id == version_id:
            return entries[i + 1] if i + 1 < len(entries) else None
    raise KeyError(version_id)


def _same_content(a: Entry, b: Entry) -> bool:
    return bool(a.etag) and a.etag == b.etag and a.size == b.size


def _to(path: str, now: Entry | None, target: Entry | None, why: str) -> Step | None:
    """The step that makes `target` (None: nothing) current where `now` is; None if it is."""
    expect = now.version_id if now is not None else None
    if target is None or target.is_delete_marker:
        if now is None or now.is_delete_marker:
            return None
        return Step(path, Op.DELETE, expect, why=why)
    if (
        now is not None
        and not now.is_delete_marker
        and (now.version_id == target.version_id or _same_content(now, target))
    ):
        return None
    return Step(path, Op.COPY, expect, source=target, why=why)


def plan_undelete(path: str, entries: Sequence[Entry]) -> Step | Skip:
    """Bring a deleted key back: copy its newest content version forward."""
    now = current(entries)
    if now is None:
        return Skip(path, "not on S3 (no version of it was ever seen)")
    if not now.is_delete_marker:
        return Skip(path, "not deleted: its current version is there, nothing to restore")
    source = last_content(entries)
    if source is None:
        return Skip(path, "only delete markers are left (its versions were purged)")
    return Step(path, Op.COPY, now.version_id, source=source, why="deleted")


def plan_version(path: str, entries: Sequence[Entry], version_id: str) -> Step | Skip:
    """Make one version current again. A unique prefix of the version id is enough."""
    matches = [e for e in entries if e.version_id == version_id]
    if not matches and len(version_id) >= 4:
        matches = [e for e in entries if e.version_id.startswith(version_id)]
    if not matches:
        return Skip(path, f"has no version {version_id} (see 'clouddrive history {path}')")
    if len(matches) > 1:
        return Skip(path, f"version id prefix {version_id} is ambiguous; give more of it")
    target = matches[0]
    if target.is_delete_marker:
        return Skip(path, f"{target.version_id} is a delete marker, not a version to restore")
    now = current(entries)
    if now is not None and now.version_id == target.version_id:
        return Skip(path, f"{target.version_id} is already the current version")
    if now is not None and not now.is_delete_marker and _same_content(now, target):
        return Skip(path, f"the current version already has the content of {target.version_id}")
    return Step(path, Op.COPY, now.version_id if now else None, source=target, why="version")


def plan_at(histories: Sequence[KeyHistory], moment: datetime) -> tuple[list[Step], list[Skip]]:
    """Every key back to what it was at `moment`: its version of then, or deleted if it
    had none (did not exist yet, or was deleted then)."""
    steps: list[Step] = []
    skips: list[Skip] = []
    for history in histories:
        then = at(history.entries, moment)
        if then is None:
            why = "did not exist then"
        else:
            why = "deleted then" if then.is_delete_marker else "version of then"
        step = _to(history.path, current(history.entries), then, why)
        if step is None:
            continue
        if history.unsafe:  # it would need a change, but it has no safe name: report it
            skips.append(Skip(history.path, f"no safe local name ({history.unsafe}); left as is"))
        else:
            steps.append(step)
    return steps, skips


def plan_revert(path: str, entries: Sequence[Entry], created: Sequence[str]) -> Step | Skip:
    """Undo what one run did to a key: `created` are the version ids (and delete markers)
    the run wrote, oldest first. The key goes back to the entry just before the first of
    them, provided the run's last write is still current (else someone changed it since)."""
    present = [vid for vid in created if any(e.version_id == vid for e in entries)]
    if not present:
        return Skip(path, "the run's version of it is no longer in history (purged)")
    now = current(entries)
    assert now is not None
    if now.version_id not in created:
        who = "deleted" if now.is_delete_marker else "changed"
        return Skip(path, f"{who} again since that run; left as it is")
    oldest = max(present, key=lambda vid: [e.version_id for e in entries].index(vid))
    before = predecessor(entries, oldest)
    step = _to(path, now, before, "undo")
    if step is None:
        return Skip(path, "already as it was before that run")
    return step
