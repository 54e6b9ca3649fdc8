"""Time: stored in UTC, shown in the configured zone. A clock is injected so tests control time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "DEFAULT_TZ",
    "DURATION_RE",
    "MAX_DURATION",
    "Clock",
    "DurationTooLong",
    "from_iso",
    "local_if_naive",
    "parse_duration",
    "system_clock",
    "to_iso",
]

Clock = Callable[[], datetime]

# The organisation's zone unless the settings say otherwise (`YUQING_TIMEZONE`): shown times,
# schedules, and the meaning of a timestamp that names no zone.
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)


def system_clock() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|秒|分钟|分|小时|天)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "秒": 1, "m": 60, "分": 60, "分钟": 60, "h": 3600, "小时": 3600, "d": 86400, "天": 86400}

# No interval, deadline, shift or mute the bot deals in is longer than this; a longer one is a
# typo (and a few digits more would overflow the date arithmetic it feeds).
MAX_DURATION = timedelta(days=3650)


class DurationTooLong(OverflowError):
    """A well-formed duration beyond `MAX_DURATION`: an OverflowError, as the date arithmetic
    it stands in for would raise, so callers that treat "too big" apart from "not a duration"
    keep doing so."""


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "2h", "1d" (or 分钟/小时/天) into a timedelta.

    :raises ValueError: when the text is not a duration.
    :raises DurationTooLong: (an OverflowError) when it is longer than `MAX_DURATION` (3650 days).
    """
    m = DURATION_RE.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r} (use 90s, 15m, 2h, 1d)")
    seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not seconds <= MAX_DURATION.total_seconds():  # also catches inf from a long digit string
        raise DurationTooLong(f"duration too long: {text!r} (at most {MAX_DURATION.days}d)")
    return timedelta(seconds=seconds)


@overload
def to_iso(dt: datetime) -> str: ...
@overload
def to_iso(dt: None) -> None: ...
@overload
def to_iso(dt: datetime | None) -> str | None: ...
def to_iso(dt: datetime | None) -> str | None:
    """Store as ISO-8601 UTC with a trailing +00:00, sortable as text."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def local_if_naive(dt: datetime, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """The one rule for a scraped or imported time that names no zone: it is the
    organisation's local time (`tz`). An aware time is returned as it is.

    >>> local_if_naive(datetime(2026, 11, 23, 8, 12)).isoformat()
    '2026-11-23T08:12:00+08:00'
    """
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def parse_iso(text: str) -> datetime:
    """Like `from_iso`, for a column that always holds a time.

    :raises ValueError: when `text` is empty or not ISO-8601.
    """
    dt = from_iso(text)
    if dt is None:
        raise ValueError("no timestamp")
    return dt


def from_iso(text: str | None) -> datetime | None:
    """Read what `to_iso` stored (a naive value as UTC); None for None or ''."""
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def next_workday_morning(now: datetime, tz: ZoneInfo, hour: int = 9) -> datetime:
    """The next working day (Mon–Fri) at `hour`:00 local time, as UTC."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
