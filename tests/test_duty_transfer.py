"""Issue 14, items 6 and 7: the duty rota (值班) and 转办 with follow-up (待反馈)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from core.config import Duty
from core.deadlines import OVERDUE_LABELS, deadlines_for, missed_deadlines, next_deadline
from core.duty import on_duty, shifts_from
from core.errors import ConfigError
from core.models import State
from jobs.deadlines import sweep
from tests.conftest import HIGH, LOW, seed

SH = ZoneInfo("Asia/Shanghai")
ROTA = 'duty = { rotation = ["zhoulan", "liqiang"], start = "2026-11-23", shift = "1d", handover = "08:30" }'


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


# ---------------------------------------------------------------------------- the rota itself


def test_rotation_hands_over_at_the_handover_time():
    duty = Duty(rotation=["zhoulan", "liqiang"], start=date(2026, 11, 23))
    assert on_duty(duty, {}, local(2026, 11, 23, 8, 30), SH).person == "zhoulan"
    assert on_duty(duty, {}, local(2026, 11, 24, 8, 29), SH).person == "zhoulan"  # before handover: yesterday's
    s = on_duty(duty, {}, local(2026, 11, 24, 8, 30), SH)
    assert (s.person, s.start, s.end) == ("liqiang", local(2026, 11, 24, 8, 30), local(2026, 11, 25, 8, 30))
    assert on_duty(duty, {}, local(2026, 11, 25, 12), SH).person == "zhoulan"
    assert on_duty(duty, {}, local(2026, 11, 22, 12), SH).person == "liqiang"  # before start: the turn continues
    assert on_duty(None, {}, local(2026, 11, 25, 12), SH) is None


def test_override_by_date_and_the_next_shift():
    duty = Duty(rotation=["zhoulan", "liqiang"], start=date(2026, 11, 23))
    overrides = {date(2026, 11, 25): "wangmin"}
    now, nxt, after = shifts_from(duty, overrides, local(2026, 11, 24, 10), SH, 3)
    assert (now.person, now.override) == ("liqiang", False)
    assert (nxt.person, nxt.override, nxt.start) == ("wangmin", True, local(2026, 11, 25, 8, 30))
    assert (after.person, after.start) == ("liqiang", local(2026, 11, 26, 8, 30))


def test_short_shifts_are_cut_at_an_override():
    duty = Duty(rotation=["a", "b", "c"], start=date(2026, 11, 23), shift="16h", handover="08:00")
    s = on_duty(duty, {date(2026, 11, 24): "x"}, local(2026, 11, 24, 7), SH)
    # the rotation shift 11-23 08:00 + 16h = 11-24 00:00 .. 16:00 would run into the override at 08:00
    assert (s.person, s.start, s.end) == ("b", local(2026, 11, 24, 0), local(2026, 11, 24, 8))


@pytest.mark.parametrize(
    "duty,where,zh",
    [
        ('duty = { rotation = ["nobody"], start = "2026-11-23" }', "organization.duty.rotation[0]", "没有 id 为"),
        ("duty = { rotation = [], start = \"2026-11-23\" }", "organization.duty.rotation", "值班轮换名单不能为空"),
        (
            'duty = { rotation = ["zhoulan"], start = "2026-11-23", shift = "0m" }',
            "organization.duty.shift",
            "班次时长须大于 0",
        ),
        (
            'duty = { rotation = ["zhoulan"], start = "2026-11-23", shift = "soon" }',
            "organization.duty.shift",
            "时长格式",
        ),
        (
            'duty = { rotation = ["zhoulan"], start = "2026-11-23", handover = "8点半" }',
            "organization.duty.handover",
            "交班时间",
        ),
        (
            'duty = { rotation = ["zhoulan"], start = "2026-11-23", overrides = { 2026-11-27 = "ghost" } }',
            "organization.duty.overrides.2026-11-27",
            "没有 id 为 'ghost'",
        ),
    ],
)
def test_bad_rota_is_a_bilingual_config_error(config_dir, duty, where, zh):
    path = _with_rota(config_dir, duty)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    text = e.value.render()
    assert where in text and zh in text and " / " in text, text


def _with_rota(config_dir, line: str = ROTA):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace('[organization]\n', f"[organization]\n{line}\n", 1), encoding="utf-8")
    return p


@pytest.fixture
def rota(config_dir):
    return load_config(_with_rota(config_dir))


# ---------------------------------------------------------------------------- /duty


async def test_duty_shows_now_and_next(make_app, rota, clock):
    h = make_app(rota)  # 2026-11-24 10:00 local: liqiang's day, then zhoulan's
    out = await h.say("chenbuzhang", "/duty")
    assert "当前值班：李强（11-24 08:30 至 11-25 08:30）" in out and "下一班：周岚（11-25 08:30" in out
    assert "当前值班：李强" in await h.say("zhoulan", "值班")


async def test_daily_report_names_the_duty_officer(make_app, rota, clock):
    from jobs.report import build_report, render_report

    h = make_app(rota)
    await h.say("wangmin", "/duty 2026-11-25 王敏")
    r = build_report(h.app.db, h.app.config, "today", clock.now, h.app.tz)
    assert "值班员：李强" in render_report(r, h.app.tz)
    clock.advance(days=1)
    r = build_report(h.app.db, h.app.config, "today", clock.now, h.app.tz)
    assert r.duty_officer == "王敏"  # the override
    assert build_report(h.app.db, h.app.config, "week", clock.now, h.app.tz).duty_officer == ""


async def test_duty_without_rota(make_app):
    h = make_app()
    assert "尚未配置值班表" in await h.say("liqiang", "/duty")


async def test_staff_take_their_own_shift_leaders_assign_anyone(make_app, rota, clock):
    h = make_app(rota)
    before = h.count("duty_overrides")
    # staff: only themselves
    reply = await h.say("liqiang", "/duty swap 2026-11-25 @周岚")
    assert "只能为自己接班" in reply and h.count("duty_overrides") == before
    assert await h.say("liqiang", "/duty 2026-11-25") == ""  # announced in the group
    assert "🗓 李强 接班：11-25 值班员为 李强" in await h.deliver()
    assert "下一班：李强（11-25 08:30 至 11-26 08:30，调班）" in await h.say("zhoulan", "/duty")
    # a leader assigns anyone, from a private chat; the latest override wins; audited with who and when
    reply = await h.say("chenbuzhang", "/duty 11-25 王敏", chat="@chenbuzhang")
    assert "已安排：11-25 值班员为 王敏" in reply
    assert "🗓 陈副部长 调整值班：11-25 值班员为 王敏" in await h.deliver()
    assert "下一班：王敏" in await h.say("zhoulan", "/duty")
    rows = [tuple(r) for r in h.app.db.execute("SELECT day, person_id, by FROM duty_overrides ORDER BY id")]
    assert rows == [("2026-11-25", "liqiang", "liqiang"), ("2026-11-25", "wangmin", "chenbuzhang")]


async def test_duty_bad_input_and_roles_change_nothing(make_app, rota, clock):
    h = make_app(rota)
    cases = [
        ("liqiang", "/duty 明年", "不是有效的日期"),
        ("liqiang", "/duty 2026-13-40", "不是有效的日期"),
        ("liqiang", "/duty 2026-11-20", "已经过去"),
        ("wangmin", "/duty 2026-11-27 @nobody", "配置中没有成员"),
        ("wangmin", "/duty 2026-11-27 xuanchuan", "不能值班"),
        ("wangmin", "/duty 2026-11-27 王敏 多余", "多余的参数"),
        ("hexiaoyu", "/duty", "无权使用 /duty"),
        ("xuanchuan", "/duty 2026-11-27", "无权使用 /duty"),
    ]
    for who, text, expected in cases:
        assert expected in await h.say(who, text), text
    assert h.count("duty_overrides") == 0 and await h.deliver() == ""


# ---------------------------------------------------------------------------- the on-duty person first


async def test_claim_reminder_and_first_auto_escalation_go_to_the_on_duty_person(make_app, rota, clock):
    h = make_app(rota)
    seed(h, *LOW, source="ycnews")  # grade IV: claim by next workday 09:00
    inc = h.incident(1)
    await h.deliver()
    dl = deadlines_for(inc, h.app.config.grades, h.app.tz)
    clock.now = dl.claim - timedelta(minutes=10)
    sweep(h.app.service, h.app.tz)
    out = await h.deliver()
    assert "距认领时限还有" in out and "（值班员 周岚）" in out  # 11-25 09:00 is zhoulan's day
    assert "【私聊 → 周岚】⏳ #1 距认领时限还有" in out  # privately too
    clock.now = dl.claim + timedelta(minutes=1)
    sweep(h.app.service, h.app.tz)
    out = await h.deliver()
    assert "请值班员处理：周岚" in out and h.incident(1).escalation_level == 0  # not yet the chain
    clock.now = dl.claim + timedelta(minutes=16)  # escalate_after (15m) later: the chain's first role
    sweep(h.app.service, h.app.tz)
    await h.deliver()
    assert h.incident(1).escalation_level == 1 and h.incident(1).state is State.ESCALATED


async def test_without_rota_auto_escalation_is_unchanged(make_app, clock):
    h = make_app()
    seed(h, *LOW, source="ycnews")
    dl = deadlines_for(h.incident(1), h.app.config.grades, h.app.tz)
    clock.now = dl.claim + timedelta(minutes=1)
    sweep(h.app.service, h.app.tz)
    assert h.incident(1).escalation_level == 1


# ---------------------------------------------------------------------------- 转办


async def test_transfer_to_a_free_text_unit_waits_for_feedback(make_app, clock):
    h = make_app()
    seed(h, *LOW, source="ycnews")
    await h.say("liqiang", "/claim 1")
    await h.deliver()
    assert await h.say("liqiang", "/transfer 1 市交通运输局 3d 请核实并反馈处置情况") == ""
    out = await h.deliver()
    inc = h.incident(1)
    assert inc.state is State.AWAITING_FEEDBACK and inc.transfer_unit == "市交通运输局"
    assert inc.feedback_due_at == clock.now + timedelta(days=3)
    assert "📨 #1 由 李强 转办至 市交通运输局，11-27 10:00前反馈：请核实并反馈处置情况" in out
    assert "请将以下工作联系单转交 市交通运输局" in out and "📨 工作联系单" in out and "请协助：请核实" in out
    assert "待反馈" in await h.say("liqiang", "/list 待反馈")
    assert "转办至 市交通运输局：11-27 10:00前反馈，请核实并反馈处置情况" in await h.say("liqiang", "/show 1")
    # overdue feedback reminds like any deadline, and counts as 反馈超时
    clock.now = inc.feedback_due_at + timedelta(minutes=1)
    dl = deadlines_for(h.incident(1), h.app.config.grades, h.app.tz)
    assert ("feedback", inc.feedback_due_at) in missed_deadlines(h.incident(1), dl, clock.now)
    sweep(h.app.service, h.app.tz)
    assert "⏰ #1 已超过反馈时限" in await h.deliver()
    assert OVERDUE_LABELS["feedback"] == "反馈超时"

    # the reply: back to handling; the due date is cleared
    assert await h.say("liqiang", "反馈 1 交通局已核实，系正常公务") == ""
    out = await h.deliver()
    assert "📬 #1 李强 记录市交通运输局反馈：交通局已核实，系正常公务" in out
    inc = h.incident(1)
    assert inc.state is State.CLAIMED and inc.feedback_due_at is None and inc.transfer_unit == "市交通运输局"
    assert next_deadline(inc, deadlines_for(inc, h.app.config.grades, h.app.tz), clock.now)[0] != "反馈时限"
    await h.say("liqiang", "/close 1 已转办 交通局已处理")
    assert h.incident(1).state is State.CLOSED
    # the ledger: the unit in its own column, the 转办 and its 反馈 in 处置说明
    from jobs.ledger import ledger_rows

    lo = clock.now - timedelta(days=7)
    (row,) = ledger_rows(h.app.db, h.app.config, lo, clock.now, h.app.tz, clock.now)
    assert row.transfer_unit == "市交通运输局" and row.disposition == "已转办"
    assert row.summary.splitlines() == [
        "交通局已处理",
        "转办 市交通运输局，11-27 10:00前反馈：请核实并反馈处置情况",
        "市交通运输局反馈：交通局已核实，系正常公务",
    ]


async def test_transfer_to_a_partner_sends_the_facts_only_slip(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/judge 1 内部研判：属实")
    await h.deliver()
    await h.say("liqiang", "/transfer 1 市委宣传部网评办 2026-11-30 请协助发布权威信息")
    out = await h.deliver()
    partner = [b for b in out.split("【私聊 → 市委宣传部网评办】")[1:] if "工作联系单" in b]
    assert partner and "请于 11-30 18:00 前反馈" in partner[0] and "内部研判" not in partner[0]
    assert "请将以下工作联系单转交" not in out
    ev = h.app.db.execute("SELECT detail FROM events WHERE action = 'transfer'").fetchone()[0]
    assert '"sent":true' in ev
    # the 工作联系单 as a Word file too, in the same frame as the reports, facts only
    import json

    from docx import Document

    (payload,) = [
        json.loads(r[0])
        for r in h.app.db.execute("SELECT payload FROM outbox WHERE chat = '@xuanchuan' AND payload LIKE '%document%'")
    ]
    doc = Document(payload["document"])
    texts = [p.text for p in doc.paragraphs]
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    assert "工作联系单" in texts and "致：市委宣传部网评办" in texts
    assert (
        "请协助事项：请协助发布权威信息" in texts
        and "反馈时限：请于 11-30 18:00 前将办理情况反馈云川市委组织部。" in texts
    )
    assert not any("内部研判" in t for t in texts)


async def test_transfer_and_feedback_bad_input_and_roles_change_nothing(make_app, clock):
    h = make_app()
    seed(h, *LOW, source="ycnews")
    await h.deliver()
    before = (h.count("events"), h.count("outbox"))
    cases = [
        ("liqiang", "/transfer 1", "请写明承办单位和反馈期限"),
        ("liqiang", "/transfer 1 交通局", "请写明承办单位和反馈期限"),
        ("liqiang", "/transfer 1 交通局 明年", "不是有效的反馈期限"),
        ("liqiang", "/transfer 1 交通局 0h", "不是有效的反馈期限"),
        ("liqiang", "/transfer 1 交通局 2026-11-20", "不是有效的反馈期限"),
        ("liqiang", "/transfer 9 交通局 3d", "没有编号为 #9"),
        ("liqiang", "/feedback 1 已办", "没有待反馈的转办"),
        ("liqiang", "/feedback 1", "反馈内容不能为空"),
        ("chenbuzhang", "/transfer 1 交通局 3d", "无权使用 /transfer"),
        ("xuanchuan", "/feedback 1 已办", "无权使用 /feedback"),
    ]
    for who, text, expected in cases:
        assert expected in await h.say(who, text), text
    assert (h.count("events"), h.count("outbox")) == before


def test_feedback_deadline_is_a_deadline(clock):
    from dataclasses import replace

    from bot.config import load_config as lc
    from core.deadlines import next_due
    from tests.conftest import EXAMPLE
    from tests.test_lifecycle import inc as make

    grades = lc(EXAMPLE).grades
    due = datetime(2026, 11, 27, 2, tzinfo=UTC)
    i = replace(make(State.AWAITING_FEEDBACK, "a"), feedback_due_at=due)
    dl = deadlines_for(i, grades, SH)
    assert dl.feedback == due
    assert (
        next_due(i, dl, grades[i.grade], due - timedelta(hours=1), last_activity=i.created_at, muted_until=None) <= due
    )
    # the due date counts only while waiting
    assert deadlines_for(replace(i, state=State.CLAIMED), grades, SH).feedback is None


async def test_daily_report_docx_names_the_duty_officer(make_app, rota, clock):
    from docx import Document

    from handlers.base import Request

    h = make_app(rota)
    replies = await h.app.handle(
        Request(platform="console", chat="监测群", user_id="liqiang", text="/report today docx")
    )
    texts = [p.text for p in Document(replies[0].document).paragraphs]
    assert "值班员：李强" in texts
