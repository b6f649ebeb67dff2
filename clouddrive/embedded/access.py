"""Reaching the embedded server over S3: its bucket, its fixed keys, a client, its readiness.

With no identities configured the server accepts any key, so clients use the fixed dummy
keys below; they are never real secrets, and `clouddrive server status` prints them so tools
outside a drive (the AWS CLI, `clouddrive lifecycle --bucket`) can use the server too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from clouddrive.errors import EmbeddedServerError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_BUCKET",
    "EMBEDDED_ACCESS_KEY",
    "EMBEDDED_REGION",
    "EMBEDDED_SECRET_KEY",
    "ensure_bucket",
    "s3_answers",
    "s3_client",
]

DEFAULT_BUCKET = "clouddrive"
# Dummy keys: the embedded server has no identities and accepts any key. Never a real secret.
EMBEDDED_ACCESS_KEY = "clouddrive-local"
EMBEDDED_SECRET_KEY = "clouddrive-local"
EMBEDDED_REGION = "us-east-1"

# botocore settings that would otherwise come from the user's AWS config: the local server
# must not depend on AWS_PROFILE (a missing profile raises ProfileNotFound) or ~/.aws/config
# (accelerate / dual-stack / custom endpoints there would break a loopback endpoint).
_ISOLATED_SESSION_VARS: dict[str, tuple[Any, Any, Any, Any]] = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}


def s3_client(endpoint_url: str, *, quick: bool = False) -> S3Client:
    """A boto3 S3 client for the embedded server, independent of the user's AWS config.

    `quick` is for liveness polling: one attempt and short timeouts, so startup checks never
    hang in botocore's retry back-off.
    """
    import boto3.session  # here, not at the top: a sync on AWS never pays its import

    session = boto3.session.Session(
        botocore_session=botocore.session.Session(session_vars=_ISOLATED_SESSION_VARS)
    )
    config = Config(
        connect_timeout=1 if quick else 5,
        read_timeout=3 if quick else 30,
        retries={"total_max_attempts": 1 if quick else 4, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=EMBEDDED_ACCESS_KEY,
        aws_secret_access_key=EMBEDDED_SECRET_KEY,
        region_name=EMBEDDED_REGION,
        config=config,
    )


def s3_answers(endpoint_url: str) -> bool:
    """One quick S3 call: no retries, short timeouts, so a dead server is noticed fast."""
    try:
        s3_client(endpoint_url, quick=True).list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


def ensure_bucket(endpoint_url: str, bucket: str) -> None:
    """Create `bucket` if it is missing and make sure its versioning is Enabled.

    clouddrive relies on versioning as its ledger (deletes become delete markers), so a
    bucket without it is never handed out.
    """
    client = s3_client(endpoint_url)
    try:
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
        if status != "Enabled":
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
    except (BotoCoreError, ClientError) as exc:
        raise EmbeddedServerError(
            f"could not prepare bucket {bucket!r} on the embedded server at {endpoint_url}: {exc}"
        ) from exc
