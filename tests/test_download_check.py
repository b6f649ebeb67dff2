"""A download's bytes are checked as they come (`ledger.bodies.BodyCheck`): size and sha256 (or a
plain ETag's MD5). Large bodies are hashed on a thread beside the reading and writing; the
verdict must be the same either way, and no hashing thread outlives its download."""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.base import META_SHA256
from clouddrive.ledger.bodies import BodyCheck, read_back

BODY = [os.urandom(1 << 20) for _ in range(20)] + [b"tail"]
SIZE = sum(len(c) for c in BODY)
SHA = hashlib.sha256(b"".join(BODY)).hexdigest()
MD5 = hashlib.md5(b"".join(BODY), usedforsecurity=False).hexdigest()


def entry(size: int = SIZE) -> RemoteEntry:
    return RemoteEntry("big.bin", "p/big.bin", "v1", False, datetime.now(UTC), None, size)


def hashers() -> int:
    return sum(t.name == "cd-hash" for t in threading.enumerate())


@pytest.mark.parametrize("beside", [False, True])
class TestTheVerdictIsTheSameBesideOrNot:
    def test_the_right_bytes_pass_by_sha256_or_md5(self, beside: bool) -> None:
        for metadata, etag in (({META_SHA256: SHA}, "x"), ({}, f'"{MD5}"')):
            check = BodyCheck("downloading big.bin", entry(), metadata, etag, beside=beside)
            for chunk in BODY:
                check.update(chunk)
            result = check.result(SIZE)
            assert (result.size, result.sha256) == (SIZE, SHA)
        assert hashers() == 0

    def test_one_changed_byte_is_caught(self, beside: bool) -> None:
        check = BodyCheck("downloading big.bin", entry(), {META_SHA256: SHA}, "x", beside=beside)
        for chunk in [*BODY[:-1], b"tai!"]:
            check.update(chunk)
        with pytest.raises(errors.TransientRemoteError, match="does not match its hash"):
            check.result(SIZE)

    def test_a_cut_body_is_caught(self, beside: bool) -> None:
        check = BodyCheck("downloading big.bin", entry(), {META_SHA256: SHA}, "x", beside=beside)
        for chunk in BODY[:-1]:
            check.update(chunk)
        with pytest.raises(errors.TransientRemoteError, match="truncated body"):
            check.result(SIZE)


def test_a_failed_download_ends_its_hashing_thread() -> None:
    """A download that fails mid-way (it never asks for a result) closes the check."""
    check = BodyCheck("downloading big.bin", entry(), {META_SHA256: SHA}, "x", beside=True)
    assert hashers() == 1
    check.update(BODY[0])
    check.close()
    check.close()  # twice is harmless (the download's `finally`, then a result)
    assert hashers() == 0


@pytest.mark.parametrize("expected", [0, 1, 4095, 4096, 4097, 3 << 20])
@pytest.mark.parametrize("actual", [0, 4096, (2 << 20) + 5])
def test_a_small_download_is_read_back_whole_whatever_its_expected_size(
    tmp_path: Path, expected: int, actual: int
) -> None:
    """The read back of a file the CRT wrote returns every byte in the file, so a file
    longer (or shorter) than S3 said is caught by the size check, not cut to fit."""
    data = os.urandom(actual)
    path = tmp_path / "got.part"
    path.write_bytes(data)
    assert b"".join(read_back(path, expected)) == data
