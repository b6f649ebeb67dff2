#!/usr/bin/env python3
"""Chaos run: three drives on one prefix, random work, faults, kills, a hostile world; then
prove nothing was lost.

Each round one drive does random creates, edits, deletes, renames and file/folder swaps (`e`
becomes the folder `e/`, and back), and the world around it may act:
- an outsider puts hostile keys (`../escape`, absolute, backslash...) straight into the bucket;
- another tool uploads keys with no clouddrive metadata: plain puts, and multipart uploads
  (boto3 `upload_file` with a tiny threshold), often of the very content the drive has just
  written there (`aws s3 cp` of the same file);
- an admin hard-deletes the current version of a key (`DeleteObject` with its VersionId);
- a folder of the drive (or its root) cannot be listed during its sync;
- right after a sync, a file is edited within its mtime tick (same size, mtime held, as on a
  file system of 1-2 s timestamps).
Then that drive syncs, through a proxy that injects S3 faults (503s, 500s, resets, cut bodies,
lost answers): in this process, or as the real command in a child process that may be killed
(SIGKILL at a random moment or at a named crash point) or interrupted (SIGINT); an in-process
sync may be interrupted too (KeyboardInterrupt raised from a crash point). At the end the
faults stop and every drive syncs until all agree.

The report counts all of that, and judges:
- lost contents: a content is entrusted to clouddrive when a drive held it as a file at the
  start of a sync that then finished (an edit overwritten before any sync finished never
  reached clouddrive). It is lost if at the end it is neither a file on some drive nor an S3
  version. An outside hard delete can legitimately destroy a content, but only one that no
  drive held: the promise is that such a delete never removes the local copy on any drive
  that had it. So when the outsider deletes a version, its content stops being entrusted only
  if, at that moment, no drive holds it as a file and no other version has it; otherwise it
  stays entrusted, and the drives' users never delete or overwrite a file holding it (they
  could not know it is the last copy; a loss then is clouddrive's);
- writes outside the drive roots (a canary folder and a watched folder beside them);
- deletes planned under a folder that could not be read (must be none, on either side);
- deletes that name no deleter at the end (every delete is some user's, interrupted or not);
- conflict copies identical to the file they were made from (the same content is no conflict,
  whoever uploaded it);
- the rounds it took to converge.
Exit status 1 if anything was lost, escaped, planned wrongly, anonymous, duplicated, or if the
drives did not converge.

    python scripts/chaos.py --rounds 200 --seed 7
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.chaoskit, modelkit

from clouddrive.core.models import ActionKind, Plan
from clouddrive.drive import Drive
from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.errors import CloudDriveError
from clouddrive.history.views import UNKNOWN
from clouddrive.ledger import RetryPolicy
from clouddrive.local.config import DriveConfig
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from clouddrive.testing.faults import CRASH_ENV, CRASH_POINTS
from tests.chaoskit import FOLDERS, Report, Workload, snapshot, tree
from tests.modelkit import Interrupted, VersionBook, interrupt_at, original_of, under, unreadable

BUCKET = "chaos"
#: the same bounded retries as production, with short waits: faults are dense here
QUICK_RETRY = RetryPolicy(attempts=6, initial=0.02, maximum=0.2)
PREFIX = "shared"
USERS = ("ann", "bob", "cat")


class Chaos(Workload):
    def __init__(self, work: Path, endpoint: str, seed: int, fault_rate: float) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.report = Report()
        self.proxy = FaultProxy(endpoint, seed=seed)
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=EMBEDDED_ACCESS_KEY,
            aws_secret_access_key=EMBEDDED_SECRET_KEY,
            region_name="us-east-1",
        )
        self.roots = {}
        for user in USERS:
            root = work / "drives" / user
            root.mkdir(parents=True)
            DriveConfig(
                bucket=BUCKET,
                prefix=PREFIX,
                endpoint_url=self.proxy.endpoint_url,
                user=user,
                workers=4,
                list_page_size=50,  # several pages: faults and kills land mid-listing too
            ).save(root)
            self.roots[user] = root
        self.canary = work / "canary"
        self.canary.mkdir()
        (self.canary / "untouched.txt").write_text("the canary")
        self.outside_before = snapshot(work / "outside-watch")
        self.synced_contents: dict[str, str] = {}  # sha -> where it was seen
        #: entrusted contents whose S3 versions an outsider deleted while a drive held them
        self.at_risk: set[str] = set()
        self.tick_edited: set[str] = set()  #: contents made by same-tick edits (for the report)
        self.book = VersionBook(self.s3, BUCKET, PREFIX)
        self.any_failed = False
        self.skipped: list[str] = []  #: what the last in-process sync left out
        self.last_error: dict[str, str] = {}  #: user -> why their last in-process sync stopped
        self.fault_rate = fault_rate
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMBEDDED_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.env.pop(CRASH_ENV, None)
        os.environ.update({k: self.env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})

    # -- work ------------------------------------------------------------------------------

    def set_faults(self, on: bool) -> None:
        self.proxy.clear()
        if not on:
            return
        kinds = [
            (Fault.SLOW_DOWN, None),
            (Fault.INTERNAL, None),
            (Fault.RESET_REQUEST, None),
            (Fault.RESET_AFTER_FORWARD, "PutObject"),
            (Fault.RESET_AFTER_FORWARD, "DeleteObject"),
            (Fault.TRUNCATE_BODY, "GetObject"),
            (Fault.RESET_MID_BODY, "GetObject"),
            (Fault.INTERNAL, "ListObjectVersions"),
        ]
        for fault, operation in kinds:
            self.proxy.add(
                Rule(fault, operation=operation, times=None, chance=self.fault_rate / len(kinds))
            )

    def sync(
        self,
        user: str,
        *,
        kill: bool = False,
        crash: str | None = None,
        sigint: bool = False,
        interrupt: int | None = None,
        folders: frozenset[str] = frozenset(),
    ) -> None:
        """One sync of `user`'s drive: in a child process when it is to be killed (at a
        random moment or a crash point) or SIGINT'd, else in this process (no start-up
        cost), maybe interrupted there (at the `interrupt`-th crash point it passes), maybe
        with `folders` unreadable.

        What the drive held as the sync started is entrusted to clouddrive once that sync
        finishes cleanly, and must stay retrievable from then on. (A content overwritten
        locally before any sync could finish never reached clouddrive: not a loss.)
        """
        held = {
            path: hashlib.sha256(data).hexdigest() for path, data in tree(self.roots[user]).items()
        }
        self.report.syncs += 1
        self.skipped = []
        if kill or crash or sigint:
            code = self.sync_in_child(user, kill=kill, crash=crash, sigint=sigint)
        else:
            code = self.sync_here(user, interrupt=interrupt, folders=folders)
        if code is None:
            return  # killed or interrupted: nothing is entrusted by a run that did not finish
        if code == 3:
            self.report.partial_syncs += 1
        elif code != 0:
            self.report.stopped_syncs += 1
        # Exit 3 with no file failed carried every local file but the skipped ones (under an
        # unreadable folder, a file/folder collision...): those did not reach clouddrive.
        if code == 0 or (code == 3 and not self.any_failed):
            for path, sha in held.items():
                if not any(under(path, s) for s in self.skipped):
                    self.synced_contents.setdefault(sha, f"{user}:{path}")

    def sync_here(
        self, user: str, *, interrupt: int | None = None, folders: frozenset[str] = frozenset()
    ) -> int | None:
        """A sync through the engine API; its CLI-style exit code, None if interrupted."""
        self.any_failed = False
        root = self.roots[user]

        def check_plan(plan: Plan) -> None:
            for action in plan.actions:
                deletes = action.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE)
                if deletes and any(under(action.path, f) for f in folders):
                    self.report.unreadable_deletes.append(
                        f"{user}: {action.kind.value} {action.path} ({sorted(folders)} unreadable)"
                    )

        if folders:
            self.report.unreadable_syncs += 1
        try:
            with (
                unreadable(root, set(folders)),
                interrupt_at(CRASH_POINTS, interrupt) if interrupt else contextlib.nullcontext(),
                Drive.open(root, retry=QUICK_RETRY) as drive,
            ):
                report = drive.sync(on_plan=check_plan)
        except Interrupted:
            self.report.interrupts += 1
            return None
        except CloudDriveError as exc:
            self.last_error[user] = f"{type(exc).__name__}: {exc}"
            return exc.exit_code
        self.last_error.pop(user, None)
        self.any_failed = bool(report.failed)
        self.skipped = [s.path for s in report.plan.skipped]
        return 3 if report.failed or report.plan.skipped else 0

    def sync_in_child(
        self, user: str, *, kill: bool, crash: str | None, sigint: bool = False
    ) -> int | None:
        """A sync by the real command in a child process; None if it was killed or stopped."""
        self.any_failed = True  # a child's per-file failures are not visible from here
        env = dict(self.env)
        if crash:
            env[CRASH_ENV] = crash
        cmd = [sys.executable, "-m", "clouddrive", "--root", str(self.roots[user]), "sync",
               "--yes", "--quiet"]  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if kill or sigint:
            time.sleep(self.rng.uniform(0.1, 1.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if sigint else signal.SIGKILL)
                if sigint:
                    self.report.sigints += 1
                else:
                    self.report.kills += 1
        _, stderr = proc.communicate(timeout=300)
        if proc.returncode == -signal.SIGKILL:
            if crash:
                self.report.crashes += 1
            return None
        if proc.returncode in (130, -signal.SIGINT):
            return None
        if proc.returncode not in (0, 3):
            sys.stderr.write(f"  sync of {user}: exit {proc.returncode}: {stderr[-300:]}\n")
        return proc.returncode

    def run(self, rounds: int) -> Report:
        for round_no in range(rounds):
            self.report.rounds += 1
            user = self.rng.choice(USERS)
            written: list[str] = []
            for _ in range(self.rng.randint(0, 3)):
                written += self.local_step(user, round_no)
            if self.rng.random() < 0.05:
                self.plant_hostile_key()
            if self.rng.random() < 0.08:
                self.foreign_upload(user, written)
            if self.rng.random() < 0.04:
                self.outside_hard_delete()
            folders: frozenset[str] = frozenset()
            if self.rng.random() < 0.06:
                folders = frozenset({self.rng.choice(FOLDERS)})
                folders = frozenset(f for f in folders if (self.roots[user] / f).is_dir())
            self.set_faults(self.rng.random() < 0.6)
            roll = self.rng.random()
            if roll < 0.10:
                self.sync(user, crash=self.rng.choice(CRASH_POINTS))
            elif roll < 0.16:
                self.sync(user, kill=True)
            elif roll < 0.20:
                self.sync(user, sigint=True)
            elif roll < 0.26:
                self.sync(user, interrupt=self.rng.randint(1, 4), folders=folders)
            else:
                self.sync(user, folders=folders)
            if self.rng.random() < 0.15:
                self.same_tick_edit(user)
        self.report.faults = len(self.proxy.log)
        self.set_faults(False)
        self.converge()
        self.check()
        return self.report

    def converge(self, limit: int = 6) -> None:
        for attempt in range(1, limit + 1):
            for user in USERS:
                self.sync(user)
            trees = [tree(root) for root in self.roots.values()]
            if all(t == trees[0] for t in trees) and self.all_quiet():
                self.report.rounds_to_converge = attempt
                return
        trees = [tree(root) for root in self.roots.values()]
        paths = set().union(*trees)
        differ = sorted(p for p in paths if len({repr(t.get(p)) for t in trees}) > 1)
        self.report.diverged.append(f"drives differ at {differ[:8]}")
        self.report.diverged += [f"{u}: {e[:200]}" for u, e in sorted(self.last_error.items())]

    def all_quiet(self) -> bool:
        for root in self.roots.values():
            with Drive.open(root, retry=QUICK_RETRY) as drive:
                if not drive.status().is_empty:
                    return False
        return True

    # -- verdict ---------------------------------------------------------------------------

    def identical_conflict_copies(self) -> list[str]:
        """Conflict copies whose content equals the version they conflicted with (named by
        their `clouddrive-conflict-of` metadata): the same content must be adopted, never
        kept twice. (Comparing with the file's *current* content would flag a copy made
        from an empty file whenever someone later writes an empty file there again.)"""
        found = []
        for path in tree(self.roots[USERS[0]]):
            if original_of(path) is None:
                continue
            try:
                head = self.s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{path}")
            except Exception:  # not on S3 (the drives did not converge: reported apart)
                continue
            source = head.get("Metadata", {}).get("clouddrive-conflict-of", "")
            key, _, version = source.partition("?versionId=")
            if not key or not version:
                continue  # made when the other side had no version (a swap)
            mine = self.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{path}")["Body"].read()
            try:
                theirs = self.s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)
            except Exception:  # that version was hard-deleted by the outsider: nothing to compare
                continue
            if mine == theirs["Body"].read():
                found.append(f"{path} (equal to {key} at {version[:12]})")
        return found

    def check(self) -> None:
        final = tree(next(iter(self.roots.values())))
        self.report.files = len(final)
        kept = {
            hashlib.sha256(d).hexdigest()
            for root in self.roots.values()
            for d in tree(root).values()
        }
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/"):
            for v in page.get("Versions", []):
                if "/.clouddrive/" in v["Key"]:
                    continue
                self.report.versions += 1
                body = self.s3.get_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])
                kept.add(hashlib.sha256(body["Body"].read()).hexdigest())
        for sha, where in self.synced_contents.items():
            if sha not in kept:
                how = ", its S3 copy hard-deleted by the outsider" if sha in self.at_risk else ""
                how += ", a same-tick edit" if sha in self.tick_edited else ""
                self.report.lost.append(f"{where} ({sha[:12]}{how})")
        with Drive.open(self.roots[USERS[0]], retry=QUICK_RETRY) as drive:
            self.report.anonymous = [f.path for f in drive.deleted() if f.deleted_by == UNKNOWN]
        self.report.duplicates += self.identical_conflict_copies()
        allowed = {"drives", "canary", "outside-watch", "server"}
        for entry in self.work.iterdir():
            if entry.name not in allowed:
                self.report.escaped.append(str(entry))
        if (self.canary / "untouched.txt").read_text() != "the canary" or len(
            list(self.canary.iterdir())
        ) != 1:
            self.report.escaped.append(str(self.canary))
        for entry in (self.work / "drives").iterdir():
            if entry.name not in USERS:
                self.report.escaped.append(str(entry))
        if snapshot(self.work / "outside-watch") != self.outside_before:
            self.report.escaped.append("outside-watch")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault-rate", type=float, default=0.15, help="chance that a request is faulted"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cd-chaos-"))
    (work / "outside-watch").mkdir()
    (work / "outside-watch" / "sentinel").write_text("sentinel")
    started = time.monotonic()
    server = start_server(work / "server", detach=False)
    try:
        ensure_bucket(server.endpoint_url, BUCKET)
        chaos = Chaos(work, server.endpoint_url, args.seed, args.fault_rate)
        try:
            report = chaos.run(args.rounds)
        finally:
            chaos.proxy.close()
    finally:
        stop_server(server.pid)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"chaos: seed {args.seed}, {args.rounds} rounds, {time.monotonic() - started:.0f} s")
    report.print()
    print("chaos: OK" if report.ok else "chaos: FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
