"""Retries live in the remote layer: bounded, only for retryable failures (faults via hooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from clouddrive import errors
from clouddrive.ledger import META_SHA256, RetryPolicy, S3Remote, connect

QUICK = RetryPolicy(attempts=4, initial=0.01, maximum=0.02)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(status: int, code: str) -> Callable[..., AWSResponse]:
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return lambda request: AWSResponse(request.url, status, {}, _Raw(body))


class Faults:
    """Answer the next `count` requests of one operation with an injected error."""

    def __init__(
        self, remote: S3Remote, operation: str, make: Callable[..., AWSResponse], count: int
    ):
        self.calls = 0
        self.count = count
        self.make = make
        # botocore's hook sees botocore's requests only: small transfers go through it too
        remote.crt = None
        remote.client.meta.events.register(f"before-send.s3.{operation}", self.hook)

    def hook(self, request: Any, **_: Any) -> AWSResponse | None:
        self.calls += 1
        if self.calls <= self.count:
            return self.make(request)
        return None


@pytest.fixture
def remote(seaweedfs, bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    r = connect(bucket, "p", endpoint_url=seaweedfs.endpoint_url, retry=QUICK)
    r.upload("a.txt", b"a", metadata={META_SHA256: "x"}, if_match=None)
    return r


class TestRetries:
    @pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
    def test_transient_errors_are_retried_then_succeed(self, remote, status, code) -> None:
        """Throttling and 5xx are retried with backoff and the call finishes."""
        faults = Faults(remote, "ListObjectVersions", error_response(status, code), count=2)
        assert set(remote.list_latest().entries) == {"a.txt"}
        assert faults.calls == 3

    def test_a_listing_that_keeps_failing_stops_the_run(self, remote) -> None:
        """After the bounded attempts a listing failure is ListingFailed: nothing planned."""
        faults = Faults(remote, "ListObjectVersions", error_response(503, "SlowDown"), count=99)
        with pytest.raises(errors.ListingFailed, match="nothing was changed"):
            remote.list_latest()
        assert faults.calls == QUICK.attempts

    def test_access_denied_is_not_retried(self, remote) -> None:
        """A permission error fails at once with a clear message."""
        faults = Faults(remote, "ListObjectVersions", error_response(403, "AccessDenied"), count=99)
        with pytest.raises(errors.AccessDenied, match="access denied"):
            remote.list_latest()
        assert faults.calls == 1

    def test_lost_race_is_not_retried(self, remote) -> None:
        """A 412 is a lost race for the engine to re-plan, never a blind retry."""
        faults = Faults(remote, "PutObject", error_response(412, "PreconditionFailed"), count=99)
        with pytest.raises(errors.PreconditionFailed):
            remote.upload("b.txt", b"b", metadata={}, if_match=None)
        assert faults.calls == 1

    def test_dropped_connections_are_retried(self, remote) -> None:
        """A connection reset mid-request counts as transient."""
        from botocore.exceptions import ConnectionClosedError

        calls = {"n": 0}

        def reset(request: Any, **_: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionClosedError(endpoint_url=request.url)

        remote.client.meta.events.register("before-send.s3.GetBucketVersioning", reset)
        assert remote.versioning_status() == "Enabled"
        assert calls["n"] == 2
