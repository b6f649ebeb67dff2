"""The version listing as the ledger: every key's newest entry, full histories, gaps.

S3 lists a key's versions and delete markers interleaved, newest first; botocore splits them
into two lists, so a parse hook keeps the document order (`_capture_entry_order`). Some
servers drop keys between version-listing pages: `ListObjectsV2` is a second opinion that
fills the gaps, and `recheck` re-reads a key before it is called vanished.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.client

from clouddrive import errors
from clouddrive.core.models import RemoteEntry, Skipped
from clouddrive.core.paths import (
    INTERNAL_DIR,
    UnsafeKey,
    internal_owner,
    is_internal,
    key_to_path,
    path_to_key,
)
from clouddrive.core.timeline import Entry, KeyHistory, order
from clouddrive.ledger.base import RemoteBase, etag_of
from clouddrive.testing.faults import crash_point

__all__ = ["Listing", "RemoteListing", "register_entry_order"]


@dataclass(frozen=True)
class RemoteListing:
    """The newest entry of every usable key, and the keys that were left out (with why)."""

    entries: dict[str, RemoteEntry]
    skipped: list[Skipped]
    #: path -> every version id (and delete marker id) the listing showed for its key: a
    #: base whose version is not among them points at history rewritten from outside
    history: dict[str, frozenset[str]] = field(default_factory=dict)


_ENTRY_TAG = re.compile(rb"<(Version|DeleteMarker)[\s>]")
_ORDER_FIELD = "ClouddriveEntryOrder"


def _capture_entry_order(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore hook (before-parse.s3.ListObjectVersions): keep the listing's true order.

    S3 lists a key's versions and delete markers interleaved, newest first; botocore parses
    them into two separate lists. This records the sequence of element kinds ("V"/"M") so
    the two lists, each still in document order, can be merged back exactly.
    """
    body = response_dict.get("body")
    if int(response_dict.get("status_code", 0) or 0) != 200 or not isinstance(body, bytes):
        return
    kinds = _ENTRY_TAG.findall(body)
    customized_response_dict[_ORDER_FIELD] = "".join(
        "V" if kind == b"Version" else "M" for kind in kinds
    )


def register_entry_order(client: botocore.client.BaseClient) -> None:
    """Have `client` keep the listing's true order (see `_capture_entry_order`)."""
    with contextlib.suppress(AttributeError):  # a stand-in client without events
        client.meta.events.register(
            "before-parse.s3.ListObjectVersions",
            _capture_entry_order,
            unique_id="clouddrive-entry-order",
        )


class Listing(RemoteBase):
    """Reading the ledger: listings of the prefix, one key's history, current keys."""

    def _pages(self, prefix: str, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every page of the version listing; one failed page fails the whole listing."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if page_size or self.page_size:
            kwargs["MaxKeys"] = page_size or self.page_size
        page_no = 0
        while True:
            page_no += 1
            page = self._list_page(
                prefix, page_no, functools.partial(self.client.list_object_versions, **kwargs)
            )
            yield dict(page)
            if not page.get("IsTruncated"):
                return
            crash_point("mid-listing")
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    def _list_page(self, prefix: str, page_no: int, call: Callable[[], Any]) -> Any:
        """One listing page; a failure that outlasts the retries fails the whole listing."""
        try:
            return self._call(f"listing {prefix or 'the bucket'} (page {page_no})", call)
        except (
            errors.CredentialsError,
            errors.BucketNotFound,
            errors.AccessDenied,
            errors.ClockSkewed,
        ):
            raise  # not about this listing: the user has something to fix first
        except errors.RemoteError as exc:
            raise errors.ListingFailed(
                f"listing s3://{self.bucket}/{prefix} failed on page {page_no}: {exc}; "
                "nothing was changed"
            ) from exc

    def _object_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Every current key under `prefix` (ListObjectsV2), in key order."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        if self.page_size:
            kwargs["MaxKeys"] = self.page_size
        page_no = 0
        while True:
            page_no += 1
            page = self._list_page(
                prefix, page_no, functools.partial(self.client.list_objects_v2, **kwargs)
            )
            for item in page.get("Contents", []) or []:
                yield str(item["Key"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token
            kwargs.pop("StartAfter", None)

    @staticmethod
    def _latest_in(page: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
        for item in page.get("Versions", []) or []:
            if item.get("IsLatest"):
                yield item["Key"], item, False
        for item in page.get("DeleteMarkers", []) or []:
            if item.get("IsLatest"):
                yield item["Key"], item, True

    def _entry(self, path: str, key: str, item: dict[str, Any], marker: bool) -> RemoteEntry:
        return RemoteEntry(
            path=path,
            key=key,
            version_id=str(item.get("VersionId") or "null"),
            is_delete_marker=marker,
            last_modified=item["LastModified"],
            etag=None if marker else etag_of(item.get("ETag")),
            size=0 if marker else int(item.get("Size", 0)),
        )

    def list_latest(self) -> RemoteListing:
        """One paginated pass over the prefix: the newest entry of every key."""
        entries: dict[str, RemoteEntry] = {}
        skipped: list[Skipped] = []
        list_prefix = self.prefix + "/" if self.prefix else ""
        pages = 0
        ids: dict[str, set[str]] = {}
        for page in self._pages(list_prefix):
            for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or []):
                ids.setdefault(item["Key"], set()).add(str(item.get("VersionId") or "null"))
            for key, item, marker in self._latest_in(page):
                if key.endswith("/") and (marker or int(item.get("Size", 0)) == 0):
                    continue  # a "folder" placeholder made by a console
                try:
                    path = key_to_path(key, self.prefix)
                except UnsafeKey as exc:
                    top = key[len(list_prefix) :].split("/", 1)[0]
                    if not is_internal(top):
                        skipped.append(Skipped(key[len(list_prefix) :] or key, exc.reason))
                    continue
                if is_internal(path):
                    continue
                entries[path] = self._entry(path, key, item, marker)
            pages += 1
        if pages > 1:
            self._fill_gaps(entries, list_prefix)
        history = {p: frozenset(ids[e.key]) for p, e in entries.items() if e.key in ids}
        return RemoteListing(entries, skipped, history)

    def _fill_gaps(self, entries: dict[str, RemoteEntry], list_prefix: str) -> None:
        """Re-read every current key that a paginated version listing left out.

        Some servers drop keys when they paginate version listings (SeaweedFS 4.48 loses
        'e' between pages when 'e (conflict ...)' sits beside it). The object listing is a
        second, independent opinion: any current key it knows and the versions did not
        show is re-read on its own. A missed delete marker is caught by `recheck` instead.
        """
        known = {entry.key for entry in entries.values()}
        for key in self._object_keys(list_prefix):
            if key in known or key.endswith("/"):
                continue
            try:
                path = key_to_path(key, self.prefix)
            except UnsafeKey:
                continue  # the version listing reports unsafe keys it sees
            if not is_internal(path) and (entry := self.latest(path)) is not None:
                entries[path] = entry

    def recheck(self, paths: Iterable[str]) -> dict[str, RemoteEntry]:
        """Re-read keys one by one (the newest entry of each that exists).

        Before a path is called 'vanished' (a base, but no entry in the listing), its key is
        read again on its own: a listing that silently dropped it must not stop the drive.
        """
        found = {}
        for path in paths:
            entry = self.latest(path)
            if entry is not None:
                found[path] = entry
        return found

    def latest(self, path: str) -> RemoteEntry | None:
        """Re-read the newest entry of one key (after a lost race, or a gap in a listing)."""
        key = self.key(path)
        found: RemoteEntry | None = None
        for page in self._pages(key, page_size=1000):
            for item_key, item, marker in self._latest_in(page):
                if item_key == key:
                    found = self._entry(path, key, item, marker)
            if found is not None:
                break
        return found

    @staticmethod
    def _in_order(page: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A page's versions and delete markers (marked `IsDeleteMarker`) in document order.

        The order comes from `_capture_entry_order`; without it (a client whose responses
        bypassed the hook, or a mismatch), versions come first, then markers.
        """
        versions = [{**v, "IsDeleteMarker": False} for v in page.get("Versions", []) or []]
        markers = [{**m, "IsDeleteMarker": True} for m in page.get("DeleteMarkers", []) or []]
        kinds = str(page.get(_ORDER_FIELD, ""))
        if len(kinds) != len(versions) + len(markers) or kinds.count("V") != len(versions):
            yield from versions
            yield from markers
            return
        vi, mi = iter(versions), iter(markers)
        for kind in kinds:
            yield next(vi) if kind == "V" else next(mi)

    @staticmethod
    def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One key's raw items newest first: by time, ties in listing order, latest first."""
        by_time = sorted(items, key=lambda i: i["LastModified"], reverse=True)
        return sorted(by_time, key=lambda i: not i.get("IsLatest"))

    def versions(self, path: str) -> list[dict[str, Any]]:
        """Every version and delete marker of one key, newest first (raw listing items).

        Versions and markers come in the listing's own interleaved order (see
        `_capture_entry_order`), sorted stably by time with the latest entry first; see
        `clouddrive.core.timeline` for what this means on servers that do not interleave.
        """
        key = self.key(path)
        items: list[dict[str, Any]] = []
        for page in self._pages(key):
            items.extend(item for item in self._in_order(page) if item["Key"] == key)
        return self._ordered(items)

    @staticmethod
    def _history_entry(item: dict[str, Any]) -> Entry:
        marker = bool(item["IsDeleteMarker"])
        return Entry(
            version_id=str(item.get("VersionId") or "null"),
            is_delete_marker=marker,
            modified=item["LastModified"],
            is_latest=bool(item.get("IsLatest")),
            size=0 if marker else int(item.get("Size", 0)),
            etag=None if marker else etag_of(item.get("ETag")),
        )

    def histories(self, path: str = "") -> Iterator[KeyHistory]:
        """The full history of every key at `path` or under `path/` ("": the whole drive).

        One paginated listing, streamed one key at a time (listings go in key order, so a
        key's entries are together, even across pages), each newest first. Internal keys
        (run records) and console folder placeholders are left out; keys without a safe
        local path come with `unsafe` set (their `path` is then the raw key below the prefix).
        """
        base = self.prefix + "/" if self.prefix else ""
        list_prefix = self.key(path) if path else base
        exact = self.key(path) if path else None

        def wanted(key: str) -> bool:
            return exact is None or key == exact or key.startswith(exact + "/")

        def finish(key: str, items: list[dict[str, Any]]) -> KeyHistory | None:
            if key.endswith("/") and all(
                i["IsDeleteMarker"] or int(i.get("Size", 0)) == 0 for i in items
            ):
                return None  # a "folder" placeholder made by a console
            entries = tuple(order([self._history_entry(i) for i in items]))
            try:
                rel = key_to_path(key, self.prefix)
            except UnsafeKey as exc:
                raw = key[len(base) :] or key
                if is_internal(raw.split("/", 1)[0]):
                    return None
                return KeyHistory(raw, key, entries, unsafe=exc.reason)
            if is_internal(rel):
                return None
            return KeyHistory(rel, key, entries)

        key: str | None = None
        items: list[dict[str, Any]] = []
        for page in self._pages(list_prefix):
            # Grouped per page and sorted by key (UTF-8 order is code point order): some
            # servers (moto) list all versions of a page before all of its markers.
            groups: dict[str, list[dict[str, Any]]] = {}
            for item in self._in_order(page):
                if wanted(item["Key"]):
                    groups.setdefault(item["Key"], []).append(item)
            for page_key in sorted(groups):
                if page_key == key:  # a key continued from the previous page
                    items.extend(groups[page_key])
                    continue
                if key is not None and (done := finish(key, items)) is not None:
                    yield done
                key, items = page_key, groups[page_key]
        if key is not None and (done := finish(key, items)) is not None:
            yield done

    def other_drives(self) -> list[str]:
        """Prefixes of other drives that overlap this one (for `init`): a `.clouddrive/`
        folder at any prefix above this one, or anywhere below it but its own."""
        found: list[str] = []
        parts = self.prefix.split("/") if self.prefix else []
        for i in range(len(parts)):
            above = "/".join(parts[:i])
            if next(iter(self._object_keys(path_to_key(f"{INTERNAL_DIR}/", above))), None):
                found.append(above)
        base = len(self.prefix) + 1 if self.prefix else 0
        for key in self._object_keys(self.key("")):
            owner = internal_owner(key[base:])
            if owner and self.key(owner) not in found:
                found.append(self.key(owner))
        return found

    def list_objects(self, relprefix: str, *, start_after: str | None = None) -> list[str]:
        """The current keys under `PREFIX/relprefix` (relative to the prefix, in key order);
        for clouddrive's own objects such as run records. `start_after` is relative too."""
        base = len(self.prefix) + 1 if self.prefix else 0
        after = self.key(start_after) if start_after else None
        return [key[base:] for key in self._object_keys(self.key(relprefix), after)]
