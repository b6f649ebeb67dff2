"""`clouddrive link`: share one file (or one version of it) as a download link."""

from __future__ import annotations

import argparse

from clouddrive import errors
from clouddrive.cli.common import err, open_drive, print_json
from clouddrive.cli.timetravel import drive_path
from clouddrive.core.when import format_moment, parse_duration

__all__ = ["register"]


def cmd_link(args: argparse.Namespace) -> int:
    life = parse_duration(args.expires)
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path)
        if not path:
            raise errors.UserError("link needs a file, not the drive's root")
        link = drive.link(path, expires=life, version=args.version)
    if args.json:
        print_json(link.to_json())
        return errors.EXIT_OK
    # The URL alone on stdout, so `clouddrive link f | xclip` or `$(clouddrive link f)` work.
    print(link.url)
    err.print(
        f"version {link.version_id[:12]} of {link.path}, "
        f"valid until {format_moment(link.expires)}; anyone with the link can download it",
        highlight=False,
        markup=False,
    )
    return errors.EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `link` to the `clouddrive` parser."""
    p = sub.add_parser("link", help="a download link for a file (or one of its versions)")
    p.add_argument("path", metavar="PATH", help="the file to share")
    p.add_argument(
        "--expires",
        default="7d",
        metavar="DURATION",
        help="how long the link works: 30m, 12h, 7d (at most 7d, the default)",
    )
    p.add_argument(
        "--version", metavar="ID", help="share this version (an id or a prefix from history)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_link)
