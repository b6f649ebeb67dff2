"""Helpers for live-drive tests: a watch loop in a thread, and waiting for a condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from clouddrive.drive import Drive
from clouddrive.live.loop import Watcher, WatchOptions
from clouddrive.sync.report import SyncReport


@dataclass
class Running:
    """A watcher running in a thread, with what it said and when its syncs finished."""

    watcher: Watcher
    lines: list[str] = field(default_factory=list)
    synced_at: list[tuple[float, SyncReport]] = field(default_factory=list)

    def last_upload_at(self, path: str) -> float | None:
        """When the newest sync that wrote `path` to S3 (or deleted it there) finished."""
        for when, report in reversed(self.synced_at):
            if any(t.path == path for t in report.transfers):
                return when
        return None


@contextmanager
def watching(drive: Drive, options: WatchOptions) -> Iterator[Running]:
    """Run `Watcher(drive).run` in a thread for the duration of the block; stop and join."""
    stop = threading.Event()
    running = Running(Watcher(drive, options))
    running.watcher.say = running.lines.append
    running.watcher.on_report = lambda r: running.synced_at.append((time.monotonic(), r))
    thread = threading.Thread(target=running.watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield running
    finally:
        stop.set()
        running.watcher.cancel.set()
        running.watcher.wake()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the watch loop did not stop"


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until `check()` held (asserting it did within `timeout`)."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except OSError:
            pass  # a file read mid-replace
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:.1f}s")
        time.sleep(step)
