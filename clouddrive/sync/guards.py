"""The guards a plan must pass before anything changes: they stop runs that look like a
mistake (vanished history, a mass delete) instead of carrying them out."""

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
    plan: Plan, base_count: int, *, max_delete: int | None = None, force: bool = False
) -> None:
    """Stop before a run that looks like a mistake: vanished history, or a mass delete."""
    if force:
        return
    if plan.vanished:
        sample = ", ".join(repr(p) for p in plan.vanished[:3])
        raise errors.GuardTripped(
            f"{len(plan.vanished)} file(s) vanished from S3 without a delete marker ({sample}"
            f"{', ...' if len(plan.vanished) > 3 else ''}): their history may have been purged; "
            "nothing was changed. Run with --force to upload your copies again"
        )
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
