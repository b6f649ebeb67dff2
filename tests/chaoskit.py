"""The chaos run's workload and report (scripts/chaos.py): what users and the world around
the drives do, and how the run's verdicts are printed. The run itself stays in the script."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.modelkit import VersionBook, same_tick_edit, under

__all__ = ["FOLDERS", "HOSTILE", "NAMES", "Report", "Workload", "snapshot", "tree"]

NAMES = ["a.txt", "b.md", "notes/c.txt", "notes/d.txt", "deep/x/y.bin", "e", "f.csv", "g h.txt"]
#: swapped between file and folder: `e` <-> `e/s.txt`, `notes/` <-> `notes`
SWAPS = {"e": "e/s.txt", "notes": "notes/s.txt"}
FOLDERS = [".", "notes", "deep", "deep/x", "e"]
HOSTILE = [
    "../escape",
    "a/../../x",
    "/abs",
    "back\\slash",
    "tab\tname",
    "\uff0e\uff0e/y",
    "n" * 300,
]


@dataclass
class Report:
    rounds: int = 0
    actions: int = 0
    syncs: int = 0
    partial_syncs: int = 0
    stopped_syncs: int = 0
    faults: int = 0
    crashes: int = 0
    kills: int = 0
    sigints: int = 0
    interrupts: int = 0
    hostile_keys: int = 0
    swaps: int = 0
    same_tick_edits: int = 0
    unreadable_syncs: int = 0
    foreign_uploads: int = 0
    hard_deletes: int = 0
    gone_with_hard_deletes: int = 0
    files: int = 0
    versions: int = 0
    lost: list[str] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)
    unreadable_deletes: list[str] = field(default_factory=list)
    anonymous: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rounds_to_converge: int | None = None
    diverged: list[str] = field(default_factory=list)  #: why it did not converge

    def print(self) -> None:
        converge = self.rounds_to_converge if self.rounds_to_converge is not None else "NEVER"
        rows = [
            ("rounds", self.rounds),
            ("actions (local changes)", self.actions),
            (
                "syncs",
                f"{self.syncs} ({self.partial_syncs} skipped some files, "
                f"{self.stopped_syncs} stopped by a fault)",
            ),
            ("faults injected", self.faults),
            ("crashes at crash points", self.crashes),
            ("kills at random moments", self.kills),
            ("SIGINTs of a child sync", self.sigints),
            ("in-process interrupts", self.interrupts),
            ("hostile keys planted", self.hostile_keys),
            ("file/folder swaps", self.swaps),
            ("same-tick edits", self.same_tick_edits),
            ("syncs, a folder unreadable", self.unreadable_syncs),
            ("uploads by another tool", self.foreign_uploads),
            (
                "outside hard deletes",
                f"{self.hard_deletes} ({self.gone_with_hard_deletes} contents held by no drive)",
            ),
            ("files at the end", self.files),
            ("S3 versions at the end", self.versions),
            ("lost contents", len(self.lost)),
            ("writes outside the roots", len(self.escaped)),
            ("deletes under unreadable", len(self.unreadable_deletes)),
            ("deletes naming no deleter", len(self.anonymous)),
            ("identical conflict copies", len(self.duplicates)),
            ("rounds to converge", converge),
        ]
        for name, value in rows:
            print(f"  {name:<28} {value}")
        for label, items in (
            ("LOST", self.lost),
            ("ESCAPED", self.escaped),
            ("DELETE UNDER UNREADABLE", self.unreadable_deletes),
            ("ANONYMOUS DELETE", self.anonymous),
            ("IDENTICAL CONFLICT COPY", self.duplicates),
            ("NOT CONVERGED", self.diverged),
        ):
            for item in items[:10]:
                print(f"  {label}: {item}")

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.escaped
            and not self.unreadable_deletes
            and not self.anonymous
            and not self.duplicates
            and self.rounds_to_converge is not None
        )


def tree(root: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) == root and d == ".clouddrive")]
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with a content hash (to spot writes outside the roots)."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Workload:
    """The users' changes and the hostile world, as a part of the chaos run (`Chaos`)."""

    rng: random.Random
    report: Report
    roots: dict[str, Path]
    book: VersionBook
    synced_contents: dict[str, str]  #: sha256 -> where a finished sync saw it
    at_risk: set[str]  #: entrusted contents whose S3 versions an outsider deleted
    tick_edited: set[str]  #: contents made by same-tick edits (for the report)

    def held_anywhere(self) -> set[str]:
        """The sha256 of every file on every drive."""
        return {
            hashlib.sha256(data).hexdigest()
            for root in self.roots.values()
            for data in tree(root).values()
        }

    def removable(self, path: Path) -> bool:
        """May the user delete or overwrite this file? Not if it holds a content that an
        outside hard delete left only on the drives (the user cannot know it is the last
        copy; a loss then would be the user's, not clouddrive's)."""
        if not path.is_file():
            return True
        return hashlib.sha256(path.read_bytes()).hexdigest() not in self.at_risk

    def placeable(self, root: Path, path: Path) -> bool:
        """Can a file go at `path`: no file where a folder must be, no folder in the way?"""
        parents = path.relative_to(root).parents
        if any((root / p).is_file() for p in parents if str(p) != "."):
            return False
        return not path.is_dir() and self.removable(path)

    def local_step(self, user: str, round_no: int) -> list[str]:
        """One change by the user; the paths it wrote."""
        root = self.roots[user]
        present = [p for p in tree(root) if p in NAMES]
        op = self.rng.choice(
            ["write", "write", "write", "delete", "rename", "swap"] if present else ["write"]
        )
        written: list[str] = []
        if op == "write":
            name = self.rng.choice(NAMES)
            path = root / name
            if not self.placeable(root, path):
                return written
            path.parent.mkdir(parents=True, exist_ok=True)
            size = self.rng.choice([0, 10, 100, 5000, 200_000])
            data = f"{user} r{round_no} {self.rng.random()}\n".encode() * (size // 30 + 1)
            path.write_bytes(data[:size] if size else b"")
            written.append(name)
        elif op == "delete":
            path = root / self.rng.choice(present)
            if not self.removable(path):
                return written
            path.unlink()
        elif op == "rename":
            src = self.rng.choice(present)
            dst = root / self.rng.choice(NAMES)
            if not self.placeable(root, dst):
                return written
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(root / src, dst)
        else:
            self.swap(user, round_no)
        self.report.actions += 1
        return written

    def swap(self, user: str, round_no: int) -> None:
        """Replace a file with a folder of the same name (`e` -> `e/s.txt`), or the reverse."""
        root = self.roots[user]
        name, inner = self.rng.choice(sorted(SWAPS.items()))
        target = root / name
        inside = [p for p in tree(root) if under(p, name)]
        if not inside or not all(self.removable(root / p) for p in inside):
            return
        if target.is_file():
            target.unlink()
            target.mkdir()
            (root / inner).write_bytes(f"{user} r{round_no} folder now\n".encode())
        else:
            shutil.rmtree(target)
            target.write_bytes(f"{user} r{round_no} file now\n".encode())
        self.report.swaps += 1

    def same_tick_edit(self, user: str) -> None:
        """Right after a sync: edit a file inside its mtime tick (same size, same mtime)."""
        root = self.roots[user]
        for name in self.rng.sample(sorted(tree(root)), k=min(3, len(tree(root)))):
            path = root / name
            if self.removable(path) and same_tick_edit(path, f"tick {self.rng.random()}".encode()):
                self.report.same_tick_edits += 1
                self.tick_edited.add(hashlib.sha256(path.read_bytes()).hexdigest())
                return

    def plant_hostile_key(self) -> None:
        key = f"{self.book.prefix}/{self.rng.choice(HOSTILE)}"
        try:
            self.book.client.put_object(Bucket=self.book.bucket, Key=key, Body=b"hostile payload")
            self.report.hostile_keys += 1
        except Exception:  # the server may refuse such a key: fine, nothing planted
            pass

    def foreign_upload(self, user: str, written: list[str]) -> None:
        """Another tool (`aws s3 cp`) uploads a key with no clouddrive metadata: often the very
        content this user has just written there, else something new; multipart or not."""
        multipart = self.rng.random() < 0.6
        mine = [n for n in written if (self.roots[user] / n).is_file()]  # a swap may remove one
        if mine and self.rng.random() < 0.7:
            name = self.rng.choice(mine)
            data = (self.roots[user] / name).read_bytes()
        else:
            name = self.rng.choice(NAMES)
            data = f"foreign {self.rng.random()}\n".encode() * self.rng.choice([1, 100])
        self.book.foreign_put(name, data, multipart=multipart)
        self.report.foreign_uploads += 1

    def outside_hard_delete(self) -> None:
        """An admin deletes a key's current version (DeleteObject with its VersionId)."""
        current = [p for p in self.book.current_files() if p in NAMES or "/" in p]
        current = [p for p in current if not any(p.startswith(h) for h in HOSTILE)]
        # Mostly a rollback (an older entry stays); now and then a purge of a key's only
        # version (its whole history goes).
        if self.rng.random() < 0.8:
            current = [p for p in current if len(self.book.entries(p)) > 1]
        if not current:
            return
        name = self.rng.choice(current)
        content = self.book.hard_delete_current(name)
        if content is None:
            return
        self.report.hard_deletes += 1
        if content not in self.synced_contents:
            return
        held = {
            hashlib.sha256(data).hexdigest()
            for root in self.roots.values()
            for data in tree(root).values()
        }
        if content in held:
            self.at_risk.add(content)  # a drive has it: clouddrive must keep it
        elif content not in set(self.book.refresh().values()):
            del self.synced_contents[content]  # held by no drive: gone with the version
            self.report.gone_with_hard_deletes += 1
