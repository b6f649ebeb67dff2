"""Tools for the model test (tests/test_model.py): the hostile world around a drive.

Unreadable folders, interrupts at crash points, same-tick edits, and an outside actor with
raw S3 access (hard deletes of versions, uploads by other tools), plus a cache of what every
S3 version holds so that invariants can be checked after every step without re-reading it all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

import clouddrive.drive  # noqa: F401 - loads every module that has a crash point
from clouddrive.testing.faults import CRASH_POINTS, crash_point

__all__ = [
    "CRASH_POINTS",
    "Interrupted",
    "VersionBook",
    "interrupt_at",
    "original_of",
    "same_tick_edit",
    "under",
    "unreadable",
]


#: how coarse the simulated file system's timestamps are (FAT: 2 s, many network shares: 1 s)
TICK_NS = 1_000_000_000


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C raised from inside a run (a crash point), not by the test's own code."""


CONFLICT_COPY = re.compile(r"^(?P<stem>.*) \(conflict [^)]*\)(?P<ext>\.[^/]*)?$")


def original_of(path: str) -> str | None:
    """The path a conflict copy was made from, or None for an ordinary file."""
    m = CONFLICT_COPY.match(path)
    return None if m is None else m["stem"] + (m["ext"] or "")


def under(path: str, folder: str) -> bool:
    """Is `path` the folder itself or inside it ("." is the root, holding everything)?"""
    return folder == "." or path == folder or path.startswith(folder + "/")


@contextlib.contextmanager
def unreadable(root: Path, folders: set[str]) -> Iterator[None]:
    """Make these folders (relative to root, "." for the root) unlistable for a while.

    As a normal user this is a real `chmod 311` (listable no more, files still reachable),
    restored on exit. Root ignores permission bits (and CI runs the tests as root), so for
    root the scanner's directory read (`os.scandir`) is made to raise PermissionError for
    these folders instead: the same failure the scanner would meet, from the same call.
    """
    targets = {os.path.normpath(root / f) for f in folders}
    if not targets:
        yield
        return
    if os.geteuid() != 0:
        modes = {}
        for target in sorted(targets, key=len, reverse=True):
            modes[target] = stat.S_IMODE(os.stat(target).st_mode)
            os.chmod(target, 0o311)
        try:
            yield
        finally:
            for target, mode in modes.items():
                os.chmod(target, mode)
        return
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if isinstance(path, str | os.PathLike) and os.path.normpath(path) in targets:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    os.scandir = scandir  # type: ignore[assignment]
    try:
        yield
    finally:
        os.scandir = real


@contextlib.contextmanager
def interrupt_at(point: str | Collection[str], hit: int = 1) -> Iterator[None]:
    """Raise `Interrupted` (a KeyboardInterrupt) at the `hit`-th pass of a crash point (or
    of any of several).

    The real crash points kill the process (SIGKILL); in-process we raise instead, from the
    same place, so the run stops mid-way like a Ctrl-C that lands there. On a worker thread
    the exception reaches the run through the transfer's future, as a real one would.
    """
    seen = 0
    points = {point} if isinstance(point, str) else set(point)
    # Every clouddrive module that imported the crash point gets the interrupting one.
    patched = [
        m
        for name, m in list(sys.modules.items())
        if name.startswith("clouddrive.") and getattr(m, "crash_point", None) is crash_point
    ]

    def fire(name: str) -> None:
        nonlocal seen
        if name in points:
            seen += 1
            if seen == hit:
                raise Interrupted(f"interrupted at {name}")

    for module in patched:
        module.crash_point = fire  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.crash_point = crash_point  # type: ignore[attr-defined]


def same_tick_edit(path: Path, data: bytes) -> bool:
    """Rewrite `path` with `data` of the same size inside its mtime tick, mtime unchanged.

    On a file system of 1-2 s timestamps an edit within the same second keeps the mtime, so
    size and mtime both match the base. Only a file modified less than one tick ago can be
    edited so (an older file's next mtime would differ): False when it cannot be done.
    """
    st = path.lstat()
    if time.time_ns() - st.st_mtime_ns >= TICK_NS or not st.st_size:
        return False
    old = path.read_bytes()
    new = (data * (st.st_size // max(len(data), 1) + 1))[: st.st_size] if data else b""
    if len(new) != st.st_size or new == old:
        new = bytes((b + 1) % 256 for b in old)
    path.write_bytes(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return True


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class VersionBook:
    """What each S3 version under a prefix holds (versions never change: read each once),
    and an outside actor that writes and hard-deletes there with plain boto3."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.contents: dict[tuple[str, str], str] = {}  #: (path, version id) -> sha256

    def refresh(self) -> dict[tuple[str, str], str]:
        """(path, version id) -> sha256 of every object version now under the prefix."""
        now: dict[tuple[str, str], str] = {}
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for v in page.get("Versions", []):
                if "/.clouddrive/" in v["Key"]:
                    continue
                ident = (v["Key"][len(self.prefix) + 1 :], v["VersionId"])
                if ident not in self.contents:
                    body = self.client.get_object(
                        Bucket=self.bucket, Key=v["Key"], VersionId=v["VersionId"]
                    )
                    self.contents[ident] = sha(body["Body"].read())
                now[ident] = self.contents[ident]
        return now

    def current_files(self) -> list[str]:
        """The paths whose newest entry is an object (not a delete marker), sorted."""
        found = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for v in page.get("Versions", []):
                if v["IsLatest"] and "/.clouddrive/" not in v["Key"]:
                    found.append(v["Key"][len(self.prefix) + 1 :])
        return sorted(found)

    def marked_paths(self) -> set[str]:
        """Every path with a delete marker in its history."""
        found = set()
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for m in page.get("DeleteMarkers", []):
                if "/.clouddrive/" not in m["Key"]:
                    found.add(m["Key"][len(self.prefix) + 1 :])
        return found

    def entries(self, path: str) -> list[str]:
        """The version ids of a path's versions and delete markers."""
        key = f"{self.prefix}/{path}"
        resp = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        kinds = ("Versions", "DeleteMarkers")
        return [v["VersionId"] for k in kinds for v in resp.get(k, []) if v["Key"] == key]

    def current(self, path: str) -> tuple[str, bool] | None:
        """The (version id, is a delete marker) of a path's newest entry, if any."""
        key = f"{self.prefix}/{path}"
        resp = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for v in resp.get(kind, []):
                if v["Key"] == key and v["IsLatest"]:
                    return v["VersionId"], marker
        return None

    def hard_delete_current(self, path: str) -> str | None:
        """An admin's rollback: delete the current version of `path` (not a delete marker:
        a real `DeleteObject` with its VersionId). The deleted content's sha256, or None."""
        current = self.current(path)
        if current is None or current[1]:
            return None
        version_id = current[0]
        content = self.refresh().get((path, version_id))
        self.client.delete_object(
            Bucket=self.bucket, Key=f"{self.prefix}/{path}", VersionId=version_id
        )
        return content

    def foreign_put(self, path: str, data: bytes, *, multipart: bool) -> None:
        """Another tool (`aws s3 cp`) writes `path`: no clouddrive metadata; with `multipart`
        a multipart upload (its ETag is not an MD5 of the content)."""
        key = f"{self.prefix}/{path}"
        if not multipart:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
            return
        with tempfile.NamedTemporaryFile() as fh:
            fh.write(data)
            fh.flush()
            self.client.upload_file(
                fh.name,
                self.bucket,
                key,
                Config=TransferConfig(multipart_threshold=1, use_threads=False),
            )
