"""The Telegram adapter against Bot API emulators, which answer differently from Telegram: methods
they lack, fewer fields, odd dates, no long polling, update ids counted again, HTML error pages,
updates of shapes Telegram sends rarely (forum topics, channel posts, inaccessible messages).
The real python-telegram-bot talks HTTP to tests/fake_telegram.py switched to each behaviour.
Whatever the emulator does, the bot keeps serving, and no alert is lost or sent twice."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import HIGH, seed, settled
from tests.fake_telegram import FakeBotAPI
from tests.test_telegram import GROUP, TG, telegram_config


class Emu(TG):
    async def start(self, collect=False, digest_after=100):
        await super().start(collect=collect, digest_after=digest_after)
        self.started = True

    def replies(self, chat=GROUP) -> list[dict]:
        return [m for m in self.api.chat_log(chat) if m["parse_mode"] != "HTML"]

    async def alert(self) -> tuple[int, int]:
        """One new grade-I incident; (its number, its card's message id) once the card is out."""
        result = seed(self, *HIGH)
        iid = result.incident_id
        await self.until(lambda: any(m["parse_mode"] == "HTML" and f"· #{iid} ·" in m["text"] for m in self.api.sent))
        return iid, self.card_id(iid)

    def cards(self, iid: int) -> list[dict]:
        return [m for m in self.api.sent if m["parse_mode"] == "HTML" and f"· #{iid} ·" in m["text"]]


@pytest.fixture
async def emu(config_dir, tmp_path):
    api = FakeBotAPI()
    t = Emu(api, telegram_config(config_dir), tmp_path)
    t.started = False
    yield t
    if t.started:
        await t.stop()
    api.close()


async def help_answered(t: Emu, chat=GROUP, **kw) -> dict:
    """`/help` is sent in `chat` and answered there; the answer."""
    before = len(t.replies(chat))
    t.api.message(chat, t.users["liqiang"], "/help", **kw)
    await t.until(lambda: len(t.replies(chat)) > before, timeout=10)
    return t.replies(chat)[before]


# ---------------------------------------------------------------- start-up


@pytest.mark.parametrize("style", ["404", "500", "200"])
async def test_start_up_goes_on_when_optional_methods_are_missing(emu, style, caplog):
    """setMyCommands, deleteWebhook (which polling calls first) and the like, answered as an
    emulator without them answers: a warning, and the bot serves."""
    emu.api.unsupported = {"setMyCommands", "deleteWebhook", "getMyCommands", "setChatMenuButton"}
    emu.api.missing_style = style
    with caplog.at_level(logging.WARNING):
        await emu.start()
        await help_answered(emu)
    assert not emu.task.done()
    assert any("setMyCommands" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_a_gateway_error_when_polling_starts_is_retried(emu):
    emu.api.fail("deleteWebhook", "502html", times=2)
    await emu.start()
    emu.platform.retry_max = 0.2
    await help_answered(emu)
    assert not emu.task.done()


async def test_get_me_with_fewer_fields(emu):
    """telegram-test-api answers getMe with id, first_name and username only (no is_bot)."""
    emu.api.bot_info = {"id": 666, "first_name": "Test First name", "username": "TestNameBot"}
    await emu.start()
    emu.api.message(GROUP, emu.users["liqiang"], "/help@TestNameBot")
    await emu.until(lambda: len(emu.replies()) == 1, timeout=10)


async def test_get_me_answered_ok_false_with_http_200_is_retried(emu):
    emu.api.fail("getMe", "okfalse")
    await emu.start()
    emu.platform.retry_max = 0.2
    await help_answered(emu)


# ---------------------------------------------------------------- updates


def _msg(**kw) -> dict:
    base = {
        "message_id": 5000,
        "date": 1_700_000_000,
        "chat": {"id": int(GROUP), "type": "supergroup", "title": "监测群"},
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


USER = {"id": 1001, "is_bot": False, "first_name": "liqiang"}
ODD_UPDATES = {
    "message without date": {"message": _msg(date=None, **{"from": USER}, text="/help")},
    "date in milliseconds": {"message": _msg(date=1_700_000_000_000, **{"from": USER}, text="/help")},
    "sender without is_bot": {"message": _msg(**{"from": {"id": 1001, "first_name": "liqiang"}}, text="/help")},
    "message without chat": {"message": _msg(chat=None, **{"from": USER}, text="/help")},
    "callback without chat_instance": {
        "callback_query": {"id": "q1", "from": USER, "data": "c:1", "message": _msg(**{"from": USER}, text="x")}
    },
    "callback whose message has no id": {
        "callback_query": {
            "id": "q2",
            "from": USER,
            "chat_instance": "ci",
            "data": "c:1",
            "message": {"chat": {"id": 1}},
        }
    },
    "a kind of update this library does not know": {"business_message": {"message_id": 1, "text": "hi"}},
    "channel post without from": {
        "channel_post": _msg(chat={"id": int(GROUP), "type": "channel", "title": "频道"}, text="/list")
    },
    "anonymous admin": {
        "message": _msg(
            **{"from": {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}},
            sender_chat={"id": int(GROUP), "type": "supergroup", "title": "监测群"},
            text="/list",
        )
    },
    "via bot": {"message": _msg(**{"from": USER}, via_bot={"id": 5, "is_bot": True, "first_name": "x"}, text="hi")},
    "bot added to a group": {
        "my_chat_member": {
            "chat": {"id": -100555, "type": "supergroup", "title": "别的群"},
            "from": USER,
            "date": 1_700_000_000,
            "old_chat_member": {"status": "left", "user": {"id": 999, "is_bot": True, "first_name": "b"}},
            "new_chat_member": {"status": "member", "user": {"id": 999, "is_bot": True, "first_name": "b"}},
        }
    },
}


@pytest.mark.parametrize("shape", list(ODD_UPDATES))
async def test_an_update_of_an_unexpected_shape_does_not_stop_the_updates_after_it(emu, shape):
    await emu.start()
    emu.api.raw(ODD_UPDATES[shape])
    await help_answered(emu)
    assert not emu.task.done()


async def test_an_emulator_counting_update_ids_from_one_again_is_still_heard(emu):
    """An emulator restarted while the bot runs (or the bot's database kept from an earlier run):
    update ids come again, for new messages. Only a repeat of the same update is dropped."""
    emu.api.ignore_offset = True
    await emu.start()
    await help_answered(emu)
    emu.api.restart_update_ids()
    await help_answered(emu)


async def test_an_emulator_without_long_polling_is_not_polled_in_a_tight_loop(emu):
    """telegram-test-api answers getUpdates at once: polling must not turn into hundreds of
    requests a second (CPU for both), and updates still arrive."""
    emu.api.long_poll = False
    await emu.start()
    await help_answered(emu)
    before = emu.api.polls
    await asyncio.sleep(1.0)
    assert emu.api.polls - before <= 5
    await help_answered(emu)


async def test_an_update_delivered_twice_still_runs_once(emu):
    emu.api.ignore_offset = True
    await emu.start()
    iid, _ = await emu.alert()
    emu.api.message(GROUP, emu.users["liqiang"], f"/note {iid} 第一次")
    update = emu.api.last_update
    await emu.until(lambda: any("第一次" in m["text"] for m in emu.replies()) or _notes(emu, iid) == 1, timeout=10)
    emu.api._update_ids = iter([update["update_id"], 10_000])
    emu.api.raw({"message": update["message"]})  # the same update, same id, again
    await help_answered(emu)
    await settled(emu.app)
    assert _notes(emu, iid) == 1


async def test_a_mock_sending_every_update_again_and_again_runs_each_once(emu):
    """A mock that ignores the offset, and leaves out `date` (which the bot then fills in):
    every poll brings the same updates again, each is acted on once."""
    emu.api.redeliver = True
    await emu.start()
    iid, _ = await emu.alert()
    emu.api.raw({"message": _msg(message_id=7000, date=None, **{"from": USER}, text=f"/note {iid} 只记一次")})
    await emu.until(lambda: _notes(emu, iid) == 1, timeout=10)
    answer = await help_answered(emu)
    await asyncio.sleep(0.5)  # a few more polls, each with both updates
    await settled(emu.app)
    assert _notes(emu, iid) == 1
    assert len([m for m in emu.replies() if m["text"] == answer["text"]]) == 1


def _notes(t, iid) -> int:
    sql = "SELECT COUNT(*) FROM events WHERE incident_id = ? AND action = 'note'"
    return t.app.db.execute(sql, [iid]).fetchone()[0]


async def test_a_command_sent_as_the_group_is_not_run_and_says_why(emu):
    """An anonymous group admin's message comes from GroupAnonymousBot on behalf of the group:
    nobody whose role could be checked."""
    await emu.start()
    iid, _ = await emu.alert()
    emu.api.raw(
        {
            "message": _msg(
                message_id=6000,
                date=int(time.time()),
                **{"from": {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}},
                sender_chat={"id": int(GROUP), "type": "supergroup", "title": "监测群"},
                text=f"/claim {iid}",
                entities=[{"type": "bot_command", "offset": 0, "length": 6}],
            )
        }
    )
    await emu.until(lambda: any("匿名" in m["text"] for m in emu.replies()), timeout=10)
    await settled(emu.app)
    assert emu.app.service.get(iid).assignee is None
    assert not any("你还没有登记" in m["text"] for m in emu.replies())


@pytest.mark.parametrize("fault", ["502html", "500", "okfalse"])
async def test_an_answer_to_a_command_survives_a_gateway_error(emu, fault):
    """A command's answer is sent at once (not through the outbox): a 5xx is tried again."""
    await emu.start()
    emu.api.fail("sendMessage", fault)
    answer = await help_answered(emu)
    assert answer["text"].startswith(emu.replies()[0]["text"][:10])
    assert len(emu.replies()) == 1


async def test_a_command_deleted_before_the_answer_is_still_answered(emu):
    """A clean-up bot (or the sender) deletes the command at once: the answer cannot quote it,
    and goes out without the quote."""
    emu.api.strict_replies = True
    await emu.start()
    emu.api.message(GROUP, emu.users["liqiang"], "/help", deleted=True)
    await emu.until(lambda: len(emu.replies()) == 1, timeout=10)


# ---------------------------------------------------------------- forum topics


async def test_a_command_in_a_forum_topic_is_answered_in_that_topic(emu):
    await emu.start()
    answer = await help_answered(emu, thread=77)
    assert answer["thread"] == 77
    answer = await help_answered(emu)  # the General topic: no thread
    assert answer["thread"] is None


async def test_a_command_in_a_topic_acts_on_its_number_not_on_the_topic(emu):
    """In a forum topic Telegram marks every message as a reply to the topic's first message;
    that is not a reply to a card."""
    await emu.start()
    iid, _ = await emu.alert()
    emu.api.message(GROUP, emu.users["liqiang"], f"/claim {iid}", thread=77)
    await emu.until(lambda: any(f"✋ #{iid} 已由 李强 认领" in m["text"] for m in emu.replies()), timeout=10)


async def test_a_long_answer_in_a_topic_stays_in_the_topic(emu):
    """Every part of an answer longer than one message goes to the topic, also when the emulator
    answers a sent message without its topic."""
    await emu.start()
    emu.api.answer_style = "bare"
    before = len(emu.replies())
    emu.platform.text_limit = (300, len)  # /help in several parts
    emu.api.message(GROUP, emu.users["liqiang"], "/help", thread=77)
    await emu.until(lambda: len(emu.replies()) >= before + 2, timeout=10)
    await asyncio.sleep(0.3)
    parts = emu.replies()[before:]
    assert {p["thread"] for p in parts} == {77}


async def test_a_topic_configured_as_the_teams_chat_gets_the_alerts(config_dir, tmp_path):
    """`telegram = "-1001234567890/55"`: a forum group's topic 55 is the monitoring chat. Cards go
    into that topic (not the General topic), a press on one acts and the card is edited in
    place, and commands typed in any topic of the group are served and answered there."""
    from tests.conftest import config_with_handles
    from tests.test_telegram import IDS

    cfg = config_with_handles(
        config_dir,
        "telegram",
        {pid: str(uid) for pid, uid in IDS.items()},
        replace={'# telegram = "-1001234567890"': f'telegram = "{GROUP}/55"'},
    )
    api = FakeBotAPI()
    t = Emu(api, cfg, tmp_path)
    try:
        await t.start()
        iid, card = await t.alert()
        (sent,) = t.cards(iid)
        assert sent["chat"] == GROUP and sent["thread"] == 55
        api.press(GROUP, t.users["liqiang"], card, f"c:{iid}")
        await t.until(lambda: api.messages[(GROUP, card)].get("edits", 0) >= 1, timeout=10)
        assert "李强" in api.messages[(GROUP, card)]["text"]
        await t.until(lambda: any(f"✋ #{iid} 已由 李强 认领" in m["text"] for m in t.replies()), timeout=10)
        (notice,) = [m for m in t.replies() if f"✋ #{iid} 已由 李强 认领" in m["text"]]
        assert notice["thread"] == 55  # the team's notices go to its topic too
        for thread in (77, 55):  # another topic of the group is served too, and answered there
            api.message(GROUP, t.users["liqiang"], "/help", thread=thread)
            await t.until(lambda th=thread: any("可用命令" in m["text"] and m["thread"] == th for m in t.replies()))
    finally:
        await t.stop()
        api.close()


def test_a_configured_topic_is_read_from_the_chat_value():
    from bot.platforms.telegram import split_topic

    assert split_topic("-1001234567890/55") == ("-1001234567890", 55)
    assert split_topic(" -1001234567890/55 ") == ("-1001234567890", 55)
    assert split_topic("-1001234567890") == ("-1001234567890", None)
    assert split_topic("@yuqing_group") == ("@yuqing_group", None)


# ---------------------------------------------------------------- buttons


async def test_a_press_on_an_inaccessible_card_still_acts_and_is_answered(emu):
    """Telegram sends an InaccessibleMessage (date 0) for a card it no longer shows the bot."""
    await emu.start()
    iid, card = await emu.alert()
    emu.api.press(GROUP, emu.users["liqiang"], card, f"c:{iid}", message="inaccessible")
    await emu.until(lambda: len(emu.api.answers) == 1, timeout=10)
    assert emu.api.answers[0].get("text") == "✅ 已完成"
    await emu.until(lambda: "处置中 · 李强" in emu.card(iid)["text"])
    assert [t for t, _ in emu.api.buttons(GROUP, card)] == ["备注", "升级", "关闭"]


async def test_a_press_without_its_message_is_answered_with_a_hint(emu):
    await emu.start()
    iid, card = await emu.alert()
    emu.api.press(GROUP, emu.users["liqiang"], card, f"c:{iid}", message="none")
    await emu.until(lambda: len(emu.api.answers) == 1, timeout=10)
    text = emu.api.answers[0].get("text", "")
    assert f"/claim {iid}" in text and "卡片" in text
    await settled(emu.app)
    assert "处置中" not in emu.card(iid)["text"]


@pytest.mark.parametrize("fault", ["too_old", "502html"])
async def test_a_press_whose_answer_fails_is_still_done(emu, fault, caplog):
    await emu.start()
    iid, card = await emu.alert()
    emu.api.fail("answerCallbackQuery", fault)
    with caplog.at_level(logging.WARNING):
        emu.api.press(GROUP, emu.users["liqiang"], card, f"c:{iid}")
        await emu.until(lambda: any(f"✋ #{iid} 已由 李强 认领" in m["text"] for m in emu.replies()), timeout=10)
        await emu.until(lambda: "处置中 · 李强" in emu.card(iid)["text"])
        await emu.until(lambda: any("could not answer a button press" in r.getMessage() for r in caplog.records))
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ---------------------------------------------------------------- delivery


@pytest.mark.parametrize("fault", ["502html", "504html", "okfalse"])
async def test_a_gateway_page_instead_of_json_is_retried_and_the_card_sent_once(emu, fault):
    await emu.start()
    emu.api.fail("sendMessage", fault)  # the card's first send: nothing done, the page says
    iid, _ = await emu.alert()
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1


async def test_a_send_answered_without_the_message_id_is_not_sent_again(emu):
    """A mock answering every send with `true`: the card went out; which message it became is
    not known (a change then sends the card anew, it cannot be edited), but it is not repeated."""
    emu.api.answer_style = "noid"
    await emu.start()
    iid, _ = await emu.alert()
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1
    waiting = "SELECT COUNT(*) FROM outbox WHERE state NOT IN ('sent', 'superseded')"
    assert emu.app.db.execute(waiting).fetchone()[0] == 0  # done: no retry to send it again


@pytest.mark.parametrize("style", ["ms", "bare"])
async def test_an_odd_answer_to_a_sent_card_does_not_send_it_again(emu, style):
    """telegram-test-api answers a sent message with its date in milliseconds; a minimal mock
    with the message id and the chat only. Either way the card was sent: once."""
    emu.api.answer_style = style
    await emu.start()
    iid, _ = await emu.alert()
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1
    emu.api.message(GROUP, emu.users["liqiang"], f"/claim {iid}")
    await emu.until(lambda: "处置中 · 李强" in emu.card(iid)["text"], timeout=10)
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1


async def test_edits_answered_with_null_count_as_done(emu):
    emu.api.answer_style = "null"
    await emu.start()
    iid, _ = await emu.alert()
    emu.api.message(GROUP, emu.users["liqiang"], f"/claim {iid}")
    await emu.until(lambda: "处置中 · 李强" in emu.card(iid)["text"], timeout=10)
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1
    waiting = "SELECT COUNT(*) FROM outbox WHERE state NOT IN ('sent', 'superseded')"
    assert emu.app.db.execute(waiting).fetchone()[0] == 0


@pytest.mark.parametrize(
    ("method", "fault"), [("sendPhoto", "502html"), ("sendDocument", "502html"), ("sendPhoto", "missing")]
)
async def test_a_report_whose_chart_fails_is_not_sent_again(emu, method, fault):
    """The report's text went out, its chart or its Word file did not (a 502; or an emulator
    without sendPhoto): the retry sends what is left, never the text (or the chart) again."""
    if fault == "missing":
        emu.api.unsupported = {method}
        emu.api.missing_style = "500"
    await emu.start()
    await emu.alert()
    if fault != "missing":
        emu.api.fail(method, fault)
    await emu.app._report_job("yesterday")
    await emu.until(lambda: any(m["text"].startswith("📊") for m in emu.replies()), timeout=10)
    if fault != "missing":
        await emu.until(lambda: emu.api.photos and emu.api.documents, timeout=10)
    else:  # an emulator without sendPhoto will not have it on a retry: the chart is given up
        dead = "SELECT COUNT(*) FROM outbox WHERE state = 'dead'"
        await emu.until(lambda: emu.app.db.execute(dead).fetchone()[0] == 1, timeout=10)
    await settled(emu.app)
    assert len([m for m in emu.replies() if m["text"].startswith("📊")]) == 1
    assert len(emu.api.photos) == (0 if fault == "missing" else 1)


async def test_a_reply_to_a_message_naming_several_incidents_acts_on_none_of_them(emu):
    """A digest names several incidents under one message id (and a mock that answers every
    send with the same id makes cards share one): a reply to it cannot say which incident is
    meant, so the bot asks for the number instead of acting on one of them."""
    await emu.start(digest_after=4)
    for title in (
        "白沙乡卫生院工作人员态度恶劣被投诉",
        "南湖区社区台账形式主义引居民吐槽",
        "江北区办事窗口推诿扯皮群众跑断腿",
        "青石镇村两委换届选举计票引质疑",
    ):
        seed(emu, title, "有网友发帖反映。")
    await emu.until(lambda: any(m["text"].startswith("📋 合并推送") for m in emu.api.sent), timeout=10)
    digest = next(m for m in emu.api.sent if m["text"].startswith("📋 合并推送"))
    before = len(emu.replies())
    emu.api.message(GROUP, emu.users["liqiang"], "/claim", reply_to=digest["message_id"])
    await emu.until(lambda: len(emu.replies()) > before, timeout=10)
    await settled(emu.app)
    assert emu.app.db.execute("SELECT COUNT(*) FROM incidents WHERE assignee IS NOT NULL").fetchone()[0] == 0
    assert "编号" in emu.replies()[before]["text"]


async def test_a_card_sent_while_the_token_is_revoked_waits_and_goes_out_once(emu):
    """Telegram answers every method 404 Not Found once the bot's token is revoked, as an
    emulator answers a method it does not have: for sendMessage that must stay a failure to
    retry (the alert waits for the token to be restored), never a refusal for good."""
    await emu.start()
    emu.api.fail("sendMessage", "revoked")
    result = seed(emu, *HIGH)
    iid = result.incident_id
    await emu.until(lambda: not any(f[0] == "sendMessage" for f in emu.api.faults), timeout=20)
    await emu.until(lambda: emu.cards(iid), timeout=20)
    await settled(emu.app)
    assert len(emu.cards(iid)) == 1
    assert emu.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0] == 0
