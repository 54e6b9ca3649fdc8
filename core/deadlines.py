"""Deadlines per grade: claim, first authoritative response, full response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.clock import next_workday_morning, parse_duration
from core.config import GradeRule
from core.grades import Grade
from core.models import Incident, State
from core.render import fmt_span

__all__ = [
    "OVERDUE_LABELS",
    "Dated",
    "Deadlines",
    "Intent",
    "deadline_named",
    "deadlines_for",
    "due_intents",
    "is_overdue",
    "missed_deadlines",
    "next_deadline",
    "next_due",
    "next_summary",
    "overdue_kind",
    "summary_due",
]


@dataclass(frozen=True)
class Deadlines:
    claim: datetime
    first_response: datetime | None
    full_response: datetime | None
    feedback: datetime | None = None  # 转办: the receiving unit's reply, while 待反馈


class Dated(Protocol):
    """What `deadlines_for` reads of an incident."""

    @property
    def grade(self) -> Grade: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def state(self) -> State: ...
    @property
    def feedback_due_at(self) -> datetime | None: ...


def deadlines_for(inc: Dated, rules: Mapping[Grade, GradeRule], tz: ZoneInfo) -> Deadlines:
    """`rules` maps Grade -> GradeRule (claim, first_response, full_response)."""
    rule = rules[inc.grade]
    start = inc.created_at
    claim = next_workday_morning(start, tz) if rule.claim == "next_workday" else start + parse_duration(rule.claim)
    first = start + parse_duration(rule.first_response) if rule.first_response else None
    full = start + parse_duration(rule.full_response) if rule.full_response else None
    feedback = inc.feedback_due_at if inc.state is State.AWAITING_FEEDBACK else None
    return Deadlines(claim, first, full, feedback)


# A closing that waits for a leader's 销号 has given its response: no reminders run on it
# (it still counts as overdue until it is closed: 办结 is the sign-off).
_DONE = (State.CLOSED, State.PENDING_SIGNOFF)


# what an incident owes, least serious first: claim, a 转办's feedback, first authoritative
# response, full response
def deadline_named(dl: Deadlines, name: str) -> datetime | None:
    """The deadline a reminder's key names ("claim" of "claim:pre", "first", "full", "feedback")."""
    return {"claim": dl.claim, "first": dl.first_response, "full": dl.full_response, "feedback": dl.feedback}.get(name)


_LABELS = {"claim": "认领时限", "feedback": "反馈时限", "first": "首次权威发布时限", "full": "完整回应时限"}
OVERDUE_LABELS = {"claim": "认领超时", "feedback": "反馈超时", "first": "首次回应超时", "full": "办结超时"}


def missed_deadlines(inc: Incident, dl: Deadlines, now: datetime) -> list[tuple[str, datetime]]:
    """Every deadline of the incident's grade that has passed and that it has not met, in order
    (`claim`, `feedback`, `first`, `full`). The one definition of "overdue" for cards, listings and reports.

    Claim is met once someone holds the incident (claimed or assigned) — an unclaimed incident
    stays overdue on claim after it has been (auto-)escalated. First and full response are met
    only by closing it: nothing else records a response.
    """
    if inc.state is State.CLOSED:
        return []
    out: list[tuple[str, datetime]] = []
    if not inc.assignee and now > dl.claim:
        out.append(("claim", dl.claim))
    if dl.feedback and now > dl.feedback:
        out.append(("feedback", dl.feedback))
    if dl.first_response and now > dl.first_response:
        out.append(("first", dl.first_response))
    if dl.full_response and now > dl.full_response:
        out.append(("full", dl.full_response))
    return out


def overdue_kind(inc: Incident, dl: Deadlines, now: datetime) -> str | None:
    """The most serious deadline missed (`full` > `first` > `feedback` > `claim`), or None: an overdue
    incident is counted once, under this."""
    missed = missed_deadlines(inc, dl, now)
    return missed[-1][0] if missed else None


def next_deadline(inc: Incident, dl: Deadlines, now: datetime) -> tuple[str, datetime] | None:
    """The deadline that matters now, labelled in Chinese; None once closed. When some are
    missed, the most serious of them; else the next one still to meet."""
    if inc.state is State.CLOSED:
        return None
    missed = missed_deadlines(inc, dl, now)
    if missed:
        name, when = missed[-1]
        return (_LABELS[name], when)
    pending = [("claim", dl.claim)] if not inc.assignee else []
    pending += [
        (n, w) for n, w in (("feedback", dl.feedback), ("first", dl.first_response), ("full", dl.full_response)) if w
    ]
    if not pending:
        return None
    name, when = min(pending, key=lambda p: p[1])
    return (_LABELS[name], when)


def is_overdue(inc: Incident, dl: Deadlines, now: datetime) -> bool:
    """Past any deadline of its grade that it has not met (see `missed_deadlines`)."""
    return bool(missed_deadlines(inc, dl, now))


@dataclass(frozen=True)
class Intent:
    """Something the deadline sweep should do now. `key` makes it happen once."""

    kind: str  # remind | overdue | auto_escalate | duty | quiet | unmuted
    key: str
    text: str


def due_intents(
    inc: Incident,
    dl: Deadlines,
    rule: GradeRule,
    now: datetime,
    *,
    done: set[str],
    last_activity: datetime,
    muted_until: datetime | None,
    tz: ZoneInfo,
    hold_until: datetime | None = None,
    duty_grace: timedelta | None = None,
) -> list[Intent]:
    """Pure: what reminders, overdue notices and escalations are due for one incident now.
    `done` holds the keys already acted on (from the audit log). With a duty rota
    (`duty_grace`), an unclaimed incident past its claim deadline goes to the on-duty person
    first (`duty`) and is auto-escalated to the chain only `duty_grace` later."""
    if inc.state in _DONE:
        return []
    out: list[Intent] = []
    i = inc.id
    muted = muted_until is not None and now < muted_until
    # `/mute all`: grade III–IV reminders and auto-escalation wait (they happen when it ends);
    # grade I–II never do
    held = hold_until is not None and now < hold_until and inc.grade.rank > 2
    muted = muted or held
    if muted_until is not None and now >= muted_until:
        key = f"unmuted:{muted_until.isoformat()}"
        if key not in done:
            out.append(Intent("unmuted", key, f"🔔 #{i} 静音已结束，恢复提醒"))
    deadlines = []
    # nobody has it yet: also when it was escalated by hand before anyone claimed it (reminded
    # and reported overdue like a new one; escalated on by itself only from NEW)
    if not inc.assignee and inc.state in (State.NEW, State.ESCALATED):
        deadlines.append(("claim", dl.claim))
    if dl.feedback:
        deadlines.append(("feedback", dl.feedback))
    if dl.first_response:
        deadlines.append(("first", dl.first_response))
    if dl.full_response:
        deadlines.append(("full", dl.full_response))
    for name, when in deadlines:
        label = _LABELS[name]
        span = when - inc.created_at
        lead = parse_duration(rule.remind_before) if rule.remind_before else min(timedelta(minutes=30), span / 3)
        # the time of day, with its date when that is not today (a deadline reported missed
        # after the bot was down, or when a mute ends, may be yesterday's)
        same_day = when.astimezone(tz).date() == now.astimezone(tz).date()
        local = when.astimezone(tz).strftime("%H:%M" if same_day else "%m-%d %H:%M")
        if now >= when:
            if f"{name}:due" not in done and not muted:
                out.append(Intent("overdue", f"{name}:due", f"⏰ #{i} 已超过{label}（{local}）"))
            if (
                name == "claim"
                and inc.state is State.NEW
                and rule.auto_escalate
                and "auto_escalate" not in done
                and not held
            ):
                if duty_grace is not None and "duty:claim" not in done:
                    out.append(Intent("duty", "duty:claim", f"👮 #{i} 超过认领时限（{local}）无人认领，请值班员处理"))
                elif duty_grace is None or now >= when + duty_grace:
                    out.append(Intent("auto_escalate", "auto_escalate", f"超过认领时限（{local}）无人认领，自动升级"))
        elif now >= when - lead and f"{name}:pre" not in done and not muted:
            left = max(1, int((when - now).total_seconds() // 60))
            out.append(Intent("remind", f"{name}:pre", f"⏳ #{i} 距{label}还有 {left} 分钟（{local}）"))
    if inc.assignee and rule.quiet_after and not muted:
        quiet = parse_duration(rule.quiet_after)
        n = int((now - last_activity) / quiet)
        if n >= 1 and f"quiet:{last_activity.isoformat()}:{n}" not in done:
            quiet_for = fmt_span(max(now - last_activity, timedelta(minutes=1)))
            out.append(
                Intent(
                    "quiet",
                    f"quiet:{last_activity.isoformat()}:{n}",
                    f"💤 #{i} 已 {quiet_for}没有新的处置记录，请跟进并 /note {i} 说明进展",
                )
            )
    return out


def next_due(
    inc: Incident,
    dl: Deadlines,
    rule: GradeRule,
    now: datetime,
    *,
    last_activity: datetime,
    muted_until: datetime | None,
    hold_until: datetime | None = None,
    duty_grace: timedelta | None = None,
) -> datetime | None:
    """Pure: the earliest time after `now` at which `due_intents` could return something new for
    this incident, if nothing about it changes meanwhile (a change makes the sweep ask again).
    Conservative: every deadline of `dl` (whatever its kind) and the reminder before it, the
    next quiet interval, the end of a mute or of `/mute all`. None: nothing left to come (closed)."""
    if inc.state is State.CLOSED:
        return None
    times: list[datetime] = []
    for f in fields(dl):
        when = getattr(dl, f.name)
        if not isinstance(when, datetime):
            continue
        span = when - inc.created_at
        lead = parse_duration(rule.remind_before) if rule.remind_before else min(timedelta(minutes=30), span / 3)
        times += [when - lead, when]
    if duty_grace is not None and not inc.assignee:
        times.append(dl.claim + duty_grace)  # the auto-escalation after the on-duty person's turn
    if muted_until is not None:
        times.append(muted_until)
    if hold_until is not None and inc.grade.rank > 2:
        times.append(hold_until)  # `/mute all`: what it held becomes due when it ends
    if inc.assignee and rule.quiet_after:
        quiet = parse_duration(rule.quiet_after)
        if quiet > timedelta(0):
            n = max(0, int((now - last_activity) / quiet))
            times.append(last_activity + (n + 1) * quiet)
    later = [t for t in times if t > now]
    return min(later) if later else None


# ---------------------------------------------------------------------------- subscribers' summaries
# A subscribed leader hears of a grade I–II incident's claims and notes in one status summary
# per interval (`organization.subscriber_summary`), counted from the incident's opening:
# windows [opened + (k-1)·every, opened + k·every). The deadline sweep sends the summary of the
# last whole window at its end, and only when someone did something in it.


def _summarised(inc: Incident) -> bool:
    return inc.state not in _DONE and inc.grade.rank <= 2


def summary_due(
    inc: Incident, now: datetime, every: timedelta, *, last_activity: datetime, done: set[str]
) -> tuple[str, datetime, datetime] | None:
    """Pure: (key, window start, window end) of the status summary due now, or None — not
    grade I–II or not open, no whole window yet, already given (`done`: the keys acted on),
    or nobody acted since the window began (`last_activity`: the latest human action)."""
    if not _summarised(inc) or every <= timedelta(0):
        return None
    k = int((now - inc.created_at) / every)
    if k < 1:
        return None
    start, end = inc.created_at + (k - 1) * every, inc.created_at + k * every
    key = f"summary:{k}"
    if key in done or last_activity < start:
        return None
    return key, start, end


def next_summary(inc: Incident, now: datetime, every: timedelta) -> datetime | None:
    """Pure: when the next window ends (the sweep's next look for a summary); None when the
    incident gets no summaries."""
    if not _summarised(inc) or every <= timedelta(0):
        return None
    return inc.created_at + (int((now - inc.created_at) / every) + 1) * every
