"""Time travel through the engine: deleted, history, restore, restore --at, undo, run records.

Drives share a prefix on SeaweedFS; the S3-level parts (TimeTravel over an S3Remote) also
run against moto. Where a test needs a moment between two states, it sleeps past a second
boundary: S3 stamps versions to the second.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from clouddrive import errors
from clouddrive.history.runs import RunLog
from clouddrive.history.timetravel import TimeTravel
from clouddrive.history.views import META_RESTORED_FROM, UNKNOWN
from clouddrive.ledger import META_SHA256, META_USER, RetryPolicy, S3Remote, connect
from tests.drivekit import sha, sync, tree, write

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.05)


@pytest.fixture
def remote(s3_backend, make_bucket) -> S3Remote:  # type: ignore[no-untyped-def]
    bucket = make_bucket(s3_backend)
    return connect(bucket, "drive", endpoint_url=s3_backend.endpoint_url, retry=FAST)


def converge(*drives) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        for d in drives:
            sync(d)


def put(remote: S3Remote, path: str, data: bytes, user: str = "tester") -> str:
    meta = {META_SHA256: hashlib.sha256(data).hexdigest(), META_USER: user}
    return remote.upload(path, data, metadata=meta, if_match=None).version_id


def put_over(remote: S3Remote, path: str, data: bytes, user: str = "tester") -> str:
    """An unconditional new version (as another tool would write it)."""
    key = remote.key(path)
    meta = {META_SHA256: hashlib.sha256(data).hexdigest(), META_USER: user}
    resp = remote.client.put_object(Bucket=remote.bucket, Key=key, Body=data, Metadata=meta)
    return str(resp["VersionId"])


def next_second() -> datetime:
    """A moment strictly between what happened before and what happens after: just past a
    second boundary, then wait for the next one (S3 stamps versions to the second)."""
    time.sleep(math.ceil(time.time()) - time.time() + 0.02)
    moment = datetime.now(UTC)
    time.sleep(math.ceil(time.time()) - time.time() + 0.05)
    return moment


class TestDeletedAndRestoreDeleted:
    def test_two_drives_delete_see_restore_converge(self, two, shared) -> None:
        """A deletes and syncs, B sees it with A's name and time, restores it, both have it."""
        a, b = two
        write(a.root, "docs/plan.txt", "the original bytes")
        converge(a, b)
        original = shared.versions("docs/plan.txt")[0]["VersionId"]
        (a.root / "docs/plan.txt").unlink()
        before = datetime.now(UTC) - timedelta(seconds=2)
        sync(a)
        sync(b)
        assert "docs/plan.txt" not in tree(b.root)
        (gone,) = b.deleted()
        assert gone.path == "docs/plan.txt" and gone.deleted_by == "ann"
        assert before <= gone.deleted_at <= datetime.now(UTC) + timedelta(seconds=2)
        assert (gone.size, gone.author, gone.version_id) == (18, "ann", original)
        assert gone.markers == 1 and gone.deleted_run is not None
        assert gone.recoverable_until is None  # no lifecycle rule on this bucket
        report = b.restore_deleted(["docs/plan.txt"])
        assert [r.step.path for r in report.done] == ["docs/plan.txt"] and not report.failed
        assert report.downloaded == ["docs/plan.txt"]  # "also downloads it at once"
        assert tree(b.root) == {"docs/plan.txt": b"the original bytes"}
        sync(a)
        sync(b)
        assert tree(a.root) == tree(b.root) == {"docs/plan.txt": b"the original bytes"}
        history = a.history("docs/plan.txt")
        assert [(h.is_delete_marker, h.author) for h in history] == [
            (False, "bob"),
            (True, "ann"),
            (False, "ann"),
        ]
        assert history[0].is_latest and history[0].restored_from == original
        assert history[2].version_id == original
        assert b.deleted() == []

    def test_deleted_folder_comes_back_whole(self, two, shared) -> None:
        """Every key under a deleted folder is listed and restored; each path is reported."""
        a, b = two
        files = {f"proj/{n}": f"content {n}" for n in ("a.txt", "b.txt", "sub/c.txt")}
        for path, text in files.items():
            write(a.root, path, text)
        write(a.root, "proj-notes.txt", "a sibling, not in the folder")
        converge(a, b)
        for path in files:
            (a.root / path).unlink()
        (a.root / "proj-notes.txt").unlink()
        sync(a, max_delete=10)
        sync(b, max_delete=10)
        assert {d.path for d in b.deleted("proj")} == set(files)
        assert {d.deleted_by for d in b.deleted("proj")} == {"ann"}
        report = b.restore_deleted(["proj"])
        assert sorted(r.step.path for r in report.done) == sorted(files)
        assert not report.plan.skipped
        assert {p: c.decode() for p, c in tree(b.root).items()} == files
        assert [d.path for d in b.deleted()] == ["proj-notes.txt"]

    def test_file_deleted_twice_has_stacked_markers(self, two, shared) -> None:
        """Two delete markers on top: both counted, the hiding one named, content restored."""
        a, _ = two
        write(a.root, "twice.txt", "keep me")
        sync(a)
        (a.root / "twice.txt").unlink()
        sync(a)
        shared.client().delete_object(Bucket=shared.bucket, Key="team/twice.txt")  # outside
        (gone,) = a.deleted()
        assert gone.markers == 2 and gone.deleted_by == "ann"  # who hid the content
        history = a.history("twice.txt")
        assert [h.is_delete_marker for h in history] == [True, True, False]
        assert [h.author for h in history] == [UNKNOWN, "ann", "ann"]
        a.restore_deleted(["twice.txt"])
        assert tree(a.root) == {"twice.txt": b"keep me"}
        assert shared.latest() == {"twice.txt": b"keep me"}

    def test_delete_from_outside_clouddrive_is_by_unknown(self, two, shared) -> None:
        """A delete marker no run record names is 'unknown'."""
        a, _ = two
        write(a.root, "x.txt", "x")
        sync(a)
        shared.client().delete_object(Bucket=shared.bucket, Key="team/x.txt")
        (gone,) = a.deleted()
        assert gone.deleted_by == UNKNOWN and gone.deleted_run is None and gone.author == "ann"

    def test_restoring_a_path_that_is_not_deleted_changes_nothing(self, two, shared) -> None:
        """Not deleted (or never there): a clear reason, no step, no new version."""
        a, _ = two
        write(a.root, "alive.txt", "still here")
        sync(a)
        plan = a.plan_restore_deleted(["alive.txt", "never.txt"])
        assert plan.is_empty
        assert [(s.path, s.reason.split(":")[0]) for s in plan.skipped] == [
            ("alive.txt", "not deleted"),
            ("never.txt", "not on S3"),
        ]
        report = a.apply(plan)
        assert report.results == [] and report.record_key is None
        assert len(shared.versions("alive.txt")) == 1

    def test_restore_leaves_unrelated_and_conflicting_local_changes_alone(
        self, two, shared
    ) -> None:
        """Bringing a restore down touches only restored paths and never uploads."""
        a, b = two
        write(a.root, "gone.txt", "old")
        write(a.root, "other.txt", "shared")
        converge(a, b)
        (a.root / "gone.txt").unlink()
        sync(a)
        sync(b)
        write(b.root, "other.txt", "bob's unsynced edit")
        write(b.root, "gone.txt", "bob's new unrelated file at that path")
        report = b.restore_deleted(["gone.txt"])
        assert report.done and report.downloaded == []
        assert [s.path for s in report.left_for_sync] == ["gone.txt"]
        assert "keeps both" in report.left_for_sync[0].reason
        assert shared.latest() == {"gone.txt": b"old", "other.txt": b"shared"}
        assert tree(b.root)["other.txt"] == b"bob's unsynced edit"

    def test_since_limits_what_comes_back(self, two, shared) -> None:
        """--since restores only what was deleted after that moment."""
        a, _ = two
        write(a.root, "early.txt", "e")
        write(a.root, "late.txt", "l")
        sync(a)
        (a.root / "early.txt").unlink()
        sync(a)
        moment = next_second()
        (a.root / "late.txt").unlink()
        sync(a)
        report = a.restore_deleted(everything=True, since=moment)
        assert [r.step.path for r in report.done] == ["late.txt"]
        assert tree(a.root) == {"late.txt": b"l"}

    def test_recoverable_until_follows_the_lifecycle_rule(self, two, shared) -> None:
        """With a noncurrent-expiry rule for the prefix, the date is the marker's + days."""
        a, _ = two
        write(a.root, "r.txt", "r")
        sync(a)
        (a.root / "r.txt").unlink()
        sync(a)
        a.remote.put_lifecycle_rules(
            [
                {
                    "ID": "keep-30",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "team/"},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                }
            ]
        )
        (gone,) = a.deleted()
        assert gone.recoverable_until is not None and gone.lifecycle_rule == "keep-30"
        days = (gone.recoverable_until - gone.deleted_at).total_seconds() / 86400
        assert 30 <= days <= 31 and gone.recoverable_until.hour == 0


class TestHistoryAndRestoreVersion:
    def test_restore_a_version_copies_it_forward(self, two, shared) -> None:
        """An old version becomes current again; the versions in between stay."""
        a, b = two
        for text in ("v1", "v2 longer", "v3 longest"):
            write(a.root, "f.txt", text)
            sync(a)
        sync(b)
        history = b.history("f.txt")
        assert [h.size for h in history] == [10, 9, 2]
        report = b.restore("f.txt", version_id=history[2].version_id)
        assert report.downloaded == ["f.txt"] and tree(b.root) == {"f.txt": b"v1"}
        after = b.history("f.txt")
        assert len(after) == 4 and after[0].restored_from == history[2].version_id
        assert after[0].author == "bob" and [h.version_id for h in after[1:]] == [
            h.version_id for h in history
        ]
        head = shared.client().head_object(Bucket=shared.bucket, Key="team/f.txt")
        assert head["Metadata"]["clouddrive-sha256"] == sha(b"v1")
        assert head["Metadata"]["clouddrive-parent"] == history[0].version_id
        sync(a)
        assert tree(a.root) == {"f.txt": b"v1"}

    def test_restoring_the_current_version_is_refused(self, two, shared) -> None:
        """Nothing to do: a clear reason, nothing written."""
        a, _ = two
        write(a.root, "f.txt", "only")
        sync(a)
        (current,) = a.history("f.txt")
        plan = a.plan_restore("f.txt", version_id=current.version_id)
        assert plan.is_empty and "already the current" in plan.skipped[0].reason

    def test_history_of_a_folder_or_nothing_is_a_user_error(self, two) -> None:
        """history takes one file; a folder or an unknown path is a clear error."""
        a, _ = two
        write(a.root, "dir/f.txt", "f")
        sync(a)
        with pytest.raises(errors.UserError, match="is a folder"):
            a.history("dir")
        with pytest.raises(errors.UserError, match="no such file"):
            a.history("nope.txt")


class TestRestoreAt:
    def test_folder_goes_back_to_a_moment_exactly(self, two, shared) -> None:
        """After edits, deletes and new files, every file of the folder is as it was (hash)."""
        a, b = two
        start = {
            "proj/a.txt": "a0",
            "proj/b.txt": "b0",
            "proj/c.txt": "c0",
            "proj/sub/d.bin": "d0" * 100,
            "proj/keep.txt": "unchanged",
            "outside.txt": "o0",
        }
        for path, text in start.items():
            write(a.root, path, text)
        converge(a, b)
        then = {p: sha(c) for p, c in tree(a.root).items() if p.startswith("proj/")}
        moment = next_second()
        write(a.root, "proj/a.txt", "a1 edited")
        (a.root / "proj/b.txt").unlink()
        write(a.root, "proj/new.txt", "created after")
        write(a.root, "proj/sub/d.bin", "d1")
        (a.root / "proj/c.txt").unlink()
        write(a.root, "outside.txt", "o1 (outside the folder)")
        sync(a)
        sync(b)
        write(b.root, "proj/c.txt", "c re-created by bob")
        write(b.root, "proj/sub/d.bin", "d2 by bob")
        sync(b)
        sync(a)
        plan = b.plan_restore("proj", at=moment)
        assert {s.path: s.op.value for s in plan.steps} == {
            "proj/a.txt": "restore",
            "proj/b.txt": "restore",
            "proj/c.txt": "restore",
            "proj/sub/d.bin": "restore",
            "proj/new.txt": "delete",
        }
        report = b.apply(plan)
        assert len(report.done) == 5 and not report.failed
        on_s3 = {p: sha(c) for p, c in shared.latest().items() if p.startswith("proj/")}
        assert on_s3 == then
        assert {p: sha(c) for p, c in tree(b.root).items() if p.startswith("proj/")} == then
        assert shared.latest()["outside.txt"] == b"o1 (outside the folder)"
        converge(a, b)
        assert {p: sha(c) for p, c in tree(a.root).items() if p.startswith("proj/")} == then
        assert tree(a.root)["outside.txt"] == b"o1 (outside the folder)"
        assert b.plan_restore("proj", at=moment).is_empty  # already that way

    def test_future_and_empty_are_user_errors(self, two) -> None:
        """A moment in the future, or a folder with nothing in it, is refused."""
        a, _ = two
        write(a.root, "x.txt", "x")
        sync(a)
        with pytest.raises(errors.UserError, match="future"):
            a.plan_restore("", at=datetime.now(UTC) + timedelta(hours=1))
        with pytest.raises(errors.UserError, match="nothing on S3"):
            a.plan_restore("nothing-here", at=datetime.now(UTC))


class TestUndo:
    def test_undo_reverts_exactly_one_run(self, two, shared) -> None:
        """Each key of the run goes back; later changes and other runs stay."""
        a, b = two
        for path, text in {"x.txt": "x0", "z.txt": "z0", "w.txt": "w0", "later.txt": "l0"}.items():
            write(a.root, path, text)
        converge(a, b)
        write(a.root, "x.txt", "x1 by ann")
        write(a.root, "y.txt", "y created by ann")
        (a.root / "z.txt").unlink()
        write(a.root, "later.txt", "l1 by ann")
        run = sync(a)
        sync(b)
        write(b.root, "w.txt", "w1 by bob")
        write(b.root, "later.txt", "l2 by bob, after ann's run")
        sync(b)
        plan = b.plan_undo(run.run_id)
        assert {s.path: s.op.value for s in plan.steps} == {
            "x.txt": "restore",
            "y.txt": "delete",
            "z.txt": "restore",
        }
        assert [s.path for s in plan.skipped] == ["later.txt"]
        assert "since that run" in plan.skipped[0].reason
        report = b.apply(plan)
        assert len(report.done) == 3
        assert shared.latest() == {
            "x.txt": b"x0",
            "z.txt": b"z0",
            "w.txt": b"w1 by bob",
            "later.txt": b"l2 by bob, after ann's run",
        }
        converge(a, b)
        assert tree(a.root) == tree(b.root) == shared.latest()
        feed = a.activity()
        assert feed[0].kind in ("sync", "pull")
        undo = next(r for r in feed if r.kind == "undo")
        assert undo.undo_of == run.run_id and undo.user == "bob"
        assert {x.op for x in undo.remote_actions} == {"restore", "delete-remote"}
        assert {(x.op, x.path) for x in undo.actions if x not in undo.remote_actions} == {
            ("download", "x.txt"),
            ("download", "z.txt"),
            ("delete-local", "y.txt"),
        }  # what bringing the undo into bob's folder did: in the same record

    def test_undo_of_an_undo_redoes(self, two, shared) -> None:
        """Undo runs are runs too: undoing one puts the run's changes back."""
        a, _ = two
        write(a.root, "f.txt", "before")
        sync(a)
        write(a.root, "f.txt", "after")
        run = sync(a)
        undo = a.undo(run.run_id)
        assert shared.latest() == {"f.txt": b"before"} and tree(a.root) == {"f.txt": b"before"}
        a.undo(undo.run_id)
        assert shared.latest() == {"f.txt": b"after"} and tree(a.root) == {"f.txt": b"after"}

    def test_unknown_run_and_local_only_run(self, two) -> None:
        """An unknown run id, or a run that only downloaded, is a clear user error."""
        a, b = two
        write(a.root, "f.txt", "f")
        sync(a)
        pulled = sync(b)
        with pytest.raises(errors.UserError, match="no run"):
            a.plan_undo("0123456789")
        with pytest.raises(errors.UserError, match="changed nothing on S3"):
            a.plan_undo(pulled.run_id)


class TestRunRecords:
    def test_old_records_stay_readable_and_are_cached(self, two, shared) -> None:
        """A record written before `kind`/`format` existed reads as a sync; reads are cached."""
        a, _ = two
        old = (
            b'{"run_id": "abcdef0123", "user": "old", "host": "h", '
            b'"started": "2024-01-01T00:00:00+00:00", "finished": "2024-01-01T00:00:01+00:00", '
            b'"actions": [{"op": "upload", "path": "p", "version_id": "v", "parent": null}], '
            b'"failed": []}'
        )
        a.remote.put_bytes(".clouddrive/runs/20240101T000000Z-old-abcdef0123.json", old)
        a.remote.put_bytes(".clouddrive/runs/not-a-record.json", b"{}")
        (record,) = a.activity()
        assert (record.kind, record.user, record.run_id) == ("sync", "old", "abcdef0123")
        assert record.actions[0].version_id == "v"
        cached = a.root / ".clouddrive/cache/runs/20240101T000000Z-old-abcdef0123.json"
        assert cached.read_bytes() == old
        assert a.runs.find("abcdef").run_id == "abcdef0123"
        assert a.activity(since=datetime(2024, 1, 2, tzinfo=UTC)) == []

    def test_limit_picks_the_newest_within_one_second(self, two) -> None:
        """Keys name whole seconds: the newest run of a busy second still comes first."""
        a, _ = two
        for run_id, micro in (("a1", 900000), ("b2", 500000), ("c3", 100000)):
            body = (
                f'{{"run_id": "{run_id}", "user": "u", "started": '
                f'"2024-01-01T00:00:00.{micro:06d}+00:00", "actions": []}}'
            )
            a.remote.put_bytes(f".clouddrive/runs/20240101T000000Z-u-{run_id}.json", body.encode())
        assert [r.run_id for r in a.activity(limit=1)] == ["a1"]
        assert [r.run_id for r in a.activity(limit=2)] == ["a1", "b2"]
        assert a.activity(limit=0) == []


class TestS3Level:
    """TimeTravel over a bare S3Remote, on SeaweedFS and on moto."""

    def test_stacked_markers_restore_and_not_deleted(self, remote: S3Remote, s3_backend) -> None:
        """Deleted twice: restored once with the last content; a live path is left alone."""
        tt = TimeTravel(remote, "ann")
        first = put(remote, "d/f.txt", b"one")
        put_over(remote, "d/f.txt", b"two")
        put(remote, "d/live.txt", b"live")
        remote.delete("d/f.txt", if_match=None)
        remote.delete("d/f.txt", if_match=None)
        (gone,) = tt.deleted()
        assert gone.path == "d/f.txt" and gone.size == 3 and gone.deleted_by == UNKNOWN
        if s3_backend.name == "seaweedfs":  # moto lists markers apart: same-second order is lost
            assert gone.markers == 2
        assert gone.version_id != first
        report = tt.execute(tt.plan_restore_deleted(["d"]))
        assert [r.step.path for r in report.done] == ["d/f.txt"]
        entry = remote.latest("d/f.txt")
        assert entry is not None and not entry.is_delete_marker and entry.size == 3
        again = tt.plan_restore_deleted(["d/f.txt", "d/live.txt"])
        assert again.is_empty and {s.path for s in again.skipped} == {"d/f.txt", "d/live.txt"}
        assert len(remote.versions("d/f.txt")) == 5  # nothing written by the refused plan

    def test_hundreds_of_versions_paginate_in_true_order(
        self, remote: S3Remote, s3_backend
    ) -> None:
        """A key with hundreds of entries over many pages: all listed, newest first."""
        written: list[tuple[str, bool]] = []
        for i in range(240):
            written.append((put_over(remote, "many.txt", f"v{i}".encode()), False))
            if i % 60 == 59 and i < 239:
                written.append((remote.delete("many.txt", if_match=None), True))
        put(remote, "other.txt", b"o")
        remote.page_size = 50
        tt = TimeTravel(remote, "ann", workers=16)
        history = tt.history("many.txt")
        assert len(history) == len(written) == 243
        assert history[0].version_id == written[-1][0] and history[0].is_latest
        if s3_backend.name == "seaweedfs":  # interleaved listing: the exact order survives
            assert [(h.version_id, h.is_delete_marker) for h in history] == written[::-1]
        else:
            assert {h.version_id for h in history} == {vid for vid, _ in written}
        assert {h.author for h in history if not h.is_delete_marker} == {"tester"}
        steps = tt.plan_restore_version("many.txt", written[0][0]).steps
        assert steps[0].source is not None and steps[0].source.version_id == written[0][0]

    def test_large_restore_goes_by_multipart_copy(self, remote: S3Remote) -> None:
        """Past copy_limit a restore is a multipart copy, with metadata and bytes intact."""
        remote.copy_limit = 5 * 1024 * 1024
        remote.part_size = 5 * 1024 * 1024
        big = bytes(range(256)) * (45 * 1024)  # 11.25 MiB: three parts
        first = put(remote, "big.bin", big, user="ann")
        put_over(remote, "big.bin", b"small now")
        tt = TimeTravel(remote, "bob")
        report = tt.execute(tt.plan_restore_version("big.bin", first))
        assert len(report.done) == 1
        head = remote.head_version("big.bin", report.done[0].version_id or "")
        assert head["ETag"].strip('"').endswith("-3")  # made of parts
        assert head["Metadata"][META_RESTORED_FROM] == first
        assert head["Metadata"][META_SHA256] == hashlib.sha256(big).hexdigest()
        assert head["Metadata"][META_USER] == "bob"
        body = remote.client.get_object(Bucket=remote.bucket, Key=remote.key("big.bin"))
        assert body["Body"].read() == big

    def test_restore_at_and_undo_with_run_records(self, remote: S3Remote) -> None:
        """A folder back to a moment; the run is recorded and its undo reverts it."""
        tt = TimeTravel(remote, "ann", runs=RunLog(remote))
        put(remote, "f/a", b"a0")
        put(remote, "f/b", b"b0")
        moment = next_second()
        put_over(remote, "f/a", b"a1")
        remote.delete("f/b", if_match=None)
        put(remote, "f/c", b"c1")
        report = tt.execute(tt.plan_restore_at("f", moment))
        assert len(report.done) == 3 and report.record_key is not None
        assert {p: remote.latest(p).is_delete_marker for p in ("f/a", "f/b", "f/c")} == {  # type: ignore[union-attr]
            "f/a": False,
            "f/b": False,
            "f/c": True,
        }
        (record,) = tt.activity()
        assert record.kind == "restore-at" and record.at is not None
        undo = tt.execute(tt.plan_undo(record.run_id))
        assert len(undo.done) == 3
        latest = {p: remote.latest(p) for p in ("f/a", "f/b", "f/c")}
        assert latest["f/b"].is_delete_marker  # type: ignore[union-attr]
        assert not latest["f/a"].is_delete_marker and latest["f/a"].size == 2  # type: ignore[union-attr]

    def test_a_step_whose_key_changed_since_the_plan_is_left_alone(self, remote: S3Remote) -> None:
        """Someone writes between plan and run: that step fails, nothing is overwritten."""
        tt = TimeTravel(remote, "ann")
        put(remote, "r.txt", b"one")
        remote.delete("r.txt", if_match=None)
        plan = tt.plan_restore_deleted(["r.txt"])
        newer = put(remote, "r.txt", b"someone re-created it")
        report = tt.execute(plan)
        assert report.done == [] and "changed on S3 since the plan" in (
            report.failed[0].error or ""
        )
        assert remote.latest("r.txt").version_id == newer  # type: ignore[union-attr]
