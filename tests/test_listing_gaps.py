"""A version listing that silently drops keys must neither hide files nor trip 'vanished'."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

import pytest

from clouddrive.core.models import ActionKind
from clouddrive.ledger import META_SHA256, S3Remote, connect, listing
from tests.drivekit import FAST_RETRY, Shared, sync, tree, write


def drop_key_from_listings(remote: S3Remote, key: str) -> dict[str, int]:
    """Make small-page ListObjectVersions responses forget `key`, as a buggy server's
    pagination does (a single-key re-read, with full pages, still sees it). The entries
    are cut out of the response body itself, before any parser sees it."""
    dropped = {"n": 0}
    entry = re.compile(rb"<(Version|DeleteMarker)>(?:(?!</\1>).)*</\1>", re.S)

    def hook(response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body")
        if response_dict.get("status_code") != 200 or not isinstance(body, bytes):
            return
        max_keys = re.search(rb"<MaxKeys>(\d+)</MaxKeys>", body)
        if max_keys is None or int(max_keys.group(1)) >= 1000:
            return

        def cut(match: re.Match[bytes]) -> bytes:
            found = re.search(rb"<Key>([^<]*)</Key>", match.group(0))
            if found is not None and unquote_plus(found.group(1).decode()) == key:
                dropped["n"] += 1
                return b""
            return match.group(0)

        response_dict["body"] = entry.sub(cut, body)

    remote.client.meta.events.register_first("before-parse.s3.ListObjectVersions", hook)
    return dropped


class TestGapsAreFilled:
    def test_key_dropped_from_a_paginated_listing_is_re_read(self, s3_backend, make_bucket) -> None:
        """The object listing's second opinion brings a dropped key back, exact version."""
        remote = connect(make_bucket(s3_backend), "p", endpoint_url=s3_backend.endpoint_url,
                         retry=FAST_RETRY)  # fmt: skip
        for name in ("a", "e", "z"):
            remote.upload(name, name.encode(), metadata={META_SHA256: "x"}, if_match=None)
        latest_e = remote.latest("e")
        remote.page_size = 1
        dropped = drop_key_from_listings(remote, "p/e")
        entries = remote.list_latest().entries
        assert dropped["n"] > 0
        assert set(entries) == {"a", "e", "z"}
        assert entries["e"] == latest_e

    @pytest.mark.parametrize("versions", [False, True], ids=["objects", "versions"])
    def test_dropped_delete_marker_is_a_delete_not_a_vanish(
        self, seaweedfs, bucket, tmp_path, monkeypatch, versions
    ):
        """A base whose key the listing dropped is re-read: its delete marker is honoured
        (reading current objects, and when the version listing is read whole)."""
        if versions:
            monkeypatch.setattr(listing, "_SUSPECTS_READ_ALONE", -1)
        shared = Shared(seaweedfs.endpoint_url, bucket)
        a = shared.drive(tmp_path / "a", "ann")
        write(a.root, "f.txt", "f")
        write(a.root, "g.txt", "g")
        sync(a)
        shared.client().delete_object(Bucket=bucket, Key="team/f.txt")
        a.remote.page_size = 1
        dropped = drop_key_from_listings(a.remote, "team/f.txt")
        report = sync(a)
        assert (dropped["n"] > 0) is versions
        assert [o.action.kind for o in report.done] == [ActionKind.DELETE_LOCAL]
        assert tree(a.root) == {"g.txt": b"g"}


@pytest.mark.parametrize("page_size", [1, 2, 4])  # pages that lose the latest "e"
def test_seaweedfs_layout_that_loses_keys_between_pages(seaweedfs, bucket, tmp_path, page_size):
    """SeaweedFS 4.48 drops every entry of 'e' from paginated listings when 'e (conflict ..)'
    sits beside a key with stacked versions and markers: the drive still gets 'e'."""
    shared = Shared(seaweedfs.endpoint_url, bucket)
    client = shared.client()

    def put(key: str, body: bytes = b"x") -> None:
        client.put_object(Bucket=bucket, Key=f"team/{key}", Body=body)

    for key in ("a.txt", "b.md", "deep/x/y.bin"):
        put(key)
    for i in range(12):
        put("e", f"version {i}".encode())
        if i in (2, 5, 7, 8, 10):
            client.delete_object(Bucket=bucket, Key="team/e")
    put("e (conflict ann 1)")
    put("e (conflict ann 2)")
    put("f.csv")
    b = shared.drive(tmp_path / "b", "bob", list_page_size=page_size)
    sync(b)
    assert tree(b.root)["e"] == b"version 11"
    assert tree(b.root) == shared.latest()
    assert b.status().is_empty
