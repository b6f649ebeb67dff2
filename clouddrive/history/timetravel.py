"""Time travel over a drive's prefix: recently deleted, version history, restore, undo.

One object for the engine (`Drive`) to hold, joining the parts that each keep one concept:
`queries` (deleted, history, activity), `plans` (what a restore or undo will do),
`apply` (doing it, each step conditional on its key, with a run record that survives an
interrupt), over the run records of `runs`. `Drive` wraps this and brings the restored files
down into the drive at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from clouddrive.history.apply import Applier, StepResult, TimeTravelReport
from clouddrive.history.plans import Planner, TimeTravelPlan
from clouddrive.history.queries import Queries
from clouddrive.history.records import RunAction, RunRecord
from clouddrive.history.runs import RunLog
from clouddrive.history.views import DeletedFile, FileVersion
from clouddrive.ledger import S3Remote

__all__ = ["TimeTravel"]


class TimeTravel:
    """Deleted files, history, restore and undo for one prefix, as one user."""

    def __init__(
        self,
        remote: S3Remote,
        user: str,
        *,
        runs: RunLog | None = None,
        workers: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.remote = remote
        self.user = user
        self.workers = max(1, workers)
        self.runs = runs if runs is not None else RunLog(remote, workers=self.workers)
        self.clock = clock
        self.queries = Queries(remote, self.runs, self.workers)
        self.planner = Planner(remote, self.runs, user, self.workers, clock)
        self.applier = Applier(remote, self.runs, user, self.workers)

    # -- reading ---------------------------------------------------------------------------

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        return self.queries.deleted(path, since=since)

    def history(self, path: str) -> list[FileVersion]:
        return self.queries.history(path)

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        return self.queries.activity(since=since, limit=limit)

    # -- planning --------------------------------------------------------------------------

    def plan_restore_deleted(
        self,
        paths: Sequence[str] = (),
        *,
        everything: bool = False,
        since: datetime | None = None,
    ) -> TimeTravelPlan:
        return self.planner.restore_deleted(paths, everything=everything, since=since)

    def plan_restore_version(self, path: str, version_id: str) -> TimeTravelPlan:
        return self.planner.restore_version(path, version_id)

    def plan_restore_at(self, path: str, moment: datetime) -> TimeTravelPlan:
        return self.planner.restore_at(path, moment)

    def plan_undo(self, run_id: str) -> TimeTravelPlan:
        return self.planner.undo(run_id)

    # -- doing -----------------------------------------------------------------------------

    def execute(
        self,
        plan: TimeTravelPlan,
        *,
        on_result: Callable[[StepResult], None] | None = None,
        record: bool = True,
    ) -> TimeTravelReport:
        return self.applier.execute(plan, on_result=on_result, record=record)

    def write_record(self, report: TimeTravelReport, local: Sequence[RunAction] = ()) -> str | None:
        return self.applier.write_record(report, local)
