"""A drive's configuration: ROOT/.clouddrive/config.toml. Never holds a secret."""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import tomli_w

from clouddrive.core.paths import INTERNAL_DIR, normalize_prefix
from clouddrive.errors import ConfigError, NotADrive

__all__ = ["CONFIG_NAME", "DriveConfig", "default_user", "find_root", "internal_dir"]

CONFIG_NAME = "config.toml"


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return os.environ.get("USER") or "unknown"


def internal_dir(root: Path) -> Path:
    return root / INTERNAL_DIR


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
            + tomli_w.dumps({"drive": data}),
            encoding="utf-8",
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, root: Path) -> DriveConfig:
        path = internal_dir(root) / CONFIG_NAME
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotADrive(f"{root} is not a clouddrive folder (run 'clouddrive init')") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        drive = raw.get("drive")
        if not isinstance(drive, dict) or not drive.get("bucket"):
            raise ConfigError(f"{path}: missing [drive] bucket")
        known = {f.name for f in fields(cls)}
        unknown = set(drive) - known
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
        drive["prefix"] = normalize_prefix(drive.get("prefix"))
        return cls(**drive)


def find_root(start: Path) -> Path:
    """The drive folder containing `start` (itself or a parent)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (internal_dir(folder) / CONFIG_NAME).is_file():
            return folder
    raise NotADrive(f"{start} is not inside a clouddrive folder (run 'clouddrive init' or --root)")
