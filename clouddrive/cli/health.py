"""`clouddrive lifecycle show | apply | policy`, the setup script, and (from `cli.doctor`)
`clouddrive doctor`: the drive's health commands.

`scripts/setup_lifecycle.py` is `setup_lifecycle_main`: the same flags and the same code as
`clouddrive lifecycle apply`. Exit codes: 0 done (or nothing to change), 1 user error,
refused, or a doctor check that sync depends on failed, 2 a remote failure.
"""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING

from rich.markup import escape

from clouddrive import errors

# The pure rules only (no I/O, a few milliseconds): their defaults are in the flags' help, so
# building the parser needs them. Applying them (admin.apply: the bucket, the drive) and the
# rest of admin are imported by the commands that use them: `sync` should not pay for them.
from clouddrive.admin.rules import LifecycleSettings, is_own, missing_elements, to_json
from clouddrive.cli.common import (
    err,
    error_json,
    make_asker,
    open_drive,
    out,
    print_json,
    s3_flags,
)
from clouddrive.cli.doctor import register_doctor
from clouddrive.core.paths import normalize_prefix

if TYPE_CHECKING:
    from clouddrive.admin.apply import LifecycleResult
    from clouddrive.admin.merge import LifecycleChange
    from clouddrive.ledger import S3Remote

__all__ = ["apply_flags", "cmd_lifecycle_apply", "register", "target_flags"]

_DEFAULTS = LifecycleSettings()
_TARGET_FLAGS = ("prefix", "endpoint_url", "profile", "region")


# -- flags ------------------------------------------------------------------------------------


def target_flags(p: argparse.ArgumentParser) -> None:
    s3_flags(
        p.add_argument_group("bucket (default: the drive's)"),
        bucket="the bucket (default: the drive's, from --root or here)",
        prefix="the drive's key prefix in the bucket (with --bucket)",
        endpoint="S3-compatible endpoint (with --bucket)",
        profile="AWS profile for credentials (with --bucket)",
        region="AWS region (with --bucket)",
    )


#: the lifecycle rule's numbers: (flag, metavar, `LifecycleSettings` field, help)
_RULE_NUMBERS = (
    (
        "--noncurrent-days",
        "D",
        "noncurrent_days",
        "remove an old version D days after it was replaced or deleted (default: %(default)s)",
    ),
    (
        "--keep-versions",
        "N",
        "keep_versions",
        "but keep the newest N old versions of each file regardless (default: %(default)s; "
        "0: none, so deleted files go after D days)",
    ),
    (
        "--abort-multipart-days",
        "K",
        "abort_multipart_days",
        "abort unfinished multipart uploads after K days (default: %(default)s)",
    ),
    (
        "--run-record-days",
        "R",
        "run_record_days",
        "expire run records (the activity feed) after R days (default: %(default)s)",
    ),
)


def apply_flags(p: argparse.ArgumentParser) -> None:
    for flag, metavar, name, text in _RULE_NUMBERS:
        p.add_argument(flag, type=int, metavar=metavar, default=getattr(_DEFAULTS, name), help=text)
    p.add_argument(
        "--dry-run", action="store_true", help="print the exact JSON it would apply; change nothing"
    )
    p.add_argument("--remove", action="store_true", help="take out only clouddrive's own rules")
    p.add_argument(
        "--yes", "-y", action="store_true", help="apply (and enable versioning) without asking"
    )
    p.add_argument(
        "--reenable-versioning",
        action="store_true",
        help="turn versioning back on where someone suspended it (refused without this)",
    )


def _bucket_and_prefix(args: argparse.Namespace) -> tuple[str, str, bool]:
    """(bucket, prefix, embedded) from the flags or the drive; no connection."""
    if args.bucket:
        return args.bucket, normalize_prefix(args.prefix), False
    _no_target_flags(args)
    with open_drive(args) as drive:
        return drive.config.bucket, drive.config.prefix, drive.config.embedded


def _no_target_flags(args: argparse.Namespace) -> None:
    given = [f"--{n.replace('_', '-')}" for n in _TARGET_FLAGS if getattr(args, n, None)]
    if given:
        raise errors.ConfigError(
            f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --bucket (without it "
            "the drive's settings are used)"
        )


def _remote(args: argparse.Namespace) -> S3Remote:
    if args.bucket:
        from clouddrive.admin.apply import open_bucket

        return open_bucket(
            args.bucket,
            args.prefix,
            endpoint_url=args.endpoint_url,
            profile=args.profile,
            region=args.region,
        )
    _no_target_flags(args)
    with open_drive(args) as drive:
        return drive.remote


# -- lifecycle --------------------------------------------------------------------------------


def _apply_command(args: argparse.Namespace) -> str:
    """`clouddrive lifecycle apply` for the same bucket and prefix as this command: with the
    same --bucket flags, or the same --root, so that it works when pasted."""
    words = ["clouddrive"]
    if args.bucket:
        words += ["lifecycle", "apply", "--bucket", args.bucket]
        for name in _TARGET_FLAGS:
            if getattr(args, name, None):
                words += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        return shlex.join(words)
    if args.root is not None:
        words += ["--root", str(args.root)]
    return shlex.join([*words, "lifecycle", "apply"])


def _print_change(change: LifecycleChange, remote: S3Remote, *, to_stderr: bool = False) -> None:
    from clouddrive.admin.apply import drive_scope
    from clouddrive.admin.overlaps import summarize

    con = err if to_stderr else out
    con.print(f"[bold]Lifecycle rules for {escape(drive_scope(remote))}[/]", soft_wrap=True)
    wanted = {str(r.get("ID", "")): r for r in change.after}
    before = {str(r.get("ID", "")): r for r in change.before}
    for rid in change.added:
        con.print(
            f"  [green]+ add[/]     {escape(rid)} {escape(summarize(wanted[rid]))}", soft_wrap=True
        )
    for rid in change.updated:
        lost = missing_elements(wanted[rid], before[rid])
        note = f" (the bucket's copy lacks {', '.join(lost)})" if lost else ""
        con.print(
            f"  [yellow]~ update[/]  {escape(rid)} {escape(summarize(wanted[rid]) + note)}",
            soft_wrap=True,
        )
    for rid in change.removed:
        con.print(
            f"  [red]- remove[/]  {escape(rid)} {escape(summarize(before[rid]))}", soft_wrap=True
        )
    for rid in change.unchanged:
        con.print(f"  [dim]= keep      {escape(rid)}[/]", soft_wrap=True)
    if change.kept:
        con.print(
            f"  [dim]other rules kept as they are: {escape(', '.join(change.kept))}[/]",
            soft_wrap=True,
        )
    for finding in change.findings:
        colour = "red" if finding.severity == "conflict" else "yellow"
        con.print(f"  [{colour}]! {finding.severity}:[/] {escape(finding.message)}", soft_wrap=True)


def _report(result: LifecycleResult, remote: S3Remote, removing: bool) -> None:
    from clouddrive.admin.apply import drive_scope

    scope_uri = drive_scope(remote)
    if result.enabled_versioning:
        out.print(f"Versioning enabled on bucket '{escape(remote.bucket)}'.", soft_wrap=True)
    for lost in result.not_kept:
        err.print(
            f"[yellow]warning:[/] the server did not keep {escape(lost)}"
            + (
                " (without NewerNoncurrentVersions, old versions expire after the set days "
                "whatever their number)"
                if lost.endswith("NewerNoncurrentVersions")
                else ""
            )
        )
    change = result.change
    if not result.effective:
        if removing:
            out.print(
                f"No change: no clouddrive rules for {escape(scope_uri)} to remove.", soft_wrap=True
            )
        else:
            out.print(
                f"No change: clouddrive's lifecycle rules for {escape(scope_uri)} are "
                "already in place."
            )
    else:
        done = [
            f"{len(ids)} {what}"
            for ids, what in (
                (change.added, "added"),
                (change.updated, "updated"),
                (change.removed, "removed"),
            )
            if ids
        ]
        out.print(
            f"Done: {escape(', '.join(done))}; {len(change.kept)} other rule(s) kept as they were."
        )


def cmd_lifecycle_show(args: argparse.Namespace) -> int:
    from clouddrive.admin.apply import drive_scope, show_rules
    from clouddrive.admin.overlaps import summarize

    remote = _remote(args)
    view = show_rules(remote)
    unversioned = view.versioning != "Enabled"
    state = "suspended" if view.versioning == "Suspended" else "off"
    apply = _apply_command(args) + (" --reenable-versioning" if state == "suspended" else "")
    unversioned_line = (
        f"versioning is {state} on bucket '{view.bucket}': it keeps no old versions, so "
        "deleted or overwritten files cannot be recovered at all, whatever its lifecycle "
        "rules say. Turn it on (with clouddrive's rules; it shows them and asks first) with: "
        f"{apply}"
    )
    if args.json:
        failure = (
            error_json("versioning_not_enabled", unversioned_line, errors.EXIT_USER)
            if unversioned
            else {}
        )
        print_json(
            {
                **failure,
                "bucket": view.bucket,
                "prefix": view.prefix,
                "versioning": view.versioning or "Off",
                "clouddrive_rules": view.own,
                "rules": to_json({"Rules": view.rules})["Rules"],
                "findings": [vars(f) for f in view.findings],
                "meaning": view.meaning,
            }
        )
        return errors.EXIT_USER if unversioned else errors.EXIT_OK
    if unversioned:
        # Rules about old versions mean nothing where no old versions are kept.
        err.print(
            f"clouddrive: {unversioned_line}",
            markup=False,
            highlight=False,
        )
        return errors.EXIT_USER
    out.print(
        f"[bold]Lifecycle rules for {escape(drive_scope(remote))}[/] "
        f"(versioning: {escape(view.versioning or 'off')})"
    )
    for rule in view.rules:
        mark = "clouddrive" if is_own(rule, view.prefix) else "other"
        out.print(
            f"  {escape(str(rule.get('ID', '')))} [dim]({mark})[/] {escape(summarize(rule))}",
            soft_wrap=True,
        )
    if not view.own:
        out.print(
            "  [yellow]clouddrive's rules are not set for this prefix[/]: the bucket's owner "
            f"sets them (shows them and asks first) with: {escape(_apply_command(args))}",
            soft_wrap=True,
        )
    for finding in view.findings:
        if finding.severity == "conflict":
            out.print(f"  [red]! conflict:[/] {escape(finding.message)}", soft_wrap=True)
    for line in view.meaning:
        out.print(f"  means: {escape(line)}", soft_wrap=True)
    return errors.EXIT_OK


def cmd_lifecycle_apply(args: argparse.Namespace) -> int:
    from clouddrive.admin.apply import apply_rules, remove_rules

    settings = LifecycleSettings(
        noncurrent_days=args.noncurrent_days,
        keep_versions=args.keep_versions,
        abort_multipart_days=args.abort_multipart_days,
        run_record_days=args.run_record_days,
    )
    remote = _remote(args)
    ask = make_asker(args.yes)

    def confirm(change: LifecycleChange) -> bool:
        _print_change(change, remote)
        return ask(f"Write these lifecycle rules to bucket '{remote.bucket}'?")

    result: LifecycleResult
    if args.remove:
        result = remove_rules(remote, confirm=confirm, dry_run=args.dry_run)
    else:
        result = apply_rules(
            remote,
            settings,
            confirm=confirm,
            consent=ask,
            dry_run=args.dry_run,
            reenable_versioning=args.reenable_versioning,
        )
    if args.dry_run:
        _print_change(result.change, remote, to_stderr=True)
        if result.needs_versioning and not args.remove:
            err.print("  versioning is off: applying would ask to enable it", soft_wrap=True)
        if result.versioning == "Suspended" and not args.remove:
            err.print(
                "  versioning is suspended: applying would ask to re-enable it"
                if args.reenable_versioning
                else "  [red]versioning is suspended: applying would refuse (unless "
                "--reenable-versioning)[/]",
                soft_wrap=True,
            )
        if not result.change.after:
            err.print(
                "  (no rules left: the bucket's lifecycle configuration would be deleted)",
                soft_wrap=True,
            )
        err.print(
            "Dry run: nothing was changed; the configuration it would write follows."
            if result.changed
            else "Dry run: nothing would change."
        )
        print_json(to_json(result.document))
        return errors.EXIT_OK
    _report(result, remote, args.remove)
    return errors.EXIT_OK


def cmd_lifecycle_policy(args: argparse.Namespace) -> int:
    from clouddrive.admin.policy import owner_policy, user_policy

    bucket, prefix, embedded = _bucket_and_prefix(args)
    if embedded:
        err.print(
            "[dim](the embedded local server has no IAM; this policy is for AWS S3)[/]",
            soft_wrap=True,
        )
    print_json(owner_policy(bucket) if args.owner else user_policy(bucket, prefix))
    return errors.EXIT_OK


# -- registration and the script ----------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `lifecycle show | apply | policy` and `doctor` to the clouddrive parser."""
    p = sub.add_parser("lifecycle", help="the bucket's retention rules for this drive's prefix")
    actions = p.add_subparsers(dest="lifecycle_action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="the rules that apply to the prefix, and their meaning")
    target_flags(show)
    show.add_argument("--json", action="store_true", help="print one JSON document")
    show.set_defaults(func=cmd_lifecycle_show)

    apply = actions.add_parser(
        "apply",
        help="put clouddrive's rules into the bucket's lifecycle configuration (merging)",
        description="The same as scripts/setup_lifecycle.py.",
    )
    target_flags(apply)
    apply_flags(apply)
    apply.set_defaults(func=cmd_lifecycle_apply)

    policy = actions.add_parser(
        "policy", help="print a least-privilege IAM policy for the drive's users (or its owner)"
    )
    target_flags(policy)
    policy.add_argument(
        "--owner", action="store_true", help="the policy the owner needs for the setup script"
    )
    policy.set_defaults(func=cmd_lifecycle_policy)

    register_doctor(sub)
