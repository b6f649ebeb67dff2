"""Gathering a plan's inputs: both sides and the base, minus what must be left out.

A path left out on either side (ignored, unsafe, colliding, unreadable) is left out of the
whole plan, so that a failure to read never reads as "deleted" or "vanished".
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import time
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
from clouddrive.ledger import RemoteListing, S3Remote
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
    #: paths whose base version id is gone from their key's history (rewritten from outside)
    base_gone: set[str] = dataclasses.field(default_factory=set)
    #: local edits whose name a file/folder swap took on S3: kept as conflict copies
    set_aside: set[str] = dataclasses.field(default_factory=set)


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
        ignore = IgnoreRules.load(self.root)
        scan_start = time.time_ns()
        self.state.reading_from(scan_start)  # every content read below comes after this
        # The folder is scanned while S3 is listed: one waits for the disk, the other for
        # the server (neither reads what the other writes; `base` is only read).
        with ThreadPoolExecutor(1, thread_name_prefix="clouddrive-scan") as pool:
            scanning = pool.submit(scan, self.root, base, ignore)
            listing = remote.list_latest(base)
            # A base with no entry would read as "vanished": read those keys again on their
            # own first, in case the listing dropped them (some servers' pagination does).
            listing.entries.update(remote.recheck(p for p in base if p not in listing.entries))
            local_scan = scanning.result()
        self.state.restamp(local_scan.verified, scan_start)
        skipped = [*listing.skipped, *local_scan.skipped]
        # Names that cannot coexist after the run: a file swapped for a folder (or back) on
        # one side clears its old name first, so only what each side will hold is compared.
        swap = planner.swaps(local_scan.files, listing.entries, base)
        present = {p for p, e in listing.entries.items() if not e.is_delete_marker}
        staying = set(local_scan.files) - swap.leaving_local - swap.set_aside
        traits = self.traits()
        collisions = find_collisions(
            (present - swap.leaving_remote) | staying,
            case_insensitive=traits.case_insensitive,
            normalizes_unicode=traits.normalizes_unicode,
        )
        skipped += [Skipped(p, reason) for p, reason in sorted(collisions.items())]
        excluded = {s.path for s in skipped}

        @functools.cache  # the same paths are asked about for each side and the base
        def keep(path: str) -> bool:
            return not ignore.file_ignored(path) and not under(path, excluded)

        return Inputs(
            local={p: f for p, f in local_scan.files.items() if keep(p)},
            remote={p: e for p, e in listing.entries.items() if keep(p)},
            base={p: b for p, b in base.items() if keep(p)},
            skipped=skipped,
            base_gone={p for p in self._base_gone(listing, base) if keep(p)},
            set_aside={p for p in swap.set_aside if keep(p)},
        )

    def _base_gone(self, listing: RemoteListing, base: dict[str, BaseEntry]) -> set[str]:
        """Paths whose base version is missing from the history the listing showed, each
        confirmed by reading its key's history again on its own (a listing that dropped an
        entry must not make a remote change look like a rollback)."""
        suspects = [
            path
            for path, b in base.items()
            if (entry := listing.entries.get(path)) is not None
            and entry.version_id != b.version_id
            and path in listing.history
            and b.version_id not in listing.history[path]
        ]
        return {path for path in suspects if not self._base_exists(path, base[path])}

    def _base_exists(self, path: str, b: BaseEntry) -> bool:
        """Is the base's version id still in the key's history?"""
        return any(
            str(i.get("VersionId") or "null") == b.version_id for i in self.remote.versions(path)
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
            or (p in inputs.base_gone and not inputs.remote[p].is_delete_marker)
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
            inputs.local,
            inputs.remote,
            inputs.base,
            user=self.user,
            now=datetime.now(UTC),
            base_gone=inputs.base_gone,
            set_aside=inputs.set_aside,
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
        gone = (
            base is not None
            and remote is not None
            and remote.version_id != base.version_id
            and not self._base_exists(path, base)
        )
        if (
            local is not None
            and remote is not None
            and (both_changed(local, remote, base) or (gone and not remote.is_delete_marker))
        ):
            remote = self.enrich_one(local, remote)
        folder = posixpath.dirname(path)
        names = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
        taken = {posixpath.join(folder, name) for name in names}
        return planner.decide(
            path,
            local,
            remote,
            base,
            user=self.user,
            now=datetime.now(UTC),
            taken=taken,
            base_gone=gone,
        )
