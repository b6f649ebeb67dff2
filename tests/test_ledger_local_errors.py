"""Local failures are local (issue 9 items 8 and 16): a full disk, a permission, a skewed clock.

Each gets its own error kind and one line that says what to do, is tried once (no retry
loop, never "connection to S3 failed"), and leaves nothing half-written. Against SeaweedFS.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

import pytest
from botocore.awsrequest import AWSResponse

from clouddrive import errors
from clouddrive.core.models import ActionKind
from clouddrive.ledger import RetryPolicy, S3Remote, connect, crt, objects
from clouddrive.ledger.crt import CrtTransfers
from tests.drivekit import Shared, count_requests, tree, write
from tests.test_retry import Faults, _Raw

#: retries fast but many: a local failure that were retried would show up as several calls
MANY = RetryPolicy(attempts=5, initial=0.01, maximum=0.02)
BIG = os.urandom(3 * 1024 * 1024 + 5)  #: several download chunks: the failure comes mid-way


@pytest.fixture
def remote(seaweedfs, bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    r = connect(bucket, "p", endpoint_url=seaweedfs.endpoint_url, retry=MANY)
    r.upload("big.bin", BIG, metadata={}, if_match=None)
    return r


def count_gets(remote: S3Remote) -> dict[str, int]:
    return count_requests(remote, "GetObject")


def fail_second_write(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """The first chunk is written, the second meets `code` (a disk filling up mid-way)."""
    real = objects._write_chunk
    seen = {"n": 0}

    def write_chunk(fh: IO[bytes], chunk: bytes) -> None:
        seen["n"] += 1
        if seen["n"] >= 2:
            raise OSError(code, os.strerror(code))
        real(fh, chunk)

    monkeypatch.setattr(objects, "_write_chunk", write_chunk)


class TestDownloadToAFullOrLockedDisk:
    """Through botocore's stream (large files; drives on AWS), written chunk by chunk."""

    @pytest.mark.parametrize(
        ("code", "kind", "words"),
        [
            (errno.ENOSPC, errors.DiskFull, "disk full while downloading big.bin"),
            (errno.EDQUOT, errors.DiskFull, "free some space"),
            (errno.EACCES, errors.LocalPermissionDenied, "permission denied while downloading"),
            (errno.EROFS, errors.LocalPermissionDenied, "make the folder writable"),
        ],
    )
    def test_one_attempt_its_own_kind_nothing_left(
        self, remote, tmp_path, monkeypatch, code, kind, words
    ) -> None:
        remote.crt_limit = 0  # botocore's stream, not the CRT
        entry = remote.latest("big.bin")
        gets = count_gets(remote)
        fail_second_write(monkeypatch, code)
        dest = tmp_path / "big.bin.part"
        with pytest.raises(kind) as caught:
            remote.download(entry, dest)
        assert gets["n"] == 1  # not retried
        assert_one_local_line(caught.value, words)
        assert not dest.exists()  # nothing half-written

    def test_a_sync_reports_it_per_file_and_leaves_no_temp_file(
        self, shared: Shared, tmp_path: Path, monkeypatch
    ) -> None:
        """Through the drive: the download fails once with the disk-full line, the target is
        not created and .clouddrive/tmp holds nothing."""
        a = shared.drive(tmp_path / "ann", "ann")
        b = shared.drive(tmp_path / "bob", "bob")
        write(a.root, "big.bin", BIG)
        assert not a.sync().failed
        b.remote.crt_limit = 0
        fail_second_write(monkeypatch, errno.ENOSPC)
        assert_a_sync_fails_once_then_finishes(b, monkeypatch, {"big.bin": BIG})


def assert_one_local_line(exc: BaseException, words: str) -> None:
    assert words in str(exc)
    assert "S3" not in str(exc)
    assert "\n" not in str(exc)
    assert not isinstance(exc, errors.RemoteError)


def assert_a_sync_fails_once_then_finishes(
    b: Any, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]
) -> None:
    """`b`'s sync meets a full disk on its one download: one attempt, the disk-full line,
    nothing left in the drive or its temp folder; once space is back (the patch undone),
    the next run finishes the job."""
    gets = count_gets(b.remote)
    report = b.sync()
    [failed] = report.failed
    assert failed.action.kind is ActionKind.DOWNLOAD
    assert failed.error is not None and failed.error.startswith("disk full while")
    assert gets["n"] == 1
    assert tree(b.root) == {}
    tmp = b.root / ".clouddrive" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    monkeypatch.undo()
    assert not b.sync().failed
    assert tree(b.root) == files


def into_a_full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every body the CRT writes goes to /dev/full (a link at its temp name): the kernel
    answers ENOSPC to the CRT's own writes, as a disk that filled up would."""
    real = CrtTransfers.start_get

    def start_get(
        self: CrtTransfers,
        bucket: str,
        key: str,
        version_id: str | None,
        size: int = 0,
        into: str | None = None,
        on_done: Any = None,
    ) -> Any:
        if into is not None:
            os.symlink("/dev/full", into)
        return real(self, bucket, key, version_id, size, into, on_done)

    monkeypatch.setattr(CrtTransfers, "start_get", start_get)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
class TestTheCrtWritingToAFullDisk:
    """Small files: the CRT writes the body to the file itself (`recv_filepath`), so its
    own write errors must come back as the same local errors, tried once."""

    def test_one_attempt_disk_full_nothing_left(self, remote, tmp_path) -> None:
        entry = remote.latest("big.bin")
        assert remote.crt is not None
        gets = count_gets(remote)
        dest = tmp_path / "big.bin.part"
        dest.symlink_to("/dev/full")
        with pytest.raises(errors.DiskFull) as caught:
            remote.download(entry, dest)
        assert gets["n"] == 1
        assert_one_local_line(caught.value, "disk full while downloading big.bin")
        assert not os.path.lexists(dest)

    def test_a_folder_that_is_gone_is_a_local_error(self, remote, tmp_path) -> None:
        """The CRT opens the file before it sends anything: a missing folder fails there,
        once."""
        entry = remote.latest("big.bin")
        gets = count_gets(remote)
        with pytest.raises(errors.LocalError) as caught:
            remote.download(entry, tmp_path / "gone" / "big.bin.part")
        assert gets["n"] == 1
        assert_one_local_line(caught.value, "downloading big.bin")

    def test_a_sync_reports_it_per_file_and_leaves_no_temp_file(
        self, shared: Shared, tmp_path: Path, monkeypatch
    ) -> None:
        a = shared.drive(tmp_path / "ann", "ann")
        b = shared.drive(tmp_path / "bob", "bob")
        write(a.root, "small.bin", b"x" * 4096)
        assert not a.sync().failed
        into_a_full_disk(monkeypatch)
        assert_a_sync_fails_once_then_finishes(b, monkeypatch, {"small.bin": b"x" * 4096})

    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("AWS_ERROR_NO_SPACE", errors.DiskFull),
            ("AWS_ERROR_NO_PERMISSION", errors.LocalPermissionDenied),
            ("AWS_ERROR_FILE_INVALID_PATH", errors.LocalError),
            ("AWS_ERROR_FILE_WRITE_FAILURE", errors.LocalError),
        ],
    )
    def test_each_crt_file_error_is_its_local_kind(self, name: str, kind: type) -> None:
        exc = crt._local_error(name, "/x/y.part", RuntimeError(name))
        local = errors.local_error(exc, "downloading y")
        assert type(local) is kind
        assert "/x/y.part" in str(local)


def skewed(request: Any) -> AWSResponse:
    body = (
        b"<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request "
        b"time and the current time is too large.</Message>"
        b"<RequestTime>20261129T120000Z</RequestTime><ServerTime>2026-11-29T12:20:00Z</ServerTime>"
        b"<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>"
    )
    return AWSResponse(request.url, 403, {}, _Raw(body))


class TestClockSkew:
    def test_skew_is_its_own_error_and_not_retried(self, remote) -> None:
        faults = Faults(remote, "ListObjectVersions", skewed, count=99)
        with pytest.raises(errors.ClockSkewed) as caught:
            remote.versions("big.bin")
        assert faults.calls == 1
        message = str(caught.value)
        assert "sync the clock" in message and "\n" not in message

    def test_the_skew_is_named_when_the_server_tells_it(self, remote) -> None:
        def iso_times(request: Any) -> AWSResponse:
            body = (
                b"<Error><Code>RequestTimeTooSkewed</Code><Message>too large</Message>"
                b"<RequestTime>2026-11-29T12:00:00Z</RequestTime>"
                b"<ServerTime>2026-11-29T12:20:00Z</ServerTime></Error>"
            )
            return AWSResponse(request.url, 403, {}, _Raw(body))

        Faults(remote, "HeadObject", iso_times, count=99)
        with pytest.raises(errors.ClockSkewed, match="1200 s behind the server"):
            remote.head_version("big.bin", "null")


class TestUnreachableServer:
    def test_connection_refused_fails_fast(self, bucket) -> None:
        """Nothing listening: one quick retry, then ServerUnreachable (no long backoff)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        slow = RetryPolicy(attempts=6, initial=1.0, maximum=8.0)
        remote = connect(bucket, "p", endpoint_url=f"http://127.0.0.1:{port}", retry=slow)
        tries = {"n": 0}

        def hook(**_: Any) -> None:
            tries["n"] += 1

        remote.client.meta.events.register("before-send.s3.GetBucketVersioning", hook)
        started = time.monotonic()
        with pytest.raises(errors.ServerUnreachable, match="cannot reach S3"):
            remote.versioning_status()
        assert tries["n"] == 2
        assert time.monotonic() - started < 5
