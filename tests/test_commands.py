"""Commands through the platform-neutral handlers: permissions and every kind of bad input.
Wrong input gets a short Chinese reply naming the usage, and nothing changes."""

from __future__ import annotations

import pytest

from core.models import State


def snapshot(h):
    """Everything a command could change."""
    return (
        [tuple(r) for r in h.app.db.execute("SELECT id, state, assignee, version, disposition FROM incidents")],
        h.count("events"),
        h.count("outbox"),
        h.count("subscriptions"),
    )


BAD_INPUT = [
    ("/frobnicate", "未知命令 /frobnicate"),
    ("/clam 1", "你是不是想用 /claim"),
    ("/claim", "请提供事件编号。用法：/claim 编号"),
    ("/claim abc", "“abc”不是有效的事件编号"),
    ("/claim 999", "没有编号为 #999 的事件"),
    ("/show", "请提供事件编号"),
    ("/show x1", "不是有效的事件编号"),
    ("/note 1", "备注内容不能为空"),
    ("/note", "请提供事件编号"),
    ("/close 1", "请注明处置方式"),
    ("/close 1 搞定了", "未知的处置方式“搞定了”。可选：已回应、已澄清、已转办、不实、无需处置、误报"),
    ("/close 999 已澄清", "没有编号为 #999 的事件"),
    ("/assign 1", "请指明指派给谁"),
    ("/assign 1 @nobody", "找不到成员“nobody”"),
    ("/assign 1 @陈副部长", "只能指派给监测人员或管理员"),
    ("/reopen 1", "尚未关闭"),
    ("/unclaim 1", "目前没有人认领"),
    ("/report yearly", "无法识别的报告周期“yearly”"),
    ("/report 2026-11-30..2026-11-01", "晚于结束日"),
    ("/report 999", "没有编号为 #999 的事件"),
    ("/subscribe V", "未知等级“V”"),
    ("/search", "请提供搜索词"),
    ("hello", "命令以 / 开头"),
]


@pytest.mark.parametrize("text,expected", BAD_INPUT)
async def test_bad_input_gets_usage_and_changes_nothing(two, text, expected):
    before = snapshot(two)
    reply = await two.say("liqiang", text)
    assert expected in reply
    assert snapshot(two) == before
    assert await two.deliver() == ""


async def test_wrong_state_closing_a_closed_incident(two):
    await two.say("liqiang", "/close 2 无需处置")
    before = snapshot(two)
    reply = await two.say("liqiang", "/close 2 已回应")
    assert "#2 已关闭（无需处置）" in reply and "/reopen 2" in reply
    assert snapshot(two) == before


@pytest.mark.parametrize(
    "who,text,expected",
    [
        ("hexiaoyu", "/claim 1", "你的角色（信息员）无权使用 /claim"),
        ("chenbuzhang", "/close 1 已澄清", "你的角色（领导）无权使用 /close"),
        ("chenbuzhang", "/claim 1", "无权使用 /claim"),
        ("xuanchuan", "/search 张建国", "无权使用 /search"),  # a partner's /list: tests/test_partner.py
        ("hexiaoyu", "/report", "无权使用 /report"),
        ("stranger", "/list", "你还没有登记"),
        ("stranger", "/claim 1", "你还没有登记"),
    ],
)
async def test_permissions_are_checked_and_nothing_changes(two, who, text, expected):
    before = snapshot(two)
    assert expected in await two.say(who, text)
    assert snapshot(two) == before


async def test_help_lists_only_what_the_role_may_do(two):
    staff = await two.say("liqiang", "/help")
    officer = await two.say("hexiaoyu", "/help")
    stranger = await two.say("stranger", "/help")
    assert "/claim 编号" in staff and "/close" in staff
    assert "/claim" not in officer and "/help" in officer
    assert "你还没有登记" in stranger


async def test_leader_may_note_escalate_and_view(two):
    assert await two.say("chenbuzhang", "/note 1 请尽快核实") == ""
    assert await two.say("chenbuzhang", "/escalate 1 影响扩大") == ""
    assert two.incident(1).state is State.ESCALATED
    assert "#1" in await two.say("chenbuzhang", "/show 1")


async def test_full_workflow_announces_each_change_in_the_group(two):
    assert await two.say("liqiang", "/claim 1") == ""
    out = await two.deliver()
    assert "✋ #1 已由 李强 认领" in out and "↻ 卡片已更新" in out
    await two.say("liqiang", "/note 1 已联系市交通运输局核实")
    assert "📝 #1 李强：已联系市交通运输局核实" in await two.deliver()
    await two.say("liqiang", "/escalate 1 省级媒体关注")
    out = await two.deliver()
    assert "⏫ #1 由 李强 升级至组长：省级媒体关注" in out
    assert "【私聊 → 王敏】" in out  # the team lead hears about it privately
    assert two.incident(1).grade.rank <= 2  # a grade I–II closing needs a 研判 and a leader's 销号
    assert "/judge" in await two.say("liqiang", "/close 1 已澄清 经核实系公务用车")
    await two.say("liqiang", "/judge 1 系公务用车，网民误读")
    await two.say("liqiang", "/close 1 已澄清 经核实系公务用车")
    await two.deliver()
    assert two.incident(1).state is State.PENDING_SIGNOFF
    await two.say("wangmin", "/signoff 1")
    out = await two.deliver()
    assert "#1" in out and "已澄清（经核实系公务用车）" in out
    inc = two.incident(1)
    assert (inc.state, inc.disposition.value, inc.summary) == (State.CLOSED, "已澄清", "经核实系公务用车")
    actions = [r[0] for r in two.app.db.execute("SELECT action FROM events WHERE incident_id=1 ORDER BY id")]
    assert actions == ["opened", "claim", "note", "escalate", "judge", "close", "signoff"]
    await two.say("liqiang", "/reopen 1 当事人再次发帖")
    assert two.incident(1).state is State.ESCALATED


async def test_claim_taken_names_the_holder(two):
    await two.say("liqiang", "/claim 1")
    reply = await two.say("zhoulan", "/claim 1")
    assert "#1 已由 李强 认领" in reply
    assert two.incident(1).assignee == "liqiang"


async def test_unclaim_only_by_holder_or_admin(two):
    await two.say("liqiang", "/claim 1")
    assert "只有本人或管理员" in await two.say("zhoulan", "/unclaim 1")
    assert await two.say("wangmin", "/unclaim 1") == ""
    assert two.incident(1).state is State.NEW and two.incident(1).assignee is None


async def test_assign_by_name_and_mine(two):
    assert await two.say("wangmin", "/assign 1 @周岚") == ""
    out = await two.deliver()
    assert "👉 #1 由 王敏 指派给 周岚" in out and "【私聊 → 周岚】" in out
    assert "#1" in await two.say("zhoulan", "/mine")
    assert "没有负责中的事件" in await two.say("liqiang", "/mine")


async def test_reply_to_card_acts_without_a_number(two):
    assert await two.say("liqiang", "/claim", reply_to=2) == ""
    assert two.incident(2).assignee == "liqiang"
    await two.say("liqiang", "/note 已与组织部干部科确认", reply_to=2)
    await two.say("liqiang", "/close 已回应 公示无异议", reply_to=2)
    inc = two.incident(2)
    assert inc.state is State.CLOSED and inc.summary == "公示无异议"


async def test_command_with_bot_suffix_and_full_width_digits(two):
    assert await two.say("liqiang", "/claim@yuqing_bot ＃１") == ""
    assert two.incident(1).assignee == "liqiang"


async def test_list_and_show(two):
    listing = await two.say("liqiang", "/list")
    assert listing.index("#1") < listing.index("#2")  # higher grade first
    show = await two.say("liqiang", "/show 1")
    assert "处置预案（干部作风" in show and "处置记录" in show and "发现" in show


async def test_search_uses_segmented_full_text(two):
    reply = await two.say("liqiang", "/search 张建国 公车")
    assert "#1" in reply and "张建国" in reply
    assert "没有找到" in await two.say("liqiang", "/search 完全无关的词语")


async def test_subscribe_and_private_alerts(make_app):
    from tests.conftest import HIGH, seed

    h = make_app()
    assert "已订阅" in await h.say("chenbuzhang", "/subscribe II")
    seed(h, "市委组织部发布干部任前公示", "拟任职人选公示。", source="ycnews")  # low grade: group only
    out = await h.deliver()
    assert "【私聊 → 陈副部长】" not in out
    seed(h, *HIGH, source="provnews")
    out = await h.deliver()
    assert "【私聊 → 陈副部长】" in out
    assert "已取消订阅" in await h.say("chenbuzhang", "/unsubscribe")
    assert "没有订阅" in await h.say("chenbuzhang", "/unsubscribe")


async def test_playbook_on_claim_and_steps_ticked_by_notes(two):
    await two.say("liqiang", "/claim 1")
    out = await two.deliver()
    assert "📘 #1 处置预案（干部作风）" in out and "⬜ 1. 核实事实与涉及单位" in out
    await two.say("liqiang", "/note 1 完成 1")
    await two.say("liqiang", "/note 1 已完成第2步 交通局已说明情况")
    out = await two.deliver()
    assert "☑️ #1 李强 完成预案第 1 步「核实事实与涉及单位」" in out
    assert "完成预案第 2 步「联系涉及单位说明情况」：已完成第2步 交通局已说明情况" in out
    show = await two.say("liqiang", "/show 1")
    assert "✅ 1. 核实事实与涉及单位" in show and "✅ 2. 联系涉及单位说明情况" in show and "⬜ 3." in show


@pytest.mark.parametrize(
    "text, private, expected",
    [
        ("认领 12", False, ("claim", "12")),
        ("认领12", False, ("claim", "12")),
        ("/认领 #12", True, ("claim", "#12")),
        ("取消认领 3", False, ("unclaim", "3")),
        ("关闭 12 已澄清 当事人已说明", False, ("close", "12 已澄清 当事人已说明")),
        ("关闭窗口的事", False, None),  # ordinary talk in a group
        ("关闭 窗口", False, None),
        ("关闭 窗口", True, ("close", "窗口")),  # in private it is a command (and gets its usage reply)
        ("认领", False, ("claim", "")),  # alone: a reply to a card
        ("报告 week", False, ("report", "week")),
        ("重新打开 4", False, ("reopen", "4")),
        ("列表", False, ("list", "")),
        ("列表一下", False, None),
        ("认领 1 下", False, None),  # talk, in a group
        ("查看2楼", False, None),
        ("关闭 2020年的事", False, None),
        ("我的 天", False, None),
        ("报告 领导", False, None),
        ("线索 是啥", False, None),
        ("线索 https://bbs.example/t/1 村民反映", False, ("tip", "https://bbs.example/t/1 村民反映")),
        ("订阅 II", False, ("subscribe", "II")),
        ("我的", False, ("mine", "")),
    ],
)
def test_chinese_command_words(text, private, expected):
    from handlers.commands import parse

    assert parse(text, private=private) == expected


async def test_chinese_words_act_like_commands(two):
    await two.say("liqiang", "认领 1")
    assert two.app.service.get(1).assignee == "liqiang"
    reply = await two.say("liqiang", "关闭 1 搞定了")
    assert "未知的处置方式“搞定了”" in reply
    help_text = await two.say("liqiang", "帮助")
    assert "/claim 编号 或 认领 编号 — 认领" in help_text


async def test_unknown_commands_in_a_group_are_left_to_other_bots(two):
    from handlers import Request

    group = Request(platform="telegram", chat="-100", user_id="1001", text="/etc passwd")
    assert await two.app.handle(group) == []
    typo = Request(platform="telegram", chat="-100", user_id="1001", text="/clam 1")
    assert "你是不是想用 /claim" in (await two.app.handle(typo))[0].text
