"""Connecting to S3: credentials from the standard AWS chain, one client per drive, and one
botocore data loader shared by every client of the process."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import botocore.exceptions as bexc
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from clouddrive import errors
from clouddrive.core.s3names import BUCKET, ENDPOINT, PREFIX, REGION
from clouddrive.ledger.calls import RetryPolicy, translate
from clouddrive.ledger.crt import crt_transfers
from clouddrive.ledger.pages import timestamp
from clouddrive.ledger.remote import S3Remote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["CredentialSource", "connect", "credential_source"]


@dataclass(frozen=True)
class CredentialSource:
    """Where the standard AWS chain found credentials, in botocore's words (`method`:
    env, shared-credentials-file, config-file, iam-role, container-role, sso, ...)."""

    method: str
    access_key: str


def credential_source(profile: str | None = None) -> CredentialSource | None:
    """Which credentials the AWS chain would use (None: none found). Asks nothing of S3."""
    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
        if credentials is None:
            return None
        frozen = credentials.get_frozen_credentials()
    except Exception as exc:
        translated = translate(exc, bucket="", what="looking for AWS credentials")
        raise translated from exc
    return CredentialSource(str(credentials.method or "unknown"), str(frozen.access_key or ""))


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for every client this process makes: the S3 service model
    is parsed once (about half of what making a client costs), not per drive."""
    return botocore.loaders.create_loader()


def _from_aws_configuration(exc: ValueError) -> errors.CloudDriveError:
    """botocore refused a region or an endpoint URL. The drive's own were checked before;
    these came from the AWS configuration (the environment, or the profile)."""
    region = isinstance(exc, bexc.InvalidRegionError)
    rule = REGION if region else ENDPOINT
    where = (
        "AWS_REGION, AWS_DEFAULT_REGION or the profile's region"
        if region
        else "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3 or the profile's endpoint_url"
    )
    return errors.UserError(
        f"the AWS configuration is invalid ({exc}): set {where} to {rule.expected}, or unset it"
    )


#: hosts of AWS itself: botocore carries every transfer there (`ledger/crt.py`)
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


def _configured_endpoint(client: Any) -> str | None:
    """The endpoint the AWS configuration chose without an explicit one in the drive
    (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, a profile's `endpoint_url`), unless it is
    AWS itself: the CRT then carries small transfers there as for an explicit endpoint."""
    url = str(client.meta.endpoint_url or "")
    host = urlsplit(url).hostname or ""
    if not host or host.endswith(_AWS_DOMAINS):
        return None
    return url


def connect(
    bucket: str,
    prefix: str,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    max_connections: int = 16,
    retry: RetryPolicy | None = None,
) -> S3Remote:
    """An S3Remote with credentials from the standard AWS chain (or explicit embedded keys).

    botocore's own retries are switched off so that retrying lives in one place. Checksums
    are sent and checked only where S3 requires them: every upload carries its sha256 in
    the metadata and every download is hashed and checked against it (or the MD5 ETag), so
    a CRC32 over each body again would only cost time.
    """
    for name, value, rule in (
        ("bucket name", bucket, BUCKET),
        ("key prefix", prefix, PREFIX),
        ("endpoint URL", endpoint_url, ENDPOINT),
        ("AWS region", region, REGION),
    ):
        if value is not None and not rule.accepts(value):
            raise errors.UserError(f"{name} {value!r} is invalid: expected {rule.expected}")
    try:
        # botocore directly: boto3 adds nothing a client needs here, and costs an import
        session = botocore.session.Session(profile=profile)
        session.register_component("data_loader", _shared_loader())
        parsers = session.get_component("response_parser_factory")
        parsers.set_parser_defaults(timestamp_parser=timestamp)
        if access_key or secret_key:
            keys: Any = (access_key, secret_key)  # botocore refuses a half pair itself
            session.set_credentials(*keys)
        if region:
            session.set_config_variable("region", region)
        credentials = session.get_credentials()
        if credentials is None:
            raise bexc.NoCredentialsError()
        config = Config(
            max_pool_connections=max_connections,
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            # every call is typed (mypy --strict); checking each one again costs CPU
            parameter_validation=False,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            read_timeout=60,
            s3={
                **({"addressing_style": "path"} if endpoint_url else {}),
                # no sha256 of every body for the signature (botocore signs them over plain
                # http, and over https without an MD5): 0.4 s of CPU per 512 MiB, on the
                # cores the server needs too. The CRT's transfers never sign bodies either;
                # what guards the content is the sha256 in the metadata, checked by every
                # download, and on https TLS.
                "payload_signing_enabled": False,
            },
        )
        region_name = region or session.get_config_variable("region") or "us-east-1"
        try:
            client = session.create_client(
                "s3", endpoint_url=endpoint_url, config=config, region_name=region_name
            )
        except ValueError as exc:
            raise _from_aws_configuration(exc) from exc

        def current_keys() -> tuple[str, str, str | None]:
            # botocore's own credentials object: refreshed (SSO, roles) as botocore would
            frozen = credentials.get_frozen_credentials()
            return str(frozen.access_key), str(frozen.secret_key), frozen.token

        crt = crt_transfers(
            endpoint_url or _configured_endpoint(client),
            region_name,
            current_keys,
            refreshed=isinstance(credentials, RefreshableCredentials),
        )
    except Exception as exc:
        translated = translate(exc, bucket=bucket, what="connecting to S3")
        raise translated from exc
    remote = S3Remote(cast("S3Client", client), bucket, prefix, retry=retry)
    remote.crt = crt
    return remote
