"""Outside-QA defects found driving the duty rota (值班): set, change, clear; who hears."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from core.config import Duty
from core.deadlines import deadlines_for
from core.duty import on_duty, shifts_from
from core.errors import ConfigError
from jobs.deadlines import sweep
from jobs.report import build_report
from tests.conftest import HIGH, seed
from tests.test_duty_transfer import _with_rota

SH = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize("shift", ["4d", "7d", "14d"])
def test_a_long_shift_ends_and_resumes_at_an_override_inside_it(shift):
    # a weekly rota (shift = "7d") with one day taken by someone else in the middle of the week:
    # /duty must say the shift ends at that day's handover and name the override next, and on
    # the day after, that the shift resumed at the override's end
    duty = Duty(rotation=["a", "b"], start=date(2026, 11, 23), shift=shift)
    overrides = {date(2026, 11, 25): "x"}
    now, nxt, after = shifts_from(duty, overrides, local(2026, 11, 23, 10), SH, 3)
    assert (now.person, now.end) == ("a", local(2026, 11, 25, 8, 30))
    assert (nxt.person, nxt.override, nxt.end) == ("x", True, local(2026, 11, 26, 8, 30))
    assert (after.person, after.start) == ("a", local(2026, 11, 26, 8, 30))
    later = on_duty(duty, overrides, local(2026, 11, 26, 12), SH)
    assert (later.person, later.start) == ("a", local(2026, 11, 26, 8, 30))


# ---------------------------------------------------------------------------- who may be on duty


@pytest.mark.parametrize(
    "line,where",
    [
        ('duty = { rotation = ["zhoulan", "xuanchuan"], start = "2026-11-23" }', "organization.duty.rotation[1]"),
        ('duty = { rotation = ["hexiaoyu"], start = "2026-11-23" }', "organization.duty.rotation[0]"),
        (
            'duty = { rotation = ["zhoulan"], start = "2026-11-23", overrides = { 2026-11-27 = "xuanchuan" } }',
            "organization.duty.overrides.2026-11-27",
        ),
    ],
)
def test_a_partner_or_officer_in_the_rota_stops_start_up(config_dir, line, where):
    # /duty refuses them (不能值班); the config put a partner department on duty, who then got
    # every claim reminder of the team privately
    with pytest.raises(ConfigError) as e:
        load_config(_with_rota(config_dir, line))
    assert where in str(e.value) and "不能值班" in str(e.value)


@pytest.mark.parametrize(
    "change",
    [
        ('id = "wangmin"\nname = "王敏"\nrole = "admin"', 'id = "wangmin"\nname = "王敏"\nrole = "officer"'),
        ('id = "wangmin"\nname = "王敏"', 'id = "wangmin2"\nname = "王敏2"'),  # gone from the config
    ],
    ids=["no longer staff", "left"],
)
async def test_a_stored_shift_of_someone_who_may_no_longer_serve_falls_back_to_the_rota(
    make_app, config_dir, clock, change
):
    path = _with_rota(config_dir)
    h = make_app(load_config(path))
    assert await h.say("chenbuzhang", "/duty 今天 @王敏", chat="chenbuzhang") == "已安排：11-24 值班员为 王敏。"
    assert "当前值班：王敏" in await h.say("chenbuzhang", "/duty")
    h.app.close()
    path.write_text(path.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    h = make_app(load_config(path))  # the same database, the changed people
    assert "当前值班：李强（11-24 08:30 至 11-25 08:30）" in await h.say("chenbuzhang", "/duty")
    seed(h, *HIGH)  # grade II at 11-24 10:00: claim by 10:30, in 11-24's shift (the stored 王敏's)
    await h.deliver()
    clock.now = deadlines_for(h.incident(1), h.app.config.grades, h.app.tz).claim - timedelta(minutes=5)
    sweep(h.app.service, h.app.tz)
    out = await h.deliver()
    assert "（值班员 李强）" in out and "【私聊 → 李强】" in out and "王敏" not in out
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.duty_officer == "李强"


# ---------------------------------------------------------------------------- dates as typed


async def test_a_month_day_just_past_is_refused_not_booked_for_next_year(make_app, config_dir, clock):
    # 11-24: "/duty 11-23" (yesterday, a slip) was booked for 2027-11-23 and announced as "11-23"
    h = make_app(load_config(_with_rota(config_dir)))
    out = await h.say("liqiang", "/duty 11-23")
    assert "已经过去" in out and h.count("duty_overrides") == 0
    assert "已经过去" in await h.say("liqiang", "/duty １１月２３日") and h.count("duty_overrides") == 0


async def test_a_month_day_across_new_year_is_next_year_and_says_so(make_app, config_dir, clock):
    clock.now = datetime(2026, 12, 28, 2, 0, tzinfo=SH) + timedelta(hours=8)  # 12-28 10:00 local
    h = make_app(load_config(_with_rota(config_dir)))
    assert await h.say("chenbuzhang", "/duty 1-2 @周岚", chat="chenbuzhang") == "已安排：2027-01-02 值班员为 周岚。"
    assert "2027-01-02 值班员为 周岚" in await h.deliver()
    assert h.app.db.execute("SELECT day FROM duty_overrides").fetchone()[0] == "2027-01-02"
    assert await h.say("chenbuzhang", "/duty 12-30 @周岚", chat="chenbuzhang") == "已安排：12-30 值班员为 周岚。"


# ---------------------------------------------------------------------------- the 日报's 值班员


async def test_the_daily_report_names_everyone_on_duty_that_day_with_shorter_shifts(make_app, config_dir, clock):
    # 12-hour shifts: 周岚 08:30–20:30, 李强 20:30–08:30. The 日报 named only the shift at the
    # handover (周岚) though 李强 held the night
    line = 'duty = { rotation = ["zhoulan", "liqiang"], start = "2026-11-23", shift = "12h", handover = "08:30" }'
    h = make_app(load_config(_with_rota(config_dir, line)))
    r = build_report(h.app.db, h.app.config, "yesterday", clock(), h.app.tz)
    assert r.duty_officer == "周岚、李强"
    # a day taken whole by an override is one name
    assert "已安排" in await h.say("chenbuzhang", "/duty 今天 @王敏", chat="chenbuzhang")
    assert build_report(h.app.db, h.app.config, "today", clock(), h.app.tz).duty_officer == "王敏"


@pytest.mark.parametrize("when", ["25:00", "20:00-08:00", "２０：００", "8点", "20:00~24:00"])
async def test_a_time_of_day_after_the_date_is_explained_not_taken_for_a_name(make_app, config_dir, clock, when):
    # "/duty 11-27 25:00" answered 配置中没有成员“25:00”: the rota is by day, say so
    h = make_app(load_config(_with_rota(config_dir)))
    out = await h.say("chenbuzhang", f"/duty 11-27 {when}", chat="chenbuzhang")
    assert "按天安排" in out and "08:30" in out and "成员" not in out, out
    assert h.count("duty_overrides") == 0


# ---------------------------------------------------------------------------- clearing a change


async def test_a_shift_change_can_be_undone_back_to_the_rota(make_app, config_dir, clock):
    # an assignment could only be replaced by another person, never cleared: the day stayed
    # 调班 for good. `/duty DAY 轮值` (取消, clear) gives it back to the rotation, audited
    h = make_app(load_config(_with_rota(config_dir)))  # 11-25 is 周岚's turn
    assert "已安排" in await h.say("chenbuzhang", "/duty 11-25 @王敏", chat="chenbuzhang")
    assert "下一班：王敏" in await h.say("chenbuzhang", "/duty")
    # staff may give back only a shift that is theirs
    out = await h.say("liqiang", "/duty 11-25 轮值")
    assert "只能" in out and "下一班：王敏" in await h.say("chenbuzhang", "/duty")
    assert await h.say("chenbuzhang", "/duty 11-25 取消", chat="chenbuzhang") == "已恢复轮值：11-25 值班员为 周岚。"
    assert "下一班：周岚（11-25 08:30 至 11-26 08:30）" in await h.say("chenbuzhang", "/duty")
    assert "🗓 陈副部长 取消调班：11-25 恢复轮值，值班员为 周岚" in await h.deliver()
    assert h.count("duty_overrides") == 2  # the change and its undoing: both kept
    assert (
        await h.say("chenbuzhang", "/duty 11-25 取消", chat="chenbuzhang") == "11-25 没有调班，值班员为 周岚（轮值）。"
    )
    # a staff member gives back the shift they took
    assert await h.say("liqiang", "/duty 11-27") == ""
    assert await h.say("liqiang", "/duty 11-27 clear") == ""
    assert "李强 取消调班：11-27 恢复轮值，值班员为 周岚" in await h.deliver()
    out = await h.say("chenbuzhang", "/duty 11-28 轮值", chat="chenbuzhang")
    assert out == "11-28 没有调班，值班员为 李强（轮值）。" and h.count("duty_overrides") == 4


async def test_today_and_tomorrow_are_calendar_days_before_the_morning_handover(make_app, config_dir, clock):
    # at 07:00 on 11-25 the night shift (11-24's, until 08:30) is on; "/duty 今天 @王敏" booked
    # 11-24 — the date the leader sees in the reply is yesterday's — and 明天 booked today
    clock.now = local(2026, 11, 25, 7, 0)
    h = make_app(load_config(_with_rota(config_dir)))
    assert await h.say("chenbuzhang", "/duty 今天 @王敏", chat="chenbuzhang") == "已安排：11-25 值班员为 王敏。"
    assert await h.say("chenbuzhang", "/duty 明天 @王敏", chat="chenbuzhang") == "已安排：11-26 值班员为 王敏。"
    # the shift on now (11-24's) can still be changed by its date
    assert await h.say("chenbuzhang", "/duty 11-24 @王敏", chat="chenbuzhang") == "已安排：11-24 值班员为 王敏。"
    assert "当前值班：王敏（11-24 08:30 至 11-25 08:30，调班）" in await h.say("chenbuzhang", "/duty")


async def test_the_people_a_shift_change_concerns_are_told_privately(make_app, config_dir, clock):
    # a leader puts 王敏 on 11-25 (周岚's turn) from a private chat: only the groups heard of it;
    # 王敏, who now has the shift, and 周岚, who no longer has it, were not told
    h = make_app(load_config(_with_rota(config_dir)))
    await h.say("chenbuzhang", "/duty 11-25 @王敏", chat="chenbuzhang")
    out = await h.deliver()
    assert "【私聊 → 王敏】🗓 陈副部长 安排你 11-25 值班（11-25 08:30 至 11-26 08:30）" in out
    assert "【私聊 → 周岚】🗓 陈副部长 调整值班：11-25 值班员为 王敏（原为 周岚）" in out
    assert "【私聊 → 陈副部长】" not in out
    await h.say("chenbuzhang", "/duty 11-25 轮值", chat="chenbuzhang")
    out = await h.deliver()
    assert "【私聊 → 王敏】🗓 陈副部长 取消调班：11-25 恢复轮值，值班员为 周岚（原为 王敏）" in out
    assert "【私聊 → 周岚】🗓 陈副部长 安排你 11-25 值班（11-25 08:30 至 11-26 08:30）" in out
    # taking one's own shift tells the person whose turn it was, not oneself
    await h.say("liqiang", "/duty 11-27")
    out = await h.deliver()
    assert "【私聊 → 周岚】🗓 李强 接班：11-27 值班员为 李强（原为 周岚）" in out and "私聊 → 李强" not in out


# ---------------------------------------------------------------------------- the handover


async def test_the_person_taking_over_hears_what_waits_unclaimed(make_app, config_dir, clock):
    # #1 (grade II) went unclaimed on 李强's day: the duty notice and the auto-escalation went to
    # him; at the 08:30 handover 周岚 took over and heard nothing of it
    h = make_app(load_config(_with_rota(config_dir)))
    seed(h, *HIGH)
    await h.app._deadline_job()  # 11-24 10:00, 李强's shift: the first look records it
    for _ in range(3):
        clock.advance(minutes=20)
        await h.app._deadline_job()
    out = await h.deliver()
    assert "请值班员处理：李强" in out and "交班" not in out
    clock.now = local(2026, 11, 25, 8, 31)
    await h.app._deadline_job()
    out = await h.deliver()
    assert "【私聊 → 周岚】🗓 交班：你现在值班（11-25 08:30 至 11-26 08:30）。无人认领的事件 1 起：" in out, out
    assert "#1 [II]" in out and "私聊 → 李强】🗓 交班" not in out
    clock.advance(minutes=1)
    await h.app._deadline_job()
    assert "交班" not in await h.deliver()  # once a shift
