"""A drive's configuration: ROOT/.clouddrive/config.toml. Never holds a secret.

Every setting is type-checked when it is read (and when a DriveConfig is built in code), so a
bad value (`workers = "8"`, a negative `part_size_mib`, a misspelt key) is one clear line
naming the file, the key and what was expected, not an internal error halfway through a
sync. The checks are a small table of plain functions: no validation library, so opening a
drive costs no extra imports.
"""

from __future__ import annotations

import getpass
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w

from clouddrive.core.paths import INTERNAL_DIR, normalize_prefix
from clouddrive.core.s3names import BUCKET, ENDPOINT, PREFIX, PROFILE, REGION, USER, NameRule
from clouddrive.errors import ConfigError, NotADrive

__all__ = ["CONFIG_NAME", "DriveConfig", "default_user", "find_root", "internal_dir"]

CONFIG_NAME = "config.toml"
_SECTION = "drive"


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return os.environ.get("USER") or "unknown"


def internal_dir(root: Path) -> Path:
    return root / INTERNAL_DIR


# -- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """What a setting accepts: `ok(value)` and the words that say so in an error."""

    ok: Callable[[object], bool]
    expected: str
    optional: bool = False


def _whole(low: int, high: int | None = None) -> Callable[[object], bool]:
    # bool is an int in Python, but `workers = true` is a mistake, not 1
    return lambda v: (
        isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)
    )


def _between(low: int, high: int | None, unit: str = "") -> str:
    if high is None:
        return f"a whole number{unit}, {low} or more (written without quotes)"
    return f"a whole number from {low} to {high}{unit} (written without quotes)"


def _named(rule: NameRule, *, optional: bool = False) -> _Rule:
    """A setting written as text that `rule` (`clouddrive.core.s3names`) accepts."""
    return _Rule(
        lambda v: isinstance(v, str) and rule.accepts(v), f"{rule.expected}, in quotes", optional
    )


_RULES: dict[str, _Rule] = {
    "bucket": _named(BUCKET),
    "prefix": _named(PREFIX),
    "endpoint_url": _named(ENDPOINT, optional=True),
    "profile": _named(PROFILE, optional=True),
    "region": _named(REGION, optional=True),
    "user": _named(USER, optional=True),
    "embedded": _Rule(lambda v: isinstance(v, bool), "true or false"),
    "workers": _Rule(_whole(1, 256), _between(1, 256)),
    "multipart_threshold_mib": _Rule(_whole(1), _between(1, None, " of MiB")),
    # S3 parts are 5 MiB to 5 GiB
    "part_size_mib": _Rule(_whole(5, 5120), _between(5, 5120, " (MiB; S3's part limits)")),
    "list_page_size": _Rule(_whole(1, 1000), _between(1, 1000), optional=True),
}


def _shown(value: object) -> str:
    """A value the way it is written in TOML, for the error line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    # in TOML's words, not Python's ("a dict" means nothing to whoever wrote the file)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date or time" if hasattr(value, "isoformat") else f"a {type(value).__name__}"


def _check(values: Mapping[str, object], where: str) -> None:
    """Raise ConfigError (one line: where, key, expected) for the first bad setting."""
    unknown = sorted(set(values) - set(_RULES))
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(_RULES)})")
    for key, value in values.items():
        rule = _RULES[key]
        if value is None and rule.optional:
            continue
        if not rule.ok(value):
            shown = _shown(value)
            raise ConfigError(f"{where}: {key} = {shown} is invalid: expected {rule.expected}")


# -- the configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class DriveConfig:
    """Where a drive syncs to and as whom. `embedded` drives find their endpoint at start."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    user: str | None = None
    embedded: bool = False
    workers: int = 8
    #: uploads larger than this go in parts of `part_size_mib` (S3's minimum part is 5 MiB)
    multipart_threshold_mib: int = 64
    part_size_mib: int = 16
    #: keys per listing page; None lets the server choose (1000 on S3)
    list_page_size: int | None = None

    def __post_init__(self) -> None:
        _check(asdict(self), "drive settings")

    @property
    def user_name(self) -> str:
        return self.user or default_user()

    def save(self, root: Path) -> Path:
        path = internal_dir(root) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if v is not None}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            "# clouddrive drive configuration (no secrets: credentials come from the AWS chain)\n"
            + tomli_w.dumps({_SECTION: data}),
            encoding="utf-8",
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, root: Path) -> DriveConfig:
        """Read and check ROOT/.clouddrive/config.toml; any bad value is a ConfigError."""
        path = internal_dir(root) / CONFIG_NAME
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotADrive(f"{root} is not a clouddrive folder (run 'clouddrive init')") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {exc.start + 1} is not): save it as UTF-8"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        extra = sorted(set(raw) - {_SECTION})
        if extra:
            raise ConfigError(f"{path}: unknown section or key {extra[0]!r} (only [{_SECTION}])")
        drive = raw.get(_SECTION)
        if not isinstance(drive, dict) or "bucket" not in drive:
            raise ConfigError(f"{path}: missing [{_SECTION}] bucket")
        _check(drive, str(path))
        drive["prefix"] = normalize_prefix(drive.get("prefix"))
        return cls(**drive)


def find_root(start: Path) -> Path:
    """The drive folder containing `start` (itself or a parent)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (internal_dir(folder) / CONFIG_NAME).is_file():
            return folder
    raise NotADrive(f"{start} is not inside a clouddrive folder (run 'clouddrive init' or --root)")
