"""The history of one file: every version and delete marker, who and when; restore a
version (copied forward, nothing removed), view a text version."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Label, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, size, stamp
from clouddrive.tui.messages import Failed, HistoryLoaded, VersionRead
from clouddrive.tui.screens.base import DriveScreen

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.views import FileVersion

__all__ = ["HistoryScreen"]

#: the largest version the viewer reads
VIEW_LIMIT = 1 << 20


class HistoryScreen(DriveScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "restore", "Restore this version"),
        Binding("v", "view", "View"),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("q", "app.quit_app", "Quit"),
    ]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.versions: dict[str, FileVersion] = {}

    def compose(self) -> ComposeResult:
        yield Label(f" 🕘 History of {self.path}", classes="screen-title")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("", key="mark", width=1)
        table.add_column("version", key="version", width=12)
        table.add_column("when", key="when", width=19)
        table.add_column("", key="ago", width=12)
        table.add_column("by", key="by", width=14)
        table.add_column("size", key="size", width=10)
        table.add_column("", key="note", width=36)
        self.action_reload()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#history-table", DataTable)

    def _status(self, text: str, style: str = "dim") -> None:
        self.query_one("#history-status", Static).update(Text(f" {text}", style=style))

    def action_reload(self) -> None:
        self.table.loading = True
        path = self.path
        self.background(
            f"reading the history of {path}",
            lambda d: HistoryLoaded(path, d.history(path)),
            group="load",
        )

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
        super().on_failed(message)
        self.table.loading = False
        self._status(message.error, "yellow")

    def _current(self) -> FileVersion | None:
        table = self.table
        if not self.versions or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.versions.get(str(key.value))

    def action_back(self) -> None:
        self.app.pop_screen()

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

    def after_time_travel(self) -> None:
        self.action_reload()
