"""A SeaweedFS server that checks keys: wrong credentials and missing permissions, for real.

`weed mini` accepts any key unless it is given identities (`-s3.config`). This one knows an
admin (the embedded dummy keys, which its readiness probe uses), a writer (read, list, write)
and a reader (read and list only); any other key is refused with InvalidAccessKeyId.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server

__all__ = ["ADMIN", "READER", "WRITER", "AuthServer", "Keys", "run_auth_seaweedfs"]


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str

    def use(self, mp: pytest.MonkeyPatch) -> None:
        """Make the standard AWS chain (environment) hand out these keys."""
        mp.setenv("AWS_ACCESS_KEY_ID", self.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", self.secret_key)


ADMIN = Keys(EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY)
WRITER = Keys("writer-key", "writer-secret")
READER = Keys("reader-key", "reader-secret")


@dataclass(frozen=True)
class AuthServer:
    endpoint_url: str
    pid: int

    def client(self, keys: Keys = ADMIN) -> Any:
        """A boto3 S3 client with the given keys (the admin's by default)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=keys.access_key,
            aws_secret_access_key=keys.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def create_bucket(self, name: str) -> str:
        """A bucket with versioning Enabled, made by the admin."""
        client = self.client()
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name


def _identity(name: str, keys: Keys, actions: list[str]) -> dict[str, object]:
    return {
        "name": name,
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": actions,
    }


def run_auth_seaweedfs(data_dir: Path) -> Iterator[AuthServer]:
    """Run the key-checking server for the generator's duration; stop it by its pid."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    _identity("admin", ADMIN, ["Admin", "Read", "List", "Tagging", "Write"]),
                    _identity("writer", WRITER, ["Read", "List", "Tagging", "Write"]),
                    _identity("reader", READER, ["Read", "List"]),
                ]
            }
        ),
        encoding="utf-8",
    )
    info = start_server(data_dir / "weed", detach=False, extra_flags=[f"-s3.config={config}"])
    try:
        yield AuthServer(info.endpoint_url, info.pid)
    finally:
        stop_server(info.pid)
