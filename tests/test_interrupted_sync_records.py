"""Issue 9 item 5: after SIGKILL (or a stop) at any moment of a sync, `deleted` names the
deleter of every delete the run made, `activity` lists the run, and `undo` of it works.

The run record is written before the first action (state `running`, with the plan), each
finished action is journalled locally, and the next run of the drive completes the record."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from clouddrive.drive import Drive
from clouddrive.history.records import FINISHED, INTERRUPTED
from clouddrive.sync.outcome import Outcome
from tests.drivekit import Shared, sync, tree, write
from tests.runkit import cli, stored_records

FILES = {f"docs/f{i}.txt": f"file {i}" for i in range(6)}


def _synced(shared: Shared, root: Path, user: str) -> Drive:
    drive = shared.drive(root, user)
    for path, text in FILES.items():
        write(drive.root, path, text)
    sync(drive)
    return drive


def _deleters(drive: Drive) -> dict[str, str]:
    return {d.path: d.deleted_by for d in drive.deleted()}


def test_a_sync_killed_after_its_first_delete_is_named_listed_and_undone(
    shared: Shared, tmp_path: Path
) -> None:
    ann = _synced(shared, tmp_path / "ann", "ann")
    bob = shared.drive(tmp_path / "bob", "bob")
    sync(bob)
    for path in FILES:
        (ann.root / path).unlink()
    killed = cli(ann.root, "sync", "--yes", crash="after-delete-remote")
    assert killed.returncode == -9, killed.stderr  # SIGKILL between the delete and its journal
    gone = [p for p in FILES if shared.latest().get(p) is None]
    assert len(gone) >= 1
    # Before any rerun: bob already sees who deleted it (the plan on S3 names the run).
    assert set(_deleters(bob)) == set(gone) and set(_deleters(bob).values()) == {"ann"}
    [killed_run] = [r for r in stored_records(shared).values() if r.state != FINISHED]

    rerun = cli(ann.root, "sync", "--yes")  # completes the killed run's record, then the rest
    assert rerun.returncode == 0, rerun.stderr
    records = stored_records(shared)
    assert records[killed_run.run_id].state == INTERRUPTED
    assert _deleters(bob) == dict.fromkeys(FILES, "ann")

    activity = json.loads(cli(bob.root, "activity", "--json").stdout)["runs"]
    assert killed_run.run_id in {r["run_id"] for r in activity}

    undone = cli(bob.root, "undo", killed_run.run_id, "--yes")
    assert undone.returncode == 0, undone.stderr
    latest = shared.latest()
    assert {p: latest[p] for p in gone} == {p: FILES[p].encode() for p in gone}


def test_a_stopped_sync_is_recorded_as_interrupted_with_its_deletes(
    shared: Shared, tmp_path: Path
) -> None:
    ann = _synced(shared, tmp_path / "ann", "ann")
    for path in FILES:
        (ann.root / path).unlink()
    stop = threading.Event()
    done: list[Outcome] = []

    def count(outcome: Outcome) -> None:
        done.append(outcome)
        if len(done) == 2:
            stop.set()  # what Ctrl-C and the app's Stop do

    report = ann.sync(cancel=stop, on_outcome=count)
    record = stored_records(shared)[report.run_id]
    assert record.state == (INTERRUPTED if report.cancelled else FINISHED)
    deleted_here = {o.action.path for o in report.done}
    assert {a.path for a in record.actions if a.op == "delete-remote"} == deleted_here
    assert {p: w for p, w in _deleters(ann).items() if p in deleted_here} == dict.fromkeys(
        deleted_here, "ann"
    )
    undone = ann.undo(report.run_id)
    assert not undone.failed
    assert all(shared.latest().get(p) == FILES[p].encode() for p in deleted_here)
    assert set(tree(ann.root)) >= deleted_here  # brought back here at once
