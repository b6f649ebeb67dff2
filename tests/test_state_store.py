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


def test_grouped_writes_land_together_in_their_order(tmp_path: Path) -> None:
    """Inside `grouped` nothing is written yet; at its end every put and forget is, in the
    order given (a path put, forgotten and put again ends up put), in a few statements."""
    store = StateStore(tmp_path / "state.db")
    store.put(entry(0))
    with store.grouped():
        for n in range(1, 1200):  # more rows than one statement takes
            store.put(entry(n))
        store.forget("f0.txt")
        store.forget("f5.txt")
        store.put(entry(5))
        store.forget("f7.txt")
        with store.grouped():  # nested: written with the outer group
            store.put(entry(5000))
        assert set(store.load()) == {"f0.txt"}  # reads inside see the state before it
    stored = store.load()
    assert set(stored) == {f"f{n}.txt" for n in range(1, 1200) if n != 7} | {"f5000.txt"}
    assert stored["f5.txt"].version_id == "v5"
    store.close()
    assert len(StateStore(tmp_path / "state.db").load()) == len(stored)


def test_a_group_that_fails_to_write_says_so(tmp_path: Path) -> None:
    """A database that refuses the group's writes (here: read-only) raises at the end of
    the group, where the engine's outcome loop sees it, and keeps nothing half-written."""
    import sqlite3

    import pytest

    store = StateStore(tmp_path / "state.db")
    store.put(entry(1))
    store.flush()
    store._db.execute("PRAGMA query_only=ON")
    with pytest.raises(sqlite3.OperationalError), store.grouped():
        store.put(entry(2))
    store._db.execute("PRAGMA query_only=OFF")
    assert set(store.load()) == {"f1.txt"}
    store.put(entry(3))  # and grouping is over: writes go straight on
    assert set(store.load()) == {"f1.txt", "f3.txt"}
    store.close()
