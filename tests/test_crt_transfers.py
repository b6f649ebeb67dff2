"""Small transfers through the AWS Common Runtime (`ledger/crt.py`), on real servers.

The CRT carries the GETs and PUTs of small objects whenever the drive has an explicit
endpoint. These tests prove that it does, that it behaves exactly like botocore where the
ledger depends on it (versions, metadata, conditions, odd keys), and that its failures
reach `calls` as the same errors, retried or not in the same way, through a fault proxy
that breaks real HTTP exchanges.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions as bexc
import botocore.session
import pytest
from botocore.credentials import RefreshableCredentials

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger import META_SHA256, RetryPolicy, S3Remote, connect
from clouddrive.ledger.crt import TRANSFER_ENV, CrtTransfers
from clouddrive.sync.scheduler import Batch, Stopped, install_gate, worker_context
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.authkit import WRITER, AuthServer
from tests.drivekit import count_requests
from tests.servers import TEST_ACCESS_KEY, TEST_SECRET_KEY

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.05)

ODD_NAMES = ["a b.txt", "plus+sign.txt", "pct%20.txt", "q?mark#hash.txt", "ünï/cødé €.txt"]


def meta(content: bytes, **extra: str) -> dict[str, str]:
    return {META_SHA256: hashlib.sha256(content).hexdigest(), **extra}


def entry_of(remote: S3Remote, path: str) -> RemoteEntry:
    found = remote.latest(path)
    assert found is not None
    return found


@pytest.fixture
def remote(s3_backend, make_bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    bucket = make_bucket(s3_backend)
    r = connect(bucket, "drive", endpoint_url=s3_backend.endpoint_url, retry=FAST)
    assert r.crt is not None, "an explicit endpoint sends small transfers through the CRT"
    return r


class TestSameAsBotocore:
    def test_the_crt_carries_small_transfers(self, remote: S3Remote, tmp_path: Path) -> None:
        """A small upload and download go through the CRT; botocore sends neither."""
        botocore_calls = {"n": 0}

        def seen(**_: object) -> None:
            botocore_calls["n"] += 1

        remote.client.meta.events.register("before-send.s3.PutObject", seen)
        remote.client.meta.events.register("before-send.s3.GetObject", seen)
        puts, gets = count_requests(remote, "PutObject"), count_requests(remote, "GetObject")
        remote.upload("a.txt", b"hello", metadata=meta(b"hello"), if_match=None)
        remote.download(entry_of(remote, "a.txt"), tmp_path / "a")
        assert (puts["n"], gets["n"], botocore_calls["n"]) == (1, 1, 0)

    def test_made_on_the_first_transfer(self, remote: S3Remote) -> None:
        """A run with nothing to move (the no-op a live drive repeats) makes no CRT client."""
        assert remote.crt is not None
        remote.list_latest()
        assert remote.crt._made is None
        remote.upload("first.txt", b"1", metadata=meta(b"1"), if_match=None)
        assert remote.crt._made is not None

    @pytest.mark.parametrize("name", ODD_NAMES)
    def test_odd_keys_round_trip(self, remote: S3Remote, tmp_path: Path, name: str) -> None:
        """Spaces, '+', '%', '?', '#' and non-ASCII names are encoded (and signed) as botocore
        does: the version listed is the one written, and its bytes come back."""
        body = name.encode() * 3
        put = remote.upload(
            name, body, metadata=meta(body, **{"clouddrive-user": "t"}), if_match=None
        )
        listed = entry_of(remote, name)
        assert (listed.version_id, listed.etag) == (put.version_id, put.etag)
        got = remote.download(listed, tmp_path / "x")
        assert (tmp_path / "x").read_bytes() == body
        assert got.metadata["clouddrive-user"] == "t"

    def test_an_old_version_comes_down(self, remote: S3Remote, tmp_path: Path) -> None:
        first = remote.upload("v.txt", b"one", metadata=meta(b"one"), if_match=None)
        remote.upload("v.txt", b"two", metadata=meta(b"two"), if_match=first.etag)
        old = next(e for e in remote.versions("v.txt") if e.get("VersionId") == first.version_id)
        entry = RemoteEntry(
            "v.txt", remote.key("v.txt"), first.version_id, False, old["LastModified"],
            first.etag, 3,
        )  # fmt: skip
        remote.download(entry, tmp_path / "v")
        assert (tmp_path / "v").read_bytes() == b"one"

    def test_an_empty_file(self, remote: S3Remote, tmp_path: Path) -> None:
        remote.upload("empty", b"", metadata=meta(b""), if_match=None)
        got = remote.download(entry_of(remote, "empty"), tmp_path / "e")
        assert got.size == 0 and (tmp_path / "e").read_bytes() == b""

    def test_conditions_hold(self, remote: S3Remote) -> None:
        """If-None-Match on an existing key and If-Match on a stale ETag are lost races."""
        put = remote.upload("c.txt", b"1", metadata=meta(b"1"), if_match=None)
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("c.txt", b"2", metadata=meta(b"2"), if_match=None)
        remote.upload("c.txt", b"3", metadata=meta(b"3"), if_match=put.etag)
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("c.txt", b"4", metadata=meta(b"4"), if_match=put.etag)

    @pytest.mark.parametrize("size", [5, 9 * 1024 * 1024])  # by the CRT, by botocore
    def test_metadata_that_is_not_ascii(self, remote: S3Remote, tmp_path: Path, size: int) -> None:
        """A user named Zoë: the value travels RFC 2047-encoded (S3's own rule) and comes
        back as written, whichever client carried it; other tools see the encoded word."""
        body = b"z" * size
        remote.upload("z.txt", body, metadata=meta(body, **{"clouddrive-user": "Zoë 山田"}),
                      if_match=None)  # fmt: skip
        entry = entry_of(remote, "z.txt")
        assert remote.head_version("z.txt", entry.version_id)["Metadata"]["clouddrive-user"] == (
            "Zoë 山田"
        )
        got = remote.download(entry, tmp_path / "z")
        assert got.metadata["clouddrive-user"] == "Zoë 山田"

    def test_an_endpoint_from_the_aws_environment_takes_the_crt(  # type: ignore[no-untyped-def]
        self, s3_backend, make_bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """`AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`, a profile's `endpoint_url`) names
        an S3-compatible server as an explicit endpoint does: small transfers take the
        CRT there too, and botocore sends neither the upload nor the download."""
        bucket = make_bucket(s3_backend)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_backend.endpoint_url)
        r = connect(bucket, "d", retry=FAST)
        assert r.crt is not None and r.crt.host == s3_backend.endpoint_url.split("://")[1]
        sent: list[str] = []
        r.client.meta.events.register("before-send.s3.PutObject", lambda **_: sent.append("put"))
        r.client.meta.events.register("before-send.s3.GetObject", lambda **_: sent.append("get"))
        r.upload("e.txt", b"env", metadata=meta(b"env"), if_match=None)
        got = r.download(entry_of(r, "e.txt"), tmp_path / "e")
        assert (got.size, (tmp_path / "e").read_bytes(), sent) == (3, b"env", [])

    def test_aws_itself_keeps_botocore(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.eu-west-1.amazonaws.com")
        assert connect("some-bucket", "d", region="eu-west-1").crt is None
        monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
        assert connect("some-bucket", "d", region="eu-west-1").crt is None

    def test_switched_off_by_the_environment(
        self, s3_backend, make_bucket, monkeypatch: pytest.MonkeyPatch
    ) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setenv(TRANSFER_ENV, "botocore")
        r = connect(make_bucket(s3_backend), "d", endpoint_url=s3_backend.endpoint_url)
        assert r.crt is None


def test_finished_requests_are_freed_at_once(
    remote: S3Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request the CRT has finished goes with its last reference, not at the next full
    garbage collection: a reference cycle through it kept thousands of them, and their
    native memory, for a whole sync (15 KiB a file, 215 MiB at 10,000 small files)."""
    from awscrt.s3 import S3Client

    made: list[weakref.ref[Any]] = []
    make_request = S3Client.make_request

    def tracked(client: S3Client, **kwargs: Any) -> Any:
        request = make_request(client, **kwargs)
        made.append(weakref.ref(request))
        return request

    monkeypatch.setattr(S3Client, "make_request", tracked)
    remote.upload("g.txt", b"g", metadata=meta(b"g"), if_match=None)
    entry = entry_of(remote, "g.txt")
    gc.collect()
    gc.disable()
    try:
        for i in range(20):
            remote.download(entry, tmp_path / f"g{i}")
            remote.upload(f"g{i}.txt", b"g", metadata=meta(b"g"), if_match=None)
        assert len(made) == 41
        deadline = time.monotonic() + 5
        while (alive := sum(r() is not None for r in made)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the CRT lets go of each one once its native side has ended
        assert alive == 0
    finally:
        gc.enable()


class TestCredentials:
    """Keys that never change are given to the CRT once; keys botocore refreshes (SSO,
    assumed roles) are read again for every request the CRT signs."""

    def test_fixed_keys_are_read_once(self, remote: S3Remote) -> None:
        assert remote.crt is not None
        keys = remote.crt._credentials
        reads: list[int] = []

        def counted() -> tuple[str, str, str | None]:
            reads.append(1)
            return keys()

        remote.crt._credentials = counted
        for i in range(3):
            remote.upload(f"k{i}.txt", b"k", metadata=meta(b"k"), if_match=None)
        assert len(reads) == 1

    def test_refreshed_keys_are_read_for_each_request(self, auth_server: AuthServer) -> None:
        """A rotation mid-run is used at the next request: stale keys are refused by a
        server that checks them, the refreshed ones accepted, by the same client."""
        bucket = auth_server.create_bucket(f"rot-{time.time_ns()}")
        current = [("AKIASTALE", "stale-secret", None)]
        crt = CrtTransfers(auth_server.endpoint_url, "us-east-1", lambda: current[0])
        with pytest.raises(bexc.ClientError, match="InvalidAccessKeyId"):
            crt.put(bucket, "r.txt", b"r", {})
        current[0] = (WRITER.access_key, WRITER.secret_key, None)
        assert crt.put(bucket, "r.txt", b"r", {}).status == 200

    def test_keys_that_cannot_be_refreshed_end_the_transfer(  # type: ignore[no-untyped-def]
        self, s3_backend, make_bucket
    ) -> None:
        """An expired SSO session (botocore cannot renew the keys) is a credentials error
        with botocore's advice, tried once: not a connection failure retried until the
        retries run out."""
        r = connect(make_bucket(s3_backend), "d", endpoint_url=s3_backend.endpoint_url, retry=FAST)
        assert r.crt is not None
        asked: list[int] = []

        def expired() -> tuple[str, str, str | None]:
            asked.append(1)
            raise bexc.TokenRetrievalError(provider="sso", error_msg="the token has expired")

        r.crt._credentials, r.crt._refreshed = expired, True
        with pytest.raises(errors.CredentialsError, match=r"could not be refreshed.*expired"):
            r.upload("t.txt", b"t", metadata=meta(b"t"), if_match=None)
        assert len(asked) == 1

    @pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    def test_keys_that_expire_between_the_check_and_the_signature(  # type: ignore[no-untyped-def]
        self, s3_backend, make_bucket
    ) -> None:
        """The renewal fails inside the CRT's own callback (the keys expired just after
        the check before the request): still botocore's error, not a connection failure."""
        r = connect(make_bucket(s3_backend), "d", endpoint_url=s3_backend.endpoint_url, retry=FAST)
        assert r.crt is not None
        keys = r.crt._credentials
        calls: list[int] = []

        def expiring() -> tuple[str, str, str | None]:
            calls.append(1)
            if len(calls) % 2 == 0:  # every second read: the CRT's, after the check
                raise bexc.TokenRetrievalError(provider="sso", error_msg="the token has expired")
            return keys()

        r.crt._credentials, r.crt._refreshed = expiring, True
        with pytest.raises(errors.CredentialsError, match=r"could not be refreshed.*expired"):
            r.upload("t.txt", b"t", metadata=meta(b"t"), if_match=None)
        assert len(calls) == 2

    def test_botocore_refreshable_keys_take_the_refreshed_path(  # type: ignore[no-untyped-def]
        self, s3_backend, make_bucket, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        refreshable = RefreshableCredentials.create_from_metadata(
            {
                "access_key": TEST_ACCESS_KEY,
                "secret_key": TEST_SECRET_KEY,
                "token": None,
                "expiry_time": "2999-01-01T00:00:00Z",
            },
            refresh_using=lambda: {},
            method="test",
        )
        monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: refreshable)
        r = connect(make_bucket(s3_backend), "d", endpoint_url=s3_backend.endpoint_url)
        assert r.crt is not None and r.crt._refreshed
        r.upload("x.txt", b"x", metadata=meta(b"x"), if_match=None)
        assert r.read_bytes("x.txt") == b"x"


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


@pytest.fixture
def via_proxy(proxy: FaultProxy, bucket: str) -> S3Remote:
    r = connect(bucket, "drive", endpoint_url=proxy.endpoint_url, retry=FAST)
    assert r.crt is not None
    r.upload("a.txt", b"a" * 100, metadata=meta(b"a" * 100), if_match=None)
    return r


class TestFailures:
    @pytest.mark.parametrize("fault", [Fault.SLOW_DOWN, Fault.INTERNAL, Fault.RESET_REQUEST])
    @pytest.mark.parametrize("operation", ["GetObject", "PutObject"])
    def test_transient_failures_are_retried(
        self, proxy: FaultProxy, via_proxy: S3Remote, tmp_path: Path, fault: Fault, operation: str
    ) -> None:
        """Throttling, 5xx and dropped connections are retried by `calls` (the CRT itself
        never retries) and the transfer completes."""
        proxy.add(Rule(fault, operation=operation, times=2))
        if operation == "GetObject":
            got = via_proxy.download(entry_of(via_proxy, "a.txt"), tmp_path / "a")
            assert got.size == 100
        else:
            via_proxy.upload("b.txt", b"b", metadata=meta(b"b"), if_match=None)
        assert proxy.fired(fault) == 2

    @pytest.mark.parametrize("fault", [Fault.TRUNCATE_BODY, Fault.RESET_MID_BODY])
    def test_a_cut_body_is_retried_never_kept(
        self, proxy: FaultProxy, via_proxy: S3Remote, tmp_path: Path, fault: Fault
    ) -> None:
        proxy.add(Rule(fault, operation="GetObject", times=1))
        via_proxy.download(entry_of(via_proxy, "a.txt"), tmp_path / "a")
        assert (tmp_path / "a").read_bytes() == b"a" * 100
        assert proxy.fired(fault) == 1

    def test_expired_credentials_are_not_retried(
        self, proxy: FaultProxy, via_proxy: S3Remote, tmp_path: Path
    ) -> None:
        proxy.add(Rule(Fault.EXPIRED, operation="GetObject", times=None))
        with pytest.raises(errors.CredentialsError, match="ExpiredToken"):
            via_proxy.download(entry_of(via_proxy, "a.txt"), tmp_path / "a")
        assert proxy.fired(Fault.EXPIRED) == 1

    def test_a_lost_race_is_not_retried(self, proxy: FaultProxy, via_proxy: S3Remote) -> None:
        with pytest.raises(errors.PreconditionFailed):
            via_proxy.upload("a.txt", b"x", metadata=meta(b"x"), if_match=None)
        assert proxy.requests and not proxy.fired()

    def test_nothing_listening_is_unreachable(self, bucket: str, tmp_path: Path) -> None:
        r = connect(bucket, "d", endpoint_url="http://127.0.0.1:9", retry=FAST)
        with pytest.raises(errors.ServerUnreachable):
            r.upload("a.txt", b"a", metadata=meta(b"a"), if_match=None)

    def test_a_stopped_run_sends_nothing_more(self, proxy: FaultProxy, via_proxy: S3Remote) -> None:
        """The stop gate sees CRT transfers as it sees botocore's: a worker of a stopped
        run raises `Stopped` before its request leaves."""
        install_gate(via_proxy)
        cancel = threading.Event()
        cancel.set()
        sent = proxy.requests
        with worker_context(Batch(cancel)), pytest.raises(Stopped):
            via_proxy.upload("s.txt", b"s", metadata=meta(b"s"), if_match=None)
        assert proxy.requests == sent  # refused before it left
        assert via_proxy.latest("s.txt") is None


def test_bytes_moved_by_the_crt_are_counted(shared, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The app's progress in bytes (`on_bytes`) counts what the CRT moves, as it counts
    botocore's streams: every byte of every small file, once, up and down."""
    from tests.drivekit import write

    ann = shared.drive(tmp_path / "ann", "ann")
    bob = shared.drive(tmp_path / "bob", "bob")
    assert ann.remote.crt is not None
    files = {f"f{i}.txt": b"x" * (100 + i) for i in range(5)}
    for name, data in files.items():
        write(ann.root, name, data)
    up: dict[str, int] = {}
    ann.sync(on_bytes=lambda path, n: up.__setitem__(path, up.get(path, 0) + n))
    down: dict[str, int] = {}
    bob.sync(on_bytes=lambda path, n: down.__setitem__(path, down.get(path, 0) + n))
    expected = {name: len(data) for name, data in files.items()}
    # the run records (clouddrive's own objects under .clouddrive/) are not the user's
    # files: they are not in the progress
    assert up == expected
    assert down == expected
    ann.close()
    bob.close()
