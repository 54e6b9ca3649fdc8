"""How the team works (issue 14): 研判 (/judge), sign-off (销号) of grade I–II closings,
转办 with follow-up (/transfer, /feedback), and silence without losing anything."""

from __future__ import annotations

from core.models import State
from jobs.deadlines import sweep
from tests.conftest import HIGH, LOW, seed


async def tick(h, **kw):
    h.app.clock.advance(**kw)
    sweep(h.app.service, h.app.tz)
    return await h.deliver()


def snapshot(h):
    return (
        [
            tuple(r)
            for r in h.app.db.execute("SELECT id, state, assignee, version, disposition, judgement FROM incidents")
        ],
        h.count("events"),
        h.count("outbox"),
    )


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
    assert await h.say("liqiang", f"/judge 1 {JUDGEMENT}") == ""  # announced in the group
    out = await h.deliver()
    assert f"🧭 #1 李强 研判：{JUDGEMENT}" in out  # the notice, text as typed
    assert f"研判：{JUDGEMENT}" in out  # the card, edited in place
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
    assert (
        "研判意见：已降温，按 III 级跟踪（李强" in special and special.count("已降温，按 III 级跟踪") == 2
    )  # + timeline
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
    assert h.incident(1).state is State.PENDING_SIGNOFF  # and now it waits for 销号 (item 8)


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


# ---------------------------------------------------------------------------- 8. 销号


async def _pending(make_app):
    h = await _major(make_app)
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/judge 1 属实，已责成交通局说明")
    await h.deliver()
    assert await h.say("liqiang", "/close 1 已回应，交通局已发布情况说明") == ""
    return h


async def test_staff_closing_grade_i_waits_for_a_leaders_signoff(make_app, clock):
    h = await _pending(make_app)
    inc = h.incident(1)
    assert inc.state is State.PENDING_SIGNOFF and inc.closed_at is None
    assert (inc.disposition.value, inc.summary) == ("已回应", "交通局已发布情况说明")
    out = await h.deliver()
    assert "📮 #1 李强 申请关闭，处置：已回应（交通局已发布情况说明）" in out and "/signoff 1" in out
    assert "状态：待销号" in out and "待销号：请领导 /signoff 1 销号" in out
    for leader in ("陈副部长", "王敏"):  # every leader and admin is asked privately
        assert f"【私聊 → {leader}】" in out
    assert "🔏 #1 李强 申请关闭" in out
    assert "待销号" in await h.say("chenbuzhang", "/list 待销号")
    # while it waits: the team cannot sign off, nor work it as if open; no deadline runs on it
    before = snapshot(h)
    assert "无权使用 /signoff" in await h.say("liqiang", "/signoff 1")
    for text in ("/escalate 1", "/unclaim 1", "/close 1 已澄清"):
        assert "正待领导销号" in await h.say("liqiang", text), text
    assert snapshot(h) == before
    assert "#1" not in await tick(h, hours=30)
    # 销号
    assert await h.say("chenbuzhang", "销号 1") == ""
    inc = h.incident(1)
    assert inc.state is State.CLOSED and inc.closed_at == clock.now and inc.disposition.value == "已回应"
    assert "✅ #1 由 陈副部长 销号关闭，处置：已回应（交通局已发布情况说明）" in await h.deliver()
    acts = [
        (r["action"], r["to_state"], r["actor"])
        for r in h.app.db.query(
            "SELECT action, to_state, actor FROM events WHERE incident_id = 1 AND action IN ('close', 'signoff')"
        )
    ]
    assert acts == [("close", "pending_signoff", "liqiang"), ("signoff", "closed", "chenbuzhang")]
    assert "#1 已关闭" in await h.say("wangmin", "/signoff 1")
    show = await h.say("wangmin", "/show 1")
    assert "李强 申请关闭（待销号）：已回应（交通局已发布情况说明）" in show and "陈副部长 销号" in show


async def test_leader_or_admin_closes_directly_and_grade_iv_needs_no_signoff(make_app, clock):
    h = await _major(make_app)
    await h.say("wangmin", "/judge 1 属实")
    assert await h.say("wangmin", "/close 1 已回应") == ""
    assert h.incident(1).state is State.CLOSED
    assert await h.say("liqiang", "/close 2 已澄清") == ""
    assert h.incident(2).state is State.CLOSED


async def test_admin_may_close_a_pending_closing_with_their_own_disposition(make_app, clock):
    h2 = await _pending(make_app)
    assert "无权使用 /close" in await h2.say("chenbuzhang", "/close 1 已澄清")  # a leader signs off instead
    assert await h2.say("wangmin", "/close 1 已澄清 以此为准") == ""
    inc = h2.incident(1)
    assert (inc.state, inc.disposition.value, inc.summary) == (State.CLOSED, "已澄清", "以此为准")


async def test_sending_back_and_reopening_need_a_reason(make_app, clock):
    h = await _pending(make_app)
    await h.deliver()
    before = snapshot(h)
    assert "请说明重新打开的原因。用法：/reopen 编号 原因" in await h.say("chenbuzhang", "/reopen 1")
    assert snapshot(h) == before
    assert await h.say("chenbuzhang", "/reopen 1 说明不够具体，请补充处理结果") == ""
    inc = h.incident(1)
    assert inc.state is State.CLAIMED and inc.disposition is None and inc.assignee == "liqiang"
    assert "🔁 #1 由 陈副部长 退回（未予销号）：说明不够具体，请补充处理结果" in await h.deliver()
    # reopening a closed one: with a reason, kept in the log
    await h.say("wangmin", "/close 1 已回应 已补充")
    assert h.incident(1).state is State.CLOSED
    assert "请说明重新打开的原因" in await h.say("liqiang", "重开 1")
    assert await h.say("liqiang", "/reopen 1 当事人再次发帖，热度回升") == ""
    assert h.incident(1).state is State.CLAIMED
    assert "李强 重新打开：当事人再次发帖，热度回升" in await h.say("liqiang", "/show 1")
    assert "尚未关闭" in await h.say("liqiang", "/reopen 1 再开一次")


async def test_signoff_bad_input(make_app, clock):
    h = await _major(make_app)
    before = snapshot(h)
    for who, text, expected in [
        ("chenbuzhang", "/signoff", "请提供事件编号。用法：/signoff 编号"),
        ("chenbuzhang", "/signoff x", "不是有效的事件编号"),
        ("chenbuzhang", "/signoff 999", "没有编号为 #999 的事件"),
        ("chenbuzhang", "/signoff 1 2", "多余的参数"),
        ("chenbuzhang", "/signoff 1", "没有待销号的关闭申请"),
        ("xuanchuan", "/signoff 1", "无权使用 /signoff"),
        ("hexiaoyu", "/reopen 1 x", "无权使用 /reopen"),
    ]:
        assert expected in await h.say(who, text), text
    assert snapshot(h) == before
    from handlers.commands import parse

    assert parse("销号 12", private=False) == ("signoff", "12")
    assert parse("销号的事明天再说", private=False) is None


# ---------------------------------------------------------------------------- 10. silence


async def test_unmute_lifts_one_incidents_mute_and_is_audited(make_app, clock):
    h = await _major(make_app)
    await h.say("liqiang", "/claim 2")
    await h.say("liqiang", "/mute 2 1d")
    await h.deliver()
    assert "#1 目前没有静音" in await h.say("liqiang", "/unmute 1")
    assert await h.say("liqiang", "取消静音 2") == ""
    assert "🔔 #2 李强 取消了静音，恢复提醒" in await h.deliver()
    assert h.incident(2).muted_until is None
    assert h.count("events", "action = 'unmute' AND incident_id = 2 AND actor = 'liqiang'") == 1
    assert "⏰ #2 已超过认领时限" not in await tick(h, hours=1)  # claimed: the claim deadline is met
    for who, text, expected in [
        ("liqiang", "/unmute", "请提供事件编号。用法：/unmute 编号"),
        ("liqiang", "/unmute x", "不是有效的事件编号"),
        ("liqiang", "/unmute 999", "没有编号为 #999 的事件"),
        ("liqiang", "/unmute 2 3", "多余的参数"),
        ("liqiang", "/unmute all now", "多余的参数"),
        ("chenbuzhang", "/unmute 2", "无权使用 /unmute"),
    ]:
        assert expected in await h.say(who, text), text


async def test_mute_all_holds_grade_iii_iv_reminders_never_grade_i_ii(make_app, clock):
    h = await _major(make_app)
    for who, text, expected in [
        ("liqiang", "/mute all", "请注明静音多久"),
        ("liqiang", "/mute all 0m", "静音时长须大于 0"),
        ("liqiang", "/mute all 8d", "最多静音 7 天"),
        ("liqiang", "/mute all soon", "不是有效的时长"),
        ("liqiang", "/mute all 2h 3h", "多余的参数"),
        ("hexiaoyu", "/mute all 2h", "无权使用 /mute"),
    ]:
        assert expected in await h.say(who, text), text
    assert h.count("mute_all") == 0
    assert await h.say("wangmin", "/mute all 1d") == ""
    out = await h.deliver()
    assert "🔕 王敏 开启全组静音至" in out and "I、II 级事件照常提醒" in out
    assert "全组静音中" in await h.say("liqiang", "/list") and "全组静音中" in await h.say("liqiang", "/sources")
    # grade I (#1) reminds as always; grade IV (#2) is held past its claim deadline
    out = await tick(h, minutes=10)
    assert "#1 距认领时限" in out
    out = await tick(h, hours=23, minutes=30)  # Wednesday 09:40: #2 past 09:00
    assert "#2" not in out
    assert h.count("events", "action = 'reminder' AND incident_id = 2") == 0
    out = await tick(h, minutes=30)  # the hold is over: nothing was lost
    assert "⏫ #2 超过认领时限（09:00）无人认领，自动升级至组长" in out  # one line: no separate ⏰
    assert "全组静音中" not in await h.say("liqiang", "/list")


async def test_unmute_all_ends_the_hold_early(make_app, clock):
    h = await _major(make_app)
    assert "目前没有全组静音" in await h.say("liqiang", "/unmute all")
    await h.say("liqiang", "/mute all 2d")
    await h.deliver()
    assert await h.say("liqiang", "/unmute all") == ""  # in the group: announced once, below
    assert "🔔 李强 取消了全组静音" in await h.deliver()
    assert h.count("mute_all") == 0
    assert "⏫ #2 超过认领时限（09:00）无人认领，自动升级至组长" in await tick(h, hours=24)
