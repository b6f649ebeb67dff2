"""A local cache of finished run records (the drive's `.clouddrive/cache/runs/`).

A finished record never changes, so a feed or a "deleted by" look-up fetches each one from
S3 at most once per machine. Records of unfinished runs are never cached. A cache: any
failure to read or write it is only logged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from clouddrive.history.records import parse_relkey

__all__ = ["RecordCache"]

log = logging.getLogger("clouddrive")


class RecordCache:
    """One folder of `<record name>.json` files (None: no cache at all)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir

    def path(self, relkey: str) -> Path | None:
        if self.cache_dir is None:
            return None
        name = relkey.rsplit("/", 1)[-1]
        if parse_relkey(name) is None or name.startswith("."):
            return None
        return self.cache_dir / name

    def get(self, relkey: str) -> bytes | None:
        path = self.path(relkey)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def put(self, relkey: str, body: bytes) -> None:
        path = self.path(relkey)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, path)
        except OSError as exc:  # a cache: never worth failing over
            log.debug("cannot cache run record %s: %s", relkey, exc)
