"""Carrying out a time-travel plan: each step only if its key is still what the plan saw.

Writes are append-only: an old version is copied forward onto its key (`copy_forward`, by
multipart copy past 5 GiB) or a delete marker is put; no version is ever removed.

Check, then act, then check again: a step re-reads its key and goes ahead only if the newest
entry is the one the plan saw; the write itself is conditional (If-Match on that entry's
ETag, If-None-Match when the key is absent or deleted), which SeaweedFS and AWS honour; and
because some servers ignore conditions on a copy (moto), the key's versions are read once
more afterwards: if the version just below ours is not the one the plan saw, another writer
came in between, and the step says so (both stay in history). A step records only a version
it wrote: the id S3 returned for its own write, never a later read of the key.

The run record is written before the first step (state `running`, with the plan), each step
is journalled as it ends, and the record is completed at the end (`clouddrive.history.runs`).
A plan that finishes an interrupted run (`TimeTravelPlan.resumes`) keeps that run's id and
record, and takes a step the earlier attempt already did as done: the key's newest entry is
a version that attempt journalled, or a copy whose metadata says it restored the planned
version over the planned one, or a delete marker put on the planned version after it began.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clouddrive import errors
from clouddrive.core.models import PULL_KINDS, Action, ActionKind, RemoteEntry
from clouddrive.core.timeline import Op, Skip, Step
from clouddrive.history.plans import TimeTravelPlan, planned_action
from clouddrive.history.queries import parallel
from clouddrive.history.records import RunAction, RunRecord
from clouddrive.history.runs import ActiveRun, RunLog, new_run_id
from clouddrive.history.views import META_RESTORED_FROM, step_json
from clouddrive.ledger import META_PARENT, META_USER, S3Remote
from clouddrive.testing.faults import crash_point

__all__ = [
    "PULL_KINDS",
    "Applier",
    "StepResult",
    "TimeTravelReport",
    "left_reason",
    "restored_paths",
]

CHANGED = "changed on S3 since the plan; left as it is"
#: how far S3's stamp on a delete marker may precede the client's idea of the run's start
_MARKER_SKEW = timedelta(minutes=5)

log = logging.getLogger("clouddrive")


@dataclass
class StepResult:
    """What one step did: the version or marker it wrote, or why it did not.

    `race`: the step wrote, but another writer changed the key between the check and the
    write (a server that ignores the write's condition); both versions stay in history.
    `earlier`: the interrupted run this plan finishes had already done the step."""

    step: Step
    version_id: str | None = None
    error: str | None = None
    race: str | None = None
    earlier: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def left_reason(action: Action) -> str:
    """Why a pull left a path alone, and what the next sync will do with it."""
    if action.kind is ActionKind.CONFLICT:
        return "changed here too: your next sync keeps both copies (it asks first)"
    if action.kind is ActionKind.UPLOAD:
        return "changed here: your next sync uploads your copy over it (it asks first)"
    if action.kind is ActionKind.DELETE_REMOTE:
        return "deleted here: your next sync would delete it on S3 again (it asks first)"
    return f"left for your next sync ({action.kind.value})"


@dataclass
class TimeTravelReport:
    """A carried-out plan, and (when run on a drive) what came down into the folder."""

    plan: TimeTravelPlan
    run_id: str
    results: list[StepResult] = field(default_factory=list)
    record_key: str | None = None
    started: datetime | None = None
    downloaded: list[str] = field(default_factory=list)
    removed_here: list[str] = field(default_factory=list)
    left_for_sync: list[Skip] = field(default_factory=list)
    local_failed: list[Skip] = field(default_factory=list)
    local_note: str | None = None
    active: ActiveRun | None = field(default=None, repr=False)  #: until the record is complete

    @property
    def done(self) -> list[StepResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]

    @property
    def races(self) -> list[StepResult]:
        return [r for r in self.results if r.race]

    def note_local(
        self, done: Sequence[Action], failed: Sequence[tuple[Action, str]], left: Sequence[Action]
    ) -> None:
        """Record what bringing the changed paths into the drive did (see `Drive.pull`)."""
        self.downloaded += [a.path for a in done if a.kind is ActionKind.DOWNLOAD]
        self.removed_here += [a.path for a in done if a.kind is ActionKind.DELETE_LOCAL]
        self.local_failed += [Skip(a.path, error) for a, error in failed]
        self.left_for_sync += [Skip(a.path, left_reason(a)) for a in left]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id if self.results else None,
            "plan": self.plan.to_json(),
            "done": [
                {
                    **step_json(r.step),
                    "new_version_id": r.version_id,
                    "race": r.race,
                    "by_earlier_attempt": r.earlier,
                }
                for r in self.done
            ],
            "failed": [{**step_json(r.step), "error": r.error} for r in self.failed],
            "record": self.record_key,
            "local": {
                "downloaded": self.downloaded,
                "removed": self.removed_here,
                "left_for_sync": [{"path": s.path, "reason": s.reason} for s in self.left_for_sync],
                "failed": [{"path": s.path, "reason": s.reason} for s in self.local_failed],
                "note": self.local_note,
            },
        }


def restored_paths(report: TimeTravelReport) -> list[str]:
    """The paths a report changed on S3 (what the drive should bring down)."""
    return sorted({r.step.path for r in report.done})


class Applier:
    """Carries out time-travel plans on one prefix, as one user."""

    def __init__(self, remote: S3Remote, runs: RunLog, user: str, workers: int) -> None:
        self.remote = remote
        self.runs = runs
        self.user = user
        self.workers = workers

    def execute(
        self,
        plan: TimeTravelPlan,
        *,
        on_result: Callable[[StepResult], None] | None = None,
        record: bool = True,
    ) -> TimeTravelReport:
        """Carry the plan out, each step only if its key is still as planned. The run
        record is on S3 before the first step; `record=False` leaves it open for the
        caller to complete with `write_record` (say after adding what it did locally)."""
        prior = plan.resumes
        report = TimeTravelReport(plan=plan, run_id=prior.run_id if prior else new_run_id())
        if plan.is_empty:
            return report
        self.remote.require_versioning()  # without it, a copy or delete would destroy
        run = self.runs.start(
            kind=plan.kind,
            user=self.user,
            planned=prior.planned if prior else [planned_action(s) for s in plan.steps],
            run_id=report.run_id,
            started=prior.started if prior else None,
            done=prior.actions if prior else (),
            request=plan.request,
            undo_of=plan.undo_of,
            at=plan.at,
        )
        report.active = run
        report.started = run.record.started
        known = {(a.path, a.version_id) for a in prior.actions} if prior else set()
        count = iter(range(1, len(plan.steps) + 1))

        def one(step: Step) -> StepResult:
            result = self._run_step(step, prior, known)
            if result.ok and result.version_id and (step.path, result.version_id) not in known:
                crash_point(f"time-travel-write-{next(count)}")  # written, not yet journalled
                run.done(planned_action(step, result.version_id))
            elif not result.ok:
                run.failed(step.path, step.op.value, result.error or "failed")
            if on_result is not None:
                on_result(result)
            return result

        try:
            report.results = parallel(one, list(plan.steps), self.workers)
        except BaseException:
            report.record_key = run.finish(interrupted=True)
            report.active = None
            raise
        if record:
            self.write_record(report)
        return report

    def _run_step(
        self, step: Step, prior: RunRecord | None, known: set[tuple[str, str | None]]
    ) -> StepResult:
        result = StepResult(step)
        try:
            current = self.remote.latest(step.path)
            now_id = current.version_id if current is not None else None
            if now_id != step.expect:
                if (
                    current is not None
                    and prior is not None
                    and self._done_before(step, current, prior, known)
                ):
                    result.version_id, result.earlier = now_id, True
                    return result
                result.error = CHANGED
                return result
            if step.op is Op.COPY:
                assert step.source is not None
                result.version_id = self._copy_forward(step, current)
            else:
                assert current is not None and not current.is_delete_marker
                result.version_id = self.remote.delete(step.path, if_match=current.etag)
            result.race = self._race_after(step, result.version_id)
        except errors.PreconditionFailed:
            result.error = CHANGED
        except (errors.CredentialsError, errors.BucketNotFound, errors.VersioningNotEnabled):
            raise
        except errors.CloudDriveError as exc:
            result.error = str(exc)
        return result

    def _copy_forward(self, step: Step, current: RemoteEntry | None) -> str:
        """Copy the step's source onto its key, naming who restored it, from what, over
        what; conditional on the key's newest entry being `current`."""
        assert step.source is not None
        head = self.remote.head_version(step.path, step.source.version_id)
        metadata = {str(k).lower(): str(v) for k, v in head.get("Metadata", {}).items()}
        metadata[META_USER] = self.user
        metadata[META_RESTORED_FROM] = step.source.version_id
        if step.expect is not None:
            metadata[META_PARENT] = step.expect
        else:
            metadata.pop(META_PARENT, None)
        size = int(head.get("ContentLength", step.source.size) or 0)
        live = current is not None and not current.is_delete_marker
        return self.remote.copy_forward(
            step.path,
            step.source.version_id,
            size=size,
            metadata=metadata,
            if_match=(current.etag or None) if live and current is not None else None,
            if_none_match=not live,
        ).version_id

    def _race_after(self, step: Step, written: str) -> str | None:
        """After a write: the entry just below it must be the one the plan saw."""
        try:
            items = self.remote.versions(step.path)
        except errors.RemoteError as exc:
            log.debug("cannot re-read %s after writing it: %s", step.path, exc)
            return None
        ids = [str(i.get("VersionId") or "null") for i in items]
        if written not in ids:
            return None
        below = ids[ids.index(written) + 1] if ids.index(written) + 1 < len(ids) else None
        if below == step.expect:
            return None
        return (
            f"another writer changed it just before this {step.op.value} (version {below}); "
            "both are kept in its history"
        )

    def _done_before(
        self,
        step: Step,
        current: RemoteEntry,
        prior: RunRecord,
        known: set[tuple[str, str | None]],
    ) -> bool:
        """Is the key's newest entry this step, written by the interrupted run `prior`?"""
        if (step.path, current.version_id) in known:
            return True
        if step.op is Op.COPY:
            if current.is_delete_marker or step.source is None:
                return False
            head = self.remote.head_version(step.path, current.version_id)
            meta = {str(k).lower(): str(v) for k, v in head.get("Metadata", {}).items()}
            return (
                meta.get(META_RESTORED_FROM) == step.source.version_id
                and meta.get(META_PARENT) == step.expect
                and meta.get(META_USER) == prior.user
            )
        if not current.is_delete_marker or current.last_modified < prior.started - _MARKER_SKEW:
            return False
        ids = [str(i.get("VersionId") or "null") for i in self.remote.versions(step.path)]
        at = ids.index(current.version_id) if current.version_id in ids else -1
        return 0 <= at < len(ids) - 1 and ids[at + 1] == step.expect

    def write_record(self, report: TimeTravelReport, local: Sequence[RunAction] = ()) -> str | None:
        """Complete the run record of a carried-out plan, with `local`: what the same run
        then did to the drive's files (downloads, local deletes). Sets and returns
        `report.record_key` (None if S3 refused: logged, and completed by a later run)."""
        run = report.active
        if run is None:
            return report.record_key
        for action in local:
            run.done(action)
        report.record_key = run.finish()
        report.active = None
        return report.record_key
