"""Gathering a plan's inputs: both sides and the base, minus what must be left out.

A path left out on either side (ignored, unsafe, colliding, unreadable) is left out of the
whole plan, so that a failure to read never reads as "deleted" or "vanished".
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clouddrive.core import planner
from clouddrive.core.models import (
    Action,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
    Skipped,
)
from clouddrive.core.paths import find_collisions
from clouddrive.ledger import S3Remote
from clouddrive.local.ignore import IgnoreRules
from clouddrive.local.scanner import FsTraits, file_sha256, scan
from clouddrive.local.state import StateStore
from clouddrive.sync.guards import under

__all__ = ["Gatherer", "Inputs", "both_changed"]


def both_changed(local: LocalFile | None, remote: RemoteEntry | None, b: BaseEntry | None) -> bool:
    """Both sides changed against the base: only then is the remote content worth learning."""
    return planner.classify_local(local, b) in (
        LocalChange.CREATED,
        LocalChange.MODIFIED,
    ) and planner.classify_remote(remote, b) in (RemoteChange.CREATED, RemoteChange.MODIFIED)


@dataclass
class Inputs:
    """The three sides of a plan, and what was left out of it and why."""

    local: dict[str, LocalFile]
    remote: dict[str, RemoteEntry]
    base: dict[str, BaseEntry]
    skipped: list[Skipped]


@dataclass
class Gatherer:
    """Reads both sides of one drive and plans them (a whole drive, or one path again)."""

    root: Path
    remote: S3Remote
    state: StateStore
    traits: Callable[[], FsTraits]
    user: str
    workers: int

    def gather(self) -> Inputs:
        """Both sides and the base, minus ignored, unsafe and colliding paths."""
        remote = self.remote
        remote.require_versioning()
        base = self.state.load()
        listing = remote.list_latest(base)
        # A base with no entry would read as "vanished": read those keys again on their own
        # first, in case the listing dropped them (some servers' pagination does).
        listing.entries.update(remote.recheck(p for p in base if p not in listing.entries))
        ignore = IgnoreRules.load(self.root)
        local_scan = scan(self.root, base, ignore)
        skipped = [*listing.skipped, *local_scan.skipped]
        present = {p for p, e in listing.entries.items() if not e.is_delete_marker}
        traits = self.traits()
        collisions = find_collisions(
            present | set(local_scan.files),
            case_insensitive=traits.case_insensitive,
            normalizes_unicode=traits.normalizes_unicode,
        )
        skipped += [Skipped(p, reason) for p, reason in sorted(collisions.items())]
        excluded = {s.path for s in skipped}

        def keep(path: str) -> bool:
            return not ignore.file_ignored(path) and not under(path, excluded)

        return Inputs(
            local={p: f for p, f in local_scan.files.items() if keep(p)},
            remote={p: e for p, e in listing.entries.items() if keep(p)},
            base={p: b for p, b in base.items() if keep(p)},
            skipped=skipped,
        )

    def enrich_one(self, local: LocalFile, remote: RemoteEntry) -> RemoteEntry:
        """Learn the remote content's sha256 by comparing it with the local file (metadata,
        a plain or multipart ETag, or hashing the download): equal content is adopted."""
        sha = self.remote.sha256_against(remote, self.root / local.path, local.sha256)
        return dataclasses.replace(remote, sha256=sha)

    def enrich(self, inputs: Inputs) -> None:
        """HEAD only the keys where both sides changed: the same content is no conflict."""
        todo = [
            (inputs.local[p], inputs.remote[p])
            for p in inputs.local.keys() & inputs.remote.keys()
            if both_changed(inputs.local[p], inputs.remote[p], inputs.base.get(p))
        ]
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for entry in pool.map(lambda lr: self.enrich_one(*lr), todo):
                inputs.remote[entry.path] = entry

    def plan(self, inputs: Inputs) -> Plan:
        """The three-way plan of gathered inputs (after learning contents where needed)."""
        self.enrich(inputs)
        plan = planner.plan(
            inputs.local, inputs.remote, inputs.base, user=self.user, now=datetime.now(UTC)
        )
        return dataclasses.replace(plan, skipped=tuple(inputs.skipped))

    def replan(self, path: str) -> Action | None:
        """A conditional write lost a race: re-read this key and this file, decide again."""
        remote = self.remote.latest(path)
        base = self.state.load().get(path)
        target = self.root / path
        local: LocalFile | None = None
        if target.is_file() and not target.is_symlink():
            st = target.lstat()
            local = LocalFile(path, st.st_size, st.st_mtime_ns, file_sha256(target))
        if local is not None and remote is not None and both_changed(local, remote, base):
            remote = self.enrich_one(local, remote)
        folder = posixpath.dirname(path)
        names = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
        taken = {posixpath.join(folder, name) for name in names}
        return planner.decide(
            path, local, remote, base, user=self.user, now=datetime.now(UTC), taken=taken
        )
