"""A download's body: the check of its size and hash as it comes, and its local file.

Shared by the ledger's downloads (`objects`) and the transfers sent ahead (`pending`): every
download, whichever way it comes, is checked by the same `BodyCheck` before anyone may move
it into place, and a failure writing its file is a local error, never retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.base import META_MTIME, META_SHA256

__all__ = [
    "CHUNK",
    "HASH_BESIDE_FROM",
    "BodyCheck",
    "DownloadResult",
    "local_writes",
    "read_back",
    "simple_md5",
]

CHUNK = 1024 * 1024
#: bodies from this size on are hashed beside their reading and writing (`BodyCheck`), at
#: most this many chunks behind
HASH_BESIDE_FROM = 16 * CHUNK
_HASH_QUEUE = 8


@dataclass(frozen=True)
class DownloadResult:
    size: int
    sha256: str
    etag: str
    metadata: dict[str, str]

    @property
    def mtime_ns(self) -> int | None:
        raw = self.metadata.get(META_MTIME)
        return int(raw) if raw and raw.isdigit() else None


def simple_md5(etag: str) -> str | None:
    """The MD5 an ETag stands for, if it is a plain single-part one."""
    value = etag.strip('"')
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower()):
        return value.lower()
    return None


class BodyCheck:
    """The size and hash of a download's bytes as they come, against what S3 says they are:
    the sha256 of the metadata, else a plain ETag's MD5 (other tools' uploads).

    `beside=True` hashes on a thread of its own while the caller reads and writes the next
    chunks (both give up the GIL): a 512 MiB body took 0.35 s of hashing on top of reading
    and writing it. `close` ends that thread; `result` waits for it."""

    def __init__(
        self,
        what: str,
        entry: RemoteEntry,
        metadata: dict[str, str],
        etag: str,
        *,
        beside: bool = False,
    ) -> None:
        self.what = what
        self.entry = entry
        self.metadata = metadata
        self.etag = etag
        self.want_sha = metadata.get(META_SHA256)
        self.want_md5 = None if self.want_sha else simple_md5(etag)
        self.sha = hashlib.sha256()
        # the MD5 only where it is the check (no sha256 in the metadata): it costs a second
        # pass over every byte of a large file
        self.md5 = hashlib.md5(usedforsecurity=False) if self.want_md5 else None
        self.size = 0
        self._queued: queue.Queue[bytes | None] | None = None
        self._hasher: threading.Thread | None = None
        if beside:
            self._queued = queue.Queue(maxsize=_HASH_QUEUE)
            self._hasher = threading.Thread(target=self._hash_queued, name="cd-hash", daemon=True)
            self._hasher.start()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._queued is not None:
            self._queued.put(chunk)
        else:
            self._hash(chunk)

    def _hash(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        if self.md5 is not None:
            self.md5.update(chunk)

    def _hash_queued(self) -> None:
        assert self._queued is not None
        while (chunk := self._queued.get()) is not None:
            self._hash(chunk)

    def close(self) -> None:
        """Let the hashing thread (if any) finish what was queued, and end it."""
        if self._hasher is not None and self._queued is not None:
            self._queued.put(None)
            self._hasher.join()
            self._hasher = None

    def result(self, length: int | None) -> DownloadResult:
        """The download's result, if every byte is there and hashes as it should; else a
        retryable failure (the body was cut or corrupted on the way)."""
        self.close()
        if (length is not None and self.size != length) or self.size != self.entry.size:
            raise errors.TransientRemoteError(
                f"{self.what}: got {self.size} bytes of {self.entry.size} (truncated body)"
            )
        digest = self.sha.hexdigest()
        if (self.want_sha and self.want_sha != digest) or (
            self.md5 is not None and self.want_md5 != self.md5.hexdigest()
        ):
            raise errors.TransientRemoteError(f"{self.what}: content does not match its hash")
        return DownloadResult(self.size, digest, self.etag, self.metadata)


def read_back(path: Path, size: int) -> Iterator[bytes]:
    """The bytes of a small file just written, read whole (at most `crt_limit`).

    Three system calls (open, read, close) where `open(path, "rb").read()` made nine
    (fstat, isatty, two seeks, a second read): each gives up the GIL, and with many
    workers each is a thread switch, the largest cost of a small download. One buffer of
    the file's size, where 1 MiB chunks mapped and unmapped a MiB twice per small file. A
    file longer than `size` is read to its end, so the size check sees every byte."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        wanted = size + 1
        while chunk := os.read(fd, wanted):
            yield chunk
            if len(chunk) < wanted:  # a regular file reads short only at its end
                break
            wanted = CHUNK
    finally:
        os.close(fd)


@contextlib.contextmanager
def local_writes(what: str, dest: Path) -> Iterator[None]:
    """Turn an OSError of the local disk into a LocalError (never retried) and remove `dest`."""
    try:
        yield
    except BotoCoreError:
        raise  # a read timeout is an OSError too, but of the network
    except OSError as exc:
        with contextlib.suppress(OSError):
            dest.unlink(missing_ok=True)
        if exc.filename is None:
            exc.filename = str(dest)
        raise errors.local_error(exc, what) from exc
