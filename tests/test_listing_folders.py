"""The no-op's object listing, split by top-level folder and listed side by side, sees
exactly what one sequential listing sees (on SeaweedFS and moto)."""

from __future__ import annotations

import pytest

from clouddrive.ledger import RetryPolicy, S3Remote, connect
from clouddrive.ledger.paging import LISTING_THREADS

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.05)

KEYS = [
    "top.txt",
    "a b/one.txt",
    "a b/deeper/two.txt",
    "plus+sign/x",
    "ünï/cødé.txt",
    "empty-folder/",  # a console's folder placeholder
    "many/0.txt",
    *(f"f{i:02}/x.txt" for i in range(LISTING_THREADS * 2 + 3)),
]


@pytest.fixture
def remote(s3_backend, make_bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    r = connect(make_bucket(s3_backend), "drive", endpoint_url=s3_backend.endpoint_url, retry=FAST)
    for key in KEYS:
        r.client.put_object(Bucket=r.bucket, Key=f"drive/{key}", Body=b"x")
    # clouddrive's own folder, and a key beside the prefix that is not under it
    r.client.put_object(Bucket=r.bucket, Key="drive/.clouddrive/runs/r1.json", Body=b"{}")
    r.client.put_object(Bucket=r.bucket, Key="drive-other/x.txt", Body=b"x")
    return r


def test_split_listing_equals_the_sequential_one(remote: S3Remote) -> None:
    everything = sorted(str(i["Key"]) for i in remote._objects("drive/"))
    split = sorted(str(i["Key"]) for i in remote._objects_by_folder("drive/"))
    assert split == [k for k in everything if not k.startswith("drive/.clouddrive/")]
    assert split == sorted(f"drive/{k}" for k in KEYS)


def test_split_listing_pages_each_folder(remote: S3Remote) -> None:
    """A folder with more keys than a page holds is read to its end."""
    remote.page_size = 2
    split = sorted(str(i["Key"]) for i in remote._objects_by_folder("drive/"))
    assert split == sorted(f"drive/{k}" for k in KEYS)


def _versions(pages) -> list[tuple[str, str, bool, bool]]:  # type: ignore[no-untyped-def]
    return sorted(
        (str(i["Key"]), str(i.get("VersionId")), bool(i.get("IsLatest")), i["IsDeleteMarker"])
        for page in pages
        for i in page.items
    )


@pytest.mark.parametrize("page_size", [None, 2])
def test_split_version_listing_equals_the_sequential_one(
    remote: S3Remote, page_size: int | None
) -> None:
    """The first sync's version listing, split the same way, reads every version and
    delete marker the sequential one reads (a key's versions across pages included), and
    none of clouddrive's own."""
    for key in ("a b/one.txt", "top.txt", "f03/x.txt"):
        remote.client.put_object(Bucket=remote.bucket, Key=f"drive/{key}", Body=b"again")
    remote.client.delete_object(Bucket=remote.bucket, Key="drive/plus+sign/x")
    remote.page_size = page_size
    everything = _versions(remote._pages("drive/"))
    split = _versions(remote._version_pages_by_folder("drive/"))
    assert split == [v for v in everything if not v[0].startswith("drive/.clouddrive/")]
    assert {v[0] for v in split} == {f"drive/{k}" for k in KEYS}
    assert len([v for v in split if v[0] == "drive/top.txt"]) == 2
    assert [v[3] for v in split if v[0] == "drive/plus+sign/x" and v[2]] == [True]
    latest = remote.list_latest()  # a drive without bases: the version listing
    assert "plus+sign/x" in latest.entries and latest.entries["plus+sign/x"].is_delete_marker
    assert len(latest.history["top.txt"]) == 2
