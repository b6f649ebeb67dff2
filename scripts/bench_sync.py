#!/usr/bin/env python3
"""Benchmark clouddrive's sync against peers, side by side, on one local SeaweedFS server.

Each tool syncs its own copy of the same tree to its own prefix, through three steps: the first
sync (everything goes up), a sync with nothing changed (the cost of noticing nothing), and a
sync after 1% of the files changed. Prints wall time and peak memory per tool and step, and
the ratio of each peer to clouddrive (>1 means clouddrive is faster / smaller).

Peers are used when found on PATH: `rclone` (bisync, a two-way peer; Debian package rclone)
and `aws` (s3 sync, one-way only: a speed reference). Run:

    python scripts/bench_sync.py --files 2000 --size 4096
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.local.config import DriveConfig

BUCKET = "bench"


@dataclass
class Result:
    seconds: float
    max_rss_mib: float
    ok: bool


def run(cmd: list[str], env: dict[str, str]) -> Result:
    """Run a command to completion; wall time and the child's peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok and proc.stderr is not None:
        sys.stderr.write(f"  ! {' '.join(cmd[:3])}: {proc.stderr.read().decode()[-600:]}\n")
    return Result(elapsed, usage.ru_maxrss / 1024, ok)


def make_tree(root: Path, files: int, size: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(files):
        path = root / f"d{i % 50:02d}" / f"sub{i % 7}" / f"file{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    return paths


def touch_some(paths: list[Path], fraction: float, seed: int) -> None:
    rng = random.Random(seed)
    for path in rng.sample(paths, max(1, int(len(paths) * fraction))):
        path.write_bytes(rng.randbytes(path.stat().st_size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    server = start_server(work / "server", detach=False)
    try:
        ensure_bucket(server.endpoint_url, BUCKET)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMBEDDED_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "RCLONE_CONFIG_BENCH_TYPE": "s3",
            "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
            "RCLONE_CONFIG_BENCH_ENDPOINT": server.endpoint_url,
            "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY,
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": EMBEDDED_SECRET_KEY,
        }
        env.pop("AWS_CA_BUNDLE", None)  # rclone's SDK cannot load one over plain http
        exe = [sys.executable, "-m", "clouddrive"]
        tools: dict[str, Callable[[Path, bool], list[str]]] = {
            "clouddrive": lambda root, first: [*exe, "--root", str(root), "sync", "--yes", "-q"],
        }
        if shutil.which("rclone"):
            tools["rclone bisync"] = lambda root, first: [
                "rclone", "bisync", str(root), f"bench:{BUCKET}/rclone",
                "--workdir", str(work / "rclone-state"), *(["--resync"] if first else []),
            ]  # fmt: skip
        if shutil.which("aws"):
            tools["aws s3 sync (1-way)"] = lambda root, first: [
                "aws", "s3", "sync", str(root), f"s3://{BUCKET}/aws",
                "--endpoint-url", server.endpoint_url, "--only-show-errors",
            ]  # fmt: skip

        results: dict[str, dict[str, Result]] = {}
        for name, command in tools.items():
            root = work / name.split()[0]
            paths = make_tree(root, args.files, args.size, args.seed)
            if name == "clouddrive":
                DriveConfig(bucket=BUCKET, prefix="clouddrive", endpoint_url=server.endpoint_url,
                            user="bench").save(root)  # fmt: skip
            steps = results.setdefault(name, {})
            print(f"{name}: first sync ...", flush=True)
            steps["first sync"] = run(command(root, True), env)
            steps["no change"] = run(command(root, False), env)
            time.sleep(0.01)
            touch_some(paths, 0.01, args.seed)
            steps["1% changed"] = run(command(root, False), env)

        base = results["clouddrive"]
        print(f"\n{args.files} files x {args.size} B, SeaweedFS on loopback\n")
        print(
            f"{'tool':<22}{'step':<14}{'seconds':>9}{'MiB':>8}{'time ratio':>12}{'mem ratio':>11}"
        )
        for name, steps in results.items():
            for step, r in steps.items():
                ratio_t = r.seconds / base[step].seconds
                ratio_m = r.max_rss_mib / base[step].max_rss_mib
                flag = "" if r.ok else "  (failed)"
                print(
                    f"{name:<22}{step:<14}{r.seconds:>9.2f}{r.max_rss_mib:>8.0f}"
                    f"{ratio_t:>12.2f}{ratio_m:>11.2f}{flag}"
                )
        return 0
    finally:
        stop_server(server.pid)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
