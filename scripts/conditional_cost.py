"""What a conditional write costs the server: N small PUTs with and without `If-None-Match: *`.

Why: every clouddrive upload is conditional (`design/sync-model.md`, optimistic
concurrency), and the tools `scripts/bench.py` compares it with send no condition. This
measures the difference on the server itself, so the first-upload row can be read for what
it is. It starts its own SeaweedFS (`weed mini`), sends N PUTs of 4 KiB through the CRT (32
in flight) to fresh keys, plain and conditional, interleaved, with and without metadata,
and prints the wall time and the server's CPU time (user + system, its children included)
of each batch.

    python scripts/conditional_cost.py [N] [runs]
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from awscrt import auth, http, s3
from awscrt import io as crt_io

from clouddrive.embedded.access import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, ensure_bucket
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server

IN_FLIGHT = 32


def server_cpu(server: psutil.Process) -> float:
    total = 0.0
    for proc in [server, *server.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def put_all(
    client: s3.S3Client,
    host: str,
    prefix: str,
    bodies: list[bytes],
    extra: list[tuple[str, str]],
) -> int:
    """PUT every body under `prefix`, `IN_FLIGHT` at a time; how many failed."""
    slots, done = threading.Semaphore(IN_FLIGHT), threading.Semaphore(0)
    failed: list[object] = []
    sent = []

    def ended(error: object = None, **_: object) -> None:
        if error is not None:
            failed.append(error)
        slots.release()
        done.release()

    for i, body in enumerate(bodies):
        slots.acquire()
        fields = [("Host", host), ("Content-Length", str(len(body))), *extra]
        key = f"{prefix}/d{i % 50:03d}/f{i:06d}.bin"
        request = http.HttpRequest("PUT", key, http.HttpHeaders(fields), io.BytesIO(body))
        sent.append(
            client.make_request(
                type=s3.S3RequestType.DEFAULT,
                operation_name="PutObject",
                request=request,
                on_done=ended,
            )
        )
    for _ in bodies:
        done.acquire()
    return len(failed)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    work = Path(tempfile.mkdtemp(prefix="cd-conditional-"))
    info = start_server(work / "server", detach=False)
    host = info.endpoint_url.split("://")[1]
    try:
        ensure_bucket(info.endpoint_url, "bench")
        server = psutil.Process(info.pid)
        loops = crt_io.EventLoopGroup(2)
        client = s3.S3Client(
            bootstrap=crt_io.ClientBootstrap(loops, crt_io.DefaultHostResolver(loops)),
            region="us-east-1",
            tls_mode=s3.S3RequestTlsMode.DISABLED,
            credential_provider=auth.AwsCredentialsProvider.new_static(
                EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
            ),
        )
        bodies = [os.urandom(4096) for _ in range(count)]
        meta = [("x-amz-meta-clouddrive-user", "bench"), ("x-amz-meta-clouddrive-mtime", "1")]
        kinds = {
            "plain": [],
            "If-None-Match": [("If-None-Match", "*")],
            "metadata": meta,
            "metadata + If-None-Match": [*meta, ("If-None-Match", "*")],
        }
        print(f"{count} PUTs of 4 KiB, {IN_FLIGHT} in flight, SeaweedFS weed mini")
        for run in range(runs):
            for n, (label, extra) in enumerate(kinds.items()):
                cpu, began = server_cpu(server), time.perf_counter()
                failed = put_all(client, host, f"/bench/r{run}k{n}", bodies, extra)
                wall, used = time.perf_counter() - began, server_cpu(server) - cpu
                note = f", {failed} failed" if failed else ""
                print(f"run {run + 1} {label:26s} {wall:5.2f} s, server CPU {used:5.2f} s{note}")
    finally:
        stop_server(info.pid)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
