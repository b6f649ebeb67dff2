"""Helpers for tests of run records that must survive an interrupt (time travel and sync).

- `cli(root, *args, crash=...)`: run `clouddrive` in a subprocess, killed with SIGKILL at a
  crash point (`clouddrive.testing.faults`), e.g. `crash="time-travel-write-3"`.
- `stored_records(shared)`: every run record on S3, as stored (state included), by run id.
- `journal(drive)`: the run ids the drive journalled and has not completed on S3.
- `killed_after(fn)`: run `fn` in a forked child process, then SIGKILL it (a crash after
  `fn`; whatever `fn` left unfinished stays so). `fn` must open its own Drive / clients.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clouddrive.drive import Drive
from clouddrive.history.records import RUNS_DIR, RunRecord
from clouddrive.testing.faults import CRASH_ENV
from tests.drivekit import Shared

__all__ = ["cli", "journal", "killed_after", "stored_records"]


def cli(root: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.run(
        [sys.executable, "-m", "clouddrive", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_records(shared: Shared) -> dict[str, RunRecord]:
    """run id -> the record as S3 holds it now (read afresh, no cache)."""
    client: Any = shared.client()
    found: dict[str, RunRecord] = {}
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=shared.bucket, Prefix=f"{shared.prefix}/{RUNS_DIR}/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=shared.bucket, Key=item["Key"])["Body"].read()
            record = RunRecord.from_json(json.loads(body))
            found[record.run_id] = record
    return found


def journal(drive: Drive) -> list[str]:
    folder = drive.root / ".clouddrive" / "journal"
    return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def _run_then_die(fn: Callable[[], None]) -> None:
    fn()
    os.kill(os.getpid(), signal.SIGKILL)


def killed_after(fn: Callable[[], None]) -> None:
    proc = multiprocessing.get_context("fork").Process(target=_run_then_die, args=(fn,))
    proc.start()
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL, f"the child ended with {proc.exitcode}"
