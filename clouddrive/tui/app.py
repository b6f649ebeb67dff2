"""The clouddrive app: the sync screen first, the other screens pushed on top of it."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual._path import CSSPathType
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen

from clouddrive.tui.drive_api import DriveAPI, DriveOpener
from clouddrive.tui.fmt import Clock

__all__ = ["CloudDriveApp"]

STYLES = Path(__file__).parent / "styles"
JOURNAL_LINES = 5000
#: at most this many of one batch of notices are written to an open log panel
SHOW_IN_PANEL = 200

log = logging.getLogger("clouddrive")


class CloudDriveApp(App[int]):
    """One drive, as a desktop sync client in a terminal."""

    TITLE = "clouddrive"
    CSS_PATH: ClassVar[CSSPathType] = [
        STYLES / "app.tcss",
        STYLES / "sync.tcss",
        STYLES / "dialogs.tcss",
        STYLES / "deleted.tcss",
        STYLES / "history.tcss",
        STYLES / "activity.tcss",
    ]
    #: classes the screens get by size: the styles make room at 80x24 with them
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual's)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012 (Textual's)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True, tooltip="Quit"),
        Binding("question_mark", "help", "Help", tooltip="These keys, and what they do"),
        Binding("f1", "help", "Help", show=False, tooltip="These keys, and what they do"),
    ]

    def __init__(
        self, opener: DriveOpener, *, clock: Clock | None = None, root_hint: str = ""
    ) -> None:
        super().__init__()
        self.opener = opener
        self.clock = clock or Clock()
        self.root_hint = root_hint
        self.drive: DriveAPI | None = None
        #: the session's notices (the newest JOURNAL_LINES), for the log panel
        self.journal: deque[Text] = deque(maxlen=JOURNAL_LINES)
        self.plan_stale = False  #: something changed the drive: re-plan on the sync screen
        self.cancel = threading.Event()  #: set to stop a running sync
        self.syncing = False
        #: what runs besides a sync (a restore, an undo), for the operation line; None: idle
        self.operation: str | None = None
        #: how many times the drive was opened (a reopen makes screens show it afresh)
        self.drive_generation = 0
        self._open_lock = threading.Lock()

    def get_default_screen(self) -> Screen[None]:
        from clouddrive.tui.screens.sync import SyncScreen

        return SyncScreen()

    # -- the drive (called from workers) -----------------------------------------------------

    def ensure_drive(self) -> DriveAPI:
        """The open drive; opens it on first use (blocking: call it from a worker)."""
        with self._open_lock:
            if self.drive is None:
                self.drive = self.opener()
                self.drive_generation += 1
            return self.drive

    def reopen_drive(self, stale: DriveAPI) -> None:
        """Forget `stale` (its server went away), so the next use opens the drive afresh
        (unless another thread did so already). Called from workers; the open itself
        happens in the next `ensure_drive`."""
        with self._open_lock:
            if self.drive is not stale:
                return
            self.drive = None
        try:
            stale.close()
        except Exception:  # best effort: its server is gone
            log.debug("closing the stale drive failed", exc_info=True)
        log.info("app: the drive's server did not answer; opening the drive afresh")

    # -- one operation at a time (restore, undo) ----------------------------------------------

    def begin_operation(self, what: str, *, waiting: bool = False) -> None:
        """`what` runs now (a spinner turns), or waits for the user (`waiting`: no spinner)."""
        self.operation = what
        self.operation_waits = waiting
        self._operation_changed()

    def end_operation(self) -> None:
        self.operation = None
        self._operation_changed()

    operation_waits = False

    def _operation_changed(self) -> None:
        from clouddrive.tui.widgets.operation import OperationLine

        for screen in self.screen_stack:
            for line in screen.query(OperationLine):
                line.show_operation(self.operation, waiting=self.operation_waits)
            screen.refresh_bindings()

    # -- notices -----------------------------------------------------------------------------

    def note(
        self, message: str, *, severity: SeverityLevel = "information", toast: bool = True
    ) -> None:
        """Record a notice in the log panel (and show it as a notification, if `toast`)."""
        self.log_lines([message], severity=severity)
        if toast:
            self.notify(
                message,
                severity=severity,
                markup=False,
                timeout=8 if severity == "error" else 4,
            )
        if severity == "error":
            log.warning("app: %s", message)

    def log_lines(self, messages: list[str], *, severity: SeverityLevel = "information") -> None:
        """Many notices at once (a sync's finished actions): one pass over the log panels
        for the lot, so that a flood of outcomes costs the UI thread little."""
        if not messages:
            return
        style = {"error": "red", "warning": "yellow"}.get(severity, "")
        stamp = Text(f"{self.clock.now().astimezone(self.clock.tz):%H:%M:%S} ", style="dim")
        lines = [stamp + Text(message, style=style) for message in messages]
        self.journal.extend(lines)
        from clouddrive.tui.widgets.log_panel import LogPanel

        for screen in self.screen_stack:
            for panel in screen.query(LogPanel):
                if panel.display:
                    for line in lines[-SHOW_IN_PANEL:]:
                        panel.write(line)

    # -- help and the command palette --------------------------------------------------------

    def action_help(self) -> None:
        from clouddrive.tui.screens.help import HelpScreen, keys_of

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        title = getattr(screen, "HELP_TITLE", type(screen).__name__.removesuffix("Screen"))
        self.push_screen(HelpScreen(str(title), keys_of(screen)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette (ctrl+p): the current screen's actions by name, then the app's."""
        seen: set[str] = set()
        for node, bindings in screen._modal_binding_chain:
            if node is not screen:
                continue
            for _key, binding in bindings:
                if binding.action in seen or not binding.description:
                    continue
                if self._check_action_state(binding.action, node) is not True:
                    continue
                seen.add(binding.action)
                action = binding.action
                yield SystemCommand(
                    binding.description,
                    binding.tooltip or binding.description,
                    lambda action=action, node=node: self.run_action_soon(action, node),
                )
        yield SystemCommand("Help", "Every key of this screen", self.action_help)
        yield SystemCommand("Quit", "Quit (asks first while syncing)", self.action_quit_app)
        yield SystemCommand("Theme", "Change the colours", self.action_change_theme)

    def run_action_soon(self, action: str, node: DOMNode) -> None:
        self.call_later(self.run_action, action, node)

    # -- quitting ----------------------------------------------------------------------------

    def action_quit_app(self) -> None:
        if not self.syncing:
            self.exit(0)
            return
        from clouddrive.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.quit_when_idle = True
                self.stop_sync()
                self.note("quitting when the transfers in flight finish")

        self.push_screen(
            ConfirmScreen(
                "Quit while syncing?",
                "A sync is running. Stop it and quit? Actions that finished stay recorded; "
                "transfers in flight finish first, and nothing is left half-written.",
                yes="Stop and quit",
                no="Keep syncing",
            ),
            answer,
        )

    quit_when_idle = False

    def stop_sync(self) -> None:
        """Stop the running sync as escape on the sync screen does (its panel says so)."""
        from clouddrive.tui.screens.sync_run import SyncRun

        for screen in self.screen_stack:
            if isinstance(screen, SyncRun):
                screen.action_cancel()
        self.cancel.set()

    def sync_ended(self) -> None:
        """Called by the sync screen when a sync has finished (or stopped)."""
        self.syncing = False
        if self.quit_when_idle:
            self.exit(0)

    def on_unmount(self) -> None:
        self.cancel.set()  # a sync still running stops submitting; its thread then ends

    def close_drive(self) -> None:
        """Close the drive once the app has stopped (and with it every worker thread)."""
        if self.drive is not None:
            try:
                self.drive.close()
            except Exception:  # closing is best effort: never a traceback on the way out
                log.debug("closing the drive failed", exc_info=True)
