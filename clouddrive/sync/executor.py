"""Carries out a plan: concurrent transfers, atomic local writes, conditional remote writes.

Every action re-checks the local file against what was planned before it touches anything,
and reports an `Outcome` naming the bases to write; the engine writes them one by one as
actions finish, so a crash never records work that did not happen.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from clouddrive import errors
from clouddrive.core.models import Action, ActionKind, BaseEntry, LocalFile, RemoteEntry
from clouddrive.core.paths import INTERNAL_DIR
from clouddrive.ledger import (
    META_CONFLICT_OF,
    META_MTIME,
    META_PARENT,
    META_SHA256,
    META_USER,
    PutResult,
    S3Remote,
)
from clouddrive.local.durable import Durable
from clouddrive.local.scanner import lstat_or_none, stat_matches
from clouddrive.sync.fetchahead import AHEAD_KINDS, Prefetched, fetch_ahead
from clouddrive.sync.localside import Changed, LocalSide, as_planned
from clouddrive.sync.order import SMALL_FILE_FACTOR, in_phases
from clouddrive.sync.outcome import Outcome, Transfer
from clouddrive.sync.scheduler import STOP_GRACE, Stopped, install_gate, landing, run_batch
from clouddrive.testing.faults import crash_point

__all__ = ["Executor"]


class Executor(LocalSide):
    """Runs actions on worker threads that share one boto3 client; a stop (`cancel`) ends
    it within seconds (see `clouddrive.sync.scheduler`)."""

    def __init__(
        self,
        root: Path,
        remote: S3Remote,
        *,
        user: str,
        workers: int = 8,
        cancel: threading.Event | None = None,
        on_start: Callable[[Action], None] | None = None,
        grace: float = STOP_GRACE,
    ) -> None:
        self.root = root
        self.remote = remote
        self.user = user
        self.workers = max(1, workers)
        self.cancel = cancel or threading.Event()
        #: told as each action begins: on a worker thread, or on the calling thread just
        #: after the request of a small transfer sent ahead has left (`fetchahead`)
        self.on_start = on_start
        self.tmp_dir = root / INTERNAL_DIR / "tmp"
        #: makes each download durable before it lands (small ones in shared flushes)
        self.durable = Durable(self.tmp_dir)
        self.grace = grace  #: after a stop, how long transfers in flight get to finish
        #: small downloads fetched ahead (`sync/fetchahead.py`), by (path, version): the
        #: first attempt of each, which `_download` lands instead of fetching it again
        self.prefetched: dict[tuple[str, str], Prefetched] = {}
        #: small uploads sent ahead, by path: the version each made, which `_upload` takes
        #: instead of sending the file again
        self.uploaded_ahead: dict[str, PutResult] = {}

    # -- scheduling ------------------------------------------------------------------------

    def run(
        self,
        actions: Iterable[Action],
        on_outcome: Callable[[Outcome], None],
        grouped: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> list[Action]:
        """Run actions: deletes and bookkeeping first, then transfers; report each outcome.

        In the order of `sync/order.py`: deletes go first so that a folder replacing a file
        of the same name (or the other way round) finds the way clear. Returns the actions
        a stop left undone (never started, or abandoned in flight): they have no outcome and
        wait for the next run.
        """
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        install_gate(self.remote)
        left: list[Action] = []
        for large, batch in in_phases(actions):
            ahead = [] if large else [a for a in batch if a.kind in AHEAD_KINDS]
            if ahead and not self.cancel.is_set():
                stopped, again = fetch_ahead(
                    self, ahead, on_outcome, grouped, window=self.workers * SMALL_FILE_FACTOR
                )
                left.extend(stopped)
                batch = [a for a in batch if a.kind not in AHEAD_KINDS] + again
            if self.cancel.is_set():
                left.extend(batch)
                continue
            left.extend(
                run_batch(
                    batch,
                    self.execute,
                    workers=self.workers if large else self.workers * SMALL_FILE_FACTOR,
                    cancel=self.cancel,
                    grace=self.grace,
                    on_start=self.on_start,
                    on_outcome=on_outcome,
                    grouped=grouped,
                )
            )
        return left

    def execute(self, action: Action) -> Outcome:
        """One action, with every failure turned into an outcome. Only on a worker of a
        stopped run does it raise (`Stopped`: the action did not happen). `on_start` is
        the scheduler's to call (`run`), not this method's."""
        outcome = Outcome(action)
        try:
            handler = _HANDLERS[action.kind]
            handler(self, action, outcome)
        except Stopped:
            raise
        except errors.PreconditionFailed:
            outcome.replan = True
        except Changed as exc:
            outcome.error = f"changed while syncing, left for the next run: {exc}"
        except (errors.CredentialsError, errors.BucketNotFound, errors.VersioningNotEnabled):
            raise
        except errors.CloudDriveError as exc:
            outcome.error = str(exc)
        except OSError as exc:
            outcome.error = str(errors.local_error(exc, f"syncing {action.path}"))
        return outcome

    # -- uploads ---------------------------------------------------------------------------

    def _upload(
        self,
        path: str,
        local: LocalFile,
        sha256: str,
        *,
        if_match: str | None,
        parent: str | None,
        extra_meta: dict[str, str] | None = None,
    ) -> tuple[BaseEntry, bool, Transfer]:
        """Upload the planned content of `path`: its new base, whether the file changed
        meanwhile, and the transfer.

        The base always records what was sent (the planned stat and hash, the new version):
        an edit made during the upload then reads as an ordinary modification next run.
        """
        result = self.uploaded_ahead.pop(path, None)
        if result is not None:  # sent ahead (`sync/fetchahead.py`): the target was checked
            target = self.root / path
        else:
            target = self._target(path)
            body = self._snapshot(target, local, sha256)
            try:
                result = self.remote.upload(
                    path,
                    body,
                    metadata=self._metadata(local, sha256, parent, extra_meta),
                    if_match=if_match,
                    expect_sha256=sha256 if isinstance(body, Path) else None,
                    size=local.size,
                )
            except errors.SourceChanged as exc:
                raise Changed(str(exc)) from exc
        crash_point("after-upload")
        transfer = Transfer("upload", path, result.version_id, parent)
        changed = not stat_matches(target, local.size, local.mtime_ns)
        base = BaseEntry(path, local.size, local.mtime_ns, sha256, result.version_id, result.etag)
        return base, changed, transfer

    def _metadata(
        self,
        local: LocalFile,
        sha256: str,
        parent: str | None,
        extra_meta: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """What a new version carries: who wrote it, the file's mtime and hash, its parent."""
        return {
            META_USER: self.user,
            META_MTIME: str(local.mtime_ns),
            META_SHA256: sha256,
            **({META_PARENT: parent} if parent else {}),
            **(extra_meta or {}),
        }

    @staticmethod
    def _upload_of(action: Action) -> tuple[LocalFile, str, str | None]:
        """An upload's file, the hash it goes up with, and the version it follows (if any)."""
        local = action.local
        assert local is not None
        sha = local.sha256 or (action.base.sha256 if action.base else None)
        assert sha is not None
        return local, sha, action.base.version_id if action.base else None

    def _do_upload(self, action: Action, outcome: Outcome) -> None:
        local, sha, parent = self._upload_of(action)
        base, changed, transfer = self._upload(
            action.path, local, sha, if_match=action.if_match, parent=parent
        )
        outcome.transfers.append(transfer)
        outcome.bytes_moved += local.size
        outcome.bases.append(base)
        if changed:
            outcome.note = "changed during upload; it goes up again next run"

    # -- downloads -------------------------------------------------------------------------

    def _download(
        self, path: str, remote: RemoteEntry, planned: LocalFile | None
    ) -> tuple[BaseEntry, str | None]:
        """Fetch to a temp file, check it, then move it into place if the target is as planned.

        If the target changed meanwhile, its content is kept as a conflict copy first: the
        second value names that copy (None if there was no race). A run that was stopped and
        stopped waiting for this download never moves it into place (`landing`).
        """
        fetched = self.prefetched.pop((path, remote.version_id), None)
        tmp = fetched.tmp if fetched is not None else self._tmp_file(".part")
        kept: str | None = None
        landed = False
        try:
            target = self._target(path)
            if fetched is None:
                result = self.remote.download(remote, tmp)
            elif fetched.result is None:
                assert fetched.error is not None
                raise fetched.error
            else:
                result = fetched.result
            if result.mtime_ns is not None:
                os.utime(tmp, ns=(result.mtime_ns, result.mtime_ns))
            if fetched is None or not fetched.durable:
                self.durable.make_durable(tmp, result.size)
            crash_point("after-download-temp")
            with landing():
                # one lstat: is the target as planned, and which mode does it have (the file
                # being replaced keeps its mode: a 0600 file stays private, an executable
                # stays executable; a new file gets the umask's default)
                now = lstat_or_none(target)
                if not as_planned(now, planned):
                    kept = self._keep_aside(path, target)
                elif now is not None and stat.S_ISREG(now.st_mode):
                    with contextlib.suppress(OSError):
                        os.chmod(tmp, stat.S_IMODE(now.st_mode))
                try:
                    os.replace(tmp, target)
                except FileNotFoundError:  # its folder does not exist yet
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, target)
                landed = True
        finally:
            if not landed:
                tmp.unlink(missing_ok=True)
        crash_point("after-download-replace")
        base = self._base_from_disk(path, target, result.sha256, remote.version_id, result.etag)
        return base, kept

    def _do_download(self, action: Action, outcome: Outcome) -> None:
        assert action.remote is not None
        base, kept = self._download(action.path, action.remote, action.local)
        outcome.bases.append(base)
        if kept is not None:
            outcome.note = f"changed here during the download: your version is kept as '{kept}'"
        outcome.bytes_moved += action.remote.size
        outcome.transfers.append(Transfer("download", action.path, action.remote.version_id))

    # -- deletes ---------------------------------------------------------------------------

    def _do_delete_local(self, action: Action, outcome: Outcome) -> None:
        target = self._target(action.path)
        self._check_local(target, action.local)
        target.unlink()
        crash_point("after-delete-local")
        self._prune_empty_parents(target)
        outcome.forget.append(action.path)
        outcome.transfers.append(Transfer("delete-local", action.path))

    def _do_delete_remote(self, action: Action, outcome: Outcome) -> None:
        assert action.base is not None
        # Nothing is written here, so only a file back at the path stops it: the name may
        # now be a folder, or lie under a folder that is now a file (a file/folder swap).
        target = self.root / action.path
        if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
            raise Changed("a file appeared at this path")
        try:
            marker = self.remote.delete(action.path, if_match=action.if_match)
        except errors.PreconditionFailed:
            mine = self._own_lost_delete(action.path, action.base)
            if mine is None:
                raise
            marker = mine
        crash_point("after-delete-remote")
        outcome.forget.append(action.path)
        outcome.transfers.append(
            Transfer("delete-remote", action.path, marker, action.base.version_id)
        )

    def _own_lost_delete(self, path: str, base: BaseEntry) -> str | None:
        """A conditional delete whose answer was lost is retried, and the retry meets the
        marker the first attempt put (412). If the newest entry is a delete marker right on
        top of the base version, that delete is this one: its marker id, so the run record
        names who deleted the file. None: someone else changed the key (a lost race)."""
        items = self.remote.versions(path)
        if len(items) < 2 or not items[0].get("IsDeleteMarker"):
            return None
        if str(items[1].get("VersionId") or "null") != base.version_id:
            return None
        return str(items[0].get("VersionId") or "null")

    # -- both sides ------------------------------------------------------------------------

    def _do_conflict(self, action: Action, outcome: Outcome) -> None:
        """Keep both: local content moves to the conflict copy (uploaded), remote comes down."""
        local, remote, copy_path = action.local, action.remote, action.conflict_path
        assert local is not None and copy_path is not None
        assert local.sha256 is not None
        target = self._target(action.path)
        copy_target = self._target(copy_path)
        self._check_local(target, local)
        if os.path.lexists(copy_target):
            raise Changed(f"'{copy_path}' appeared")
        copy_target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(target, copy_target)
        crash_point("after-conflict-rename")
        moved = LocalFile(copy_path, local.size, local.mtime_ns, local.sha256)
        kept: str | None = None
        if remote is None or remote.is_delete_marker:
            # A file/folder swap took the name on S3 (or one here lost to an edit there):
            # nothing comes down here; the way is cleared for what S3 holds (planner.swaps).
            self._prune_empty_parents(target)
            outcome.forget.append(action.path)
        else:
            base, kept = self._download(action.path, remote, None)
            outcome.bases.append(base)
            outcome.transfers.append(Transfer("download", action.path, remote.version_id))
        base, _, transfer = self._upload(
            copy_path,
            moved,
            local.sha256,
            if_match=None,
            parent=None,
            extra_meta=(
                {META_CONFLICT_OF: f"{remote.key}?versionId={remote.version_id}"} if remote else {}
            ),
        )
        transfer.op = "conflict-copy"
        outcome.transfers.append(transfer)
        outcome.bytes_moved += local.size + (remote.size if remote else 0)
        outcome.bases.append(base)
        outcome.note = f"both changed: your version is kept as '{copy_path}'"
        if kept is not None:
            outcome.note += f"; a file that appeared meanwhile is kept as '{kept}'"

    def _do_record(self, action: Action, outcome: Outcome) -> None:
        local, remote = action.local, action.remote
        assert local is not None and remote is not None
        sha = local.sha256 or (action.base.sha256 if action.base else None)
        assert sha is not None
        outcome.bases.append(
            BaseEntry(
                action.path, local.size, local.mtime_ns, sha, remote.version_id, remote.etag or ""
            )
        )

    def _do_forget(self, action: Action, outcome: Outcome) -> None:
        outcome.forget.append(action.path)


_HANDLERS: dict[ActionKind, Callable[[Executor, Action, Outcome], None]] = {
    ActionKind.UPLOAD: Executor._do_upload,
    ActionKind.DOWNLOAD: Executor._do_download,
    ActionKind.DELETE_LOCAL: Executor._do_delete_local,
    ActionKind.DELETE_REMOTE: Executor._do_delete_remote,
    ActionKind.CONFLICT: Executor._do_conflict,
    ActionKind.RECORD: Executor._do_record,
    ActionKind.FORGET: Executor._do_forget,
}
