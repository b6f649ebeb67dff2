"""Real S3 servers for tests: a SeaweedFS and a moto server on loopback, plus small helpers.

The fixtures in conftest.py are thin wrappers around these; keeping the logic here keeps
conftest small and lets tests import the helpers directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import boto3
import pytest
from botocore.config import Config

from clouddrive.embedded.launch import ServerInfo, start_server
from clouddrive.embedded.ports import free_port
from clouddrive.embedded.stop import stop_server

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BACKENDS",
    "Backend",
    "HasEndpoint",
    "MotoServer",
    "create_bucket",
    "isolate_aws_env",
    "run_moto",
    "run_seaweedfs",
    "s3_client",
]

# Names of the session fixtures that provide each backend (and the test ids).
BACKENDS = ("seaweedfs", "moto")

TEST_ACCESS_KEY = "testing"
TEST_SECRET_KEY = "testing"
TEST_REGION = "us-east-1"

# AWS settings that could point a test at a real account or change how botocore behaves.
_AWS_VARS_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


class HasEndpoint(Protocol):
    """Anything with an S3 endpoint: a Backend, a ServerInfo, a MotoServer."""

    @property
    def endpoint_url(self) -> str: ...


@dataclass(frozen=True)
class Backend:
    """One S3 implementation the parametrized tests run against."""

    name: str
    endpoint_url: str


@dataclass(frozen=True)
class MotoServer:
    """A running moto server and where it answers."""

    endpoint_url: str
    server: ThreadedMotoServer


def isolate_aws_env(mp: pytest.MonkeyPatch, tmp_dir: Path) -> None:
    """Make every boto3 client in the tests use fake keys and no user AWS config.

    Config and credentials files point at paths that do not exist, so nothing from the
    developer's ~/.aws leaks in, and instance metadata is never queried.
    """
    mp.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
    mp.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    mp.setenv("AWS_CONFIG_FILE", str(tmp_dir / "no-such-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_dir / "no-such-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in _AWS_VARS_REMOVED:
        mp.delenv(name, raising=False)


def s3_client(endpoint_url: str) -> S3Client:
    """A boto3 S3 client for a test server (path-style, fake keys, few retries)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
        region_name=TEST_REGION,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def create_bucket(target: HasEndpoint | str, *, versioning: bool = True) -> str:
    """Create a uniquely named bucket (versioning Enabled unless told not to); its name."""
    endpoint_url = target if isinstance(target, str) else target.endpoint_url
    name = f"t-{uuid.uuid4().hex[:12]}"
    client = s3_client(endpoint_url)
    client.create_bucket(Bucket=name)
    if versioning:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def run_seaweedfs(data_dir: Path) -> Iterator[ServerInfo]:
    """Run a SeaweedFS server for the duration of the generator; stop it by its pid."""
    # Every bucket is a SeaweedFS collection with volumes of its own, and weed mini allows
    # only (free disk / 1 GiB) volumes by default: the suite makes more buckets than that on
    # a smaller disk. Volumes are not preallocated, so a high limit costs nothing.
    info = start_server(data_dir, detach=False, extra_flags=["-volume.max=1000"])
    try:
        yield info
    finally:
        stop_server(info.pid)


def run_moto() -> Iterator[MotoServer]:
    """Run an in-process moto server on a free loopback port for the generator's duration."""
    from moto.server import ThreadedMotoServer  # imported lazily: moto is slow to import

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield MotoServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.stop()
