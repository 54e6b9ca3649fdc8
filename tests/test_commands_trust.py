"""Commands that must not guess: text kept as typed, numbers read strictly, dispositions
followed by Chinese punctuation, commands addressed to other bots, extra arguments, /list
pages, and one error path for whatever goes wrong."""

from __future__ import annotations

import logging

import pytest

from core.models import State
from handlers import Request
from storage import incidents as store
from tests.conftest import HIGH, seed
from tests.test_commands import snapshot


def note_texts(h, iid: int) -> list[str]:
    return [ev.detail.get("text") for ev in store.events_for(h.app.db, iid) if ev.action == "note"]


# ---------------------------------------------------------------------------- 10: as typed


async def test_note_reason_and_summary_are_stored_as_typed(two):
    note = "已核实：情况属实，（待复核）ＡＢＣ　全角空格"
    assert await two.say("liqiang", f"/note 1 {note}") == ""
    assert note_texts(two, 1) == [note]
    out = await two.deliver()
    assert f"📝 #1 李强：{note}" in out
    reason = "涉及领导干部，需分管领导把关口径（紧急）"
    await two.say("liqiang", f"/escalate 1 {reason}")
    esc = [ev for ev in store.events_for(two.app.db, 1) if ev.action == "escalate"][-1]
    assert esc.detail["reason"] == reason
    await two.say("liqiang", "/judge 1 系公务用车（已核）：网民误读")  # grade I–II: a 研判 before closing
    await two.say("liqiang", "/close 1 已澄清 经核实：系公务用车，（已备案）")
    assert two.incident(1).summary == "经核实：系公务用车，（已备案）"
    show = await two.say("liqiang", "/show 1")
    assert note in show and reason in show
    report = await two.say("liqiang", "/report 1")
    assert note in report


async def test_multi_line_note_keeps_its_lines(two):
    await two.say("liqiang", "/note 1 第一行：核实\n第二行，（联系人）")
    assert note_texts(two, 1) == ["第一行：核实\n第二行，（联系人）"]


@pytest.mark.parametrize("text", ["/claim ²", "/claim ①", "/claim ٢", "/claim 1.0", "/claim ##1", "/claim #"])
async def test_things_that_only_look_like_numbers_are_not_numbers(two, text):
    before = snapshot(two)
    reply = await two.say("liqiang", text)
    assert "不是有效的事件编号" in reply
    assert snapshot(two) == before


async def test_full_width_digits_are_accepted_deliberately(two):
    assert await two.say("liqiang", "/claim １") == ""
    assert two.incident(1).assignee == "liqiang"
    assert await two.say("liqiang", "/note ＃２ 全角编号") == ""
    assert note_texts(two, 2) == ["全角编号"]


# ---------------------------------------------------------------------------- 9: numbers in range


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/claim 99999999999999999999", "不是有效的事件编号"),
        ("/claim " + "9" * 5000, "不是有效的事件编号"),
        ("/show " + "9" * 5000, "不是有效的事件编号"),
        ("/note " + "9" * 30 + " 内容", "不是有效的事件编号"),
        ("/mute 2 9999999999999d", "最多静音 7 天"),
        ("/mute 2 " + "9" * 400 + "d", "最多静音 7 天"),
        ("/mute 2 0m", "须大于 0"),
        ("/report 0001-01-01..0001-01-01", "2000-01-01 至 2999-12-31"),
        ("/report 9999-12-31..9999-12-31", "2000-01-01 至 2999-12-31"),
        ("/report 99999999999999999999", "不是有效的事件编号"),
        ("/tip http://[::1", "链接格式不正确"),
        ("/tip http://[zz]/", "链接格式不正确"),
        ("/note 1 完成 " + "9" * 5000, "步骤号过大"),
        ("/note 2 完成 " + "9" * 5000, "步骤号过大"),
        ("/list 99999999999999999999", "无法识别的参数"),
    ],
)
async def test_hostile_numbers_get_a_reply_and_change_nothing(two, text, expected):
    before = snapshot(two)
    reply = await two.say("liqiang", text)
    assert expected in reply
    assert len(reply) < 400
    assert snapshot(two) == before


async def test_an_unexpected_error_is_answered_logged_and_rolled_back(two, monkeypatch, caplog):
    """Any exception inside a command: a short reply, the traceback in the log, nothing half-done."""
    from core.incidents import IncidentService

    real = IncidentService._announce

    def boom(self, *a, **kw):
        real(self, *a, **kw)  # the outbox rows are written ...
        raise RuntimeError("disk on fire")  # ... then something fails in the same transaction

    monkeypatch.setattr(IncidentService, "_announce", boom)
    before = snapshot(two)
    with caplog.at_level(logging.ERROR, logger="handlers.commands"):
        reply = await two.say("liqiang", "/claim 1")
    assert reply == "出错了，已记录；请稍后重试。"
    assert "disk on fire" in caplog.text and "Traceback" in caplog.text
    assert snapshot(two) == before


async def test_a_concurrent_change_is_a_clear_retry(two, monkeypatch):
    from storage import incidents

    def stale(*a, **kw):
        raise incidents.StaleIncident("changed meanwhile")

    monkeypatch.setattr(incidents, "update_incident", stale)
    before = snapshot(two)
    assert await two.say("liqiang", "/claim 1") == "事件刚被他人更新，请重试。"
    assert snapshot(two) == before


# ---------------------------------------------------------------------------- 11: /close


@pytest.mark.parametrize(
    "text, disposition, summary",
    [
        ("/close 2 已回应，考试中心已发布说明", "已回应", "考试中心已发布说明"),
        ("/close 2 已回应。", "已回应", None),
        ("/close 2 已澄清：经核实系谣言", "已澄清", "经核实系谣言"),
        ("/close 2 误报", "误报", None),
        ("/close 2 不实 经核实，（无此事）", "不实", "经核实，（无此事）"),
        ("/close 2 unfounded, checked", "不实", "checked"),
    ],
)
async def test_close_with_chinese_punctuation_after_the_disposition(two, text, disposition, summary):
    assert await two.say("liqiang", text) == ""
    inc = two.incident(2)
    assert inc.state is State.CLOSED and inc.disposition.value == disposition and inc.summary == summary


async def test_close_refusal_lists_the_options_once(two):
    reply = await two.say("liqiang", "/close 2 不实际的说法")
    assert "未知的处置方式" in reply and reply.count("已回应") == 1
    reply = await two.say("liqiang", "/close 2")
    assert reply.count("已回应") == 1


# ---------------------------------------------------------------------------- 12: other bots


def tg_request(text: str, *, private=False, bot="yuqing_bot") -> Request:
    return Request(
        platform="telegram",
        chat="-100" if not private else "1001",
        user_id="1001",
        text=text,
        private=private,
        bot_username=bot,
    )


async def test_commands_for_another_bot_are_left_alone(two, config_dir):
    from tests.conftest import config_with_handles

    cfg = config_with_handles(config_dir, "telegram", {"liqiang": "1001"})
    two.app.deps.config = cfg
    before = snapshot(two)
    assert await two.app.handle(tg_request("/list@some_other_bot")) == []
    assert await two.app.handle(tg_request("/close@other_bot 1 已澄清 x")) == []
    assert await two.app.handle(tg_request("/claim＠other_bot 1")) == []
    assert snapshot(two) == before
    # in a private chat the person is told, and still nothing happens
    reply = await two.app.handle(tg_request("/claim@other_bot 1", private=True))
    assert "@other_bot" in reply[0].text and snapshot(two) == before
    # ours (any case) or nobody's: handled
    assert "待处置事件" in (await two.app.handle(tg_request("/list@YuQing_Bot")))[0].text
    assert "待处置事件" in (await two.app.handle(tg_request("/list")))[0].text


# ---------------------------------------------------------------------------- 13: extra arguments


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/claim 1 2 3", "多余的参数“2 3”"),
        ("/note ##1", "不是有效的事件编号"),
        ("/note 1 完成 9", "共 4 步，没有第 9 步"),
        ("/note 1 完成 0", "没有第 0 步"),
        ("/show 1 2", "多余的参数"),
        ("/unclaim 1 x", "多余的参数"),
        ("/assign 1 @周岚 @李强", "多余的参数"),
        ("/mute 1 2h 3h", "多余的参数"),
        ("/subscribe II III", "多余的参数"),
        ("/mine 1", "多余的参数"),
        ("/unsubscribe all", "多余的参数"),
        ("/sources x", "多余的参数"),
        ("/report week month", "多余的参数"),
    ],
)
async def test_extra_arguments_get_the_usage(two, text, expected):
    before = snapshot(two)
    reply = await two.say("liqiang", text)
    assert expected in reply and "用法" in reply
    assert snapshot(two) == before


async def test_playbook_steps_within_range_still_tick(two):
    assert await two.say("liqiang", "/note 1 完成 4") == ""
    assert note_texts(two, 1) == ["完成 4"]


# ---------------------------------------------------------------------------- /list pages


@pytest.fixture
async def many(make_app):
    """47 open incidents of mixed grades (more than two pages)."""
    from core.grades import Grade
    from storage import write_tx

    h = make_app()
    seed(h, *HIGH)
    with write_tx(h.app.db):
        for n in range(46):
            store.create_incident(
                h.app.db,
                story_key=f"k{n}",
                title=f"第{n}批任前公示",
                url=None,
                source_id="ycnews",
                team="city",
                category=None,
                grade=list(Grade)[n % 4],
                score=1,
                sensitivity=1,
                best_tier=3,
                reasons=["测试"],
                matched={},
                now=h.app.clock(),
            )
    return h


async def test_list_pages_and_filters(many):
    h = many
    total = h.count("incidents", "state != 'closed'")
    assert total > 20
    first = await h.say("liqiang", "/list")
    assert f"{total} 起" in first and "第 1/" in first and "发送 /list 2 查看下一页" in first
    pages = -(-total // 20)
    seen = set()
    for p in range(1, pages + 1):
        text = await h.say("liqiang", f"/list {p}")
        ids = {int(x) for x in __import__("re").findall(r"#(\d+) \[", text)}
        assert ids and not ids & seen
        seen |= ids
    assert seen == {r[0] for r in h.app.db.execute("SELECT id FROM incidents WHERE state != 'closed'")}
    assert "查看下一页" not in await h.say("liqiang", f"/list {pages}")
    assert f"只有 {pages} 页" in await h.say("liqiang", f"/list {pages + 1}")
    grades = {r[0] for r in h.app.db.execute("SELECT grade FROM incidents")}
    g = sorted(grades)[-1]
    text = await h.say("liqiang", f"/list {g}")
    assert all(f"[{g}]" in line for line in text.splitlines()[1:] if line.startswith(("🔴", "🟠", "🟡", "🔵")))
    await h.say("liqiang", "/claim 1")
    claimed = await h.say("liqiang", "/list 处置中")
    assert "#1 " in claimed and "处置中的事件 1 起" in claimed
    unclaimed = await h.say("liqiang", "/list 待认领")
    assert "#1 " not in unclaimed.split("\n", 1)[1]
    assert "无法识别的参数“bogus”" in await h.say("liqiang", "/list bogus")


async def test_list_alias_with_a_page_in_a_group(two):
    from handlers.commands import parse

    assert parse("列表 2", private=False) == ("list", "2")
    assert parse("列表 III", private=False) == ("list", "III")
    assert parse("列表一下", private=False) is None
