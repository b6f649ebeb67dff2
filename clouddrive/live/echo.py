"""Telling a user's change from the echo of a sync's own work.

A sync that downloads or deletes a file makes the file system report that path too; syncing
again for it would be a wasted full check (and, with two drives, a ping-pong). A path is an
echo when the disk already matches what the drive last agreed on (its base): same size and
mtime for a file, no file where the base has none; a folder is an echo when every file under
it is. Anything else is a real change and wakes a sync.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from clouddrive.core.models import BaseEntry

__all__ = ["real_changes"]


def _file_matches(full: Path, base: BaseEntry | None) -> bool:
    try:
        st = full.lstat()
    except OSError:
        return base is None
    return base is not None and (st.st_size, st.st_mtime_ns) == (base.size, base.mtime_ns)


def _folder_matches(root: Path, rel: str, base: Mapping[str, BaseEntry]) -> bool:
    for dirpath, _dirs, files in os.walk(root / rel):
        for name in files:
            full = Path(dirpath) / name
            if not _file_matches(full, base.get(full.relative_to(root).as_posix())):
                return False
    return True


def real_changes(root: Path, paths: Iterable[str], base: Mapping[str, BaseEntry]) -> set[str]:
    """The paths among `paths` whose state on disk differs from the base."""
    changed: set[str] = set()
    folders_gone: list[str] = []
    for rel in paths:
        full = root / rel
        if full.is_dir() and not full.is_symlink():
            if not _folder_matches(root, rel, base):
                changed.add(rel)
        elif full.exists() or full.is_symlink() or rel in base:
            if not _file_matches(full, base.get(rel)):
                changed.add(rel)
        else:
            folders_gone.append(rel)
    if folders_gone:
        # A path with no file and no base of its own: a folder that went away, if the base
        # still holds files under it.
        gone = {f"{rel}/" for rel in folders_gone}
        for path in base:
            for prefix in gone:
                if path.startswith(prefix) and not (root / path).exists():
                    changed.add(prefix[:-1])
    return changed
