"""Find a file of the drive by part of its path (to open its history).

The dialog opens at once and says it is listing the files until they arrive (`set_paths`);
typing filters after a short pause, narrowing the last matches when the words only grew."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

__all__ = ["FindFileScreen"]

SHOW_AT_MOST = 200
#: seconds of no typing before the list is filtered again
FILTER_PAUSE = 0.1


class FindFileScreen(ModalDialog[str | None]):
    """Dismissed with the chosen path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("down", "into_list", "List", show=False),
    ]

    def __init__(self, paths: list[str] | None = None) -> None:
        super().__init__()
        self.paths = paths
        self._words: list[str] | None = None
        self._matches: list[str] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide finder"):
            yield Label("Open the history of a file", classes="dialog-title")
            yield Input(placeholder="type part of a path…", id="find-input")
            yield OptionList(id="find-list")
            yield Static("", id="find-count", classes="dialog-hint")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False
        if self._error is not None:
            self.query_one("#find-count", Static).update(f"Could not list the files: {self._error}")
        elif self.paths is None:
            self.query_one("#find-count", Static).update("⟳ Listing the drive's files…")
        else:
            self._fill("")

    _error: str | None = None

    def set_paths(self, paths: list[str]) -> None:
        """The drive's files have arrived (listed in a worker; maybe before the mount)."""
        self.paths = paths
        self._words = None
        if not self.is_mounted:
            return  # on_mount fills the list
        self._fill(self.query_one(Input).value)
        if self._open_when_listed:  # enter was pressed while the files were being listed
            self._submitted()

    _open_when_listed = False

    def listing_failed(self, error: str) -> None:
        """The files could not be listed: say so where "listing" was (the log has it too)."""
        self._error = error
        if self.is_mounted:
            self.query_one("#find-count", Static).update(f"Could not list the files: {error}")

    def _fill(self, query: str) -> None:
        if self.paths is None:
            return
        words = query.lower().split()
        narrowing = self._words is not None and all(
            any(old in new for new in words) for old in self._words
        )
        pool = self._matches if narrowing else self.paths
        matches = [p for p in pool if all(w in p.lower() for w in words)]
        self._words, self._matches = words, matches
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(p, id=p) for p in matches[:SHOW_AT_MOST]])
        if matches:
            options.highlighted = 0
        shown = min(len(matches), SHOW_AT_MOST)
        self.query_one("#find-count", Static).update(
            f"{len(matches)} file(s)"
            + (f", first {shown} shown" if shown < len(matches) else "")
            + " · ↓ to the list, enter opens"
        )

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        value = event.value
        self._timer = self.set_timer(FILTER_PAUSE, lambda: self._fill(value))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self.paths is None:
            self._open_when_listed = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._fill(self.query_one(Input).value)
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(str(options.get_option_at_index(options.highlighted).id))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_into_list(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
