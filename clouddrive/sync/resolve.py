"""Settling one conflict by the user's choice: keep mine, keep theirs, or keep both.

A conflict (both sides changed, contents differ) is normally settled by a sync keeping both
(sync-model.md). Here the user picks instead, and whichever content loses stays recoverable:

- **both**: the sync's own behaviour: S3's version comes down to the path; yours becomes the
  conflict copy `name (conflict USER ...).ext` beside it, uploaded too.
- **mine**: yours is uploaded over theirs, conditional on theirs still being current
  (`If-Match` its ETag), naming it as the parent: theirs stays in the file's history, one
  restore away.
- **theirs**: yours is first kept exactly as "both" keeps it (an uploaded conflict copy), then
  that copy is deleted on both sides: S3 keeps it behind a delete marker, so it is listed in
  recently deleted (deleted by you) and one restore brings it back. The path gets theirs. The
  contested key itself gets no new version, so nobody else sees a change.

Each choice is carried out by the executor's own steps (atomic downloads, conditional
uploads, re-checks of the local file); a crash between steps leaves at worst what "both"
leaves, which the next sync finishes. `Drive.resolve` (engine) re-plans the path under the
drive's lock, calls `resolve_conflict`, records the bases and writes the run record.
"""

from __future__ import annotations

from enum import StrEnum

from clouddrive import errors
from clouddrive.core.models import (
    Action,
    ActionKind,
    BaseEntry,
    LocalChange,
    LocalFile,
    RemoteChange,
)
from clouddrive.sync.executor import Executor
from clouddrive.sync.outcome import Outcome

__all__ = ["Choice", "resolve_conflict"]

LOST_RACE = "changed on S3 again meanwhile; nothing was overwritten: look at the new plan"


class Choice(StrEnum):
    """How to settle a conflict. Values are what scripts pass."""

    MINE = "mine"  #: upload yours over theirs; theirs stays in the file's history
    THEIRS = "theirs"  #: take theirs; yours stays as a deleted, restorable conflict copy
    BOTH = "both"  #: yours becomes a conflict copy beside theirs (what a sync does)

    @classmethod
    def parse(cls, value: str) -> Choice:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(c.value for c in cls)
            raise errors.UserError(f"unknown choice {value!r}: use one of {names}") from None


def resolve_conflict(executor: Executor, action: Action, choice: Choice) -> Outcome:
    """Carry out `choice` for one freshly planned CONFLICT action; never raises for a
    failure of the path itself (the outcome's `error` says it)."""
    if action.kind is not ActionKind.CONFLICT:
        raise ValueError(f"{action.path}: not a conflict ({action.kind.value})")
    executor.tmp_dir.mkdir(parents=True, exist_ok=True)  # as `Executor.run` does
    if choice is Choice.MINE:
        return _keep_mine(executor, action)
    outcome = executor.execute(action)  # keep both: the conflict copy, theirs comes down
    if outcome.replan:
        return _lost(outcome)
    if outcome.ok:
        outcome.note = f"kept both; yours is '{action.conflict_path}'"
        if choice is Choice.THEIRS:
            _delete_copy(executor, action, outcome)
    return outcome


def _lost(outcome: Outcome) -> Outcome:
    return Outcome(outcome.action, error=LOST_RACE)


def _keep_mine(executor: Executor, action: Action) -> Outcome:
    """Upload yours If-Match theirs: theirs becomes the noncurrent version it replaced."""
    local, remote = action.local, action.remote
    assert local is not None and remote is not None and local.sha256 is not None
    if not remote.etag:
        return Outcome(action, error="S3 gave no ETag for the current version; sync instead")
    # The version being replaced stands in as the base: the upload is conditional on it
    # (If-Match) and names it as its parent, exactly as an edit over a base would.
    over = BaseEntry(
        action.path, remote.size, 0, remote.sha256 or "", remote.version_id, remote.etag
    )
    upload = Action(
        ActionKind.UPLOAD,
        action.path,
        action.local_change,
        RemoteChange.UNCHANGED,
        local=local,
        remote=remote,
        base=over,
        if_match=remote.etag,
    )
    outcome = executor.execute(upload)
    if outcome.replan:
        return _lost(Outcome(action))
    outcome.action = action
    if outcome.ok:
        outcome.note = "kept yours; theirs stays in the file's history"
    return outcome


def _delete_copy(executor: Executor, action: Action, outcome: Outcome) -> None:
    """After "both": delete the conflict copy here, then on S3 (a delete marker)."""
    copy = action.conflict_path
    assert copy is not None
    base = next((b for b in outcome.bases if b.path == copy), None)
    if base is None:  # the copy never went up: leave it, visible, for the next sync
        return
    here = Action(
        ActionKind.DELETE_LOCAL,
        copy,
        LocalChange.UNCHANGED,
        RemoteChange.DELETED,
        local=LocalFile(copy, base.size, base.mtime_ns, base.sha256),
        base=base,
    )
    there = Action(
        ActionKind.DELETE_REMOTE,
        copy,
        LocalChange.DELETED,
        RemoteChange.UNCHANGED,
        base=base,
        if_match=base.etag,
    )
    done = executor.execute(here)
    if not done.ok:
        outcome.note = (
            f"kept theirs, but yours is still at '{copy}' "
            f"({done.error or 'changed meanwhile'}); delete it when sure"
        )
        return
    outcome.transfers += done.transfers
    done = executor.execute(there)
    if not done.ok:  # its base stays: the next sync sees it deleted here and deletes it there
        outcome.note = f"kept theirs; your next sync deletes your copy '{copy}' on S3 too"
        return
    outcome.transfers += done.transfers
    outcome.bases = [b for b in outcome.bases if b.path != copy]
    outcome.forget.append(copy)
    outcome.note = f"kept theirs; yours is in recently deleted as '{copy}'"
