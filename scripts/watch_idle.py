#!/usr/bin/env python3
"""What an idle watching drive costs: CPU (% of one core) and S3 requests per minute.

Builds a drive of `--files` small files on a fresh local SeaweedFS (the first sync uploads
them), then runs `clouddrive watch`'s loop with its default intervals (the change feed every
5 s, a full check every 300 s) for `--seconds` with nothing changing, and reports this
process's CPU time and the S3 requests it made. A one-minute window holds no full check, so
the cost of one full check (a sync that finds nothing to do) is measured too and spread over
its interval. Not a test: numbers depend on the machine, nothing is asserted.

    python scripts/watch_idle.py --files 20000 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from clouddrive.drive import Drive
from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.live.loop import Watcher, WatchOptions
from clouddrive.local.config import DriveConfig


class RequestCounter:
    """Counts every HTTP request a boto3 client sends (botocore's before-send event)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: Any) -> None:
        self.count += 1


def build_tree(root: Path, files: int) -> None:
    for i in range(files):
        path = root / f"d{i // 500:03}" / f"f{i:05}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=5.0)
    parser.add_argument("--full-every", type=float, default=300.0)
    args = parser.parse_args()

    os.environ["AWS_ACCESS_KEY_ID"] = EMBEDDED_ACCESS_KEY
    os.environ["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_SECRET_KEY
    with tempfile.TemporaryDirectory(prefix="watch-idle-") as tmp:
        info = start_server(Path(tmp) / "weed", detach=False, extra_flags=["-volume.max=100"])
        try:
            ensure_bucket(info.endpoint_url, "idle")
            root = Path(tmp) / "drive"
            build_tree(root, args.files)
            config = DriveConfig(bucket="idle", prefix="p", endpoint_url=info.endpoint_url)
            config.save(root)
            drive = Drive(root, config)
            counter = RequestCounter()
            drive.remote.client.meta.events.register("before-send.s3", counter)
            start = time.monotonic()
            drive.sync()
            print(f"first sync of {args.files} files: {time.monotonic() - start:.1f}s")

            me = psutil.Process()
            cpu0, req0, t0 = sum(me.cpu_times()[:2]), counter.count, time.monotonic()
            report = drive.sync()
            full_cpu = sum(me.cpu_times()[:2]) - cpu0
            full_req, full_wall = counter.count - req0, time.monotonic() - t0
            assert report.plan.is_empty
            print(
                f"one full check (nothing to do): {full_wall:.2f}s wall, {full_cpu:.2f}s CPU, "
                f"{full_req} requests"
            )

            options = WatchOptions(poll=args.poll, full_every=args.full_every)
            watcher = Watcher(drive, options)
            watcher._need_sync = False  # the drive was just synced: measure only idling
            stop = threading.Event()
            thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
            thread.start()
            time.sleep(1.0)  # let the watcher start (the inotify watches are set up)
            cpu0, req0, t0 = sum(me.cpu_times()[:2]), counter.count, time.monotonic()
            time.sleep(args.seconds)
            cpu, req, wall = (
                sum(me.cpu_times()[:2]) - cpu0,
                counter.count - req0,
                time.monotonic() - t0,
            )
            stop.set()
            thread.join(timeout=10)
            drive.close()

            per_min = 60.0 / wall
            print(f"idle watch over {wall:.0f}s ({args.files} files, poll {args.poll:g}s):")
            print(f"  CPU: {100 * cpu / wall:.2f}% of one core")
            print(f"  S3 requests: {req * per_min:.1f} per minute")
            spread = 100 * full_cpu / args.full_every
            print(
                f"  with one full check every {args.full_every:g}s: +{spread:.2f}% CPU, "
                f"+{full_req * 60 / args.full_every:.1f} requests per minute on average"
            )
        finally:
            stop_server(info.pid)


if __name__ == "__main__":
    main()
