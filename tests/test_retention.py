"""What a bucket's lifecycle rules mean for one key: which rule applies, recoverable until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from clouddrive.core.retention import Retention, recoverable_until, retention_for, rule_prefix


def noncurrent(rid: str, days: int, keep: int | None = None, **scope: object) -> dict[str, object]:
    expiry: dict[str, object] = {"NoncurrentDays": days}
    if keep is not None:
        expiry["NewerNoncurrentVersions"] = keep
    return {"ID": rid, "Status": "Enabled", "NoncurrentVersionExpiration": expiry, **scope}


class TestRulePrefix:
    def test_filter_prefix(self) -> None:
        """A Filter's Prefix is the rule's scope."""
        assert rule_prefix({"Filter": {"Prefix": "team/"}}) == "team/"

    def test_legacy_top_level_prefix(self) -> None:
        """A rule without Filter uses the old top-level Prefix ("" when absent)."""
        assert rule_prefix({"Prefix": "old/"}) == "old/"
        assert rule_prefix({}) == ""

    def test_empty_filter_is_the_whole_bucket(self) -> None:
        """An empty (or null) Filter applies to every key."""
        assert rule_prefix({"Filter": {}}) == ""
        assert rule_prefix({"Filter": None}) == ""

    def test_and_with_prefix_only(self) -> None:
        """And with a prefix and no tags or sizes is just the prefix."""
        assert rule_prefix({"Filter": {"And": {"Prefix": "a/", "Tags": []}}}) == "a/"

    def test_tag_and_size_filters_cannot_be_told_from_the_key(self) -> None:
        """Rules narrowed by tag or size give None: the key alone does not decide."""
        tag = {"Key": "k", "Value": "v"}
        assert rule_prefix({"Filter": {"Tag": tag}}) is None
        assert rule_prefix({"Filter": {"ObjectSizeGreaterThan": 10}}) is None
        assert rule_prefix({"Filter": {"And": {"Prefix": "a/", "Tags": [tag]}}}) is None
        assert rule_prefix({"Filter": {"And": {"Prefix": "a/", "ObjectSizeLessThan": 5}}}) is None


class TestRetentionFor:
    def test_no_rules_means_none(self) -> None:
        """No rules (or none with a noncurrent expiry) keeps history forever: None."""
        assert retention_for([], "team/a.txt") is None
        only_abort = {
            "ID": "x",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
        assert retention_for([only_abort], "team/a.txt") is None

    def test_prefix_must_match_the_key(self) -> None:
        """A rule for another prefix does not apply; one for a parent prefix does."""
        rules = [noncurrent("other", 5, Filter={"Prefix": "logs/"})]
        assert retention_for(rules, "team/a.txt") is None
        rules.append(noncurrent("team", 30, 3, Filter={"Prefix": "team/"}))
        assert retention_for(rules, "team/sub/a.txt") == Retention(30, 3, "team")

    def test_disabled_and_tag_filtered_rules_are_ignored(self) -> None:
        """Only enabled rules whose scope is known from the key count."""
        off = {**noncurrent("off", 1, Filter={"Prefix": ""}), "Status": "Disabled"}
        tagged = noncurrent("tag", 2, Filter={"Tag": {"Key": "k", "Value": "v"}})
        assert retention_for([off, tagged], "team/a.txt") is None

    def test_the_strictest_rule_wins(self) -> None:
        """Of several rules that apply, the one with the fewest days applies."""
        rules = [
            noncurrent("long", 90, Filter={"Prefix": ""}),
            noncurrent("short", 7, Filter={"Prefix": "team/"}),
            noncurrent("mid", 30, Prefix="team/"),
        ]
        assert retention_for(rules, "team/a.txt") == Retention(7, None, "short")

    def test_equal_days_keeping_fewer_versions_is_stricter(self) -> None:
        """On a tie in days, the rule that keeps fewer newer versions wins, in any order."""
        keeps = noncurrent("keeps", 30, 5, Filter={"Prefix": ""})
        keeps_none = noncurrent("none", 30, Filter={"Prefix": "team/"})
        assert retention_for([keeps, keeps_none], "team/a").rule_id == "none"  # type: ignore[union-attr]
        assert retention_for([keeps_none, keeps], "team/a").rule_id == "none"  # type: ignore[union-attr]


class TestRecoverableUntil:
    def test_no_rule_means_kept_forever(self) -> None:
        """Without a retention rule a version is recoverable until someone purges it."""
        assert recoverable_until(None, datetime(2026, 1, 1, tzinfo=UTC)) is None

    def test_days_rounded_up_to_the_next_midnight_utc(self) -> None:
        """S3 adds the days, then rounds up to the next midnight UTC."""
        r = Retention(3, None, "x")
        got = recoverable_until(r, datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
        assert got == datetime(2026, 1, 19, tzinfo=UTC)

    def test_exact_midnight_stays(self) -> None:
        """A moment already at midnight is not pushed a day further."""
        r = Retention(1, None, "x")
        assert recoverable_until(r, datetime(2026, 3, 1, tzinfo=UTC)) == datetime(
            2026, 3, 2, tzinfo=UTC
        )

    def test_other_time_zones_are_converted_to_utc_first(self) -> None:
        """23:30 at UTC-2 is 01:30 UTC next day: the rounding follows UTC's calendar."""
        minus2 = timezone(timedelta(hours=-2))
        got = recoverable_until(
            Retention(1, None, "x"), datetime(2026, 1, 1, 23, 30, tzinfo=minus2)
        )
        assert got == datetime(2026, 1, 4, tzinfo=UTC)

    def test_naive_datetimes_are_utc(self) -> None:
        """A naive time is S3's clock (UTC), not this machine's local time."""
        aware = recoverable_until(Retention(2, None, "x"), datetime(2026, 5, 5, 23, 0, tzinfo=UTC))
        naive = recoverable_until(Retention(2, None, "x"), datetime(2026, 5, 5, 23, 0))
        assert naive == aware == datetime(2026, 5, 8, tzinfo=UTC)

    def test_versions_among_the_newest_kept_are_not_removed(self) -> None:
        """With keep_newer N, a version with fewer than N newer noncurrent ones stays: None."""
        r = Retention(30, 3, "x")
        when = datetime(2026, 1, 1, 12, tzinfo=UTC)
        assert recoverable_until(r, when, newer_noncurrent=0) is None  # behind a delete marker
        assert recoverable_until(r, when, newer_noncurrent=2) is None
        assert recoverable_until(r, when, newer_noncurrent=3) == datetime(2026, 2, 1, tzinfo=UTC)
        assert recoverable_until(r, when) == datetime(2026, 2, 1, tzinfo=UTC)  # unknown: earliest
