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
        line.append("\n ")
        pairs = [
            ("bucket", self.bucket),
            ("prefix", self.prefix or "(none)"),
            ("endpoint", self.endpoint),
        ]
        for label, value in pairs:
            line.append(f"{label} ", style="dim")
            line.append(value)
            line.append("  ·  ", style="dim")
        line.append("last sync ", style="dim")
        when = ago(self.last_sync, self.clock)
        line.append(when, style="green" if self.last_sync else "yellow")
        if self.last_sync is not None:
            line.append(f" ({stamp(self.last_sync, self.clock)})", style="dim")
        return line
