"""The engine's pieces for the app: resolving one conflict, skipping paths for one run,
transfer-start reports, who changed a key, reading one version (all on SeaweedFS)."""

from __future__ import annotations

import threading

import pytest

from clouddrive import errors
from clouddrive.core.models import Action, ActionKind
from clouddrive.sync.gather import Gatherer
from tests.drivekit import conflict_copies, sync, tree, write


def _conflict(a, b) -> None:  # type: ignore[no-untyped-def]
    """ann and bob both edit f.txt from the same base; bob's edit reaches S3 first."""
    write(a.root, "f.txt", "base")
    sync(a)
    sync(b)
    write(b.root, "f.txt", "bob's edit")
    sync(b)
    write(a.root, "f.txt", "ann's edit")
    [action] = a.status().visible()
    assert action.kind is ActionKind.CONFLICT


class TestResolve:
    def test_keep_mine_uploads_over_theirs_which_stays_in_history(self, two, shared) -> None:
        """Keep mine: yours is current (If-Match theirs), theirs the version before it."""
        a, b = two
        _conflict(a, b)
        [conflict] = a.status().visible()
        assert conflict.remote is not None
        report = a.resolve("f.txt", "mine")
        assert not report.failed and "kept yours" in (report.done[0].note or "")
        assert tree(a.root) == {"f.txt": b"ann's edit"}
        assert shared.contents("f.txt") == (
            b"ann's edit",
            sorted([b"bob's edit", b"base"], key=repr),
        )
        head = shared.client().head_object(Bucket=shared.bucket, Key="team/f.txt")
        assert head["Metadata"]["clouddrive-parent"] == conflict.remote.version_id
        assert a.status().is_empty
        sync(b)
        assert tree(b.root) == {"f.txt": b"ann's edit"}
        [run] = [r for r in a.activity() if r.kind == "resolve"]
        assert run.user == "ann" and [x.op for x in run.actions] == ["upload"]

    def test_keep_theirs_keeps_mine_as_a_deleted_restorable_copy(self, two, shared) -> None:
        """Keep theirs: theirs here, no new version of the key; yours in recently deleted."""
        a, b = two
        _conflict(a, b)
        report = a.resolve("f.txt", "theirs")
        assert not report.failed
        assert tree(a.root) == {"f.txt": b"bob's edit"}
        assert shared.contents("f.txt") == (b"bob's edit", sorted([b"base"], key=repr))
        [gone] = a.deleted()
        assert "(conflict ann " in gone.path and gone.deleted_by == "ann"
        assert gone.path in (report.done[0].note or "")
        assert shared.contents(gone.path) == (None, sorted([b"ann's edit"], key=repr))
        assert a.status().is_empty
        sync(b)
        assert tree(b.root) == {"f.txt": b"bob's edit"}
        a.restore_deleted([gone.path])
        assert tree(a.root)[gone.path] == b"ann's edit"

    def test_keep_both_is_the_sync_conflict_copy(self, two, shared) -> None:
        """Keep both: theirs at the path, yours as an uploaded conflict copy beside it."""
        a, b = two
        _conflict(a, b)
        assert not a.resolve("f.txt", "both").failed
        files = tree(a.root)
        assert files["f.txt"] == b"bob's edit"
        assert list(conflict_copies(files).values()) == [b"ann's edit"]
        assert shared.latest() == files
        assert a.status().is_empty

    def test_not_a_conflict_changes_nothing(self, two, shared) -> None:
        """A path that is no longer in conflict is refused with nothing changed."""
        a, _ = two
        write(a.root, "g.txt", "new")
        with pytest.raises(errors.UserError, match="not in conflict"):
            a.resolve("g.txt", "mine")
        with pytest.raises(errors.UserError, match="unknown choice"):
            a.resolve("g.txt", "everything")
        assert shared.latest() == {}

    def test_keep_mine_loses_a_race_without_overwriting(self, two, shared, monkeypatch) -> None:
        """If theirs changes again between plan and upload, nothing is overwritten."""
        a, b = two
        _conflict(a, b)
        real = Gatherer.replan

        def stale(self: Gatherer, path: str) -> Action | None:
            action = real(self, path)
            write(b.root, "f.txt", "bob again")
            sync(b)
            return action

        monkeypatch.setattr(Gatherer, "replan", stale)
        [failed] = a.resolve("f.txt", "mine").failed
        assert "changed on S3 again" in (failed.error or "")
        assert shared.contents("f.txt")[0] == b"bob again"
        assert tree(a.root) == {"f.txt": b"ann's edit"}


class TestSyncHooks:
    def test_skip_leaves_paths_out_of_this_run_only(self, two, shared) -> None:
        """`skip` drops a file's (and a folder's) actions; the next run does them."""
        a, _ = two
        for path in ("keep.txt", "later.txt", "dir/x.txt", "dir/y.txt"):
            write(a.root, path, path)
        seen: list[str] = []
        report = sync(
            a, skip=["later.txt", "dir"], on_plan=lambda p: seen.extend(x.path for x in p.actions)
        )
        assert seen == ["keep.txt"] and [o.action.path for o in report.done] == ["keep.txt"]
        assert set(shared.latest()) == {"keep.txt"}
        assert {x.path for x in a.status().actions} == {"later.txt", "dir/x.txt", "dir/y.txt"}

    def test_on_start_names_each_action_before_its_outcome(self, two) -> None:
        """`on_start` is called for every action, before that action's outcome."""
        a, _ = two
        for i in range(5):
            write(a.root, f"f{i}.txt", str(i))
        lock = threading.Lock()
        events: list[tuple[str, str]] = []

        def note(kind: str, path: str) -> None:
            with lock:
                events.append((kind, path))

        sync(
            a,
            on_start=lambda x: note("start", x.path),
            on_outcome=lambda o: note("done", o.action.path),
        )
        for i in range(5):
            assert events.index(("start", f"f{i}.txt")) < events.index(("done", f"f{i}.txt"))

    def test_changed_by_and_read_version(self, two, shared) -> None:
        """Who wrote a version or a delete marker; the bytes of an old version."""
        a, b = two
        write(a.root, "x.txt", "one")
        write(a.root, "y.txt", "gone soon")
        sync(a)
        sync(b)
        write(b.root, "x.txt", "two")
        (b.root / "y.txt").unlink()
        sync(b)
        entries = [x.remote for x in a.status().actions if x.remote is not None]
        assert a.changed_by(entries) == {"x.txt": "bob", "y.txt": "bob"}
        old = shared.versions("x.txt")[1]["VersionId"]
        assert a.read_version("x.txt", old).text == "one"
        assert a.read_version("x.txt", old, limit=2).data is None
