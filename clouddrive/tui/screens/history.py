"""The history of one file: every version and delete marker, who and when; restore a
version (copied forward, nothing removed), view a text version."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, size, stamp
from clouddrive.tui.messages import Failed, HistoryLoaded, VersionRead
from clouddrive.tui.screens.table_screen import TableScreen, table_bindings

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.views import FileVersion

__all__ = ["HistoryScreen"]

#: the largest version the viewer reads
VIEW_LIMIT = 1 << 20


class HistoryScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = table_bindings(
        Binding("r", "restore", "Restore this version"),
        Binding("v", "view", "View"),
    )
    TABLE_ID = "history-table"
    COLUMNS = (
        ("mark", "", 1),
        ("version", "version", 12),
        ("when", "when", 19),
        ("ago", "", 12),
        ("by", "by", 14),
        ("size", "size", 10),
        ("note", "", 36),
    )

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.versions: dict[str, FileVersion] = {}

    def compose(self) -> ComposeResult:
        yield Label(f" 🕘 History of {self.path}", classes="screen-title")
        yield self.new_table()
        yield Static("", id="history-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.add_columns()
        self.action_reload()

    def _status(self, text: str, style: str = "dim") -> None:
        self.query_one("#history-status", Static).update(Text(f" {text}", style=style))

    def action_reload(self) -> None:
        path = self.path
        self.load(f"reading the history of {path}", lambda d: HistoryLoaded(path, d.history(path)))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        table = self.table
        table.loading = False
        table.clear()
        self.versions = {}
        clock = self.shell.clock
        for item in message.versions:
            self.versions[item.version_id] = item
            if item.is_delete_marker:
                mark, note = Text("✗", style="red"), Text("deleted", style="red")
            elif item.is_latest:
                mark, note = Text("●", style="green"), Text("current", style="bold green")
            else:
                mark, note = Text("○", style="dim"), Text("")
            if item.restored_from and not item.is_delete_marker:
                note.append(
                    f"{' · ' if note else ''}restored from {item.restored_from[:10]}",
                    style="cyan",
                )
            table.add_row(
                mark,
                Text(item.version_id[:12]),
                Text(stamp(item.modified, clock, seconds=True)),
                Text(ago(item.modified, clock), style="dim"),
                Text(item.author[:14], style="cyan"),
                Text("" if item.is_delete_marker else size(item.size), justify="right"),
                note,
                key=item.version_id,
            )
        count = len(message.versions)
        self._status(
            f"{count} entr{'y' if count == 1 else 'ies'} · r makes the highlighted version "
            "current again (nothing is removed) · v views a text version"
        )
        table.focus()
        if count > 1:
            table.move_cursor(row=1)

    def on_failed(self, message: Failed) -> None:
        self._status(message.error, "yellow")

    def _current(self) -> FileVersion | None:
        key = self.current_key()
        return None if key is None else self.versions.get(key)

    def action_restore(self) -> None:
        version = self._current()
        if version is None:
            return
        if version.is_delete_marker:
            self.notify("A delete marker has no content: pick a version.", timeout=4)
            return
        if version.is_latest:
            self.notify("This is already the current version.", timeout=4)
            return
        path, vid = self.path, version.version_id

        def plan(drive: DriveAPI) -> TimeTravelPlan:
            return drive.plan_restore(path, version_id=vid)

        self.time_travel("planning the restore", "Restore", plan)

    def action_view(self) -> None:
        version = self._current()
        if version is None or version.is_delete_marker:
            self.notify("Pick a version to view (a delete marker has no content).", timeout=4)
            return
        path, vid = self.path, version.version_id
        clock = self.shell.clock
        title = f"{path} · version {vid[:12]} · {version.author} · {stamp(version.modified, clock)}"
        self.background(
            f"reading {path}",
            lambda d: VersionRead(d.read_version(path, vid, limit=VIEW_LIMIT), title),
            group="view",
        )

    def on_version_read(self, message: VersionRead) -> None:
        from clouddrive.tui.screens.text_view import TextViewScreen

        self.app.push_screen(TextViewScreen(message.version, message.title))
