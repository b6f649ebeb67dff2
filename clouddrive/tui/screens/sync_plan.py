"""The plan half of the sync screen: planning in a worker, showing the plan (or "in sync"),
the drive's header once it is open, and who changed what (one HEAD per row, at the top)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from clouddrive.core.models import ActionKind, Plan
from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import AuthorsFound, DriveOpened, Failed, PlanReady
from clouddrive.tui.screens.base import DriveScreen
from clouddrive.tui.widgets.counts import CountsBar
from clouddrive.tui.widgets.drive_header import DriveHeader
from clouddrive.tui.widgets.plan_table import PlanTable

__all__ = ["AUTHORS_FOR", "PlanPane"]

#: who changed what is looked up this many rows at a time (one HEAD each), top rows first
AUTHORS_FOR = 200


class PlanPane(DriveScreen):
    """What the next sync does: planned afresh on `r`, on opening and after every change.

    Textual calls the message handlers of every class of a screen in turn (base classes
    too), so each part of the sync screen handles its own share of a message (`on_failed`)
    and none calls `super()` for it."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        self.skip: set[str] = set()
        self.planning = False
        self.resolving = False
        self._opened: object | None = None  #: the drive the header shows
        self._left_out_noted: set[str] = set()

    @property
    def table(self) -> PlanTable:
        return self.query_one(PlanTable)

    @property
    def counts(self) -> CountsBar:
        return self.query_one(CountsBar)

    def _busy_changed(self) -> None:
        self.refresh_bindings()

    def action_refresh(self) -> None:
        if self.shell.syncing or self.resolving:
            return
        self.planning = True
        self.shell.plan_stale = False
        if self.plan is None:  # a still line, not a spinner: planning needs the CPU
            self._placeholder("⟳ Checking the folder and S3 for changes…")
        self.counts.show_text("Checking the folder and S3 for changes…")
        clock = self.shell.clock  # workers read nothing of the app: they get what they need

        def job(drive: DriveAPI) -> PlanReady:
            if drive is not self._opened:  # first, or reopened (its server moved)
                self._opened = drive
                self.post_message(_opened_message(drive))
            started = clock.monotonic()
            plan = drive.status()
            return PlanReady(plan, clock.monotonic() - started)

        self.background("checking for changes", job, group="plan")

    def on_drive_opened(self, message: DriveOpened) -> None:
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

    def on_failed(self, message: Failed) -> None:
        if message.doing == "checking for changes":
            self.planning = False
            if self.plan is None or not self.table.display:
                # never "in sync" beside a failed check: the last answer no longer holds
                text = Text("Could not check for changes.\n", style="bold red", justify="center")
                text.append(message.error, style="red")
                text.append("\nr tries again", style="dim")
                self._placeholder(text)
            else:
                self.query_one("#plan-box").border_title = "Plan of the next sync (as last checked)"
            self.counts.show_text(f"Could not check for changes: {message.error}", "red")
            self._busy_changed()

    def on_screen_resume(self) -> None:
        if self.shell.plan_stale and not self.shell.syncing:
            self.action_refresh()

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
        self.query_one("#plan-box").border_title = "Plan of the next sync"
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

    # -- who changed what --------------------------------------------------------------------

    def _find_authors(self, plan: Plan) -> None:
        entries = [
            a.remote
            for a in self.table.actions.values()
            if a.remote is not None and a.kind not in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE)
        ]
        if not entries:
            return

        def job(drive: DriveAPI) -> AuthorsFound:
            """Every listed row, top first, AUTHORS_FOR rows per message (so the top shows
            soon and no row keeps "…" for ever)."""
            for start in range(0, len(entries) - AUTHORS_FOR, AUTHORS_FOR):
                self.post_message(
                    AuthorsFound(drive.changed_by(entries[start : start + AUTHORS_FOR]))
                )
            last = (len(entries) - 1) // AUTHORS_FOR * AUTHORS_FOR
            return AuthorsFound(drive.changed_by(entries[last:]))

        self.background("finding who changed what", job, group="authors")

    def on_authors_found(self, message: AuthorsFound) -> None:
        self.table.set_authors(message.authors)


def _opened_message(drive: DriveAPI) -> DriveOpened:
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
