"""WeCom QA: the real adapter against the fake WeCom server over HTTP, with WeCom's error
codes injected (how each is translated: retried, waited for, refreshed or given up), the
access token under concurrency, and hostile or odd callbacks."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.platforms.wecom.client import TOKEN_RETRY, WeComClient
from core.lifecycle import Action
from core.platform import DeliveryError, Outgoing
from core.render import Button, Card
from storage import outbox, write_tx
from tests.conftest import until
from tests.fake_wecom import AGENT_ID, CORP_ID, SECRET, FakeWeCom
from tests.test_wecom import USERS, WC, wecom_config


@pytest.fixture
async def bare(config_dir, tmp_path):
    """The adapter and the app, nothing collected: an empty outbox to put rows in."""
    fake = FakeWeCom(users=[*USERS.values(), "Stranger"])
    w = WC(fake, wecom_config(config_dir), tmp_path)
    await w.start(collect=False)
    yield w
    await w.stop()
    fake.close()


def _enqueue(w: WC, chat: str, text: str) -> int:
    with write_tx(w.app.db):
        return outbox.enqueue(
            w.app.db, w.app.clock(), platform="wecom", chat=chat, kind=outbox.TEXT, payload={"text": text}
        )


def _row(w: WC, row_id: int) -> dict:
    return dict(next(w.app.db.query("SELECT state, attempts, last_error FROM outbox WHERE id=?", [row_id])))


async def _tried(w: WC, row_id: int) -> dict:
    """Deliver until the row has been tried once (sent, given up, or waiting for a retry)."""
    w.app.deliverer.kick()
    await until(lambda: _row(w, row_id)["state"] != "pending" or _row(w, row_id)["last_error"])
    await w.settled()
    return _row(w, row_id)


# WeCom's global error codes (developer.work.weixin.qq.com/document/path/90313) that say the
# message can never be sent as it is: the chat or person is gone or out of the app's reach,
# or the message itself is refused. Retrying cannot help; the row is given up at once and the
# admins are told (App._undeliverable).
NEVER_ROBOT = {
    93000: "机器人webhookurl不合法或者机器人已经被移除出群",
    93004: "机器人被停用",
    93008: "不在群里",
    45002: "消息内容大小超过限制",
    40058: "不合法的参数",
}
NEVER_APP = {
    40003: "无效的UserID",
    60011: "指定的成员/部门/标签参数无权限",
    60111: "UserID不存在",
    60021: "userid不在应用可见范围内",
    81013: "UserID、部门ID、标签ID全部非法或无权限",
    82001: "指定的成员/部门/标签全部为空",
    45002: "消息内容大小超过限制",
    44004: "文本消息content参数为空",
    48002: "API接口无权限调用",
    50002: "成员不在权限范围",
}


async def test_refusals_that_can_never_succeed_are_given_up_at_once_and_reported(bare):
    for chat, path, codes in (
        ("robot:city", "/webhook/send", NEVER_ROBOT),
        ("LiQiang", "/message/send", NEVER_APP),
    ):
        for code, meaning in codes.items():
            bare.fake.fail(path, str(code))
            rid = _enqueue(bare, chat, f"发不出去 {code}")
            row = await _tried(bare, rid)
            assert row["state"] == "dead" and row["attempts"] == 1, (code, meaning, row)
            assert str(code) in row["last_error"]
    notices = [
        r["payload"] for r in bare.app.db.query("SELECT payload FROM outbox WHERE payload LIKE '%undeliverable%'")
    ]
    # the admins heard of both chats through their other chats (at most once an hour per chat)
    assert any("robot:city" in p for p in notices) and any("LiQiang" in p for p in notices)


async def test_system_busy_is_retried_and_sent_once(bare):
    for chat, path in (("robot:city", "/webhook/send"), ("LiQiang", "/message/send")):
        bare.fake.fail(path, "-1")
        rid = _enqueue(bare, chat, f"繁忙后送达 {chat}")
        row = await _tried(bare, rid)
        assert row["state"] == "pending" and row["attempts"] == 1, row
        with write_tx(bare.app.db):
            bare.app.db.execute("UPDATE outbox SET not_before=NULL WHERE id=?", [rid])
        bare.app.deliverer.kick()
        await until(lambda rid=rid: _row(bare, rid)["state"] == "sent")
    assert bare.fake.texts().count("繁忙后送达 robot:city") == 1
    assert bare.fake.user_texts("LiQiang").count("繁忙后送达 LiQiang") == 1


async def test_an_expired_token_under_concurrent_sends_is_fetched_once(bare):
    """Many answers going out when the token expires: one gettoken, not one per answer
    (WeCom rate-limits gettoken: '不能频繁调用gettoken接口，否则会受到频率拦截')."""
    client = bare.platform.client
    await client.access_token()
    calls = bare.fake.gettoken_calls
    bare.fake.expire_tokens()
    users = ["LiQiang", "WangMin", "ZhouLan", "ChenBZ", "HeXY"]
    await asyncio.gather(*(client.send_all(u, [{"msgtype": "text", "text": {"content": "hi"}}], None) for u in users))
    assert all(bare.fake.user_texts(u) == ["hi"] for u in users)
    assert bare.fake.gettoken_calls == calls + 1


async def test_a_failing_gettoken_is_not_asked_again_by_every_answer(bare):
    """gettoken busy (-1) while many answers wait: it is asked once, the answers fail (and are
    retried by their callers later), and a few seconds on a new token is fetched."""
    client = bare.platform.client
    now = [1000.0]
    client.clock = lambda: now[0]
    client._token = None
    bare.fake.fail("/gettoken", "-1")
    calls = bare.fake.gettoken_calls
    body = [{"msgtype": "text", "text": {"content": "hi"}}]
    results = await asyncio.gather(
        *(client.send_all(u, body, None) for u in ["LiQiang", "WangMin", "ZhouLan", "ChenBZ"]),
        return_exceptions=True,
    )
    assert all(isinstance(r, DeliveryError) and not r.permanent for r in results), results
    assert bare.fake.gettoken_calls == calls + 1
    now[0] += TOKEN_RETRY + 1
    await client.send_all("LiQiang", body, None)
    assert bare.fake.user_texts("LiQiang") == ["hi"] and bare.fake.gettoken_calls == calls + 2


# ---------------------------------------------------------------------------- callbacks


async def test_a_command_after_an_at_mention_is_run(bare):
    """'@舆情哨兵 认领 12', with the space WeCom puts after a mention (U+2005) or a full-width
    one: the mention is not part of the command."""
    for i, text in enumerate(["@舆情哨兵\u2005列表", "＠舆情哨兵\u3000/list", "@舆情哨兵 @舆情哨兵  列表"]):
        await bare.say("liqiang", text)
        await until(lambda i=i: len(bare.fake.user_texts("LiQiang")) > i)
    answers = bare.fake.user_texts("LiQiang")
    assert answers == ["目前没有待处置的事件。"] * 3


async def test_a_signed_message_with_repeated_or_attributed_elements_is_answered(bare, caplog):
    """Each element of a decrypted message is read as one string: the first of repeated ones,
    the text of one with attributes. Before, a list or a dict reached the dispatcher, which
    failed with a traceback and left the sender without an answer."""
    xml = bare.fake.callback_xml("LiQiang", text="列表").replace(
        "</Content>", "</Content><Content><![CDATA[/mine]]></Content>"
    )
    assert (await bare.post(*bare.fake.encrypt(xml))).status_code == 200
    xml = bare.fake.callback_xml("WangMin", text="/list").replace("<FromUserName>", "<FromUserName lang='zh'>")
    assert (await bare.post(*bare.fake.encrypt(xml))).status_code == 200
    await bare.settled()
    assert bare.fake.user_texts("LiQiang") == bare.fake.user_texts("WangMin") == ["目前没有待处置的事件。"]
    assert "handling a callback message failed" not in caplog.text


# ---------------------------------------------------------------------------- tokens


async def test_two_processes_and_a_restart_share_the_token_without_hammering_gettoken(bare):
    """Each process caches its own token; WeCom hands both the same one, so neither
    invalidates the other; after expiry each fetches once; a restart fetches once."""
    fake = bare.fake

    def client() -> WeComClient:
        c = WeComClient(api_base=fake.base_url, corp_id=CORP_ID, agent_id=AGENT_ID, secret=SECRET, robot_keys={})
        c.open()
        return c

    a, b = client(), client()
    calls = fake.gettoken_calls
    body = [{"msgtype": "text", "text": {"content": "x"}}]
    try:
        for _ in range(3):
            await asyncio.gather(a.send_all("LiQiang", body, None), b.send_all("WangMin", body, None))
        assert fake.gettoken_calls == calls + 2
        fake.expire_tokens()
        for _ in range(3):
            await asyncio.gather(a.send_all("LiQiang", body, None), b.send_all("WangMin", body, None))
        assert fake.gettoken_calls == calls + 4
        await b.close()
        b = client()  # b restarts
        for _ in range(3):
            await asyncio.gather(a.send_all("LiQiang", body, None), b.send_all("WangMin", body, None))
        assert fake.gettoken_calls == calls + 5
        assert len(fake.user_texts("LiQiang")) == len(fake.user_texts("WangMin")) == 9
    finally:
        await a.close()
        await b.close()


# ---------------------------------------------------------------------------- odd answers


async def test_errcodes_sent_as_strings_are_read_as_numbers(bare):
    """'"errcode": "0"' is success: before, it was taken for an error and the message, which
    had arrived, was sent again at every retry."""
    bare.fake.string_errcodes = True
    rid = _enqueue(bare, "robot:city", "只发一次")
    row = await _tried(bare, rid)
    assert row["state"] == "sent", row
    assert bare.fake.texts() == ["只发一次"]
    bare.fake.fail("/webhook/send", "93000")  # and a string refusal is still understood
    rid = _enqueue(bare, "robot:city", "发不出去")
    assert (await _tried(bare, rid))["state"] == "dead"


async def test_an_answer_that_is_not_a_json_object_is_a_transient_failure(bare, caplog):
    for answer in ('json:[]', 'json:"ok"', 'json:{"errcode": "busy"}', "json:null"):
        bare.fake.fail("/webhook/send", answer)
        rid = _enqueue(bare, "robot:city", f"稍后 {answer}")
        row = await _tried(bare, rid)
        assert row["state"] == "pending" and row["attempts"] == 1 and "WeCom" in row["last_error"], (answer, row)
    assert "unexpected error" not in caplog.text


async def test_a_send_whose_answer_times_out_is_uncertain(bare):
    """WeCom took the message but its answer came too late: the failure says the message may
    have arrived (the outbox sends it again, at-least-once, and logs it as a possible repeat)."""
    client = bare.platform.client
    await client.http.aclose()
    client.http = httpx.AsyncClient(timeout=httpx.Timeout(0.3))
    bare.fake.slow = 0.8
    with pytest.raises(DeliveryError) as e:
        await client.send_all("robot:city", [{"msgtype": "text", "text": {"content": "迟到的回答"}}], None)
    assert e.value.uncertain and not e.value.permanent
    assert bare.fake.texts() == ["迟到的回答"]
    bare.fake.slow = 0.0
    bare.fake.down()  # nothing listens: certainly not sent
    with pytest.raises(DeliveryError) as e:
        await client.send_all("robot:city", [{"msgtype": "text", "text": {"content": "没发出"}}], None)
    assert not e.value.uncertain


async def test_a_gettoken_answer_without_a_usable_token_is_a_failure_that_logs_no_token(bare, caplog):
    client = bare.platform.client
    client._token = None
    for answer in ('json:{"errcode": 0}', 'json:{"errcode": 0, "access_token": "SECRET-TOKEN-1", "expires_in": "x"}'):
        bare.fake.fail("/gettoken", answer)
        client._token_failed = None
        with pytest.raises(DeliveryError) as e:
            await client.send_all("LiQiang", [{"msgtype": "text", "text": {"content": "x"}}], None)
        assert "usable token" in str(e.value) and "SECRET-TOKEN-1" not in str(e.value)
    assert bare.fake.user_texts("LiQiang") == []


async def test_messages_without_a_msgid_are_told_apart_by_what_they_say(bare):
    """A message without MsgId (events have none; a gateway may drop it) is remembered by its
    sender, time, kind and content: two different commands in the same second both run, the
    same one delivered again runs once."""
    import re

    def no_id(text: str, ts: int) -> str:
        xml = bare.fake.callback_xml("LiQiang", text=text)
        return re.sub(
            r"<MsgId>\d+</MsgId>", "", re.sub(r"<CreateTime>\d+</CreateTime>", f"<CreateTime>{ts}</CreateTime>", xml)
        )

    ts = 1_700_000_000
    for xml in (no_id("/list", ts), no_id("/mine", ts), no_id("/list", ts)):
        assert (await bare.post(*bare.fake.encrypt(xml))).status_code == 200
    await bare.settled()
    answers = bare.fake.user_texts("LiQiang")
    assert len(answers) == 2 and answers.count("目前没有待处置的事件。") == 1, answers


async def test_a_template_card_wecom_refuses_goes_out_as_markdown(bare):
    """A private card WeCom will not take as a template card (a field it refuses: 40058
    不合法的参数) still reaches the person, as markdown naming the commands; a refusal of the
    person (81013) is not retried that way."""
    card = Card(
        header="🔴 I 特别重大 · #7 · 干部作风",
        title="某局长公车私用",
        url="https://a.example/7",
        fields=(("来源", "论坛"),),
        buttons=(Button("认领", Action.CLAIM, 7),),
    )
    bare.fake.fail("/message/send", "40058")
    await bare.platform.send("LiQiang", Outgoing(card=card, incident_id=7))
    sent = bare.fake.to_user("LiQiang")
    assert [b["msgtype"] for b in sent] == ["markdown"] and "「认领 7」" in sent[0]["markdown"]["content"]
    bare.fake.fail("/message/send", "81013")
    with pytest.raises(DeliveryError) as e:
        await bare.platform.send("WangMin", Outgoing(card=card, incident_id=7))
    assert e.value.permanent and bare.fake.to_user("WangMin") == []
