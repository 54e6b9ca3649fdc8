"""Deadlines per grade: claim, first authoritative response, full response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.clock import next_workday_morning, parse_duration
from core.models import Incident, State

__all__ = ["Deadlines", "deadlines_for", "next_deadline", "is_overdue"]


@dataclass(frozen=True)
class Deadlines:
    claim: datetime
    first_response: datetime | None
    full_response: datetime | None


def deadlines_for(inc: Incident, rules, tz: ZoneInfo) -> Deadlines:
    """`rules` maps Grade -> GradeRule (claim, first_response, full_response)."""
    rule = rules[inc.grade]
    start = inc.created_at
    claim = next_workday_morning(start, tz) if rule.claim == "next_workday" else start + parse_duration(rule.claim)
    first = start + parse_duration(rule.first_response) if rule.first_response else None
    full = start + parse_duration(rule.full_response) if rule.full_response else None
    return Deadlines(claim, first, full)


def next_deadline(inc: Incident, dl: Deadlines, now: datetime) -> tuple[str, datetime] | None:
    """The deadline that matters now, labelled in Chinese; None once closed."""
    if inc.state is State.CLOSED:
        return None
    if inc.state is State.NEW and not inc.assignee:
        return ("认领时限", dl.claim)
    if dl.first_response and now < dl.first_response:
        return ("首次权威发布时限", dl.first_response)
    if dl.full_response:
        return ("完整回应时限", dl.full_response)
    return None


def is_overdue(inc: Incident, dl: Deadlines, now: datetime) -> bool:
    nd = next_deadline(inc, dl, now)
    return nd is not None and now > nd[1]
