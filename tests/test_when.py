"""WHEN parsing (ISO 8601 or relative) and how moments are shown: pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clouddrive import errors
from clouddrive.core.when import ago, format_moment, parse_duration, parse_when

NOW = datetime(2024, 5, 10, 12, 0, 0, tzinfo=UTC)


class TestRelative:
    @pytest.mark.parametrize(
        ("text", "delta"),
        [
            ("30m", timedelta(minutes=30)),
            ("2h", timedelta(hours=2)),
            ("3d", timedelta(days=3)),
            ("1w", timedelta(weeks=1)),
            ("90s", timedelta(seconds=90)),
            ("1d12h", timedelta(hours=36)),
            ("1.5h", timedelta(minutes=90)),
            (" 2 hours ago ", timedelta(hours=2)),
            ("3D", timedelta(days=3)),
            ("10 min", timedelta(minutes=10)),
        ],
    )
    def test_counts_back_from_now(self, text: str, delta: timedelta) -> None:
        """Relative times are `now` minus the amount, in UTC."""
        assert parse_when(text, now=NOW) == NOW - delta

    def test_now(self) -> None:
        """'now' is now."""
        assert parse_when("now", now=NOW) == NOW


class TestIso:
    def test_offset_is_honoured(self) -> None:
        """An explicit UTC offset gives the same instant in UTC."""
        assert parse_when("2024-05-01T14:00:00+02:00", now=NOW) == datetime(
            2024, 5, 1, 12, 0, tzinfo=UTC
        )

    def test_z_suffix(self) -> None:
        """A trailing Z (either case) means UTC."""
        expected = datetime(2024, 5, 1, 14, 0, 5, tzinfo=UTC)
        assert parse_when("2024-05-01T14:00:05Z", now=NOW) == expected
        assert parse_when("2024-05-01 14:00:05z", now=NOW) == expected

    def test_naive_time_is_local(self) -> None:
        """Without an offset, the time is this machine's local time."""
        local = datetime(2024, 5, 1, 14, 0).astimezone()
        assert parse_when("2024-05-01T14:00", now=NOW) == local.astimezone(UTC)

    def test_date_alone_is_local_midnight(self) -> None:
        """A date alone is midnight, local time."""
        local = datetime(2024, 5, 1).astimezone()
        assert parse_when("2024-05-01", now=NOW) == local.astimezone(UTC)

    def test_result_is_always_utc(self) -> None:
        """Every result carries the UTC zone."""
        for text in ("2h", "2024-05-01T14:00+05:30", "2024-05-01"):
            assert parse_when(text, now=NOW).tzinfo == UTC


class TestErrors:
    @pytest.mark.parametrize("text", ["", "yesterday", "2h3", "5 parsecs", "2024-13-01", "h2"])
    def test_unreadable_is_a_user_error_with_the_forms(self, text: str) -> None:
        """Anything else is a one-line UserError naming the accepted forms."""
        with pytest.raises(errors.UserError) as caught:
            parse_when(text, now=NOW)
        assert "\n" not in str(caught.value)
        if text:
            assert "2h" in str(caught.value) and "ISO 8601" in str(caught.value)


class TestShowing:
    def test_ago(self) -> None:
        """Durations read naturally, past and future."""
        assert ago(NOW - timedelta(seconds=10), now=NOW) == "just now"
        assert ago(NOW - timedelta(minutes=5), now=NOW) == "5 min ago"
        assert ago(NOW - timedelta(hours=3, minutes=59), now=NOW) == "3 h ago"
        assert ago(NOW - timedelta(days=1), now=NOW) == "1 day ago"
        assert ago(NOW - timedelta(days=9), now=NOW) == "9 days ago"
        assert ago(NOW + timedelta(days=4), now=NOW) == "in 4 days"

    def test_format_moment_is_local_to_the_second(self) -> None:
        """Moments show in local time, to the second."""
        moment = datetime(2024, 5, 1, 12, 0, 5, 999, tzinfo=UTC)
        assert format_moment(moment) == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("text", ["10M", "1M", "2 M", "1d10M"])
def test_a_capital_m_is_refused_as_ambiguous(text: str) -> None:
    """`--at 10M` was taken as ten minutes; some mean ten months. Refused, with both forms."""
    with pytest.raises(errors.UserError, match=r"ambiguous .*10m"):
        parse_when(text, now=NOW)
    with pytest.raises(errors.UserError, match="ambiguous"):
        parse_duration(text)


def test_minutes_and_durations_still_read() -> None:
    assert parse_when("10m", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_when("10 mins ago", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_duration("1d12h") == timedelta(hours=36)
    with pytest.raises(errors.UserError, match="not a length of time"):
        parse_duration("2024-05-01")


@pytest.mark.parametrize(
    "text",
    ["0001-01-01", "0001-01-01T00:00", "9999-12-31T23:59:59", "9" * 400 + "d", "1e400s"],
)
def test_times_past_the_calendars_ends_are_a_user_error(text: str) -> None:
    """Found from outside: year 1 in a zone east of UTC, or a relative time too long for
    any clock, was an internal error (ValueError, OverflowError)."""
    try:
        moment = parse_when(text, now=NOW)
    except errors.UserError as refused:  # "out of range", "longer than any time can be"
        assert "\n" not in str(refused)
    else:
        assert moment.tzinfo == UTC


@pytest.mark.parametrize("text", ["9" * 400 + "d", "10000000000000000000s"])
def test_a_duration_too_long_for_any_clock_is_a_user_error(text: str) -> None:
    with pytest.raises(errors.UserError, match="longer than any time can be"):
        parse_duration(text)
