"""The duty rota (值班): who is on duty at a moment, from the configured rotation and the
overrides taken or assigned by date. Pure: the overrides come from storage, the zone from
the settings. Anchor: Grafana OnCall / PagerDuty schedules — a rotation, overrides, a handover.

A shift begins at the handover time (in the organisation's zone) of `start` and lasts
`shift`; the rotation's people take them in turn. An override names the person for one
calendar day: from that day's handover to the next day's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.clock import parse_duration

__all__ = ["Shift", "day_label", "day_of", "on_duty", "overrides_in_force", "shifts_from", "shifts_of_day"]

log = logging.getLogger(__name__)
_told: set[tuple[date, str]] = set()  # stored overrides left out, logged once each


@dataclass(frozen=True)
class Shift:
    person: str  # person id
    start: datetime
    end: datetime
    override: bool = False  # taken or assigned (/duty), not the rotation's turn


def _handover(duty) -> time:
    return time.fromisoformat(duty.handover)


def _at(day: date, duty, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, _handover(duty), tzinfo=tz)


def day_of(at: datetime, duty, tz: ZoneInfo) -> date:
    """The duty day `at` falls in: before the handover it is still the previous day's shift."""
    local = at.astimezone(tz)
    return local.date() if local.time() >= _handover(duty) else local.date() - timedelta(days=1)


def day_label(day: date, today: date) -> str:
    """A duty day as told to people: `11-27` this year, `2027-01-02` in another."""
    return f"{day:%m-%d}" if day.year == today.year else f"{day:%Y-%m-%d}"


def _rotation_shift(duty, at: datetime, tz: ZoneInfo) -> Shift:
    length = parse_duration(duty.shift)
    origin = _at(duty.start, duty, tz)
    k = (at - origin) // length  # floor division: shifts before `start` continue the rotation backwards
    start = origin + k * length
    return Shift(duty.rotation[k % len(duty.rotation)], start, start + length)


def overrides_in_force(duty, stored: Mapping[date, str], may_serve: Callable[[str], object]) -> dict[date, str]:
    """The overrides that count: the config's, then those taken or assigned with /duty (the
    latest of each day, `stored`) over them; a stored '' (cleared) gives the day back to the rotation. A stored one whose person may no longer be on duty
    (`may_serve` false: gone from the config, or no longer admin, staff or leader) is left out,
    so that day falls back to the config's override or the rotation's turn, never to nobody
    or to someone outside the team."""
    out = dict(duty.overrides)
    for day, pid in stored.items():
        if not pid:  # cleared (/duty DAY 轮值): the rotation's turn, also over the config's override
            out.pop(day, None)
        elif may_serve(pid):
            out[day] = pid
        elif (day, pid) not in _told:
            _told.add((day, pid))
            log.warning("duty override of %s for %r ignored: not a configured admin, staff or leader", day, pid)
    return out


def on_duty(duty, overrides: dict[date, str], at: datetime, tz: ZoneInfo) -> Shift | None:
    """Who is on duty at `at`. None without a rota. An override covers its day's handover to
    the next day's; a rotation shift that overlaps an override is cut at its edges."""
    if duty is None:
        return None
    day = day_of(at, duty, tz)
    if day in overrides:
        return Shift(overrides[day], _at(day, duty, tz), _at(day + timedelta(days=1), duty, tz), True)
    s = _rotation_shift(duty, at, tz)
    start, end = s.start, s.end
    # an override on any duty day the rotation shift touches (a weekly shift: any of its seven)
    # ends the shift at its handover or resumes it after; read per override, not per day
    first, last = day_of(s.start, duty, tz), day_of(s.end - timedelta(seconds=1), duty, tz)
    for d in overrides:
        if first <= d <= last:
            o_start, o_end = _at(d, duty, tz), _at(d + timedelta(days=1), duty, tz)
            if o_end <= at:
                start = max(start, o_end)
            elif o_start > at:
                end = min(end, o_start)
    return Shift(s.person, start, end)


def shifts_from(duty, overrides: dict[date, str], at: datetime, tz: ZoneInfo, n: int = 2) -> list[Shift]:
    """The shift at `at` and the `n - 1` after it (each starting when the one before ends)."""
    out: list[Shift] = []
    t = at
    while len(out) < n:
        s = on_duty(duty, overrides, t, tz)
        if s is None:
            break
        out.append(s)
        t = s.end
    return out


def shifts_of_day(duty, overrides: dict[date, str], day: date, tz: ZoneInfo) -> list[Shift]:
    """Every shift of the duty day `day` (its handover to the next): that day's duty officers
    (日报) — one with daily shifts, both of `shift = "12h"`, each part of a day an override cut."""
    if duty is None:
        return []
    out: list[Shift] = []
    t, end = _at(day, duty, tz), _at(day + timedelta(days=1), duty, tz)
    while t < end and (s := on_duty(duty, overrides, t, tz)) is not None:
        out.append(s)
        t = s.end
    return out
