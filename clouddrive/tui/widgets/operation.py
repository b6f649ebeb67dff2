"""The operation line: what runs besides a sync (a restore, an undo), with a spinner, on
every screen, so that a long restore is never silent and a second one is not a surprise."""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

__all__ = ["FRAMES", "OperationLine"]

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class OperationLine(Static):
    """Hidden while nothing runs; `show_operation` is called by the app as operations
    begin and end (the screen's own first value comes from the app on mount)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="operation-line")
        self.what: str | None = None
        self._frame = 0
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        app = self.app
        self.show_operation(
            getattr(app, "operation", None), waiting=getattr(app, "operation_waits", False)
        )

    def show_operation(self, what: str | None, *, waiting: bool = False) -> None:
        self.what = what
        self.waiting = waiting
        self.display = what is not None
        if what is None or waiting:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            if what is not None:
                self._draw()
            return
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._spin)
        self._draw()

    waiting = False

    def _spin(self) -> None:
        self._frame = (self._frame + 1) % len(FRAMES)
        self._draw()

    def _draw(self) -> None:
        line = Text(" … " if self.waiting else f" {FRAMES[self._frame]} ", style="bold cyan")
        line.append(self.what or "", style="cyan")
        if not self.waiting:
            line.append("  (one at a time)", style="dim")
        self.update(line)
