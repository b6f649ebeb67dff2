"""The names that say where a drive's data lives on S3 (a bucket, its key prefix, an endpoint
URL, a region) and whose it is (the user name every change carries), checked before anything
is asked of S3.

botocore refuses a malformed one only when a client is made or a call is sent, as a
`ValueError` (an internal error to users) or as a parameter error that quotes its regular
expression. Checked here, a drive's settings, a command's flags and the Python API all refuse
it in one clear line instead. The checks take what botocore takes (and S3-compatible servers
with it: an upper-case bucket, say), no more and no less, so nothing that works is refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from clouddrive.core.paths import INTERNAL_DIR, S3SYNCHRONY_DIR, normalize_prefix, unsafe_reason

__all__ = [
    "BUCKET",
    "BUCKET_EXPECTED",
    "ENDPOINT",
    "ENDPOINT_EXPECTED",
    "MAX_PREFIX_BYTES",
    "PREFIX",
    "PREFIX_EXPECTED",
    "PROFILE",
    "PROFILE_EXPECTED",
    "REGION",
    "REGION_EXPECTED",
    "USER",
    "USER_EXPECTED",
    "NameRule",
    "is_bucket_name",
    "is_endpoint_url",
    "is_prefix",
    "is_profile_name",
    "is_region_name",
    "is_user_name",
    "prefix_problem",
]

BUCKET_EXPECTED = "a bucket name: letters, digits, dots, hyphens and underscores (e.g. team-files)"
ENDPOINT_EXPECTED = (
    'a URL starting with http:// or https:// and a host (e.g. "https://s3.example.com")'
)
REGION_EXPECTED = "an AWS region name: letters, digits and inner hyphens (e.g. eu-west-1)"
#: S3 keys hold 1,024 bytes; the drive's own paths need the rest
MAX_PREFIX_BYTES = 512
PREFIX_EXPECTED = (
    f"a key prefix: folder names separated by /, none of them empty, blank, '.', '..', "
    f"{INTERNAL_DIR} or {S3SYNCHRONY_DIR}, without control characters, at most "
    f"{MAX_PREFIX_BYTES} bytes (e.g. team/docs)"
)
PROFILE_EXPECTED = "an AWS profile name, not blank and without control characters"
USER_EXPECTED = "your name, not blank and without control characters (tabs, newlines, escapes)"

#: botocore's own rules: a bucket name, or an access point's ARN
_BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}|arn:\S+")
_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
#: one label of a host name (RFC 1123): letters, digits and inner hyphens
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")


def is_bucket_name(value: str) -> bool:
    return _BUCKET.fullmatch(value) is not None


def is_region_name(value: str) -> bool:
    return _REGION.fullmatch(value) is not None


def is_endpoint_url(value: str) -> bool:
    """`http://` or `https://`, a host (a name, or an IP address), maybe a port and a path."""
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is no number, or out of range, raises
    except ValueError:
        return False
    host = parts.hostname
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return len(host) <= 255 and _HOST_NAME.fullmatch(host) is not None
    return True


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` (normalised: no / at either end) cannot be a drive's; None if it can.
    Its folders follow the rules of the drive's own paths (`unsafe_reason`): a prefix
    `a/../b` is refused by S3 itself, and ` ` or `x/.clouddrive` make a drive nobody can
    tell apart from another's records."""
    if not prefix:
        return None  # the bucket's root
    if len(prefix.encode("utf-8", "surrogatepass")) > MAX_PREFIX_BYTES:
        return f"longer than {MAX_PREFIX_BYTES} bytes"
    for segment in prefix.split("/"):
        if segment and not segment.strip():
            return "a blank folder name"
        if segment in (INTERNAL_DIR, S3SYNCHRONY_DIR):
            return f"{segment} is clouddrive's own"
    return unsafe_reason(prefix)


def is_prefix(value: str) -> bool:
    return prefix_problem(normalize_prefix(value)) is None


def is_user_name(value: str) -> bool:
    """A name every change carries (S3 metadata, run records, conflict copies' names): a
    control character in it makes every upload's header invalid."""
    return bool(value.strip()) and value.isprintable()


def is_profile_name(value: str) -> bool:
    """A section of the AWS configuration's files: the same rule as a user name's."""
    return is_user_name(value)


@dataclass(frozen=True)
class NameRule:
    """What one kind of name accepts, and the words that say so in an error: the drive's
    settings, the flags and `connect` each check a name with the same rule."""

    accepts: Callable[[str], bool]
    expected: str


BUCKET = NameRule(is_bucket_name, BUCKET_EXPECTED)
ENDPOINT = NameRule(is_endpoint_url, ENDPOINT_EXPECTED)
PREFIX = NameRule(is_prefix, PREFIX_EXPECTED)
PROFILE = NameRule(is_profile_name, PROFILE_EXPECTED)
REGION = NameRule(is_region_name, REGION_EXPECTED)
USER = NameRule(is_user_name, USER_EXPECTED)
