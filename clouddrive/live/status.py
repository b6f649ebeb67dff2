"""What a watching drive is doing now, as one typed snapshot the CLI and the app can show.

The watch loop writes it from its own thread; readers (a status line, the app's header) take
`snapshot()` from any thread and get an immutable copy, never a half-updated one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Phase", "StatusBoard", "WatchStatus"]


class Phase(StrEnum):
    """The watch loop's state. Values are what `--json` style output would print."""

    STARTING = "starting"
    IDLE = "idle"  #: watching; nothing to do
    SYNCING = "syncing"  #: one sync running
    OFFLINE = "offline"  #: S3 unreachable: retrying with backoff
    PAUSED = "paused"  #: a guard tripped: not syncing until it clears (see `message`)
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """One moment of a watching drive."""

    phase: Phase = Phase.STARTING
    since: datetime = field(default_factory=lambda: datetime.now(UTC))  #: when `phase` began
    message: str = ""  #: why offline or paused (one line)
    last_sync: datetime | None = None  #: when the last sync finished (with or without work)
    last_change: datetime | None = None  #: when the last sync that changed anything finished
    last_change_summary: str = ""
    pending_local: int = 0  #: local paths changed but not synced yet (settling or waiting)
    syncs: int = 0  #: syncs run so far
    retry_in: float | None = None  #: seconds until the next attempt while offline


class StatusBoard:
    """The loop's status, updated under a lock; `listener` is told every new snapshot."""

    def __init__(self, listener: Callable[[WatchStatus], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._status = WatchStatus(since=datetime.now(UTC))
        self._listener = listener

    def snapshot(self) -> WatchStatus:
        with self._lock:
            return self._status

    def update(self, **changes: object) -> WatchStatus:
        """Change some fields; a new `phase` also restamps `since`."""
        with self._lock:
            old = self._status
            if "phase" in changes and changes["phase"] != old.phase:
                changes.setdefault("since", datetime.now(UTC))
            new = replace(old, **changes)  # type: ignore[arg-type]
            self._status = new
        if self._listener is not None and new != old:
            self._listener(new)
        return new
