"""A SeaweedFS cluster on loopback: a master, several volume servers with replication, a
filer and the S3 gateway, each its own process.

`weed mini` is one process; the store that scales is a cluster (or AWS S3). The benchmark and
an integration test sync through this one, and stop a volume server mid-sync, to show the
client copes with what a real deployment does. Nothing here is used by a drive itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from clouddrive.embedded.binary import find_weed
from clouddrive.errors import EmbeddedServerError

__all__ = ["Cluster", "start_cluster"]

_HOST = "127.0.0.1"


@dataclass
class Cluster:
    """A running cluster. `procs` maps a role (`master`, `volume1`..., `filer`, `s3`) to its
    process; `stop` ends one role (a volume server going away), `close` ends them all."""

    endpoint_url: str
    data_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def stop(self, role: str, timeout: float = 10.0) -> None:
        _end([self.procs[role]], timeout)

    def close(self, timeout: float = 3.0) -> None:
        """End every role: all asked at once (one by one, a master waiting for its volume
        servers took 30 s to go)."""
        _end(list(self.procs.values()), timeout)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _end(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Ask every process to stop (SIGTERM), then kill what still runs after `timeout`."""
    running = [proc for proc in procs if proc.poll() is None]
    for proc in running:
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held until every one is chosen)."""
    held = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((_HOST, 0))
            held.append(sock)
        return [s.getsockname()[1] for s in held]
    finally:
        for sock in held:
            sock.close()


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((_HOST, port)) == 0


def start_cluster(
    data_dir: Path, *, volumes: int = 3, replication: str = "010", ready_timeout: float = 90
) -> Cluster:
    """Start the cluster with its data under `data_dir`; return once S3 answers.

    Volume server N sits on rack rN, so replication `010` (one more copy on another rack)
    keeps every object readable, and writable once the master notices, when one volume
    server stops.
    """
    weed = str(find_weed())
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "WEED_"))}
    ports = iter(_free_ports(6 + 2 * volumes))
    master, master_grpc = next(ports), next(ports)
    cluster = Cluster(endpoint_url="", data_dir=data_dir)

    def spawn(role: str, *args: str) -> None:
        log = open(data_dir / f"{role}.log", "ab")  # noqa: SIM115 (owned by the process)
        cluster.procs[role] = subprocess.Popen(
            [weed, *args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
        log.close()

    try:
        (data_dir / "master").mkdir(exist_ok=True)
        spawn(
            "master",
            "master",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            f"-port={master}",
            f"-port.grpc={master_grpc}",
            f"-mdir={data_dir / 'master'}",
            f"-defaultReplication={replication}",
            "-volumeSizeLimitMB=64",
        )
        _wait(lambda: _answers(master), cluster, "master", ready_timeout)
        for n in range(1, volumes + 1):
            port, grpc = next(ports), next(ports)
            folder = data_dir / f"volume{n}"
            folder.mkdir(exist_ok=True)
            spawn(
                f"volume{n}",
                "volume",
                f"-ip={_HOST}",
                f"-ip.bind={_HOST}",
                f"-port={port}",
                f"-port.grpc={grpc}",
                f"-dir={folder}",
                "-max=50",
                f"-mserver={_HOST}:{master}.{master_grpc}",  # host:port.grpcPort
                f"-rack=r{n}",
                "-dataCenter=dc1",
            )
        filer, filer_grpc, s3, s3_grpc = next(ports), next(ports), next(ports), next(ports)
        (data_dir / "filer").mkdir(exist_ok=True)
        spawn(
            "filer",
            "filer",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            f"-port={filer}",
            f"-port.grpc={filer_grpc}",
            f"-master={_HOST}:{master}.{master_grpc}",
            f"-defaultReplicaPlacement={replication}",
        )
        _wait(lambda: _answers(filer), cluster, "filer", ready_timeout)
        spawn(
            "s3",
            "s3",
            f"-ip.bind={_HOST}",
            f"-port={s3}",
            f"-port.grpc={s3_grpc}",
            f"-filer={_HOST}:{filer}.{filer_grpc}",
        )
        _wait(lambda: _answers(s3), cluster, "s3", ready_timeout)
        cluster.endpoint_url = f"http://{_HOST}:{s3}"
        return cluster
    except BaseException:
        cluster.close()
        raise


def _wait(ready: object, cluster: Cluster, role: str, timeout: float) -> None:
    assert callable(ready)
    deadline = time.monotonic() + timeout
    while not ready():
        proc = cluster.procs[role]
        if proc.poll() is not None or time.monotonic() > deadline:
            log = cluster.data_dir / f"{role}.log"
            raise EmbeddedServerError(f"the cluster's {role} did not start; see {log}")
        time.sleep(0.1)
