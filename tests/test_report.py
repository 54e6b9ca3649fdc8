"""Report figures against hand-computed values, with a controlled clock."""

from __future__ import annotations

from datetime import timedelta

from core.incidents import Actor
from core.lifecycle import Action
from core.models import Disposition, Role
from jobs.report import build_report, period_bounds, render_report
from tests.conftest import HIGH, LOW, seed

LI = Actor("liqiang", "李强", Role.STAFF)


async def test_report_counts_and_mean_times(make_app, clock):
    h = make_app()
    seed(h, *HIGH)                              # #1 at t0
    seed(h, *LOW, source="ycnews")              # #2 at t0
    clock.advance(minutes=10)
    h.app.service.act(1, Action.CLAIM, LI)      # claim #1 after 10 min
    clock.advance(minutes=20)
    h.app.service.act(2, Action.CLAIM, LI)      # claim #2 after 30 min
    clock.advance(minutes=60)
    h.app.service.act(2, Action.CLOSE, LI, disposition=Disposition.FALSE_POSITIVE)  # close #2 after 90 min
    seed(h, "青石镇干部态度恶劣", "村民投诉办事推诿。")  # #3, still new
    clock.advance(minutes=20)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.total == 3
    assert r.by_state == {"new": 1, "claimed": 1, "escalated": 0, "closed": 1}
    assert r.mean_claim == timedelta(minutes=20) and r.claimed == 2
    assert r.mean_close == timedelta(minutes=90) and r.closed == 1
    assert r.by_disposition == {"误报": 1}
    assert r.open_now == 2
    g3 = h.incident(3).grade
    # #3 was found 20 minutes ago: overdue only if its claim deadline is shorter than that
    assert (3 in r.overdue_now) == (g3.value in ("I",))
    text = render_report(r, h.app.tz, "云川市委组织部")
    assert "新增事件：3 起" in text and "平均认领用时：20 分钟（2 起）" in text and "平均办结用时：1 小时 30 分钟（1 起）" in text


async def test_overdue_unclaimed_high_grade(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    grade = h.incident(1).grade
    clock.advance(minutes=16 if grade.value == "I" else 31)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_now == [1]
    assert "超时 1 起（#1）" in render_report(r, h.app.tz)


def test_period_bounds_are_local_days(clock):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    start, _ = period_bounds("today", clock(), tz)           # clock: 2026-11-24 10:00 Shanghai (a Tuesday)
    assert start.astimezone(tz).strftime("%Y-%m-%d %H:%M") == "2026-11-24 00:00"
    start, _ = period_bounds("week", clock(), tz)
    assert start.astimezone(tz).strftime("%Y-%m-%d") == "2026-11-23"
    start, _ = period_bounds("month", clock(), tz)
    assert start.astimezone(tz).strftime("%Y-%m-%d") == "2026-11-01"
