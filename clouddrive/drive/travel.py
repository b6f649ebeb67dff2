"""The time-travel half of `Drive`: recently deleted, history, activity, and restore and undo
plans carried out on S3 and then brought into the folder at once."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from clouddrive import errors
from clouddrive.history.records import RunAction, RunRecord

# The time-travel machinery (plans, applying them, the queries) is for the commands that use
# it: a `sync` should not pay for its import. Only annotations here; `apply` imports at run time.
if TYPE_CHECKING:
    from clouddrive.history.apply import StepResult, TimeTravelReport
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.timetravel import TimeTravel
    from clouddrive.history.views import DeletedFile, FileVersion
    from clouddrive.sync.outcome import Outcome
    from clouddrive.sync.report import PullReport

__all__ = ["TimeTravelOps"]


class TimeTravelOps:
    """Mixed into `Drive`, which provides `timetravel` and `pull`."""

    @property
    def timetravel(self) -> TimeTravel:
        raise NotImplementedError

    def pull(
        self,
        paths: Collection[str],
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
        record: bool = True,
    ) -> PullReport:
        raise NotImplementedError

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        """Recently deleted: every file at or under `path` ("": the drive) whose newest entry
        on S3 is a delete marker, with who deleted it and when; newest first."""
        return self.timetravel.deleted(path, since=since)

    def history(self, path: str) -> list[FileVersion]:
        """Every version and delete marker of one file, newest first, with their authors."""
        return self.timetravel.history(path)

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """The runs of every user of the prefix (since `since`, the newest `limit`), newest
        first."""
        return self.timetravel.activity(since=since, limit=limit)

    def plan_restore_deleted(
        self, paths: Sequence[str] = (), *, everything: bool = False, since: datetime | None = None
    ) -> TimeTravelPlan:
        """What `restore_deleted` would do; nothing is changed."""
        return self.timetravel.plan_restore_deleted(paths, everything=everything, since=since)

    def plan_restore(
        self, path: str, *, version_id: str | None = None, at: datetime | None = None
    ) -> TimeTravelPlan:
        """What `restore` would do (one version of a file, or a file or folder as it was at a
        moment); nothing is changed."""
        if (version_id is None) == (at is None):
            raise errors.UserError("restore needs either a version id or a time (--version/--at)")
        if version_id is not None:
            return self.timetravel.plan_restore_version(path, version_id)
        assert at is not None
        return self.timetravel.plan_restore_at(path, at)

    def plan_undo(self, run_id: str) -> TimeTravelPlan:
        """What `undo` would do; nothing is changed."""
        return self.timetravel.plan_undo(run_id)

    def apply(
        self,
        plan: TimeTravelPlan,
        *,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
        pull: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> TimeTravelReport:
        """Carry out a time-travel plan (after `confirm`, if given), then bring the changed
        paths into this folder at once (`pull`: files unchanged here only)."""
        from clouddrive.history.apply import restored_paths

        if confirm is not None and not plan.is_empty and not confirm(plan):
            raise errors.Refused("cancelled; nothing was changed")
        report = self.timetravel.execute(plan, on_result=on_result, record=False)
        changed = restored_paths(report)
        local: list[RunAction] = []
        try:
            if pull and changed:
                pulled = self.pull(changed, record=False)
                report.note_local(
                    [o.action for o in pulled.done],
                    [(o.action, o.error or "failed") for o in pulled.failed],
                    list(pulled.left),
                )
                local = [RunAction(t.op, t.path, t.version_id, t.parent) for t in pulled.transfers]
        except errors.LockHeld:
            report.local_note = "another sync of this drive is running; the next sync brings it"
        except errors.CloudDriveError as exc:
            report.local_note = f"changed on S3, but not yet here ({exc}); the next sync brings it"
        finally:
            self.timetravel.write_record(report, local)  # one record: S3 and local actions
        return report

    def restore_deleted(
        self,
        paths: Sequence[str] = (),
        *,
        everything: bool = False,
        since: datetime | None = None,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
    ) -> TimeTravelReport:
        """Bring deleted files (or every deleted file under folders) back, on S3 by copying
        the last version forward, and here at once."""
        plan = self.plan_restore_deleted(paths, everything=everything, since=since)
        return self.apply(plan, confirm=confirm)

    def restore(
        self,
        path: str,
        *,
        version_id: str | None = None,
        at: datetime | None = None,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
    ) -> TimeTravelReport:
        """Make an old version current again, or a file or folder what it was at `at`."""
        return self.apply(self.plan_restore(path, version_id=version_id, at=at), confirm=confirm)

    def undo(
        self, run_id: str, *, confirm: Callable[[TimeTravelPlan], bool] | None = None
    ) -> TimeTravelReport:
        """Revert exactly what one run wrote on S3 (see `TimeTravel.plan_undo`)."""
        return self.apply(self.plan_undo(run_id), confirm=confirm)
