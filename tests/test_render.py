"""One home of rendering: the same incident's timeline reads the same in /show, the 专报, the
casebook and an escalation notice (each leaving out only what its options say); the group
notices; the grade palette."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.grades import Grade
from core.lifecycle import Action
from core.models import Event, State
from core.render import (
    SYSTEM,
    TimelineOptions,
    describe_event,
    level_notice,
    mute_notice,
    regrade_notice,
    render_notice,
    timeline,
    timeline_line,
)
from jobs.casebook import collect_cases
from tests.conftest import HIGH, seed


def _section(text: str, start: str, end: str | None = None) -> list[str]:
    body = text.split(start, 1)[1]
    if end:
        body = body.split(end, 1)[0]
    return [line for line in body.splitlines() if line.strip()]


async def test_one_timeline_across_show_report_casebook_and_notice(make_app):
    h = make_app()
    seed(h, *HIGH)
    seed(h, "转：" + HIGH[0], HIGH[1], source="ycnews")  # a new post: a system event
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/note 1 已联系交通局")
    await h.say("wangmin", "/assign 1 @周岚")
    await h.say("zhoulan", "/escalate 1 网民情绪激烈")
    await h.say("zhoulan", "/judge 1 系公务用车，网民误读")
    await h.say("zhoulan", "/close 1 已回应 交通局已发布情况说明")
    tz = h.app.service.tz

    show = _section(await h.say("liqiang", "/show 1"), "🕒 处置记录：")
    special = _section(await h.say("liqiang", "/report 1"), "二、处置过程：", "三、处置结果")
    (case,) = [
        c
        for c in collect_cases(h.app.db, h.app.config, date(2026, 11, 1), date(2026, 11, 30), tz, include_open=True)
        if c.incident.id == 1
    ]
    casebook = ["  " + timeline_line(e, tz) for e in case.timeline]
    notice = _section(h.app.service._timeline(1), "处置经过：")

    assert show == special == casebook  # no reminders yet: the same options give the same lines
    assert [x for x in special if "新增帖文" not in x][-6:] == notice  # the notice: no new posts, the latest 6
    text = "\n".join(special)
    # where the copies disagreed, every one now says to whom, to which level, and how it closed
    assert "王敏 指派给 周岚" in text and "周岚 升级（第 1 级）：网民情绪激烈" in text
    assert "周岚 申请关闭（待销号）：已回应（交通局已发布情况说明）" in text
    ycnews = h.app.config.source("ycnews").name  # the name users know, not the id
    assert f"{SYSTEM} 新增帖文：来源 {ycnews}" in text and f"{SYSTEM} 发现" in text and "ycnews" not in text
    assert "申请关闭（待销号）" in "\n".join(notice)


def _ev(action, actor=None, to_state=None, **detail):
    return Event(1, 1, datetime(2026, 11, 24, 1, 30, tzinfo=UTC), actor, action, None, to_state, detail)


def test_timeline_options_say_what_is_left_out():
    names = {"liqiang": "李强", "zhoulan": "周岚"}
    events = [
        _ev("opened"),
        _ev("post_added", source="forum"),
        _ev("claim", "liqiang"),
        _ev("reminder", text="请处置"),
        _ev("regraded", **{"from": "III", "to": "II"}),
        _ev("assign", "liqiang", target="zhoulan"),
        _ev("close", "zhoulan", State.CLOSED.value, disposition="已回应"),
    ]
    assert [e.action for e in timeline(events, names)] == [
        "opened",
        "post_added",
        "claim",
        "regraded",
        "assign",
        "close",
    ]
    assert [e.action for e in timeline(events, names, TimelineOptions(people_only=True))] == [
        "claim",
        "assign",
        "close",
    ]
    assert [e.what for e in timeline(events, names, TimelineOptions(skip=frozenset(), last=2))] == [
        "指派给 周岚",
        "关闭",
    ]
    assert describe_event(events[4], names) == ("等级调整", "III → II")
    assert describe_event(events[3], names) == ("提醒", "请处置")
    # a mapping or a function give the same names
    assert timeline(events, names) == timeline(events, lambda p: names.get(p, p))


async def test_group_notices_come_from_one_renderer(two):
    inc = two.incident(1)
    assert render_notice(inc, Action.CLAIM, "李强") == "✋ #1 已由 李强 认领"
    assert render_notice(inc, Action.ASSIGN, "王敏", target="周岚") == "👉 #1 由 王敏 指派给 周岚"
    assert (
        render_notice(inc, Action.NOTE, "李强", text="完成 2", step=(2, "核实")) == "☑️ #1 李强 完成预案第 2 步「核实」"
    )
    assert render_notice(inc, Action.REOPEN, "陈", text="再看", sent_back=True) == "🔁 #1 由 陈 退回（未予销号）：再看"
    assert regrade_notice(1, Grade.III, Grade.II, 3) == "⬆️ #1 等级上调：🟡 III 较大 → 🟠 II 重大（3 个来源）"
    assert (
        level_notice(1, "镇党委书记", "村民聚集", "处置经过：")
        == "⏫ #1 已升级至镇党委书记，请关注：村民聚集\n处置经过："
    )
    assert level_notice(1, "宣传部") == "⏫ #1 已升级至宣传部，请关注"  # facts only: no reason, no timeline
    assert mute_notice(1, "李强", "11-24 18:00") == "🔕 #1 李强 静音了提醒，至 11-24 18:00"
    assert mute_notice(1, "李强", None) == "🔔 #1 李强 取消了静音，恢复提醒"
    assert mute_notice(None, "王敏", None) == "🔔 王敏 取消了全组静音，恢复全部提醒"
    # the service says the same as the renderer
    await two.say("liqiang", "/claim 1")
    assert "✋ #1 已由 李强 认领" in await two.deliver()


def test_one_grade_palette():
    assert [(g.caption, g.colour, g.hex) for g in Grade] == [
        ("I 特别重大", "红", "#d62728"),
        ("II 重大", "橙", "#ff7f0e"),
        ("III 较大", "黄", "#e6c229"),
        ("IV 一般", "蓝", "#1f77b4"),
    ]
    import jobs.charts

    assert not hasattr(jobs.charts, "GRADE_COLOURS")  # the charts take the palette from core.grades
