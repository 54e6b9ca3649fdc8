"""Report figures read as SQL aggregates (issue 17.8) are the figures the report computed
before from one Incident object per row: the old computation is kept here as the reference
and both run on the same randomly seeded database, for several periods and clocks."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from core.clock import to_iso
from core.deadlines import OVERDUE_LABELS, deadlines_for, overdue_kind
from core.grades import Grade
from core.models import State
from jobs.report import Report, _source_health, build_report, period_bounds, render_report
from storage import incidents as store
from storage import open_db
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")


def reference_report(db, config, period: str, now: datetime, tz: ZoneInfo) -> Report:
    """`jobs.report.build_report` as it was before issue 17.8 (every incident of the period and
    every open one read as an Incident), for comparison. Also the bench's baseline."""

    def _mean(values):
        return timedelta(seconds=mean(v.total_seconds() for v in values)) if values else None

    def _p90(values):
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]

    start, end = period_bounds(period, now, tz)
    incs = store.incidents_between(db, start, end)
    claim_times = [i.claimed_at - i.created_at for i in incs if i.claimed_at]
    close_times = [i.closed_at - i.created_at for i in incs if i.closed_at and i.state is State.CLOSED]
    open_all = store.open_incidents(db)
    kinds = {i.id: overdue_kind(i, deadlines_for(i, config.grades, tz), now) for i in open_all}
    overdue = [iid for iid, k in kinds.items() if k]
    names = {s.id: s.name for s in config.sources}
    people = {p.id: p.name for p in config.people}
    by_person: dict[str, tuple[list, list, list]] = {}
    for i in incs:
        if i.assignee:
            held, claims, closes = by_person.setdefault(people.get(i.assignee, i.assignee), ([], [], []))
            held.append(i.id)
            # their own taking of it: the first claim by them or assignment to them (the audit)
            taken = next(
                (
                    e.at
                    for e in store.events_for(db, i.id)
                    if (e.action == "claim" and e.actor == i.assignee)
                    or (e.action == "assign" and e.detail.get("target") == i.assignee)
                ),
                None,
            )
            if taken:
                claims.append(taken - i.created_at)
            if i.closed_at and i.state is State.CLOSED:
                closes.append(i.closed_at - i.created_at)
    fp: dict[str, tuple[int, int]] = {}
    for i in incs:
        if i.state is State.CLOSED and i.disposition:
            f, n = fp.get(i.category or "未分类", (0, 0))
            fp[i.category or "未分类"] = (f + (i.disposition.value == "误报"), n + 1)
    closed_at = [
        datetime.fromisoformat(r[0])
        for r in db.execute(
            "SELECT closed_at FROM incidents WHERE state='closed' AND closed_at >= ? AND closed_at < ?",
            [start.astimezone(UTC).isoformat(timespec="seconds"), end.astimezone(UTC).isoformat(timespec="seconds")],
        )
    ]
    closed_in_period = len(closed_at)
    # the trend per day, as issue 14 added it to the Incident-object computation
    first, last = start.astimezone(tz).date(), (min(end, now) - timedelta(microseconds=1)).astimezone(tz).date()
    new_by_day = Counter(i.created_at.astimezone(tz).date() for i in incs)
    done_by_day = Counter(t.astimezone(tz).date() for t in closed_at)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)] if last > first else []
    return Report(
        period=period,
        start=start,
        end=end,
        total=len(incs),
        by_grade={g.value: sum(1 for i in incs if i.grade is g) for g in Grade},
        by_category=dict(Counter(i.category or "未分类" for i in incs).most_common()),
        by_state={s.value: sum(1 for i in incs if i.state is s) for s in State},
        by_source=dict(Counter(names.get(i.source_id, i.source_id or "—") for i in incs).most_common()),
        by_disposition=dict(Counter(i.disposition.value for i in incs if i.disposition).most_common()),
        open_now=len(open_all),
        overdue_now=overdue,
        overdue_by_kind={k: n for k in OVERDUE_LABELS if (n := sum(1 for v in kinds.values() if v == k))},
        mean_claim=_mean(claim_times),
        mean_close=_mean(close_times),
        claimed=len(claim_times),
        closed=len(close_times),
        closed_in_period=closed_in_period,
        by_team=dict(Counter(config.team(i.team).name for i in incs).most_common()),
        p90_claim=_p90(claim_times),
        p90_close=_p90(close_times),
        claim_by_grade={
            g.value: (_mean(v), _p90(v))
            for g in Grade
            if (v := [i.claimed_at - i.created_at for i in incs if i.grade is g and i.claimed_at])
        },
        claim_by_person={name: (len(h), _mean(c), _mean(d)) for name, (h, c, d) in sorted(by_person.items())},
        false_positive_rate=fp,
        sources=_source_health(db, config),
        by_day={d.isoformat(): (new_by_day[d], done_by_day[d]) for d in days},
    )


def seed_random(db, config, n: int, now: datetime, days: int = 60, seed: int = 3) -> None:
    """`n` incidents over the `days` before `now`, in every state, grade and disposition, with
    sources known and unknown, teams set or not, assignees with and without a claim time."""
    rnd = random.Random(seed)
    sources = [s.id for s in config.sources] + ["gone", None]
    cats = [*config.watchlist.categories, None]
    people = [p.id for p in config.people] + ["former"]
    dispositions = ["已回应", "已澄清", "已转办", "不实", "无需处置", "误报"]
    rows = []
    for i in range(n):
        created = now - timedelta(seconds=rnd.randrange(days * 86400))
        if rnd.random() < 0.03:  # exactly on a deadline: not overdue yet
            created = now - timedelta(minutes=rnd.choice([15, 30, 120, 300, 1440, 2880]))
        state = rnd.choice(["new", "claimed", "escalated", "pending_signoff", "awaiting_feedback", "closed", "closed"])
        who = rnd.choice(people) if state != "new" or rnd.random() < 0.1 else None
        claimed = created + timedelta(seconds=rnd.randrange(1, 20000)) if who and rnd.random() < 0.9 else None
        closed = (
            created + timedelta(seconds=rnd.randrange(60, 400000)) if state == "closed" or rnd.random() < 0.05 else None
        )
        disp = rnd.choice(dispositions) if closed and rnd.random() < 0.95 else None
        # a 转办 waits for feedback due within a few days of the incident (passed or not yet)
        feedback_due = (
            created + timedelta(seconds=rnd.randrange(3600, 5 * 86400)) if state == "awaiting_feedback" else None
        )
        rows.append(
            (
                f"s{i}",
                f"事件{i}",
                rnd.choice(sources),
                rnd.choice(["city", None, "county"]),
                rnd.choice(cats),
                rnd.choice(["I", "II", "III", "IV"]),
                state,
                who,
                disp,
                to_iso(created),
                to_iso(created),
                to_iso(claimed),
                to_iso(closed),
                to_iso(feedback_due),
            )
        )
    # the audit of each taking: by the holder, by someone else first (then given back), by an
    # assignment, or none (a holder without a claim event: closed or transferred unclaimed)
    events = []
    for n, row in enumerate(rows, 1):
        who, claimed = row[7], row[11]
        if not (who and claimed):
            continue
        at = datetime.fromisoformat(claimed)
        pick = rnd.random()
        if pick < 0.5:
            events.append((n, claimed, who, "claim", "{}"))
        elif pick < 0.7:
            other = rnd.choice([p for p in people if p != who])
            later = to_iso(at + timedelta(seconds=rnd.randrange(1, 20000)))
            events += [(n, claimed, other, "claim", "{}"), (n, claimed, other, "unclaim", "{}")]
            events += [(n, later, who, "claim", "{}"), (n, later, who, "assign", json.dumps({"target": "x"}))]
        elif pick < 0.9:
            events.append((n, claimed, "wangmin", "assign", json.dumps({"target": who})))
    with db.conn:
        db.conn.executemany(
            """INSERT INTO incidents (story_key, title, source_id, team, category, grade, state, assignee,
                   disposition, created_at, updated_at, claimed_at, closed_at, feedback_due_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            rows,
        )
        db.conn.executemany("INSERT INTO events (incident_id, at, actor, action, detail) VALUES (?,?,?,?,?)", events)
        db.conn.execute("INSERT INTO sources (id, name, kind, url, deactivated) VALUES ('forum', 'x', 'rss', 'u', 1)")
        db.conn.execute(
            "INSERT INTO sources (id, name, kind, url, consecutive_failures) VALUES ('ycnews', 'y', 'rss', 'u', 9)"
        )


def _fields(r: Report) -> dict:
    """Every field, dicts as item lists (their order is what the text shows)."""
    return {f.name: list(v.items()) if isinstance(v := getattr(r, f.name), dict) else v for f in dataclasses.fields(r)}


@pytest.fixture(scope="module")
def seeded():
    cfg = load_config(ROOT / "config" / "example.toml")
    db = open_db(memory=True)
    now = datetime(2026, 11, 28, 10, 7, tzinfo=TZ).astimezone(UTC)  # a Saturday
    seed_random(db, cfg, 3000, now)
    return db, cfg, now


@pytest.mark.parametrize("period", ["today", "week", "month", "yesterday", "lastweek", "2026-10-01..2026-11-30"])
@pytest.mark.parametrize("shift_hours", [0, -50, 47.5])  # Saturday morning; Thursday; Monday 09:37
def test_report_figures_as_before(seeded, period, shift_hours):
    db, cfg, now = seeded
    now = now + timedelta(hours=shift_hours)
    new, old = build_report(db, cfg, period, now, TZ), reference_report(db, cfg, period, now, TZ)
    assert _fields(new) == _fields(old)
    assert render_report(new, TZ, "云川") == render_report(old, TZ, "云川")


def test_report_figures_as_before_when_a_grade_has_no_fixed_deadline(seeded):
    """Grade IV claims by the next working day and (here) has no response deadline: every
    unclaimed open grade IV incident is decided by its claim deadline alone."""
    db, cfg, now = seeded
    rules = dict(cfg.grades)
    rules[Grade.IV] = rules[Grade.IV].model_copy(update={"full_response": None, "first_response": None})
    cfg = cfg.model_copy(update={"grades": rules})
    for hours in (0, 60):
        at = now + timedelta(hours=hours)
        new, old = build_report(db, cfg, "month", at, TZ), reference_report(db, cfg, "month", at, TZ)
        assert _fields(new) == _fields(old)
        assert new.overdue_by_kind.get("claim")
