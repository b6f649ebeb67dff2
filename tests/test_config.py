"""config.toml is checked at load: each bad value is one line naming the file, key, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouddrive.cli.main import main
from clouddrive.errors import ConfigError, NotADrive
from clouddrive.local.config import CONFIG_NAME, DriveConfig

GOOD = 'bucket = "team"\nprefix = "docs"\n'


def write_config(root: Path, body: str, section: str = "[drive]\n") -> Path:
    path = root / ".clouddrive" / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(section + body, encoding="utf-8")
    return path


def load_error(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        DriveConfig.load(root)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('workers = "8"', 'workers = "8"', "a whole number from 1 to 256"),
        ("workers = 0", "workers = 0", "a whole number from 1 to 256"),
        ("workers = true", "workers = true", "a whole number"),
        ("workers = 2.5", "workers = 2.5", "a whole number"),
        ("part_size_mib = -16", "part_size_mib = -16", "a whole number from 5 to 5120"),
        ("part_size_mib = 4", "part_size_mib = 4", "S3's part limits"),
        ("multipart_threshold_mib = -1", "multipart_threshold_mib = -1", "of MiB, 1 or more"),
        ("workers = { a = 1 }", "workers = a table", "a whole number"),
        ("workers = 1979-05-27", "workers = a date or time", "a whole number"),
        ('list_page_size = "100"', 'list_page_size = "100"', "from 1 to 1000"),
        ("list_page_size = 5000", "list_page_size = 5000", "from 1 to 1000"),
        ('endpoint_url = "localhost:9000"', "endpoint_url", "starting with http://"),
        ('endpoint_url = "http://exa mple.com"', "endpoint_url", "and a host"),
        ('endpoint_url = "http://"', "endpoint_url", "and a host"),
        ('endpoint_url = "https://s3.example.com:99999"', "endpoint_url", "and a host"),
        ('endpoint_url = "https://[::1"', "endpoint_url", "and a host"),
        ("region = 3", "region = 3", "an AWS region name"),
        ('region = "eu west 1"', 'region = "eu west 1"', "an AWS region name"),
        ('profile = ""', 'profile = ""', "an AWS profile name"),
        ('embedded = "yes"', 'embedded = "yes"', "true or false"),
        ("user = [1]", "user = an array", "your name, not blank"),
        ('user = "a\\tb"', 'user = "a\\tb"', "without control characters"),
    ],
)
def test_a_bad_value_names_file_key_and_expectation(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    path = write_config(tmp_path, GOOD + line + "\n")
    message = load_error(tmp_path)
    assert message.startswith(f"{path}: {key}")
    assert "is invalid: expected " in message and expected in message


def test_bucket_must_be_text(tmp_path: Path) -> None:
    path = write_config(tmp_path, "bucket = 5\n")
    assert load_error(tmp_path) == (
        f"{path}: bucket = 5 is invalid: expected a bucket name: letters, digits, dots, "
        "hyphens and underscores (e.g. team-files), in quotes"
    )


def test_a_bucket_name_s3_cannot_take_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'bucket = "my files"\n')
    assert load_error(tmp_path).startswith(
        f'{path}: bucket = "my files" is invalid: expected a bucket name: letters, digits,'
    )


@pytest.mark.parametrize("prefix", ["a/../b", "../x", " ", "x/.clouddrive"])
def test_a_prefix_no_drive_can_have_is_refused(tmp_path: Path, prefix: str) -> None:
    path = write_config(tmp_path, f'bucket = "team"\nprefix = "{prefix}"\n')
    assert load_error(tmp_path).startswith(
        f'{path}: prefix = "{prefix}" is invalid: expected a key prefix: folder names'
    )


def test_a_file_that_is_not_utf8_says_so_in_words(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    path.write_bytes(b'bucket = "caf\xe9"\n')
    assert load_error(tmp_path) == f"{path}: not UTF-8 text (byte 14 is not): save it as UTF-8"


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "wrokers = 8\n")
    message = load_error(tmp_path)
    assert message.startswith(f"{path}: unknown setting 'wrokers' (known: bucket, prefix,")
    assert "workers" in message


def test_an_unknown_section_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "[drvie]\nworkers = 8\n")
    assert load_error(tmp_path) == f"{path}: unknown section or key 'drvie' (only [drive])"


def test_missing_bucket_and_broken_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'prefix = "x"\n')
    assert load_error(tmp_path) == f"{path}: missing [drive] bucket"
    write_config(tmp_path, 'bucket = "x\n')
    assert load_error(tmp_path).startswith(f"{path}: invalid TOML:")


def test_good_values_load_with_their_types(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        GOOD + 'endpoint_url = "http://127.0.0.1:9000"\nworkers = 4\npart_size_mib = 5\n'
        "multipart_threshold_mib = 5\nlist_page_size = 1\nembedded = false\n",
    )
    cfg = DriveConfig.load(tmp_path)
    assert (cfg.bucket, cfg.prefix, cfg.workers, cfg.part_size_mib) == ("team", "docs", 4, 5)
    assert cfg.list_page_size == 1 and cfg.endpoint_url == "http://127.0.0.1:9000"


def test_saved_config_loads_back(tmp_path: Path) -> None:
    cfg = DriveConfig(bucket="team", prefix="docs", region="eu-west-1", workers=3)
    cfg.save(tmp_path)
    assert DriveConfig.load(tmp_path) == cfg


def test_building_a_bad_config_in_code_is_refused_too() -> None:
    with pytest.raises(ConfigError, match=r"^drive settings: workers = -1 is invalid"):
        DriveConfig(bucket="team", workers=-1)


def test_not_a_drive(tmp_path: Path) -> None:
    with pytest.raises(NotADrive):
        DriveConfig.load(tmp_path)


def test_the_cli_prints_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the checks, `workers = "8"` surfaced later as 'internal error: TypeError'."""
    path = write_config(tmp_path, GOOD + 'workers = "8"\n')
    assert main(["--root", str(tmp_path), "status"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f'clouddrive: {path}: workers = "8" is invalid: expected a whole number from 1 to 256 '
        "(written without quotes)\n"
    )
