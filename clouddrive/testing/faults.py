"""Test-only crash points: kill the process at a named step boundary.

Off unless the environment variable CLOUDDRIVE_CRASH_AT names a point; the crash tests use it
to prove that a run killed between a transfer and its record converges when run again.
"""

from __future__ import annotations

import os
import signal

__all__ = ["CRASH_ENV", "CRASH_POINTS", "crash_point"]

CRASH_ENV = "CLOUDDRIVE_CRASH_AT"

#: the crash points an ordinary run of small files passes through (`mid-multipart` needs a
#: large file): what the model test and the chaos script interrupt a run at
CRASH_POINTS = (
    "after-upload",
    "after-download-temp",
    "after-download-replace",
    "after-delete-local",
    "after-delete-remote",
    "after-conflict-rename",
    "mid-listing",
)


def crash_point(name: str) -> None:
    """Die at once, like a power cut, if CLOUDDRIVE_CRASH_AT names this point."""
    wanted = os.environ.get(CRASH_ENV)
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
