"""A bucket name, endpoint URL or region that S3 cannot be asked with is refused in one clear
line (exit 1) wherever it comes from (a drive's settings, a flag, the Python API, the AWS
configuration), before anything is done; and what botocore takes is never refused."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from clouddrive import errors
from clouddrive.cli.main import main
from clouddrive.core.s3names import is_bucket_name, is_endpoint_url, is_region_name
from clouddrive.ledger import connect
from clouddrive.local.config import DriveConfig

GOOD_URLS = [
    "http://127.0.0.1:8333",
    "https://s3.example.com",
    "https://s3.example.com/",
    "https://s3.example.com:443/some/path",
    "http://localhost",
    "http://[::1]:9000",
    "https://s3.eu-west-1.amazonaws.com.",
]
BAD_URLS = [
    "nonsense",
    "localhost:9000",
    "ftp://s3.example.com",
    "http://",
    "https://:9000",
    "http://exa mple.com",
    "https://s3.example.com:99999",
    "https://s3.example.com:port",
    "https://[::1",
    "http://-dash.example.com",
    "http://under_score.example.com",
]
GOOD_REGIONS = ["eu-west-1", "us-east-1", "local", "garage"]
BAD_REGIONS = ["eu west 1", "-eu", "eu-", "123", "eu_west_1"]
GOOD_BUCKETS = ["team-files", "a.b.c", "UPPER_old", "x"]
BAD_BUCKETS = ["my files", "a/b", "ünïcode", ""]


def client_for(url: str | None = None, region: str = "us-east-1") -> object:
    session = botocore.session.Session()
    session.set_credentials("a", "b")
    return session.create_client("s3", endpoint_url=url, region_name=region)


@pytest.mark.parametrize("url", GOOD_URLS)
def test_an_endpoint_taken_is_one_botocore_takes(url: str) -> None:
    assert is_endpoint_url(url)
    client_for(url)


@pytest.mark.parametrize("region", GOOD_REGIONS)
def test_a_region_taken_is_one_botocore_takes(region: str) -> None:
    assert is_region_name(region)
    client_for(region=region)


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_endpoint_refused(url: str) -> None:
    assert not is_endpoint_url(url)


@pytest.mark.parametrize("region", BAD_REGIONS)
def test_a_region_refused_is_one_botocore_refuses(region: str) -> None:
    assert not is_region_name(region)
    with pytest.raises(ValueError, match="region_name"):
        client_for(region=region)


def test_bucket_names_as_botocore_takes_them() -> None:
    assert all(map(is_bucket_name, GOOD_BUCKETS))
    assert not any(map(is_bucket_name, BAD_BUCKETS))


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--endpoint-url", "http://exa mple.com"),
        ("--endpoint-url", "http://"),
        ("--bucket", "my bucket"),
        ("--region", "eu west 1"),
    ],
)
def test_a_flag_is_one_line_and_exit_1_and_nothing_is_made(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "drive"
    words = ["init", str(folder), "--bucket", "b", "--user", "u", flag, value]
    code = main(words)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"argument {flag}: {value!r} is invalid: expected " in err
    assert "see 'clouddrive init --help'" in err
    assert not folder.exists()


@pytest.mark.parametrize("flag", ["--endpoint-url", "--bucket", "--region"])
def test_a_bucket_command_refuses_them_too(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lifecycle", "show", "--bucket", "b", flag, "no good"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"argument {flag}: 'no good' is invalid" in err


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"bucket": "my bucket"}, "bucket name 'my bucket' is invalid"),
        ({"endpoint_url": "http://"}, "endpoint URL 'http://' is invalid"),
        ({"region": "eu west"}, "AWS region 'eu west' is invalid"),
    ],
)
def test_the_python_api_refuses_them_before_asking_for_credentials(
    given: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    settings = {"bucket": "b", **given}
    bucket = settings.pop("bucket")
    with pytest.raises(errors.UserError, match=message):
        connect(bucket, "p", **settings)


@pytest.mark.parametrize(
    ("variable", "value", "names"),
    [
        ("AWS_ENDPOINT_URL", "http://exa mple.com", "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3"),
        ("AWS_DEFAULT_REGION", "eu west 1", "AWS_REGION, AWS_DEFAULT_REGION"),
    ],
)
def test_one_from_the_aws_configuration_says_where_to_fix_it(
    variable: str,
    value: str,
    names: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    monkeypatch.setenv(variable, value)
    DriveConfig(bucket="b", prefix="p", user="u").save(tmp_path)
    code = main(["--root", str(tmp_path), "status"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "internal error" not in err
    assert "the AWS configuration is invalid" in err and f"set {names}" in err
