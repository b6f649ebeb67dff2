"""A download link to one version of a file (`Drive.link`: presigned, it expires): shown in
full so it can be selected, and already copied to the clipboard where the terminal allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from clouddrive.tui.fmt import Clock, size, stamp
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

if TYPE_CHECKING:
    from clouddrive.drive.share import ShareLink

__all__ = ["LinkScreen"]


class LinkScreen(ModalDialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy again"),
        Binding("escape,enter", "close", "Close"),
    ]

    def __init__(self, link: ShareLink, clock: Clock) -> None:
        super().__init__()
        self.link = link
        self.clock = clock

    def compose(self) -> ComposeResult:
        link = self.link
        with Vertical(classes="dialog wide"):
            yield Label(f"Download link: {link.path}", classes="dialog-title")
            about = Text()
            about.append(f"Version {link.version_id[:12]} · {size(link.size)} · ", style="dim")
            about.append(f"works until {stamp(link.expires, self.clock)}", style="yellow")
            about.append("\nAnyone with the link can download this version.\n", style="dim")
            yield Static(about, classes="dialog-body")
            yield Static(Text(link.url, style="bold cyan"), id="link-url", classes="dialog-body")
            yield Static(
                Text("Copied to the clipboard (if the terminal allows it).", style="dim"),
                classes="dialog-hint",
            )
        yield AppFooter()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.link.url)
        self.notify("Link copied to the clipboard.", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
