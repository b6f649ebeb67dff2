"""Network and server faults, injected by a proxy in front of SeaweedFS: retried within bounds
and finished, or stopped cleanly with nothing deleted; never a wrong base recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from clouddrive import errors
from clouddrive.core.models import ActionKind
from clouddrive.drive import Drive
from clouddrive.ledger import listing
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, conflict_copies, sync, tree, write

#: Requests for the drive's files, not its run records (which are PutObjects too).
USER_DATA = r"^(?!.*/\.clouddrive/)"


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


@pytest.fixture
def direct(seaweedfs, bucket) -> Shared:  # type: ignore[no-untyped-def]
    return Shared(seaweedfs.endpoint_url, bucket)


@pytest.fixture
def faulty(direct: Shared, proxy: FaultProxy) -> Shared:
    """The same prefix, reached through the proxy."""
    return Shared(proxy.endpoint_url, direct.bucket, direct.prefix)


def assert_bases_true(drive: Drive, shared: Shared) -> None:
    """Every recorded base matches the local file and an existing S3 version exactly."""
    client = shared.client()
    for path, base in drive.state.load().items():
        local = drive.root / path
        st = local.stat()
        assert (st.st_size, st.st_mtime_ns) == (base.size, base.mtime_ns), path
        assert hashlib.sha256(local.read_bytes()).hexdigest() == base.sha256, path
        head = client.head_object(
            Bucket=shared.bucket, Key=f"{shared.prefix}/{path}", VersionId=base.version_id
        )
        assert head["ETag"] == base.etag, path
        meta_sha = head["Metadata"].get("clouddrive-sha256")
        assert meta_sha in (None, base.sha256), path


def files(n: int, tag: str = "") -> dict[str, bytes]:
    return {f"f{i}.txt": f"content {i} {tag}".encode() * (i + 1) for i in range(n)}


class TestRetriedFaults:
    @pytest.mark.parametrize(
        ("fault", "operation"),
        [
            (Fault.SLOW_DOWN, "PutObject"),
            (Fault.INTERNAL, "PutObject"),
            (Fault.RESET_REQUEST, "PutObject"),
            (Fault.SLOW_DOWN, "ListObjectVersions"),
            (Fault.RESET_REQUEST, "GetBucketConfig"),
        ],
    )
    def test_upload_side_bursts_are_retried(
        self, faulty, direct, proxy, tmp_path, fault, operation
    ):
        """A burst of throttling, 5xx or resets is retried and the run finishes."""
        a = faulty.drive(tmp_path / "a", "ann")
        for path, data in files(5).items():
            write(a.root, path, data)
        proxy.add(Rule(fault, operation=operation, times=2))
        report = sync(a)
        assert proxy.fired() == 2
        assert len(report.done) == 5
        assert direct.latest() == files(5)
        assert_bases_true(a, direct)

    @pytest.mark.parametrize(
        "fault", [Fault.INTERNAL, Fault.TRUNCATE_BODY, Fault.RESET_MID_BODY, Fault.RESET_REQUEST]
    )
    def test_download_faults_never_leave_a_partial_file(
        self, faulty, direct, proxy, tmp_path, fault
    ):
        """Cut or failed downloads are fetched again whole; no half file is ever promoted."""
        up = direct.drive(tmp_path / "up", "ann")
        for path, data in files(4).items():
            write(up.root, path, data)
        sync(up)
        b = faulty.drive(tmp_path / "b", "bob")
        proxy.add(Rule(fault, operation="GetObject", times=2))
        report = sync(b)
        assert proxy.fired() == 2
        assert len(report.done) == 4
        assert tree(b.root) == files(4)
        assert not list((b.root / ".clouddrive" / "tmp").glob("*.part"))
        assert_bases_true(b, direct)


class TestLostResponses:
    def test_lost_put_response_is_adopted_not_duplicated(self, faulty, direct, proxy, tmp_path):
        """The server stored the upload but the answer was lost: one version, no conflict."""
        a = faulty.drive(tmp_path / "a", "ann")
        write(a.root, "new.txt", "created")
        proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="PutObject", path=USER_DATA, times=1))
        report = sync(a)
        assert proxy.fired(Fault.RESET_AFTER_FORWARD) == 1
        assert [o.action.kind for o in report.done] == [ActionKind.RECORD]
        assert len(direct.versions("new.txt")) == 1
        assert not conflict_copies(tree(a.root))
        assert_bases_true(a, direct)

    def test_lost_response_to_an_edit_is_adopted(self, faulty, direct, proxy, tmp_path):
        """An If-Match upload whose answer is lost: the retry's 412 re-plans into adoption."""
        a = faulty.drive(tmp_path / "a", "ann")
        write(a.root, "doc.txt", "v1")
        sync(a)
        write(a.root, "doc.txt", "v2 longer")
        proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="PutObject", path=USER_DATA, times=1))
        sync(a)
        assert [v["Size"] for v in direct.versions("doc.txt") if not v["IsDeleteMarker"]] == [9, 2]
        assert not conflict_copies(tree(a.root))
        assert a.status().is_empty
        assert_bases_true(a, direct)

    def test_lost_delete_response(self, faulty, direct, proxy, tmp_path):
        """A delete marker whose answer is lost is not stacked twice."""
        a = faulty.drive(tmp_path / "a", "ann")
        write(a.root, "gone.txt", "x")
        sync(a)
        (a.root / "gone.txt").unlink()
        proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="DeleteObject", times=1))
        sync(a)
        assert a.status().is_empty
        markers = [v for v in direct.versions("gone.txt") if v["IsDeleteMarker"]]
        assert 1 <= len(markers) <= 2  # a second marker is harmless; the content version stays
        assert any(not v["IsDeleteMarker"] for v in direct.versions("gone.txt"))


class TestStops:
    @pytest.mark.parametrize("operation", ["GETBucket", "ListObjectVersions"])
    def test_listing_failing_on_page_n_changes_nothing(
        self, faulty, direct, proxy, tmp_path, monkeypatch, operation
    ):
        """A listing that keeps failing on page 3 stops the run: zero deletes, clear message
        (the object listing of a drive with bases, or the version listing read whole)."""
        if operation == "ListObjectVersions":
            monkeypatch.setattr(listing, "_SUSPECTS_READ_ALONE", -1)
        a = faulty.drive(tmp_path / "a", "ann")
        for path, data in files(12).items():
            write(a.root, path, data)
        sync(a)
        for i in range(6):
            (a.root / f"f{i}.txt").unlink()
        a.remote.page_size = 3
        proxy.add(Rule(Fault.INTERNAL, operation=operation, after=2, times=None))
        with pytest.raises(errors.ListingFailed, match=r"page 3.*nothing was changed"):
            a.sync(max_delete=100)
        assert direct.latest() == files(12)
        assert len(a.state.load()) == 12
        proxy.clear()
        sync(a, max_delete=100)
        assert len(direct.latest()) == 6

    def test_expired_credentials_mid_run_stop_cleanly(self, faulty, direct, proxy, tmp_path):
        """Credentials expiring mid-run stop it with one clear error; bases stay true."""
        a = faulty.drive(tmp_path / "a", "ann")
        a.config = type(a.config)(**{**a.config.__dict__, "workers": 1})
        for path, data in files(10).items():
            write(a.root, path, data)
        proxy.add(Rule(Fault.EXPIRED, operation="PutObject", path=USER_DATA, after=4, times=None))
        with pytest.raises(errors.CredentialsError, match="ExpiredToken"):
            a.sync()
        assert_bases_true(a, direct)
        assert 4 <= len(direct.latest()) < 10
        proxy.clear()
        sync(a)
        assert direct.latest() == files(10)
        assert_bases_true(a, direct)

    def test_one_file_failing_does_not_stop_the_rest(self, faulty, direct, proxy, tmp_path):
        """A file whose upload keeps failing is skipped (exit 3); the others are done."""
        a = faulty.drive(tmp_path / "a", "ann")
        for path, data in files(5).items():
            write(a.root, path, data)
        proxy.add(Rule(Fault.SLOW_DOWN, operation="PutObject", path=r"/f3\.txt", times=None))
        report = a.sync()
        assert [o.action.path for o in report.failed] == ["f3.txt"]
        assert "f3.txt" not in a.state.load()
        assert set(direct.latest()) == {"f0.txt", "f1.txt", "f2.txt", "f4.txt"}
        log = report.log_path.read_text()  # type: ignore[union-attr]
        assert "skipped upload f3.txt" in log
        proxy.clear()
        sync(a)
        assert direct.latest() == files(5)
