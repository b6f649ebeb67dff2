"""The state database groups base writes, and never keeps them from a later reader."""

from __future__ import annotations

from pathlib import Path

from clouddrive.core.models import BaseEntry
from clouddrive.local.state import COMMIT_EVERY, StateStore


def entry(n: int) -> BaseEntry:
    return BaseEntry(f"f{n}.txt", n, n, "0" * 64, f"v{n}", f'"{n}"')


def test_bases_reach_the_disk_at_close_meta_and_full_groups(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    for n in range(3):
        store.put(entry(n))
    store.forget("f0.txt")
    assert set(store.load()) == {"f1.txt", "f2.txt"}  # the writer sees its own group
    store.set_meta("last_sync", "now")
    assert set(StateStore(db).load()) == {"f1.txt", "f2.txt"}  # a meta write commits
    for n in range(10, 10 + COMMIT_EVERY):
        store.put(entry(n))
    assert len(StateStore(db).load()) == 2 + COMMIT_EVERY  # a full group commits
    store.put(entry(99))
    store.close()
    stored = StateStore(db).load()["f99.txt"]
    assert stored.version_id == entry(99).version_id  # close commits the rest
    assert stored.recorded_ns > 0  # stamped for the racily-clean rule
