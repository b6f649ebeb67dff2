"""A conditional delete whose answer is lost: the retry meets the drive's own delete marker
(412), and the run still names who deleted the file (no anonymous delete)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clouddrive.history.views import UNKNOWN
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, sync, write


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


def test_lost_delete_answer_names_the_deleter(seaweedfs, bucket, proxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    direct = Shared(seaweedfs.endpoint_url, bucket)
    faulty = Shared(proxy.endpoint_url, direct.bucket, direct.prefix)
    ann = faulty.drive(tmp_path / "a", "ann")
    write(ann.root, "gone.txt", "x")
    sync(ann)
    (ann.root / "gone.txt").unlink()
    proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="DeleteObject", times=1))
    sync(ann)
    assert proxy.fired(Fault.RESET_AFTER_FORWARD) == 1
    assert ann.status().is_empty
    [deleted] = ann.deleted()
    assert deleted.path == "gone.txt"
    assert deleted.deleted_by == "ann"
    assert deleted.deleted_by != UNKNOWN
