"""Listing calls page by page: the version listing and the current objects, each page
parsed from the raw body (`clouddrive.ledger.pages`), and big prefixes listed one top-level
folder per thread. A page that fails after its retries fails the whole listing: a partial
listing would read as files deleted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clouddrive import errors
from clouddrive.core.paths import is_internal
from clouddrive.ledger.base import RemoteBase
from clouddrive.ledger.pages import PAGE_FIELD, Page, raw_listing
from clouddrive.testing.faults import crash_point

__all__ = ["LISTING_THREADS", "Paging"]

#: top-level folders listed at once by `Paging._by_folder`
LISTING_THREADS = 8


def _fallback_page(resp: dict[str, Any]) -> Page:
    """A page from botocore's own parse (a client without the raw-body hook): versions
    first, then markers, as botocore splits them; see `clouddrive.core.timeline`."""
    items = [{**v, "IsDeleteMarker": False} for v in resp.get("Versions", []) or []]
    items += [{**m, "IsDeleteMarker": True} for m in resp.get("DeleteMarkers", []) or []]
    items += [{**c, "IsDeleteMarker": False} for c in resp.get("Contents", []) or []]
    return Page(
        items=items,
        is_truncated=bool(resp.get("IsTruncated")),
        next_key_marker=str(resp.get("NextKeyMarker") or ""),
        next_version_id_marker=str(resp.get("NextVersionIdMarker") or ""),
        next_continuation_token=str(resp.get("NextContinuationToken") or ""),
        max_keys=int(resp.get("MaxKeys") or 0),
    )


def _fetch_page(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Page:
    """One listing call, its body parsed by `clouddrive.ledger.pages`."""
    with raw_listing():
        resp = fn(**kwargs)
    page = resp.get(PAGE_FIELD)
    return page if isinstance(page, Page) else _fallback_page(resp)


def _next_versions(page: Page, kwargs: dict[str, Any]) -> bool:
    """The version listing's markers for the page after `page` (False: none)."""
    if not page.is_truncated:
        return False
    kwargs["KeyMarker"] = page.next_key_marker
    kwargs["VersionIdMarker"] = page.next_version_id_marker
    return True


def _next_objects(page: Page, kwargs: dict[str, Any]) -> bool:
    """ListObjectsV2's token for the page after `page` (False: none)."""
    token = page.next_continuation_token
    if not page.is_truncated or not token:
        return False
    kwargs["ContinuationToken"] = token
    kwargs.pop("StartAfter", None)
    return True


class Paging(RemoteBase):
    """The pages of the prefix's listings, in order or a folder per thread."""

    def _pages(
        self, prefix: str, page_size: int | None = None, *, delimiter: str | None = None
    ) -> Iterator[Page]:
        """Every page of the version listing; one failed page fails the whole listing."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if page_size or self.page_size:
            kwargs["MaxKeys"] = page_size or self.page_size
        if delimiter:
            kwargs["Delimiter"] = delimiter
        return self._paged(prefix, self.client.list_object_versions, kwargs, _next_versions)

    def _list_page(self, prefix: str, page_no: int, call: Callable[[], Page]) -> Page:
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

    def _version_pages_by_folder(self, prefix: str) -> Iterator[Page]:
        """Every page of the version listing under `prefix`, its top-level folders listed
        side by side (a first sync of 100,000 keys waited for 100 pages one after another);
        see `_by_folder`."""
        return self._by_folder(prefix, self._pages)

    def _by_folder(self, prefix: str, pages: Callable[..., Iterator[Page]]) -> Iterator[Page]:
        """The pages of a listing (`pages`: the version or the object listing) under
        `prefix`, split by top-level folder: one listing with a delimiter names the keys at
        the top and the folders, then each folder is listed on its own, `LISTING_THREADS`
        at a time. Pages of one folder come in their order; the folders do not.
        clouddrive's own folders are not listed (their keys are never a drive's files)."""
        folders: list[str] = []
        for page in pages(prefix, delimiter="/"):
            yield page
            folders += [f for f in page.prefixes if not is_internal(f[len(prefix) :].rstrip("/"))]
        if len(folders) < 2:
            for folder in folders:
                yield from pages(folder)
            return
        threads = min(LISTING_THREADS, len(folders))
        with ThreadPoolExecutor(threads, thread_name_prefix="clouddrive-list") as pool:
            for listed in pool.map(lambda folder: list(pages(folder)), folders):
                yield from listed

    def _object_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Every current key under `prefix` (ListObjectsV2), in key order."""
        for item in self._objects(prefix, start_after):
            yield str(item["Key"])

    def _objects_by_folder(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every current object under `prefix`, its top-level folders listed side by side
        (a sequential listing waits for one page after another: 20,000 keys are 20 round
        trips); see `_by_folder`. Not in key order."""
        for page in self._by_folder(prefix, self._object_pages):
            yield from page.items

    def _objects(self, prefix: str, start_after: str | None = None) -> Iterator[dict[str, Any]]:
        """Every current object under `prefix` (ListObjectsV2: key, ETag, size, time)."""
        for page in self._object_pages(prefix, start_after=start_after):
            yield from page.items

    def _object_pages(
        self, prefix: str, *, start_after: str | None = None, delimiter: str | None = None
    ) -> Iterator[Page]:
        """The pages of ListObjectsV2 under `prefix`, in order."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if start_after:
            kwargs["StartAfter"] = start_after
        if self.page_size:
            kwargs["MaxKeys"] = self.page_size
        return self._paged(prefix, self.client.list_objects_v2, kwargs, _next_objects)

    def _paged(
        self,
        prefix: str,
        list_call: Callable[..., Any],
        kwargs: dict[str, Any],
        following: Callable[[Page, dict[str, Any]], bool],
    ) -> Iterator[Page]:
        """The pages of one listing call, in order; `following` sets the next page's
        markers in `kwargs` (False: that page was the last)."""
        page_no = 0
        while True:
            page_no += 1
            call = functools.partial(_fetch_page, list_call, dict(kwargs))
            page = self._list_page(prefix, page_no, call)
            yield page
            if not following(page, kwargs):
                return
            crash_point("mid-listing")
