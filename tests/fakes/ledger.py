"""An in-memory ledger: the `S3Remote` surface the engine and executor use, over a dict.

It behaves like a versioned S3 bucket as far as clouddrive relies on one (the same contract
`tests/test_remote_contract.py` checks on SeaweedFS and moto, run on this fake by
`tests/test_fake_ledger.py`):
- every write adds an entry (an object version or a delete marker) with a fresh version id;
  nothing is ever removed (no version deletes);
- the newest entry of a key is its state: an object, a delete marker, or nothing;
- `upload` is conditional: `if_match=None` is `If-None-Match: *` (refused while the newest
  entry is an object; a delete marker counts as absent), `if_match=ETAG` is `If-Match`
  (refused unless the newest entry is an object with that ETag); a refusal is the same
  `errors.PreconditionFailed` the real ledger raises for a 412;
- `delete` puts a delete marker, conditional on `if_match` like S3's conditional delete.

Several `FakeRemote`s (one per drive) share one `FakeBucket`, as drives share a prefix.
`FakeBucket.before` is called with (operation, key) before every request: a test can make
another writer win a race at an exact moment.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clouddrive import errors
from clouddrive.core.models import BaseEntry, RemoteEntry, Skipped
from clouddrive.core.paths import UnsafeKey, is_internal, key_to_path, path_to_key
from clouddrive.core.timeline import Entry, KeyHistory, order
from clouddrive.ledger import (
    META_SHA256,
    DownloadResult,
    PutResult,
    RemoteListing,
    RetryPolicy,
)

__all__ = ["FakeBucket", "FakeRemote", "Stored"]

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """One entry of one key: an object version (`body`) or a delete marker (`body` None)."""

    key: str
    version_id: str
    body: bytes | None
    etag: str | None
    metadata: dict[str, str]
    modified: datetime

    @property
    def is_marker(self) -> bool:
        return self.body is None


@dataclass
class FakeBucket:
    """The bucket: key -> its entries, oldest first. Thread-safe (the executor's workers)."""

    name: str = "fake-bucket"
    keys: dict[str, list[Stored]] = field(default_factory=dict)
    before: Callable[[str, str], None] | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _tick: int = 0

    def _hook(self, op: str, key: str) -> None:
        with self._lock:
            self.requests.append((op, key))
        if self.before is not None:
            self.before(op, key)

    def _stamp(self) -> datetime:
        """Strictly increasing times (one second apart: S3 stamps whole seconds)."""
        self._tick += 1
        return EPOCH + timedelta(seconds=self._tick)

    def newest(self, key: str) -> Stored | None:
        with self._lock:
            items = self.keys.get(key)
            return items[-1] if items else None

    def add(self, key: str, body: bytes | None, metadata: dict[str, str] | None = None) -> Stored:
        """Append an entry unconditionally (also how a test plays a foreign writer)."""
        with self._lock:
            etag = None if body is None else f'"{hashlib.md5(body).hexdigest()}"'
            entry = Stored(
                key, f"v{next(self._ids):06d}", body, etag, dict(metadata or {}), self._stamp()
            )
            self.keys.setdefault(key, []).append(entry)
            return entry

    def find(self, key: str, version_id: str) -> Stored:
        with self._lock:
            for item in self.keys.get(key, []):
                if item.version_id == version_id:
                    return item
        raise errors.RemoteError(f"S3 refused reading {key}: NoSuchVersion: {version_id}")

    def purge(self, key: str, version_id: str | None = None) -> None:
        """An outside hard delete (lifecycle, an admin): one version, or the whole key."""
        with self._lock:
            if version_id is None:
                self.keys.pop(key, None)
                return
            self.keys[key] = [i for i in self.keys.get(key, []) if i.version_id != version_id]
            if not self.keys[key]:
                del self.keys[key]


def _same_etag(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip('"') == b.strip('"')


class FakeRemote:
    """One drive's prefix in a `FakeBucket`, with `S3Remote`'s methods and results."""

    def __init__(self, bucket: FakeBucket, prefix: str = "team") -> None:
        self.store = bucket
        self.bucket = bucket.name
        self.prefix = prefix
        self.client: Any = None  # no boto3 here
        self.retry = RetryPolicy()
        self.multipart_threshold = 64 * 1024 * 1024
        self.part_size = 16 * 1024 * 1024
        self.copy_limit = 5 * 1024**3
        self.page_size: int | None = None
        self.upload_journal: Path | None = None  # the fake never uploads in parts

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"

    def key(self, path: str) -> str:
        return path_to_key(path, self.prefix)

    def _base(self) -> str:
        return self.prefix + "/" if self.prefix else ""

    def versioning_status(self) -> str:
        return "Enabled"

    def require_versioning(self) -> None:
        self.store._hook("get_bucket_versioning", "")

    def enable_versioning(self) -> None:
        pass

    def bucket_exists(self) -> None:
        pass

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        return []

    # -- the ledger ----------------------------------------------------------------------------

    def _entry(self, path: str, item: Stored) -> RemoteEntry:
        return RemoteEntry(
            path=path,
            key=item.key,
            version_id=item.version_id,
            is_delete_marker=item.is_marker,
            last_modified=item.modified,
            etag=item.etag,
            size=0 if item.body is None else len(item.body),
        )

    def _keys_under(self, list_prefix: str) -> list[str]:
        with self.store._lock:
            return sorted(k for k in self.store.keys if k.startswith(list_prefix))

    def list_latest(self, known: Mapping[str, BaseEntry] | None = None) -> RemoteListing:
        del known  # the fake always lists every version
        base = self._base()
        self.store._hook("list_object_versions", base)
        entries: dict[str, RemoteEntry] = {}
        skipped: list[Skipped] = []
        for key in self._keys_under(base):
            item = self.store.newest(key)
            if item is None:
                continue
            if key.endswith("/") and (item.body is None or not item.body):
                continue  # a console's folder placeholder
            try:
                path = key_to_path(key, self.prefix)
            except UnsafeKey as exc:
                if not is_internal(key[len(base) :].split("/", 1)[0]):
                    skipped.append(Skipped(key[len(base) :] or key, exc.reason))
                continue
            if not is_internal(path):
                entries[path] = self._entry(path, item)
        return RemoteListing(entries, skipped)

    def recheck(self, paths: Iterable[str]) -> dict[str, RemoteEntry]:
        return {p: e for p in paths if (e := self.latest(p)) is not None}

    def latest(self, path: str) -> RemoteEntry | None:
        key = self.key(path)
        self.store._hook("list_object_versions", key)
        item = self.store.newest(key)
        return None if item is None else self._entry(path, item)

    def _items(self, key: str) -> list[Stored]:
        with self.store._lock:
            return list(reversed(self.store.keys.get(key, [])))

    def versions(self, path: str) -> list[dict[str, Any]]:
        """Raw listing items, newest first, as `S3Remote.versions` returns them."""
        key = self.key(path)
        self.store._hook("list_object_versions", key)
        return [
            {
                "Key": key,
                "VersionId": i.version_id,
                "IsDeleteMarker": i.is_marker,
                "IsLatest": n == 0,
                "LastModified": i.modified,
                "ETag": i.etag,
                "Size": 0 if i.body is None else len(i.body),
            }
            for n, i in enumerate(self._items(key))
        ]

    def histories(self, path: str = "") -> Iterator[KeyHistory]:
        base = self._base()
        exact = self.key(path) if path else None
        self.store._hook("list_object_versions", exact or base)
        for key in self._keys_under(exact or base):
            if exact is not None and key != exact and not key.startswith(exact + "/"):
                continue
            items = self._items(key)
            entries = tuple(
                order(
                    [
                        Entry(
                            i.version_id,
                            i.is_marker,
                            i.modified,
                            is_latest=n == 0,
                            size=0 if i.body is None else len(i.body),
                            etag=i.etag,
                        )
                        for n, i in enumerate(items)
                    ]
                )
            )
            try:
                rel = key_to_path(key, self.prefix)
            except UnsafeKey as exc:
                raw = key[len(base) :] or key
                if not is_internal(raw.split("/", 1)[0]):
                    yield KeyHistory(raw, key, entries, unsafe=exc.reason)
                continue
            if not is_internal(rel):
                yield KeyHistory(rel, key, entries)

    def list_objects(self, relprefix: str, *, start_after: str | None = None) -> list[str]:
        base = len(self._base())
        after = self.key(start_after) if start_after else ""
        self.store._hook("list_objects_v2", self.key(relprefix))
        found = []
        for key in self._keys_under(self.key(relprefix)):
            item = self.store.newest(key)
            if item is not None and not item.is_marker and key > after:
                found.append(key[base:])
        return found

    def head_version(self, path: str, version_id: str) -> dict[str, Any]:
        key = self.key(path)
        self.store._hook("head_object", key)
        item = self.store.find(key, version_id)
        if item.body is None:
            raise errors.RemoteError(f"S3 refused reading {path}: MethodNotAllowed: 405")
        return {
            "Metadata": dict(item.metadata),
            "ContentLength": len(item.body),
            "ETag": item.etag,
            "LastModified": item.modified,
            "VersionId": item.version_id,
        }

    def content_sha256(self, entry: RemoteEntry) -> str | None:
        return self.head_version(entry.path, entry.version_id)["Metadata"].get(META_SHA256)

    def sha256_against(
        self, entry: RemoteEntry, local_path: Path, local_sha: str | None
    ) -> str | None:
        """Like S3Remote's: the metadata's hash, else the stored bytes' (a download)."""
        found = self.content_sha256(entry)
        if found is not None:
            return found
        body = self.store.find(self.key(entry.path), entry.version_id).body
        return None if body is None else hashlib.sha256(body).hexdigest()

    def abort_interrupted_uploads(self) -> int:
        return 0  # no multipart uploads in the fake, so none is ever left open

    # -- writes ----------------------------------------------------------------------------

    def upload(
        self,
        path: str,
        source: bytes | Path,
        *,
        metadata: dict[str, str],
        if_match: str | None,
        expect_sha256: str | None = None,
        size: int | None = None,
    ) -> PutResult:
        key = self.key(path)
        body = source if isinstance(source, bytes) else source.read_bytes()
        if isinstance(source, Path) and expect_sha256 is not None:
            # as the real ledger's upload in parts: not the planned bytes, nothing lands
            planned = len(body) if size is None else size
            if len(body) != planned or hashlib.sha256(body).hexdigest() != expect_sha256:
                raise errors.SourceChanged(f"{path} changed while it was uploaded")
        self.store._hook("put_object", key)
        with self.store._lock:
            newest = self.store.newest(key)
            present = newest is not None and not newest.is_marker
            if if_match is None and present:
                raise errors.PreconditionFailed(
                    f"uploading {path}: another writer changed it first"
                )
            if if_match is not None and not (
                present and newest is not None and _same_etag(newest.etag, if_match)
            ):
                raise errors.PreconditionFailed(
                    f"uploading {path}: another writer changed it first"
                )
            item = self.store.add(key, body, metadata)
        return PutResult(item.version_id, item.etag or "")

    def delete(self, path: str, *, if_match: str | None) -> str:
        key = self.key(path)
        self.store._hook("delete_object", key)
        with self.store._lock:
            newest = self.store.newest(key)
            if if_match is not None and not (
                newest is not None and not newest.is_marker and _same_etag(newest.etag, if_match)
            ):
                raise errors.PreconditionFailed(f"deleting {path}: another writer changed it first")
            return self.store.add(key, None).version_id

    def put_bytes(self, relkey: str, body: bytes, content_type: str = "application/json") -> None:
        key = self.key(relkey)
        self.store._hook("put_object", key)
        self.store.add(key, body, {})

    def copy_forward(
        self,
        path: str,
        version_id: str,
        *,
        size: int,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> PutResult:
        key = self.key(path)
        self.store._hook("copy_object", key)
        with self.store._lock:
            current = self.store.newest(key)
            live = current is not None and not current.is_marker
            if (if_match and not (live and _same_etag(current.etag, if_match))) or (
                if_none_match and live
            ):
                raise errors.PreconditionFailed(f"{path} changed on S3 since the plan")
            old = self.store.find(key, version_id)
            if old.body is None:
                raise errors.RemoteError(f"S3 refused restoring {path}: InvalidRequest")
            item = self.store.add(key, old.body, old.metadata if metadata is None else metadata)
        return PutResult(item.version_id, item.etag or "")

    # -- reads -----------------------------------------------------------------------------

    def start_download(self, entry: RemoteEntry, dest: Path, on_done: object = None) -> None:
        """Nothing is sent ahead here: every download takes `download` (the CRT's path)."""
        return None

    def start_upload(self, path: str, body: bytes, **_: object) -> None:
        """Nothing is sent ahead here either: every upload takes `upload`."""
        return None

    def download(self, entry: RemoteEntry, dest: Path) -> DownloadResult:
        self.store._hook("get_object", entry.key)
        item = self.store.find(entry.key, entry.version_id)
        if item.body is None:
            raise errors.RemoteError(f"S3 refused downloading {entry.path}: MethodNotAllowed")
        body = item.body
        if len(body) != entry.size:
            raise errors.TransientRemoteError(
                f"downloading {entry.path}: got {len(body)} bytes of {entry.size} (truncated body)"
            )
        dest.write_bytes(body)
        return DownloadResult(
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            etag=item.etag or "",
            metadata=dict(item.metadata),
        )

    def read_bytes(self, relkey: str) -> bytes:
        key = self.key(relkey)
        self.store._hook("get_object", key)
        item = self.store.newest(key)
        if item is None or item.body is None:
            raise errors.RemoteError(f"S3 refused reading {relkey}: NoSuchKey")
        return item.body
