"""Recently deleted: every deleted file of the drive (anyone's), folder by folder (a folder
with deleted files is one row that opens, as in Dropbox), filterable across all folders,
multi-select, restored after a confirmation that shows the plan.

The filter is incremental: typing waits for a pause (`FILTER_PAUSE`), narrows the previous
matches when the words only grew, and lists at most `LIST_AT_MOST` rows (the status line
says how many more match), so a keystroke costs little on 4,500 deleted files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, natural_key, size, stamp
from clouddrive.tui.messages import DeletedLoaded
from clouddrive.tui.screens.table_screen import TableScreen, table_bindings
from clouddrive.tui.widgets.footer import AppFooter
from clouddrive.tui.widgets.operation import OperationLine
from clouddrive.tui.widgets.plan_table import fit_path

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.views import DeletedFile

__all__ = ["FILTER_PAUSE", "FOLDER", "LIST_AT_MOST", "DeletedScreen", "Folder"]

#: seconds of no typing before the filter applies
FILTER_PAUSE = 0.12
#: rows listed at most (the rest is counted in the status line)
LIST_AT_MOST = 250
#: row keys of folders start with this (a path never does)
FOLDER = "\x00dir:"


@dataclass
class Folder:
    """A folder holding deleted files (at any depth): one row, opened with enter."""

    path: str  #: with its trailing /
    files: list[DeletedFile]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class DeletedScreen(TableScreen):
    HELP_TITLE = "Recently deleted"
    BINDINGS: ClassVar[list[BindingType]] = table_bindings(
        Binding(
            "space",
            "select",
            "Select",
            key_display="␣",
            tooltip="Select the highlighted file (or folder)",
        ),
        Binding("a", "select_all", "All", tooltip="Select (or unselect) every listed file"),
        Binding("r", "restore", "Restore", tooltip="Restore the selected (or highlighted) files"),
        Binding("enter", "open", "Open", show=False, tooltip="Open the highlighted folder"),
        Binding("backspace", "up", "Up", show=False, tooltip="Back to the enclosing folder"),
        Binding("h", "history", "History", tooltip="Versions of the highlighted file"),
        Binding("slash", "filter", "Filter", tooltip="Filter by part of a path or who deleted it"),
    )
    FOOTER_SPARE = frozenset({"reload"})
    TABLE_ID = "deleted-table"
    STATUS_ID = "deleted-status"
    COLUMNS = (
        ("on", "", 3, 3),
        ("path", "path", 0, 18),
        ("by", "by", 12, 7),
        ("when", "deleted", 12, 10),
        ("size", "size", 9, 8),
        ("author", "author", 12, 6),
        ("until", "kept until", 17, 10),
    )

    def __init__(self) -> None:
        super().__init__()
        self.files: list[DeletedFile] = []
        #: the files the view covers (the folder's, or every match of the filter)
        self.shown: dict[str, DeletedFile] = {}
        self.selected: set[str] = set()
        self.folder = ""  #: the folder shown ("" the top; ends with / otherwise)
        self._words: list[str] = []
        self._matches: list[DeletedFile] = []
        self._listed = 0
        self._folders: dict[str, Folder] = {}
        self._filter_timer: Timer | None = None
        self._last_words: list[str] = []
        self._listable = 0

    def compose(self) -> ComposeResult:
        yield Label(" 🗑  Recently deleted", classes="screen-title")
        yield Input(
            placeholder="Filter: part of a path, or who deleted it  (/)",
            id="filter",
            disabled=True,
        )
        yield self.new_table()
        yield Static("", id="deleted-status", classes="status-line")
        yield OperationLine()
        yield AppFooter()

    def on_mount(self) -> None:
        self.add_columns()
        self.query_one(Input).cursor_blink = False
        self.table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one(Input).disabled = True  # no typing into it while nothing is listed
        self.load("reading recently deleted", lambda d: DeletedLoaded(d.deleted()))

    def on_deleted_loaded(self, message: DeletedLoaded) -> None:
        self.loaded()
        self.files = sorted(message.files, key=lambda f: natural_key(f.path))
        known = {f.path for f in self.files}
        self.selected &= known
        self.query_one(Input).disabled = False
        self._matches = []
        self._fill()
        self.table.focus()

    # -- the rows ----------------------------------------------------------------------------

    def _view(self) -> tuple[list[Folder], list[DeletedFile]]:
        """The folders and files to list: the filter's matches (flat), or the folder's."""
        words = self._words
        if words:
            narrowing = self._matches and self._last_words and _grew(self._last_words, words)
            pool = self._matches if narrowing else self.files
            self._matches = [f for f in pool if all(w in f"{f.path} {f.deleted_by}".lower()
                                                    for w in words)]  # fmt: skip
            self._last_words = list(words)
            return [], self._matches
        self._matches, self._last_words = [], []
        folders: dict[str, Folder] = {}
        files: list[DeletedFile] = []
        for item in self.files:
            if not item.path.startswith(self.folder):
                continue
            rest = item.path[len(self.folder) :]
            if "/" in rest:
                name = self.folder + rest.split("/", 1)[0] + "/"
                folders.setdefault(name, Folder(name, [])).files.append(item)
            else:
                files.append(item)
        return list(folders.values()), files

    def _fill(self) -> None:
        folders, files = self._view()
        table = self.table
        table.clear()
        self._folders = {FOLDER + f.path: f for f in folders}
        self.shown = {f.path: f for f in files}
        for folder in folders:
            self.shown.update((f.path, f) for f in folder.files)
        listed = 0
        for folder in folders[:LIST_AT_MOST]:
            table.add_row(*self._folder_cells(folder), key=FOLDER + folder.path)
            listed += 1
        for item in files[: max(0, LIST_AT_MOST - listed)]:
            table.add_row(*self._cells(item), key=item.path)
            listed += 1
        self._listed = listed
        self._listable = len(folders) + len(files)
        self.show_status()

    def refill(self) -> None:
        self._matches = []
        self._fill()

    def _cells(self, item: DeletedFile) -> list[Text]:
        clock = self.shell.clock
        on = item.path in self.selected
        shown_path = item.path if self._words else item.path[len(self.folder) :]
        until = (
            stamp(item.recoverable_until, clock)
            if item.recoverable_until is not None
            else "no expiry rule"
        )
        return [
            Text("[x]" if on else "[ ]", style="bold green" if on else "dim"),
            Text(fit_path(shown_path, self.widths["path"]), style="bold" if on else ""),
            Text(item.deleted_by, style="cyan"),
            Text(ago(item.deleted_at, clock), style="dim"),
            Text(size(item.size), justify="right"),
            Text(item.author),
            Text(until, style="dim" if item.recoverable_until is None else "yellow"),
        ]

    def _folder_cells(self, folder: Folder) -> list[Text]:
        clock = self.shell.clock
        paths = {f.path for f in folder.files}
        some = paths & self.selected
        mark = "[x]" if some == paths else "[-]" if some else "[ ]"
        who = sorted({f.deleted_by for f in folder.files})
        latest = max(f.deleted_at for f in folder.files)
        count = len(folder.files)
        name = f"📁 {folder.path[len(self.folder) :]} · {count} file{'' if count == 1 else 's'}"
        return [
            Text(mark, style="bold green" if some else "dim"),
            Text(fit_path(name, self.widths["path"]), style="bold blue"),
            Text(who[0] if len(who) == 1 else f"{len(who)} people", style="cyan"),
            Text(ago(latest, clock), style="dim"),
            Text(size(folder.size), justify="right"),
            Text(""),
            Text("⏎ opens", style="dim"),
        ]

    def _redraw_row(self, key: str) -> None:
        """One row again (its selection changed), without refilling the table."""
        cells = (
            self._folder_cells(self._folders[key]) if key in self._folders
            else self._cells(self.shown[key])
        )  # fmt: skip
        for (column, _, _, _), cell in zip(self.COLUMNS, cells, strict=True):
            self.table.update_cell(key, column, cell)

    # -- the status line: loading, failed, empty, filtered to nothing, the counts ------------

    def status_for(self) -> tuple[str, str]:
        if self.state == "loading":
            return "⟳ Reading the bucket's history…", "cyan"
        if self.state == "failed":
            return f"Could not read recently deleted: {self.error} · ctrl+r tries again", "red"
        if not self.files:
            return "Nothing deleted: every file that was ever synced is still here.", "dim"
        if self._words and not self._matches:
            words = " ".join(self._words)
            return f"No deleted file matches “{words}” (of {len(self.files)}).", "yellow"
        text = f"{len(self.files)} deleted file(s)"
        if self.folder and not self._words:
            text = f"in {self.folder} · " + text
        if self._listed < self._listable:
            text += f", {self._listed} listed of {self._listable} (filter to narrow)"
        elif self._words:
            text += f", {len(self._matches)} match"
        if self.selected:
            text += f" · {len(self.selected)} selected (r restores them)"
        else:
            text += " · space selects, r restores, enter opens a folder"
        return text, "dim"

    def _current(self) -> str | None:
        return self.current_key() if self._listed else None

    # -- actions -------------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_PAUSE, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        words = self.query_one(Input).value.lower().split()
        if words != self._words:
            self._words = words
            self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter()
        self.table.focus()

    def action_filter(self) -> None:
        if self.state == "ready":
            self.query_one(Input).focus()

    def action_back(self) -> None:
        if self.query_one(Input).has_focus:
            self.table.focus()
            return
        if self.folder and not self._words:
            self.action_up()
            return
        super().action_back()

    @on(DataTable.RowSelected, "#deleted-table")
    def _row_chosen(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        key = self._current()
        if key in self._folders:
            self.folder = self._folders[key].path
            self._fill()
            self.table.move_cursor(row=0)

    def action_up(self) -> None:
        if not self.folder or self._words:
            return
        left = self.folder
        self.folder = left[: left.rstrip("/").rfind("/") + 1]
        self._fill()
        key = FOLDER + left
        if key in self._folders:
            self.table.move_cursor(row=self.table.get_row_index(key))

    def action_select(self) -> None:
        key = self._current()
        if key is None:
            return
        paths = {f.path for f in self._folders[key].files} if key in self._folders else {key}
        self.selected = self.selected - paths if paths <= self.selected else self.selected | paths
        self._redraw_row(key)
        self.show_status()
        self.table.move_cursor(row=min(self.table.cursor_row + 1, self.table.row_count - 1))

    def action_select_all(self) -> None:
        shown = set(self.shown)
        self.selected = self.selected - shown if shown <= self.selected else self.selected | shown
        row = self.table.cursor_row
        self._matches = []
        self._fill()
        self.table.move_cursor(row=row)

    def action_restore(self) -> None:
        key = self._current()
        if self.selected:
            paths = sorted(self.selected, key=natural_key)
        elif key in self._folders:
            paths = [f.path for f in self._folders[key].files]
        else:
            paths = [key] if key else []
        if not paths:
            self.notify("Nothing to restore.", timeout=3)
            return

        def plan(drive: DriveAPI) -> TimeTravelPlan:
            return drive.plan_restore_deleted(paths)

        self.time_travel("planning the restore", "Restore", plan)

    def action_history(self) -> None:
        path = self._current()
        if path is None or path in self._folders:
            return
        from clouddrive.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(path))

    def after_time_travel(self) -> None:
        self.selected.clear()
        super().after_time_travel()


def _grew(before: list[str], now: list[str]) -> bool:
    """Does every match of `now` match `before` too (each old word inside a new one)?"""
    return all(any(old in new for new in now) for old in before)
