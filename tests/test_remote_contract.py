"""The S3 contract clouddrive relies on, checked through `S3Remote` on SeaweedFS and moto."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest

from clouddrive import errors
from clouddrive.core.paths import unsafe_reason
from clouddrive.ledger import META_SHA256, RetryPolicy, S3Remote, connect

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.05)


@pytest.fixture
def remote(s3_backend, make_bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    bucket = make_bucket(s3_backend)
    return connect(bucket, "drive", endpoint_url=s3_backend.endpoint_url, retry=FAST)


def meta(content: bytes) -> dict[str, str]:
    return {META_SHA256: hashlib.sha256(content).hexdigest(), "clouddrive-user": "t"}


class TestVersioning:
    def test_versioning_is_enabled(self, remote: S3Remote) -> None:
        """A fresh test bucket reports Enabled; require_versioning passes."""
        assert remote.versioning_status() == "Enabled"
        remote.require_versioning()

    def test_unversioned_bucket_is_refused(self, s3_backend, make_bucket) -> None:
        """A bucket that never had versioning fails require_versioning with a clear line."""
        r = connect(
            make_bucket(s3_backend, versioning=False), "", endpoint_url=s3_backend.endpoint_url
        )
        with pytest.raises(errors.VersioningNotEnabled, match="not enabled"):
            r.require_versioning()

    def test_missing_bucket(self, s3_backend) -> None:
        """A wrong bucket name is BucketNotFound, from head_bucket and from the listing."""
        r = connect("no-such-bucket-cd", "", endpoint_url=s3_backend.endpoint_url, retry=FAST)
        with pytest.raises(errors.BucketNotFound, match="no-such-bucket-cd"):
            r.bucket_exists()
        with pytest.raises(errors.BucketNotFound):
            r.list_latest()


class TestLedger:
    def test_latest_entries_and_delete_markers(self, remote: S3Remote) -> None:
        """The listing yields the newest entry per key: an object or a delete marker."""
        v1 = remote.upload("a.txt", b"one", metadata=meta(b"one"), if_match=None)
        v2 = remote.upload("a.txt", b"two", metadata=meta(b"two"), if_match=v1.etag)
        remote.upload("b/c.txt", b"c", metadata=meta(b"c"), if_match=None)
        marker = remote.delete("b/c.txt", if_match=None)
        listing = remote.list_latest()
        assert set(listing.entries) == {"a.txt", "b/c.txt"}
        a = listing.entries["a.txt"]
        assert (a.version_id, a.is_delete_marker, a.size) == (v2.version_id, False, 3)
        c = listing.entries["b/c.txt"]
        assert c.is_delete_marker and c.version_id == marker
        assert [v["IsDeleteMarker"] for v in remote.versions("b/c.txt")] == [True, False]

    def test_pagination_reads_every_page(self, remote: S3Remote) -> None:
        """A listing over many small pages sees every key and only the latest entries."""
        puts = [remote.upload(f"k{i}", b"x", metadata=meta(b"x"), if_match=None) for i in range(7)]
        remote.upload("k0", b"yy", metadata=meta(b"yy"), if_match=puts[0].etag)
        remote.page_size = 2
        listing = remote.list_latest()
        assert sorted(listing.entries) == [f"k{i}" for i in range(7)]
        assert listing.entries["k0"].size == 2 and len(remote.versions("k0")) == 2

    def test_internal_and_placeholder_keys_are_not_files(self, remote: S3Remote) -> None:
        """Run records under .clouddrive/ and console folder markers never list as files."""
        remote.put_bytes(".clouddrive/runs/r.json", b"{}")
        remote.client.put_object(Bucket=remote.bucket, Key="drive/folder/", Body=b"")
        remote.upload("real.txt", b"r", metadata=meta(b"r"), if_match=None)
        listing = remote.list_latest()
        assert set(listing.entries) == {"real.txt"} and listing.skipped == []

    def test_hostile_keys_are_skipped_with_reasons(self, remote: S3Remote, s3_backend) -> None:
        """Keys with no safe local path are reported, the rest listed."""
        for key in ("drive/ok.txt", "drive/ctl\t.txt", "drive/back\\slash", "drive/a/../../x"):
            try:
                remote.client.put_object(Bucket=remote.bucket, Key=key, Body=b"x")
            except remote.client.exceptions.ClientError:
                assert s3_backend.name == "seaweedfs"  # it refuses some '..' keys outright
        listing = remote.list_latest()
        assert "ok.txt" in listing.entries
        assert all(unsafe_reason(p) is None for p in listing.entries)
        assert "control character in name" in {s.reason for s in listing.skipped}
        if s3_backend.name == "moto":  # SeaweedFS rewrites '\\' to '/' and resolves '..'
            assert set(listing.entries) == {"ok.txt"}
            assert {s.reason for s in listing.skipped} == {
                "control character in name",
                "backslash in key",
                "'..' segment",
            }


class TestConditionalWrites:
    def test_if_none_match_refuses_an_existing_key(self, remote: S3Remote) -> None:
        """Creating a path someone else created first is a PreconditionFailed."""
        remote.upload("new.txt", b"first", metadata=meta(b"first"), if_match=None)
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("new.txt", b"second", metadata=meta(b"second"), if_match=None)

    def test_if_none_match_passes_over_a_delete_marker(self, remote: S3Remote) -> None:
        """An edit beats a delete: a key whose latest entry is a marker counts as absent."""
        remote.upload("d.txt", b"one", metadata=meta(b"one"), if_match=None)
        remote.delete("d.txt", if_match=None)
        put = remote.upload("d.txt", b"back", metadata=meta(b"back"), if_match=None)
        assert remote.latest("d.txt").version_id == put.version_id  # type: ignore[union-attr]

    def test_if_match_refuses_a_stale_etag(self, remote: S3Remote) -> None:
        """Overwriting a version that is no longer latest is a PreconditionFailed."""
        first = remote.upload("e.txt", b"one", metadata=meta(b"one"), if_match=None)
        remote.upload("e.txt", b"two", metadata=meta(b"two"), if_match=first.etag)
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("e.txt", b"three", metadata=meta(b"three"), if_match=first.etag)
        assert len(remote.versions("e.txt")) == 2

    def test_multipart_upload_is_conditional_too(self, remote: S3Remote, tmp_path: Path) -> None:
        """A large upload goes in parts and still honours If-None-Match."""
        remote.multipart_threshold = 5 * 1024 * 1024
        remote.part_size = 5 * 1024 * 1024
        big = tmp_path / "big.bin"
        data = bytes(range(256)) * (45 * 1024)  # 11.25 MiB: three parts
        big.write_bytes(data)
        put = remote.upload("big.bin", big, metadata=meta(data), if_match=None)
        entry = remote.latest("big.bin")
        assert entry is not None and entry.version_id == put.version_id and entry.size == len(data)
        out = tmp_path / "out.bin"
        result = remote.download(entry, out)
        assert out.read_bytes() == data and result.sha256 == hashlib.sha256(data).hexdigest()
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("big.bin", big, metadata=meta(data), if_match=None)

    def test_delete_is_a_marker_never_a_version_delete(self, remote: S3Remote) -> None:
        """Every delete leaves the content version in history."""
        put = remote.upload("h.txt", b"keep me", metadata=meta(b"keep me"), if_match=None)
        remote.delete("h.txt", if_match=put.etag)
        versions = remote.versions("h.txt")
        assert [v["IsDeleteMarker"] for v in versions] == [True, False]
        assert versions[1]["VersionId"] == put.version_id


class TestReads:
    def test_download_checks_and_reports_metadata(self, remote: S3Remote, tmp_path: Path) -> None:
        """A download writes exactly the planned version and returns its hash and metadata."""
        first = remote.upload(
            "r.txt", b"old", metadata={**meta(b"old"), "clouddrive-mtime": "42"}, if_match=None
        )
        remote.upload("r.txt", b"newer", metadata=meta(b"newer"), if_match=first.etag)
        old = next(v for v in remote.versions("r.txt") if v["VersionId"] == first.version_id)
        from clouddrive.core.models import RemoteEntry

        entry = RemoteEntry(
            "r.txt", "drive/r.txt", first.version_id, False, old["LastModified"], first.etag, 3
        )
        result = remote.download(entry, tmp_path / "r")
        assert (tmp_path / "r").read_bytes() == b"old"
        assert result.mtime_ns == 42
        assert remote.content_sha256(entry) == hashlib.sha256(b"old").hexdigest()

    def test_another_tools_multipart_object_is_compared_by_content(
        self, remote: S3Remote, tmp_path: Path
    ) -> None:
        """No metadata, a multipart ETag: the same bytes are proven equal, others are not."""
        from boto3.s3.inject import upload_file
        from boto3.s3.transfer import TransferConfig

        part = 5 * 1024 * 1024
        data = bytes(range(256)) * (part // 128 + 99)  # two full parts and a short one
        source = tmp_path / "source"
        source.write_bytes(data)
        config = TransferConfig(multipart_threshold=part, multipart_chunksize=part)
        # boto3's transfer manager on the drive's (plain botocore) client, as another tool
        upload_file(remote.client, str(source), remote.bucket, remote.key("big.bin"), Config=config)
        entry = remote.latest("big.bin")
        assert entry is not None and (entry.etag or "").strip('"').endswith("-3")
        mine = hashlib.sha256(data).hexdigest()
        assert remote.sha256_against(entry, source, mine) == mine
        other = tmp_path / "other"
        other.write_bytes(data[:-1] + b"\0" if data[-1] else data[:-1] + b"\1")
        assert (
            remote.sha256_against(entry, other, None)
            != hashlib.sha256(other.read_bytes()).hexdigest()
        )


def test_missing_credentials_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere: CredentialsError before any request."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    boto3.DEFAULT_SESSION = None
    with pytest.raises(errors.CredentialsError, match="no AWS credentials found"):
        connect("bkt", "", endpoint_url="http://127.0.0.1:9")
