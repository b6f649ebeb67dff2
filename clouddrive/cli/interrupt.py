"""Ctrl-C during a sync: the first stops the run (what finished is recorded, the rest waits
for the next sync), a second quits at once; the command then exits 130 with one line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from clouddrive import errors
from clouddrive.cli.common import err

__all__ = ["EXIT_INTERRUPTED", "CtrlC", "Interrupted"]

EXIT_INTERRUPTED = 130  #: as a shell reports a command ended by SIGINT


class Interrupted(errors.CloudDriveError):
    """A sync stopped by Ctrl-C: the CLI exits 130 with what finished and what waits."""

    exit_code = EXIT_INTERRUPTED


class CtrlC:
    """SIGINT during a sync. While the plan runs, the first Ctrl-C asks the run to stop (the
    `cancel` event: nothing new starts; transfers in flight get a few seconds, then are
    abandoned; what finished is recorded) and a second one quits at once. Before that
    (planning, the question) Ctrl-C interrupts as usual: nothing has changed yet."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.running = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.running and not self.cancel.is_set():
            self.cancel.set()
            err.print(
                "[yellow]stopping:[/] nothing new starts; transfers in flight get a few "
                "seconds (Ctrl-C again to quit now)"
            )
            return
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only: nothing to install
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
