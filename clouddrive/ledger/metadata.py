"""Object metadata that is not ASCII (a user named Zoë, a conflict copy of `Übersicht.md`).

S3 metadata travels in HTTP headers, so botocore refuses any value that is not ASCII, and
before this every upload by a user with such a name failed. S3's own rule is RFC 2047: a
value sent as `=?UTF-8?B?<base64>?=` is stored decoded and handed back encoded the same way.
Every metadata value clouddrive writes goes through `encode_value` and every one it reads
through `decode_value`, in one place: hooks on the client (`register_metadata_codec`) for
botocore's calls, and `crt.py` for the CRT's, so the rest of the code sees plain strings.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["decode_metadata", "decode_value", "encode_metadata", "encode_value"]

_ENCODED = re.compile(r"=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=", re.IGNORECASE)

#: the calls that write metadata, and the ones whose answers carry it
_WRITES = ("PutObject", "CreateMultipartUpload", "CopyObject")
_READS = ("HeadObject", "GetObject")


def encode_value(value: str) -> str:
    """A metadata value as it may travel: ASCII as it is, anything else (and anything that
    would read as encoded) as one RFC 2047 encoded word."""
    if value.isascii() and not value.startswith("=?"):
        return value
    return f"=?UTF-8?B?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def decode_value(value: str) -> str:
    """The value `encode_value` was given (values written by other tools pass unchanged,
    unless they are a valid encoded word, which S3 itself would have decoded too)."""
    match = _ENCODED.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value


def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    return {name: encode_value(value) for name, value in metadata.items()}


def decode_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    return {str(name): decode_value(str(value)) for name, value in metadata.items()}


def _encode_params(params: dict[str, Any], **_: Any) -> None:
    if isinstance(params.get("Metadata"), dict):
        params["Metadata"] = encode_metadata(params["Metadata"])


def _decode_answer(parsed: dict[str, Any], **_: Any) -> None:
    if isinstance(parsed.get("Metadata"), dict):
        parsed["Metadata"] = decode_metadata(parsed["Metadata"])


def register_metadata_codec(client: Any) -> None:
    """Encode metadata on every write and decode it on every read this client makes."""
    events = client.meta.events
    for operation in _WRITES:
        # first: before botocore's own check that refuses values that are not ASCII
        events.register_first(
            f"before-parameter-build.s3.{operation}",
            _encode_params,
            unique_id=f"clouddrive-meta-encode-{operation}",
        )
    for operation in _READS:
        events.register(
            f"after-call.s3.{operation}",
            _decode_answer,
            unique_id=f"clouddrive-meta-decode-{operation}",
        )
