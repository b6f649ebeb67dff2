"""The sync screen: the drive, its plan, and syncing it with progress shown.

One concept per module: the plan and who changed what (`sync_plan`), skip and resolve on
its rows (`sync_choose`), running a sync and draining its progress (`sync_run`, with the
worker thread in `clouddrive.tui.sync_worker`). This module puts them on one screen with its
keys and the ways to the other screens.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import Failed, FilesListed
from clouddrive.tui.screens.sync_choose import PlanChoices
from clouddrive.tui.screens.sync_run import SyncRun
from clouddrive.tui.widgets.counts import CountsBar
from clouddrive.tui.widgets.drive_header import DriveHeader
from clouddrive.tui.widgets.footer import AppFooter
from clouddrive.tui.widgets.log_panel import LogPanel
from clouddrive.tui.widgets.operation import OperationLine
from clouddrive.tui.widgets.plan_table import PlanTable
from clouddrive.tui.widgets.progress import SyncProgressPanel

__all__ = ["FIND_LIMIT", "SyncScreen"]

#: files offered by "find a file"
FIND_LIMIT = 50_000


class SyncScreen(PlanChoices, SyncRun):
    """The everyday view: what the next sync does, and doing it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync", "Sync", tooltip="Sync now (asks first)"),
        Binding("r", "refresh", "Refresh", tooltip="Check the folder and S3 for changes again"),
        Binding(
            "space",
            "skip",
            "Skip",
            key_display="␣",
            tooltip="Leave the highlighted change out of this run",
        ),
        Binding("enter", "resolve", "Resolve", show=False, tooltip="Resolve a conflict (⚠)"),
        Binding("h", "history", "History", tooltip="Versions of the highlighted file"),
        Binding("f", "find", "Find", tooltip="Find any file of the drive (its history)"),
        Binding("d", "deleted", "Deleted", tooltip="Recently deleted files: restore them"),
        Binding("a", "activity", "Activity", tooltip="Who did what: every run; undo one"),
        Binding("l", "toggle_log", "Log", tooltip="Show or hide the log of this session"),
        Binding("escape", "cancel", "Stop", tooltip="Stop the running sync cleanly"),
        Binding("q", "app.quit_app", "Quit", tooltip="Quit (asks first while syncing)"),
    ]

    HELP_TITLE = "Sync"
    #: keys the footer leaves out below 100 columns (help lists them)
    FOOTER_SPARE = frozenset({"refresh", "find", "select_cursor"})

    def compose(self) -> ComposeResult:
        shell = self.shell
        yield DriveHeader(shell.clock, shell.root_hint, id="drive-header")
        with Vertical(id="plan-box"):
            yield PlanTable(shell.clock, id="plan")
            yield Static("", id="in-sync")
        yield CountsBar(id="counts")
        yield OperationLine(id="operation")
        yield SyncProgressPanel(id="progress")
        yield LogPanel(id="log")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "Plan of the next sync"
        self.query_one("#progress").display = False
        self.query_one("#log").display = False
        self.query_one("#in-sync").display = False
        self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        syncing = self.shell.syncing
        if action == "cancel":
            return syncing
        if action in ("skip", "resolve") and not self.table.actions:  # (the listed rows)
            return False
        if action == "sync":  # pressed while the first check runs: it waits for it
            busy = syncing or self.resolving or self.shell.operation is not None
            return None if busy else True
        if action in ("refresh", "skip") and syncing:
            return False  # the footer makes room for "Stop"
        if action in ("refresh", "skip", "resolve"):
            busy = syncing or self.resolving or (action != "refresh" and self.plan is None)
            return None if busy else True
        return True

    # -- other screens ---------------------------------------------------------------------

    def action_history(self) -> None:
        action = self.table.selected_action()
        if action is None:
            self.action_find()
            return
        from clouddrive.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(action.path))

    def action_find(self) -> None:
        """The finder opens at once; the drive's files fill it when listed (a worker)."""
        from clouddrive.tui.screens.find_file import FindFileScreen
        from clouddrive.tui.screens.history import HistoryScreen

        def picked(path: str | None) -> None:
            self._finder = None
            if path:
                self.app.push_screen(HistoryScreen(path))

        self._finder = FindFileScreen()
        self.app.push_screen(self._finder, picked)

        def job(drive: DriveAPI) -> FilesListed:
            return FilesListed(drive.local_files(FIND_LIMIT))

        self.background("listing files", job, group="files")

    _finder: object = None

    def on_failed(self, message: Failed) -> None:
        from clouddrive.tui.screens.find_file import FindFileScreen

        finder = self._finder
        listing = message.doing == "listing files"
        if listing and isinstance(finder, FindFileScreen):
            finder.listing_failed(message.error)

    def on_files_listed(self, message: FilesListed) -> None:
        from clouddrive.tui.screens.find_file import FindFileScreen

        finder = self._finder  # (None once the finder is closed)
        if isinstance(finder, FindFileScreen):
            finder.set_paths(sorted(set(message.paths) | set(self.table.actions)))

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
