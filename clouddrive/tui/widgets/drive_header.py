"""The top bar: which drive this is (folder, bucket, prefix, endpoint, user, last sync)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from clouddrive.tui.fmt import Clock, ago, stamp

__all__ = ["DriveHeader"]


class DriveHeader(Static):
    """Two lines: the folder and its S3 place, then endpoint, user and last sync."""

    def __init__(self, clock: Clock, root: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.root = root
        self.bucket = ""
        self.prefix = ""
        self.endpoint = ""
        self.user = ""
        self.last_sync: datetime | None = None
        self.opened = False

    def on_mount(self) -> None:
        self.update(self._render_info())
        self.set_interval(30, self._tick)

    def _tick(self) -> None:
        if self.opened:
            self.update(self._render_info())

    def show(
        self,
        *,
        bucket: str,
        prefix: str,
        endpoint: str,
        user: str,
        root: str,
        last_sync: datetime | None,
    ) -> None:
        self.bucket, self.prefix, self.endpoint = bucket, prefix, endpoint
        self.user, self.root, self.last_sync = user, root, last_sync
        self.opened = True
        self.update(self._render_info())

    def synced(self, moment: datetime) -> None:
        self.last_sync = moment
        self.update(self._render_info())

    def _render_info(self) -> Text:
        line = Text()
        line.append(" ☁ clouddrive ", style="bold reverse")
        line.append("  ")
        line.append(self.root, style="bold")
        if not self.opened:
            line.append("\n opening the drive…", style="dim")
            return line
        uri = f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"
        line.append("  ⇄  ", style="dim")
        line.append(uri, style="bold cyan")
        line.append("  as ", style="dim")
        line.append(self.user, style="bold")
        width = self.size.width or self.app.size.width
        line.append("\n ")
        pairs = [("endpoint", self.endpoint)]
        if width >= 100:  # narrower: the bucket and prefix are in the s3:// address above
            pairs = [("bucket", self.bucket), ("prefix", self.prefix or "(none)"), *pairs]
        second = Text()
        for label, value in pairs:
            second.append(f"{label} ", style="dim")
            second.append(value)
            second.append("  ·  ", style="dim")
        second.append("last sync ", style="dim")
        when = ago(self.last_sync, self.clock)
        second.append(when, style="green" if self.last_sync else "yellow")
        moment = f" ({stamp(self.last_sync, self.clock)})" if self.last_sync else ""
        if len(second) + len(moment) < width - 1:
            second.append(moment, style="dim")
        line.append_text(second)
        return line

    def on_resize(self) -> None:
        self.update(self._render_info())
