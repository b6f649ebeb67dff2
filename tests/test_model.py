"""Model-based test: 2-3 drives on one prefix, random work, syncs, faults and a hostile world.

Hypothesis picks the steps in any order: creates, edits, deletes, renames, syncs and S3 faults
always; and, per test below, one family of hostile cases: file/folder swaps (`a` <-> `a/b`),
same-size edits inside one mtime tick, unreadable folders, interrupts mid-run, outside hard
deletes of current versions, and uploads by other tools (plain and multipart, no metadata).

After EVERY step (invariants):
- every base in each drive's state db names an existing S3 version with the base's content,
  and matches the local file (unless the user changed that path since the drive's last
  completed sync, or a run of that drive was interrupted since);
- nothing entrusted is lost: every content a drive held at a completed sync is still a file
  on some drive or an S3 version. An outside hard delete of a version takes its content out
  of this promise only if no drive held it as a file at that moment (the promise is that such
  a delete never removes a local copy); the model's user never deletes or overwrites a
  content that exists nowhere else;
- a drive with unreadable folders plans no delete on either side under them;
- no sync is refused by a guard (the model never deletes many files: a purged key or two must
  not stop a drive).
At the end faults stop and every drive syncs until quiet: all drives hold the same tree, equal
to the prefix's current state (aside: paths that S3 itself holds as both file and folder, and
two never-synced things given one name on two drives), no conflict copy duplicates the content
of the file it was made from, and, after interrupts, every delete marker names its deleter.

Each run draws fresh examples (few, about 1.5 minutes in CI for the whole file;
CLOUDDRIVE_MODEL_SCALE=10 runs ten times as many). A failure prints its seed: rerun with
CLOUDDRIVE_MODEL_SEED=N (and CLOUDDRIVE_MODEL_SHRINK=1 to shrink it to a short program).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from clouddrive import errors
from clouddrive.core.models import ActionKind, Plan
from clouddrive.drive import Drive
from clouddrive.history.views import UNKNOWN
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, tree, write
from tests.modelkit import (
    Interrupted,
    VersionBook,
    interrupt_at,
    original_of,
    sha,
    under,
    unreadable,
)
from tests.modelworld import (
    COLLIDING,
    HOSTILE_STEPS,
    HOSTILE_STEPS_ARGS,
    NAMES,
    HostileWorld,
    contents,
    names,
    pick,
)
from tests.servers import create_bucket

FAULTS = [
    Fault.SLOW_DOWN,
    Fault.INTERNAL,
    Fault.RESET_REQUEST,
    Fault.RESET_AFTER_FORWARD,
    Fault.TRUNCATE_BODY,
]
DELETES = {ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE}


def s3_collisions(latest: set[str]) -> set[str]:
    """Current keys that no drive can hold: a key that is also a folder of another key."""
    folders = {p.rsplit("/", i)[0] for p in latest for i in range(1, p.count("/") + 1)}
    clashing = latest & folders
    return {p for p in latest if any(under(p, c) for c in clashing)}


def name_clashes(drive: Drive, plan: Plan) -> set[str]:
    """File/folder collisions between two new things: where this drive made a file (or a
    folder of files) that never synced, and S3 has a folder (or a file) of that name. Item 4
    of issue 9 is about a swap of something synced; these are two users' choices of one name.
    """
    base = drive.state.load()
    return {
        s.path
        for s in plan.skipped
        if "a file and a folder" in s.reason
        and not any(under(p, s.path) for p in base)
        and (drive.root / s.path).exists()
    }


class SharedDrives(HostileWorld, RuleBasedStateMachine):
    """Users of one prefix, seen through a fault-injecting proxy, in a hostile world."""

    upstream: str = ""
    users: tuple[str, ...] = ("ann", "bob", "cat")
    features: frozenset[str] = frozenset()
    stats: ClassVar[Counter[str]] = Counter()  #: across examples: did things really happen?

    def __init__(self) -> None:
        super().__init__()
        self.proxy = FaultProxy(self.upstream)
        bucket = create_bucket(self.upstream)
        self.direct = Shared(self.upstream, bucket)
        self.book = VersionBook(self.direct.client(), bucket, self.direct.prefix)
        faulty = Shared(self.proxy.endpoint_url, bucket)
        self.tmp = Path(tempfile.mkdtemp(prefix="cd-model-"))
        self.drives: list[Drive] = [faulty.drive(self.tmp / user, user) for user in self.users]
        n = len(self.drives)
        self.entrusted: dict[str, str] = {}  #: sha256 -> where a completed sync saw it
        self.touched: list[set[str]] = [set() for _ in range(n)]  #: user changes not yet synced
        self.unsettled = [False] * n  #: a run stopped mid-way since the last completed one
        self.exempt: list[set[tuple[str, str]]] = [set() for _ in range(n)]  #: hard-deleted
        self.unreadable: list[set[str]] = [set() for _ in range(n)]
        self.versions: dict[tuple[str, str], str] = {}

    # -- helpers ---------------------------------------------------------------------------

    def root(self, d: int) -> Path:
        return self.drives[d % len(self.drives)].root

    def name(self, i: int) -> str:
        pool = COLLIDING if "swap" in self.features else NAMES
        return pool[i % len(pool)]

    def present(self, d: int) -> list[str]:
        return sorted(tree(self.root(d)))

    def protected(self, d: int, path: str) -> bool:
        """Would changing this file destroy an entrusted content that is nowhere on S3?"""
        target = self.root(d) / path
        if not target.is_file():
            return False
        h = sha(target.read_bytes())
        return h in self.entrusted and h not in set(self.versions.values())

    def placeable(self, d: int, path: str) -> bool:
        """Can a file be written at `path` without removing a file or folder in the way?"""
        root = self.root(d)
        parts = path.split("/")
        if any((root / "/".join(parts[:i])).is_file() for i in range(1, len(parts))):
            return False
        return not (root / path).is_dir() and not self.protected(d, path)

    def maybe_sync(self, d: int, then_sync: bool) -> None:
        if then_sync:
            self.sync_drive(d)

    def sync_drive(self, d: int, interrupt: tuple[str | list[str], int] | None = None) -> None:
        d %= len(self.drives)
        drive = self.drives[d]
        held = {path: sha(data) for path, data in tree(drive.root).items()}
        folders = set(self.unreadable[d])

        def check_plan(plan: Plan) -> None:
            for action in plan.actions:
                if action.kind in DELETES and any(under(action.path, f) for f in folders):
                    raise AssertionError(
                        f"{drive.user}: plans {action.kind.value} {action.path!r} although "
                        f"the folder {sorted(folders)} could not be read"
                    )

        SharedDrives.stats["syncs"] += 1
        if folders:
            SharedDrives.stats["syncs with unreadable folders"] += 1
        try:
            with (
                unreadable(drive.root, folders),
                interrupt_at(*interrupt) if interrupt else contextlib.nullcontext(),
            ):
                report = drive.sync(on_plan=check_plan)
        except Interrupted as exc:
            SharedDrives.stats["interrupts"] += 1
            SharedDrives.stats[str(exc)] += 1
            self.unsettled[d] = True
            return
        except errors.RemoteError:  # a fault stopped the run; what it finished is recorded
            self.unsettled[d] = True
            return
        except errors.GuardTripped as exc:
            # The model never deletes more than a handful of files: a guard that stops a run
            # here stops a drive over a few keys (issue 9 item 10).
            raise AssertionError(f"{drive.user}: sync refused: {exc}") from exc
        left_out = [s.path for s in report.plan.skipped]
        failed = {o.action.path for o in report.failed}

        def dealt(path: str) -> bool:
            return path not in failed and not any(under(path, s) for s in left_out)

        for path, h in held.items():
            if dealt(path):
                self.entrusted.setdefault(h, f"{drive.user}:{path}")
        self.touched[d] = {p for p in self.touched[d] if not dealt(p)}
        self.exempt[d] = {(p, v) for p, v in self.exempt[d] if not dealt(p)}
        self.unsettled[d] = False

    # -- the users' work -------------------------------------------------------------------

    @rule(d=pick, name_no=names, data=contents, then_sync=st.booleans())
    def write_file(self, d: int, name_no: int, data: bytes, then_sync: bool) -> None:
        name = self.name(name_no)
        if self.placeable(d, name):
            write(self.root(d), name, data)
            self.touched[d % len(self.drives)].add(name)
        self.maybe_sync(d, then_sync)

    @rule(d=pick, which=pick, then_sync=st.booleans())
    def delete_file(self, d: int, which: int, then_sync: bool) -> None:
        present = self.present(d)
        if present:
            path = present[which % len(present)]
            if not self.protected(d, path):
                (self.root(d) / path).unlink()
                self.touched[d % len(self.drives)].add(path)
        self.maybe_sync(d, then_sync)

    @rule(d=pick, which=pick, dst_no=names, then_sync=st.booleans())
    def rename_file(self, d: int, which: int, dst_no: int, then_sync: bool) -> None:
        dst = self.name(dst_no)
        present = self.present(d)
        root = self.root(d)
        if present and self.placeable(d, dst):
            src = present[which % len(present)]
            (root / dst).parent.mkdir(parents=True, exist_ok=True)
            (root / src).replace(root / dst)
            self.touched[d % len(self.drives)] |= {src, dst}
        self.maybe_sync(d, then_sync)

    @rule(d=pick, also=st.data())
    def sync(self, d: int, also: st.DataObject) -> None:
        """A sync, often after one hostile step. (Hypothesis switches random sets of rules
        off for a whole example, "swarm testing": this keeps the hostile cases in every
        example whichever rules are off.)"""
        steps = [name for feature in sorted(self.features) for name in HOSTILE_STEPS[feature]]
        if steps and also.draw(st.booleans(), label="a hostile step first"):
            name = also.draw(st.sampled_from(steps), label="hostile step")
            args = also.draw(st.fixed_dictionaries(HOSTILE_STEPS_ARGS[name]), label=name)
            getattr(self, name)(**args)
        self.sync_drive(d)

    @initialize(fault=st.sampled_from(FAULTS), chance=st.sampled_from([0.1, 0.3]))
    def start_with_faults(self, fault: Fault, chance: float) -> None:
        # the first request of every example fails for sure: a run of few requests (or an
        # early `faults_off`) can otherwise see no fault at all by chance
        self.proxy.add(Rule(fault, times=1))
        self.proxy.add(Rule(fault, times=None, chance=chance))

    @rule(fault=st.sampled_from(FAULTS), chance=st.sampled_from([0.1, 0.3]))
    def faults_on(self, fault: Fault, chance: float) -> None:
        self.proxy.add(Rule(fault, times=None, chance=chance))

    @precondition(lambda self: bool(self.proxy.rules))
    @rule()
    def faults_off(self) -> None:
        self.proxy.clear()

    # -- after every step ------------------------------------------------------------------

    @invariant()
    def bases_match_local_files_and_s3_versions(self) -> None:
        self.versions = self.book.refresh()
        for d, drive in enumerate(self.drives):
            hit = {p for p, _ in self.exempt[d]}  # keys hard-deleted since this drive's sync
            for path, b in drive.state.load().items():
                if (path, b.version_id) in self.exempt[d] or path in hit:
                    continue
                on_s3 = self.versions.get((path, b.version_id))
                if on_s3 is None:
                    # A drive that reads current objects takes a key whose ETag and size are
                    # its base's as unchanged (ledger/listing.py `_list_current`): after an
                    # outside hard delete that left the very same bytes current, its base may
                    # name the deleted version; the content is still there, which is what
                    # must hold. A local change since (the file deleted here, not yet
                    # synced) changes nothing about that base.
                    same = [v for (k, v), s in self.versions.items() if k == path and s == b.sha256]
                    on_s3 = b.sha256 if same else None
                assert on_s3 is not None, (
                    f"{drive.user}: the base of {path!r} names version {b.version_id}, "
                    "which S3 does not have"
                )
                assert on_s3 == b.sha256, f"{drive.user}: the base of {path!r} has the wrong sha"
                if self.unsettled[d] or path in self.touched[d]:
                    continue
                local = drive.root / path
                assert local.is_file(), f"{drive.user}: a base for {path!r} but no local file"
                assert sha(local.read_bytes()) == b.sha256, (
                    f"{drive.user}: {path!r} differs from its base after a completed sync "
                    "(an edit the scan did not see, or a write not recorded)"
                )

    @invariant()
    def nothing_entrusted_is_lost(self) -> None:
        kept = set(self.versions.values())
        for d in range(len(self.drives)):
            kept |= {sha(c) for c in tree(self.root(d)).values()}
        lost = [where for h, where in self.entrusted.items() if h not in kept]
        assert not lost, f"lost contents (where a sync last saw them): {lost}"

    # -- the end ---------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self.proxy.clear()
            for folders in self.unreadable:
                folders.clear()
            for _ in range(3):
                for d in range(len(self.drives)):
                    self.sync_drive(d)
            self.bases_match_local_files_and_s3_versions()
            self.nothing_entrusted_is_lost()
            latest = self.direct.latest()
            for drive in self.drives:
                report = drive.sync()
                assert not report.failed, [(o.action.path, o.error) for o in report.failed]
                # A file made here that never synced, where S3 has a folder (or the reverse):
                # two users chose one name for different things. Item 4 covers a file that
                # was synced (a swap); this is left out of the comparison, on this drive only.
                local = tree(drive.root)
                clashing = name_clashes(drive, report.plan)
                clash = s3_collisions(set(latest)) | {
                    p for p in set(latest) | set(local) if any(under(p, c) for c in clashing)
                }
                expected = {p: c for p, c in latest.items() if p not in clash}
                here = {p: c for p, c in local.items() if p not in clash}
                assert here == expected, (
                    f"{drive.user} did not converge: only here {sorted(here.keys() - expected)}, "
                    f"missing {sorted(expected.keys() - here)}, differing "
                    f"{sorted(p for p in here.keys() & expected.keys() if here[p] != expected[p])}"
                )
                assert not drive.status().actions, f"{drive.user}: still work to do"
            duplicates = [p for p, c in latest.items() if latest.get(original_of(p) or "") == c]
            assert not duplicates, f"conflict copies identical to their file: {duplicates}"
            if "interrupt" in self.features:  # every delete, interrupted or not, is someone's
                keys = {p for p, _ in self.versions} | self.book.marked_paths()
                anonymous = [
                    p
                    for p in sorted(keys)
                    for v in self.drives[0].history(p)
                    if v.is_delete_marker and v.author == UNKNOWN
                ]
                assert not anonymous, f"deletes that name no deleter: {anonymous}"
        finally:
            SharedDrives.stats["faults"] += len(self.proxy.log)
            for drive in self.drives:
                drive.close()
            self.proxy.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_model(
    upstream: str, features: set[str], users: tuple[str, ...], examples: int, steps: int
) -> Counter[str]:
    """Run the machine with fresh examples; a failure names the seed that reproduces it."""
    drawn = os.environ.get("CLOUDDRIVE_MODEL_SEED")
    chosen = int(drawn) if drawn else secrets.randbelow(2**32)
    machine: Any = type(
        "Drives_" + "_".join(sorted(features) or ["plain"]),
        (SharedDrives,),
        {"upstream": upstream, "features": frozenset(features), "users": users},
    )
    examples *= int(os.environ.get("CLOUDDRIVE_MODEL_SCALE", "1"))
    SharedDrives.stats = Counter()
    phases = [Phase.explicit, Phase.generate]
    if os.environ.get("CLOUDDRIVE_MODEL_SHRINK"):
        phases.append(Phase.shrink)
    print(f"model seed {chosen} (rerun: CLOUDDRIVE_MODEL_SEED={chosen})")
    try:
        run_state_machine_as_test(
            seed(chosen)(machine),
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                phases=phases,
                print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    except BaseException as exc:
        exc.add_note(f"reproduce with CLOUDDRIVE_MODEL_SEED={chosen}")
        raise
    print(f"model steps: {dict(SharedDrives.stats)}")
    return SharedDrives.stats


@pytest.mark.timeout(300)
def test_three_drives_with_faults_converge_and_lose_nothing(seaweedfs) -> None:  # type: ignore[no-untyped-def]
    """Ordinary work, syncs and faults, invariants after every step."""
    stats = run_model(seaweedfs.endpoint_url, set(), ("ann", "bob", "cat"), 5, 20)
    assert stats["faults"] > 0 and stats["syncs"] > 20, stats  # faults and syncs did happen


HOSTILE = [
    pytest.param("swap", "swaps", id="file-folder-swaps"),
    pytest.param("same_tick", "same-tick edits", id="same-tick-edits"),
    pytest.param(
        "unreadable",
        "syncs with unreadable folders",
        id="unreadable-folders",
    ),
    pytest.param("interrupt", "interrupts", id="interrupts"),
    pytest.param("rollback", "hard deletes", id="outside-rollbacks"),
    pytest.param("purge", "hard deletes", id="outside-purges"),
    pytest.param("foreign", "foreign uploads", id="foreign-uploads"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("feature", "counter"), HOSTILE)
def test_two_drives_in_a_hostile_world(seaweedfs, feature: str, counter: str) -> None:  # type: ignore[no-untyped-def]
    """Each hostile case with ordinary work, syncs and faults, invariants after every step.
    Fresh examples are drawn until the case has happened at least once (swarm testing may
    leave a rule out of every example of one batch), so a green run always exercised it."""
    stats = run_model(seaweedfs.endpoint_url, {feature}, ("ann", "bob"), 5, 16)
    for _batch in range(4):
        if stats[counter] > 0:
            break
        stats += run_model(seaweedfs.endpoint_url, {feature}, ("ann", "bob"), 3, 16)
    assert stats[counter] > 0, stats
