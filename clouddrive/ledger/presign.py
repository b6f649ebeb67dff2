"""Presigned download links: the way a drive shares one file (or one version of it) with
someone who has no credentials.

A link is signed with SigV4, which caps its life at 7 days; links signed with temporary
credentials (an STS session, SSO, an instance role) stop working when those expire, so a
longer life than they have left is refused rather than handed out broken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.config import Config

from clouddrive import errors

__all__ = ["MAX_LINK_LIFE", "check_life", "credentials_expire", "presigned_get"]

MAX_LINK_LIFE = timedelta(days=7)  #: SigV4's limit for a presigned URL


def credentials_expire(client: Any) -> datetime | None:
    """When the credentials behind `client` expire (None: long-term keys that do not)."""
    expiry = getattr(_credentials(client), "_expiry_time", None)
    if isinstance(expiry, datetime):
        return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
    return None


def presigned_get(
    client: Any, bucket: str, key: str, *, version_id: str | None, life: timedelta
) -> str:
    """A GET URL for `key` (at `version_id`, or whatever is current when it is used)."""
    check_life(client, life)
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    url: str = _sigv4_twin(client).generate_presigned_url(
        "get_object", Params=params, ExpiresIn=int(life.total_seconds())
    )
    return url


def check_life(client: Any, life: timedelta) -> None:
    """Refuse a link life that SigV4 or the credentials behind `client` cannot give."""
    if life > MAX_LINK_LIFE:
        raise errors.UserError(
            f"a link can live at most 7 days (SigV4's limit), not {_exactly(life)}; "
            "use --expires 7d or less"
        )
    expiry = credentials_expire(client)
    if expiry is not None and datetime.now(UTC) + life > expiry:
        left = expiry - datetime.now(UTC)
        raise errors.UserError(
            f"your AWS credentials expire in {_days(left)}, and the link would stop working "
            f"then; use --expires {max(1, int(left.total_seconds() // 60))}m or less, or "
            "long-term credentials"
        )


def _credentials(client: Any) -> Any:
    return getattr(getattr(client, "_request_signer", None), "_credentials", None)


def _sigv4_twin(client: Any) -> Any:
    """A client like `client` (endpoint, region, addressing, credentials) that presigns with
    SigV4: botocore presigns S3 URLs with the legacy SigV2 unless told otherwise, and SigV2
    links neither carry a session token's limits nor work in newer regions."""
    creds = _credentials(client)
    frozen = creds.get_frozen_credentials() if creds is not None else None
    import boto3  # here, not at the top: only links need it

    return boto3.client(
        "s3",
        endpoint_url=client.meta.endpoint_url,
        region_name=client.meta.region_name,
        config=client.meta.config.merge(Config(signature_version="s3v4")),
        aws_access_key_id=frozen.access_key if frozen else None,
        aws_secret_access_key=frozen.secret_key if frozen else None,
        aws_session_token=frozen.token if frozen else None,
    )


def _exactly(span: timedelta) -> str:
    """A link life as asked, to the second: `7 days 0:00:01`, never rounded to `7.0 days`."""
    return str(span).replace(" days, ", " days ").replace(" day, ", " day ")


def _days(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{max(0, seconds) // 60} minutes"
