"""Running a plan against one drive: sync, pull (take S3's state for some paths) and resolve
(settle one conflict by choice), each inside the shared run scaffold (`RunScope`)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clouddrive import errors
from clouddrive.core.models import PULL_KINDS, Action, ActionKind, Plan
from clouddrive.history.runs import RunLog
from clouddrive.ledger import S3Remote
from clouddrive.local.state import StateStore
from clouddrive.sync.executor import Executor
from clouddrive.sync.gather import Gatherer
from clouddrive.sync.guards import check_guards, under
from clouddrive.sync.outcome import Outcome
from clouddrive.sync.report import PullReport, SyncReport
from clouddrive.sync.resolve import Choice, resolve_conflict
from clouddrive.sync.run import RunScope

__all__ = ["MAX_REPLANS", "SyncEngine"]

MAX_REPLANS = 3  #: how many lost races one path may go through in one run
#: After a stop, how long the run record may take to reach S3 before the run ends without
#: it (a paused server must not hold Ctrl-C up; see `clouddrive.sync.scheduler`).
RECORD_WAIT = 1.0


def _new_run_id() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class SyncEngine:
    """The runs of one drive. `Drive` builds it from its (lazily opened) parts."""

    root: Path
    remote: S3Remote
    state: StateStore
    gatherer: Gatherer
    runs: Callable[[], RunLog]
    user: str
    workers: int

    def _scope(self, run_id: str) -> RunScope:
        return RunScope(self.root, run_id, user=self.user, runs=self.runs, remote=self.remote)

    def sync(
        self,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        dry_run: bool = False,
        max_delete: int | None = None,
        force: bool = False,
        allow_vanished: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        cancel: threading.Event | None = None,
        skip: Collection[str] = (),
        on_start: Callable[[Action], None] | None = None,
    ) -> SyncReport:
        """Plan, check the guards, ask `confirm` (if given), then carry the plan out."""
        run_id = _new_run_id()
        with self._scope(run_id) as scope:
            inputs = self.gatherer.gather()
            plan = self.gatherer.plan(inputs)
            if skip:
                left_out = set(skip)
                plan = dataclasses.replace(
                    plan,
                    actions=tuple(a for a in plan.actions if not under(a.path, left_out)),
                    vanished=tuple(p for p in plan.vanished if not under(p, left_out)),
                )
            report = SyncReport(plan=plan, run_id=run_id, dry_run=dry_run)
            if on_plan is not None:
                on_plan(plan)
            check_guards(
                plan,
                len(inputs.base),
                max_delete=max_delete,
                force=force,
                allow_vanished=allow_vanished,
            )
            if dry_run:
                return report
            if plan.is_empty:
                if plan.skipped:  # the log names every skipped file, even in an idle run
                    scope.begin(report, kind="sync", record=False)
                return report
            # Bookkeeping alone (files touched but identical) needs nobody's consent.
            if confirm is not None and plan.visible() and not confirm(plan):
                raise errors.Refused("sync cancelled; nothing was changed")
            scope.begin(report, kind="sync")
            scope.log.info(
                "sync %s of %s with %s as %s", run_id, self.root, self.remote.uri, self.user
            )
            left = self._execute(scope, plan.actions, report, on_outcome, cancel, on_start)
            report.cancelled = bool(left)  # stopped with work undone (it waits for next run)
            self.state.set_meta("last_sync", datetime.now(UTC).isoformat())
            scope.finish(report, wait=RECORD_WAIT if report.cancelled else None)
        return report

    def _execute(
        self,
        scope: RunScope,
        actions: Iterable[Action],
        report: SyncReport,
        on_outcome: Callable[[Outcome], None] | None,
        cancel: threading.Event | None,
        on_start: Callable[[Action], None] | None = None,
    ) -> list[Action]:
        """Run the plan's actions, replanning lost races; the actions a stop left undone."""
        executor = Executor(
            self.root,
            self.remote,
            user=self.user,
            workers=self.workers,
            cancel=cancel,
            on_start=on_start,
        )
        retry: list[Action] = []

        def finished(outcome: Outcome) -> None:
            self._store(outcome)
            if outcome.replan:
                retry.append(outcome.action)
                return
            report.outcomes.append(outcome)
            scope.outcome(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        @contextlib.contextmanager
        def grouped() -> Iterator[None]:
            """Outcomes that arrive together are written out together (bases, journal, log)."""
            with scope.grouped(), self.state.grouped():
                yield

        left = executor.run(actions, finished, grouped)
        for _round in range(MAX_REPLANS):
            if not retry or executor.cancel.is_set():
                break
            lost, retry = retry, []
            fresh = [a for a in (self.gatherer.replan(a.path) for a in lost) if a is not None]
            left += executor.run(fresh, finished, grouped)
        if executor.cancel.is_set():  # a stop: lost races wait for the next run like the rest
            left += retry
            retry = []
        if left:
            scope.log.warning("stopped: %d action(s) not done, left for the next sync", len(left))
            for action in left:
                scope.log.info("left %s %s", action.kind.value, action.path)
        for action in retry:
            outcome = Outcome(action, error="kept losing races with other writers; try again")
            report.outcomes.append(outcome)
            scope.outcome(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        return left

    def _store(self, outcome: Outcome) -> None:
        """Bases are written only after their action succeeded (crash safety)."""
        for entry in outcome.bases:
            self.state.put(entry)
        for path in outcome.forget:
            self.state.forget(path)

    def pull(
        self,
        paths: Collection[str],
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
        record: bool = True,
        max_delete: int | None = None,
        force: bool = False,
    ) -> PullReport:
        """Bring S3's current state of `paths` into the folder now, for files not changed
        here: downloads and local deletes only (see `Drive.pull`). The guards of `sync`
        apply (vanished history, mass delete) to what the pull would do."""
        run_id = _new_run_id()
        wanted = set(paths)
        with self._scope(run_id) as scope:
            inputs = self.gatherer.gather()
            full = self.gatherer.plan(inputs)
            mine = [a for a in full.actions if under(a.path, wanted)]
            plan = Plan(
                actions=tuple(a for a in mine if a.kind in PULL_KINDS),
                skipped=tuple(s for s in full.skipped if under(s.path, wanted)),
                vanished=tuple(p for p in full.vanished if under(p, wanted)),
            )
            check_guards(plan, len(inputs.base), max_delete=max_delete, force=force)
            left = tuple(a for a in mine if a.kind not in PULL_KINDS)
            report = PullReport(plan=plan, run_id=run_id, left=left)
            if plan.is_empty:
                if plan.skipped:
                    scope.begin(report, kind="pull", record=False)
                return report
            scope.begin(report, kind="pull", record=record)
            scope.log.info("pull %s of %d path(s) into %s", run_id, len(wanted), self.root)
            self._execute(scope, plan.actions, report, on_outcome, None)
            self.state.set_meta("last_sync", datetime.now(UTC).isoformat())
            scope.finish(report)
        return report

    def resolve(self, path: str, choice: str) -> SyncReport:
        """Settle the conflict at `path` now (see `Drive.resolve`)."""
        how = Choice.parse(choice)
        run_id = _new_run_id()
        with self._scope(run_id) as scope:
            self.remote.require_versioning()
            action = self.gatherer.replan(path)
            if action is None or action.kind is not ActionKind.CONFLICT:
                now = "nothing to do" if action is None else action.kind.value
                raise errors.UserError(f"{path} is not in conflict any more ({now}); refresh")
            report = SyncReport(plan=Plan(actions=(action,)), run_id=run_id)
            scope.begin(report, kind="resolve")
            scope.log.info("resolve %s: keep %s, as %s", path, how.value, self.user)
            executor = Executor(self.root, self.remote, user=self.user, workers=1)
            outcome = resolve_conflict(executor, action, how)
            self._store(outcome)
            report.outcomes.append(outcome)
            scope.outcome(outcome)
            scope.finish(report)
        return report
