"""Leaders' 批示 and read receipts (issue 14.5); summarised updates for subscribers (issue 14.9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook

from core.deadlines import next_summary, summary_due
from core.models import State
from handlers.base import Request
from jobs.deadlines import sweep
from tests.conftest import HIGH, LOW, seed
from tests.test_telegram import tg  # noqa: F401  (a fixture)

INSTRUCTION = "请网信办会同属地核实，今日内回应"


def private(who: str) -> Request:
    return Request(platform="console", chat="@" + who, user_id=who, text="", private=True)


async def press(h, who: str, data: str, *, keyboards: bool = False):
    return await h.app.host.press(private(who), data, keyboards=keyboards)


async def tick(h, **kw) -> str:
    h.app.clock.advance(**kw)
    sweep(h.app.service, h.app.tz)
    return await h.deliver()


def private_lines(out: str, who: str) -> list[str]:
    """The lines delivered to `who`'s private chat (console: 【私聊 → 名字】)."""
    return [line for line in out.splitlines() if line.startswith(f"【私聊 → {who}】")]


def events(h, action: str) -> list:
    return list(h.app.db.query("SELECT actor, detail FROM events WHERE action = ?", [action]))


async def _major(make_app, *, subscribe: bool = True):
    """#1 grade I (two sources), #2 grade IV; 陈副部长 (leader) subscribed to I–II first."""
    h = make_app()
    if subscribe:
        assert "已订阅" in await h.say("chenbuzhang", "/subscribe II")
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    seed(h, *LOW, source="ycnews")
    assert h.incident(1).grade.value == "I" and h.incident(2).grade.value == "IV"
    return h, await h.deliver()


def snapshot(h):
    return (
        [tuple(r) for r in h.app.db.execute("SELECT id, state, assignee, version FROM incidents")],
        h.count("events"),
        h.count("outbox"),
    )


# ---------------------------------------------------------------------------- 批示


async def test_instruct_unclaimed_asks_the_group_to_claim_and_is_shown(make_app, clock):
    h, _ = await _major(make_app)
    assert await h.say("chenbuzhang", f"/instruct 1 {INSTRUCTION}") == ""  # said in the group: announced there
    out = await h.deliver()
    assert f"📌 #1 陈副部长 批示：{INSTRUCTION}" in out
    assert "目前无人认领，请尽快认领落实（/claim 1）" in out
    assert f"📌 批示（陈副部长 11-24 10:00）：{INSTRUCTION}" in await h.say("liqiang", "/show 1")
    ev = events(h, "instruct")
    assert len(ev) == 1 and ev[0]["actor"] == "chenbuzhang" and INSTRUCTION in ev[0]["detail"]
    assert h.incident(1).state is State.NEW  # the state stays
    # the timeline of /show names it
    assert f"陈副部长 领导批示：{INSTRUCTION}" in await h.say("liqiang", "/show 1")


async def test_instruct_reaches_the_assignee_privately_card_shows_the_latest_two(make_app, clock):
    h, _ = await _major(make_app)
    await h.say("zhoulan", "/claim 1")
    await h.deliver()
    await h.say("chenbuzhang", "批示 1 第一条")  # the Chinese alias
    clock.advance(minutes=5)
    await h.say("wangmin", "/instruct 1 第二条")  # an admin may too
    clock.advance(minutes=5)
    # replying to the card, the number may be left out
    await h.say("chenbuzhang", "/instruct 抓紧发布通报", reply_to=1)
    out = await h.deliver()
    mine = "\n".join(private_lines(out, "周岚"))
    assert "📌 陈副部长 对 #1 批示：抓紧发布通报" in mine and "📌 王敏 对 #1 批示：第二条" in mine
    assert "请尽快认领" not in out  # it has an assignee
    card = await h.say("liqiang", "/show 1")
    assert "📌 批示（王敏 11-24 10:05）：第二条" in card and "📌 批示（陈副部长 11-24 10:10）：抓紧发布通报" in card
    assert "📌 批示（陈副部长 11-24 10:00）：第一条" not in card  # only the latest two on the card
    assert "陈副部长 领导批示：第一条" in card  # all of them in the timeline
    assert len(events(h, "instruct")) == 3


async def test_only_leaders_and_admins_instruct(make_app, clock):
    h, _ = await _major(make_app)
    before = snapshot(h)
    cases = [
        ("liqiang", f"/instruct 1 {INSTRUCTION}", "无权使用 /instruct"),
        ("zhoulan", "批示 1 抓紧", "无权使用 /instruct"),
        ("hexiaoyu", "/instruct 1 抓紧", "无权使用 /instruct"),
        ("xuanchuan", "/instruct 1 抓紧", "无权使用 /instruct"),
        ("nobody", "/instruct 1 抓紧", "还没有登记"),
        ("chenbuzhang", "/instruct 1", "批示内容不能为空"),
        ("chenbuzhang", "/instruct", "请提供事件编号"),
        ("chenbuzhang", "/instruct 999 抓紧", "没有编号为 #999 的事件"),
        ("chenbuzhang", "/instruct 1 " + "长" * 1001, "批示过长（1001 字，最多 1000 字）"),
    ]
    for who, text, expected in cases:
        assert expected in await h.say(who, text), text
    assert snapshot(h) == before and await h.deliver() == ""
    # the staff's 批示 button is refused too, before asking for any text
    assert "只有领导或管理员可以批示" in (await press(h, "liqiang", "i:1")).notice
    await h.say("liqiang", "/close 2 无需处置")
    assert "#2 已关闭" in await h.say("chenbuzhang", "/instruct 2 抓紧")
    assert "/instruct 编号 批示内容" in await h.say("chenbuzhang", "/help")


# ---------------------------------------------------------------------------- the leader's card


async def test_leaders_private_card_offers_read_and_instruct_not_claim_or_close(make_app, clock):
    h, out = await _major(make_app)
    leader = out[out.index("【私聊 → 陈副部长】") :]
    ops = next(line for line in leader.splitlines() if line.startswith("操作："))
    assert ops == "操作：[已阅] /read 1 · [批示] /instruct 1 批示内容"  # not 认领 or 关闭
    # the group's card keeps the team's buttons
    assert "[认领] /claim 1" in out.split("【私聊")[0]
    # /show in the leader's private chat is their card too
    shown = await h.app.handle(Request("console", "@chenbuzhang", "chenbuzhang", "/show 1", private=True))
    assert "[已阅] /read 1" in shown[0].text and "[认领]" not in shown[0].text
    # a leader cannot claim or close with a (forged) button
    before = snapshot(h)
    refused = await press(h, "chenbuzhang", "c:1")
    assert "无权使用 /claim" in refused.notice and refused.changed is None
    assert "无权使用 /close" in (await press(h, "chenbuzhang", "d:1:0", keyboards=True)).notice
    assert snapshot(h) == before
    # the 批示 button asks for the text, as 备注 does
    assert "/instruct 批示内容" in (await press(h, "chenbuzhang", "i:1", keyboards=True)).notice
    assert "批示 1 内容" in (await press(h, "chenbuzhang", "i:1")).notice


async def test_read_receipt_once_per_person_names_on_the_group_card(make_app, clock):
    h, _ = await _major(make_app)
    first = await press(h, "chenbuzhang", "a:1")
    assert first.changed == "已阅" and "已阅 #1" in first.notice
    out = await h.deliver()
    assert "↻ 卡片已更新" in out  # the cards show who has read it
    assert "已阅：陈副部长" in await h.say("liqiang", "/show 1")
    again = await press(h, "chenbuzhang", "a:1")
    assert "已阅过" in again.notice and again.changed is None
    assert "已阅过" in await h.say("chenbuzhang", "/read 1")
    assert len(events(h, "read")) == 1
    assert await h.say("wangmin", "/read 1") == "✅ 已阅 #1。"
    assert "已阅：陈副部长、王敏" in await h.say("liqiang", "/show 1")
    assert [e["actor"] for e in events(h, "read")] == ["chenbuzhang", "wangmin"]
    # staff do not give read receipts; grade IV cards do not list readers
    assert "无权使用 /read" in await h.say("liqiang", "/read 1")
    await h.say("chenbuzhang", "/read 2")
    assert "已阅：" not in await h.say("liqiang", "/show 2")
    # in a group, "已阅" on its own is chat, not a command
    from handlers.commands import parse

    assert parse("已阅", private=False) is None and parse("已阅 12", private=False) == ("read", "12")


# ---------------------------------------------------------------------------- summaries


async def test_subscriber_gets_one_summary_instead_of_each_claim_and_note(make_app, clock):
    h, out = await _major(make_app)
    assert private_lines(out, "陈副部长")  # the card
    await h.say("zhoulan", "/claim 1")
    await h.say("zhoulan", "/note 1 已联系交通局")
    clock.advance(minutes=40)
    await h.say("zhoulan", "/note 1 已核实情况")
    out = await h.deliver()
    assert "📝 #1 周岚：已核实情况" in out  # the group hears of every note
    mine = private_lines(out, "陈副部长")
    assert all("↻ 卡片已更新" in line for line in mine)  # the leader: the card, edited; no notices
    out = await tick(h, minutes=81)  # 2 h after the incident opened
    summaries = [line for line in private_lines(out, "陈副部长") if "状态小结" in line]
    assert len(summaries) == 1, out
    assert "📋 #1 状态小结（过去 2 小时）：认领 周岚；备注 2 条；最新：周岚 备注「已核实情况」" in summaries[0]
    assert "下一时限" in summaries[0]
    assert "状态小结" not in "\n".join(line for line in out.splitlines() if "陈副部长" not in line)
    # nothing happened in the next two hours: no summary
    assert "状态小结" not in await tick(h, hours=2)
    assert "状态小结" not in await tick(h, hours=2)
    # the 批示, the grade and the closing still reach the subscriber as they happen
    await h.say("wangmin", "/instruct 1 请尽快发布通报")
    await h.say("zhoulan", "/judge 1 属实")
    await h.say("zhoulan", "/close 1 已回应 已发布通报")
    out = "\n".join(private_lines(await h.deliver(), "陈副部长"))
    assert "批示：请尽快发布通报" in out and "申请关闭" in out and "研判" not in out


async def test_summaries_only_for_grade_i_ii_and_only_for_subscribers(make_app, clock):
    h, _ = await _major(make_app, subscribe=False)
    await h.say("zhoulan", "/claim 1")
    await h.say("zhoulan", "/note 1 已联系")
    await h.say("liqiang", "/claim 2")
    await h.say("liqiang", "/note 2 已联系")
    await h.deliver()
    assert "状态小结" not in await tick(h, hours=2, minutes=1)  # nobody subscribed
    assert not [r for r in events(h, "reminder") if "summary:" in r["detail"]]
    await h.say("chenbuzhang", "/subscribe IV")
    await h.say("zhoulan", "/note 1 再次核实")
    await h.say("liqiang", "/note 2 再次核实")
    out = await tick(h, hours=2)
    summaries = [line for line in private_lines(out, "陈副部长") if "状态小结" in line]
    assert len(summaries) == 1 and "#1" in summaries[0]  # grade IV gets none


def test_summary_cadence_is_pure(clock):
    from core.grades import Grade
    from tests.test_lifecycle import inc

    every = timedelta(hours=2)
    i = inc(State.CLAIMED, "a")
    i = type(i)(**{**i.__dict__, "grade": Grade.II})
    t0 = i.created_at
    assert summary_due(i, t0 + timedelta(hours=1), every, last_activity=t0 + timedelta(minutes=5), done=set()) is None
    due = summary_due(i, t0 + every, every, last_activity=t0 + timedelta(minutes=5), done=set())
    assert due == ("summary:1", t0, t0 + every)
    assert summary_due(i, t0 + every, every, last_activity=t0 + timedelta(minutes=5), done={"summary:1"}) is None
    # nothing since the window began: none
    assert summary_due(i, t0 + 2 * every, every, last_activity=t0 + timedelta(minutes=5), done=set()) is None
    assert next_summary(i, t0 + timedelta(minutes=1), every) == t0 + every
    assert next_summary(i, t0 + every, every) == t0 + 2 * every
    low = type(i)(**{**i.__dict__, "grade": Grade.III})
    assert next_summary(low, t0, every) is None
    assert summary_due(low, t0 + every, every, last_activity=t0 + every, done=set()) is None


@pytest.mark.parametrize("bad", ["0m", "0h", "abc"])
def test_subscriber_summary_interval_is_validated(config_dir, bad):
    from bot.config import load_config
    from core.errors import ConfigError

    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("[organization]\n", f'[organization]\nsubscriber_summary = "{bad}"\n', 1), "utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "organization.subscriber_summary" in e.value.render() and "订阅小结间隔" in e.value.render()


def test_subscriber_summary_default(config):
    assert config.organization.subscriber_summary == "2h"


# ---------------------------------------------------------------------------- documents


async def test_instruction_in_special_report_ledger_and_casebook(make_app, clock, tmp_path):
    from jobs.casebook import collect_cases
    from jobs.ledger import ledger_rows, write_xlsx
    from jobs.report_docs import build_special_docx

    h, _ = await _major(make_app)
    await h.say("zhoulan", "/claim 1")
    await h.say("chenbuzhang", f"/instruct 1 {INSTRUCTION}")
    app = h.app
    # 专报 (DOCX): a 领导批示 paragraph under 处置情况
    res = build_special_docx(app.db, app.config, 1, clock.now, app.tz, 1, tmp_path / "special.docx")
    texts = [p.text for p in Document(res.path).paragraphs]
    at = texts.index("四、处置情况")
    assert texts[at + 1] == f"领导批示：陈副部长（11-24 10:00）批示：{INSTRUCTION}"
    # the ledger (XLSX): a 领导批示 column
    lo = clock.now - timedelta(hours=1)
    rows = ledger_rows(app.db, app.config, lo, lo + timedelta(days=1), app.tz, clock.now)
    path = write_xlsx(rows, tmp_path / "ledger.xlsx", org="组织部", title="台账")
    ws = load_workbook(path)["台账"]
    header = [c.value for c in ws[1]]
    assert header[header.index("研判") + 1] == "领导批示"
    by_id = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    assert by_id[1][header.index("领导批示")].value == f"11-24 10:00 陈副部长：{INSTRUCTION}"
    assert by_id[2][header.index("领导批示")].value is None
    assert ws.cell(row=2, column=header.index("认领用时") + 1).number_format == '[h]"小时"mm"分"'
    # the casebook
    today = clock.now.astimezone(app.tz).date()
    cases = {c.incident.id: c for c in collect_cases(app.db, app.config, today, today, app.tz, include_open=True)}
    assert cases[1].instructions == (f"陈副部长（11-24 10:00）：{INSTRUCTION}",)


# ---------------------------------------------------------------------------- platforms


async def test_telegram_leaders_private_card_has_read_and_instruct_buttons(tg):
    from tests.test_telegram import GROUP, IDS

    leader = str(IDS["chenbuzhang"])
    tg.say("chenbuzhang", "/subscribe II", chat=leader)
    await tg.until(lambda: any("已订阅" in t for t in tg.texts(leader)))
    iid = seed(
        tg, "网友实名举报江北区副区长刘海燕违纪吃拿卡要", "有网友实名举报刘海燕违纪，网友愤怒质疑。", source="provnews"
    ).incident_id

    def cards() -> list[dict]:  # (the sample sources' grade I–II stories reach the leader too)
        return [m for m in tg.api.chat_log(leader) if m["parse_mode"] == "HTML" and f"· #{iid} ·" in m["text"]]

    await tg.until(lambda: bool(cards()))
    card = cards()[0]
    assert tg.api.buttons(leader, card["message_id"]) == [("已阅", f"a:{iid}"), ("批示", f"i:{iid}")]
    assert ("认领", f"c:{iid}") in tg.api.buttons(GROUP, tg.card_id(iid))  # the group's card: the team's
    before = len(tg.api.answers)
    tg.api.press(leader, tg.users["chenbuzhang"], card["message_id"], f"a:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before)
    tg.api.press(leader, tg.users["chenbuzhang"], card["message_id"], f"a:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before + 1)
    assert f"已阅 #{iid}" in tg.api.answers[before]["text"] and "已阅过" in tg.api.answers[before + 1]["text"]
    tg.api.press(leader, tg.users["chenbuzhang"], card["message_id"], f"i:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before + 2)
    assert "/instruct 批示内容" in tg.api.answers[before + 2]["text"]


async def test_a_leader_reached_by_an_escalation_follows_by_the_card_not_by_each_claim_and_note(make_app, clock):
    """A leader who was sent the card by an escalation step (not subscribed) sees it edited
    as the staff work it, and the 批示 request, but not every claim, note, playbook and nudge
    meant for the staff; a grade I–II incident's status summary reaches them instead."""
    h, _ = await _major(make_app, subscribe=False)
    await h.say("wangmin", "/escalate 1 请组长关注")
    out = await h.deliver()
    await h.say("wangmin", "/escalate 1 请分管领导关注")
    out = await h.deliver()
    assert private_lines(out, "陈副部长"), out  # the card, privately
    await h.say("zhoulan", "/claim 1")
    await h.say("zhoulan", "/note 1 已联系交通局")
    out = await h.deliver()
    assert "📝 #1 周岚：已联系交通局" in out  # the group hears of it
    mine = private_lines(out, "陈副部长")
    assert mine and all("↻ 卡片已更新" in line for line in mine), mine
    out = await tick(h, hours=2, minutes=1)
    summaries = [line for line in private_lines(out, "陈副部长") if "状态小结" in line]
    assert len(summaries) == 1 and "#1" in summaries[0], out
    assert not [line for line in private_lines(out, "陈副部长") if "⏰" in line or "💤" in line], out
