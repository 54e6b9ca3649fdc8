"""Telegram transcripts: the real python-telegram-bot Application talking HTTP to a fake Bot
API on 127.0.0.1. What users send in, what the group sees out."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot.app import App
from bot.platforms.telegram import TelegramPlatform, card_html
from core.render import Card
from tests.conftest import config_with_handles, make_settings, seed, settled, until
from tests.fake_telegram import FakeBotAPI

GROUP = "-1001234567890"
IDS = {"wangmin": 1000, "liqiang": 1001, "zhoulan": 1002, "chenbuzhang": 2001, "hexiaoyu": 3001}


def telegram_config(config_dir):
    return config_with_handles(
        config_dir,
        "telegram",
        {pid: str(uid) for pid, uid in IDS.items()},
        replace={'# telegram = "-1001234567890"': f'telegram = "{GROUP}"'},
    )


class TG:
    def __init__(self, api: FakeBotAPI, cfg, tmp_path):
        self.api, self.cfg, self.tmp_path = api, cfg, tmp_path
        self.users = {pid: api.user(uid, pid) for pid, uid in IDS.items()}
        self.users["stranger"] = api.user(9999, "路人", "passerby")

    async def start(self, collect=True, digest_after=100):
        self.platform = TelegramPlatform(
            self.cfg, token="123456:TEST", base_url=self.api.base_url, poll_interval=0, poll_timeout=1
        )
        self.platform.digest_after = digest_after
        settings = make_settings(self.tmp_path, collect_on_start=collect, deliver_interval=0.2)
        self.app = App(settings, self.cfg, platforms={"telegram": self.platform})
        await self.platform.open(self.app.host)
        await self.app.start()
        self.task = asyncio.create_task(self.platform.serve(self.app.host))

    async def stop(self):
        self.platform.stop()
        await asyncio.wait_for(self.task, 10)
        await self.app.stop()
        await self.platform.close()
        self.app.close()

    async def until(self, cond, timeout=30.0):
        await until(cond, timeout)

    def say(self, who, text, chat=GROUP, reply_to=None):
        return self.api.message(chat, self.users[who], text, reply_to=reply_to)

    def card_id(self, incident_id):
        """The message id of an incident's card in the group."""
        return next(
            m["message_id"]
            for m in self.api.chat_log(GROUP)
            if m["parse_mode"] == "HTML" and f"· #{incident_id} ·" in m["text"]
        )

    def card(self, incident_id):
        return self.api.messages[(GROUP, self.card_id(incident_id))]

    def texts(self, chat=GROUP):
        return [m["text"] for m in self.api.chat_log(chat) if m["parse_mode"] != "HTML"]


@pytest.fixture
async def tg(config_dir, tmp_path):
    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start()
    await t.until(lambda: len([m for m in api.sent if m["parse_mode"] == "HTML"]) >= 6)
    await t.until(
        lambda: t.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0] == 0
    )
    yield t
    await t.stop()
    api.close()


def top(tg) -> int:
    """The number of the grade-I incident from the sample feeds."""
    return next(r["id"] for r in tg.app.db.query("SELECT id FROM incidents WHERE grade='I'"))


async def test_alert_cards_with_buttons_highest_grade_first(tg):
    cards = [m for m in tg.api.chat_log(GROUP) if m["parse_mode"] == "HTML"]
    assert len(cards) == 6 and cards[0]["text"].startswith("<b>🔴 I 特别重大")
    first = cards[0]
    assert '<a href="https://paper.province.example/' in first["text"]
    assert "<b>定级理由</b>：" in first["text"] and "<b>认领时限</b>：" in first["text"]
    iid = top(tg)
    assert tg.api.buttons(GROUP, first["message_id"]) == [
        ("认领", f"c:{iid}"),
        ("备注", f"n:{iid}"),
        ("升级", f"e:{iid}"),
        ("关闭", f"x:{iid}"),
    ]
    assert (next(c for c, _ in tg.api.calls if c == "setMyCommands"),) == ("setMyCommands",)


async def test_claim_by_button_edits_card_and_threads_the_notice(tg):
    iid = top(tg)
    card_id = tg.card_id(iid)
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"c:{iid}")
    await tg.until(lambda: f"✋ #{iid} 已由 李强 认领" in tg.texts())
    notice = next(m for m in tg.api.chat_log(GROUP) if m["text"] == f"✋ #{iid} 已由 李强 认领")
    assert notice["reply_to"] == card_id
    await tg.until(lambda: "处置中 · 李强" in tg.card(iid)["text"])
    assert [t for t, _ in tg.api.buttons(GROUP, card_id)] == ["备注", "升级", "关闭"]
    assert tg.api.answers[-1].get("text") == "✅ 已完成"


async def test_claim_by_command_and_by_reply(tg):
    tg.say("liqiang", "/claim@yuqing_bot 1")
    await tg.until(lambda: "✋ #1 已由 李强 认领" in tg.texts())
    tg.say("zhoulan", "/claim", reply_to=tg.card_id(2))
    await tg.until(lambda: "✋ #2 已由 周岚 认领" in tg.texts())


async def test_two_users_pressing_claim_at_once(tg):
    iid = top(tg)
    card_id = tg.card_id(iid)
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"c:{iid}")
    tg.api.press(GROUP, tg.users["zhoulan"], card_id, f"c:{iid}")
    await tg.until(lambda: len(tg.api.answers) >= 2)
    answers = [a.get("text", "") for a in tg.api.answers]
    assert answers.count("✅ 已完成") == 1
    assert any("已由 李强 认领" in a for a in answers)
    await tg.until(lambda: f"✋ #{iid} 已由 李强 认领" in tg.texts())
    await settled(tg.app)  # both presses were answered, so both notices (if two) are queued
    assert tg.texts().count(f"✋ #{iid} 已由 李强 认领") == 1
    assert not any("周岚 认领" in t for t in tg.texts())


async def test_note_escalate_and_close_with_disposition(tg):
    iid = top(tg)
    card_id = tg.card_id(iid)
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"n:{iid}")
    await tg.until(lambda: tg.api.answers and "/note" in tg.api.answers[-1].get("text", ""))
    tg.say("liqiang", "/note 已联系交通局", reply_to=card_id)
    await tg.until(lambda: f"📝 #{iid} 李强：已联系交通局" in tg.texts())
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"e:{iid}")
    await tg.until(lambda: f"⏫ #{iid} 由 李强 升级至组长" in tg.texts())
    tg.say("liqiang", "/judge 系公务用车", reply_to=card_id)
    await tg.until(lambda: f"🧭 #{iid} 李强 研判：系公务用车" in tg.texts())
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"x:{iid}")
    await tg.until(lambda: ("已澄清", f"d:{iid}:1") in tg.api.buttons(GROUP, card_id))
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"d:{iid}:1")
    await tg.until(lambda: f"📮 #{iid} 李强 申请关闭，处置：已澄清" in "\n".join(tg.texts()))
    tg.say("wangmin", f"/signoff {iid}")  # grade I–II: closed on 销号
    await tg.until(lambda: f"✅ #{iid} 由 王敏 销号关闭，处置：已澄清" in tg.texts())
    await tg.until(lambda: "已关闭" in tg.card(iid)["text"])
    assert [t for t, _ in tg.api.buttons(GROUP, card_id)] == ["重新打开", "备注"]


async def test_strangers_and_members_without_the_role(tg):
    n = len(tg.api.sent)
    tg.api.message("-100999", tg.users["liqiang"], "/list")  # a group we do not serve
    tg.say("stranger", "/claim 1")
    await tg.until(lambda: len(tg.api.sent) > n)
    assert "你还没有登记" in tg.api.sent[-1]["text"]
    iid = top(tg)
    tg.api.press(GROUP, tg.users["hexiaoyu"], tg.card_id(iid), f"c:{iid}")
    await tg.until(lambda: tg.api.answers and "无权" in tg.api.answers[-1].get("text", ""))
    assert tg.api.answers[-1].get("show_alert") is True
    assert tg.app.service.get(iid).assignee is None
    assert not [m for m in tg.api.sent if m["chat"] == "-100999"]


async def test_leader_subscribes_privately_and_gets_high_grades(tg):
    leader = str(IDS["chenbuzhang"])
    tg.say("chenbuzhang", "/start", chat=leader)
    await tg.until(lambda: any("你好，陈副部长" in t for t in tg.texts(leader)))
    tg.say("chenbuzhang", "/subscribe II", chat=leader)
    await tg.until(lambda: any("已订阅" in t for t in tg.texts(leader)))
    seed(
        tg, "网友实名举报江北区副区长刘海燕违纪吃拿卡要", "有网友实名举报刘海燕违纪，网友愤怒质疑。", source="provnews"
    )
    await tg.until(lambda: any(m["parse_mode"] == "HTML" for m in tg.api.chat_log(leader)))


async def test_scraped_html_is_escaped_and_long_posts_are_cut(tg):
    seed(tg, '<b>假通知</b><script>alert(1)</script> 张建国 公车私用 青石镇', "x" * 5000)
    await tg.until(lambda: any("&lt;script&gt;" in m["text"] for m in tg.api.chat_log(GROUP)))
    card = Card(
        header="🔴 I 特别重大 · #9 · 干部作风",
        title="标" * 5000,
        url="https://a.example/?a=1&b=<2>",
        fields=(("来源", "论坛 & 媒体"), ("定级理由", "理" * 5000)),
    )
    text = card_html(card)
    assert len(text) <= 4096
    assert text.count("<b>") == text.count("</b>") and text.count("<a ") == text.count("</a>")
    assert 'href="https://a.example/?a=1&amp;b=&lt;2&gt;"' in text and "论坛 &amp; 媒体" in text


async def test_429_and_outage_recovery_nothing_lost_nothing_duplicated(tg):
    tg.api.fail("sendMessage", "429", 1)
    tg.api.fail("editMessageText", "500", None)
    tg.say("liqiang", "/claim 1")
    tg.say("liqiang", "/note 1 第一条")
    tg.say("liqiang", "/note 1 第二条")
    await tg.until(lambda: "📝 #1 李强：第二条" in tg.texts(), timeout=15)
    texts = [t for t in tg.texts() if t.startswith(("✋ #1", "📝 #1"))]
    assert texts == ["✋ #1 已由 李强 认领", "📝 #1 李强：第一条", "📝 #1 李强：第二条"]
    await tg.until(
        lambda: (
            tg.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0] == 0
        ),
        timeout=15,
    )
    assert [t for t in tg.texts() if t.startswith(("✋ #1", "📝 #1"))] == texts


async def test_restart_in_the_middle_of_a_backlog(config_dir, tmp_path):
    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    api.fail("sendMessage", "500", times=3)  # Telegram fails while the first alerts go out
    await t.start()
    await t.until(lambda: len(api.sent) >= 1)
    await t.stop()  # stop with cards still queued for a retry
    sent_before = len(api.sent)
    assert sent_before < 6
    t2 = TG(api, t.cfg, tmp_path)
    await t2.start(collect=True)
    await t2.until(lambda: len([m for m in api.sent if m["parse_mode"] == "HTML"]) >= 6)
    await settled(t2.app)
    headers = [re.match(r"<b>([^<]+)</b>", m["text"]).group(1) for m in api.sent if m["parse_mode"] == "HTML"]
    assert len(headers) == len(set(headers)) == 6  # every card once
    await t2.stop()
    api.close()


async def test_burst_of_low_grades_becomes_one_digest_while_high_grades_go_first(config_dir, tmp_path):
    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(digest_after=4)  # the sample feeds: one grade I story, five of grades III–IV
    await t.until(lambda: any(m["text"].startswith("📋 合并推送") for m in api.sent))
    first = api.sent[0]
    # the grade I–II story goes first: it opens at II from the provincial paper and becomes I
    # when the forum carries it too (rubric: wide spread), so its first card may show either
    assert first["parse_mode"] == "HTML" and first["text"].startswith(("<b>🔴 I 特别重大", "<b>🟠 II 重大"))
    digests = [m for m in api.sent if m["text"].startswith("📋 合并推送")]
    assert len(digests) == 1 and "新增 5 起" in digests[0]["text"]
    low = [r["id"] for r in t.app.db.query("SELECT id FROM incidents WHERE grade IN ('III','IV')")]
    assert all(f"#{i} " in digests[0]["text"] for i in low)
    # a later burst within the same minute waits for the next digest instead of flooding the group
    for title in (
        "白沙乡卫生院工作人员态度恶劣被投诉",
        "南湖区社区台账形式主义引居民吐槽",
        "江北区办事窗口推诿扯皮群众跑断腿",
        "青石镇村两委换届选举计票引质疑",
    ):
        seed(t, title, "有网友发帖反映。")
    await settled(t.app)  # a delivery round has seen the four new alerts (and held them)
    assert len([m for m in api.sent if m["text"].startswith("📋 合并推送")]) == 1
    held = t.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state='pending' AND kind='card'").fetchone()[0]
    assert held == 4
    # claiming a digested incident gives it a full card from then on
    t.say("liqiang", f"/claim {low[0]}")
    await t.until(lambda: any(m["parse_mode"] == "HTML" and f"· #{low[0]} ·" in m["text"] for m in api.sent))
    await t.stop()
    api.close()


async def test_connection_refused_then_back(tg):
    tg.api.down()
    tg.app.service.act(
        1,
        __import__("core.lifecycle", fromlist=["Action"]).Action.NOTE,
        __import__("core.incidents", fromlist=["Actor"]).Actor(
            "liqiang", "李强", __import__("core.models", fromlist=["Role"]).Role.STAFF
        ),
        text="断网期间的备注",
    )
    # delivery tries, the connection is refused, the row waits for a retry
    last_notice = "SELECT attempts, last_error FROM outbox WHERE kind='notice' ORDER BY id DESC LIMIT 1"
    await tg.until(lambda: next(tg.app.db.query(last_notice))["attempts"] >= 1)
    row = next(tg.app.db.query(last_notice))
    assert "unreachable" in row["last_error"]
    tg.api.up()
    await tg.until(lambda: "📝 #1 李强：断网期间的备注" in tg.texts(), timeout=15)
    await settled(tg.app)
    assert tg.texts().count("📝 #1 李强：断网期间的备注") == 1


async def test_report_arrives_with_its_chart(tg):
    tg.say("liqiang", "/report")
    await tg.until(lambda: tg.api.photos)
    assert tg.api.photos[0]["chat"] == GROUP and tg.api.photos[0]["bytes"].startswith(b"\x89PNG")
    assert any(t.startswith("📊 云川市委组织部舆情今日报告") for t in tg.texts())


@pytest.mark.parametrize("code", ["c", "u", "e", "x", "b", "r", "n", "d"])
async def test_a_button_for_an_unknown_incident_is_answered(tg, code):
    """Callback data is chosen by the client: a forged press naming no incident is answered
    like /claim 999999 would be, never left spinning with a traceback in the log."""
    card_id = tg.card_id(top(tg))
    before = len(tg.api.answers)
    data = f"{code}:999999" + (":1" if code == "d" else "")
    tg.api.press(GROUP, tg.users["liqiang"], card_id, data)
    await tg.until(lambda: len(tg.api.answers) > before)
    answer = tg.api.answers[before].get("text", "")
    if code == "n":  # the note button only explains how to write a note
        assert "/note" in answer
    elif code == "x":  # the disposition choice; choosing one names the missing incident
        tg.api.press(GROUP, tg.users["liqiang"], card_id, "d:999999:1")
        await tg.until(lambda: len(tg.api.answers) > before + 1)
        assert "没有编号为 #999999 的事件" in tg.api.answers[before + 1].get("text", "")
    else:
        assert "没有编号为 #999999 的事件" in answer, answer


async def test_a_flood_from_an_unconfigured_chat_is_logged_at_a_bounded_rate(tg, caplog):
    """Anyone can add the bot to a group: its updates are ignored, and the log gets a few
    lines a minute and then a count, not one line per message."""
    import logging

    caplog.set_level(logging.INFO)
    for i in range(40):
        tg.api.message("-100555", tg.users["stranger"], f"/list {i}")
    tg.say("liqiang", "/help")  # updates are handled in order: its answer means the flood was read
    await tg.until(lambda: any("/claim" in t for t in tg.texts()))
    lines = [r for r in caplog.records if "ignored an update from unconfigured chat" in r.getMessage()]
    assert 1 <= len(lines) <= 5
    tg.platform.ignored.flush()
    assert any("35 more refused" in r.getMessage() for r in caplog.records)


async def test_close_on_a_stale_card_of_a_closed_incident_says_it_is_closed(tg):
    """关闭 pressed on an older card of an incident closed since: the presser is told at once,
    the card's buttons are not swapped for dispositions that can only be refused."""
    iid = next(r["id"] for r in tg.app.db.query("SELECT id FROM incidents WHERE grade IN ('III','IV') ORDER BY id"))
    card_id = tg.card_id(iid)
    stale = tg.api.buttons(GROUP, card_id)
    tg.say("liqiang", f"/close {iid} 已澄清")
    await tg.until(lambda: f"✅ #{iid} 由 李强 关闭，处置：已澄清" in tg.texts())
    await settled(tg.app)
    tg.api.messages[(GROUP, card_id)]["markup"] = {
        "inline_keyboard": [[{"text": t, "callback_data": d} for t, d in stale]]
    }  # as the card still looked on a phone that had not refreshed
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["zhoulan"], card_id, f"x:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before)
    answer = tg.api.answers[before]
    assert f"#{iid} 已关闭（已澄清）" in answer.get("text", "") and answer.get("show_alert") is True
    assert not any(d.startswith("d:") for _, d in tg.api.buttons(GROUP, card_id))


@pytest.mark.parametrize("fault", ["429", "500"])
async def test_close_choices_that_cannot_be_shown_are_explained(tg, fault):
    """关闭 swaps the card's buttons for the dispositions; when Telegram refuses that edit
    (flood control, an error), the press is answered with what to do, not silently."""
    iid = top(tg)
    card_id = tg.card_id(iid)
    tg.api.fail("editMessageReplyMarkup", fault, 5)
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["liqiang"], card_id, f"x:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before)
    answer = tg.api.answers[before]
    assert "按钮暂时无法更新" in answer.get("text", "") and "/close" in answer["text"]
    assert answer.get("show_alert") is True
    assert tg.app.service.get(iid).state.value == "new"


async def test_a_press_that_fails_inside_is_still_answered(tg, monkeypatch):
    iid = top(tg)

    async def broken(*a, **k):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(tg.platform.host, "press", broken)
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["liqiang"], tg.card_id(iid), f"c:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before)
    assert "操作未能完成" in tg.api.answers[before].get("text", "")


async def test_mute_all_and_unmute_all_are_announced_once_in_the_group(tg):
    tg.say("liqiang", "/mute all 2h")
    await tg.until(lambda: any(t.startswith("🔕 李强 开启全组静音") for t in tg.texts()))
    tg.say("liqiang", "/unmute all")
    await tg.until(lambda: "🔔 李强 取消了全组静音，恢复全部提醒" in tg.texts())
    tg.say("liqiang", "/unmute all")  # answered directly: handled after the first /unmute all
    await tg.until(lambda: "目前没有全组静音。" in tg.texts())
    await settled(tg.app)
    texts = [t for t in tg.texts() if "全组静音" in t]
    assert texts[0].startswith("🔕 李强 开启全组静音") and len(texts) == 3
    assert texts[1:] == ["🔔 李强 取消了全组静音，恢复全部提醒", "目前没有全组静音。"] or texts[1:] == [
        "目前没有全组静音。",
        "🔔 李强 取消了全组静音，恢复全部提醒",
    ]


async def test_close_on_a_card_waiting_for_signoff_says_so_at_once(tg):
    iid = top(tg)  # grade I: a close by staff waits for a leader's 销号
    card_id = tg.card_id(iid)
    tg.say("liqiang", f"/judge {iid} 系公务用车")
    tg.say("liqiang", f"/close {iid} 已澄清")
    await tg.until(lambda: any(f"📮 #{iid} 李强 申请关闭" in t for t in tg.texts()))
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["zhoulan"], card_id, f"x:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before)
    assert f"#{iid} 已申请关闭（已澄清），正待领导销号" in tg.api.answers[before].get("text", "")
    assert not any(d.startswith("d:") for _, d in tg.api.buttons(GROUP, card_id))


NEW_GROUP = "-1009876543210"


async def test_alerts_and_commands_follow_a_group_that_became_a_supergroup(tg):
    """Telegram gives a group a new id when it becomes a supergroup and refuses the old one.
    The next alert goes to the new id at once (nothing lost, nothing twice), commands typed in
    the new group are the team's, the admins are told to update the configuration, and after
    a restart the bot still knows (kept in the database, read by `open`)."""
    tg.api.migrate(GROUP, NEW_GROUP)
    seed(tg, "网友实名举报青石镇镇长李卫东收受红包", "有网友发帖称，青石镇镇长李卫东收受辖区企业红包。")
    await tg.until(lambda: any("李卫东" in m["text"] for m in tg.api.chat_log(NEW_GROUP)))
    cards = [m for m in tg.api.chat_log(NEW_GROUP) if "李卫东" in m["text"] and m["parse_mode"] == "HTML"]
    assert len(cards) == 1
    await tg.until(lambda: any("已升级为新群" in m["text"] for m in tg.api.chat_log(NEW_GROUP)))
    notice = next(m["text"] for m in tg.api.chat_log(NEW_GROUP) if "已升级为新群" in m["text"])
    assert NEW_GROUP in notice and "[teams.chats]" in notice
    # a command typed in the new group is answered there, as the team's group
    tg.say("wangmin", "/list", chat=NEW_GROUP)
    await tg.until(lambda: any(m["text"].startswith("待处置事件") for m in tg.api.chat_log(NEW_GROUP)))
    assert not tg.texts(GROUP) or all("待处置事件" not in t for t in tg.texts(GROUP))
    assert tg.app.host.moved_chats("telegram") == {GROUP: NEW_GROUP}  # what `open` reads after a restart


async def test_the_groups_service_message_moves_alerts_before_a_send_is_refused(tg):
    tg.api.migrate(GROUP, NEW_GROUP, service=True)
    await tg.until(lambda: tg.app.db.execute("SELECT COUNT(*) FROM chat_moves").fetchone()[0] == 1)
    refused = sum(1 for m, p in tg.api.calls if str(p.get("chat_id")) == GROUP)
    seed(tg, "网友实名举报青石镇镇长李卫东收受红包", "有网友发帖称，青石镇镇长李卫东收受辖区企业红包。")
    await tg.until(lambda: any("李卫东" in m["text"] for m in tg.api.chat_log(NEW_GROUP)))
    assert sum(1 for m, p in tg.api.calls if str(p.get("chat_id")) == GROUP) == refused  # no call to the old id


async def test_a_service_message_from_a_group_the_bot_does_not_serve_moves_nothing(tg):
    tg.api.migrate("-1005550001", "-1005550002", service=True)
    tg.say("wangmin", "/help")  # a later update: the service message was read before it
    await tg.until(lambda: any("/claim" in t for t in tg.texts()))
    assert tg.app.db.execute("SELECT COUNT(*) FROM chat_moves").fetchone()[0] == 0


def _notes(tg) -> int:
    return tg.app.db.execute("SELECT COUNT(*) FROM events WHERE action = 'note'").fetchone()[0]


async def test_an_edited_command_is_not_run_again(tg):
    """Editing a sent command (a typo fixed) must not act twice: the sender is told to send a
    new command; editing chatter says nothing."""
    iid = top(tg)
    mid = tg.say("liqiang", f"/note {iid} 已联系宣传部")
    await tg.until(lambda: _notes(tg) == 1)
    tg.api.edit(GROUP, tg.users["liqiang"], mid, f"/note {iid} 已联系网信办")
    await tg.until(lambda: any("编辑过的命令不会再次执行" in t for t in tg.texts()))
    tg.say("liqiang", "/help")  # a later update: the edit was handled before it
    await tg.until(lambda: any("/claim" in t for t in tg.texts()))
    assert _notes(tg) == 1
    chatter = tg.say("liqiang", "大家好")
    tg.api.edit(GROUP, tg.users["liqiang"], chatter, "大家早上好")
    before = len(tg.texts())
    tg.say("liqiang", "/help")
    await tg.until(lambda: len(tg.texts()) > before)
    assert not any(t.startswith("编辑过的命令") for t in tg.texts()[before:])


async def test_an_update_telegram_delivers_again_does_not_run_twice(tg):
    """Telegram re-sends updates a bot had not confirmed when it stopped; the same update id
    is acted on once, across restarts (remembered in the database)."""
    from telegram import Update

    iid = top(tg)
    tg.say("liqiang", f"/note {iid} 已联系宣传部")
    await tg.until(lambda: _notes(tg) == 1)
    again = Update.de_json(dict(tg.api.last_update), tg.platform.bot)
    await tg.platform.application.process_update(again)
    await tg.platform.application.process_update(again)
    assert _notes(tg) == 1


async def test_an_alert_the_group_refuses_is_reported_to_the_admins_elsewhere(tg):
    """The bot was removed from the group: Telegram refuses every card for good. The admin
    hears of it privately (once an hour per chat, not once per card), never in the group."""
    tg.api.kicked.add(GROUP)
    admin = str(IDS["wangmin"])
    a = seed(tg, "网友实名举报青石镇镇长李卫东收受红包", "有网友发帖称，青石镇镇长李卫东收受辖区企业红包。").incident_id
    await tg.until(lambda: any("投递失败" in m["text"] for m in tg.api.chat_log(admin)))
    notice = next(m["text"] for m in tg.api.chat_log(admin) if "投递失败" in m["text"])
    assert f"#{a}" in notice and GROUP in notice and "kicked" in notice and f"/show {a}" in notice
    assert seed(
        tg, "青石镇党委书记王海涛被留置审查", "据市纪委监委消息，青石镇党委书记王海涛涉嫌严重违纪违法被留置。"
    ).created
    await tg.until(lambda: tg.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0] >= 2)
    await tg.until(
        lambda: tg.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending','sending')").fetchone()[0] == 0
    )
    assert sum("投递失败" in m["text"] for m in tg.api.chat_log(admin)) == 1


def test_the_undeliverable_notice_quotes_no_token(make_app):
    """A platform's error may quote the request URL with its token or key: the admins' notice
    says why without it."""
    from storage.outbox import CARD, OutboxRow

    h = make_app(settings_kw={"telegram_bot_token": "123456:AAEsecretsecretsecretsecret"})
    row = OutboxRow(1, "console", "其他群", CARD, 7, {}, 2, 3)
    h.app._undeliverable(
        row,
        "WeCom unreachable: ConnectError: https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=tok3n-Abc "
        "via bot123456:AAEsecretsecretsecretsecret",
    )
    text = " ".join(r["payload"] for r in h.app.db.query("SELECT payload FROM outbox WHERE kind = 'text'"))
    assert "投递失败" in text and "#7" in text
    assert "tok3n-Abc" not in text and "AAEsecretsecretsecretsecret" not in text


async def test_a_card_whose_html_telegram_refuses_arrives_as_plain_text(tg):
    """Telegram refusing a card's HTML would refuse it on every retry: the alert goes out as
    plain text with its buttons, once, instead of never."""
    tg.api.fail("sendMessage", "entities")
    iid = seed(
        tg, "网友实名举报青石镇镇长李卫东收受红包", "有网友发帖称，青石镇镇长李卫东收受辖区企业红包。"
    ).incident_id
    await tg.until(lambda: any("李卫东" in m["text"] for m in tg.api.chat_log(GROUP)))
    cards = [m for m in tg.api.chat_log(GROUP) if "李卫东" in m["text"] and f"#{iid}" in m["text"]]
    assert len(cards) == 1 and cards[0]["parse_mode"] is None and cards[0]["markup"]
    assert "<b>" not in cards[0]["text"] and "定级理由" in cards[0]["text"]
    assert tg.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0] == 0


async def test_a_forwarded_command_is_not_run(tg):
    """A forwarded message is someone else's words: `/note 12 …` forwarded into the group (from
    another chat, or a colleague's) does not act as the forwarder's command."""
    iid = top(tg)
    tg.api.message(GROUP, tg.users["liqiang"], f"/note {iid} 转发来的备注", forwarded_from=tg.users["wangmin"])
    await tg.until(lambda: any("转发的消息不会作为命令执行" in t for t in tg.texts()))
    tg.say("liqiang", "/help")  # a later update: the forward was handled before it
    await tg.until(lambda: any("/claim" in t for t in tg.texts()))
    assert _notes(tg) == 0


async def test_an_edited_chinese_command_word_is_answered_like_a_slash_command(tg):
    """A command typed as its Chinese word (备注 12 …) is a command as much as /note: edited, it
    is not run again, and its sender is told why (the handlers decide what a command is)."""
    iid = top(tg)
    mid = tg.say("liqiang", f"备注 {iid} 已联系宣传部")
    await tg.until(lambda: _notes(tg) == 1)
    tg.api.edit(GROUP, tg.users["liqiang"], mid, f"备注 {iid} 已联系网信办")
    await tg.until(lambda: any("编辑过的命令不会再次执行" in t for t in tg.texts()))
    assert _notes(tg) == 1


async def test_a_bare_mention_of_the_bot_gets_the_help(tg):
    """'@yuqing_bot' alone in the group is someone pinging the bot: it answers what /help says;
    a mention of someone else is chatter, left alone."""
    before = len(tg.texts())
    tg.say("liqiang", "@zhoulan")
    tg.say("liqiang", "@yuqing_bot ")
    await tg.until(lambda: any(t.startswith("舆情哨兵 · 可用命令：") for t in tg.texts()[before:]))
    await settled(tg.app)
    assert sum(t.startswith("舆情哨兵 · 可用命令：") for t in tg.texts()[before:]) == 1


async def test_a_command_in_a_photo_or_file_caption_runs_like_text(tg):
    """Staff send a screenshot captioned '/note 12 …' or '备注 12 …': the caption is read as the
    same text would be (roles, group rules, once per update), and the sender is told the
    picture itself was not kept. A caption that is chatter gets nothing."""
    from telegram import Update

    iid = top(tg)
    tg.api.message(GROUP, tg.users["liqiang"], f"/note {iid} 已联系当事人", attach="photo")
    await tg.until(lambda: _notes(tg) == 1)
    await tg.until(lambda: any("所附图片未保存" in t for t in tg.texts()))
    again = Update.de_json(dict(tg.api.last_update), tg.platform.bot)
    await tg.platform.application.process_update(again)  # delivered again: not run again
    tg.api.message(GROUP, tg.users["zhoulan"], f"备注 {iid} 见截图", attach="document")
    await tg.until(lambda: _notes(tg) == 2)
    await tg.until(lambda: any("所附文件未保存" in t for t in tg.texts()))
    tg.api.message(GROUP, tg.users["hexiaoyu"], f"/note {iid} 乡镇补充", attach="photo")  # an officer
    await tg.until(lambda: any("无权使用 /note" in t for t in tg.texts()))
    before = len(tg.texts())
    tg.api.message(GROUP, tg.users["liqiang"], "大家看看这张图", attach="photo")
    tg.say("liqiang", "/help")  # a later update: the chatter was handled before it
    await tg.until(lambda: any("/claim" in t for t in tg.texts()[before:]))
    await settled(tg.app)
    assert _notes(tg) == 2
    assert not any("未保存" in t for t in tg.texts()[before:])
    notes = [
        str(json.loads(r["detail"]))
        for r in tg.app.db.query("SELECT detail FROM events WHERE action = 'note' ORDER BY id")
    ]
    assert "已联系当事人" in notes[0] and "见截图" in notes[1]


async def test_an_edited_or_forwarded_caption_command_is_not_run(tg):
    iid = top(tg)
    tg.api.message(
        GROUP, tg.users["liqiang"], f"/note {iid} 转发的截图", attach="photo", forwarded_from=tg.users["wangmin"]
    )
    await tg.until(lambda: any("转发的消息不会作为命令执行" in t for t in tg.texts()))
    mid = tg.api.message(GROUP, tg.users["liqiang"], "一张图", attach="photo")
    tg.api.edit(GROUP, tg.users["liqiang"], mid, f"/note {iid} 改成命令", attach="photo")
    await tg.until(lambda: any("编辑过的命令不会再次执行" in t for t in tg.texts()))
    tg.say("liqiang", "/help")
    await tg.until(lambda: any("/claim" in t for t in tg.texts()))
    assert _notes(tg) == 0


async def test_a_tip_sent_as_a_screenshot_caption(tg):
    """A township officer sends a screenshot captioned '/tip 链接 说明': the tip is taken as if
    typed, and the officer learns the screenshot itself was not kept."""
    import httpx

    from tests.test_tips import PAGE

    async def resolve(host):
        return ["93.184.216.34"]

    def world(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=PAGE.encode())

    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    tg.app.deps.resolve = resolve
    tg.app.deps.http = lambda: client
    chat = str(IDS["hexiaoyu"])
    tg.api.message(chat, tg.users["hexiaoyu"], "/tip https://news.example.cn/a/1 村干部称已到现场", attach="photo")
    await tg.until(lambda: tg.texts(chat))
    await client.aclose()
    reply = tg.texts(chat)[0]
    assert "已收到线索" in reply and "你的备注已记入事件" in reply
    assert reply.endswith("（所附图片未保存，只读取了说明文字；如需留存，请在备注中用文字描述图片内容。）")
    row = next(tg.app.db.query("SELECT tip_by FROM posts WHERE source_id = 'tip'"))
    assert row["tip_by"] == "hexiaoyu"


async def test_a_picture_sent_privately_without_text_is_answered_with_a_hint(tg):
    """A screenshot or a file sent to the bot privately with no caption is not silently
    dropped: the sender learns that only text is read and how to hand in a tip or a note. In
    the group such a message is chatter; a delivered-again update is answered once."""
    from telegram import Update

    me = str(IDS["hexiaoyu"])
    tg.api.message(me, tg.users["hexiaoyu"], "", attach="photo")
    await tg.until(lambda: any("机器人只读取文字" in t for t in tg.texts(me)))
    again = Update.de_json(dict(tg.api.last_update), tg.platform.bot)
    await tg.platform.application.process_update(again)
    tg.api.message(me, tg.users["hexiaoyu"], "", attach="document")
    await tg.until(lambda: sum("机器人只读取文字" in t for t in tg.texts(me)) == 2)
    before = len(tg.texts())
    tg.api.message(GROUP, tg.users["liqiang"], "", attach="photo")
    tg.say("liqiang", "/help")  # a later update: the picture was handled before it
    await tg.until(lambda: any("/claim" in t for t in tg.texts()[before:]))
    await settled(tg.app)
    assert not any("机器人只读取文字" in t for t in tg.texts())
    assert sum("机器人只读取文字" in t for t in tg.texts(me)) == 2
