"""Progress in bytes: object bodies counted as they stream, through botocore's events on
the drive's client, with no change to the transfers themselves (the app's progress bar);
small bodies the CRT moves are announced on the same events (`CRT_MOVED`), whole."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from clouddrive.core.paths import UnsafeKey, is_internal, key_to_path
from clouddrive.ledger.base import RemoteBase
from clouddrive.ledger.crt import CRT_MOVED

__all__ = ["counting_bytes"]


@contextlib.contextmanager
def counting_bytes(
    remote: RemoteBase, prefix: str, on_bytes: Callable[[str, int], None] | None
) -> Iterator[None]:
    """Tell `on_bytes` of object bodies as they stream, through botocore's events on the
    drive's client (no change to the transfers themselves): a GetObject's body as it is
    read, a PutObject's or UploadPart's body as it is sent (after signing and checksums
    have read it, so each byte counts once per attempt)."""
    if on_bytes is None:
        yield
        return
    events = remote.client.meta.events

    def counted(path: str, body: Any) -> Any:
        return _CountingBody(body, lambda n: on_bytes(path, n))

    def named(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        path = _drive_path(params.get("Key"), prefix)
        if path is not None:
            context["clouddrive_path"] = path

    def received(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        path = context.get("clouddrive_path")
        if path and "Body" in parsed:
            parsed["Body"] = counted(path, parsed["Body"])

    def sending(request: Any, **_: Any) -> None:
        path = request.context.get("clouddrive_path")
        if not path:
            return
        if hasattr(request.body, "read"):
            request.body = counted(path, request.body)
        elif isinstance(request.body, bytes | bytearray):
            request.context["clouddrive_sent"] = len(request.body)

    def sent(context: dict[str, Any], **_: Any) -> None:
        path, size = context.get("clouddrive_path"), context.pop("clouddrive_sent", 0)
        if path and size:  # an in-memory body goes in one piece: count it when it is in
            on_bytes(path, size)

    def moved_by_crt(key: str, size: int, **_: Any) -> None:
        path = _drive_path(key, prefix)
        if path is not None:
            on_bytes(path, size)  # the CRT hands over a whole small body

    uploads = ("PutObject", "UploadPart")
    hooks: list[tuple[str, Callable[..., None]]] = [
        *((f"before-parameter-build.s3.{op}", named) for op in ("GetObject", *uploads)),
        ("after-call.s3.GetObject", received),
        *((f"before-send.s3.{op}", sending) for op in uploads),
        *((f"after-call.s3.{op}", sent) for op in uploads),
        (CRT_MOVED, moved_by_crt),
    ]
    for event, handler in hooks:
        events.register(event, handler, unique_id=f"clouddrive-bytes-{id(on_bytes)}-{event}")
    try:
        yield
    finally:
        for event, _handler in hooks:
            events.unregister(event, unique_id=f"clouddrive-bytes-{id(on_bytes)}-{event}")


def _drive_path(key: object, prefix: str) -> str | None:
    """The drive path whose bytes a request moves; None for clouddrive's own objects (run
    records under `.clouddrive/`: not the user's files, not in a transfer's progress)."""
    if not isinstance(key, str):
        return None
    try:
        path = key_to_path(key, prefix)
    except UnsafeKey:
        return None
    return None if is_internal(path) else path


class _CountingBody:
    """A body (file-like) that tells `moved(n)` of each byte read past the furthest point
    reached so far: a rewind for a retry does not count the same bytes twice."""

    def __init__(self, body: Any, moved: Callable[[int], None]) -> None:
        self._body = body
        self._moved = moved
        self._pos = 0
        self._furthest = 0

    def read(self, *args: Any, **kwargs: Any) -> Any:
        chunk = self._body.read(*args, **kwargs)
        self._pos += len(chunk)
        if self._pos > self._furthest:
            self._moved(self._pos - self._furthest)
            self._furthest = self._pos
        return chunk

    def seek(self, offset: int, whence: int = 0) -> Any:
        result = self._body.seek(offset, whence)
        self._pos = self._body.tell()
        return result

    def __iter__(self) -> Iterator[Any]:
        return iter(self._body)

    def __len__(self) -> int:
        return len(self._body)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)
