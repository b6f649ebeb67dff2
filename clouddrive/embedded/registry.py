"""The per-user embedded server: its state file, shared by every clouddrive process.

With no bucket configured, clouddrive runs against a SeaweedFS server it starts on loopback
(see `launch`), keeping its data under `default_data_dir()`. `server.json` there records the
server: its pid while it runs, and always its ports, so a restarted server comes back on the
same endpoint. A file lock (`server.lock`, through filelock) makes concurrent clouddrive
processes wait rather than start two servers on one data directory.

Reporting (`registration`, `running_embedded`) never starts anything; only
`ensure_embedded` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import filelock
import platformdirs

from clouddrive.embedded.access import DEFAULT_BUCKET, ensure_bucket, s3_answers
from clouddrive.embedded.launch import LOG_FILE, ServerInfo, start_server
from clouddrive.embedded.process import is_our_weed, pid_alive
from clouddrive.embedded.stop import stop_server
from clouddrive.errors import EmbeddedServerError

__all__ = [
    "Registration",
    "default_data_dir",
    "ensure_embedded",
    "is_alive",
    "is_embedded_endpoint",
    "registration",
    "running_embedded",
    "stop_embedded",
]

_STATE_FILE = "server.json"
_LOCK_FILE = "server.lock"
_LOCK_TIMEOUT = 120.0
_STUCK_GRACE = 10.0
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Registration:
    """What server.json says: the server's endpoint and ports, and its pid while it runs."""

    data_dir: Path
    endpoint_url: str
    pid: int | None
    ports: Mapping[str, int] = field(default_factory=dict)

    def info(self) -> ServerInfo | None:
        """The recorded server as a ServerInfo, or None if it was recorded as stopped."""
        if self.pid is None:
            return None
        return ServerInfo(
            self.endpoint_url, self.pid, self.data_dir, self.data_dir / LOG_FILE, self.ports
        )


def default_data_dir() -> Path:
    """Where the shared embedded server keeps its data: the user's clouddrive data dir."""
    return platformdirs.user_data_path("clouddrive", appauthor=False) / "seaweedfs"


def ensure_embedded(data_dir: Path | None = None) -> ServerInfo:
    """Return the running embedded server for `data_dir`, starting it if needed.

    Reuses the server recorded in `data_dir/server.json` if it is alive; otherwise starts a
    detached one (it outlives this process so later commands reuse it) on the ports it had
    before where they are still free, and records it. Either way the versioned `clouddrive`
    bucket exists afterwards.
    """
    data_dir = _prepare_dir(data_dir)
    with _locked(data_dir):
        record = _read_state(data_dir)
        info = record.info() if record else None
        if info is None or not _reusable(info):
            info = start_server(data_dir, detach=True, ports=record.ports if record else None)
            _write_state(data_dir, info.endpoint_url, info.ports, pid=info.pid)
        ensure_bucket(info.endpoint_url, DEFAULT_BUCKET)
        return info


def stop_embedded(data_dir: Path | None = None) -> bool:
    """Stop the server recorded in `data_dir/server.json`; True if one was running.

    The record keeps the endpoint and ports (for the next start) and drops the pid. A
    recorded pid is only signalled if it is still the weed serving this data directory (or,
    where that cannot be told, if S3 answers there).
    """
    data_dir = _prepare_dir(data_dir)
    with _locked(data_dir):
        record = _read_state(data_dir)
        if record is None or record.pid is None:
            return False
        stopped = False
        if pid_alive(record.pid):
            ours = is_our_weed(record.pid, data_dir)
            if ours or (ours is None and s3_answers(record.endpoint_url)):
                stop_server(record.pid)
                stopped = True
        _write_state(data_dir, record.endpoint_url, record.ports, pid=None)
        return stopped


def registration(data_dir: Path | None = None) -> Registration | None:
    """The recorded server (running or not), or None if there never was one. Starts nothing."""
    data_dir = (default_data_dir() if data_dir is None else data_dir).resolve()
    return _read_state(data_dir)


def running_embedded(data_dir: Path | None = None) -> ServerInfo | None:
    """The recorded server if it runs and answers; None otherwise. Starts nothing."""
    record = registration(data_dir)
    info = record.info() if record else None
    return info if info is not None and is_alive(info) else None


def is_embedded_endpoint(endpoint_url: str | None, data_dir: Path | None = None) -> bool:
    """Whether `endpoint_url` is the embedded server's recorded endpoint (running or not).

    Loopback spellings (127.0.0.1, localhost, ::1) and a trailing slash are taken as equal,
    so a URL pasted from `clouddrive server status` or typed by hand both match.
    """
    if not endpoint_url:
        return False
    record = registration(data_dir)
    return record is not None and _loopback_key(endpoint_url) == _loopback_key(record.endpoint_url)


def is_alive(info: ServerInfo) -> bool:
    """Whether the server is usable: its process runs (and is weed) and S3 answers."""
    if not pid_alive(info.pid) or is_our_weed(info.pid, info.data_dir) is False:
        return False
    return s3_answers(info.endpoint_url)


def _loopback_key(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with every loopback name spelled the same."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ("", url, None)
    return (parts.scheme, "loopback" if host in _LOOPBACK_NAMES else host, port)


def _reusable(info: ServerInfo) -> bool:
    """Whether the recorded server can be used; a stuck one is stopped so it can be replaced.

    A recorded weed that runs but does not answer gets a grace period first (a busy server
    may just be slow), then is stopped: two servers on one data directory would fight over
    its files.
    """
    if is_alive(info):
        return True
    if not pid_alive(info.pid) or not is_our_weed(info.pid, info.data_dir):
        return False
    deadline = time.monotonic() + _STUCK_GRACE
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if s3_answers(info.endpoint_url):
            return True
    stop_server(info.pid)
    return False


def _prepare_dir(data_dir: Path | None) -> Path:
    data_dir = default_data_dir() if data_dir is None else data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return data_dir.resolve()


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's start/stop lock (waiting up to _LOCK_TIMEOUT seconds)."""
    lock_path = data_dir / _LOCK_FILE
    try:
        with filelock.FileLock(lock_path, timeout=_LOCK_TIMEOUT):
            yield
    except filelock.Timeout:
        raise EmbeddedServerError(
            f"another clouddrive process has held {lock_path} for over "
            f"{_LOCK_TIMEOUT:g} s while starting or stopping the embedded server"
        ) from None


def _read_state(data_dir: Path) -> Registration | None:
    """The server recorded in server.json, or None if there is no usable record."""
    try:
        raw = json.loads((data_dir / _STATE_FILE).read_text(encoding="utf-8"))
        ports = raw.get("ports", {})
        pid = raw.get("pid")
        return Registration(
            data_dir=data_dir,
            endpoint_url=str(raw["endpoint_url"]),
            pid=None if pid is None else int(pid),
            ports={str(k): int(v) for k, v in ports.items()} if isinstance(ports, dict) else {},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_state(
    data_dir: Path, endpoint_url: str, ports: Mapping[str, int], *, pid: int | None
) -> None:
    """Record the server atomically (write a temp file, then rename over server.json)."""
    record: dict[str, object] = {"pid": pid, "endpoint_url": endpoint_url, "ports": dict(ports)}
    moment = "started_at" if pid is not None else "stopped_at"
    record[moment] = datetime.now(UTC).isoformat(timespec="seconds")
    path = data_dir / _STATE_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
