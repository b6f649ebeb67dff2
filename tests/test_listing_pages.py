"""Listing bodies parsed by clouddrive itself: order, decoding, timestamps, markers."""

from __future__ import annotations

from datetime import UTC, datetime

from clouddrive.ledger.pages import parse_page

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
VERSIONS = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult {NS}>
  <Name>b</Name><Prefix>p/</Prefix><KeyMarker></KeyMarker><MaxKeys>3</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <NextKeyMarker>p/a+b%25c</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>
  <Version><Key>p/a+b%25c</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest>
    <LastModified>2026-11-30T00:13:45.5Z</LastModified><ETag>"e3"</ETag><Size>7</Size>
    <Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Version>
  <DeleteMarker><Key>p/a+b%25c</Key><VersionId>v4</VersionId><IsLatest>true</IsLatest>
    <LastModified>2026-11-30T00:13:45Z</LastModified></DeleteMarker>
  <Version><Key>p/a+b%25c</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest>
    <LastModified>2026-11-30T00:13:44.123456789Z</LastModified><ETag>"e2"</ETag>
    <Size>0</Size></Version>
</ListVersionsResult>""".encode()


def test_versions_and_markers_keep_document_order_and_decoded_keys() -> None:
    page = parse_page(VERSIONS)
    assert [(i["VersionId"], i["IsDeleteMarker"]) for i in page.items] == [
        ("v3", False),
        ("v4", True),
        ("v2", False),
    ]
    assert {i["Key"] for i in page.items} == {"p/a b%c"}
    assert page.is_truncated and page.max_keys == 3
    assert (page.next_key_marker, page.next_version_id_marker) == ("p/a b%c", "v2")
    first, marker, last = page.items
    assert first["LastModified"] == datetime(2026, 11, 30, 0, 13, 45, 500000, tzinfo=UTC)
    assert (first["Size"], first["ETag"], first["IsLatest"]) == (7, '"e3"', False)
    assert marker["IsLatest"] is True and "Size" not in marker
    assert last["LastModified"].microsecond == 123456  # nine digits: the fallback parser


def test_object_listing_without_namespace_or_encoding() -> None:
    body = b"""<ListBucketResult><IsTruncated>false</IsTruncated>
      <Contents><Key>p/a+b</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified>
      <ETag>"x"</ETag><Size>3</Size></Contents></ListBucketResult>"""
    page = parse_page(body)
    assert [i["Key"] for i in page.items] == ["p/a+b"]  # not url-encoded: kept as sent
    assert not page.is_truncated and page.next_continuation_token == ""


FOLDERS = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult {NS}>
  <Name>b</Name><Prefix>p/</Prefix><Delimiter>/</Delimiter><MaxKeys>1000</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><KeyCount>3</KeyCount>
  <Contents><Key>p/top+file.txt</Key><LastModified>2026-11-30T00:13:45Z</LastModified>
    <ETag>"e1"</ETag><Size>1</Size></Contents>
  <CommonPrefixes><Prefix>p/a+folder/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>p/%C3%BC/</Prefix></CommonPrefixes>
</ListBucketResult>""".encode()


def test_common_prefixes_are_the_folders_decoded() -> None:
    """A listing with a delimiter: files at the top are items, folders are `prefixes`."""
    page = parse_page(FOLDERS)
    assert [i["Key"] for i in page.items] == ["p/top file.txt"]
    assert page.prefixes == ["p/a folder/", "p/ü/"]
