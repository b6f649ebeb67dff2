"""The sync screen: the drive, its plan, and syncing it with progress shown.

Planning, syncing and resolving run in thread workers. A sync asks for confirmation from its
worker (the dialog shows the plan the sync will really run, planned afresh under the drive's
lock) and counts progress in a `SyncTracker` that the screen reads 8 times a second (the
sync's threads never wait for the screen); escape stops it cleanly (the executor submits
nothing new, finished actions are recorded).
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, get_current_worker

from clouddrive import errors
from clouddrive.core.models import ActionKind, Plan
from clouddrive.core.paths import INTERNAL_DIR
from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import glyph
from clouddrive.tui.messages import (
    AuthorsFound,
    DriveOpened,
    Failed,
    FilesListed,
    PlanReady,
    ResolveDone,
    SyncDone,
    SyncFailed,
    SyncPlanned,
    SyncProgress,
)
from clouddrive.tui.screens.base import DriveScreen, error_text
from clouddrive.tui.tracker import SyncTracker
from clouddrive.tui.widgets.counts import CountsBar
from clouddrive.tui.widgets.drive_header import DriveHeader
from clouddrive.tui.widgets.log_panel import LogPanel
from clouddrive.tui.widgets.plan_table import PlanTable
from clouddrive.tui.widgets.progress import SyncProgressPanel

__all__ = ["SyncScreen"]

#: who changed what is looked up for this many rows (one HEAD each), the top of the table
AUTHORS_FOR = 200
#: failures shown as notifications one by one; past this, only in the log and the summary
TOASTS_PER_RUN = 3
#: how often (seconds) the screen shows a running sync's progress
PROGRESS_EVERY = 0.125
#: files offered by "find a file"
FIND_LIMIT = 50_000


class SyncScreen(DriveScreen):
    """The everyday view: what the next sync does, and doing it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh"),
        Binding("s", "sync", "Sync"),
        Binding("space", "skip", "Skip/include"),
        Binding("enter", "resolve", "Resolve", show=False),
        Binding("h", "history", "History"),
        Binding("f", "find", "Find file"),
        Binding("d", "deleted", "Deleted"),
        Binding("a", "activity", "Activity"),
        Binding("l", "toggle_log", "Log"),
        Binding("escape", "cancel", "Cancel sync"),
        Binding("q", "app.quit_app", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        self.skip: set[str] = set()
        self.planning = False
        self.resolving = False
        self.tracker: SyncTracker | None = None
        self._rows_in_flight: set[str] = set()
        self._toasts = 0
        self._opened = False
        self._ticker: Timer | None = None
        self._left_out_noted: set[str] = set()

    def compose(self) -> ComposeResult:
        shell = self.shell
        yield DriveHeader(shell.clock, shell.root_hint, id="drive-header")
        with Vertical(id="plan-box"):
            yield PlanTable(shell.clock, id="plan")
            yield Static("", id="in-sync")
        yield CountsBar(id="counts")
        yield SyncProgressPanel(id="progress")
        yield LogPanel(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "Plan of the next sync"
        self.query_one("#progress").display = False
        self.query_one("#log").display = False
        self.query_one("#in-sync").display = False
        self.action_refresh()

    @property
    def table(self) -> PlanTable:
        return self.query_one(PlanTable)

    @property
    def counts(self) -> CountsBar:
        return self.query_one(CountsBar)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        syncing = self.shell.syncing
        if action == "cancel":
            return syncing
        if action in ("skip", "resolve") and (self.plan is None or not self.plan.visible()):
            return False
        if action in ("sync", "refresh", "skip", "resolve"):
            busy = syncing or self.resolving or (action != "refresh" and self.plan is None)
            return None if busy else True
        return True

    def _busy_changed(self) -> None:
        self.refresh_bindings()

    # -- planning --------------------------------------------------------------------------

    def action_refresh(self) -> None:
        if self.shell.syncing or self.resolving:
            return
        self.planning = True
        self.shell.plan_stale = False
        if self.plan is None:  # a still line, not a spinner: planning needs the CPU
            self._placeholder("⟳ Checking the folder and S3 for changes…")
        self.counts.show_text("Checking the folder and S3 for changes…")
        opened = self._opened
        clock = self.shell.clock  # workers read nothing of the app: they get what they need

        def job(drive: DriveAPI) -> PlanReady:
            if not opened:
                self.post_message(_opened_message(drive))
            started = clock.monotonic()
            plan = drive.status()
            return PlanReady(plan, clock.monotonic() - started)

        self.background("checking for changes", job, group="plan")

    def on_drive_opened(self, message: DriveOpened) -> None:
        self._opened = True
        self.query_one(DriveHeader).show(
            bucket=message.bucket,
            prefix=message.prefix,
            endpoint=message.endpoint,
            user=message.user,
            root=message.root,
            last_sync=message.last_sync,
        )
        self.table.user = message.user

    def on_plan_ready(self, message: PlanReady) -> None:
        self.planning = False
        self._show_plan(message.plan)
        self._busy_changed()
        for left in message.plan.skipped:
            if left.path not in self._left_out_noted:
                self._left_out_noted.add(left.path)
                self.shell.note(f"left out: {left.path}: {left.reason}", toast=False)
        self._find_authors(message.plan)

    def _placeholder(self, text: str | Text) -> None:
        """A message in place of the table (while planning first, or when in sync)."""
        self.table.display = False
        placeholder = self.query_one("#in-sync", Static)
        placeholder.display = True
        placeholder.update(
            Text(text, style="dim", justify="center") if isinstance(text, str) else text
        )

    def _show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.skip &= {a.path for a in plan.visible()}
        table = self.table
        table.show_plan(plan, self.skip)
        empty = not plan.visible()
        if empty:
            text = Text("✓ Everything is in sync\n", style="bold green", justify="center")
            text.append("Nothing to upload, download or delete.", style="dim")
            self._placeholder(text)
        else:
            table.display = True
            self.query_one("#in-sync", Static).display = False
        self.counts.show_counts(plan, self.skip)
        if not empty:
            table.focus()

    def _find_authors(self, plan: Plan) -> None:
        entries = [
            a.remote
            for a in self.table.actions.values()
            if a.remote is not None and a.kind not in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE)
        ][:AUTHORS_FOR]
        if not entries:
            return

        def job(drive: DriveAPI) -> AuthorsFound:
            return AuthorsFound(drive.changed_by(entries))

        self.background("finding who changed what", job, group="authors")

    def on_authors_found(self, message: AuthorsFound) -> None:
        self.table.set_authors(message.authors)

    def on_failed(self, message: Failed) -> None:
        super().on_failed(message)
        if message.doing == "checking for changes":
            self.planning = False
            if self.plan is None:
                self._placeholder(Text("Could not check for changes.", style="red"))
            self.counts.show_text(f"Could not check for changes: {message.error}", "red")
            self._busy_changed()
        elif message.doing.startswith("resolving"):
            self.resolving = False
            self._busy_changed()

    def on_screen_resume(self) -> None:
        if self.shell.plan_stale and not self.shell.syncing:
            self.action_refresh()

    # -- choosing --------------------------------------------------------------------------

    def action_skip(self) -> None:
        action = self.table.selected_action()
        if action is None or self.plan is None:
            return
        included = self.table.toggle(action.path)
        if included:
            self.skip.discard(action.path)
        else:
            self.skip.add(action.path)
        self.counts.show_counts(self.plan, self.skip)
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)

    @on(DataTable.RowSelected, "#plan")
    def _row_selected(self) -> None:
        """Enter on the plan: the table takes the key and says so; resolve the row."""
        if self.check_action("resolve", ()):
            self.action_resolve()

    def action_resolve(self) -> None:
        action = self.table.selected_action()
        if action is None or action.kind is not ActionKind.CONFLICT:
            self.notify("Select a conflict (⚠) to resolve it.", timeout=3)
            return
        from clouddrive.tui.screens.conflict import ConflictScreen

        who = self.table.authors.get(action.path, "someone")

        def chosen(choice: str | None) -> None:
            if choice:
                self._resolve(action.path, choice)

        self.app.push_screen(ConflictScreen(action, who, self.shell.clock), chosen)

    def _resolve(self, path: str, choice: str) -> None:
        self.resolving = True
        self._busy_changed()
        self.counts.show_text(f"Resolving {path}: keeping {choice}…")

        def job(drive: DriveAPI) -> ResolveDone:
            return ResolveDone(path, choice, drive.resolve(path, choice))

        self.background(f"resolving {path}", job, group="resolve")

    def on_resolve_done(self, message: ResolveDone) -> None:
        self.resolving = False
        report = message.report
        for outcome in report.failed:
            self.shell.note(f"{message.path}: {outcome.error}", severity="error")
        for outcome in report.done:
            self.shell.note(f"{message.path}: {outcome.note or 'resolved'}")
        self.shell.plan_stale = False
        self._busy_changed()
        self.action_refresh()

    # -- other screens ---------------------------------------------------------------------

    def action_history(self) -> None:
        action = self.table.selected_action()
        if action is None:
            self.action_find()
            return
        from clouddrive.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(action.path))

    def action_find(self) -> None:
        def job(drive: DriveAPI) -> FilesListed:
            return FilesListed(_local_files(str(drive.root)))

        self.background("listing files", job, group="files")

    def on_files_listed(self, message: FilesListed) -> None:
        from clouddrive.tui.screens.find_file import FindFileScreen
        from clouddrive.tui.screens.history import HistoryScreen

        paths = sorted(set(message.paths) | set(self.table.actions))

        def picked(path: str | None) -> None:
            if path:
                self.app.push_screen(HistoryScreen(path))

        self.app.push_screen(FindFileScreen(paths), picked)

    def action_deleted(self) -> None:
        from clouddrive.tui.screens.deleted import DeletedScreen

        self.app.push_screen(DeletedScreen())

    def action_activity(self) -> None:
        from clouddrive.tui.screens.activity import ActivityScreen

        self.app.push_screen(ActivityScreen())

    def action_toggle_log(self) -> None:
        panel = self.query_one(LogPanel)
        panel.display = not panel.display
        if panel.display:
            panel.fill(self.shell.journal)

    # -- syncing ---------------------------------------------------------------------------

    def action_sync(self, force: bool = False) -> None:
        shell = self.shell
        if shell.syncing or self.resolving:
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
        self.run_worker(
            lambda: self._sync_thread(tracker, skip, force),
            name="sync",
            group="sync",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _sync_thread(self, tracker: SyncTracker, skip: frozenset[str], force: bool) -> None:
        """The sync itself (on a worker thread; it reads nothing of the app but what it is
        given); every end is a message, never a raise."""
        app = self.app
        shell = self.shell
        cancel = shell.cancel
        worker = get_current_worker()
        post = self.post_message

        def confirm(plan: Plan) -> bool:
            yes = _confirm_from_thread(app, plan, len(skip), cancel, worker)
            if yes:
                tracker.begin()
                post(SyncProgress())
            return yes

        def on_plan(plan: Plan) -> None:
            tracker.planned(plan)
            post(SyncPlanned(plan))

        try:
            drive = shell.ensure_drive()
            report = drive.sync(
                confirm=confirm,
                on_plan=on_plan,
                on_start=tracker.started,
                on_outcome=tracker.finished,
                cancel=cancel,
                skip=skip,
                force=force,
            )
        except errors.GuardTripped as exc:
            post(SyncFailed(str(exc), guard=True))
        except errors.Refused as exc:
            post(SyncFailed(str(exc), declined=True))
        except Exception as exc:
            post(SyncFailed(error_text(exc)))
        else:
            post(SyncDone(report))

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
                table.set_state(action.path, Text("⟳ syncing", style="cyan"))
        for outcome in outcomes:
            action = outcome.action
            self._rows_in_flight.discard(action.path)
            if action.is_bookkeeping:
                continue
            mark, label, _ = glyph(action.kind)
            if outcome.ok:
                table.set_state(action.path, Text("✓ done", style="green"))
                note = f" ({outcome.note})" if outcome.note else ""
                self.shell.note(f"{mark} {label} {action.path}{note}", toast=False)
            else:
                table.set_state(action.path, Text("✗ failed", style="bold red"))
                toast = self._toasts < TOASTS_PER_RUN
                self._toasts += 1
                self.shell.note(
                    f"{label} {action.path} failed: {outcome.error}", severity="error", toast=toast
                )
        panel.update_from(snap)

    def action_cancel(self) -> None:
        if not self.shell.syncing or self.shell.cancel.is_set():
            return
        self.shell.cancel.set()
        if self.tracker is not None:
            self.tracker.cancelling = True
        self.shell.note("stopping the sync: transfers in flight finish, nothing new starts")
        self.post_message(SyncProgress())

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
        self._sync_over()
        done = [o for o in report.done if not o.action.is_bookkeeping]
        failed = report.failed
        if not report.plan.visible():
            self.shell.note("Everything was already in sync.")
        elif report.cancelled:
            left = len(report.plan.visible()) - len(done) - len(failed)
            self.shell.note(
                f"Sync stopped: {len(done)} done, {len(failed)} failed, {left} left for the "
                "next sync. Finished actions are recorded.",
                severity="warning",
            )
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
            from clouddrive.tui.screens.confirm import ConfirmScreen

            def answer(yes: bool | None) -> None:
                if yes:
                    self.action_sync(force=True)
                elif self.plan is not None:
                    self.counts.show_counts(self.plan, self.skip)

            self.shell.note(f"safety guard: {message.error}", severity="warning", toast=False)
            self.app.push_screen(
                ConfirmScreen(
                    "A safety guard stopped the sync",
                    f"{message.error}.\n\nEverything deleted stays recoverable from S3's "
                    "history. Sync anyway?",
                    yes="Sync anyway",
                    no="Don't sync",
                    danger=True,
                ),
                answer,
            )
            return
        self.shell.note(f"sync failed: {message.error}", severity="error")
        self.counts.show_text(f"Sync failed: {message.error}", "red")


def _opened_message(drive: DriveAPI) -> DriveOpened:
    from datetime import datetime

    raw = drive.state.get_meta("last_sync")
    config = drive.config
    return DriveOpened(
        bucket=config.bucket,
        prefix=config.prefix,
        endpoint=drive.endpoint,
        user=drive.user,
        root=str(drive.root),
        last_sync=datetime.fromisoformat(raw) if raw else None,
    )


def _confirm_from_thread(
    app: App[object], plan: Plan, skipped: int, cancel: threading.Event, worker: Worker[None]
) -> bool:
    """Show the sync's confirmation on the UI thread; wait (on the sync's thread) for it."""
    from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen

    answered = threading.Event()
    answer = [False]

    def reply(yes: bool | None) -> None:
        answer[0] = bool(yes)
        answered.set()

    app.call_from_thread(app.push_screen, SyncConfirmScreen(plan, skipped), reply)
    while not answered.wait(0.1):
        if cancel.is_set() or worker.is_cancelled:
            return False
    return answer[0]


def _local_files(root: str, limit: int = FIND_LIMIT) -> list[str]:
    """Files under the drive folder (not clouddrive's own), for "find a file"."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if d != INTERNAL_DIR]
            rel = ""
        dirs.sort()
        for name in sorted(files):
            found.append(f"{rel}/{name}" if rel else name)
            if len(found) >= limit:
                return found
    return found
