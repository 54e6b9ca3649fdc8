"""Overdue means past ANY deadline of the incident's grade that it has not met — claim, first
authoritative response, full response — in cards and reports alike, also after auto-escalation."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.config import load_config
from core.clock import parse_duration
from core.incidents import Actor
from core.lifecycle import Action
from core.models import Disposition, Role, State
from jobs.deadlines import sweep
from jobs.report import build_report, render_report
from tests.conftest import seed

LI = Actor("liqiang", "李强", Role.STAFF)

STORIES = [
    ("网友实名举报市交通运输局局长张建国公车私用", "有网友曝光张建国周末开公车去青石镇钓鱼。"),
    ("江北区副区长刘海燕被指推诿群众诉求", "多名群众反映刘海燕对信访事项敷衍推诿。"),
    ("市人社局考试中心主任赵明远被举报考试作弊", "考生质疑赵明远在事业单位招聘笔试中内定人选。"),
    ("市委组织部发布干部任前公示引发讨论", "网友对拟提拔人选的任职经历提出疑问。"),
    ("南湖区村两委换届选举被指有黑幕", "南湖区多名党员投诉换届选举程序不公开。"),
    ("青石镇干部大吃大喝被曝光", "青石镇某干部工作日中午大吃大喝，网友愤怒。"),
]


def uniform_deadlines(config_dir, claim="30m", first="5h", full="24h"):
    """The example config with the same deadlines for every grade (so the test does not depend
    on which grade a story gets)."""
    path = config_dir / "example.toml"
    out, in_grade = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            in_grade = bool(re.match(r"\[grades\.(I|II|III|IV)\]", line))
            out.append(line)
            if in_grade:
                out += [
                    f'claim = "{claim}"',
                    f'first_response = "{first}"',
                    f'full_response = "{full}"',
                    'remind_before = "5m"',
                ]
            continue
        if in_grade and re.match(r"(claim|first_response|full_response|remind_before)\s*=", line):
            continue
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return load_config(path)


def card(h, iid) -> str:
    from core.render import card_text

    return card_text(h.app.render(h.incident(iid)))


async def test_report_and_cards_count_every_missed_deadline(make_app, clock, config_dir):
    h = make_app(uniform_deadlines(config_dir))
    t0 = clock()
    # #1: claimed at once, found 25 h before the report -> past full response (24 h)
    assert seed(h, *STORIES[0]).created
    h.app.service.act(1, Action.CLAIM, LI)
    # #2: claimed at once, found 6 h before -> past first response (5 h), not full
    clock.advance(hours=19)
    assert seed(h, *STORIES[1]).created
    h.app.service.act(2, Action.CLAIM, LI)
    # #3, #4: found 1 h before, never claimed -> past claim (30 min) and auto-escalated
    clock.advance(hours=5)
    assert seed(h, *STORIES[2]).created
    assert seed(h, *STORIES[3]).created
    # #5: found 1 h before and claimed -> nothing missed; #6 closed -> not open
    assert seed(h, *STORIES[4]).created
    h.app.service.act(5, Action.CLAIM, LI)
    assert seed(h, *STORIES[5]).created
    h.app.service.act(6, Action.CLAIM, LI)
    h.app.service.act(6, Action.CLOSE, LI, disposition=Disposition.NO_ACTION)
    for _ in range(6):  # the deadline sweep runs every minute
        clock.advance(minutes=10)
        sweep(h.app.service, h.app.tz)
    assert clock() == t0 + timedelta(hours=25)
    assert h.incident(3).state is State.ESCALATED and h.incident(3).assignee is None
    assert h.incident(4).state is State.ESCALATED

    r = build_report(h.app.db, h.app.config, "week", clock(), h.app.tz)
    assert r.open_now == 5
    assert r.overdue_now == [1, 2, 3, 4]
    assert r.overdue_by_kind == {"claim": 2, "first": 1, "full": 1}
    text = render_report(r, h.app.tz)
    assert "当前未结：5 起；其中超时 4 起（认领超时 2、首次回应超时 1、办结超时 1）：#1、#2、#3、#4" in text

    # the cards say the same, naming the deadline missed
    assert "完整回应时限" in card(h, 1) and "⚠️已超时" in card(h, 1)
    assert "首次权威发布时限" in card(h, 2) and "⚠️已超时" in card(h, 2)
    for iid in (3, 4):
        assert "认领时限" in card(h, iid) and "⚠️已超时" in card(h, iid)
    assert "⚠️已超时" not in card(h, 5) and "首次权威发布时限" in card(h, 5)
    assert "⚠️已超时" not in card(h, 6)
    shown = await h.say("liqiang", "/show 3")
    assert "⚠️已超时" in shown


async def test_all_open_incidents_auto_escalated_are_all_overdue(make_app, clock, config_dir):
    """The issue's case: every open incident unclaimed past its claim deadline and auto-escalated."""
    h = make_app(uniform_deadlines(config_dir, claim="15m", first="5h", full="24h"))
    for story in STORIES:
        assert seed(h, *story).created
    for _ in range(3):
        clock.advance(minutes=10)
        sweep(h.app.service, h.app.tz)
    assert all(h.incident(i).state is State.ESCALATED for i in range(1, 7))
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_now == [1, 2, 3, 4, 5, 6]
    assert "其中超时 6 起（认领超时 6）" in render_report(r, h.app.tz)
    # claiming one meets its claim deadline; it is no longer overdue until its first response is due
    h.app.service.act(2, Action.CLAIM, LI)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_now == [1, 3, 4, 5, 6]
    clock.advance(hours=5)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_by_kind == {"first": 6}
    assert "其中超时 6 起（首次回应超时 6）" in render_report(r, h.app.tz)


async def test_claimed_incident_past_first_response_is_overdue_on_the_default_grades(make_app, clock):
    """With the shipped grade table: a claimed incident of any grade with a first-response
    deadline is overdue once that passes, although its full-response deadline is still ahead."""
    h = make_app()
    assert seed(h, *STORIES[0]).created
    h.app.service.act(1, Action.CLAIM, LI)
    rule = h.app.config.grades[h.incident(1).grade]
    assert rule.first_response  # the shipped grades I-III all have one
    clock.advance(seconds=parse_duration(rule.first_response).total_seconds() + 60)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_now == [1] and r.overdue_by_kind == {"first": 1}
    assert "⚠️已超时" in card(h, 1)
