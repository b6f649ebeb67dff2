"""clouddrive's lifecycle rules: built per prefix, merged without clobbering, idempotent.

Pure merging first; then the setup script and `clouddrive lifecycle` on SeaweedFS and moto.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clouddrive import errors
from clouddrive.admin.apply import apply_rules
from clouddrive.admin.merge import merge, remove
from clouddrive.admin.overlaps import describe, findings
from clouddrive.admin.rules import (
    LifecycleSettings,
    build_rules,
    canonical,
    missing_elements,
    rule_id,
    to_json,
)
from clouddrive.cli.main import main
from clouddrive.cli.setup_script import setup_lifecycle_main
from clouddrive.ledger import connect
from tests.authkit import READER, AuthServer, run_auth_seaweedfs
from tests.drivekit import Shared
from tests.servers import s3_client

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "setup_lifecycle.py"
DEFAULTS = LifecycleSettings()

# Rules another team already has on the bucket: other prefixes, other tools.
OTHER_RULES: list[dict[str, Any]] = [
    {
        "ID": "logs-expire",
        "Status": "Enabled",
        "Filter": {"Prefix": "logs/"},
        "Expiration": {"Days": 7},
    },
    {
        "ID": "archive-scratch",
        "Status": "Enabled",
        "Filter": {"And": {"Prefix": "archive/", "Tags": [{"Key": "tier", "Value": "scratch"}]}},
        "Expiration": {"Days": 30},
    },
    {
        "ID": "huge-files",
        "Status": "Enabled",
        "Filter": {"ObjectSizeGreaterThan": 1_000_000_000},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    },
    {
        "ID": "old-backups",
        "Status": "Disabled",
        "Filter": {"Prefix": "backups/"},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 5},
    },
]


def rule(rid: str, prefix: str, **actions: Any) -> dict[str, Any]:
    return {"ID": rid, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


# -- pure ------------------------------------------------------------------------------------


class TestBuildRules:
    def test_one_recognisable_rule_per_kind(self) -> None:
        """IDs name clouddrive and the prefix; every rule is scoped under PREFIX/."""
        rules = {r["ID"]: r for r in build_rules("team/docs", DEFAULTS)}
        assert set(rules) == {
            f"clouddrive:team/docs:{kind}"
            for kind in ("noncurrent", "delete-markers", "multipart", "runs", "probes")
        }
        noncurrent = rules[rule_id("team/docs", "noncurrent")]
        assert noncurrent["Filter"] == {"Prefix": "team/docs/"}
        assert noncurrent["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": 30,
            "NewerNoncurrentVersions": 3,
        }
        markers = rules[rule_id("team/docs", "delete-markers")]
        assert markers["Expiration"] == {"ExpiredObjectDeleteMarker": True}
        multipart = rules[rule_id("team/docs", "multipart")]
        assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
        runs = rules[rule_id("team/docs", "runs")]
        assert runs["Filter"] == {"Prefix": "team/docs/.clouddrive/runs/"}
        assert runs["Expiration"] == {"Days": 90}

    def test_keep_zero_leaves_out_newer_noncurrent_versions(self) -> None:
        """--keep-versions 0: old versions simply expire after D days."""
        settings = LifecycleSettings(noncurrent_days=10, keep_versions=0)
        noncurrent = build_rules("p", settings)[0]
        assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 10}

    def test_whole_bucket_drive(self) -> None:
        """A drive at the bucket's root scopes its rules to the empty prefix."""
        rules = build_rules("", DEFAULTS)
        assert rules[0]["ID"] == "clouddrive::noncurrent"
        assert rules[0]["Filter"] == {"Prefix": ""}
        assert rules[3]["Filter"] == {"Prefix": ".clouddrive/runs/"}

    @pytest.mark.parametrize(
        "bad",
        [
            {"noncurrent_days": 0},
            {"keep_versions": -1},
            {"keep_versions": 101},
            {"run_record_days": 0},
        ],
    )
    def test_bad_settings_are_config_errors(self, bad: dict[str, int]) -> None:
        """Days below 1 or a keep count outside S3's 0..100 are refused with the flag's name."""
        with pytest.raises(errors.ConfigError, match="--"):
            LifecycleSettings(**bad)


class TestMerge:
    def test_others_stay_in_place_ours_go_at_the_end(self) -> None:
        """Other rules are kept as read and in order; clouddrive's are appended."""
        change = merge(OTHER_RULES, "team", DEFAULTS)
        assert change.after[: len(OTHER_RULES)] == OTHER_RULES
        assert change.after[len(OTHER_RULES) :] == build_rules("team", DEFAULTS)
        assert change.kept == ["logs-expire", "archive-scratch", "huge-files", "old-backups"]
        assert len(change.added) == 5 and change.changed

    def test_merging_again_changes_nothing(self) -> None:
        """Idempotent: the merged configuration merges into itself unchanged."""
        first = merge(OTHER_RULES, "team", DEFAULTS)
        again = merge(first.after, "team", DEFAULTS)
        assert not again.changed and again.added == again.updated == []
        assert len(again.unchanged) == 5

    def test_new_settings_update_our_rules_in_place(self) -> None:
        """Changed days replace clouddrive's rule where it stands; others untouched."""
        first = merge(OTHER_RULES, "team", DEFAULTS)
        n = len(OTHER_RULES)
        shuffled = [first.after[n], *OTHER_RULES, *first.after[n + 1 :]]
        change = merge(shuffled, "team", LifecycleSettings(noncurrent_days=60))
        assert change.updated == [rule_id("team", "noncurrent")]
        assert change.after[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 60
        assert change.after[1 : n + 1] == OTHER_RULES

    def test_remove_restores_the_original_exactly(self) -> None:
        """Taking clouddrive's rules out gives back the configuration it was merged into."""
        merged = merge(OTHER_RULES, "team", DEFAULTS).after
        change = remove(merged, "team")
        assert change.after == OTHER_RULES
        assert len(change.removed) == 5

    def test_other_drives_rules_are_not_ours(self) -> None:
        """clouddrive rules for another prefix are kept, through apply and remove."""
        theirs = build_rules("team2", DEFAULTS)
        merged = merge(theirs, "team", DEFAULTS).after
        assert merged[:5] == theirs
        assert remove(merged, "team").after == theirs

    def test_canonical_ignores_key_order_and_datetime_form(self) -> None:
        """Servers reorder keys and return dates as datetimes: still the same rule."""
        sent = [rule("d", "x/", Expiration={"Date": datetime(2030, 1, 1, tzinfo=UTC)})]
        stored = [
            {
                "Expiration": {"Date": "2030-01-01T00:00:00Z"},
                "Filter": {"Prefix": "x/"},
                "Status": "Enabled",
                "ID": "d",
            }
        ]
        assert canonical(sent) == canonical(stored)
        assert to_json({"Rules": sent})["Rules"][0]["Expiration"]["Date"] == "2030-01-01T00:00:00Z"

    def test_missing_elements_names_what_a_server_dropped(self) -> None:
        """A rule read back without an element the rule was written with is noticed."""
        sent = build_rules("p", DEFAULTS)[0]
        stored = {**sent, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
        assert missing_elements(sent, stored) == [
            "NoncurrentVersionExpiration.NewerNoncurrentVersions"
        ]


class TestFindings:
    def test_other_prefixes_and_disabled_rules_are_fine(self) -> None:
        """Rules for other prefixes (even 'team2/' beside 'team/') or disabled ones: nothing;
        a whole-bucket rule narrowed by size is a mere overlap."""
        rules = [*OTHER_RULES, rule("sibling", "team2/", Expiration={"Days": 1})]
        found = findings(rules, "team", DEFAULTS)
        assert [(f.rule_id, f.severity) for f in found] == [("huge-files", "overlap")]
        assert "(some objects, by tag or size)" in found[0].message

    def test_expiring_current_files_is_a_conflict(self) -> None:
        """A whole-bucket Expiration would delete the drive's files: reported as a conflict."""
        found = findings([rule("purge", "", Expiration={"Days": 14})], "team", DEFAULTS)
        assert [(f.rule_id, f.severity) for f in found] == [("purge", "conflict")]
        assert "the whole bucket" in found[0].message and "14 days" in found[0].message

    def test_shorter_noncurrent_expiry_is_a_conflict(self) -> None:
        """A rule removing old versions sooner than clouddrive's wins in S3: a conflict."""
        sooner = rule("fast", "team/", NoncurrentVersionExpiration={"NoncurrentDays": 7})
        found = findings([sooner], "team", DEFAULTS)
        assert found[0].severity == "conflict" and "sooner than clouddrive's 30 days" in (
            found[0].message
        )

    def test_nested_rules_overlap(self) -> None:
        """Another tool's rule on a folder inside the drive is an overlap, kept."""
        nested = rule("tmp", "team/tmp/", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})
        found = findings([nested], "team", DEFAULTS)
        assert [(f.rule_id, f.severity) for f in found] == [("tmp", "overlap")]

    def test_merge_reports_findings_but_keeps_the_rule(self) -> None:
        """Conflicts are reported, never clobbered: the rule is in the result unchanged."""
        purge = rule("purge", "", Expiration={"Days": 14})
        change = merge([purge], "team", DEFAULTS)
        assert change.after[0] == purge and change.findings[0].rule_id == "purge"


class TestDescribe:
    def test_no_rules_keep_everything(self) -> None:
        """Without rules the history is kept (and billed) forever."""
        assert "forever" in describe([], "team")[0]

    def test_deleted_files_recoverable_for_d_days(self) -> None:
        """With keep 0 the sentence is the plain promise."""
        rules = build_rules("team", LifecycleSettings(keep_versions=0))
        lines = describe(rules, "team")
        assert lines[0] == "deleted files recoverable for 30 days"
        assert "unfinished uploads are aborted after 7 days" in lines
        assert "run records (the activity feed) expire after 90 days" in lines

    def test_keeping_versions_is_explained(self) -> None:
        """With keep N the newest N are said to stay longer."""
        line = describe(build_rules("team", DEFAULTS), "team")[0]
        assert "30 days" in line and "newest 3" in line

    def test_current_file_expiry_is_a_warning(self) -> None:
        """A rule that deletes current files is spelled out."""
        lines = describe([rule("purge", "", Expiration={"Days": 14})], "team")
        assert lines[-1].startswith("WARNING: rule 'purge' expires current files 14 days")


# -- against real servers ----------------------------------------------------------------------


def rules_of(endpoint: str, bucket: str) -> list[dict[str, Any]] | None:
    """The bucket's rules, or None when it has no lifecycle configuration."""
    client = s3_client(endpoint)
    try:
        return list(client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])
    except client.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
        return None


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def seeded(s3_backend, make_bucket) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A versioned bucket that already has other teams' rules: (endpoint, bucket)."""
    bucket = make_bucket(s3_backend)
    s3_client(s3_backend.endpoint_url).put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": OTHER_RULES}
    )
    return s3_backend.endpoint_url, bucket


class TestSetupScript:
    def test_adds_then_changes_nothing_then_removes_exactly(self, seeded, s3_backend) -> None:
        """Run as a script: rules added, a rerun changes nothing, --remove restores the original."""
        endpoint, bucket = seeded
        original = rules_of(endpoint, bucket)
        target = ["--bucket", bucket, "--prefix", "team", "--endpoint-url", endpoint, "--yes"]

        first = run_script(*target)
        assert first.returncode == 0, first.stderr
        assert "Done: 5 added; 4 other rule(s) kept as they were." in first.stdout
        after_first = rules_of(endpoint, bucket)
        assert after_first is not None and after_first[:4] == original
        assert [r["ID"] for r in after_first[4:]] == [
            rule_id("team", k)
            for k in ("noncurrent", "delete-markers", "multipart", "runs", "probes")
        ]
        if s3_backend.name == "moto":  # moto does not store NewerNoncurrentVersions
            assert "did not keep clouddrive:team:noncurrent: NoncurrentVersionExpiration." in (
                first.stderr
            )

        second = run_script(*target)
        assert second.returncode == 0, second.stderr
        assert "No change: clouddrive's lifecycle rules for s3://" in second.stdout
        assert rules_of(endpoint, bucket) == after_first

        removed = run_script(*target, "--remove")
        assert removed.returncode == 0, removed.stderr
        assert "Done: 5 removed; 4 other rule(s) kept as they were." in removed.stdout
        assert rules_of(endpoint, bucket) == original

    def test_dry_run_prints_the_exact_json_and_changes_nothing(self, seeded, capsys) -> None:
        """--dry-run's stdout is the configuration it would write; the bucket is untouched."""
        endpoint, bucket = seeded
        before = rules_of(endpoint, bucket)
        code = setup_lifecycle_main(
            ["--bucket", bucket, "--prefix", "team", "--endpoint-url", endpoint, "--dry-run"]
        )
        assert code == 0
        printed = json.loads(capsys.readouterr().out)
        expected = to_json(merge(before or [], "team", DEFAULTS).document())
        assert printed["Rules"] == expected["Rules"]
        assert rules_of(endpoint, bucket) == before

    def test_dry_run_of_remove_on_a_bucket_without_ours(self, seeded, capsys) -> None:
        """--remove --dry-run with nothing of ours prints the configuration as it is."""
        endpoint, bucket = seeded
        args = ["--bucket", bucket, "--endpoint-url", endpoint, "--remove", "--dry-run"]
        assert setup_lifecycle_main(args) == 0
        captured = capsys.readouterr()
        stored = rules_of(endpoint, bucket) or []
        assert json.loads(captured.out)["Rules"] == to_json({"Rules": stored})["Rules"]
        assert "nothing would change" in captured.err

    def test_a_bucket_without_rules_round_trips(self, s3_backend, make_bucket, capsys) -> None:
        """No configuration before, rules after, and no configuration again after --remove."""
        bucket = make_bucket(s3_backend)
        args = ["--bucket", bucket, "--endpoint-url", s3_backend.endpoint_url, "--yes"]
        assert setup_lifecycle_main(args) == 0
        assert len(rules_of(s3_backend.endpoint_url, bucket) or []) == 5
        assert setup_lifecycle_main([*args, "--remove"]) == 0
        assert rules_of(s3_backend.endpoint_url, bucket) is None

    def test_versioning_off_is_enabled_only_with_consent(
        self, s3_backend, make_bucket, capsys
    ) -> None:
        """No terminal and no --yes: refused, nothing written; with --yes versioning is on."""
        bucket = make_bucket(s3_backend, versioning=False)
        args = ["--bucket", bucket, "--endpoint-url", s3_backend.endpoint_url]
        assert setup_lifecycle_main(args) == 1
        assert "no terminal" in capsys.readouterr().err
        client = s3_client(s3_backend.endpoint_url)
        assert client.get_bucket_versioning(Bucket=bucket).get("Status") is None
        assert rules_of(s3_backend.endpoint_url, bucket) is None
        assert setup_lifecycle_main([*args, "--yes"]) == 0
        assert "Versioning enabled" in capsys.readouterr().out
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert len(rules_of(s3_backend.endpoint_url, bucket) or []) == 5

    def test_suspended_versioning_is_a_clear_error(self, s3_backend, make_bucket, capsys) -> None:
        """Suspended versioning is someone's choice: refused with the fix, nothing written."""
        bucket = make_bucket(s3_backend)
        client = s3_client(s3_backend.endpoint_url)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        code = setup_lifecycle_main(
            ["--bucket", bucket, "--endpoint-url", s3_backend.endpoint_url, "--yes"]
        )
        assert code == 1
        line = capsys.readouterr().err.strip()
        assert "versioning is suspended" in line and "--reenable-versioning" in line
        assert len(line.splitlines()) == 1
        assert rules_of(s3_backend.endpoint_url, bucket) is None
        # the same rule as init: asked for by name, it is turned back on
        code = setup_lifecycle_main(
            [
                "--bucket",
                bucket,
                "--endpoint-url",
                s3_backend.endpoint_url,
                "--reenable-versioning",
                "--yes",
            ]
        )
        assert code == 0
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    def test_missing_bucket_is_a_clear_error(self, s3_backend, capsys) -> None:
        """A bucket that does not exist: exit 1, one line naming it."""
        name = f"no-such-{uuid.uuid4().hex[:8]}"
        code = setup_lifecycle_main(
            ["--bucket", name, "--endpoint-url", s3_backend.endpoint_url, "--yes"]
        )
        assert code == 1
        assert capsys.readouterr().err.strip() == (
            f"setup_lifecycle: bucket '{name}' does not exist"
        )

    def test_root_reads_bucket_and_prefix_from_a_drive(self, seaweedfs, bucket, tmp_path) -> None:
        """--root ROOT applies the rules for that drive's bucket and prefix."""
        Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "d", "ann")
        assert setup_lifecycle_main(["--root", str(tmp_path / "d"), "--yes"]) == 0
        ids = [r["ID"] for r in rules_of(seaweedfs.endpoint_url, bucket) or []]
        assert rule_id("team", "noncurrent") in ids


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    yield from run_auth_seaweedfs(tmp_path_factory.mktemp("auth-weed"))


class TestPermissionsAndRaces:
    def test_no_permission_is_a_clear_error(self, auth_server, monkeypatch, capsys) -> None:
        """A read-only identity on a server that checks keys: exit 2, names the permission."""
        bucket = auth_server.create_bucket(f"ro-{uuid.uuid4().hex[:8]}")
        READER.use(monkeypatch)
        code = setup_lifecycle_main(
            ["--bucket", bucket, "--endpoint-url", auth_server.endpoint_url, "--yes"]
        )
        assert code == 2
        line = capsys.readouterr().err.strip()
        assert "no permission to change the lifecycle rules" in line
        assert "s3:PutLifecycleConfiguration" in line and "nothing was changed" in line

    def test_a_change_made_meanwhile_is_not_clobbered(self, seaweedfs, bucket) -> None:
        """Rules changed between reading and writing: nothing written, the newcomer kept."""
        remote = connect(bucket, "team", endpoint_url=seaweedfs.endpoint_url)
        newcomer = rule("newcomer", "other/", Expiration={"Days": 3})

        def confirm(change: object) -> bool:
            remote.put_lifecycle_rules([newcomer])  # another owner, while we were asking
            return True

        with pytest.raises(errors.PreconditionFailed, match="changed while this ran"):
            apply_rules(remote, DEFAULTS, confirm=confirm, consent=lambda q: True)
        assert rules_of(seaweedfs.endpoint_url, bucket) == [newcomer]


class TestLifecycleCommands:
    def test_apply_and_show_in_a_drive(self, seaweedfs, bucket, tmp_path, capsys) -> None:
        """`clouddrive lifecycle apply` uses the drive's prefix; `show --json` explains it."""
        Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "d", "ann")
        root = ["--root", str(tmp_path / "d")]
        assert main([*root, "lifecycle", "apply", "--keep-versions", "0", "--yes"]) == 0
        capsys.readouterr()
        assert main([*root, "lifecycle", "show", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["prefix"] == "team" and shown["versioning"] == "Enabled"
        assert len(shown["clouddrive_rules"]) == 5 and shown["findings"] == []
        assert shown["meaning"][0] == "deleted files recoverable for 30 days"

    def test_target_flags_need_a_bucket(self, seaweedfs, bucket, tmp_path, capsys) -> None:
        """--prefix without --bucket is a user error, not a silent mix of drive and flags."""
        Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "d", "ann")
        code = main(["--root", str(tmp_path / "d"), "lifecycle", "show", "--prefix", "x"])
        assert code == 1
        assert "--prefix needs --bucket" in capsys.readouterr().err
