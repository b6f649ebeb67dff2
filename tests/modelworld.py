"""The hostile world of the model test (tests/test_model.py), as rules of its state machine.

Each family is switched on by a feature of the machine ("swap", "same_tick", "unreadable",
"interrupt", "rollback", "purge", "foreign"); the machine's `sync` rule also runs one of them
now and then, so that Hypothesis's swarm testing (whole rules off for an example) cannot keep a
family out of a test.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from tests.drivekit import tree, write
from tests.modelkit import CRASH_POINTS, TICK_NS, VersionBook, same_tick_edit, sha, under

__all__ = [
    "COLLIDING",
    "HOSTILE_STEPS",
    "HOSTILE_STEPS_ARGS",
    "NAMES",
    "HostileWorld",
    "contents",
    "names",
    "pick",
]

#: names that never collide (the ordinary work)
NAMES = ["a.txt", "b.txt", "docs/c.md", "docs/d.md", "x/y/z.bin"]
#: `a` and `a/b`, `d` and `d/e`: a file here and a folder there collide (file/folder swaps)
COLLIDING = ["a", "a/b", "a/c", "d", "d/e", "f.txt"]
#: an interrupt at whichever crash point the run passes first (or second...)
ANY_POINT = "any crash point"
#: an index into the machine's name pool (`SharedDrives.name`)
names = st.integers(min_value=0, max_value=len(COLLIDING) * len(NAMES))
contents = st.binary(min_size=1, max_size=48)
pick = st.integers(min_value=0, max_value=1000)


SWAP = {
    "d": pick,
    "name": st.sampled_from(["a", "d"]),
    "data": contents,
    "then_sync": st.booleans(),
}
SAME_TICK = {
    "d": pick,
    "which": pick,
    "data": contents,
    "sync_first": st.booleans(),
    "then_sync": st.booleans(),
}
UNREADABLE = {"d": pick, "which": pick, "then_sync": st.booleans()}
INTERRUPT = {
    "d": pick,
    "delete": st.booleans(),
    "name_no": names,
    "data": contents,
    "point": st.one_of(st.just(ANY_POINT), st.sampled_from(CRASH_POINTS)),
    "hit": st.integers(1, 3),
}
HARD_DELETE = {"which": pick, "d": pick, "data": contents}
FOREIGN = {"name_no": names, "data": contents, "multipart": st.booleans()}
FOREIGN_SAME = {
    "d": pick,
    "name_no": names,
    "data": contents,
    "multipart": st.sampled_from([True, True, False]),
}
#: feature -> the hostile rules it turns on
HOSTILE_STEPS = {
    "swap": ["swap_file_and_folder"],
    "same_tick": ["edit_within_the_tick"],
    "unreadable": ["folder_unreadable"],
    "interrupt": ["interrupted_sync"],
    "rollback": ["outside_hard_delete"],
    "purge": ["outside_hard_delete"],
    "foreign": ["foreign_upload", "foreign_upload_of_the_same"],
}
HOSTILE_STEPS_ARGS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "swap_file_and_folder": SWAP,
    "edit_within_the_tick": SAME_TICK,
    "folder_unreadable": UNREADABLE,
    "interrupted_sync": INTERRUPT,
    "outside_hard_delete": HARD_DELETE,
    "foreign_upload": FOREIGN,
    "foreign_upload_of_the_same": FOREIGN_SAME,
}


class HostileWorld:
    """Rules for the hostile cases; the machine (`SharedDrives`) provides the state."""

    features: frozenset[str]
    stats: Counter[str]
    book: VersionBook
    entrusted: dict[str, str]
    touched: list[set[str]]
    exempt: list[set[tuple[str, str]]]
    unreadable: list[set[str]]
    drives: list[Any]

    # and from the machine: root, name, present, protected, placeable, maybe_sync,
    # sync_drive, write_file and delete_file

    @precondition(lambda self: "swap" in self.features)
    @rule(**SWAP)
    def swap_file_and_folder(self, d: int, name: str, data: bytes, then_sync: bool) -> None:
        """Replace the file `a` with a folder `a/` holding `a/b`, or the folder with a file."""
        root = self.root(d)
        target = root / name
        inside = [p for p in self.present(d) if under(p, name)]
        if not inside and self.placeable(d, name):  # nothing to swap yet: make and sync it
            write(root, name, data + b"0")
            self.touched[d % len(self.drives)].add(name)
            self.sync_drive(d)
            inside = [p for p in self.present(d) if under(p, name)]
        if not inside or any(self.protected(d, p) for p in inside):
            return self.maybe_sync(d, then_sync)
        if target.is_file():
            target.unlink()
            write(root, f"{name}/b", data)
            changed = {name, f"{name}/b"}
        else:
            shutil.rmtree(target)
            write(root, name, data)
            changed = {name, *inside}
        self.touched[d % len(self.drives)] |= changed
        self.stats["swaps"] += 1
        self.maybe_sync(d, then_sync)

    def fresh(self, d: int) -> list[str]:
        """Drive `d`'s files written less than a tick ago."""
        now = time.time_ns()
        return [p for p in self.present(d) if now - self.mtime_ns(d, p) < TICK_NS]

    def mtime_ns(self, d: int, path: str) -> int:
        try:
            return (self.root(d) / path).lstat().st_mtime_ns
        except OSError:
            return 0

    @precondition(lambda self: "same_tick" in self.features)
    @rule(**SAME_TICK)
    def edit_within_the_tick(
        self, d: int, which: int, data: bytes, sync_first: bool, then_sync: bool
    ) -> None:
        """A same-size edit that keeps the mtime (coarse timestamps), often right after a
        sync recorded the file."""
        # Only a file written within the tick can be edited so: the user edits what they
        # just saved, and saves one first if nothing is that fresh (picking among all files
        # missed so often that whole batches of examples had no such edit at all).
        if not self.fresh(d):
            self.write_file(d, which, data or b"x", then_sync=False)
        if sync_first:
            self.sync_drive(d)
        present = self.fresh(d) or self.present(d)
        if present:
            path = present[which % len(present)]
            if not self.protected(d, path) and same_tick_edit(self.root(d) / path, data):
                self.touched[d % len(self.drives)].add(path)
                self.stats["same-tick edits"] += 1
        self.maybe_sync(d, then_sync)

    @precondition(lambda self: "unreadable" in self.features)
    @rule(**UNREADABLE)
    def folder_unreadable(self, d: int, which: int, then_sync: bool) -> None:
        """A folder (the root included) can no longer be listed; its files still exist."""
        root = self.root(d)
        parents = {str(parent) for p in self.present(d) for parent in Path(p).parents}
        folders = [".", *sorted(parents - {"."})]
        folder = folders[which % len(folders)]
        if (root / folder).is_dir():
            self.unreadable[d % len(self.drives)].add(folder)
        self.maybe_sync(d, then_sync)

    @precondition(lambda self: any(self.unreadable))
    @rule(d=pick)
    def folders_readable_again(self, d: int) -> None:
        self.unreadable[d % len(self.drives)].clear()

    @precondition(lambda self: "interrupt" in self.features)
    @rule(**INTERRUPT)
    def interrupted_sync(
        self, d: int, delete: bool, name_no: int, data: bytes, point: str, hit: int
    ) -> None:
        """A change (a write, or a delete), then a sync stopped by Ctrl-C at a crash point
        (the `hit`-th time it passes there, or any crash point; a run that never gets there
        finishes)."""
        if delete:
            self.delete_file(d, name_no, then_sync=False)
        else:
            self.write_file(d, name_no, data, then_sync=False)
        self.sync_drive(d, interrupt=(CRASH_POINTS if point == ANY_POINT else point, hit))

    @precondition(lambda self: bool(self.features & {"rollback", "purge"}))
    @rule(**HARD_DELETE)
    def outside_hard_delete(self, which: int, d: int, data: bytes) -> None:
        """An admin deletes the current version of a key (DeleteObject with its VersionId):
        with "rollback" only where an older entry stays (a version or a delete marker), with
        "purge" also a key's only version (its whole history goes). With no such key yet,
        drive `d` makes one first (writes and syncs, twice for a rollback)."""
        rollback = "purge" not in self.features
        candidates = [
            p for p in self.book.current_files() if not rollback or len(self.book.entries(p)) > 1
        ]
        if not candidates:
            name = self.name(which)
            for edition in (b"", b"+") if rollback else (b"",):
                self.write_file(d, which, data + edition, then_sync=True)
            entries = len(self.book.entries(name))
            candidates = [name] if entries > int(rollback) and self.book.current(name) else []
        if not candidates:
            return
        name = candidates[which % len(candidates)]
        current = self.book.current(name)
        content = self.book.hard_delete_current(name)
        if content is None or current is None:
            return
        self.stats["hard deletes"] += 1
        for exempt in self.exempt:
            exempt.add((name, current[0]))
        on_s3 = set(self.book.refresh().values())
        held = {sha(c) for d in range(len(self.drives)) for c in tree(self.root(d)).values()}
        if content not in on_s3 and content not in held:
            # The promise covers local copies: a content no drive held is gone with it.
            self.entrusted.pop(content, None)

    @precondition(lambda self: "foreign" in self.features)
    @rule(**FOREIGN)
    def foreign_upload(self, name_no: int, data: bytes, multipart: bool) -> None:
        """Another tool uploads a key (no clouddrive metadata)."""
        self.book.foreign_put(self.name(name_no), data, multipart=multipart)
        self.stats["foreign uploads"] += 1

    @precondition(lambda self: "foreign" in self.features)
    @rule(**FOREIGN_SAME)
    def foreign_upload_of_the_same(
        self, d: int, name_no: int, data: bytes, multipart: bool
    ) -> None:
        """A user edits a file, uploads it with another tool too (`aws s3 cp`), then syncs:
        the same content on both sides is adopted, never a conflict."""
        name = self.name(name_no)
        if self.placeable(d, name):
            write(self.root(d), name, data)
            self.touched[d % len(self.drives)].add(name)
            self.book.foreign_put(name, data, multipart=multipart)
            self.stats["foreign uploads"] += 1
        self.sync_drive(d)
