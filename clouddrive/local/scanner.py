"""The local side of a drive: scanning, hashing, and what this file system can hold.

The scanner stats every regular file (never following a symlink) and hashes only where size
or mtime moved from the base, so an unchanged tree costs one `lstat` per file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from clouddrive.core.models import BaseEntry, LocalFile, Skipped
from clouddrive.core.paths import unsafe_reason
from clouddrive.core.planner import is_racy
from clouddrive.local.ignore import IgnoreRules

__all__ = [
    "FsTraits",
    "LocalScan",
    "file_md5",
    "file_sha256",
    "is_same_file",
    "lstat_or_none",
    "probe_fs",
    "scan",
    "stat_matches",
]

_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def lstat_or_none(path: Path) -> os.stat_result | None:
    """`path`'s lstat, or None if nothing is there (any other failure is raised)."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def stat_matches(path: Path, size: int, mtime_ns: int) -> bool:
    """Is `path` still the regular file of this size and mtime (not a link, not gone)?"""
    return is_same_file(lstat_or_none(path), size, mtime_ns)


def is_same_file(st: os.stat_result | None, size: int, mtime_ns: int) -> bool:
    """Is `st` (an lstat or fstat already made; None: nothing there) the regular file of
    this size and mtime? What `stat_matches` asks, for callers that have the stat."""
    return (
        st is not None
        and stat.S_ISREG(st.st_mode)
        and st.st_size == size
        and st.st_mtime_ns == mtime_ns
    )


@dataclass(frozen=True)
class LocalScan:
    """The files found, what was left out, and the racily clean files whose hash proved them
    unchanged (`verified`: their bases may be stamped anew, as `git status` refreshes its
    index, so the next scan need not hash them again)."""

    files: dict[str, LocalFile]
    skipped: list[Skipped]
    verified: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FsTraits:
    """Whether this file system folds names together (so some remote names would collide)."""

    case_insensitive: bool = False
    normalizes_unicode: bool = False


def probe_fs(folder: Path) -> FsTraits:
    """Find out, with two scratch files in `folder`, how this file system treats names."""
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    case_probe = folder / f"CaseProbe-{token}"
    nfd_name = unicodedata.normalize("NFD", f"probe-\u00e9-{token}")
    nfc_name = unicodedata.normalize("NFC", nfd_name)
    try:
        case_probe.touch()
        case_insensitive = (folder / case_probe.name.lower()).exists()
    finally:
        case_probe.unlink(missing_ok=True)
    try:
        (folder / nfd_name).touch()
        normalizes = (folder / nfc_name).exists()
    except OSError:
        normalizes = False
    finally:
        for name in {nfd_name, nfc_name}:
            (folder / name).unlink(missing_ok=True)
    return FsTraits(case_insensitive=case_insensitive, normalizes_unicode=normalizes)


def _list_dir(folder: str) -> list[os.DirEntry[str]]:
    """The entries of one folder (a seam: tests inject an unreadable folder when run as root,
    where a chmod cannot take read access away)."""
    with os.scandir(folder) as it:
        return list(it)


def _walk(
    root: Path, ignore: IgnoreRules, skipped: list[Skipped]
) -> list[tuple[str, os.stat_result]]:
    """Every regular file under root with its lstat; links and special files are reported."""
    found: list[tuple[str, os.stat_result]] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = _list_dir(folder)
        except OSError as exc:
            skipped.append(Skipped(rel or ".", f"folder unreadable: {exc.strerror}"))
            continue
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            try:
                relpath.encode("utf-8")
            except UnicodeEncodeError:
                skipped.append(Skipped(relpath, "name is not valid UTF-8"))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(Skipped(relpath, f"cannot stat: {exc.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                if not ignore.file_ignored(relpath):
                    skipped.append(Skipped(relpath, "symbolic link (not followed)"))
            elif stat.S_ISDIR(st.st_mode):
                if not ignore.dir_ignored(relpath):
                    stack.append((entry.path, relpath))
            elif stat.S_ISREG(st.st_mode):
                if ignore.file_ignored(relpath):
                    continue
                reason = unsafe_reason(relpath)
                if reason:  # e.g. a backslash: other drives could not write it back safely
                    skipped.append(Skipped(relpath, f"name cannot be shared safely: {reason}"))
                else:
                    found.append((relpath, st))
            elif not ignore.file_ignored(relpath):
                skipped.append(Skipped(relpath, "not a regular file (device, FIFO or socket)"))
    return found


def scan(
    root: Path,
    base: Mapping[str, BaseEntry],
    ignore: IgnoreRules,
    *,
    hash_workers: int = 4,
) -> LocalScan:
    """Stat the tree; hash only files whose size or mtime moved from their base, or whose
    equal stat cannot be trusted (racily clean: see `is_racy`)."""
    skipped: list[Skipped] = []
    stats = _walk(root, ignore, skipped)
    files: dict[str, LocalFile] = {}
    to_hash: list[tuple[str, os.stat_result]] = []
    for relpath, st in stats:
        b = base.get(relpath)
        same = b is not None and b.size == st.st_size and b.mtime_ns == st.st_mtime_ns
        if same and b is not None and not is_racy(b, st.st_mtime_ns):
            files[relpath] = LocalFile(relpath, st.st_size, st.st_mtime_ns)
        else:
            to_hash.append((relpath, st))

    def hash_one(item: tuple[str, os.stat_result]) -> LocalFile | Skipped:
        relpath, st = item
        try:
            digest = file_sha256(root / relpath)
        except OSError as exc:
            return Skipped(relpath, f"unreadable: {exc.strerror}")
        return LocalFile(relpath, st.st_size, st.st_mtime_ns, digest)

    verified: list[str] = []
    if to_hash:
        with ThreadPoolExecutor(max_workers=hash_workers) as pool:
            for result in pool.map(hash_one, to_hash):
                if isinstance(result, Skipped):
                    skipped.append(result)
                    continue
                files[result.path] = result
                b = base.get(result.path)
                if b is not None and (b.size, b.mtime_ns, b.sha256) == (
                    result.size,
                    result.mtime_ns,
                    result.sha256,
                ):
                    verified.append(result.path)
    return LocalScan(files, skipped, verified)
