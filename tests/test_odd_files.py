"""Odd local files, name clashes a file system would fold, and secrets that must never land."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from clouddrive.drive import Drive
from clouddrive.ledger import S3Remote
from clouddrive.ledger.pending import PendingUpload
from clouddrive.local.scanner import FsTraits
from tests.drivekit import FAST_RETRY, Shared, conflict_copies, sha, sync, tree, write


def folding_drive(shared: Shared, root: Path, user: str) -> Drive:
    """A drive that believes its file system folds case and Unicode (like macOS or Windows)."""
    drive = shared.drive(root, user)
    return Drive(
        drive.root,
        drive.config,
        retry=FAST_RETRY,
        fs_traits=FsTraits(case_insensitive=True, normalizes_unicode=True),
    )


class TestSymlinks:
    def test_links_in_out_and_looping_are_never_followed(self, shared, tmp_path) -> None:
        """File and folder links (inside, outside, looping) are reported and left alone."""
        a = shared.drive(tmp_path / "a", "ann")
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("outside data")
        write(a.root, "real/file.txt", "real")
        (a.root / "to-outside").symlink_to(outside)
        (a.root / "to-inside.txt").symlink_to(a.root / "real/file.txt")
        (a.root / "real/loop").symlink_to(a.root / "real")
        (a.root / "dangling").symlink_to(tmp_path / "nowhere")
        report = sync(a)
        assert {s.path for s in report.plan.skipped} == {
            "to-outside",
            "to-inside.txt",
            "real/loop",
            "dangling",
        }
        assert shared.latest() == {"real/file.txt": b"real"}

    def test_remote_keys_under_a_local_link_stay_out(self, shared, tmp_path) -> None:
        """A key whose local path runs through a symlinked folder is not written through it."""
        a = shared.drive(tmp_path / "a", "ann")
        outside = tmp_path / "outside"
        outside.mkdir()
        (a.root / "linked").symlink_to(outside)
        client = shared.client()
        client.put_object(Bucket=shared.bucket, Key="team/linked/x.txt", Body=b"payload")
        client.put_object(Bucket=shared.bucket, Key="team/fine.txt", Body=b"fine")
        a.sync()
        assert list(outside.iterdir()) == []
        assert (a.root / "fine.txt").read_bytes() == b"fine"


class TestOddContent:
    def test_empty_files_sync_both_ways(self, shared, tmp_path) -> None:
        """0-byte files are files: created, synced, deleted like any other."""
        a = shared.drive(tmp_path / "a", "ann")
        b = shared.drive(tmp_path / "b", "bob")
        write(a.root, "empty.txt", b"")
        sync(a)
        sync(b)
        assert tree(b.root) == {"empty.txt": b""}
        (b.root / "empty.txt").unlink()
        sync(b)
        sync(a)
        assert tree(a.root) == {}

    def test_file_changed_during_upload_goes_up_again(self, shared, tmp_path, monkeypatch) -> None:
        """An edit landing mid-upload: the sent bytes match their hash, the edit follows."""
        a = shared.drive(tmp_path / "a", "ann")
        write(a.root, "doc.txt", "first draft")
        real_upload, real_finish = S3Remote.upload, PendingUpload.finish

        def upload_then_edit(self, path, source, **kwargs):  # type: ignore[no-untyped-def]
            result = real_upload(self, path, source, **kwargs)
            write(a.root, "doc.txt", "second draft, longer")
            return result

        def sent_then_edit(self):  # type: ignore[no-untyped-def]  # a small file sent ahead
            result = real_finish(self)
            write(a.root, "doc.txt", "second draft, longer")
            return result

        monkeypatch.setattr(S3Remote, "upload", upload_then_edit)
        monkeypatch.setattr(PendingUpload, "finish", sent_then_edit)
        report = a.sync()
        assert report.done[0].note == "changed during upload; it goes up again next run"
        assert a.state.load()["doc.txt"].sha256 == sha(b"first draft")  # what was sent
        monkeypatch.undo()
        sync(a)
        versions = [v for v in shared.versions("doc.txt") if not v["IsDeleteMarker"]]
        assert len(versions) == 2
        client = shared.client()
        for v in versions:
            obj = client.get_object(
                Bucket=shared.bucket, Key="team/doc.txt", VersionId=v["VersionId"]
            )
            assert obj["Metadata"]["clouddrive-sha256"] == sha(obj["Body"].read())
        assert shared.latest() == {"doc.txt": b"second draft, longer"}
        assert not conflict_copies(tree(a.root))

    def test_file_changed_between_scan_and_upload_is_left_for_next_run(
        self, shared, tmp_path, monkeypatch
    ) -> None:
        """Content that no longer hashes as planned is not sent under the planned hash."""
        a = shared.drive(tmp_path / "a", "ann")
        write(a.root, "doc.txt", "planned")

        def edit_after_plan(plan) -> None:  # type: ignore[no-untyped-def]
            target = a.root / "doc.txt"
            st = target.stat()
            target.write_bytes(b"PLANNED")  # same size
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: a sly edit

        report = a.sync(on_plan=edit_after_plan)
        assert report.failed and "changed while syncing" in (report.failed[0].error or "")
        assert shared.latest() == {}


class TestFoldingFileSystems:
    def test_case_clash_on_remote_is_skipped(self, shared, tmp_path) -> None:
        """Report.txt and report.txt cannot both exist here: both are skipped, neither lost."""
        a = folding_drive(shared, tmp_path / "a", "ann")
        client = shared.client()
        client.put_object(Bucket=shared.bucket, Key="team/Report.txt", Body=b"upper")
        client.put_object(Bucket=shared.bucket, Key="team/report.txt", Body=b"lower")
        client.put_object(Bucket=shared.bucket, Key="team/other.txt", Body=b"other")
        report = a.sync()
        assert {s.path for s in report.plan.skipped} == {"Report.txt", "report.txt"}
        assert tree(a.root) == {"other.txt": b"other"}

    def test_remote_name_folding_onto_a_local_file_never_overwrites_it(
        self, shared, tmp_path
    ) -> None:
        """A remote 'Notes.md' does not replace local 'notes.md' on a case-folding disk."""
        a = folding_drive(shared, tmp_path / "a", "ann")
        write(a.root, "notes.md", "mine")
        shared.client().put_object(Bucket=shared.bucket, Key="team/Notes.md", Body=b"theirs")
        report = a.sync()
        assert {s.path for s in report.plan.skipped} == {"notes.md", "Notes.md"}
        assert tree(a.root) == {"notes.md": b"mine"}
        assert shared.latest() == {"Notes.md": b"theirs"}

    def test_nfc_and_nfd_spellings_clash_where_the_disk_normalises(self, shared, tmp_path) -> None:
        """café in NFC and NFD are one name on a normalising file system: both skipped."""
        a = folding_drive(shared, tmp_path / "a", "ann")
        client = shared.client()
        for form in ("NFC", "NFD"):
            key = "team/" + unicodedata.normalize(form, "café.txt")
            client.put_object(Bucket=shared.bucket, Key=key, Body=form.encode())
        report = a.sync()
        assert len(report.plan.skipped) == 2
        assert tree(a.root) == {}

    def test_on_a_case_sensitive_disk_both_spellings_sync(self, shared, tmp_path) -> None:
        """Where the file system keeps them apart, so does clouddrive."""
        a = shared.drive(tmp_path / "a", "ann")
        client = shared.client()
        client.put_object(Bucket=shared.bucket, Key="team/Report.txt", Body=b"upper")
        client.put_object(Bucket=shared.bucket, Key="team/report.txt", Body=b"lower")
        sync(a)
        assert tree(a.root) == {"Report.txt": b"upper", "report.txt": b"lower"}


class TestSecrets:
    def test_no_credential_lands_in_the_drive_its_state_or_logs(
        self, shared, tmp_path, monkeypatch
    ) -> None:
        """After a run, the key id and secret appear nowhere on disk or in the run record."""
        key_id, secret = "AKIACLOUDDRIVETEST42", "sEcReT/value+that-must-never-leak"
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        a = shared.drive(tmp_path / "a", "ann")
        write(a.root, "x.txt", "x")
        report = sync(a)
        (a.root / "x.txt").unlink()
        sync(a)
        a.close()
        assert report.log_path is not None
        for path in a.root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert key_id.encode() not in data and secret.encode() not in data, path
        client = shared.client()
        runs = client.list_objects_v2(Bucket=shared.bucket, Prefix="team/.clouddrive/runs/")
        assert runs["KeyCount"] >= 2
        for item in runs["Contents"]:
            body = client.get_object(Bucket=shared.bucket, Key=item["Key"])["Body"].read()
            assert key_id.encode() not in body and secret.encode() not in body
