"""The version listing as the ledger: every key's newest entry, full histories, gaps.

S3 lists a key's versions and delete markers interleaved, newest first; listing bodies are
parsed in document order by `clouddrive.ledger.pages` (fast; botocore would split versions
and markers into two lists). A drive that has bases reads its current objects instead and
the versions only of keys that moved (`Listing._list_current`), so history costs nothing.
Some servers drop keys between version-listing pages: `ListObjectsV2` is a second opinion
that fills the gaps, and `recheck` re-reads a key before it is called vanished.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from clouddrive.core.models import BaseEntry, RemoteEntry, Skipped
from clouddrive.core.paths import UnsafeKey, is_internal, key_to_path
from clouddrive.core.timeline import Entry, KeyHistory, order
from clouddrive.ledger.base import etag_of
from clouddrive.ledger.pages import Page
from clouddrive.ledger.paging import Paging

__all__ = ["Listing", "RemoteListing"]


#: changed keys read one by one before listing every version instead (plus 1 in 20 keys)
_SUSPECTS_READ_ALONE = 64


@dataclass(frozen=True)
class RemoteListing:
    """The newest entry of every usable key, and the keys that were left out (with why)."""

    entries: dict[str, RemoteEntry]
    skipped: list[Skipped]
    #: path -> every version id (and delete marker id) the listing read for its key (every
    #: key of a version listing; the keys that moved, of a current-objects listing): a base
    #: whose version is not among them points at history rewritten from outside
    history: dict[str, frozenset[str]] = field(default_factory=dict)


class Listing(Paging):
    """Reading the ledger: listings of the prefix, one key's history, current keys."""

    @staticmethod
    def _latest_in(page: Page) -> Iterator[tuple[str, dict[str, Any], bool]]:
        for item in page.items:
            if item.get("IsLatest"):
                yield item["Key"], item, item["IsDeleteMarker"]

    def _user_path(self, key: str, list_prefix: str, skipped: list[Skipped]) -> str | None:
        """The drive path of a listed key, or None: clouddrive's own objects are left out
        silently, a key with no safe local path is left out with its reason in `skipped`."""
        try:
            path = key_to_path(key, self.prefix)
        except UnsafeKey as exc:
            top = key[len(list_prefix) :].split("/", 1)[0]
            if not is_internal(top):
                skipped.append(Skipped(key[len(list_prefix) :] or key, exc.reason))
            return None
        return None if is_internal(path) else path

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

    def list_latest(self, base: Mapping[str, BaseEntry] | None = None) -> RemoteListing:
        """The newest entry of every key: from the object listing where `base` allows (see
        `_list_current`), else from one paginated pass over the version listing."""
        if base:
            listing = self._list_current(base)
            if listing is not None:
                return listing
        return self._list_versions()

    def _list_current(self, base: Mapping[str, BaseEntry]) -> RemoteListing | None:
        """The newest entries read from the current objects, so that history costs nothing.

        The object listing (one entry per current key: ETag, size) is several times cheaper
        than the version listing, and does not grow with old versions. A key whose current
        ETag and size are its base's is taken as its base version (the same content either
        way; a newer version with the very same bytes then reads as unchanged, which leaves
        the same files on both sides). Every other key (changed, new, or with a base but no
        current object: deleted, or dropped) is read on its own with its versions. When
        that is more than a few keys (a first sync, a big change) None: list the versions.
        Keys whose newest entry is a delete marker and that have no base do not show up;
        the decision table treats them as absent, which decides the same.
        """
        list_prefix = self.prefix + "/" if self.prefix else ""
        entries: dict[str, RemoteEntry] = {}
        skipped: list[Skipped] = []
        current: set[str] = set()
        suspects: list[str] = []
        for item in self._objects_by_folder(list_prefix):
            key = str(item["Key"])
            size = int(item.get("Size", 0))
            if key.endswith("/") and size == 0:
                continue  # a "folder" placeholder made by a console
            path = self._user_path(key, list_prefix, skipped)
            if path is None:
                continue
            current.add(path)
            b = base.get(path)
            if b is None or b.etag != etag_of(item.get("ETag")) or b.size != size:
                suspects.append(path)
                continue
            entries[path] = RemoteEntry(
                path, key, b.version_id, False, item["LastModified"], b.etag, b.size
            )
        suspects += [path for path in base if path not in current]
        if len(suspects) > _SUSPECTS_READ_ALONE + len(current) // 20:
            return None
        history: dict[str, frozenset[str]] = {}
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="clouddrive-keys") as pool:
            for path, (entry, ids) in zip(
                suspects, pool.map(self._latest_and_ids, suspects), strict=True
            ):
                if entry is not None:
                    entries[path] = entry
                    history[path] = ids
        return RemoteListing(entries, skipped, history)

    def _list_versions(self) -> RemoteListing:
        """One paginated pass over the prefix: the newest entry of every key.

        A listing of more than one page is checked against the object listing (see
        `_fill_gaps`), which runs on a thread beside the version listing from its second
        page on: the check then costs requests, but hardly any time.
        """
        entries: dict[str, RemoteEntry] = {}
        skipped: list[Skipped] = []
        list_prefix = self.prefix + "/" if self.prefix else ""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clouddrive-objects")
        current: Future[list[str]] | None = None
        ids: dict[str, set[str]] = {}
        try:
            for page in self._version_pages_by_folder(list_prefix):
                if current is None and page.is_truncated:
                    current = pool.submit(lambda: list(self._object_keys(list_prefix)))
                for item in page.items:
                    ids.setdefault(item["Key"], set()).add(str(item.get("VersionId") or "null"))
                for key, item, marker in self._latest_in(page):
                    if key.endswith("/") and (marker or int(item.get("Size", 0)) == 0):
                        continue  # a "folder" placeholder made by a console
                    path = self._user_path(key, list_prefix, skipped)
                    if path is not None:
                        entries[path] = self._entry(path, key, item, marker)
            if current is not None:
                self._fill_gaps(entries, current.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        history = {p: frozenset(ids[e.key]) for p, e in entries.items() if e.key in ids}
        return RemoteListing(entries, skipped, history)

    def _fill_gaps(self, entries: dict[str, RemoteEntry], current: list[str]) -> None:
        """Re-read every current key that a paginated version listing left out.

        Some servers drop keys when they paginate version listings (SeaweedFS 4.48 loses
        'e' between pages when 'e (conflict ...)' sits beside it). The object listing
        (`current`: every current key) is a second, independent opinion: any current key it
        knows and the versions did not show is re-read on its own. A missed delete marker
        is caught by `recheck` instead.
        """
        known = {entry.key for entry in entries.values()}
        for key in current:
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
        return self._latest_and_ids(path)[0]

    def _latest_and_ids(self, path: str) -> tuple[RemoteEntry | None, frozenset[str]]:
        """One key's newest entry and the ids of all its versions and delete markers."""
        key = self.key(path)
        found: RemoteEntry | None = None
        ids: set[str] = set()
        for page in self._pages(key, page_size=1000):
            for item in page.items:
                if item["Key"] != key:
                    if item["Key"] > key:  # keys come in order: ours are all read
                        return found, frozenset(ids)
                    continue
                ids.add(str(item.get("VersionId") or "null"))
                if item.get("IsLatest"):
                    found = self._entry(path, key, item, bool(item["IsDeleteMarker"]))
        return found, frozenset(ids)

    @staticmethod
    def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One key's raw items newest first: by time, ties in listing order, latest first."""
        by_time = sorted(items, key=lambda i: i["LastModified"], reverse=True)
        return sorted(by_time, key=lambda i: not i.get("IsLatest"))

    def versions(self, path: str) -> list[dict[str, Any]]:
        """Every version and delete marker of one key, newest first (raw listing items).

        Versions and markers come in the listing's own interleaved order (see
        `clouddrive.ledger.pages`), sorted stably by time with the latest entry first; see
        `clouddrive.core.timeline` for what this means on servers that do not interleave.
        """
        key = self.key(path)
        items: list[dict[str, Any]] = []
        for page in self._pages(key):
            items.extend(item for item in page.items if item["Key"] == key)
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
            for item in page.items:
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

    def list_objects(self, relprefix: str, *, start_after: str | None = None) -> list[str]:
        """The current keys under `PREFIX/relprefix` (relative to the prefix, in key order);
        for clouddrive's own objects such as run records. `start_after` is relative too."""
        base = len(self.prefix) + 1 if self.prefix else 0
        after = self.key(start_after) if start_after else None
        return [key[base:] for key in self._object_keys(self.key(relprefix), after)]
