"""One sync per drive at a time: a file lock (filelock) plus a note of the holder's pid.

The operating system drops the lock when the holder dies, so a crashed run never blocks the
next one. The holder's pid goes into a separate file (`<lock>.pid`), written once the lock
is held and removed before it is let go, so a refused second run can say who holds it (the
lock file itself may be truncated by a contender opening it, depending on filelock's version).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

import filelock

from clouddrive.errors import LockHeld

__all__ = ["DriveLock"]


class DriveLock:
    """The drive's sync lock; `acquire` refuses at once (LockHeld) if another run holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid_path = path.with_name(path.name + ".pid")
        self._lock = filelock.FileLock(path, timeout=0, thread_local=False)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise LockHeld(
                f"another clouddrive sync of this drive is running ({self._holder()}); "
                "wait for it to finish"
            ) from None
        self.pid_path.write_text(str(os.getpid()), encoding="ascii")

    def release(self) -> None:
        if self._lock.is_locked:
            with contextlib.suppress(OSError):
                self.pid_path.unlink()
            self._lock.release()

    def _holder(self) -> str:
        try:
            pid = self.pid_path.read_text(encoding="ascii").strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid.isdigit() else "pid unknown"

    def __enter__(self) -> DriveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
