"""Outside-QA defects in the commands: notes that are not step markers (2), generated file
names (17), over-long text (3), what a partner a 工作联系单 went to may see (15), invisible
characters (16), small inconsistencies (18, 19)."""

from __future__ import annotations

import pytest

from core.steps import split_step
from storage import incidents as store
from tests.conftest import LOW, seed
from tests.test_commands import snapshot
from tests.test_commands_trust import note_texts


def step_events(h, iid: int) -> list:
    return [ev.detail.get("step") for ev in store.events_for(h.app.db, iid) if ev.action == "note"]


# ---------------------------------------------------------------------------- 2: step markers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("完成 2", (2, "")),
        ("完成２", (2, "")),
        ("完成 ２", (2, "")),
        ("已完成第2步 交通局已说明情况", (2, "交通局已说明情况")),
        ("完成第 3 步：已发布通报", (3, "已发布通报")),
        ("第3步完成", (3, "")),
        ("第 ３ 步已完成，口径已报批", (3, "口径已报批")),
        ("完成 2：已电话联系", (2, "已电话联系")),
        ("完成 1。", (1, "")),
        ("✅ 4", (4, "")),
        ("完成 2\n已电话联系", (2, "已电话联系")),
        # ordinary notes that merely start with 完成 and a number
        ("已完成 3 家单位走访", None),
        ("完成 2 人笔录", None),
        ("完成2026年度考核材料报送", None),
        ("完成 1.5 万字材料", None),
        ("完成 1，2", None),
        ("完成第2步骤的准备", None),
        ("第2步完成了一半", None),
        ("核实完成 2", None),
    ],
)
def test_only_a_step_marker_ticks_a_step(text, expected):
    assert split_step(text) == expected


async def test_ordinary_notes_with_numbers_tick_nothing_and_stay_as_typed(two):
    await two.say("liqiang", "/claim 1")
    await two.deliver()
    notes = ["已完成 3 家单位走访", "完成 2 人笔录", "完成2026年度考核材料报送"]
    for note in notes:
        assert await two.say("liqiang", f"/note 1 {note}") == ""  # none refused ("没有第 2026 步")
    out = await two.deliver()
    for note in notes:
        assert f"📝 #1 李强：{note}" in out
    assert "完成预案" not in out and "☑️" not in out
    assert note_texts(two, 1) == notes and step_events(two, 1) == [None, None, None]
    show = await two.say("liqiang", "/show 1")
    assert "✅" not in show.split("📘")[1].split("🕒")[0]  # no step ticked in the checklist
    for note in notes:
        assert note in show  # the timeline: as typed


async def test_step_markers_tick_and_the_remark_is_kept_as_typed(two):
    await two.say("liqiang", "/claim 1")
    await two.deliver()
    await two.say("liqiang", "/note 1 完成 ２")
    await two.say("liqiang", "/note 1 第3步完成：已发布通报，（待复核）")
    out = await two.deliver()
    assert "☑️ #1 李强 完成预案第 2 步「联系涉及单位说明情况」\n" in out + "\n"  # no "：完成 ２" after it
    assert "完成预案第 2 步「联系涉及单位说明情况」：" not in out
    assert "第3步完成：已发布通报，（待复核）" in out
    assert [s[0] for s in step_events(two, 1)] == [2, 3]
    show = await two.say("liqiang", "/show 1")
    assert "✅ 2." in show and "✅ 3." in show and "⬜ 1." in show
    assert "已发布通报，（待复核）" in show


async def test_a_step_marker_beyond_the_playbook_is_refused_but_other_numbers_are_notes(two):
    before = snapshot(two)
    assert "没有第 9 步" in await two.say("liqiang", "/note 1 第9步完成")
    assert snapshot(two) == before
    assert await two.say("liqiang", "/note 1 完成 9 份材料的整理") == ""
    assert note_texts(two, 1) == ["完成 9 份材料的整理"]


# ---------------------------------------------------------------------------- 17: file names


async def test_documents_made_in_the_same_second_have_their_own_names(make_app, clock):
    import json

    from docx import Document

    h = make_app()
    seed(h, *LOW, source="ycnews")
    await h.say("liqiang", "/claim 1")
    units = ["市委宣传部网评办", "市交通运输局", "市公安局"]
    for unit in units:  # the clock stands still: all in one second
        await h.say("liqiang", f"/transfer 1 {unit} 3d 请协助")
    payloads = [json.loads(r[0]) for r in h.app.db.execute("SELECT payload FROM outbox ORDER BY id")]
    docs = [p["document"] for p in payloads if p.get("document")]
    assert len(docs) == len(set(docs)) == 3
    addressed = [next(p.text for p in Document(d).paragraphs if p.text.startswith("致：")) for d in docs]
    assert addressed == [f"致：{u}" for u in units]  # each row sends its own slip

    first = await h.say("liqiang", "/export ledger week")
    second = await h.say("liqiang", "/export ledger week")
    paths = [r.document for r in await h.app.handle(_req("liqiang", "/export ledger week"))]
    assert "舆情台账" in first and "舆情台账" in second
    named = {line.split("服务器路径：")[1].rstrip("）。") for line in (first, second)} | set(paths)
    assert len(named) == 3


def _req(who: str, text: str):
    from handlers import Request

    return Request(platform="console", chat="监测群", user_id=who, text=text)


# ---------------------------------------------------------------------------- 3: long text


@pytest.mark.parametrize(
    "who, text, limit",
    [
        ("liqiang", "/note 2 " + "长" * 2100, 2000),
        ("chenbuzhang", "/note 2 " + "长" * 2001, 2000),
        ("liqiang", "/escalate 2 " + "长" * 2100, 1000),
        ("liqiang", "/close 2 已回应 " + "长" * 2100, 1000),
        ("liqiang", "/close 2 已回应，" + "长" * 1001, 1000),
        ("liqiang", "/feedback 2 " + "长" * 2001, 2000),
        ("liqiang", "/transfer 2 市交通运输局 3d " + "长" * 1001, 1000),
        ("liqiang", "/reopen 2 " + "长" * 1001, 1000),
    ],
)
async def test_over_long_text_is_refused_not_cut(two, who, text, limit):
    await two.say("liqiang", "/transfer 2 市交通运输局 3d 请核实")  # /feedback needs a 转办
    if text.startswith("/reopen"):
        await two.say("liqiang", "/close 2 已回应")
    await two.deliver()
    before = snapshot(two)
    reply = await two.say(who, text)
    n = len(text.split(" ", 2)[-1].split(" ")[-1].removeprefix("已回应，"))
    assert f"过长（{n} 字，最多 {limit} 字）" in reply and "用法：" in reply
    assert snapshot(two) == before and await two.deliver() == ""


async def test_text_at_the_limit_is_kept_whole(two):
    note, reason, summary = "注" * 2000, "因" * 1000, "结" * 1000
    assert await two.say("liqiang", f"/note 2 {note}") == ""
    assert await two.say("liqiang", f"/escalate 2 {reason}") == ""
    assert await two.say("liqiang", f"/close 2 已回应 {summary}") == ""
    assert note_texts(two, 2) == [note]
    esc = [ev for ev in store.events_for(two.app.db, 2) if ev.action == "escalate"]
    assert esc[0].detail["reason"] == reason and two.incident(2).summary == summary


# ---------------------------------------------------------------------------- 15: partner and 转办

PARTNER_SECRETS = ("内部研判", "内部备注", "处置记录", "处置预案")


async def test_a_partner_sees_the_facts_of_an_incident_transferred_to_them(two):
    h = two  # #2 was never escalated: only the transfer reaches the partner
    await h.say("liqiang", "/claim 2")
    await h.say("liqiang", "/judge 2 内部研判：属实")
    await h.say("liqiang", "/note 2 内部备注：先不对外")
    assert "没有编号为 #2 的事件" in await h.say("xuanchuan", "/show 2")
    await h.say("liqiang", "/transfer 2 市委宣传部网评办 2d 请协助")
    assert "📨 工作联系单" in await h.deliver()
    shown = await h.say("xuanchuan", "/show 2")
    assert "#2" in shown and h.incident(2).title[:10] in shown
    assert not any(s in shown for s in PARTNER_SECRETS) and "/claim" not in shown
    assert "#2 " in await h.say("xuanchuan", "/list")
    # still theirs to look up after the unit's 反馈
    await h.say("liqiang", "/feedback 2 已发布说明")
    assert h.incident(2).title[:10] in await h.say("xuanchuan", "/show 2")
    # an incident transferred to someone else stays unknown to them
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/transfer 1 市交通运输局 2d 请核实")
    assert "没有编号为 #1 的事件" in await h.say("xuanchuan", "/show 1")


async def test_a_later_transfer_does_not_hide_the_incident_from_the_first_unit(two):
    h = two
    await h.say("liqiang", "/claim 2")
    await h.say("liqiang", "/judge 2 内部研判：属实")
    await h.say("liqiang", "/transfer 2 市委宣传部网评办 2d 请协助")
    await h.say("liqiang", "/feedback 2 已发布说明")
    await h.say("liqiang", "/transfer 2 市交通运输局 3d 请核实")  # the second unit replaces the first …
    await h.deliver()
    assert h.incident(2).transfer_unit == "市交通运输局"
    shown = await h.say("xuanchuan", "/show 2")  # … but the facts sent to the first stay theirs
    assert h.incident(2).title[:10] in shown and not any(s in shown for s in PARTNER_SECRETS)
    assert "#2 " in await h.say("xuanchuan", "/list")
    assert "没有编号为 #1 的事件" in await h.say("xuanchuan", "/show 1")  # never sent to them


async def test_a_partner_department_chat_sees_what_was_transferred_to_it(config_dir, make_app):
    from bot.config import load_config
    from handlers import Request

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8")
        + '\n[[escalation]]\nsteps = [{ name = "网评办", chats = { console = "网评办群" }, facts_only = true }]\n',
        encoding="utf-8",
    )
    h = make_app(load_config(p))
    seed(h, *LOW, source="ycnews")
    ask = Request(platform="console", chat="网评办群", user_id="xuanchuan", text="/show 1")
    assert "没有编号为 #1 的事件" in (await h.app.handle(ask))[0].text
    await h.say("liqiang", "/transfer 1 网评办 2d 请协助")
    assert "📨 工作联系单" in await h.deliver()
    shown = (await h.app.handle(ask))[0].text
    assert "没有编号" not in shown and h.incident(1).title[:10] in shown
    elsewhere = Request(platform="console", chat="别的群", user_id="xuanchuan", text="/show 1")
    assert "没有编号为 #1 的事件" in (await h.app.handle(elsewhere))[0].text


# ---------------------------------------------------------------------------- 16: invisible characters

# …and default-ignorable code points beyond the format characters: a variation selector of the
# supplement (U+E0100-E01EF), a tag character (U+E0001), what the analyser's fold removes too
INVISIBLE = ["\u200b", "\ufeff", "\u202e", "\u2060", "\u200e", "\u00ad", "\u2066", "\u3164", "\U000e0100", "\U000e0001"]


@pytest.mark.parametrize("mark", INVISIBLE)
@pytest.mark.parametrize(
    "line", ["/claim 2{m}", "/claim {m}2", "/claim{m} 2", "{m}/claim 2", "/claim ＃{m}２", "认领{m} 2"]
)
async def test_invisible_characters_next_to_the_command_or_number_are_ignored(two, mark, line):
    assert await two.say("liqiang", line.format(m=mark)) == ""  # announced in the group
    assert two.incident(2).assignee == "liqiang"


async def test_invisible_characters_are_not_read_but_notes_stay_as_typed(two):
    # around the command word and the number: not read; inside the note: as typed (shown inert)
    await two.say("liqiang", "/note\u200b 1\u2060 \u200b已核实\u202e情况属实\ufeff")
    await two.say("liqiang", "/note 1 收到👨\u200d👩\u200d👧，❤\ufe0f")
    await two.say("liqiang", "/close 2 已回应\u200b，说明\u200b")
    assert note_texts(two, 1) == ["已核实\u202e情况属实", "收到👨\u200d👩\u200d👧，❤\ufe0f"]
    assert two.incident(2).summary == "说明"
    assert "无法识别" not in await two.say("liqiang", "/list\u200b")


# ---------------------------------------------------------------------------- 18, 19: small things


async def test_duty_takes_a_full_width_at_like_assign(make_app, clock, config_dir):
    from bot.config import load_config
    from tests.test_duty_transfer import _with_rota

    h = make_app(load_config(_with_rota(config_dir)))
    assert "已安排：11-27 值班员为 王敏" in await h.say("chenbuzhang", "/duty 2026-11-27 ＠王敏", chat="@chenbuzhang")
    assert "已安排：11-28 值班员为 王敏" in await h.say("chenbuzhang", "/duty 2026-11-28 @王敏", chat="@chenbuzhang")


async def test_mute_on_a_closed_incident_is_refused(two):
    await two.say("liqiang", "/close 2 已回应")
    await two.deliver()
    before = snapshot(two)
    reply = await two.say("liqiang", "/mute 2 1h")
    assert "#2 已关闭（已回应），不再提醒，无需静音。" in reply
    assert snapshot(two) == before and await two.deliver() == "" and two.incident(2).muted_until is None
    await two.say("liqiang", "/reopen 2 热度回升")
    assert await two.say("liqiang", "/mute 2 1h") == ""  # open again: muted as before
    assert two.incident(2).muted_until is not None


@pytest.mark.parametrize("line", ["/report week docx x", "/report 1 docx 多余", "/export ledger week 多余"])
async def test_extra_arguments_of_report_and_export_say_the_usage_once(two, line):
    reply = await two.say("liqiang", line)
    assert "多余的参数" in reply and reply.count("用法：") == 1


async def test_a_full_width_step_number_is_not_repeated_in_the_notice(two):
    await two.say("liqiang", "/note 1 完成 ２")
    out = await two.deliver()
    assert "完成预案第 2 步" in out and "：完成 ２" not in out


def test_charts_drawn_in_the_same_second_have_their_own_files(make_app, clock, tmp_path):
    """Two reports in one second (two chats asking /report day, a scheduled 日报 beside one):
    each chart is its own file, so each outbox row sends the chart it was drawn for."""
    from jobs.report import report_with_chart

    h = make_app()
    seed(h, *LOW, source="ycnews")
    now = clock.now
    first = report_with_chart(h.app.db, h.app.config, "today", now, h.app.tz, tmp_path)[1]
    second = report_with_chart(h.app.db, h.app.config, "week", now, h.app.tz, tmp_path)[1]
    third = report_with_chart(h.app.db, h.app.config, "today", now, h.app.tz, tmp_path)[1]
    assert first and second and third
    assert len({first, second, third}) == 3
    assert all(open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in (first, third))
