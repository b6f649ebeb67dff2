"""Choosing on the plan: space leaves a row out of this run, enter resolves a conflict (the
dialog offers keep mine / theirs / both; the engine does it in a worker)."""

from __future__ import annotations

from textual import on
from textual.widgets import DataTable

from clouddrive.core.models import ActionKind
from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import Failed, ResolveDone
from clouddrive.tui.screens.sync_plan import PlanPane

__all__ = ["PlanChoices"]


class PlanChoices(PlanPane):
    """Skip and resolve, on the rows of the plan."""

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

    def on_failed(self, message: Failed) -> None:
        if message.doing.startswith("resolving"):
            self.resolving = False
            self._busy_changed()
