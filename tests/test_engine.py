"""Engine scenarios: two and three drives (own roots, own state) sharing a prefix on SeaweedFS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.core.models import ActionKind
from clouddrive.core.paths import unsafe_reason
from tests.drivekit import Shared, conflict_copies, sha, sync, tree, write


def converge(*drives) -> None:  # type: ignore[no-untyped-def]
    """Everyone syncs twice, in turn."""
    for _ in range(2):
        for d in drives:
            sync(d)


class TestCreateEditDelete:
    def test_created_file_reaches_the_other_drive_with_metadata(self, two, shared) -> None:
        """A new file goes up with who/mtime/sha256 metadata and comes down unchanged."""
        a, b = two
        write(a.root, "docs/report.txt", "v1")
        mtime = (a.root / "docs/report.txt").stat().st_mtime_ns
        report = sync(a)
        assert [o.action.kind for o in report.done] == [ActionKind.UPLOAD]
        sync(b)
        assert tree(b.root) == {"docs/report.txt": b"v1"}
        assert (b.root / "docs/report.txt").stat().st_mtime_ns == mtime
        head = shared.client().head_object(Bucket=shared.bucket, Key="team/docs/report.txt")
        assert head["Metadata"]["clouddrive-user"] == "ann"
        assert head["Metadata"]["clouddrive-sha256"] == sha(b"v1")
        assert head["Metadata"]["clouddrive-mtime"] == str(mtime)
        assert a.status().is_empty and b.status().is_empty

    def test_edit_is_a_new_version_naming_its_parent(self, two, shared) -> None:
        """An edit is uploaded If-Match the base and records the version it replaced."""
        a, b = two
        write(a.root, "f.txt", "one")
        converge(a, b)
        first = shared.versions("f.txt")[0]["VersionId"]
        write(b.root, "f.txt", "two, longer")
        sync(b)
        sync(a)
        assert tree(a.root) == {"f.txt": b"two, longer"}
        versions = shared.versions("f.txt")
        assert len(versions) == 2
        head = shared.client().head_object(Bucket=shared.bucket, Key="team/f.txt")
        assert head["Metadata"]["clouddrive-parent"] == first
        assert head["Metadata"]["clouddrive-user"] == "bob"

    def test_delete_is_a_delete_marker_and_propagates(self, two, shared) -> None:
        """A local delete puts a delete marker (the versions stay) and removes the other copy."""
        a, b = two
        write(a.root, "gone/x.txt", "bytes")
        converge(a, b)
        (a.root / "gone/x.txt").unlink()
        sync(a)
        versions = shared.versions("gone/x.txt")
        assert versions[0]["IsDeleteMarker"] and not versions[1]["IsDeleteMarker"]
        sync(b)
        assert tree(b.root) == {}
        assert not (b.root / "gone").exists()  # the emptied folder goes too
        assert shared.all_contents() == {b"bytes"}


class TestLargeFiles:
    def test_large_files_go_up_in_parts_from_the_file_itself(self, two, shared) -> None:
        """Files past the in-memory limit go up in parts read straight from the file (no
        snapshot copy), and arrive whole with their sha256."""
        a, b = two
        a.remote.part_size = 5 * 1024 * 1024
        mid = os.urandom(9 * 1024 * 1024)  # two parts
        big = os.urandom(12 * 1024 * 1024 + 7)  # three parts
        write(a.root, "mid.bin", mid)
        write(a.root, "big.bin", big)
        sync(a)
        sync(b)
        assert tree(b.root) == {"mid.bin": mid, "big.bin": big}
        assert not list((a.root / ".clouddrive" / "tmp").iterdir())  # nothing copied aside
        head = shared.client().head_object(Bucket=shared.bucket, Key="team/big.bin")
        assert head["Metadata"]["clouddrive-sha256"] == sha(big)
        assert head["ETag"].strip('"').endswith("-3")

    def test_a_file_edited_mid_upload_never_lands(self, two, shared, monkeypatch) -> None:
        """An edit between two parts: the bytes sent are not the planned ones, so the upload
        is aborted before it completes: nothing lands, no multipart upload is left open, and
        the next run uploads the edit."""
        a, b = two
        a.remote.part_size = 5 * 1024 * 1024
        first, edited = os.urandom(11 * 1024 * 1024), os.urandom(11 * 1024 * 1024)
        write(a.root, "doc.bin", first)
        real = a.remote.client.upload_part
        calls = {"n": 0}

        def upload_part(**kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:  # the user saves again while part 1 is on its way
                with open(a.root / "doc.bin", "r+b") as fh:
                    fh.write(edited)
            return real(**kwargs)

        monkeypatch.setattr(a.remote.client, "upload_part", upload_part)
        report = a.sync()
        assert [o.action.path for o in report.failed] == ["doc.bin"]
        assert "changed" in (report.failed[0].error or "")
        assert shared.versions("doc.bin") == []
        uploads = shared.client().list_multipart_uploads(Bucket=shared.bucket)
        assert not uploads.get("Uploads")
        monkeypatch.undo()
        sync(a)
        sync(b)
        assert tree(b.root) == {"doc.bin": edited}


class TestConflicts:
    def test_edit_vs_edit_keeps_both_visibly_and_in_history(self, two, shared) -> None:
        """Both edit: the later syncer's version becomes a conflict copy; both converge."""
        a, b = two
        write(a.root, "plan.md", "base")
        converge(a, b)
        write(a.root, "plan.md", "ann's edit")
        write(b.root, "plan.md", "bob's edit!")
        sync(a)
        report = sync(b)
        assert [o.action.kind for o in report.done] == [ActionKind.CONFLICT]
        sync(a)
        ta, tb = tree(a.root), tree(b.root)
        assert ta == tb
        assert ta["plan.md"] == b"ann's edit"
        copies = conflict_copies(ta)
        assert list(copies.values()) == [b"bob's edit!"]
        (copy_path,) = copies
        assert copy_path.startswith("plan (conflict bob ") and copy_path.endswith(").md")
        assert {b"base", b"ann's edit", b"bob's edit!"} <= shared.all_contents()
        head = shared.client().head_object(Bucket=shared.bucket, Key=f"team/{copy_path}")
        assert head["Metadata"]["clouddrive-conflict-of"].startswith("team/plan.md?versionId=")

    def test_same_edit_on_both_sides_is_no_conflict(self, two, shared) -> None:
        """Equal content on both sides is adopted, not duplicated."""
        a, b = two
        write(a.root, "same.txt", "start")
        converge(a, b)
        write(a.root, "same.txt", "identical edit")
        write(b.root, "same.txt", "identical edit")
        sync(a)
        report = sync(b)
        assert [o.action.kind for o in report.done] == [ActionKind.RECORD]
        assert len(shared.versions("same.txt")) == 2
        assert not conflict_copies(tree(b.root))

    @pytest.mark.parametrize("editor_syncs_first", [True, False])
    def test_edit_beats_delete(self, two, shared, editor_syncs_first) -> None:
        """Whoever syncs first, an edit wins over a delete, and both drives keep the edit."""
        a, b = two
        write(a.root, "doc.txt", "original")
        converge(a, b)
        (a.root / "doc.txt").unlink()
        write(b.root, "doc.txt", "edited by bob")
        order = (b, a) if editor_syncs_first else (a, b)
        converge(*order)
        assert tree(a.root) == tree(b.root) == {"doc.txt": b"edited by bob"}
        assert not conflict_copies(tree(a.root))

    def test_first_sync_of_two_non_empty_folders(self, shared, tmp_path) -> None:
        """Two folders that never synced: equal files adopted, different ones kept both."""
        a = shared.drive(tmp_path / "a", "ann")
        b = shared.drive(tmp_path / "b", "bob")
        write(a.root, "only-a.txt", "a")
        write(a.root, "same.txt", "same")
        write(a.root, "differs.txt", "ann's")
        write(b.root, "only-b/x.txt", "b")
        write(b.root, "same.txt", "same")
        write(b.root, "differs.txt", "bob's")
        converge(a, b)
        ta = tree(a.root)
        assert ta == tree(b.root)
        assert ta["only-a.txt"] == b"a" and ta["only-b/x.txt"] == b"b" and ta["same.txt"] == b"same"
        assert ta["differs.txt"] == b"ann's"
        assert list(conflict_copies(ta).values()) == [b"bob's"]
        assert len(shared.versions("same.txt")) == 1


class TestManyDrives:
    def test_three_drives_converge_after_mixed_work(self, shared, tmp_path) -> None:
        """Three users create, edit and delete; after two rounds all trees are equal."""
        drives = [shared.drive(tmp_path / n, n) for n in ("ann", "bob", "cat")]
        a, b, c = drives
        write(a.root, "shared.txt", "v0")
        write(a.root, "a-only.txt", "a")
        converge(*drives)
        write(a.root, "shared.txt", "ann v1")
        write(b.root, "shared.txt", "bob v1")
        (c.root / "a-only.txt").unlink()
        write(c.root, "deep/c/new.bin", bytes(range(256)) * 100)
        write(b.root, "b.txt", "b")
        converge(*drives)
        trees = [tree(d.root) for d in drives]
        assert trees[0] == trees[1] == trees[2]
        assert "a-only.txt" not in trees[0]
        assert trees[0]["deep/c/new.bin"] == bytes(range(256)) * 100
        assert sorted(v for p, v in trees[0].items() if p.startswith("shared")) == [
            b"ann v1",
            b"bob v1",
        ]
        for d in drives:
            assert d.status().is_empty


class TestRaces:
    def test_concurrent_writer_is_caught_by_the_conditional_upload(self, two, shared) -> None:
        """A write landing between plan and upload turns into a conflict, never an overwrite."""
        a, _ = two
        write(a.root, "race.txt", "base")
        sync(a)
        write(a.root, "race.txt", "ann's edit")

        def sneak_in(plan) -> None:  # type: ignore[no-untyped-def]
            shared.client().put_object(
                Bucket=shared.bucket, Key="team/race.txt", Body=b"someone else's edit"
            )

        report = a.sync(on_plan=sneak_in)
        assert [o.action.kind for o in report.done] == [ActionKind.CONFLICT]
        files = tree(a.root)
        assert files["race.txt"] == b"someone else's edit"
        assert list(conflict_copies(files).values()) == [b"ann's edit"]
        assert {b"base", b"someone else's edit", b"ann's edit"} <= shared.all_contents()

    def test_concurrent_create_is_caught_by_if_none_match(self, two, shared) -> None:
        """Two users create the same new path: the second upload is refused, then kept both."""
        a, _ = two
        write(a.root, "new.txt", "ann's new file")

        def sneak_in(plan) -> None:  # type: ignore[no-untyped-def]
            shared.client().put_object(Bucket=shared.bucket, Key="team/new.txt", Body=b"other")

        report = a.sync(on_plan=sneak_in)
        assert [o.action.kind for o in report.done] == [ActionKind.CONFLICT]
        assert sorted(tree(a.root).values()) == [b"ann's new file", b"other"]


class TestGuards:
    def test_versioning_off_changes_nothing(self, seaweedfs, make_bucket, tmp_path) -> None:
        """A bucket without versioning stops the run before anything moves."""
        shared = Shared(seaweedfs.endpoint_url, make_bucket(seaweedfs, versioning=False))
        a = shared.drive(tmp_path / "a", "ann")
        write(a.root, "x.txt", "x")
        with pytest.raises(errors.VersioningNotEnabled, match="versioning is not enabled"):
            a.sync()
        assert shared.latest() == {}

    def test_mass_delete_stops_and_asks(self, two, shared) -> None:
        """Deleting most of a big drive needs --max-delete or --force."""
        a, b = two
        for i in range(60):
            write(a.root, f"many/{i}.txt", str(i))
        converge(a, b)
        for i in range(55):
            (a.root / f"many/{i}.txt").unlink()
        with pytest.raises(errors.GuardTripped, match="deletes 55 files on S3"):
            a.sync()
        assert len(shared.latest()) == 60
        with pytest.raises(errors.GuardTripped):
            a.sync(max_delete=10)
        report = sync(a, max_delete=55)
        assert len(report.done) == 55
        assert len(shared.latest()) == 5

    def test_one_vanished_key_is_kept_and_the_rest_syncs(self, two, shared) -> None:
        """A key whose versions were purged is not read as 'deleted', nor does it stop the
        run: the local copy goes up again, visibly, and every other change syncs."""
        a, b = two
        write(a.root, "keep.txt", "precious")
        write(a.root, "other.txt", "v1")
        sync(a)
        sync(b)
        client = shared.client()
        for v in shared.versions("keep.txt"):
            client.delete_object(
                Bucket=shared.bucket, Key="team/keep.txt", VersionId=v["VersionId"]
            )
        write(b.root, "other.txt", "v2")
        sync(b)  # bob holds keep.txt too: he puts it back first
        assert shared.latest() == {"keep.txt": b"precious", "other.txt": b"v2"}
        for v in shared.versions("keep.txt"):
            client.delete_object(
                Bucket=shared.bucket, Key="team/keep.txt", VersionId=v["VersionId"]
            )
        report = sync(a)
        assert report.plan.vanished == ("keep.txt",)
        assert sorted((o.action.path, o.action.kind) for o in report.done) == [
            ("keep.txt", ActionKind.UPLOAD),
            ("other.txt", ActionKind.DOWNLOAD),
        ]
        assert tree(a.root) == {"keep.txt": b"precious", "other.txt": b"v2"}
        assert shared.latest() == {"keep.txt": b"precious", "other.txt": b"v2"}

    def test_many_vanished_keys_stop_the_run_until_allowed(self, two, shared) -> None:
        """A purge of most of the drive stops the run; --force (the delete guard's flag)
        does not pass it, its own flag does."""
        a, _ = two
        for i in range(60):
            write(a.root, f"f{i:02}.txt", f"file {i}")
        sync(a)
        client = shared.client()
        for i in range(55):
            for v in shared.versions(f"f{i:02}.txt"):
                client.delete_object(
                    Bucket=shared.bucket, Key=f"team/f{i:02}.txt", VersionId=v["VersionId"]
                )
        with pytest.raises(errors.GuardTripped, match="--allow-vanished"):
            a.sync()
        with pytest.raises(errors.GuardTripped, match="vanished"):
            a.sync(force=True)
        assert len(shared.latest()) == 5
        report = sync(a, allow_vanished=True)
        assert len(report.done) == 55
        assert len(shared.latest()) == 60

    def test_a_second_sync_of_the_same_drive_is_refused(self, two) -> None:
        """The drive lock names the running process."""
        a, _ = two
        from clouddrive.local.lock import DriveLock

        with DriveLock(a.root / ".clouddrive" / "lock"), pytest.raises(errors.LockHeld):
            a.sync()


class TestLocalRules:
    def test_ignore_file_and_internal_folders(self, two, shared) -> None:
        """.clouddriveignore patterns, .clouddrive/ and .S3/ never go up."""
        a, b = two
        write(a.root, ".clouddriveignore", "*.tmp\nbuild/\n")
        write(a.root, "keep.txt", "k")
        write(a.root, "scratch.tmp", "t")
        write(a.root, "build/out.o", "o")
        write(a.root, ".S3/versions.csv", "old ledger")
        sync(a)
        assert set(shared.latest()) == {".clouddriveignore", "keep.txt"}
        sync(b)
        assert set(tree(b.root)) == {".clouddriveignore", "keep.txt"}

    def test_symlinks_and_fifos_are_skipped_not_followed(self, two, shared, tmp_path) -> None:
        """Links and special files are reported; the rest of the run proceeds."""
        a, _ = two
        outside = tmp_path / "outside.txt"
        outside.write_text("secret")
        (a.root / "link.txt").symlink_to(outside)
        import os

        os.mkfifo(a.root / "pipe")
        write(a.root, "real.txt", "r")
        report = a.sync()
        assert {s.path for s in report.plan.skipped} == {"link.txt", "pipe"}
        assert set(shared.latest()) == {"real.txt"}

    def test_hostile_keys_are_skipped_and_nothing_escapes(
        self, s3_backend, make_bucket, tmp_path
    ) -> None:
        """Keys like ../escape are reported; nothing is written outside the root."""
        shared = Shared(s3_backend.endpoint_url, make_bucket(s3_backend))
        a = shared.drive(tmp_path / "root", "ann")
        canary = tmp_path / "canary"
        canary.mkdir()
        client = shared.client()
        hostile = [
            "../escape",
            "a/../../x",
            "/abs",
            "back\\slash",
            "tab\tname",  # XML-safe control char (moto cannot list \x01)
            "\uff0e\uff0e/y",
            "C:x",
            "a//b",
            "n" * 300,
        ]
        stored = 0
        for key in hostile:
            try:
                client.put_object(Bucket=shared.bucket, Key=f"team/{key}", Body=b"evil")
                stored += 1
            except client.exceptions.ClientError:
                pass  # some servers refuse such keys outright: fine, nothing to skip then
        client.put_object(Bucket=shared.bucket, Key="team/ok.txt", Body=b"fine")
        report = a.sync()
        files = tree(a.root)
        assert files["ok.txt"] == b"fine"
        assert all(unsafe_reason(p) is None for p in files)
        if s3_backend.name == "moto":  # stores keys verbatim; SeaweedFS rewrites some (a//b -> a/b)
            assert stored == len(hostile)
            assert files == {"ok.txt": b"fine"}
            assert len(report.plan.skipped) == stored
        assert list(canary.iterdir()) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == ["canary", "root"]
        a.close()

    def test_local_names_others_could_not_write_are_not_uploaded(self, two, shared) -> None:
        """A local name with a backslash or control character stays local, reported."""
        a, _ = two
        write(a.root, "win\\style.txt", "x")
        write(a.root, "fine.txt", "y")
        report = a.sync()
        assert [s.path for s in report.plan.skipped] == ["win\\style.txt"]
        assert shared.latest() == {"fine.txt": b"y"}

    def test_file_and_folder_clash_is_skipped(self, two, shared) -> None:
        """A key that is both a file and a folder prefix is reported, not half-written."""
        a, _ = two
        client = shared.client()
        client.put_object(Bucket=shared.bucket, Key="team/dual", Body=b"file")
        client.put_object(Bucket=shared.bucket, Key="team/dual/inner.txt", Body=b"inner")
        client.put_object(Bucket=shared.bucket, Key="team/fine.txt", Body=b"fine")
        report = a.sync()
        assert {s.path for s in report.plan.skipped} == {"dual", "dual/inner.txt"}
        assert tree(a.root) == {"fine.txt": b"fine"}

    def test_unreadable_file_is_not_read_as_deleted(self, two, shared, monkeypatch) -> None:
        """A file that cannot be read is skipped; its S3 copy is neither deleted nor replaced."""
        import clouddrive.local.scanner

        a, _ = two
        write(a.root, "locked.txt", "x")
        sync(a)
        write(a.root, "locked.txt", "changed")
        real = clouddrive.local.scanner.file_sha256

        def denied(path: Path) -> str:
            if path.name == "locked.txt":  # chmod 0 does not stop root, so deny it here
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(clouddrive.local.scanner, "file_sha256", denied)
        report = a.sync()
        assert report.plan.is_empty
        assert [(s.path, s.reason) for s in report.plan.skipped] == [
            ("locked.txt", "unreadable: Permission denied")
        ]
        assert shared.latest() == {"locked.txt": b"x"}


class TestNamesThatAreNotAscii:
    def test_a_user_named_zoe(self, shared, tmp_path) -> None:
        """A user name that is not ASCII goes into every version's metadata (encoded as S3
        does it) and comes back as it was: the other drive's history names her."""
        zoe = shared.drive(tmp_path / "zoe", "Zoë")
        bob = shared.drive(tmp_path / "bob", "bob")
        write(zoe.root, "notes.txt", "from zoë")
        write(zoe.root, "big.bin", os.urandom(9 * 1024 * 1024))  # in parts, by botocore
        sync(zoe)
        sync(bob)
        assert (bob.root / "notes.txt").read_text() == "from zoë"
        assert [v.author for v in bob.history("notes.txt")] == ["Zoë"]
        assert [v.author for v in bob.history("big.bin")] == ["Zoë"]

    def test_a_conflict_copy_of_a_name_that_is_not_ascii(self, two, shared) -> None:
        """The conflict copy's metadata names the version it conflicted with, by key: a
        key that is not ASCII travels encoded too, and both drives keep both edits."""
        a, b = two
        write(a.root, "Übersicht/plan ü.md", "base")
        converge(a, b)
        write(a.root, "Übersicht/plan ü.md", "ann's edit")
        write(b.root, "Übersicht/plan ü.md", "bob's edit!")
        sync(a)
        report = sync(b)
        assert [o.action.kind for o in report.done] == [ActionKind.CONFLICT]
        copies = conflict_copies(tree(b.root))
        assert list(copies.values()) == [b"bob's edit!"]
        copy = next(iter(copies))
        head = b.remote.head_version(copy, b.remote.latest(copy).version_id)
        assert head["Metadata"]["clouddrive-conflict-of"].startswith("team/Übersicht/plan ü.md?")
