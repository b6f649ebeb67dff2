"""The local side of carrying out an action: resolving a path safely inside the root,
checking that a file is still as planned, temp files, what goes up (a small file's bytes,
proven to hash as planned; a large file is hashed by the ledger as it is sent), keeping a
racing local edit aside, and clearing empty folders. Shared by every action (`Executor`)."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

from clouddrive import errors
from clouddrive.core.models import BaseEntry, LocalFile
from clouddrive.core.paths import INTERNAL_DIR, unsafe_reason
from clouddrive.core.planner import conflict_name
from clouddrive.local.scanner import is_same_file, lstat_or_none

__all__ = ["IN_MEMORY_LIMIT", "Changed", "LocalSide", "as_planned", "clean_tmp"]

#: Files up to this size are read into memory once, hashed and sent from that one copy;
#: larger ones go up in parts straight from the file, hashed as they are read, and the
#: upload is aborted unless they are exactly what the metadata's hash says.
IN_MEMORY_LIMIT = 8 * 1024 * 1024


#: how `_snapshot` opens a small file to send: never through a link, never waiting on a FIFO
_READ_AS_PLANNED = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_TMP_NAMES = itertools.count()  #: `next` on it is atomic under the GIL: thread-safe


class Changed(Exception):
    """The local file no longer matches the plan: leave it for the next run."""


class LocalSide:
    """Mixed into `Executor`: everything an action does to the folder around its file."""

    root: Path
    user: str
    tmp_dir: Path

    def _target(self, path: str) -> Path:
        """The local path for `path`, refusing anything unsafe or behind a symlink."""
        reason = unsafe_reason(path)
        if reason:
            raise errors.LocalError(f"{path}: unsafe path ({reason})")
        target = self.root / path
        folder = str(self.root)
        for part in path.split("/")[:-1]:
            folder = os.path.join(folder, part)
            try:  # one lstat a level: is it a link, a file, a folder or nothing yet
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                break  # nothing below it exists either; the download makes the folders
            if stat.S_ISLNK(mode):
                raise errors.LocalError(f"{path}: '{self._rel(folder)}' is a symlink")
            if not stat.S_ISDIR(mode):
                raise errors.LocalError(f"{path}: '{self._rel(folder)}' is a file, not a folder")
        return target

    def _rel(self, folder: str) -> str:
        return Path(folder).relative_to(self.root).as_posix()

    def _check_local(self, path: Path, planned: LocalFile | None) -> None:
        """Raise Changed unless the local file is exactly as planned (or still absent)."""
        if not as_planned(lstat_or_none(path), planned):
            raise Changed(
                "a file appeared at this path" if planned is None else "the file was modified"
            )

    def _tmp_file(self, suffix: str) -> Path:
        """A fresh name in the drive's temp folder: the run holds the drive's lock and the
        folder is emptied when a run starts, so the process id and a counter are unique."""
        return self.tmp_dir / f"{os.getpid()}-{next(_TMP_NAMES)}{suffix}"

    def _base_from_disk(
        self, path: str, target: Path, sha256: str, version_id: str, etag: str
    ) -> BaseEntry:
        st = target.lstat()
        return BaseEntry(path, st.st_size, st.st_mtime_ns, sha256, version_id, etag)

    def _snapshot(self, source: Path, planned: LocalFile, expected_sha: str) -> bytes | Path:
        """What an upload sends, once the file is proven still as planned (`Changed` if
        not): a small file's exact bytes, proven to hash as planned; a larger file is sent
        from where it is (the ledger hashes its parts as they go and aborts the upload if
        they are not the planned bytes), so it is read once, not copied first.

        A small file is checked and read through one descriptor (open, fstat, one read,
        close: four system calls where lstat, stat and `read_bytes` took seven; each gives
        up the GIL). Not following a link, and not blocking on a FIFO swapped in since
        the scan: either is simply not the planned file."""
        if planned.size > IN_MEMORY_LIMIT:
            self._check_local(source, planned)
            return source
        try:
            fd = os.open(source, _READ_AS_PLANNED)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise Changed("the file was modified") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink now
                raise Changed("the file was modified") from exc
            raise
        try:
            if not is_same_file(os.fstat(fd), planned.size, planned.mtime_ns):
                raise Changed("the file was modified")
            data = os.read(fd, planned.size + 1)  # one more: a file that grew reads long
            while len(data) < planned.size and (more := os.read(fd, planned.size + 1)):
                data += more
        finally:
            os.close(fd)
        if len(data) != planned.size or hashlib.sha256(data).hexdigest() != expected_sha:
            raise Changed("content differs from the scan")
        return data

    def _keep_aside(self, path: str, target: Path) -> str | None:
        """A local edit raced a download: keep it as a visibly named copy (next run uploads);
        the copy's path, or None if nothing was there."""
        if not os.path.lexists(target):
            return None
        taken = {p.name for p in target.parent.iterdir()}
        name = conflict_name(target.name, self.user, _now(), taken)
        os.rename(target, target.with_name(name))
        return path.rsplit("/", 1)[0] + "/" + name if "/" in path else name

    def _prune_empty_parents(self, target: Path) -> None:
        folder = target.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def as_planned(now: os.stat_result | None, planned: LocalFile | None) -> bool:
    """Is the file found at a path (`now`, an lstat; None: nothing there) the one planned
    (None: nothing was planned there)?"""
    if planned is None:
        return now is None
    return is_same_file(now, planned.size, planned.mtime_ns)


def _now() -> datetime:
    return datetime.now(UTC)


def clean_tmp(root: Path) -> None:
    """Remove leftovers of interrupted downloads (never user files)."""
    shutil.rmtree(root / INTERNAL_DIR / "tmp", ignore_errors=True)
