"""The guards a plan must pass before anything changes: they stop runs that look like a
mistake (history vanishing in bulk, a mass delete) instead of carrying them out.

A few vanished keys do not stop a run: the planner keeps each local copy (uploads it again)
and lists the path in `Plan.vanished` for the report. Only many at once look like a purge
of the whole prefix (or the wrong bucket), and each guard has its own override: `force` runs
past the delete guard only, `allow_vanished` past the vanish guard only."""

from __future__ import annotations

from clouddrive import errors
from clouddrive.core.models import Plan

__all__ = ["DEFAULT_MAX_DELETE", "check_guards", "under"]

DEFAULT_MAX_DELETE = 50  #: and more than half of the base: a plan past both stops to ask


def under(path: str, prefixes: set[str]) -> bool:
    """Whether `path` is one of `prefixes` or lies inside one of them (as a folder).

    `"."` stands for the drive's root (an unreadable root): everything lies inside it.
    """
    if path in prefixes or "." in prefixes:
        return True
    parts = path.split("/")
    return any("/".join(parts[:i]) in prefixes for i in range(1, len(parts)))


def check_guards(
    plan: Plan,
    base_count: int,
    *,
    max_delete: int | None = None,
    force: bool = False,
    allow_vanished: bool = False,
) -> None:
    """Stop before a run that looks like a mistake: history vanishing in bulk (more than
    DEFAULT_MAX_DELETE keys and more than half of the base), or a mass delete."""
    vanished = len(plan.vanished)
    if not allow_vanished and vanished > DEFAULT_MAX_DELETE and vanished * 2 > base_count:
        sample = ", ".join(repr(p) for p in plan.vanished[:3])
        raise errors.GuardTripped(
            f"{vanished} of {base_count} files vanished from S3 without a delete marker "
            f"({sample}, ...): their history may have been purged, or this is not the "
            "drive's bucket; nothing was changed. Run with --allow-vanished to upload your "
            "copies again"
        )
    if force:
        return
    for count, where in ((plan.local_deletes, "locally"), (plan.remote_deletes, "on S3")):
        if max_delete is not None:
            tripped = count > max_delete
        else:
            tripped = count > DEFAULT_MAX_DELETE and count * 2 > base_count
        if tripped:
            limit = max_delete if max_delete is not None else DEFAULT_MAX_DELETE
            raise errors.GuardTripped(
                f"the plan deletes {count} files {where} (limit {limit}); nothing was changed. "
                "Check the plan with 'clouddrive status', then use --max-delete N or --force"
            )
