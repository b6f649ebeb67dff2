"""Is a remote version's content the same as a local file's? Proven, whoever wrote it.

clouddrive records each version's sha256 in its metadata. Other tools do not: a plain ETag
is the content's MD5, and a multipart ETag ("<md5 of the parts' md5s>-<parts>", from
`aws s3 cp` and friends) can be recomputed from the local file once the part size is known
(HeadObject with PartNumber=1 tells it). Only when nothing else can tell is the version
downloaded and hashed. Equal content is then adopted, never made a conflict copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.base import META_SHA256, RemoteBase
from clouddrive.ledger.bodies import simple_md5

__all__ = ["Content", "multipart_etag"]

_CHUNK = 1024 * 1024
_MULTIPART = re.compile(r"^([0-9a-f]{32})-([0-9]+)$")


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(size), b"")


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives `path`'s content uploaded in parts of `part_size` (no quotes)."""
    digests = [
        hashlib.md5(part, usedforsecurity=False).digest() for part in _chunks(path, part_size)
    ]
    whole = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{whole}-{len(digests)}"


def _file_hash(path: Path, name: str) -> str:
    digest = hashlib.new(name, usedforsecurity=False)
    for chunk in _chunks(path, _CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class Content(RemoteBase):
    """What a remote version's content is, as far as it can be learnt cheaply."""

    def _head(self, entry: RemoteEntry, **extra: Any) -> dict[str, Any]:
        return dict(
            self._call(
                f"reading {entry.path}",
                lambda: self.client.head_object(
                    Bucket=self.bucket, Key=entry.key, VersionId=entry.version_id, **extra
                ),
            )
        )

    def content_sha256(self, entry: RemoteEntry) -> str | None:
        """The sha256 recorded in the version's metadata (one HEAD), if clouddrive wrote it."""
        value = self._head(entry).get("Metadata", {}).get(META_SHA256)
        return str(value) if value else None

    def sha256_against(
        self, entry: RemoteEntry, local: Path, local_sha256: str | None
    ) -> str | None:
        """The sha256 of `entry`'s content if it can be learnt by comparing with `local`.

        From the metadata if clouddrive wrote the version; otherwise `local`'s sha256 when
        the ETag (plain MD5, or multipart recomputed with the object's own part size) proves
        the contents equal; when the part size cannot be learnt, by downloading and hashing
        the version. None: unknown, or not the local content (the planner then keeps both).
        """
        head = self._head(entry)
        recorded = head.get("Metadata", {}).get(META_SHA256)
        if recorded:
            return str(recorded)
        etag = str(head.get("ETag") or entry.etag or "").strip().strip('"').lower()
        try:
            if local.stat().st_size != entry.size:
                return None
            mine = local_sha256 or _file_hash(local, "sha256")
            if (md5 := simple_md5(etag)) is not None:
                return mine if _file_hash(local, "md5") == md5 else None
            if (parts := _MULTIPART.match(etag)) is not None:
                part_size = self._part_size(entry, int(parts.group(2)))
                if part_size is not None:
                    return mine if multipart_etag(local, part_size) == etag else None
        except OSError:
            return None  # the local file went away or cannot be read: nothing is proven
        return self._hash_download(entry)

    def _part_size(self, entry: RemoteEntry, count: int) -> int | None:
        """The size of the version's parts (all but the last), if the server tells it and
        the parts are uniform (the count matches); None otherwise."""
        try:
            head = self._head(entry, PartNumber=1)
        except errors.RemoteError:
            return None
        size = int(head.get("ContentLength") or 0)
        told = head.get("PartsCount")
        if size <= 0 or (told is not None and int(told) != count):
            return None
        if -(-entry.size // size) != count:
            return None  # parts of different sizes: only the content itself can tell
        return size

    def _hash_download(self, entry: RemoteEntry) -> str:
        """Stream the version and hash it (nothing is written to disk)."""

        def fetch() -> str:
            resp = self.client.get_object(
                Bucket=self.bucket, Key=entry.key, VersionId=entry.version_id
            )
            digest = hashlib.sha256()
            size = 0
            body = resp["Body"]
            try:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
            finally:
                body.close()
            if size != entry.size:
                raise errors.TransientRemoteError(
                    f"comparing {entry.path}: got {size} bytes of {entry.size} (truncated body)"
                )
            return digest.hexdigest()

        return self._call(f"comparing {entry.path}", fetch)
