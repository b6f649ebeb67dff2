"""Running a sync from the sync screen: start the worker (`clouddrive.tui.sync_worker`),
show the plan it really runs, drain its progress 8 times a second (the sync's threads never
wait for the screen), stop it on escape, and report how it ended."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual.timer import Timer

from clouddrive.tui.fmt import glyph
from clouddrive.tui.messages import (
    Failed,
    PlanReady,
    SyncDone,
    SyncFailed,
    SyncPlanned,
    SyncProgress,
)
from clouddrive.tui.screens.sync_plan import PlanPane
from clouddrive.tui.sync_worker import run_sync
from clouddrive.tui.tracker import SyncTracker
from clouddrive.tui.widgets.drive_header import DriveHeader
from clouddrive.tui.widgets.progress import SyncProgressPanel

if TYPE_CHECKING:
    from clouddrive.sync.report import SyncReport

__all__ = ["PROGRESS_EVERY", "TOASTS_PER_RUN", "SyncRun"]

#: failures shown as notifications one by one; past this, only in the log and the summary
TOASTS_PER_RUN = 3
#: how often (seconds) the screen shows a running sync's progress
PROGRESS_EVERY = 0.125


class SyncRun(PlanPane):
    """s syncs (after a confirmation), escape stops cleanly (the executor submits nothing
    new, finished actions are recorded); a tripped guard asks whether to sync anyway."""

    def __init__(self) -> None:
        super().__init__()
        self.tracker: SyncTracker | None = None
        self._rows_in_flight: set[str] = set()
        self._toasts = 0
        self._ticker: Timer | None = None

    sync_after_plan = False  #: s was pressed while the plan was being checked

    def action_sync(self, force: bool = False) -> None:
        shell = self.shell
        if shell.syncing or self.resolving or shell.operation is not None:
            return
        if self.planning and self.plan is None:
            self.sync_after_plan = True
            self.shell.note("Syncing as soon as the check for changes has finished…")
            return
        shell.syncing = True
        shell.cancel.clear()
        self._rows_in_flight.clear()
        self._toasts = 0
        self._busy_changed()
        self.counts.show_text("Checking for changes before syncing…")
        tracker = self.tracker = SyncTracker(shell.clock.monotonic)
        skip = frozenset(self.skip)
        # The screen reads the tracker at a steady pace; the sync's threads never wait on it.
        self._ticker = self.set_interval(PROGRESS_EVERY, self._drain)
        post = self.post_message
        self.run_worker(
            lambda: run_sync(shell, post, tracker, skip, force),
            name="sync",
            group="sync",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_plan_ready(self, message: PlanReady) -> None:
        if self.sync_after_plan:  # after PlanPane's share of the message has shown the plan
            self.sync_after_plan = False
            self.call_after_refresh(self.action_sync)

    def on_failed(self, message: Failed) -> None:
        if message.doing == "checking for changes" and self.sync_after_plan:
            self.sync_after_plan = False
            self.shell.note("Not syncing: the check for changes failed.", severity="warning")

    def on_sync_planned(self, message: SyncPlanned) -> None:
        """Show the plan the sync will run, with this run's skipped rows kept (struck out)."""
        old = self.plan.visible() if self.plan is not None else ()
        kept = tuple(a for a in old if a.path in self.skip)
        fresh = message.plan
        self._show_plan(replace(fresh, actions=fresh.actions + kept))
        self.counts.show_text("Waiting for your confirmation…")

    def on_sync_progress(self, message: SyncProgress) -> None:
        self._drain()

    def _drain(self) -> None:
        """Show what the sync did since the last look: row states, log lines, the panel."""
        tracker = self.tracker
        if tracker is None or not tracker.begun:
            return
        outcomes, snap = tracker.drain()
        panel = self.query_one(SyncProgressPanel)
        if not panel.display:
            panel.reset()
            panel.display = True
            self.counts.show_text("Syncing… (escape stops it cleanly)")
        table = self.table
        for action in snap.in_flight:
            if action.path not in self._rows_in_flight:
                self._rows_in_flight.add(action.path)
                table.set_state(action.path, Text("⟳ sync", style="cyan"))
        done_lines: list[str] = []
        for outcome in outcomes:
            action = outcome.action
            self._rows_in_flight.discard(action.path)
            if action.is_bookkeeping:
                continue
            mark, label, _ = glyph(action.kind)
            if outcome.ok:
                table.set_state(action.path, Text("✓ done", style="green"))
                note = f" ({outcome.note})" if outcome.note else ""
                done_lines.append(f"{mark} {label} {action.path}{note}")
            else:
                table.set_state(action.path, Text("✗ error", style="bold red"))
                toast = self._toasts < TOASTS_PER_RUN
                self._toasts += 1
                self.shell.note(
                    f"{label} {action.path} failed: {outcome.error}", severity="error", toast=toast
                )
        self.shell.log_lines(done_lines)
        panel.update_from(snap)

    def action_cancel(self) -> None:
        """Stop the sync: before the confirmation, it simply does not happen (the dialog is
        never shown, or taken down); after it, nothing new starts and what runs finishes."""
        if not self.shell.syncing or self.shell.cancel.is_set():
            return
        self.shell.cancel.set()
        tracker = self.tracker
        if tracker is None or not tracker.begun:
            self.counts.show_text("Cancelling the sync…", "yellow")
            return  # the worker ends with "Sync cancelled; nothing was changed."
        tracker.cancelling = True
        self.shell.note("stopping the sync: transfers in flight finish, nothing new starts")
        self.counts.show_text("Stopping… transfers in flight finish; nothing new starts", "yellow")
        self._drain()

    def _sync_over(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.query_one(SyncProgressPanel).display = False
        self.tracker = None
        self._rows_in_flight.clear()
        self.shell.sync_ended()
        self._busy_changed()

    def on_sync_done(self, message: SyncDone) -> None:
        self._drain()  # the last outcomes
        report = message.report
        running = self.tracker.in_flight() if self.tracker is not None else set()
        self._sync_over()
        done = [o for o in report.done if not o.action.is_bookkeeping]
        failed = report.failed
        if not report.plan.visible():
            self.shell.note("Everything was already in sync.")
        elif report.cancelled:
            self.shell.note(_stopped_note(report, running), severity="warning")
        elif failed:
            self.shell.note(
                f"Synced {len(done)}; {len(failed)} failed (see the log: l)", severity="error"
            )
        else:
            self.shell.note(f"Synced: {len(done)} change(s) done.")
        if report.outcomes:
            self.query_one(DriveHeader).synced(self.shell.clock.now())
        self.skip.clear()
        self.action_refresh()

    def on_sync_failed(self, message: SyncFailed) -> None:
        self._sync_over()
        if message.declined:
            self.shell.note("Sync cancelled; nothing was changed.")
            if self.plan is not None:
                self.counts.show_counts(self.plan, self.skip)
            return
        if message.guard:
            self._ask_past_guard(message.error)
            return
        self.shell.note(f"sync failed: {message.error}", severity="error")
        self.counts.show_text(f"Sync failed: {message.error}", "red")

    def _ask_past_guard(self, error: str) -> None:
        from clouddrive.tui.screens.confirm import ConfirmScreen

        error = _without_cli_flags(error)

        def answer(yes: bool | None) -> None:
            if yes:
                self.action_sync(force=True)
            elif self.plan is not None:
                self.counts.show_counts(self.plan, self.skip)

        self.shell.note(f"safety guard: {error}", severity="warning", toast=False)
        self.app.push_screen(
            ConfirmScreen(
                "A safety guard stopped the sync",
                f"{error}.\n\nEverything deleted stays recoverable from S3's history. Sync anyway?",
                yes="Sync anyway",
                no="Don't sync",
                danger=True,
            ),
            answer,
        )


def _without_cli_flags(error: str) -> str:
    """A guard's message ends with the CLI's way past it (`clouddrive status`, `--max-delete N
    or --force`); the app's way is the dialog's button, so that advice is left out."""
    import re

    return re.split(r"\.?\s*(?:Check the plan with|Run with --force|use --max-delete)", error)[0]


def _stopped_note(report: SyncReport, running: set[str]) -> str:
    """What a stopped sync did, and what it leaves: transfers abandoned in flight may still
    complete on S3 (the next sync adopts them, moving nothing twice), so they are named
    apart from the actions that never started."""
    done = [o for o in report.done if not o.action.is_bookkeeping]
    failed = [o for o in report.failed if not o.action.is_bookkeeping]
    touched = {o.action.path for o in report.outcomes}
    unfinished = {a.path for a in report.plan.visible()} - touched
    abandoned = len(unfinished & running)
    left = len(unfinished) - abandoned
    parts = f"Sync stopped: {len(done)} done, {len(failed)} failed"
    if abandoned:
        parts += f", {abandoned} in flight abandoned (the next sync checks them)"
    return f"{parts}, {left} left for the next sync. Finished actions are recorded."
