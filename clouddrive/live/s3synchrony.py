"""Coming from s3synchrony: turn its data folder into a clouddrive drive, in place.

What s3synchrony leaves (see its documentation): a `.S3/` folder inside the data folder with
`versions.csv`, `versionsLocal.csv`, `deletedS3.csv`, `deletedLocal.csv` (its own ledger,
which clouddrive does not need: S3 versioning is the ledger), `ignores3.txt` (exact relative
paths, one a line, never synced), `user_name.txt` (the name on its edits), `aws.txt`
(plaintext keys pasted from the clipboard, in the `~/.aws/credentials` format) and `tmp/`,
`logs/`; and the same `.S3/` folder (CSVs, `deleted/` copies) under the remote prefix.

The import keeps what carries meaning and drops what is unsafe:
- bucket and prefix: s3synchrony keeps them in the calling script, not in `.S3/`; they come
  from the flags, or from a `smart_sync(aws_bkt=..., aws_prfx=...)` call with literal values
  in a script beside the data folder (what s3synchrony's README tells users to write);
- `ignores3.txt` becomes anchored, escaped lines of `.clouddriveignore`;
- the user name is kept (`--user` wins);
- `aws.txt` is never read into clouddrive or copied: credentials come from the AWS chain only;
  the caller is told how to use a profile instead and may delete the file, with consent;
- both `.S3/` folders are internal to clouddrive (never synced) and left as they are;
- `Drive.init` checks the bucket's versioning and asks before enabling it.
Files already identical on both sides are adopted by the first sync with no transfer: the
engine compares another tool's objects by content (a plain MD5 ETag, what s3synchrony's small
uploads carry, or a multipart ETag recomputed locally for files over boto3's 8 MiB threshold;
see `clouddrive.ledger.content`), so none becomes a conflict copy.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clouddrive import errors
from clouddrive.core.models import ActionKind, Plan
from clouddrive.core.paths import S3SYNCHRONY_DIR
from clouddrive.drive import Drive
from clouddrive.local.ignore import IGNORE_FILE

__all__ = ["AWS_FILE", "ImportResult", "S3SynchronyFolder", "ignore_lines", "import_folder"]

AWS_FILE = "aws.txt"
IGNORE_HEADER = "# from s3synchrony's .S3/ignores3.txt (exact paths)"

_BUCKET_CALL = re.compile(r"""aws_bkt\s*=\s*(['"])([^'"\n]+)\1""")
_PREFIX_CALL = re.compile(r"""aws_prfx\s*=\s*(['"])([^'"\n]*)\1""")
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]!#])")


@dataclass(frozen=True)
class S3SynchronyFolder:
    """What an s3synchrony data folder says about itself."""

    folder: Path
    user: str | None = None
    ignores: tuple[str, ...] = ()
    aws_file: Path | None = None
    aws_role: str | None = None  #: the `[section]` of aws.txt: a good profile name
    bucket: str | None = None  #: from a script beside the folder, if exactly one is named
    prefix: str | None = None
    hint_source: Path | None = None  #: the script the bucket came from

    @classmethod
    def read(cls, folder: Path) -> S3SynchronyFolder:
        meta = folder / S3SYNCHRONY_DIR
        if not meta.is_dir():
            raise errors.UserError(
                f"{folder} is not an s3synchrony data folder (no {S3SYNCHRONY_DIR}/ folder in it)"
            )
        user = _first_line(meta / "user_name.txt")
        ignores = tuple(
            line.rstrip("\r\n")
            for line in _text(meta / "ignores3.txt").splitlines()
            if line.strip()
        )
        aws = meta / AWS_FILE
        role = _first_line(aws) if aws.is_file() else None
        role = role[1:-1].strip() if role and role.startswith("[") and role.endswith("]") else None
        bucket, prefix, source = _script_hint(folder)
        return cls(
            folder=folder,
            user=user if user and user != "NONAME" else None,
            ignores=ignores,
            aws_file=aws if aws.is_file() else None,
            aws_role=role,
            bucket=bucket,
            prefix=prefix,
            hint_source=source,
        )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _first_line(path: Path) -> str | None:
    lines = _text(path).splitlines()
    return lines[0].strip() if lines and lines[0].strip() else None


def _script_hint(folder: Path) -> tuple[str | None, str | None, Path | None]:
    """The bucket and prefix of a `smart_sync(...)` call in a script beside the data folder,
    if the scripts there name exactly one of each."""
    parent = folder.resolve().parent
    buckets: dict[str, Path] = {}
    prefixes: set[str] = set()
    try:
        scripts = sorted(parent.glob("*.py"))[:50]
    except OSError:
        return None, None, None
    for script in scripts:
        text = _text(script)
        if "aws_bkt" not in text:
            continue
        for match in _BUCKET_CALL.finditer(text):
            buckets.setdefault(match[2], script)
        prefixes.update(match[2] for match in _PREFIX_CALL.finditer(text))
    if len(buckets) != 1:
        return None, None, None
    ((bucket, source),) = buckets.items()
    prefix = next(iter(prefixes)) if len(prefixes) == 1 else None
    return bucket, prefix, source


def ignore_lines(paths: tuple[str, ...]) -> list[str]:
    """s3synchrony's exact paths as gitignore lines that match exactly those paths."""
    lines = []
    for raw in paths:
        path = raw.replace("\\", "/").strip("/")
        if not path:
            continue
        escaped = _GLOB_SPECIAL.sub(r"\\\1", path)
        if escaped.endswith(" "):
            escaped = escaped[:-1] + "\\ "
        lines.append("/" + escaped)
    return lines


def _merge_ignore(root: Path, lines: list[str]) -> int:
    """Add the lines to `.clouddriveignore` (once: a rerun adds nothing); how many were new."""
    target = root / IGNORE_FILE
    existing = _text(target).splitlines()
    new = [line for line in lines if line not in existing]
    if not new:
        return 0
    block = ([IGNORE_HEADER] if IGNORE_HEADER not in existing else []) + new
    text = "\n".join([*existing, *block]) + "\n"
    target.write_text(text.lstrip("\n"), encoding="utf-8")
    return len(new)


@dataclass
class ImportResult:
    """The new drive, what came over, and the plan of its first sync."""

    drive: Drive
    source: S3SynchronyFolder
    ignores_added: int
    plan: Plan
    notes: list[str] = field(default_factory=list)

    @property
    def adopted(self) -> int:
        """Files identical on both sides: recorded by the first sync, with no transfer."""
        return self.plan.counts()[ActionKind.RECORD]


def import_folder(
    folder: Path,
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    user: str | None = None,
    consent: Callable[[str], bool] = lambda question: False,
) -> ImportResult:
    """Make `folder` (an s3synchrony data folder) a clouddrive drive; nothing is synced yet.

    Raises UserError if the folder is not one or no bucket is known, VersioningNotEnabled if
    versioning is off and `consent` declines to enable it (nothing is written then).
    """
    source = S3SynchronyFolder.read(folder)
    notes: list[str] = []
    if bucket is None and source.bucket is not None:
        bucket = source.bucket
        if prefix is None:
            prefix = source.prefix
        notes.append(f"bucket {bucket} and prefix '{prefix or ''}' from {source.hint_source}")
    if bucket is None:
        raise errors.UserError(
            "s3synchrony keeps no bucket in .S3/: give the aws_bkt and aws_prfx of your "
            f"smart_sync call, e.g. clouddrive import-s3synchrony {shlex.quote(str(folder))} "
            "--bucket BUCKET "
            "--prefix PREFIX"
        )
    drive = Drive.init(
        folder,
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint_url,
        profile=profile,
        user=user or source.user,
        consent=consent,
    )
    added = _merge_ignore(drive.root, ignore_lines(source.ignores))
    return ImportResult(drive, source, added, drive.status(), notes)
