"""A killed multipart upload does not stay open (issue 9 item 13), on SeaweedFS.

The upload's id is journaled under ROOT/.clouddrive/uploads/ before its first part; the next
run aborts it, so its parts do not wait (and cost) until a lifecycle rule removes them.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.drivekit import Shared, write
from tests.test_crash import KILLED, cli


def open_uploads(shared: Shared) -> list[str]:
    resp = shared.client().list_multipart_uploads(Bucket=shared.bucket, Prefix=f"{shared.prefix}/")
    return [str(u["UploadId"]) for u in resp.get("Uploads", [])]


def test_the_next_run_aborts_a_killed_upload(shared: Shared, tmp_path: Path) -> None:
    a = shared.drive(tmp_path / "ann", "ann", multipart_threshold_mib=5, part_size_mib=5)
    big = os.urandom(12 * 1024 * 1024)
    write(a.root, "big.bin", big)
    a.close()
    journal = a.root / ".clouddrive" / "uploads"
    assert cli(a.root, "sync", "--yes", "-q", crash="mid-multipart").returncode == KILLED
    left = open_uploads(shared)
    assert len(left) == 1  # the killed run left its upload open
    assert len(list(journal.glob("*.json"))) == 1  # and remembered it
    result = cli(a.root, "sync", "--yes", "-q")
    assert result.returncode == 0, result.stderr
    assert open_uploads(shared) == []
    assert list(journal.glob("*.json")) == []
    assert shared.latest() == {"big.bin": big}
    assert len(shared.versions("big.bin")) == 1


def test_a_finished_upload_leaves_no_journal_entry(shared: Shared, tmp_path: Path) -> None:
    a = shared.drive(tmp_path / "ann", "ann", multipart_threshold_mib=5, part_size_mib=5)
    big = os.urandom(6 * 1024 * 1024)
    write(a.root, "big.bin", big)
    assert not a.sync().failed
    assert list((a.root / ".clouddrive" / "uploads").glob("*.json")) == []
    assert open_uploads(shared) == []
    assert shared.latest() == {"big.bin": big}


def test_parts_go_side_by_side_and_land_in_order(shared: Shared, tmp_path: Path) -> None:
    """A large file's parts overlap on the wire (up to `PARTS_IN_FLIGHT`), and the object
    is the file, byte for byte, in order."""
    import threading

    from clouddrive.ledger.multipart import PARTS_IN_FLIGHT

    a = shared.drive(tmp_path / "ann", "ann", multipart_threshold_mib=5, part_size_mib=5)
    big = os.urandom(41 * 1024 * 1024)  # 9 parts, the last a short one
    write(a.root, "big.bin", big)
    lock = threading.Lock()
    now = {"in": 0, "most": 0}

    def going(**_: object) -> None:
        with lock:
            now["in"] += 1
            now["most"] = max(now["most"], now["in"])

    def back(**_: object) -> None:
        with lock:
            now["in"] -= 1

    events = a.remote.client.meta.events
    events.register("before-send.s3.UploadPart", going)
    events.register("needs-retry.s3.UploadPart", back)
    assert not a.sync().failed
    assert 1 < now["most"] <= PARTS_IN_FLIGHT
    assert shared.latest() == {"big.bin": big}
    assert open_uploads(shared) == []


def test_a_part_that_keeps_failing_aborts_the_upload(shared: Shared, tmp_path: Path) -> None:
    """One part refused for good while others are on their way: the upload is aborted once
    they are back (none is left open), nothing lands, and the run says which file."""
    from botocore.exceptions import ClientError

    a = shared.drive(tmp_path / "ann", "ann", multipart_threshold_mib=5, part_size_mib=5)
    write(a.root, "big.bin", os.urandom(30 * 1024 * 1024))

    def refuse_part_3(params: dict[str, object], **_: object) -> None:
        if params.get("PartNumber") == 3:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UploadPart")

    a.remote.client.meta.events.register("before-parameter-build.s3.UploadPart", refuse_part_3)
    report = a.sync()
    assert [o.action.path for o in report.failed] == ["big.bin"]
    assert shared.latest() == {}
    assert open_uploads(shared) == []
    assert list((a.root / ".clouddrive" / "uploads").glob("*.json")) == []
