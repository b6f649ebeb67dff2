"""The footer: the screen's keys, fitted to the terminal. Below `NARROW` columns it leaves out
the keys a screen names in `FOOTER_SPARE` (help, `?`, lists them all) and packs the rest
tighter, so that at 80 columns every key it shows is whole, `q` included."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["NARROW", "AppFooter"]

#: terminals narrower than this get the narrow footer
NARROW = 100


class AppFooter(Footer):
    DEFAULT_CSS = """
    AppFooter.-narrow FooterKey .footer-key--key {
        padding: 0 0 0 1;
    }
    AppFooter.-narrow FooterKey .footer-key--description {
        padding: 0 0 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self._narrow: bool | None = None

    def compose(self) -> ComposeResult:
        narrow = self.app.size.width < NARROW
        self._narrow = narrow
        self.set_class(narrow, "-narrow")
        spare: frozenset[str] = getattr(self.screen, "FOOTER_SPARE", frozenset())
        for widget in super().compose():
            if narrow and isinstance(widget, FooterKey) and widget.action in spare:
                continue
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        if self._narrow is not None and (self.app.size.width < NARROW) != self._narrow:
            self.call_after_refresh(self.recompose)
