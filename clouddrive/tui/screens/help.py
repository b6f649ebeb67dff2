"""Help (`?` or F1): every key of the screen it was opened over, what each does, and whether
it works right now; the command palette (ctrl+p) offers the same actions by name."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static

from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

__all__ = ["HelpScreen", "KeyHelp", "keys_of"]

#: keys every list answers to (DataTable, OptionList), said once instead of one by one
MOVING = "↑ ↓ pgup pgdn home end"

KeyHelp = tuple[str, str, bool]


def keys_of(screen: Screen[object]) -> list[KeyHelp]:
    """(keys, what it does, available now) for each action of `screen` and of the app,
    in the order they are declared; the focused list's own moves are said once."""
    app = screen.app
    rows: dict[tuple[int, str], list[str]] = {}
    info: dict[tuple[int, str], tuple[str, bool]] = {}
    for node, bindings in screen._modal_binding_chain:
        if node is not screen and node is not app:
            continue
        for _key, binding in bindings:
            if binding.system or not binding.tooltip:  # Textual's own (tab, ^c) go unsaid
                continue
            what = binding.tooltip or binding.description
            ident = (id(node), binding.action)
            state = app._check_action_state(binding.action, node)
            rows.setdefault(ident, []).append(app.get_key_display(binding))
            info.setdefault(ident, (what, state is True))
    result = [(" / ".join(dict.fromkeys(keys)), *info[ident]) for ident, keys in rows.items()]
    result.append((MOVING, "Move in the list", True))
    return result


class HelpScreen(ModalDialog[None]):
    """The keys of one screen; escape (or ? / F1 again) closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close"),
    ]

    def __init__(self, title: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, what, now in self.keys:
            table.add_row(keys, Text(what) if now else Text(f"{what} (not now)", style="dim"))
        with Vertical(classes="dialog wide help"):
            yield Label(f"Keys: {self.title_text}", classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(table, classes="dialog-body")
            yield Static(
                Text("ctrl+p: the command palette, every action by name", style="dim"),
                classes="dialog-hint",
            )
        yield AppFooter()

    def action_close(self) -> None:
        self.dismiss(None)
