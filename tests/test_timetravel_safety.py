"""Time travel checks, then acts, and finishes what an interrupt left (issue 9, items 5, 6, 14).

- A writer that lands between a step's check and its write is never overwritten silently:
  SeaweedFS refuses the conditional copy (the step is reported, the record does not name
  it); moto ignores the condition, so the check afterwards reports the race.
- A multipart copy records the version its CompleteMultipartUpload made, not whatever is
  newest afterwards.
- A run record is on S3 before the first step (`running`), and an interrupted run is
  completed by the next run of the drive (`interrupted`, with its finished actions): its
  deletes name their deleter, the feed lists it, and it can be undone.
- `undo R` killed mid-way and run again finishes the same plan: nothing reads as "changed
  again since that run", and one record names each version the run wrote, once.
"""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path
from typing import Any

import pytest

from clouddrive.embedded.launch import ServerInfo
from clouddrive.history.plans import TimeTravelPlan
from clouddrive.history.records import FINISHED, INTERRUPTED, RUNNING, RunAction, record_relkey
from clouddrive.history.runs import RunLog
from clouddrive.history.timetravel import TimeTravel
from clouddrive.history.views import META_RESTORED_FROM
from clouddrive.ledger import META_SHA256, META_USER, RetryPolicy, S3Remote, connect
from tests.drivekit import Shared, sync, tree, write
from tests.runkit import cli, journal, killed_after, stored_records
from tests.test_timetravel import next_second

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.05)


def put(remote: S3Remote, path: str, data: bytes, user: str = "tester") -> str:
    meta = {META_SHA256: hashlib.sha256(data).hexdigest(), META_USER: user}
    resp = remote.client.put_object(
        Bucket=remote.bucket, Key=remote.key(path), Body=data, Metadata=meta
    )
    return str(resp["VersionId"])


def writer_before_step(remote: S3Remote, path: str, data: bytes) -> list[str]:
    """Make another writer land just after the step for `path` checked the key (its
    `latest`) and before it writes; the versions that writer made."""
    landed: list[str] = []
    real = remote.latest

    def latest(p: str) -> Any:
        found = real(p)
        if p == path and not landed:
            landed.append(put(remote, path, data, user="intruder"))
        return found

    remote.latest = latest  # type: ignore[method-assign]
    return landed


@pytest.fixture
def weed(seaweedfs: ServerInfo, bucket: str) -> S3Remote:
    return connect(bucket, "drive", endpoint_url=seaweedfs.endpoint_url, retry=FAST)


class TestCheckThenAct:
    def test_seaweedfs_refuses_the_copy_and_the_record_leaves_it_out(self, weed: S3Remote) -> None:
        old = {p: put(weed, p, f"{p} v1".encode()) for p in ("a.txt", "b.txt")}
        for p in old:
            put(weed, p, f"{p} v2".encode())
        runs = RunLog(weed)
        tt = TimeTravel(weed, "ann", runs=runs, workers=1)
        plan = tt.plan_restore_version("a.txt", old["a.txt"])
        other = tt.plan_restore_version("b.txt", old["b.txt"])
        plan = TimeTravelPlan(kind="restore", title="two", steps=plan.steps + other.steps)
        landed = writer_before_step(weed, "a.txt", b"the intruder's edit")
        report = tt.execute(plan)
        assert [r.step.path for r in report.failed] == ["a.txt"]
        assert "changed on S3 since the plan" in (report.failed[0].error or "")
        assert weed.latest("a.txt").version_id == landed[0]  # type: ignore[union-attr]
        record = stored_records_of(weed)[report.run_id]
        assert record.state == FINISHED
        assert [(a.path, a.version_id) for a in record.actions] == [
            ("b.txt", report.done[0].version_id)
        ]
        assert [f["path"] for f in record.failed] == ["a.txt"]

    def test_moto_ignores_the_condition_and_the_race_is_reported(
        self, moto_server: Any, make_bucket: Any
    ) -> None:
        remote = connect(
            make_bucket(moto_server), "drive", endpoint_url=moto_server.endpoint_url, retry=FAST
        )
        first = put(remote, "a.txt", b"v1")
        put(remote, "a.txt", b"v2")
        tt = TimeTravel(remote, "ann", workers=1)
        plan = tt.plan_restore_version("a.txt", first)
        landed = writer_before_step(remote, "a.txt", b"the intruder's edit")
        report = tt.execute(plan)
        (result,) = report.results
        assert result.race is not None and landed[0] in result.race
        assert report.races == [result]
        versions = [v["VersionId"] for v in remote.versions("a.txt")]
        assert versions[:2] == [result.version_id, landed[0]]  # both kept, ours on top

    def test_multipart_copy_records_its_own_version(self, weed: S3Remote) -> None:
        weed.copy_limit = 1  # every copy goes by parts
        first = put(weed, "big.bin", b"x" * 1000)
        put(weed, "big.bin", b"y" * 10)
        tt = TimeTravel(weed, "ann", runs=RunLog(weed), workers=1)
        plan = tt.plan_restore_version("big.bin", first)
        after: list[str] = []

        def land(**_: Any) -> None:
            if not after:
                after.append(put(weed, "big.bin", b"written right after the copy"))

        weed.client.meta.events.register("after-call.s3.CompleteMultipartUpload", land)
        report = tt.execute(plan)
        (done,) = report.done
        assert after and done.version_id != after[0]
        head = weed.head_version("big.bin", done.version_id or "")
        assert head["Metadata"][META_RESTORED_FROM] == first
        record = stored_records_of(weed)[report.run_id]
        assert [a.version_id for a in record.actions] == [done.version_id]


def stored_records_of(remote: S3Remote) -> dict[str, Any]:
    runs = RunLog(remote)
    return {r.run_id: r for r in runs.read_many(runs.refs())}


class TestRecordsSurviveInterrupts:
    def test_a_killed_run_is_completed_by_the_next_run(
        self, shared: Shared, tmp_path: Path
    ) -> None:
        a = shared.drive(tmp_path / "ann", "ann")
        for name in ("one.txt", "two.txt", "three.txt"):
            write(a.root, name, name)
        sync(a)
        a.close()

        def run_then_crash() -> None:
            drive = shared.drive(a.root, "ann")
            planned = [RunAction("delete-remote", n, None, None) for n in ("one.txt", "two.txt")]
            run = drive.runs.start(kind="sync", user="ann", planned=planned)
            base = drive.remote.latest("one.txt")
            assert base is not None
            marker = drive.remote.delete("one.txt", if_match=base.etag)
            run.done(RunAction("delete-remote", "one.txt", marker, base.version_id))

        killed_after(run_then_crash)
        (run_id,) = journal(a)
        stored = stored_records(shared)[run_id]
        assert stored.state == RUNNING and [p.path for p in stored.planned] == [
            "one.txt",
            "two.txt",
        ]
        marker = a.remote.latest("one.txt").version_id  # type: ignore[union-attr]
        # Until a later run completes the record, its plan names the deleter.
        assert [(d.path, d.deleted_by) for d in a.deleted()] == [("one.txt", "ann")]
        later = RunLog(a.remote, cache_dir=a.root / ".clouddrive" / "cache" / "runs")
        (key,) = later.complete_unfinished()
        assert journal(a) == []
        record = stored_records(shared)[run_id]
        assert record.state == INTERRUPTED and record.finished is not None
        assert [(x.path, x.version_id) for x in record.actions] == [("one.txt", marker)]
        assert key == record_key_of(record)
        fresh = shared.drive(tmp_path / "ann2", "bob")
        assert [(d.path, d.deleted_by, d.deleted_run) for d in fresh.deleted()] == [
            ("one.txt", "ann", run_id)
        ]
        (listed,) = [r for r in a.activity() if r.run_id == run_id]
        assert listed.state == INTERRUPTED
        undo = a.undo(run_id)
        assert [r.step.path for r in undo.done] == ["one.txt"]
        assert shared.latest() == {n: n.encode() for n in ("one.txt", "two.txt", "three.txt")}

    def test_a_run_still_going_elsewhere_is_left_alone(
        self, shared: Shared, tmp_path: Path
    ) -> None:
        """Another process of the same drive (a watch, the app) is not "interrupted"."""
        a = shared.drive(tmp_path / "ann", "ann")
        run = a.runs.start(kind="sync", user="ann", planned=[RunAction("upload", "x", None)])
        other = RunLog(a.remote, cache_dir=a.root / ".clouddrive" / "cache" / "runs")
        assert other.complete_unfinished() == []
        assert stored_records(shared)[run.run_id].state == RUNNING
        run.done(RunAction("upload", "x", "v1"))
        assert run.finish() is not None
        assert journal(a) == [] and stored_records(shared)[run.run_id].state == FINISHED


def record_key_of(record: Any) -> str:
    return record_relkey(record.started, record.user, record.run_id)


class TestInterruptedTimeTravel:
    def test_undo_killed_mid_way_then_rerun_finishes_the_same_plan(
        self, shared: Shared, tmp_path: Path
    ) -> None:
        a = shared.drive(tmp_path / "ann", "ann")
        names = [f"f{i}.txt" for i in range(8)]
        for name in names:
            write(a.root, name, f"{name} v1")
        write(a.root, "gone.txt", "deleted by the run")
        sync(a)
        before = shared.latest()
        for name in names:
            write(a.root, name, f"{name} v2")
        (a.root / "gone.txt").unlink()
        run = sync(a)
        a.close()
        killed = cli(a.root, "undo", run.run_id, "--yes", crash="time-travel-write-4")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        halfway = stored_records(shared)
        undo_id = next(r for r in halfway.values() if r.kind == "undo").run_id
        assert halfway[undo_id].state == RUNNING and len(halfway[undo_id].planned) == 9
        rerun = cli(a.root, "undo", run.run_id, "--yes")
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "since that run" not in rerun.stdout + rerun.stderr
        assert shared.latest() == before and tree(a.root) == before
        records = stored_records(shared)
        undos = [r for r in records.values() if r.kind == "undo"]
        assert [u.run_id for u in undos] == [undo_id]  # one run, one record, finished
        (undo,) = undos
        assert undo.state == FINISHED and journal(a) == []
        written = [(x.path, x.version_id) for x in undo.remote_actions]
        assert sorted(p for p, _ in written) == sorted([*names, "gone.txt"])  # each once
        for path, version in written:
            entry = next(v for v in shared.versions(path) if v["VersionId"] == version)
            if path != "gone.txt":
                head = shared.client().head_object(
                    Bucket=shared.bucket, Key=f"{shared.prefix}/{path}", VersionId=version
                )
                assert head["Metadata"][META_RESTORED_FROM]
                assert head["Metadata"][META_USER] == "ann"
            assert entry is not None

    def test_restore_interrupted_after_two_steps_then_rerun_is_one_run(
        self, weed: S3Remote
    ) -> None:
        """Ctrl-C after two steps of a folder restore; the same request again finishes it
        under the same run: one record, each version named once, none by anyone else."""
        paths = [f"f/{i}.txt" for i in range(5)]
        for path in paths:
            put(weed, path, b"old")
        moment = next_second()
        for path in paths:
            put(weed, path, b"new")
        tt = TimeTravel(weed, "ann", runs=RunLog(weed), workers=1)
        seen: list[str] = []

        def interrupt(result: Any) -> None:
            seen.append(result.step.path)
            if len(seen) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            tt.execute(tt.plan_restore_at("f", moment), on_result=interrupt)
        (first,) = stored_records_of(weed).values()
        done_before = len(first.remote_actions)  # the two, and any step already under way
        assert first.state == INTERRUPTED and 2 <= done_before < len(paths)
        again = tt.plan_restore_at("f", moment)
        assert again.resumes is not None and again.resumes.run_id == first.run_id
        report = tt.execute(again)
        assert not report.failed and sum(r.earlier for r in report.results) == done_before
        (record,) = stored_records_of(weed).values()
        assert record.run_id == first.run_id and record.state == FINISHED
        written = sorted((a.path, a.version_id) for a in record.remote_actions)
        assert [p for p, _ in written] == paths
        for path, version in written:
            head = weed.head_version(path, version or "")
            assert head["Metadata"][META_USER] == "ann"
            assert weed.latest(path).version_id == version  # type: ignore[union-attr]
