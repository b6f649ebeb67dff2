"""`scripts/setup_lifecycle.py`: `clouddrive lifecycle apply` for the bucket's owner, who
may have no drive: the same flags (or `--root` to read bucket and prefix from one), the same
one-line errors and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from clouddrive import errors
from clouddrive.cli.common import Parser
from clouddrive.cli.health import apply_flags, cmd_lifecycle_apply, target_flags

__all__ = ["setup_lifecycle_main"]


def _guarded(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command the way `clouddrive` does: one line per error, its exit code."""
    try:
        return func(args)
    except errors.CloudDriveError as exc:
        print(f"setup_lifecycle: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("setup_lifecycle: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("CLOUDDRIVE_DEBUG"):
            raise
        print(f"setup_lifecycle: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return errors.EXIT_FAILURE


def setup_lifecycle_main(argv: Sequence[str] | None = None) -> int:
    """`scripts/setup_lifecycle.py`: `clouddrive lifecycle apply` for the bucket's owner."""
    parser = Parser(
        prog="setup_lifecycle.py",
        description="Apply clouddrive's lifecycle rules for one prefix of a versioned bucket: "
        "keep N old versions, remove old versions after D days, clean expired delete markers, "
        "abort stale multipart uploads, expire old run records. Merges with the bucket's other "
        "rules (kept untouched), idempotent; --remove takes out only clouddrive's rules.",
    )
    parser.add_argument("--root", type=Path, help="read bucket and prefix from this drive")
    target_flags(parser)
    apply_flags(parser)

    def run(args: argparse.Namespace) -> int:
        if args.root is not None and args.bucket:
            parser.error("give --bucket or --root, not both")
        return cmd_lifecycle_apply(args)

    try:
        args = parser.parse_args(argv)
    except errors.CloudDriveError as exc:
        print(f"setup_lifecycle: {exc}", file=sys.stderr)
        return exc.exit_code
    return _guarded(run, args)
