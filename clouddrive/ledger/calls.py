"""Every S3 call goes through here: the one S3 error-code mapping, translation, retries.

botocore errors become `clouddrive.errors` here (and nowhere else), keeping `__cause__`.
Retryable failures (throttling, 5xx, dropped connections, truncated bodies) are retried
with tenacity and nowhere else; a server that refuses connections is retried once, quickly.
Local `OSError`s (a full disk, a permission) are local errors: never "S3 failed", never
retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import botocore.exceptions as bexc
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from clouddrive import errors

__all__ = [
    "RetryPolicy",
    "call",
    "error_code",
    "translate",
]

T = TypeVar("T")

_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
#: A request signed with a clock too far from the server's: retrying re-signs with the same
#: wrong clock, so these are never transient.
_SKEW_CODES = {"RequestTimeTooSkewed", "RequestExpired", "RequestTimeTooSkewedException"}
_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    bexc.EndpointConnectionError,
    bexc.ConnectionClosedError,
    bexc.ReadTimeoutError,
    bexc.ConnectTimeoutError,
    bexc.ResponseStreamingError,
    bexc.IncompleteReadError,
    bexc.HTTPClientError,
)
#: Raw socket-level failures that reach us unwrapped (a body read cut short, say).
_SOCKET_ERRORS: tuple[type[OSError], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    ssl.SSLError,
)


def error_code(exc: BaseException | None) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else).

    The only place that digs the code out of a response: everything else asks this.
    """
    if isinstance(exc, bexc.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _skew_message(exc: bexc.ClientError, what: str) -> str:
    """How far off this machine's clock is, as far as the response tells."""
    err: dict[str, Any] = dict(exc.response.get("Error", {}))
    skew: float | None = None
    try:
        server = datetime.fromisoformat(str(err["ServerTime"]).replace("Z", "+00:00"))
        request = datetime.fromisoformat(str(err["RequestTime"]).replace("Z", "+00:00"))
        skew = (request - server).total_seconds()
    except (KeyError, ValueError):
        raw = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if raw:
            try:
                server = parsedate_to_datetime(str(raw)).astimezone(UTC)
                skew = (datetime.now(UTC) - server).total_seconds()
            except (TypeError, ValueError):
                skew = None
    off = (
        f" (this machine is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server)"
        if skew is not None
        else ""
    )
    return (
        f"S3 refused {what}: this machine's clock is wrong{off}; sync the clock "
        "(enable NTP, e.g. 'timedatectl set-ntp true') and run again"
    )


#: botocore's failures to renew expiring credentials
_REFRESH_ERRORS = (
    bexc.CredentialRetrievalError,
    bexc.TokenRetrievalError,
    bexc.SSOError,
    bexc.RefreshWithMFAUnsupportedError,
)


def translate(exc: BaseException, *, bucket: str, what: str) -> errors.CloudDriveError:
    """A botocore, network or local failure as a clouddrive error with one clear line."""
    if isinstance(exc, errors.CloudDriveError):
        return exc
    if isinstance(exc, bexc.NoCredentialsError | bexc.PartialCredentialsError):
        return errors.CredentialsError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or choose a profile with --profile"
        )
    if isinstance(exc, _REFRESH_ERRORS):
        # the keys expired and could not be renewed (an SSO session, an assumed role):
        # retrying will not help, and the run ends with botocore's own advice
        return errors.CredentialsError(f"AWS credentials could not be refreshed: {exc}")
    if isinstance(exc, bexc.ProfileNotFound):
        return errors.CredentialsError(f"AWS profile not found: {exc.kwargs.get('profile')}")
    if isinstance(exc, bexc.ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "NoSuchBucket":
            return errors.BucketNotFound(f"bucket '{bucket}' does not exist")
        if code in _SKEW_CODES:
            return errors.ClockSkewed(_skew_message(exc, what))
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (412, 409):
            return errors.PreconditionFailed(f"{what}: another writer changed it first")
        if code in _CREDENTIAL_CODES:
            return errors.CredentialsError(f"S3 rejected the credentials ({code}) during {what}")
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return errors.AccessDenied(f"access denied to bucket '{bucket}' during {what}")
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return errors.TransientRemoteError(f"S3 is unavailable during {what}: {code or status}")
        return errors.RemoteError(f"S3 refused {what}: {code}: {message}")
    if isinstance(exc, bexc.EndpointConnectionError):
        return errors.ServerUnreachable(f"cannot reach S3 during {what}: {exc}")
    if isinstance(exc, _NETWORK_ERRORS):
        return errors.TransientRemoteError(f"connection to S3 failed during {what}: {exc}")
    if isinstance(exc, bexc.BotoCoreError):
        return errors.RemoteError(f"S3 client error during {what}: {exc}")
    if isinstance(exc, _SOCKET_ERRORS):
        return errors.TransientRemoteError(f"connection to S3 failed during {what}: {exc}")
    if isinstance(exc, OSError):
        return errors.local_error(exc, what)
    raise exc


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a retryable failure; one instance per remote."""

    attempts: int = 6
    initial: float = 0.2
    maximum: float = 8.0
    #: attempts for an endpoint that refuses connections: fail fast, it will not come back
    #: within a backoff
    unreachable_attempts: int = 2


def _stop(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    """Stop after `attempts`, or after `unreachable_attempts` when nothing answers."""
    by_count = stop_after_attempt(policy.attempts)

    def stop(state: RetryCallState) -> bool:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, errors.ServerUnreachable):
            return state.attempt_number >= policy.unreachable_attempts
        return bool(by_count(state))

    return stop


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential(multiplier=policy.initial, max=policy.maximum) + wait_random(
        0, policy.initial
    )

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, errors.ServerUnreachable):
            return policy.initial  # one quick retry, no long backoff
        return float(backoff(state))

    return wait


def call(what: str, fn: Callable[[], T], *, bucket: str, policy: RetryPolicy) -> T:
    """Run `fn`, translating errors; retry the retryable ones with backoff."""

    def attempt() -> T:
        try:
            return fn()
        except Exception as exc:
            translated = translate(exc, bucket=bucket, what=what)
            if translated is exc:
                raise
            raise translated from exc

    # The first attempt runs bare: tenacity's bookkeeping costs about 0.1 ms of Python a
    # call, which thousands of small transfers pay on one GIL. Only a retryable failure
    # enters the retry loop, which replays that failure as its attempt 1, so counting,
    # backoff and the final error are exactly those of a loop that had run from the start.
    try:
        return attempt()
    except errors.TransientRemoteError as exc:
        first: list[BaseException] = [exc]

    def replayed_then_attempt() -> T:
        if first:
            raise first.pop()
        return attempt()

    retrying = Retrying(
        retry=retry_if_exception_type(errors.TransientRemoteError),
        stop=_stop(policy),
        wait=_wait(policy),
        reraise=True,
    )
    return retrying(replayed_then_attempt)
