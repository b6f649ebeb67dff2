"""Multi-drive scenarios read from files, checked against golden transcripts (rclone bisync's
`testdata/<case>/` style): the decision table of the sync model (the design's sync-model.md),
case by case, plus conflicts, lost races, renames and an edit against a delete.

Each case is a folder `tests/testdata/<case>/` with
- `steps.txt`: one step a line (shell quoting; `#` starts a comment):
    drives ann bob [carol]        the drives of the case (own roots, one shared prefix)
    write DRIVE PATH TEXT         create or edit a file
    delete DRIVE PATH             remove a file
    rename DRIVE OLD NEW          rename a file
    sync DRIVE                    sync; the transcript gets the plan and every outcome
    status DRIVE                  plan only (nothing changes); the transcript gets the plan
    race DRIVE PATH TEXT BY       during DRIVE's next sync, just before its write to PATH,
                                  BY writes TEXT there first (a lost conditional-write race)
- `golden.txt`: the transcript the steps must produce: each sync's plan (kind, path, local and
  remote change) and outcomes, then every drive's files and every key's history at the end.
  Conflict-copy times are masked.

The cases run on the in-memory ledger (`tests/fakes/ledger.py`, fast) and, marked slow, on
SeaweedFS: the same golden file for both, so the fake is held to the real server's behaviour.

After a deliberate change of behaviour, regenerate the golden files with
    python -m pytest tests/test_scenarios.py -m "not slow" --update-golden
and read the diff (`git diff tests/testdata`) before committing it.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from clouddrive.core.models import Plan, RemoteEntry
from clouddrive.core.timeline import Entry
from clouddrive.drive import Drive
from clouddrive.ledger import META_SHA256, META_USER
from clouddrive.local.config import DriveConfig
from clouddrive.local.scanner import FsTraits
from clouddrive.sync.report import SyncReport
from tests.drivekit import Shared, tree, write
from tests.fakes.ledger import FakeBucket, FakeRemote

DATA = Path(__file__).parent / "testdata"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "steps.txt").is_file())
_CONFLICT_TIME = re.compile(r"\(conflict (\S+) \d{4}-\d\d-\d\d \d{6}\)")

MakeDrive = Callable[[Path, str], Drive]


def fake_drives(tmp: Path) -> MakeDrive:
    bucket = FakeBucket()

    def make(root: Path, user: str) -> Drive:
        root.mkdir(parents=True)
        cfg = DriveConfig(bucket=bucket.name, prefix="team", user=user, workers=2)
        cfg.save(root)
        return Drive(root, cfg, remote=FakeRemote(bucket, "team"), fs_traits=FsTraits())  # type: ignore[arg-type]

    return make


class Transcript:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(_CONFLICT_TIME.sub(r"(conflict \1 <time>)", line.rstrip()))

    def plan(self, plan: Plan) -> None:
        for a in sorted(plan.actions, key=lambda a: a.path):
            self.add(f"  plan  {a.kind:<13} {a.path:<24} local {a.local_change}, "
                     f"remote {a.remote_change}")  # fmt: skip
        for path in plan.vanished:
            self.add(f"  vanished {path}")
        if not plan.actions and not plan.vanished:
            self.add("  plan  (nothing to do)")

    def report(self, report: SyncReport) -> None:
        self.plan(report.plan)
        for o in sorted(report.outcomes, key=lambda o: (o.action.path, o.action.kind)):
            state = "done" if o.ok else f"FAILED ({o.error})"
            ops = ", ".join(f"{t.op} {t.path}" for t in o.transfers) or "bookkeeping"
            self.add(f"  {state:<5} {o.action.kind:<13} {o.action.path}: {ops}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _show(data: bytes | None) -> str:
    return "<deleted>" if data is None else repr(data.decode())


@contextmanager
def racing(drive: Drive, path: str, text: str, by: Drive) -> Iterator[None]:
    """`by` wins the race to `path`: its write lands just before `drive`'s first write there."""
    remote: Any = drive.remote
    upload, start_upload, delete = remote.upload, remote.start_upload, remote.delete
    pending = [True]

    def first() -> None:
        if pending.pop() if pending else False:
            data = text.encode()
            latest = by.remote.latest(path)
            if_match = latest.etag if latest and not latest.is_delete_marker else None
            meta = {META_SHA256: hashlib.sha256(data).hexdigest(), META_USER: by.user}
            by.remote.upload(path, data, metadata=meta, if_match=if_match)

    def raced_upload(p: str, *args: Any, **kwargs: Any) -> Any:
        if p == path:
            first()
        return upload(p, *args, **kwargs)

    def raced_start_upload(p: str, *args: Any, **kwargs: Any) -> Any:  # sent ahead
        if p == path:
            first()
        return start_upload(p, *args, **kwargs)

    def raced_delete(p: str, *args: Any, **kwargs: Any) -> Any:
        if p == path:
            first()
        return delete(p, *args, **kwargs)

    remote.upload, remote.start_upload = raced_upload, raced_start_upload
    remote.delete = raced_delete
    try:
        yield
    finally:
        del remote.upload, remote.start_upload, remote.delete


def run_case(case: str, tmp: Path, make: MakeDrive) -> str:
    """Play a case's steps; its transcript."""
    out = Transcript()
    drives: dict[str, Drive] = {}
    races: dict[str, tuple[str, str, str]] = {}
    steps = (DATA / case / "steps.txt").read_text().splitlines()
    try:
        for line in steps:
            words = shlex.split(line, comments=True)
            if not words:
                continue
            op, args = words[0], words[1:]
            out.add(f"$ {line.split('#')[0].strip()}")
            if op == "drives":
                drives = {user: make(tmp / user, user) for user in args}
                continue
            drive = drives[args[0]]
            if op == "write":
                write(drive.root, args[1], args[2])
            elif op == "delete":
                (drive.root / args[1]).unlink()
            elif op == "rename":
                (drive.root / args[1]).rename(drive.root / args[2])
            elif op == "status":
                out.plan(drive.status())
            elif op == "race":
                races[args[0]] = (args[1], args[2], args[3])
            elif op == "sync":
                if args[0] in races:
                    path, text, by = races.pop(args[0])
                    with racing(drive, path, text, drives[by]):
                        out.report(drive.sync())
                else:
                    out.report(drive.sync())
            else:
                raise ValueError(f"{case}: unknown step {line!r}")
        out.add("# files")
        for user, drive in drives.items():
            files = tree(drive.root)
            shown = ", ".join(f"{p}={_show(c)}" for p, c in sorted(files.items()))
            out.add(f"  {user}: {shown or '(empty)'}")
        out.add("# S3: newest entry (older entries)")
        any_drive = next(iter(drives.values()))
        for history in sorted(any_drive.remote.histories(), key=lambda h: h.path):
            contents = [_content(any_drive, history.path, e, tmp / "peek") for e in history.entries]
            older = ", ".join(sorted(contents[1:]))
            out.add(f"  {history.path} = {contents[0]} ({older})")
    finally:
        for drive in drives.values():
            drive.close()
    return out.text()


def _content(drive: Drive, path: str, entry: Entry, scratch: Path) -> str:
    """One history entry's content, read back through the drive's ledger."""
    if entry.is_delete_marker:
        return "<deleted>"
    ref = RemoteEntry(
        path, drive.remote.key(path), entry.version_id, False, entry.modified, entry.etag,
        entry.size,
    )  # fmt: skip
    drive.remote.download(ref, scratch)
    return _show(scratch.read_bytes())


def check(case: str, transcript: str, update: bool) -> None:
    golden = DATA / case / "golden.txt"
    if update:
        golden.write_text(transcript)
        return
    assert golden.is_file(), f"no {golden}: run with --update-golden to create it"
    assert transcript == golden.read_text()


@pytest.mark.parametrize("case", CASES)
def test_scenario_on_the_fake(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The case on the in-memory ledger gives its golden transcript."""
    transcript = run_case(case, tmp_path, fake_drives(tmp_path))
    check(case, transcript, bool(request.config.getoption("--update-golden")))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_scenario_on_seaweedfs(case: str, tmp_path: Path, shared: Shared) -> None:
    """The same case on SeaweedFS gives the same transcript."""

    check(case, run_case(case, tmp_path, shared.drive), update=False)
