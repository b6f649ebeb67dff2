"""`clouddrive demo` and `clouddrive server`: the embedded local S3 server, for trying
clouddrive with no AWS account."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from clouddrive import errors
from clouddrive.cli.common import key_prefix, out, shown
from clouddrive.cli.syncing import finish, run_sync
from clouddrive.drive import Drive

__all__ = ["register"]


DEMO_FILES = {
    "README.txt": "Welcome to your clouddrive demo.\nEdit, add or delete files here, then run "
    "'clouddrive sync' inside this folder.\n",
    "notes/ideas.md": "# Ideas\n\n- S3 versioning is the ledger\n- nothing is ever lost\n",
    "data/numbers.csv": "n,square\n" + "".join(f"{i},{i * i}\n" for i in range(1, 11)),
}


def _next_free(folder: Path) -> Path:
    """`folder-2`, `folder-3`, ...: the first that does not exist."""
    n = 2
    while (candidate := folder.with_name(f"{folder.name}-{n}")).exists():
        n += 1
    return candidate


def cmd_demo(args: argparse.Namespace) -> int:
    """A new folder (or an empty one) becomes a drive on the embedded server, with a few
    files, synced without asking: nothing of the user's is in it. Anything else (a drive,
    a folder with files, a file) is refused: the demo's sync asks nobody."""
    folder = Path(args.folder).expanduser().resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "is not empty" if folder.is_dir() else "is a file"
        raise errors.Refused(
            f"{folder} {what}: a demo makes a new folder; nothing was changed. "
            f"Make one with: clouddrive demo {shlex.quote(str(_next_free(folder)))}"
        )
    drive = Drive.init(folder, prefix=args.prefix, consent=lambda q: True)  # makes the folder
    for rel, text in DEMO_FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    with drive:
        endpoint = drive.remote.client.meta.endpoint_url
        out.print(f"Demo drive: {drive.root} <-> {drive.uri} (local S3 server at {endpoint})")
        args.yes, args.dry_run, args.max_delete, args.force = True, False, None, False
        args.allow_vanished = False
        report = run_sync(drive, args)
        code = finish(report, False)
    out.print(
        f"Try: cd {shlex.quote(str(folder))} && echo hello > new.txt && clouddrive status "
        "&& clouddrive sync",
        markup=False,
    )
    return code


def cmd_server(args: argparse.Namespace) -> int:
    """Report on (never start, unless asked to) or stop the embedded server."""
    from clouddrive.embedded import access, registry

    if args.server_action == "stop":
        stopped = registry.stop_embedded()
        out.print("Embedded server stopped." if stopped else "No embedded server was running.")
        return errors.EXIT_OK
    info = registry.ensure_embedded() if args.server_action == "start" else None
    info = info or registry.running_embedded()
    if info is None:
        record = registry.registration()
        where = f" (it comes back on {record.endpoint_url})" if record else ""
        out.print(
            f"No embedded server is running{where}. It starts with the first command that "
            "needs it, or with 'clouddrive server start'.",
            soft_wrap=True,
        )
        return errors.EXIT_USER
    lines = (
        f"Embedded S3 server: {info.endpoint_url} (pid {info.pid})",
        f"data: {info.data_dir}",
        f"bucket: {access.DEFAULT_BUCKET}",
        f"access key: {access.EMBEDDED_ACCESS_KEY}",
        f"secret key: {access.EMBEDDED_SECRET_KEY}",
        f"region: {access.EMBEDDED_REGION}",
        "(local fixed keys, not secrets; clouddrive finds them itself with "
        f"--endpoint-url {info.endpoint_url})",
    )
    for line in lines:
        out.print(shown(line), soft_wrap=True)
    return errors.EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `demo` and `server` to the `clouddrive` parser."""
    p = sub.add_parser(
        "demo", help="create a demo drive on the embedded local S3 server and sync it"
    )
    p.add_argument("folder", nargs="?", default="clouddrive-demo", help="(default: %(default)s)")
    p.add_argument(
        "--prefix", type=key_prefix, default="demo", help="key prefix (default: %(default)s)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors and skipped files")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "server", help="the embedded local S3 server: status (endpoint and keys), start or stop"
    )
    p.add_argument(
        "server_action", choices=("status", "start", "stop"), nargs="?", default="status"
    )
    p.set_defaults(func=cmd_server)
