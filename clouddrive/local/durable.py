"""Downloaded files made durable before they are moved into place, small ones in groups.

Why: a download must be on the disk before it lands and its base is written, or a power cut
could leave an empty or torn file that the state calls in sync. An fsync per file did that
at a price: each one a journal commit of its own where the file system keeps a journal (in
a bare prototype of 5,000 small downloads, 0.5 s of 2.4 s; inside a sync on the benchmark's
journal-less VM, within the noise). On Linux one `syncfs` covers every file written before
it started, so the workers that reach this point at the same moment share one (a group
commit, as a database does for its log): whoever arrives while no flush runs starts one;
whoever arrives while one runs waits for the next, since the running one may have started
before its writes. Large files still get an fsync of their own, so no small file waits for
a large file's megabytes, and elsewhere (no `syncfs`) every file does.

`syncfs` writes out everything dirty on the file system, other programs' data too: when one
takes longer than `SLOW_FLUSH` (someone is copying gigabytes onto the same disk), the rest
of the run goes back to an fsync per file, which waits for its own file only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["GROUP_LIMIT", "SLOW_FLUSH", "Durable"]

#: files up to this size share a flush; larger ones are fsync'd on their own
GROUP_LIMIT = 1024 * 1024
#: a shared flush slower than this (seconds) ends sharing for the run (see above)
SLOW_FLUSH = 0.5


def _libc_syncfs() -> Callable[[int], None] | None:
    """`syncfs(2)` through libc, raising OSError as `os` functions do; None where absent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError, TypeError):
        return None

    def call(fd: int) -> None:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return call


class Durable:
    """Makes files in one folder's file system durable; shared by the workers of a run."""

    def __init__(self, folder: Path, syncfs: Callable[[int], None] | bool | None = True) -> None:
        self.folder = folder
        #: `True`: libc's, looked up on the first small file; None: fsync every file
        self._syncfs: Callable[[int], None] | bool | None = syncfs
        self._lock = threading.Condition()
        self._started = 0  #: flushes started so far
        self._done = 0  #: flushes finished so far
        self._running = False

    def make_durable(self, path: Path, size: int) -> None:
        """Return once `path`'s bytes (written before this call) are on the disk."""
        if size > GROUP_LIMIT or not self.flush():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def flush(self) -> bool:
        """Wait for a shared flush that starts after this call: every file written before
        it is then durable (a small file's `make_durable`, or a caller that lands many small
        files itself, `sync/fetchahead.py`). False where there is none to share (no
        `syncfs`, or sharing ended by a slow one): each file then needs its own fsync."""
        with self._lock:
            # a flush running now may have started before this file was written: wait for
            # the one after it, which this caller starts if nobody else has
            needed = self._started + 1
            while self._done < needed:
                if self._running:
                    self._lock.wait()
                    continue
                syncfs = self._group()
                if syncfs is None:
                    return False
                self._running = True
                self._started += 1
                flush = self._started
                self._lock.release()
                try:
                    began = time.monotonic()
                    fd = os.open(self.folder, os.O_RDONLY)
                    try:
                        syncfs(fd)
                    finally:
                        os.close(fd)
                    if time.monotonic() - began > SLOW_FLUSH:
                        self._syncfs = None  # others' data is in the way: fsync per file
                finally:
                    self._lock.acquire()
                    self._running = False
                    self._lock.notify_all()
                self._done = flush
            return True

    def _group(self) -> Callable[[int], None] | None:
        if self._syncfs is True:
            self._syncfs = _libc_syncfs()
        return self._syncfs if callable(self._syncfs) else None
