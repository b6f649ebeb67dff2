"""`clouddrive link`: a presigned download link that a plain HTTP GET (no credentials) can
use, that names one exact version, and that stops working when it expires. Run against a
SeaweedFS that checks signatures (tests/authkit.py), so an unsigned or expired request is
really refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from clouddrive import errors
from clouddrive.drive import Drive
from clouddrive.ledger.presign import check_life
from tests.authkit import ADMIN, AuthServer
from tests.drivekit import Shared


@pytest.fixture
def drive(auth_server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Drive:
    ADMIN.use(monkeypatch)
    bucket = auth_server.create_bucket(f"link{time.time_ns()}")
    return Shared(auth_server.endpoint_url, bucket).drive(tmp_path / "ann", "ann")


def fetch(url: str) -> tuple[int, bytes]:
    """A plain GET, as a browser or curl would make it: no AWS credentials at all."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def put(drive: Drive, name: str, body: bytes) -> None:
    (drive.root / name).write_bytes(body)
    assert not drive.sync().failed


def test_link_downloads_without_credentials_and_names_the_version(drive: Drive) -> None:
    put(drive, "report.txt", b"first draft")
    link = drive.link("report.txt", expires=timedelta(minutes=5))
    unsigned = link.url.split("?")[0]
    assert fetch(unsigned)[0] == 403  # the server checks: only the signature lets it through
    assert fetch(link.url) == (200, b"first draft")
    put(drive, "report.txt", b"second draft, longer")
    # The link names the version it shared: it keeps giving that content.
    assert fetch(link.url) == (200, b"first draft")
    old = drive.link("report.txt", version=link.version_id[:12])
    assert old.version_id == link.version_id
    assert fetch(drive.link("report.txt").url) == (200, b"second draft, longer")


def test_link_stops_working_when_it_expires(drive: Drive) -> None:
    put(drive, "brief.txt", b"short-lived")
    link = drive.link("brief.txt", expires=timedelta(seconds=2))
    assert fetch(link.url) == (200, b"short-lived")
    time.sleep(3.5)
    status, body = fetch(link.url)
    assert status == 403, body


def test_refusals_are_one_clear_line(drive: Drive) -> None:
    put(drive, "gone.txt", b"x")
    (drive.root / "gone.txt").unlink()
    drive.sync()
    with pytest.raises(errors.UserError, match="is deleted; share one of its versions"):
        drive.link("gone.txt")
    with pytest.raises(errors.UserError, match="no such file on S3"):
        drive.link("never.txt")
    with pytest.raises(errors.UserError, match="at most 7 days"):
        drive.link("gone.txt", expires=timedelta(days=8), version=None)
    with pytest.raises(errors.UserError, match=r"no version of gone\.txt start with 'zzz'"):
        drive.link("gone.txt", version="zzz")


def test_cli_prints_the_url_alone_on_stdout(drive: Drive) -> None:
    put(drive, "notes.md", b"# notes")
    env = dict(os.environ)
    run = [sys.executable, "-m", "clouddrive", "--root", str(drive.root), "link"]
    done = subprocess.run(
        [*run, "notes.md", "--expires", "10m"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert "\n" not in url and fetch(url) == (200, b"# notes")
    assert "anyone with the link can download it" in done.stderr
    bad = subprocess.run(
        [*run, "notes.md", "--expires", "8d"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "at most 7 days" in bad.stderr
    worse = subprocess.run(
        [*run, "notes.md", "--expires", "soon"], env=env, capture_output=True, text=True
    )
    assert worse.returncode == 1 and "not a length of time" in worse.stderr


def test_temporary_credentials_cap_the_life_of_a_link() -> None:
    """Signed with an STS session that ends in an hour, a 2-hour link would break after one:
    refused, with a length that works."""
    soon = datetime.now(UTC) + timedelta(hours=1)
    client = SimpleNamespace(_request_signer=SimpleNamespace(_credentials=_Expiring(soon)))
    with pytest.raises(errors.UserError, match=r"expire in .*use --expires 5\dm or less"):
        check_life(client, timedelta(hours=2))
    check_life(client, timedelta(minutes=30))  # within what the credentials have left


class _Expiring:
    def __init__(self, when: datetime) -> None:
        self._expiry_time = when


def test_the_history_hint_can_be_pasted(drive: Drive) -> None:
    """A name with a space is quoted in the hint, so the command runs as printed."""
    put(drive, "my notes.txt", b"x")
    (drive.root / "my notes.txt").unlink()
    drive.sync()
    with pytest.raises(errors.UserError) as refused:
        drive.link("my notes.txt")
    assert "see: clouddrive history 'my notes.txt')" in str(refused.value)
