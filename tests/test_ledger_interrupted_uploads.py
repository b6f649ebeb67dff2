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
