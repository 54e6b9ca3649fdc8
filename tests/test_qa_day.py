"""Outside-QA defects found driving a day of the team's work (staff, leader, partner)."""

from __future__ import annotations

import pytest

from jobs.report import build_report, render_report
from storage import incidents as store


async def test_report_counts_an_incident_closed_without_a_claim_for_its_holder(two, clock):
    # 李强 transfers #2 without claiming it, then closes it as 已转办: he holds it, it is his
    assert await two.say("liqiang", "/transfer 2 市委宣传部网评办 48h 请核实") == ""
    clock.advance(hours=3)
    assert await two.say("liqiang", "/close 2 已转办 网评办已处理") == ""
    await two.deliver()
    r = build_report(two.app.db, two.app.config, "week", clock(), two.app.tz)
    assert r.claim_by_person["李强"][0] == 1  # not "李强 0 起" next to his 办结 time
    assert "李强 1 起 — " in render_report(r, two.app.tz)


async def test_a_summary_names_a_missed_deadline_as_missed_not_as_the_next(two, clock):
    # #1 (grade II) stays unclaimed past its claim deadline (10:30) and is auto-escalated; at
    # 12:00 the leader's summary must not call the 10:30 deadline "下一时限"
    assert "已订阅" in await two.say("chenbuzhang", "/subscribe II")
    summaries = []
    for _ in range(3):
        clock.advance(minutes=40)
        await two.app._deadline_job()
        summaries += [line for line in (await two.deliver()).splitlines() if "状态小结" in line]
    assert len(summaries) == 1, summaries
    assert "下一时限 认领时限" not in summaries[0]
    assert "已超过认领时限 11-24 10:30" in summaries[0]


async def test_an_assignee_holding_the_card_privately_gets_each_reminder_once(two, clock):
    # 周岚 is assigned #1 (she gets its card privately); every nudge and deadline reminder of a
    # sweep must reach her private chat once — not threaded under her card *and* as a text
    assert await two.say("liqiang", "/assign 1 @周岚") == ""
    await two.deliver()
    for _ in range(3):
        clock.advance(hours=2)
        await two.app._deadline_job()
        out = await two.deliver()
        hers = [block for block in out.split("【")[1:] if block.startswith("私聊 → 周岚】")]
        assert len(hers) == 1, out


async def test_one_sweep_sends_a_chat_one_reminder_message_also_for_cards_and_assigned_incidents(two, clock):
    # 周岚 holds #1's card privately (she was assigned it), and is assigned #2 (whose card she
    # never got): the sweep's reminders of both reach her as one message, not one per kind
    assert await two.say("liqiang", "/assign 1 @周岚") == ""
    assert await two.say("liqiang", "/claim 2") == ""
    await two.deliver()
    two.app.db.execute("UPDATE incidents SET assignee = 'zhoulan' WHERE id = 2")  # no card of #2 for her
    two.app.db.conn.commit()
    clock.advance(days=2, hours=1)
    await two.app._deadline_job()
    out = await two.deliver()
    hers = [block for block in out.split("【")[1:] if block.startswith("私聊 → 周岚】")]
    assert len(hers) == 1 and "#1" in hers[0] and "#2" in hers[0], out


async def _escalated_to_the_partner(two):
    for reason in ("内部理由一", "内部理由二", "需宣传部协助"):
        assert await two.say("liqiang", f"/escalate 1 {reason}") == ""
    assert two.incident(1).escalation_level == 3  # the default chain's facts-only 协作部门


async def test_a_partner_is_not_shown_who_in_the_team_handles_it(two):
    # the facts-only card, /show and /list of a partner department name none of the team's people:
    # not the holder, not who handed a tip in, and no 销号 line with the team's commands
    await _escalated_to_the_partner(two)
    # as if 何晓雨 had handed it in (/tip): the incident's first post is her tip
    two.app.db.execute("UPDATE incidents SET source_id = 'tip' WHERE id = 1")
    two.app.db.execute(
        "UPDATE posts SET tip_by = 'hexiaoyu' WHERE id = (SELECT MIN(post_id) FROM incident_posts WHERE incident_id = 1)"
    )
    two.app.db.conn.commit()
    assert await two.say("liqiang", "/claim 1") == ""
    assert await two.say("liqiang", "/judge 1 系误读") == ""
    assert await two.say("liqiang", "/close 1 已澄清 已发布说明") == ""
    assert two.incident(1).state.value == "pending_signoff"
    await two.deliver()
    partner = two.app.config.person("xuanchuan")
    (where,) = two.app.router.private_chats(partner)
    card = two.app.render(two.incident(1), where)
    shown = await two.say("xuanchuan", "/show 1", chat=where[1])
    listing = await two.say("xuanchuan", "/list", chat=where[1])
    from core.render import card_text

    for text in (card_text(card), shown, listing):
        assert "#1" in text
        for secret in ("李强", "何晓雨", "/signoff", "系误读"):
            assert secret not in text, (secret, text)
    assert "李强" in await two.say("liqiang", "/show 1")  # the team still sees who holds it


async def test_a_deadline_of_another_day_is_named_with_its_date(two, clock):
    # the bot was down for 30 hours: at 11-25 16:00 the claim deadline it reports missed was
    # yesterday's 10:30 — "（10:30）" alone reads as today's; today's 10:00 stays short
    clock.advance(hours=30)
    await two.app._deadline_job()
    out = await two.deliver()
    assert "#1 超过认领时限（11-24 10:30）无人认领，自动升级至组长" in out
    assert "⏰ #1 已超过首次权威发布时限（11-24 15:00）" in out
    assert "⏰ #1 已超过完整回应时限（10:00）" in out
    timeline = await two.say("liqiang", "/show 1")
    assert "升级（第 1 级）：超过认领时限（11-24 10:30）无人认领" in timeline


@pytest.mark.parametrize(
    ("line", "reply_in_group"),
    [("认领 2号", ""), ("/claim 2号", ""), ("/claim ＃２号", ""), ("认领2号", ""), ("/claim 2号。", "")],
)
async def test_an_incident_number_may_be_written_with_号(two, line, reply_in_group):
    assert await two.say("liqiang", line) == reply_in_group
    assert two.incident(2).assignee == "liqiang"


async def test_a_note_after_a_number_with_号_is_kept_as_typed(two):
    assert await two.say("liqiang", "备注 2号，3号楼已核实") == ""
    assert await two.say("liqiang", "/note 2号 已到场") == ""
    notes = [e.detail["text"] for e in store.events_of(two.app.db, 2, ("note",))]
    assert notes == ["3号楼已核实", "已到场"]


@pytest.mark.parametrize("line", ["/claim 2号号", "/claim 号", "/claim 2 号", "/claim 2号3"])
async def test_号_is_read_only_right_after_the_number(two, line):
    assert "用法：/claim" in await two.say("liqiang", line)
    assert two.incident(2).assignee is None


@pytest.mark.parametrize("closed", [True, False])
async def test_reminders_queued_before_a_restart_are_not_sent_stale(make_app, clock, tmp_path, closed):
    # the sweep queued #1's claim reminder (before 10:30), then the bot stopped before sending it;
    # 8 hours later, after the restart, "还有 9 分钟" is false: not sent — nor anything for #1 once
    # it was closed; what is true then is said by the next sweep
    from tests.conftest import HIGH, seed

    db = tmp_path / "r.db"
    a = make_app(db_path=db)
    assert seed(a, *HIGH).created
    await a.deliver()
    clock.advance(minutes=21)
    await a.app._deadline_job()
    assert "⏳ #1" in str(a.app.db.execute("SELECT payload FROM outbox WHERE state = 'pending'").fetchall())
    a.app.close()  # stopped before delivering
    clock.advance(hours=8)
    b = make_app(db_path=db)
    if closed:
        assert await b.say("wangmin", "/close 1 误报") == ""
    out = await b.deliver()
    assert "⏳ #1" not in out, out
    await b.app._deadline_job()
    out += await b.deliver()
    if closed:
        assert "✅ #1 由 王敏 关闭" in out and "⏰" not in out and "⏫" not in out, out
    else:
        assert out.count("#1 超过认领时限（10:30）无人认领，自动升级至组长") == 1, out


@pytest.mark.parametrize("keyboards", [True, False])
async def test_the_reopen_button_says_what_to_send_for_this_incident(two, keyboards):
    # 重新打开 on a closed card needs a reason: the answer names this incident, not "/reopen 12"
    from handlers import Request

    assert await two.say("liqiang", "/close 2 已回应") == ""
    req = Request(platform="console", chat="监测群", user_id="zhoulan", text="")
    pressed = await two.app.host.press(req, "r:2", keyboards=keyboards)
    assert "/reopen 2 " in pressed.notice and "/reopen 12" not in pressed.notice, pressed.notice
    assert "/reopen 2 " in await two.say("zhoulan", "/reopen 2")
    assert two.incident(2).state.value == "closed"


@pytest.mark.parametrize(
    ("who", "line", "example"),
    [
        ("liqiang", "/note 2", "/note 2 "),
        ("liqiang", "研判 2", "/judge 2 "),
        ("chenbuzhang", "/instruct 2", "/instruct 2 "),
        ("liqiang", "/close 2", "/close 2 "),
        ("liqiang", "/transfer 2", "/transfer 2 "),
        ("liqiang", "反馈 2", "/feedback 2 "),
    ],
)
async def test_a_command_missing_its_text_gives_the_example_for_this_incident(two, who, line, example):
    before = two.count("events")
    said = await two.say(who, line)
    assert example in said and "12" not in said, said
    assert two.count("events") == before


@pytest.mark.parametrize(
    "line",
    [
        "/report 2026-11-30..2026-11-01",
        "/export ledger 2026-11-30至2026-11-01",
        "/report ２０２６-１１-３０..２０２６-１１-０１",
    ],
)
async def test_a_backwards_date_range_is_named_as_such(two, line):
    said = await two.say("chenbuzhang", line)
    assert "起始日 2026-11-30 晚于结束日 2026-11-01，请写作 2026-11-01..2026-11-30" in said, said


async def test_reminders_follow_the_incident_to_its_new_holder_not_the_one_before(two, clock):
    # 李强 held #1 and got its card privately (a 批示 went to him); it was then assigned to 周岚:
    # the sweep's nudges reach 周岚 and the group, and 王敏 (the 组长 it was escalated to), not
    # 李强, who no longer holds it
    assert await two.say("liqiang", "/claim 1") == ""
    assert await two.say("chenbuzhang", "/instruct 1 请核实") == ""
    assert await two.say("liqiang", "/escalate 1 请组长关注") == ""
    assert await two.say("liqiang", "/assign 1 @周岚") == ""
    await two.deliver()
    clock.advance(hours=2, minutes=1)
    await two.app._deadline_job()
    out = await two.deliver()
    chats = [block.split("】")[0] for block in out.split("【")[1:]]
    assert "私聊 → 周岚" in chats and "监测群" in chats and "私聊 → 王敏" in chats, out
    assert "私聊 → 李强" not in chats, out


async def test_an_incident_escalated_by_hand_before_anyone_claimed_it_is_still_reminded(two, clock):
    # #1 (grade II, claim deadline 10:30) is escalated by hand at 10:05 and nobody claims it:
    # the reminder before the deadline and the overdue notice still come, once each; it is not
    # escalated on by itself (a person already chose where it went)
    clock.advance(minutes=5)
    assert await two.say("liqiang", "/escalate 1 请组长关注") == ""
    await two.deliver()
    out = []
    for _ in range(4):
        clock.advance(minutes=10)
        await two.app._deadline_job()
        out += (await two.deliver()).splitlines()
    text = "\n".join(out)
    assert text.count("距认领时限还有") >= 1 and "#1 已超过认领时限（10:30）" in text, text
    assert sum("#1 已超过认领时限" in line for line in out if line.startswith("【监测群】")) == 1, text
    assert "自动升级" not in text
    assert two.incident(1).escalation_level == 1
