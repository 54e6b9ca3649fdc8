"""Deadlines with a controlled clock: reminders before and at each deadline, auto-escalation
of unclaimed incidents, quiet-incident nudges once per interval, mute and its end."""

from __future__ import annotations

from core.models import State
from jobs.deadlines import sweep
from tests.conftest import HIGH, seed


async def tick(h, **kw):
    h.app.clock.advance(**kw)
    sweep(h.app.service, h.app.tz)
    return await h.deliver()


async def test_grade_i_claim_reminder_overdue_and_auto_escalation(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")  # two sources: grade I
    assert h.incident(1).grade.value == "I"
    await h.deliver()
    assert await tick(h, minutes=9) == ""  # claim deadline 15m, reminder 5m before
    out = await tick(h, minutes=1)  # 10 minutes in
    assert "⏳ #1 距认领时限还有 5 分钟" in out
    assert await tick(h, minutes=2) == ""  # said once
    out = await tick(h, minutes=4)  # 16 minutes: past the claim deadline
    assert "⏫ #1 超过认领时限（10:15）无人认领，自动升级至组长" in out  # one line: no ⏰, no second ⏫
    assert h.incident(1).state is State.ESCALATED
    assert "【私聊 → 王敏】" in out  # the next level hears about it
    assert "自动升级" not in await tick(h, minutes=5)  # only once


async def test_grade_iv_claim_deadline_is_the_next_working_day(make_app, clock):
    h = make_app()
    seed(h, "市委组织部发布干部任前公示", "拟任职人选公示。", source="ycnews")
    assert h.incident(1).grade.value == "IV"
    await h.deliver()
    assert "超过认领时限" not in await tick(h, hours=6)  # 16:00 on Tuesday: not yet
    out = await tick(h, hours=18)  # Wednesday 10:00: past 09:00
    assert "⏫ #1 超过认领时限（09:00）无人认领，自动升级至组长" in out


async def test_quiet_claimed_incident_is_nudged_once_per_interval(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    await h.say("liqiang", "/claim 1")
    await h.deliver()
    assert "💤" not in await tick(h, minutes=50)
    out = await tick(h, minutes=15)  # 65 minutes without action (quiet_after 1h)
    assert "💤 #1 已 1 小时 5 分钟没有新的处置记录" in out and "【私聊 → 李强】" in out
    assert "💤" not in await tick(h, minutes=30)
    assert "💤" in await tick(h, minutes=30)  # the next interval
    await h.say("liqiang", "/note 1 已联系交通局")
    await h.deliver()
    assert "💤" not in await tick(h, minutes=30)  # activity resets the clock


async def test_mute_silences_reminders_and_its_end_is_announced(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    await h.say("liqiang", "/claim 1")
    assert await h.say("liqiang", "/mute 1 2h") == ""
    assert "🔕 #1 李强 静音了提醒" in await h.deliver()
    assert "💤" not in await tick(h, minutes=90)
    out = await tick(h, minutes=40)
    assert "🔔 #1 静音已结束" in out
    assert "/mute 编号 时长" in await h.say("liqiang", "/mute 1")
    assert "不是有效的时长" in await h.say("liqiang", "/mute 1 soon")
    assert "无权使用 /mute" in await h.say("chenbuzhang", "/mute 1 1h")


async def test_closed_incidents_get_no_reminders(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    await h.say("liqiang", "/close 1 误报")
    await h.deliver()
    assert await tick(h, hours=30) == ""


import pytest  # noqa: E402

from bot.config import load_config  # noqa: E402
from core.deadlines import deadlines_for, due_intents  # noqa: E402
from core.grades import Grade  # noqa: E402
from tests.conftest import EXAMPLE  # noqa: E402
from tests.test_lifecycle import inc as make_incident  # noqa: E402


@pytest.mark.parametrize("grade,claim_minutes,lead_minutes", [("I", 15, 5), ("II", 30, 10), ("III", 120, 30)])
def test_claim_timings_for_each_grade(grade, claim_minutes, lead_minutes):
    from dataclasses import replace
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    cfg = load_config(EXAMPLE)
    tz = ZoneInfo("Asia/Shanghai")
    inc = replace(make_incident(State.NEW), grade=Grade(grade))
    rule = cfg.grades[inc.grade]
    dl = deadlines_for(inc, cfg.grades, tz)
    assert dl.claim - inc.created_at == timedelta(minutes=claim_minutes)

    def kinds(minutes, done=()):
        return [
            i.kind
            for i in due_intents(
                inc,
                dl,
                rule,
                inc.created_at + timedelta(minutes=minutes),
                done=set(done),
                last_activity=inc.created_at,
                muted_until=None,
                tz=tz,
            )
        ]

    assert kinds(claim_minutes - lead_minutes - 1) == []
    assert kinds(claim_minutes - lead_minutes + 1) == ["remind"]
    assert kinds(claim_minutes - lead_minutes + 1, ["claim:pre"]) == []
    assert kinds(claim_minutes + 1, ["claim:pre"]) == ["overdue", "auto_escalate"]
    assert kinds(claim_minutes + 1, ["claim:pre", "claim:due", "auto_escalate"]) == []
