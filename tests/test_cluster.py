"""Through a real SeaweedFS cluster (a master, three volume servers on three racks with
replication 010, a filer, the S3 gateway: separate processes), not only `weed mini`: drives
sync through it, and keep syncing when a volume server stops in the middle of a run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clouddrive.embedded.access import ensure_bucket
from clouddrive.embedded.cluster import Cluster, start_cluster
from clouddrive.sync.outcome import Outcome
from tests.drivekit import Shared

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with start_cluster(tmp_path_factory.mktemp("cluster")) as running:
        deadline = time.monotonic() + 60
        while True:  # the filer takes a moment to reach the volume servers
            try:
                ensure_bucket(running.endpoint_url, "team")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield running


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".clouddrive" not in p.parts
    }


def test_sync_survives_a_volume_server_stopping_mid_run(cluster: Cluster, tmp_path: Path) -> None:
    shared = Shared(cluster.endpoint_url, "team", prefix="cluster")
    ann = shared.drive(tmp_path / "ann", "ann")
    bob = shared.drive(tmp_path / "bob", "bob")
    for i in range(60):
        path = ann.root / f"d{i % 6}" / f"f{i:02d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"file {i} ".encode() * (i + 1))
    up = ann.sync()
    assert not up.failed and len(up.done) == 60

    seen: list[Outcome] = []

    def stop_a_volume_server(outcome: Outcome) -> None:
        seen.append(outcome)
        if len(seen) == 10:
            cluster.stop("volume2")

    down = bob.sync(on_outcome=stop_a_volume_server)
    assert "volume2" in cluster.procs and cluster.procs["volume2"].poll() is not None
    again = bob.sync()  # anything a fault left out comes now; nothing is done twice
    assert not again.failed
    assert len(down.done) + len(again.done) == 60
    assert tree(bob.root) == tree(ann.root)

    # Writes go on with one volume server down: an edit and a new file travel back.
    (bob.root / "d0" / "f00.txt").write_bytes(b"edited by bob")
    (bob.root / "new.txt").write_bytes(b"written while volume2 is down")
    assert not bob.sync().failed
    assert not ann.sync().failed
    assert tree(ann.root) == tree(bob.root)
