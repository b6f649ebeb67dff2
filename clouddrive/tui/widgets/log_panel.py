"""The log panel: the session's notices (errors, finished actions), newest last.

Lines are written only while the panel shows; showing it fills it from the app's journal,
so a long sync costs the screen nothing while the panel is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

__all__ = ["LogPanel"]

#: lines the panel shows when it opens (the journal keeps more)
SHOW_LAST = 300
#: lines written per frame while the panel fills (the key that opened it answers first)
FILL_STEP = 60


class LogPanel(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, max_lines=SHOW_LAST)

    def fill(self, journal: Iterable[Text]) -> None:
        """Show the newest lines of `journal`, a few per frame: opening the panel never
        holds the keyboard up while hundreds of lines are laid out."""
        self.clear()
        lines = list(journal)[-SHOW_LAST:]
        if not lines:
            self.write(
                Text(
                    " Nothing logged yet: syncs, restores and errors are listed here.", style="dim"
                )
            )
            return
        self._fill_from(lines, 0)

    def _fill_from(self, lines: list[Text], start: int) -> None:
        if not self.display:
            return
        for line in lines[start : start + FILL_STEP]:
            self.write(line)
        if start + FILL_STEP < len(lines):
            self.call_after_refresh(self._fill_from, lines, start + FILL_STEP)
