"""Objects written by other tools are compared by content (issue 9 item 12), on SeaweedFS.

`aws s3 cp` uploads big files in parts with no clouddrive metadata: the ETag is
"<md5 of the parts' md5s>-<parts>". A drive holding the same bytes must adopt such an object
(no conflict copy, nothing uploaded), and different bytes must still be a conflict.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSResponse

from clouddrive.core.models import ActionKind
from clouddrive.ledger import S3Remote, multipart_etag
from tests.drivekit import Shared, conflict_copies, count_requests, tree, write
from tests.test_retry import _Raw

PART = 5 * 1024 * 1024
BIG = os.urandom(2 * PART + 12345)  #: three parts, the last one short


def upload_like_aws_cli(shared: Shared, path: str, data: bytes, tmp_path: Path) -> str:
    """A multipart upload by boto3's transfer manager, without any metadata; its ETag."""
    source = tmp_path / "outside-tool-source"
    source.write_bytes(data)
    client = shared.client()
    key = f"{shared.prefix}/{path}"
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    client.upload_file(str(source), shared.bucket, key, Config=config)
    head = client.head_object(Bucket=shared.bucket, Key=key)
    assert not head.get("Metadata")
    return str(head["ETag"]).strip('"')


def count(remote: S3Remote, operation: str) -> dict[str, int]:
    return count_requests(remote, operation)


def test_the_etag_is_recomputed_locally(shared: Shared, tmp_path: Path) -> None:
    etag = upload_like_aws_cli(shared, "big.bin", BIG, tmp_path)
    assert etag.endswith("-3")
    local = tmp_path / "mine"
    local.write_bytes(BIG)
    assert multipart_etag(local, PART) == etag


def test_same_content_is_adopted_not_conflicted(shared: Shared, tmp_path: Path) -> None:
    upload_like_aws_cli(shared, "big.bin", BIG, tmp_path)
    ann = shared.drive(tmp_path / "ann", "ann")
    write(ann.root, "big.bin", BIG)
    gets = count(ann.remote, "GetObject")
    puts = count(ann.remote, "UploadPart")
    report = ann.sync()
    assert not report.failed
    assert [o.action.kind for o in report.outcomes] == [ActionKind.RECORD]
    assert gets["n"] == 0  # proven by the ETag, nothing downloaded
    assert puts["n"] == 0  # and nothing uploaded
    assert not conflict_copies(tree(ann.root))
    assert len(shared.versions("big.bin")) == 1
    assert ann.status().is_empty


def test_different_content_of_the_same_size_is_still_a_conflict(
    shared: Shared, tmp_path: Path
) -> None:
    upload_like_aws_cli(shared, "big.bin", BIG, tmp_path)
    ann = shared.drive(tmp_path / "ann", "ann")
    mine = bytearray(BIG)
    mine[PART + 7] ^= 0xFF  # one byte differs, in the second part
    write(ann.root, "big.bin", bytes(mine))
    report = ann.sync()
    assert not report.failed
    assert [o.action.kind for o in report.outcomes] == [ActionKind.CONFLICT]
    files = tree(ann.root)
    assert files["big.bin"] == BIG
    assert list(conflict_copies(files).values()) == [bytes(mine)]


def test_without_the_part_size_the_content_is_hashed(shared: Shared, tmp_path: Path) -> None:
    """A server that does not answer HeadObject with PartNumber: download and hash."""
    upload_like_aws_cli(shared, "big.bin", BIG, tmp_path)
    ann = shared.drive(tmp_path / "ann", "ann")
    write(ann.root, "big.bin", BIG)
    remote = ann.remote

    def refuse_part_heads(request: Any, **_: Any) -> AWSResponse | None:
        if "partNumber=" not in request.url:
            return None
        body = b"<Error><Code>InvalidArgument</Code><Message>no parts here</Message></Error>"
        return AWSResponse(request.url, 400, {}, _Raw(body))

    remote.client.meta.events.register("before-send.s3.HeadObject", refuse_part_heads)
    gets = count(remote, "GetObject")
    entry = remote.latest("big.bin")
    assert entry is not None
    sha = remote.sha256_against(entry, ann.root / "big.bin", None)
    assert sha == hashlib.sha256(BIG).hexdigest()
    assert gets["n"] == 1


@pytest.mark.parametrize("size", [len(BIG), len(BIG) - 1])
def test_a_plain_etag_still_compares_by_md5(shared: Shared, tmp_path: Path, size: int) -> None:
    """A small object put without metadata: its ETag is its MD5 (unchanged behaviour)."""
    data = BIG[:4096]
    shared.client().put_object(Bucket=shared.bucket, Key="team/small.txt", Body=data)
    ann = shared.drive(tmp_path / "ann", "ann")
    write(ann.root, "small.txt", data if size == len(BIG) else data[:-1] + b"!")
    report = ann.sync()
    kinds = [o.action.kind for o in report.outcomes]
    assert kinds == ([ActionKind.RECORD] if size == len(BIG) else [ActionKind.CONFLICT])
