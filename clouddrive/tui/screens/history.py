"""The history of one file: every version and delete marker, who and when; restore a
version (copied forward, nothing removed), view a text version."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, size, stamp
from clouddrive.tui.messages import HistoryLoaded, LinkMade, VersionRead
from clouddrive.tui.screens.table_screen import TableScreen, table_bindings
from clouddrive.tui.widgets.footer import AppFooter
from clouddrive.tui.widgets.operation import OperationLine

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.views import FileVersion

__all__ = ["HistoryScreen"]

#: the largest version the viewer reads
VIEW_LIMIT = 1 << 20


class HistoryScreen(TableScreen):
    HELP_TITLE = "History of a file"
    BINDINGS: ClassVar[list[BindingType]] = table_bindings(
        Binding("r", "restore", "Restore", tooltip="Make the highlighted version current again"),
        Binding("v", "view", "View", tooltip="View the highlighted version (text)"),
        Binding("c", "link", "Link", tooltip="A download link of the highlighted version"),
    )
    TABLE_ID = "history-table"
    STATUS_ID = "history-status"
    COLUMNS = (
        ("mark", "", 1, 1),
        ("version", "version", 12, 8),
        ("when", "when", 19, 16),
        ("ago", "", 12, 0),
        ("by", "by", 14, 7),
        ("size", "size", 10, 8),
        ("note", "", 0, 20),
    )

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.versions: dict[str, FileVersion] = {}
        self._listed: list[FileVersion] = []

    def compose(self) -> ComposeResult:
        yield Label(f" 🕘 History of {self.path}", classes="screen-title")
        yield self.new_table()
        yield Static("", id="history-status", classes="status-line")
        yield OperationLine()
        yield AppFooter()

    def on_mount(self) -> None:
        self.add_columns()
        self.action_reload()

    def action_reload(self) -> None:
        path = self.path
        self.load(f"reading the history of {path}", lambda d: HistoryLoaded(path, d.history(path)))

    def status_for(self) -> tuple[str, str]:
        if self.state == "loading":
            return f"⟳ Reading the history of {self.path}…", "cyan"
        if self.state == "failed":
            return f"Could not read the history: {self.error} · ctrl+r tries again", "red"
        count = len(self._listed)
        if not count:
            return f"No versions: {self.path} was never synced to S3.", "yellow"
        return (
            f"{count} entr{'y' if count == 1 else 'ies'} · r makes the highlighted version "
            "current again (nothing is removed) · v views it · c links to it"
        ), "dim"

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.loaded()
        self._listed = list(message.versions)
        self.refill()
        self.show_status()
        self.table.focus()
        if len(self._listed) > 1:
            self.table.move_cursor(row=1)

    def refill(self) -> None:
        table = self.table
        table.clear()
        self.versions = {}
        clock = self.shell.clock
        for item in self._listed:
            self.versions[item.version_id] = item
            if item.is_delete_marker:
                mark, note = Text("✗", style="red"), Text("deleted", style="red")
            elif item.is_latest:
                mark, note = Text("●", style="green"), Text("current", style="bold green")
            else:
                mark, note = Text("○", style="dim"), Text("")
            if item.restored_from and not item.is_delete_marker:
                note.append(
                    f"{' · ' if note else ''}"
                    + (
                        f"restored from {item.restored_from[:10]}"
                        if self.widths["note"] >= 36
                        else f"↺ {item.restored_from[:8]}"
                    ),
                    style="cyan",
                )
            table.add_row(
                mark,
                Text(item.version_id[:12]),
                Text(stamp(item.modified, clock, seconds=True)),
                Text(ago(item.modified, clock), style="dim"),
                Text(item.author, style="cyan"),
                Text("" if item.is_delete_marker else size(item.size), justify="right"),
                note,
                key=item.version_id,
            )

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

    def action_link(self) -> None:
        """A presigned download link of the highlighted version (`Drive.link`), shown and
        copied to the clipboard (terminals that allow it)."""
        version = self._current()
        if version is None or version.is_delete_marker:
            self.notify("Pick a version to link to (a delete marker has no content).", timeout=4)
            return
        path, vid = self.path, version.version_id

        def job(drive: DriveAPI) -> LinkMade:
            return LinkMade(drive.link(path, version=vid))

        self.background(f"making a link to {path}", job, group="link")

    def on_link_made(self, message: LinkMade) -> None:
        from clouddrive.tui.screens.link import LinkScreen

        link = message.link
        self.app.copy_to_clipboard(link.url)
        self.app.push_screen(LinkScreen(link, self.shell.clock))

    def on_version_read(self, message: VersionRead) -> None:
        from clouddrive.tui.screens.text_view import TextViewScreen

        self.app.push_screen(TextViewScreen(message.version, message.title))
