"""One version of a file, read-only: the text, or why it is not shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static, TextArea

from clouddrive.tui.fmt import size
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

if TYPE_CHECKING:
    from clouddrive.history.lookup import VersionText

__all__ = ["TextViewScreen"]


class TextViewScreen(ModalDialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,v", "close", "Close")]

    def __init__(self, version: VersionText, title: str) -> None:
        super().__init__()
        self.version = version
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog viewer"):
            yield Label(self.title_text, classes="dialog-title")
            text = self.version.text
            if text is not None:
                yield TextArea(
                    text,
                    read_only=True,
                    show_line_numbers=True,
                    soft_wrap=False,
                    id="version-text",
                )
            elif self.version.data is None:
                yield Static(
                    Text(f"Too large to show here ({size(self.version.size)}).", style="yellow"),
                    classes="dialog-body",
                )
            else:
                yield Static(
                    Text(
                        f"Not text ({size(self.version.size)} of binary data); restore it to "
                        "open it with its own program.",
                        style="yellow",
                    ),
                    classes="dialog-body",
                )
            yield Static(Text("escape closes", style="dim"), classes="dialog-hint")
        yield AppFooter()

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False
            area.focus()

    def action_close(self) -> None:
        self.dismiss(None)
