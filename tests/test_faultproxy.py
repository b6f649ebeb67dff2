"""The fault proxy itself: each fault reaches the client at once, as the error it stands for."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ResponseStreamingError

from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.servers import create_bucket


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


@pytest.fixture
def client(proxy: FaultProxy):  # type: ignore[no-untyped-def]
    """A client with no retries of its own and a long read timeout: a hang would show."""
    return boto3.client(
        "s3",
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )


@pytest.fixture
def bucket_with_object(seaweedfs) -> str:  # type: ignore[no-untyped-def]
    bucket = create_bucket(seaweedfs)
    boto3.client("s3", endpoint_url=seaweedfs.endpoint_url, region_name="us-east-1").put_object(
        Bucket=bucket, Key="obj", Body=b"0123456789" * 1000
    )
    return bucket


class TestFaultsArePrompt:
    @pytest.mark.parametrize(
        ("fault", "status"),
        [(Fault.SLOW_DOWN, 503), (Fault.INTERNAL, 500), (Fault.EXPIRED, 403)],
    )
    def test_error_answers(self, proxy, client, bucket_with_object, fault, status) -> None:
        """Injected statuses arrive as S3 errors; the server never sees the request."""
        proxy.add(Rule(fault, operation="GetObject"))
        with pytest.raises(ClientError) as caught:
            client.get_object(Bucket=bucket_with_object, Key="obj")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert client.get_object(Bucket=bucket_with_object, Key="obj")["ContentLength"] == 10000

    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            (Fault.RESET_REQUEST, ConnectionClosedError),
            (Fault.RESET_AFTER_FORWARD, ConnectionClosedError),
        ],
    )
    def test_resets_are_immediate(self, proxy, client, bucket_with_object, fault, error) -> None:
        """A reset is seen at once (not after a read timeout)."""
        proxy.add(Rule(fault, operation="PutObject"))
        started = time.monotonic()
        with pytest.raises(error):
            client.put_object(Bucket=bucket_with_object, Key="new", Body=b"x")
        assert time.monotonic() - started < 5

    @pytest.mark.parametrize("fault", [Fault.TRUNCATE_BODY, Fault.RESET_MID_BODY])
    def test_cut_bodies(self, proxy, client, bucket_with_object, fault) -> None:
        """A body cut short fails the read at once, never passes as complete."""
        proxy.add(Rule(fault, operation="GetObject"))
        started = time.monotonic()
        with pytest.raises((ResponseStreamingError, ConnectionClosedError)):
            client.get_object(Bucket=bucket_with_object, Key="obj")["Body"].read()
        assert time.monotonic() - started < 5

    def test_lost_answer_still_stored(self, proxy, client, seaweedfs, bucket_with_object) -> None:
        """After RESET_AFTER_FORWARD the server has done the write."""
        proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="PutObject"))
        with pytest.raises(ConnectionClosedError):
            client.put_object(Bucket=bucket_with_object, Key="stored", Body=b"kept")
        direct = boto3.client("s3", endpoint_url=seaweedfs.endpoint_url, region_name="us-east-1")
        assert direct.get_object(Bucket=bucket_with_object, Key="stored")["Body"].read() == b"kept"
