"""Find a file of the drive by part of its path (to open its history)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

__all__ = ["FindFileScreen"]

SHOW_AT_MOST = 200


class FindFileScreen(ModalDialog[str | None]):
    """Dismissed with the chosen path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("down", "into_list", "List", show=False),
    ]

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide finder"):
            yield Label("Open the history of a file", classes="dialog-title")
            yield Input(placeholder="type part of a path…", id="find-input")
            yield OptionList(id="find-list")
            yield Static("", id="find-count", classes="dialog-hint")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False
        self._fill("")

    def _fill(self, query: str) -> None:
        words = query.lower().split()
        matches = [p for p in self.paths if all(w in p.lower() for w in words)]
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
        self._fill(event.value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
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
