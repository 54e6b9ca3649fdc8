"""How the team works (issue 14): 研判 (/judge), sign-off (销号) of grade I–II closings,
转办 with follow-up (/transfer, /feedback), and silence without losing anything."""

from __future__ import annotations

from datetime import date

from core.models import State
from jobs.deadlines import sweep
from tests.conftest import HIGH, LOW, seed


async def tick(h, **kw):
    h.app.clock.advance(**kw)
    sweep(h.app.service, h.app.tz)
    return await h.deliver()


def snapshot(h):
    return ([tuple(r) for r in h.app.db.execute("SELECT id, state, assignee, version, disposition, judgement "
                                                 "FROM incidents")],
            h.count("events"), h.count("outbox"))


async def _major(make_app):
    """#1 grade I (two sources), #2 grade IV."""
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    seed(h, *LOW, source="ycnews")
    assert h.incident(1).grade.value == "I" and h.incident(2).grade.value == "IV"
    await h.deliver()
    return h


# ---------------------------------------------------------------------------- 4. 研判

JUDGEMENT = "系公务用车（周末值班），网民误读；热度可控，暂不升级"


async def test_judge_is_audited_and_shown_on_card_show_report_ledger_casebook(make_app, clock):
    from jobs.casebook import collect_cases
    from jobs.ledger import ledger_rows

    h = await _major(make_app)
    await h.say("liqiang", "/claim 1")
    await h.deliver()
    assert await h.say("liqiang", f"/judge 1 {JUDGEMENT}") == ""        # announced in the group
    out = await h.deliver()
    assert f"🧭 #1 李强 研判：{JUDGEMENT}" in out                        # the notice, text as typed
    assert f"研判：{JUDGEMENT}" in out                                   # the card, edited in place
    inc = h.incident(1)
    assert inc.judgement == JUDGEMENT and inc.state is State.CLAIMED
    ev = [r for r in h.app.db.query("SELECT actor, action, detail FROM events WHERE action = 'judge'")]
    assert len(ev) == 1 and ev[0]["actor"] == "liqiang" and JUDGEMENT in ev[0]["detail"]
    # a later assessment replaces it; both stay in the audit log
    await h.say("liqiang", "研判 1 已降温，按 III 级跟踪")
    assert h.incident(1).judgement == "已降温，按 III 级跟踪"
    show = await h.say("liqiang", "/show 1")
    assert "研判：已降温，按 III 级跟踪" in show and f"李强 研判：{JUDGEMENT}" in show
    special = await h.say("chenbuzhang", "/report 1")
    assert "研判意见：已降温，按 III 级跟踪（李强" in special and special.count("已降温，按 III 级跟踪") == 2   # + timeline
    app = h.app
    lo = clock.now.replace(hour=0, minute=0)
    from datetime import timedelta
    rows = {r.id: r for r in ledger_rows(app.db, app.config, lo, lo + timedelta(days=1), app.tz, clock.now)}
    assert rows[1].judgement == "已降温，按 III 级跟踪" and "研判" not in rows[1].notes
    assert rows[2].judgement == ""
    today = clock.now.astimezone(app.tz).date()
    cases = {c.incident.id: c for c in collect_cases(app.db, app.config, today, today, app.tz, include_open=True)}
    assert cases[1].judgement == "已降温，按 III 级跟踪"


async def test_grade_i_cannot_be_closed_without_a_judgement(make_app, clock):
    h = await _major(make_app)
    await h.say("liqiang", "/claim 1")
    await h.deliver()
    before = snapshot(h)
    reply = await h.say("liqiang", "/close 1 已回应 已发布通报")
    assert "#1 是" in reply and "关闭前须先记录研判意见" in reply and "/judge 1" in reply
    assert snapshot(h) == before and await h.deliver() == ""
    # a false positive has nothing to assess; grade IV needs no judgement
    assert await h.say("liqiang", "/close 2 无需处置") == ""
    assert h.incident(2).state is State.CLOSED
    await h.say("liqiang", "/judge 1 属实，已责成交通局说明")
    await h.say("liqiang", "/close 1 已回应 已发布通报")
    assert h.incident(1).state is State.CLOSED


async def test_false_positive_grade_i_closes_without_judgement(make_app, clock):
    h = await _major(make_app)
    assert await h.say("liqiang", "/close 1 误报") == ""
    assert h.incident(1).state is State.CLOSED


async def test_judge_bad_input_and_roles_change_nothing(make_app, clock):
    h = await _major(make_app)
    before = snapshot(h)
    cases = [
        ("liqiang", "/judge", "请提供事件编号。用法：/judge 编号 研判意见"),
        ("liqiang", "/judge 1", "研判意见不能为空"),
        ("liqiang", "/judge 999 属实", "没有编号为 #999 的事件"),
        ("liqiang", "/judge 1234567890123 属实", "不是有效的事件编号"),
        ("liqiang", "/judge 1 " + "长" * 2001, "研判意见过长（2001 字，最多 2000 字）"),
        ("chenbuzhang", "/judge 1 属实", "无权使用 /judge"),
        ("hexiaoyu", "/judge 1 属实", "无权使用 /judge"),
        ("xuanchuan", "/judge 1 属实", "无权使用 /judge"),
        ("nobody", "/judge 1 属实", "还没有登记"),
    ]
    for who, text, expected in cases:
        assert expected in await h.say(who, text), text
    assert snapshot(h) == before and await h.deliver() == ""
    await h.say("liqiang", "/close 2 无需处置")
    assert "#2 已关闭" in await h.say("liqiang", "/judge 2 属实")
    # in a group, the Chinese word counts only with a number after it
    from handlers.commands import parse
    assert parse("研判一下这个事", private=False) is None
    assert parse("研判 12 属实，热度可控", private=False) == ("judge", "12 属实，热度可控")
    assert "/judge 编号 研判意见" in await h.say("liqiang", "/help")


async def test_judge_replying_to_the_card(make_app, clock):
    h = await _major(make_app)
    assert await h.say("zhoulan", "/judge 初步判断为个人情绪宣泄", reply_to=1) == ""
    assert h.incident(1).judgement == "初步判断为个人情绪宣泄"


async def test_facts_only_partner_does_not_see_the_judgement_in_show(make_app, clock):
    h = await _major(make_app)
    await h.say("liqiang", "/judge 1 内部研判：涉事干部此前有类似反映")
    for _ in range(3):
        await h.say("wangmin", "/escalate 1")
    show = await h.say("xuanchuan", "/show 1")
    assert "#1" in show and "内部研判" not in show
