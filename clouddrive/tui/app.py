"""The clouddrive app: the sync screen first, the other screens pushed on top of it."""

from __future__ import annotations

import logging
import threading
from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual._path import CSSPathType
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from clouddrive.tui.drive_api import DriveAPI, DriveOpener
from clouddrive.tui.fmt import Clock

__all__ = ["CloudDriveApp"]

STYLES = Path(__file__).parent / "styles"
JOURNAL_LINES = 5000

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
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True)
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
            return self.drive

    # -- notices -----------------------------------------------------------------------------

    def note(
        self, message: str, *, severity: SeverityLevel = "information", toast: bool = True
    ) -> None:
        """Record a notice in the log panel (and show it as a notification, if `toast`)."""
        style = {"error": "red", "warning": "yellow"}.get(severity, "")
        line = Text()
        line.append(f"{self.clock.now().astimezone(self.clock.tz):%H:%M:%S} ", style="dim")
        line.append(message, style=style)
        self.journal.append(line)
        from clouddrive.tui.widgets.log_panel import LogPanel

        for screen in self.screen_stack:
            for panel in screen.query(LogPanel):
                if panel.display:
                    panel.write(line)
        if toast:
            self.notify(
                message,
                severity=severity,
                markup=False,
                timeout=8 if severity == "error" else 4,
            )
        if severity == "error":
            log.warning("app: %s", message)

    # -- quitting ----------------------------------------------------------------------------

    def action_quit_app(self) -> None:
        if not self.syncing:
            self.exit(0)
            return
        from clouddrive.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.cancel.set()
                self.quit_when_idle = True
                self.note("stopping the sync: quitting when the transfers in flight finish")

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
