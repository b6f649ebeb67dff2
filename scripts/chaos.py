#!/usr/bin/env python3
"""Chaos run: three drives on one prefix, random work, faults, kills; then prove nothing was lost.

Each round one drive does random creates, edits, deletes and renames, and an outsider may put
hostile keys (`../escape`, absolute, backslash...) straight into the bucket; then that drive
syncs in a child process, through a proxy that injects S3 faults (503s, 500s, resets, cut
bodies, lost answers), and the child may be killed at a random moment or at a named crash
point. At the end the faults stop and every drive syncs until all agree. The report counts
rounds, actions, faults, crashes, files, contents lost (anything a drive held when it synced
that is neither a current file nor an S3 version), writes outside the drive roots, and the
rounds it took to converge. Exit status 1 if anything was lost, escaped, or did not converge.

    python scripts/chaos.py --rounds 200 --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from clouddrive.drive import Drive
from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.errors import CloudDriveError
from clouddrive.ledger import RetryPolicy
from clouddrive.local.config import DriveConfig
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from clouddrive.testing.faults import CRASH_ENV

BUCKET = "chaos"
#: the same bounded retries as production, with short waits: faults are dense here
QUICK_RETRY = RetryPolicy(attempts=6, initial=0.02, maximum=0.2)
PREFIX = "shared"
USERS = ("ann", "bob", "cat")
NAMES = ["a.txt", "b.md", "notes/c.txt", "notes/d.txt", "deep/x/y.bin", "e", "f.csv", "g h.txt"]
CRASH_POINTS = [
    "after-upload",
    "after-download-temp",
    "after-download-replace",
    "after-delete-local",
    "after-delete-remote",
    "after-conflict-rename",
    "mid-listing",
]
HOSTILE = [
    "../escape",
    "a/../../x",
    "/abs",
    "back\\slash",
    "tab\tname",
    "\uff0e\uff0e/y",
    "n" * 300,
]


@dataclass
class Report:
    rounds: int = 0
    actions: int = 0
    syncs: int = 0
    partial_syncs: int = 0
    stopped_syncs: int = 0
    faults: int = 0
    crashes: int = 0
    kills: int = 0
    hostile_keys: int = 0
    files: int = 0
    versions: int = 0
    lost: list[str] = field(default_factory=list)
    escaped: list[str] = field(default_factory=list)
    rounds_to_converge: int | None = None

    def print(self) -> None:
        converge = self.rounds_to_converge if self.rounds_to_converge is not None else "NEVER"
        rows = [
            ("rounds", self.rounds),
            ("actions (local changes)", self.actions),
            (
                "syncs",
                f"{self.syncs} ({self.partial_syncs} skipped some files, "
                f"{self.stopped_syncs} stopped by a fault)",
            ),
            ("faults injected", self.faults),
            ("crashes at crash points", self.crashes),
            ("kills at random moments", self.kills),
            ("hostile keys planted", self.hostile_keys),
            ("files at the end", self.files),
            ("S3 versions at the end", self.versions),
            ("lost contents", len(self.lost)),
            ("writes outside the roots", len(self.escaped)),
            ("rounds to converge", converge),
        ]
        for name, value in rows:
            print(f"  {name:<26} {value}")
        for item in self.lost[:10]:
            print(f"  LOST: {item}")
        for item in self.escaped[:10]:
            print(f"  ESCAPED: {item}")

    @property
    def ok(self) -> bool:
        return not self.lost and not self.escaped and self.rounds_to_converge is not None


def tree(root: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) == root and d == ".clouddrive")]
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with a content hash (to spot writes outside the roots)."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Chaos:
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
        self.any_failed = False
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

    def local_step(self, user: str, round_no: int) -> None:
        root = self.roots[user]
        present = [p for p in tree(root) if p in NAMES]
        op = self.rng.choice(
            ["write", "write", "write", "delete", "rename"] if present else ["write"]
        )
        if op == "write":
            path = root / self.rng.choice(NAMES)
            if path.parent.exists() and not path.parent.is_dir():
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            size = self.rng.choice([0, 10, 100, 5000, 200_000])
            data = f"{user} r{round_no} {self.rng.random()}\n".encode() * (size // 30 + 1)
            path.write_bytes(data[:size] if size else b"")
        elif op == "delete":
            (root / self.rng.choice(present)).unlink()
        else:
            src = self.rng.choice(present)
            dst = root / self.rng.choice(NAMES)
            if dst.parent.exists() and not dst.parent.is_dir():
                return
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(root / src, dst)
        self.report.actions += 1

    def plant_hostile_key(self) -> None:
        key = f"{PREFIX}/{self.rng.choice(HOSTILE)}"
        try:
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"hostile payload")
            self.report.hostile_keys += 1
        except Exception:  # the server may refuse such a key: fine, nothing planted
            pass

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

    def sync(self, user: str, *, kill: bool, crash: str | None) -> None:
        """One sync of `user`'s drive: in a child process when it is to be killed (at a
        random moment or a crash point), else in this process (no start-up cost).

        What the drive held as the sync started is entrusted to clouddrive once that sync
        finishes cleanly, and must stay retrievable from then on. (A content overwritten
        locally before any sync could finish never reached clouddrive: not a loss.)
        """
        held = {
            hashlib.sha256(data).hexdigest(): f"{user}:{path}"
            for path, data in tree(self.roots[user]).items()
        }
        self.report.syncs += 1
        if kill or crash:
            code = self.sync_in_child(user, kill=kill, crash=crash)
        else:
            code = self.sync_here(user)
        if code is None:
            return  # killed: nothing is entrusted by a run that did not finish
        if code == 3:
            self.report.partial_syncs += 1
        elif code != 0:
            self.report.stopped_syncs += 1
        # Exit 3 with no file failed (only hostile keys skipped) carried every local file too.
        if code == 0 or (code == 3 and not self.any_failed):
            for sha, where in held.items():
                self.synced_contents.setdefault(sha, where)

    def sync_here(self, user: str) -> int:
        """A sync through the engine API; its CLI-style exit code."""
        self.any_failed = False
        try:
            with Drive.open(self.roots[user], retry=QUICK_RETRY) as drive:
                report = drive.sync()
        except CloudDriveError as exc:
            return exc.exit_code
        self.any_failed = bool(report.failed)
        return 3 if report.failed or report.plan.skipped else 0

    def sync_in_child(self, user: str, *, kill: bool, crash: str | None) -> int | None:
        """A sync by the real command in a child process; None if it was killed."""
        self.any_failed = True  # a child's per-file failures are not visible from here
        env = dict(self.env)
        if crash:
            env[CRASH_ENV] = crash
        cmd = [sys.executable, "-m", "clouddrive", "--root", str(self.roots[user]), "sync",
               "--yes", "--quiet"]  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if kill:
            time.sleep(self.rng.uniform(0.1, 1.0))
            if proc.poll() is None:
                proc.kill()
                self.report.kills += 1
        _, stderr = proc.communicate(timeout=300)
        if proc.returncode == -signal.SIGKILL:
            if crash:
                self.report.crashes += 1
            return None
        if proc.returncode not in (0, 3):
            sys.stderr.write(f"  sync of {user}: exit {proc.returncode}: {stderr[-300:]}\n")
        return proc.returncode

    def run(self, rounds: int) -> Report:
        for round_no in range(rounds):
            self.report.rounds += 1
            user = self.rng.choice(USERS)
            for _ in range(self.rng.randint(0, 3)):
                self.local_step(user, round_no)
            if self.rng.random() < 0.05:
                self.plant_hostile_key()
            self.set_faults(self.rng.random() < 0.6)
            roll = self.rng.random()
            crash = self.rng.choice(CRASH_POINTS) if roll < 0.12 else None
            self.sync(user, kill=0.12 <= roll < 0.2, crash=crash)
        self.report.faults = len(self.proxy.log)
        self.set_faults(False)
        self.converge()
        self.check()
        return self.report

    def converge(self, limit: int = 6) -> None:
        for attempt in range(1, limit + 1):
            for user in USERS:
                self.sync(user, kill=False, crash=None)
            trees = [tree(root) for root in self.roots.values()]
            if all(t == trees[0] for t in trees) and self.all_quiet():
                self.report.rounds_to_converge = attempt
                return

    def all_quiet(self) -> bool:
        for root in self.roots.values():
            with Drive.open(root, retry=QUICK_RETRY) as drive:
                if not drive.status().is_empty:
                    return False
        return True

    # -- verdict ---------------------------------------------------------------------------

    def check(self) -> None:
        final = tree(next(iter(self.roots.values())))
        self.report.files = len(final)
        kept = {hashlib.sha256(d).hexdigest() for d in final.values()}
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
                self.report.lost.append(f"{where} ({sha[:12]})")
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
