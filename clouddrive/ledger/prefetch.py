"""GETs of small versions sent ahead of the workers that write them to disk.

Why: with one request per worker thread, a download of 5,000 small files kept 32 Python
threads waiting on the network and handing the GIL around (800,000 futex calls, 3.7x
s5cmd's time). A window of requests in flight, sent in the order the workers take the
actions, lets a worker find its body already here: it only checks, writes and moves it.

What does not change: `Objects.download` still checks size and hash, still maps errors
through `calls` (a prefetched answer that failed is raised there, and the retry sends a
fresh request), and still announces the transfer to the stop gate before it uses the
body, so a stopped run writes nothing more. What a stop adds here: no request is sent
after it, and `close` gives up the ones nobody will take.

Memory: at most `window` answers and `budget` bytes are held (the first one always goes,
however large), so a prefetch costs the same few MiB whatever the number of files.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.crt import CrtTransfers, PendingRequest

__all__ = ["BUDGET", "WINDOW", "Prefetch"]

WINDOW = 64  #: requests in flight or answered but not yet taken, at most
BUDGET = 16 * 1024 * 1024  #: bytes of those, at most

_Key = tuple[str, str]


class Prefetch:
    """A window of GETs running ahead of `take`, in the order of `entries`. Thread-safe."""

    def __init__(
        self,
        crt: CrtTransfers,
        bucket: str,
        entries: Iterable[RemoteEntry],
        *,
        stopped: threading.Event,
        window: int = WINDOW,
        budget: int = BUDGET,
    ) -> None:
        self._crt = crt
        self._bucket = bucket
        self._stopped = stopped
        self._window = max(1, window)
        self._budget = budget
        self._todo: deque[RemoteEntry] = deque(entries)
        self._taken: set[_Key] = set()  #: taken before their turn came: never sent
        self._pending: dict[_Key, tuple[PendingRequest, int]] = {}
        self._held = 0  #: bytes of the pending answers
        self._lock = threading.Lock()
        self._closed = False
        self._fill()

    def take(self, entry: RemoteEntry) -> PendingRequest | None:
        """The request sent ahead for `entry`, if any (then it is the caller's); None: send
        one yourself. Either way the window moves on."""
        key = (entry.key, entry.version_id)
        with self._lock:
            found = self._pending.pop(key, None)
            if found is None:
                self._taken.add(key)
            else:
                self._held -= found[1]
        self._fill()
        return found[0] if found else None

    def close(self) -> None:
        """Send nothing more; give up the requests nobody took."""
        with self._lock:
            self._closed = True
            left = list(self._pending.values())
            self._pending.clear()
            self._held = 0
        for pending, _ in left:
            pending.cancel()

    def _fill(self) -> None:
        while True:
            with self._lock:
                if self._closed or self._stopped.is_set() or not self._todo:
                    return
                if len(self._pending) >= self._window:
                    return
                entry = self._todo[0]
                if self._pending and self._held + entry.size > self._budget:
                    return
                self._todo.popleft()
                key = (entry.key, entry.version_id)
                if key in self._taken or key in self._pending:
                    continue
                # sent under the lock: a `take` racing this one finds it pending, never
                # both sends (the CRT's `make_request` only queues it, it does not wait)
                try:
                    pending = self._crt.send_get(
                        self._bucket, entry.key, entry.version_id, entry.size
                    )
                except Exception:  # the download's own request then reports the failure
                    self._closed = True  # sending ahead is only a help: stop helping
                    return
                self._pending[key] = (pending, entry.size)
                self._held += entry.size
