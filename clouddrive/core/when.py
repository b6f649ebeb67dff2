"""WHEN: the moments users type (`--since`, `--at`) and how times are shown back to them.

Pure: the current time is always passed in, never read here. A WHEN is either an ISO 8601
time (`2024-05-01T14:00:00+02:00`, `2024-05-01 14:00Z`, `2024-05-01`) or a relative one
(`30m`, `2h`, `3d`, `1w`, `1d12h`, `90s`, optionally followed by `ago`). An ISO time without a
UTC offset is this machine's local time; a date alone is its local midnight. Every result is
an aware datetime in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from clouddrive import errors

__all__ = ["ago", "format_moment", "parse_duration", "parse_when"]

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_RELATIVE = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+")

_HINT = "use an ISO 8601 time (2024-05-01T14:00+02:00) or a relative one like 30m, 2h, 3d, 1w"


_MONTHS_OR_MINUTES = re.compile(r"\d\s*M(?![A-Za-z])")


def _relative(text: str) -> timedelta | None:
    """`1d12h` -> 36 hours; None if `text` is not a relative time. A capital `M` alone
    (`10M`) is refused: some read it as months, others as minutes."""
    if _MONTHS_OR_MINUTES.search(text):
        raise errors.UserError(
            f"{text.strip()!r} is ambiguous (months or minutes?): write minutes as 'm' "
            "(10m), and go back months with a date (2024-05-01)"
        )
    text = text.lower()
    body = text.removesuffix("ago").strip()
    if not body or not _RELATIVE.fullmatch(body):
        return None
    seconds = 0.0
    for number, unit in _PART.findall(body):
        if unit not in _UNITS:
            return None
        seconds += float(number) * _UNITS[unit]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # past timedelta's 999,999,999 days, or infinite
        raise errors.UserError(f"{text.strip()!r} is longer than any time can be") from None


def parse_duration(text: str) -> timedelta:
    """`7d`, `12h`, `1d12h`, `90m` -> a positive length of time (UserError otherwise)."""
    span = _relative(text.strip())
    if span is None or span <= timedelta(0):
        raise errors.UserError(f"{text!r} is not a length of time: use one like 30m, 12h, 7d")
    return span


def parse_when(text: str, *, now: datetime) -> datetime:
    """The moment `text` names, in UTC; relative times count back from `now`.

    Raises `errors.UserError` (one line, with the accepted forms) for anything else.
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise errors.UserError(f"empty time: {_HINT}")
    if cleaned == "now":
        return now.astimezone(UTC)
    delta = _relative(text.strip())
    if delta is not None:
        try:
            return (now - delta).astimezone(UTC)
        except OverflowError:
            raise errors.UserError(f"time {text!r} is too far back") from None
    iso = text.strip()
    if iso[-1:] in ("z", "Z"):
        iso = iso[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise errors.UserError(f"cannot read the time {text!r}: {_HINT}") from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # a time without offset is this machine's local time
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 or 9999 moved past the calendar's end
        raise errors.UserError(f"time {text!r} is out of range: {_HINT}") from None


def format_moment(moment: datetime) -> str:
    """A moment as this machine's local time, to the second: `2024-05-01 14:00:05`."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def ago(moment: datetime, *, now: datetime) -> str:
    """How long before `now` (`just now`, `5 min ago`, `3 h ago`, `2 days ago`, `in 4 days`)."""
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = "just now" if not future else "in under a minute"
        return text
    if seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        amount = f"{int(seconds // 3600)} h"
    else:
        days = int(seconds // 86400)
        amount = f"{days} day{'s' if days != 1 else ''}"
    return f"in {amount}" if future else f"{amount} ago"
