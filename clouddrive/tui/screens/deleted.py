"""Recently deleted: every deleted file of the drive (anyone's), filterable, multi-select,
restored after a confirmation that shows the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Label, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, size, stamp
from clouddrive.tui.messages import DeletedLoaded
from clouddrive.tui.screens.table_screen import TableScreen, table_bindings
from clouddrive.tui.widgets.plan_table import fit_path

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.views import DeletedFile

__all__ = ["DeletedScreen"]


class DeletedScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = table_bindings(
        Binding("space", "select", "Select"),
        Binding("a", "select_all", "Select all"),
        Binding("r", "restore", "Restore"),
        Binding("h", "history", "History"),
        Binding("slash", "filter", "Filter"),
    )
    TABLE_ID = "deleted-table"
    COLUMNS = (
        ("on", "", 3),
        ("path", "path", 0),
        ("by", "deleted by", 12),
        ("when", "deleted", 12),
        ("size", "size", 9),
        ("author", "last edit by", 12),
        ("until", "recoverable until", 17),
    )

    def __init__(self) -> None:
        super().__init__()
        self.files: list[DeletedFile] = []
        self.shown: dict[str, DeletedFile] = {}
        self.selected: set[str] = set()
        self._path_width = 40

    def compose(self) -> ComposeResult:
        yield Label(" 🗑  Recently deleted", classes="screen-title")
        yield Input(placeholder="Filter: part of a path, or who deleted it  (/)", id="filter")
        yield self.new_table()
        yield Static("", id="deleted-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self._path_width = self.add_columns()
        self.query_one(Input).cursor_blink = False
        self.action_reload()

    def action_reload(self) -> None:
        self._status("Reading the bucket's history…")
        self.load("reading recently deleted", lambda d: DeletedLoaded(d.deleted()))

    def on_deleted_loaded(self, message: DeletedLoaded) -> None:
        self.files = message.files
        known = {f.path for f in self.files}
        self.selected &= known
        self.table.loading = False
        self._fill()
        self.table.focus()

    def _fill(self) -> None:
        words = self.query_one(Input).value.lower().split()
        table = self.table
        table.clear()
        self.shown = {}
        clock = self.shell.clock
        for item in self.files:
            hay = f"{item.path} {item.deleted_by}".lower()
            if not all(w in hay for w in words):
                continue
            self.shown[item.path] = item
            on = item.path in self.selected
            until = (
                stamp(item.recoverable_until, clock)
                if item.recoverable_until is not None
                else "no expiry rule"
            )
            table.add_row(
                Text("[x]" if on else "[ ]", style="bold green" if on else "dim"),
                Text(fit_path(item.path, self._path_width), style="bold" if on else ""),
                Text(item.deleted_by[:12], style="cyan"),
                Text(ago(item.deleted_at, clock), style="dim"),
                Text(size(item.size), justify="right"),
                Text(item.author[:12]),
                Text(until, style="dim" if item.recoverable_until is None else "yellow"),
                key=item.path,
            )
        self._counts()

    def _counts(self) -> None:
        if not self.files:
            self._status("Nothing deleted: every file that was ever synced is still here.")
            return
        text = f"{len(self.files)} deleted file(s)"
        if len(self.shown) != len(self.files):
            text += f", {len(self.shown)} shown"
        if self.selected:
            text += f" · {len(self.selected)} selected (r restores them)"
        else:
            text += " · space selects, r restores the selected (or the highlighted) file"
        self._status(text)

    def _status(self, text: str) -> None:
        self.query_one("#deleted-status", Static).update(Text(f" {text}", style="dim"))

    def _current(self) -> str | None:
        return self.current_key() if self.shown else None

    # -- actions -------------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_back(self) -> None:
        if self.query_one(Input).has_focus:
            self.table.focus()
            return
        super().action_back()

    def action_select(self) -> None:
        path = self._current()
        if path is None:
            return
        self.selected ^= {path}
        row = self.table.cursor_row
        self._fill()
        self.table.move_cursor(row=min(row + 1, self.table.row_count - 1))

    def action_select_all(self) -> None:
        shown = set(self.shown)
        self.selected = self.selected - shown if shown <= self.selected else self.selected | shown
        row = self.table.cursor_row
        self._fill()
        self.table.move_cursor(row=row)

    def action_restore(self) -> None:
        paths = sorted(self.selected) or [p for p in [self._current()] if p]
        if not paths:
            self.notify("Nothing to restore.", timeout=3)
            return

        def plan(drive: DriveAPI) -> TimeTravelPlan:
            return drive.plan_restore_deleted(paths)

        self.time_travel("planning the restore", "Restore", plan)

    def action_history(self) -> None:
        path = self._current()
        if path is None:
            return
        from clouddrive.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(path))

    def after_time_travel(self) -> None:
        self.selected.clear()
        super().after_time_travel()
