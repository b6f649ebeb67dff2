"""Model-based test: three drives on one prefix, random work and syncs, faults on at random.

Hypothesis picks the steps (create, edit, delete, rename, sync, faults on/off) in any order.
At the end the faults stop and every drive syncs twice: all drives must hold the same tree,
equal to the prefix's current state, and every content a drive held when it synced must
still be retrievable (a current file, a conflict copy, or an S3 version).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from clouddrive import errors
from clouddrive.drive import Drive
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, sync, tree, write
from tests.servers import create_bucket

NAMES = ["a.txt", "b.txt", "docs/c.md", "docs/d.md", "x/y/z.bin"]
FAULTS = [
    Fault.SLOW_DOWN,
    Fault.INTERNAL,
    Fault.RESET_REQUEST,
    Fault.RESET_AFTER_FORWARD,
    Fault.TRUNCATE_BODY,
]

drive_no = st.integers(min_value=0, max_value=2)
names = st.sampled_from(NAMES)
contents = st.binary(max_size=48)


class SharedDrives(RuleBasedStateMachine):
    """Three users of one prefix, seen through a fault-injecting proxy."""

    upstream: str = ""
    faults_fired = 0  #: across all examples: the test checks faults really happened
    syncs = 0

    def __init__(self) -> None:
        super().__init__()
        self.proxy = FaultProxy(self.upstream)
        bucket = create_bucket(self.upstream)
        self.direct = Shared(self.upstream, bucket)
        faulty = Shared(self.proxy.endpoint_url, bucket)
        self.tmp = Path(tempfile.mkdtemp(prefix="cd-model-"))
        self.drives: list[Drive] = [
            faulty.drive(self.tmp / user, user) for user in ("ann", "bob", "cat")
        ]
        self.synced: dict[str, str] = {}

    def present(self, d: int) -> list[str]:
        return sorted(p for p in tree(self.drives[d].root) if p in NAMES)

    # Each change may be followed by a sync of that drive (`then_sync`), so that short
    # programs sync too and faults meet real traffic.

    @rule(d=drive_no, name=names, data=contents, then_sync=st.booleans())
    def write_file(self, d: int, name: str, data: bytes, then_sync: bool) -> None:
        root = self.drives[d].root
        if not ((root / name).parent.is_file() or (root / name).is_dir()):
            write(root, name, data)
        if then_sync:
            self.sync_drive(d)

    @rule(d=drive_no, pick=st.integers(min_value=0), then_sync=st.booleans())
    def delete_file(self, d: int, pick: int, then_sync: bool) -> None:
        present = self.present(d)
        if present:
            (self.drives[d].root / present[pick % len(present)]).unlink()
        if then_sync:
            self.sync_drive(d)

    @rule(d=drive_no, pick=st.integers(min_value=0), dst=names, then_sync=st.booleans())
    def rename_file(self, d: int, pick: int, dst: str, then_sync: bool) -> None:
        present = self.present(d)
        root = self.drives[d].root
        if present and not ((root / dst).parent.is_file() or (root / dst).is_dir()):
            src = root / present[pick % len(present)]
            (root / dst).parent.mkdir(parents=True, exist_ok=True)
            src.replace(root / dst)
        if then_sync:
            self.sync_drive(d)

    @rule(d=drive_no)
    def sync(self, d: int) -> None:
        self.sync_drive(d)

    def sync_drive(self, d: int) -> None:
        drive = self.drives[d]
        for path, data in tree(drive.root).items():
            self.synced.setdefault(hashlib.sha256(data).hexdigest(), f"{drive.user}:{path}")
        SharedDrives.syncs += 1
        # A fault may stop a run; what it finished stays recorded.
        with contextlib.suppress(errors.RemoteError, errors.GuardTripped):
            drive.sync()

    @initialize(fault=st.sampled_from(FAULTS), chance=st.sampled_from([0.15, 0.4]))
    def start_with_faults(self, fault: Fault, chance: float) -> None:
        self.proxy.add(Rule(fault, times=None, chance=chance))

    @rule(fault=st.sampled_from(FAULTS), chance=st.sampled_from([0.15, 0.4]))
    def faults_on(self, fault: Fault, chance: float) -> None:
        self.proxy.add(Rule(fault, times=None, chance=chance))

    @precondition(lambda self: bool(self.proxy.rules))
    @rule()
    def faults_off(self) -> None:
        self.proxy.clear()

    def teardown(self) -> None:
        try:
            SharedDrives.faults_fired += len(self.proxy.log)
            self.proxy.clear()
            for _ in range(2):
                for d in range(len(self.drives)):
                    self.sync_drive(d)
            for drive in self.drives:
                sync(drive)  # a third pass must find nothing left to do, and fail on nothing
            trees = [tree(d.root) for d in self.drives]
            assert all(t == trees[0] for t in trees), "drives did not converge"
            assert trees[0] == self.direct.latest()
            for drive in self.drives:
                assert drive.status().is_empty
            kept = {hashlib.sha256(c).hexdigest() for c in self.direct.all_contents()}
            kept |= {hashlib.sha256(c).hexdigest() for c in trees[0].values()}
            lost = [where for sha, where in self.synced.items() if sha not in kept]
            assert not lost, f"lost contents: {lost}"
        finally:
            for drive in self.drives:
                drive.close()
            self.proxy.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.mark.timeout(600)
def test_three_drives_with_faults_converge_and_lose_nothing(seaweedfs) -> None:  # type: ignore[no-untyped-def]
    """Any order of work, syncs and faults: two rounds of syncing converge; nothing is lost."""
    SharedDrives.upstream = seaweedfs.endpoint_url
    run_state_machine_as_test(
        SharedDrives,
        settings=settings(
            max_examples=10,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=True,
        ),
    )
    assert SharedDrives.faults_fired > 10 and SharedDrives.syncs > 50
