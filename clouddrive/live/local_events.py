"""Local file events for a watching drive: watchfiles (inotify, FSEvents, ReadDirectoryChangesW
underneath), debounced, coalesced per path, and held back while a file is still being written.

A path is *settled* when its stat (size, mtime) has not moved for `settle` seconds since its
last event; until then it is *unsettled*, and the loop leaves it out of any sync (a half-written
file is never uploaded). Events under the drive's own `.clouddrive/` folder and ignored paths
are dropped here, so a sync's own bookkeeping (state database, logs, temp files) never wakes
the loop.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from clouddrive.core.paths import is_internal
from clouddrive.local.ignore import IGNORE_FILE, IgnoreRules

__all__ = ["LocalEvents", "Settled"]

Signature = tuple[int, int, bool] | None  #: (size, mtime_ns, is_dir), None when absent


def _signature(path: Path) -> Signature:
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, os.path.isdir(path) and not path.is_symlink())


@dataclass(frozen=True)
class Settled:
    """What the loop takes from the events: paths ready to sync, and ones still moving."""

    ready: frozenset[str]
    moving: frozenset[str]


class LocalEvents:
    """Collects changed paths (POSIX, relative to the root) from a watchfiles thread."""

    def __init__(
        self,
        root: Path,
        *,
        settle: float = 1.0,
        debounce_ms: int = 200,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.settle = settle
        self.debounce_ms = debounce_ms
        self._wake = wake
        self._clock = clock
        self._lock = threading.Lock()
        #: path -> (signature at the last look, when it last moved)
        self._pending: dict[str, tuple[Signature, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ignore = IgnoreRules.load(root)
        self.error: BaseException | None = None

    # -- the watcher thread ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="clouddrive-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _wanted(self, _change: watchfiles.Change, raw: str) -> bool:
        rel = self._relative(raw)
        return rel is not None and not is_internal(rel)

    def _relative(self, raw: str) -> str | None:
        try:
            rel = Path(raw).relative_to(self.root).as_posix()
        except ValueError:
            return None
        return None if rel in ("", ".") else rel

    def _run(self) -> None:
        try:
            for changes in watchfiles.watch(
                self.root,
                watch_filter=self._wanted,
                debounce=self.debounce_ms,
                step=50,
                stop_event=self._stop,
                rust_timeout=1000,
                raise_interrupt=False,
                ignore_permission_denied=True,
            ):
                self.add(raw for _change, raw in changes)
        except Exception as exc:  # the loop falls back on its full checks; say it once
            self.error = exc
            self._wake()

    def add(self, raws: object) -> None:
        """Note changed paths (absolute, as watchfiles reports them)."""
        now = self._clock()
        added = False
        with self._lock:
            for raw in raws:  # type: ignore[attr-defined]
                rel = self._relative(str(raw))
                if rel is None or is_internal(rel):
                    continue
                if rel == IGNORE_FILE:
                    self._ignore = IgnoreRules.load(self.root)
                elif self._ignore.file_ignored(rel) or self._ignore.dir_ignored(rel):
                    continue
                self._pending[rel] = (_signature(self.root / rel), now)
                added = True
        if added:
            self._wake()

    # -- the loop's side ---------------------------------------------------------------------

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def next_due(self) -> float | None:
        """Seconds until the earliest pending path could settle (None: nothing pending)."""
        with self._lock:
            if not self._pending:
                return None
            first = min(moved for _sig, moved in self._pending.values())
        return max(0.0, first + self.settle - self._clock())

    def take(self) -> Settled:
        """Paths whose stat stood still for `settle` seconds (removed from the pending set),
        and the ones still moving (kept)."""
        now = self._clock()
        ready: set[str] = set()
        moving: set[str] = set()
        with self._lock:
            items = list(self._pending.items())
        looked = {rel: _signature(self.root / rel) for rel, _ in items}
        with self._lock:
            for rel, (sig, moved) in items:
                current = self._pending.get(rel)
                if current is None or current[1] != moved:
                    moving.add(rel)  # a new event came in meanwhile
                    continue
                if looked[rel] != sig:
                    self._pending[rel] = (looked[rel], now)
                    moving.add(rel)
                elif now - moved >= self.settle:
                    del self._pending[rel]
                    ready.add(rel)
                else:
                    moving.add(rel)
        return Settled(frozenset(ready), frozenset(moving))

    def put_back(self, paths: set[str] | frozenset[str]) -> None:
        """Paths a sync could not take (it was refused or failed): look at them again."""
        now = self._clock()
        with self._lock:
            for rel in paths:
                with contextlib.suppress(OSError):
                    self._pending.setdefault(rel, (_signature(self.root / rel), now - self.settle))
