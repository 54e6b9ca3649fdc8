"""WeCom transcripts: the real adapter talking HTTP to a fake WeCom server on 127.0.0.1, and
callbacks encrypted and signed the way WeCom does it, posted to the adapter's own server."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import httpx
import pytest

from bot.app import App
from bot.config import load_config
from bot.platforms.wecom import WeComPlatform, card_markdown, template_card
from core.errors import SettingsError
from core.lifecycle import Action
from core.render import Button, Card
from storage import outbox, write_tx
from tests.conftest import config_with_handles, make_settings, seed, settled, until
from tests.fake_wecom import APP, CORP_ID, SECRET, FakeWeCom, app_env

USERS = {"wangmin": "WangMin", "liqiang": "LiQiang", "zhoulan": "ZhouLan", "chenbuzhang": "ChenBZ", "hexiaoyu": "HeXY"}


def wecom_config(config_dir):
    return config_with_handles(config_dir, "wecom", USERS)


def wecom_settings(tmp_path, fake, **kw):
    return make_settings(
        tmp_path,
        platform="wecom",
        **APP,
        wecom_robot_keys={"city": "key-city"},
        wecom_listen="127.0.0.1:0",
        wecom_api_base=fake.base_url,
        deliver_interval=0.2,
        **kw,
    )


class WC:
    def __init__(self, fake: FakeWeCom, cfg, tmp_path):
        self.fake, self.cfg, self.tmp_path = fake, cfg, tmp_path

    async def start(self, collect=True, digest_after=100, read_timeout=None, **settings):
        self.settings = wecom_settings(self.tmp_path, self.fake, collect_on_start=False, **settings)
        self.platform = WeComPlatform(self.cfg, settings=self.settings)
        self.platform.digest_after = digest_after
        if read_timeout is not None:
            self.platform.read_timeout = read_timeout
        self.app = App(self.settings, self.cfg, platforms={"wecom": self.platform})
        if collect:  # collected before the start: a backlog, delivered highest grade first
            await self.app.collect_once()
        await self.platform.open(self.app.host)
        await self.app.start()
        self.task = asyncio.create_task(self.platform.serve(self.app.host))
        await until(lambda: self.platform.port)
        self.url = f"http://127.0.0.1:{self.platform.port}/wecom/callback"
        self.http = httpx.AsyncClient(timeout=5)

    async def stop(self):
        await self.http.aclose()
        self.platform.stop()
        await asyncio.wait_for(self.task, 10)
        await self.app.stop()
        await self.platform.close()
        self.app.close()

    async def settled(self) -> None:
        """Every accepted callback handled, then delivery run to the end (see conftest.settled)."""
        await self.platform.idle()
        await settled(self.app)

    async def post(self, params, body) -> httpx.Response:
        return await self.http.post(self.url, params=params, content=body.encode())

    async def say(self, who: str, text: str, **kw) -> httpx.Response:
        uid = USERS.get(who, who)
        return await self.post(*self.fake.encrypt(self.fake.callback_xml(uid, text=text, **kw)))

    async def press(self, who: str, key: str) -> httpx.Response:
        return await self.post(*self.fake.encrypt(self.fake.callback_xml(USERS.get(who, who), event_key=key)))

    def cards(self):
        return self.fake.markdown("key-city")

    def texts(self):
        return self.fake.texts("key-city")

    def pending(self):
        return self.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]


@pytest.fixture
async def wc(config_dir, tmp_path):
    fake = FakeWeCom(users=[*USERS.values(), "Stranger"])
    w = WC(fake, wecom_config(config_dir), tmp_path)
    await w.start()
    await until(lambda: len(w.cards()) >= 6)
    await until(lambda: w.pending() == 0)
    yield w
    await w.stop()
    fake.close()


def top(w) -> int:
    return next(r["id"] for r in w.app.db.query("SELECT id FROM incidents WHERE grade='I'"))


# ---------------------------------------------------------------------------- rendering


def test_card_markdown_is_inert_and_within_the_byte_limit():
    card = Card(
        header="🔴 I 特别重大 · #9 · 干部作风",
        title="[点我](http://evil.example) **假** <font>" + "标" * 3000,
        url="https://a.example/x (1)",
        fields=(("来源", "论坛 > 媒体"), ("定级理由", "理" * 3000)),
        buttons=(Button("认领", Action.CLAIM, 9),),
    )
    md = card_markdown(card)
    assert len(md.encode()) <= 4096
    assert "[点我](http" not in md and "**假**" not in md and "<font>" not in md
    assert "https://a.example/x%20%281%29" in md
    assert md.startswith('### <font color="warning">🔴 I 特别重大')
    assert "「认领 9」" in md


def test_template_card_respects_wecom_field_limits():
    card = Card(
        header="🟠 II 重大 · #3 · 招录考试" + "长" * 40,
        title="题" * 200,
        url="https://a.example/",
        fields=tuple((f"字段名很长{i}", "值" * 50) for i in range(8)),
        buttons=(Button("认领", Action.CLAIM, 3), Button("升级", Action.ESCALATE, 3)),
    )
    body = template_card(card, "yq3-abc")
    assert len(body["main_title"]["title"]) <= 26 and len(body["sub_title_text"]) <= 112
    assert len(body["horizontal_content_list"]) == 6
    assert all(len(h["keyname"]) <= 5 and len(h["value"]) <= 26 for h in body["horizontal_content_list"])
    assert [(b["text"], b["key"]) for b in body["button_list"]] == [("认领", "c:3"), ("升级", "e:3")]
    assert body["card_action"] == {"type": 1, "url": "https://a.example/"}


def test_missing_or_half_settings_are_clear_errors(config_dir, tmp_path):
    cfg = load_config(config_dir / "example.toml")
    with pytest.raises(SettingsError) as e:
        WeComPlatform(cfg, settings=make_settings(tmp_path))
    assert "YUQING_WECOM_ROBOT_KEYS" in e.value.render()
    with pytest.raises(SettingsError) as e:
        WeComPlatform(cfg, settings=make_settings(tmp_path, wecom_corp_id=CORP_ID, wecom_secret=SECRET))
    text = e.value.render()
    assert "YUQING_WECOM_TOKEN" in text and "YUQING_WECOM_AES_KEY" in text and "YUQING_WECOM_AGENT_ID" in text
    with pytest.raises(SettingsError) as e:
        WeComPlatform(
            cfg,
            settings=make_settings(
                tmp_path,
                wecom_corp_id=CORP_ID,
                wecom_secret=SECRET,
                wecom_agent_id=1,
                wecom_token="t",
                wecom_aes_key="short",
            ),
        )
    assert "YUQING_WECOM_AES_KEY" in e.value.render()


# ---------------------------------------------------------------------------- transcripts


async def test_alert_cards_go_to_the_group_robot_highest_grade_first(wc):
    cards = wc.cards()
    assert len(cards) == 6 and cards[0].startswith('### <font color="warning">🔴 I 特别重大')
    iid = top(wc)
    assert f"· #{iid} ·" in cards[0] and "](https://paper.province.example/" in cards[0]
    assert "**定级理由**：" in cards[0] and f"「认领 {iid}」" in cards[0]
    assert all(len(c.encode()) <= 4096 for c in cards)
    assert wc.fake.violations == 0


async def test_claim_by_chinese_alias_and_by_command(wc):
    iid = top(wc)
    r = await wc.say("liqiang", f"认领 {iid}")
    assert r.status_code == 200
    await until(lambda: f"✋ #{iid} 已由 李强 认领" in wc.texts())
    await until(lambda: wc.fake.user_texts("LiQiang"))
    r = await wc.say("zhoulan", "/claim 1")
    await until(lambda: "✋ #1 已由 周岚 认领" in wc.texts())
    assert wc.app.service.get(iid).assignee == "liqiang"
    await wc.settled()
    assert len(wc.cards()) == 6  # WeCom cannot edit: the notice tells the change, no second card


async def test_buttons_on_a_private_template_card(wc):
    iid = top(wc)
    await wc.say("chenbuzhang", "订阅 II")
    await until(lambda: any("已订阅" in t for t in wc.fake.user_texts("ChenBZ")))
    seed(
        wc, "网友实名举报江北区副区长刘海燕违纪吃拿卡要", "有网友实名举报刘海燕违纪，网友愤怒质疑。", source="provnews"
    )
    await until(lambda: wc.fake.to_user("ChenBZ", "template_card"))
    card = wc.fake.to_user("ChenBZ", "template_card")[0]["template_card"]
    assert card["card_type"] == "button_interaction" and card["button_list"]
    # a staff member claims from their own private card
    await wc.say("liqiang", "订阅 I")
    await until(lambda: any("已订阅" in t for t in wc.fake.user_texts("LiQiang")))
    await wc.press("liqiang", f"c:{iid}")
    await until(lambda: f"✋ #{iid} 已由 李强 认领" in wc.texts())
    await until(lambda: wc.fake.updates)
    assert wc.fake.updates[0]["button"] == {"replace_name": "已认领"}
    assert wc.fake.updates[0]["userids"] == ["LiQiang"]
    # close asks for the disposition in words
    await wc.press("liqiang", f"x:{iid}")
    await until(lambda: any(f"关闭 {iid} 处置方式" in t for t in wc.fake.user_texts("LiQiang")))
    await wc.say("liqiang", f"研判 {iid} 当事人已说明")
    await wc.say("liqiang", f"关闭 {iid} 已澄清 当事人已说明")
    await until(lambda: any(t.startswith(f"📮 #{iid} 李强 申请关闭，处置：已澄清（当事人已说明）") for t in wc.texts()))


async def test_two_users_pressing_claim_at_once(wc):
    iid = top(wc)
    a, b = await asyncio.gather(wc.press("liqiang", f"c:{iid}"), wc.press("zhoulan", f"c:{iid}"))
    assert a.status_code == b.status_code == 200
    await until(lambda: any("认领" in t for t in wc.texts()))
    await wc.settled()  # both callbacks handled and their notices delivered
    claims = [t for t in wc.texts() if t.startswith(f"✋ #{iid}")]
    assert len(claims) == 1
    loser = "ZhouLan" if "李强" in claims[0] else "LiQiang"
    assert any("已由" in t and "认领" in t for t in wc.fake.user_texts(loser))


async def test_note_escalate_close_with_aliases(wc):
    iid = top(wc)
    await wc.say("liqiang", f"认领 {iid}")
    await wc.say("liqiang", f"备注 {iid} 已联系交通局")
    await until(lambda: f"📝 #{iid} 李强：已联系交通局" in wc.texts())
    await wc.say("liqiang", f"升级 {iid}")
    await until(lambda: any(t.startswith(f"⏫ #{iid} 由 李强 升级") for t in wc.texts()))
    await wc.say("liqiang", f"研判 {iid} 系公务用车")
    await wc.say("liqiang", f"关闭 {iid} 已澄清")
    await until(lambda: any(t.startswith(f"📮 #{iid} 李强 申请关闭") for t in wc.texts()))
    await wc.say("wangmin", f"销号 {iid}")
    await until(lambda: f"✅ #{iid} 由 王敏 销号关闭，处置：已澄清" in wc.texts())
    texts = [t for t in wc.texts() if f"#{iid}" in t]
    assert [t[:1] for t in texts] == ["⬆", "✋", "📘", "📝", "⏫", "🧭", "📮", "✅"]  # in the order they happened


async def test_unknown_sender_and_member_without_the_role(wc, caplog):
    caplog.set_level(logging.WARNING, logger="bot.platforms.wecom")
    await wc.say("Stranger", "/claim 1")
    await until(lambda: wc.fake.user_texts("Stranger"))
    assert "你还没有登记" in wc.fake.user_texts("Stranger")[0]
    assert "unknown user Stranger" in caplog.text
    await wc.say("hexiaoyu", f"认领 {top(wc)}")
    await until(lambda: wc.fake.user_texts("HeXY"))
    assert "无权" in wc.fake.user_texts("HeXY")[0]
    assert wc.app.service.get(top(wc)).assignee is None


async def test_bad_signature_replay_stale_and_malformed_are_refused_and_logged(wc, caplog):
    caplog.set_level(logging.WARNING, logger="bot.platforms.wecom")
    params, body = wc.fake.encrypt(wc.fake.callback_xml("LiQiang", text="/claim 1"))
    bad = dict(params, msg_signature="0" * 40)
    assert (await wc.post(bad, body)).status_code == 403
    assert "bad signature" in caplog.text
    assert (await wc.post(params, body)).status_code == 200
    assert (await wc.post(params, body)).status_code == 409  # the same request again
    assert "replayed request" in caplog.text
    await until(lambda: "✋ #1 已由 李强 认领" in wc.texts())
    old = wc.fake.encrypt(wc.fake.callback_xml("LiQiang", text="/unclaim 1"), timestamp=1_600_000_000)
    assert (await wc.post(*old)).status_code == 403
    assert "stale timestamp" in caplog.text
    assert (await wc.post(params, "<xml><Encrypt>")).status_code == 400
    assert (await wc.post(params, "not xml at all")).status_code == 400
    assert "cannot decrypt" in caplog.text
    inner = wc.fake.encrypt("<xml><FromUserName>LiQiang</FromUserName")  # well signed, broken inside
    assert (await wc.post(*inner)).status_code == 400
    assert "not valid XML" in caplog.text
    assert (await wc.http.post(wc.url, content=b"<xml/>")).status_code == 400
    await wc.settled()
    assert wc.app.service.get(1).assignee == "liqiang"
    assert [t for t in wc.texts() if t.startswith("✋ #1")] == ["✋ #1 已由 李强 认领"]


async def test_the_same_message_delivered_twice_runs_once(wc):
    await wc.say("liqiang", "备注 1 只记一次", msg_id=424242)
    await wc.say("liqiang", "备注 1 只记一次", msg_id=424242)  # WeCom's retry: new signature, same MsgId
    await until(lambda: "📝 #1 李强：只记一次" in wc.texts())
    await wc.settled()
    assert wc.texts().count("📝 #1 李强：只记一次") == 1


async def test_callback_url_check(wc):
    echo = "1234567890"
    enc = wc.fake.crypto._encrypt_message(
        echo, "n1", "1", __import__("wechatpy.enterprise.crypto", fromlist=["PrpCrypto"]).PrpCrypto
    )
    import xmltodict

    x = xmltodict.parse(enc)["xml"]
    q = {"msg_signature": x["MsgSignature"], "timestamp": "1", "nonce": "n1", "echostr": x["Encrypt"]}
    r = await wc.http.get(wc.url, params=q)
    assert r.status_code == 200 and r.text == echo
    r = await wc.http.get(wc.url, params=dict(q, msg_signature="f" * 40))
    assert r.status_code == 403


async def test_throttling_errors_and_expired_tokens_lose_nothing(wc):
    wc.fake.fail("/webhook/send", "45009", 1)
    wc.fake.fail("/webhook/send", "500", 1)
    wc.fake.fail("/webhook/send", "-1", 1)
    await wc.say("liqiang", "认领 1")
    await wc.say("liqiang", "备注 1 第一条")
    await wc.say("liqiang", "备注 1 第二条")
    await until(lambda: wc.app.db.execute("SELECT COUNT(*) FROM outbox WHERE kind='notice'").fetchone()[0] >= 3)
    # retries wait (45009 asks for a minute): let them be due now
    for _ in range(40):
        with write_tx(wc.app.db):
            wc.app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
        wc.app.deliverer.kick()
        if "📝 #1 李强：第二条" in wc.texts():
            break
        await asyncio.sleep(0.1)
    texts = [t for t in wc.texts() if t.startswith(("✋ #1", "📝 #1"))]
    assert texts == ["✋ #1 已由 李强 认领", "📝 #1 李强：第一条", "📝 #1 李强：第二条"]
    # an expired access token is refreshed once and the answer still arrives
    issued = wc.fake.tokens_issued
    wc.fake.expire_tokens()
    await wc.say("liqiang", "/mine")
    await until(lambda: any("你负责的事件" in t for t in wc.fake.user_texts("LiQiang")))
    assert wc.fake.tokens_issued == issued + 1


async def test_twenty_a_minute_per_robot_through_the_outbox(wc):
    now = wc.app.clock()
    room = 20 - len(wc.fake.robot)  # what is left of this minute after the alert cards
    with write_tx(wc.app.db):
        for i in range(30):
            outbox.enqueue(
                wc.app.db, now, platform="wecom", chat="robot:city", kind=outbox.TEXT, payload={"text": f"消息 {i}"}
            )
    await until(lambda: len([t for t in wc.texts() if t.startswith("消息")]) >= room)
    await wc.settled()  # the rest has met the minute's limit and waits
    sent = [t for t in wc.texts() if t.startswith("消息")]
    assert len(wc.fake.robot) == 20 and wc.fake.violations == 0
    assert sent == [f"消息 {i}" for i in range(room)]
    rows = list(wc.app.db.query("SELECT attempts, last_error FROM outbox WHERE state='pending'"))
    assert len(rows) == 30 - room and all(
        r["attempts"] == 0 and "20 messages a minute" in r["last_error"] for r in rows
    )
    assert not list(wc.app.db.query("SELECT id FROM outbox WHERE state='dead'"))


async def test_unknown_robot_key_is_permanent_and_logged(wc, caplog):
    caplog.set_level(logging.ERROR, logger="jobs.deliver")
    wc.fake.robot_keys.clear()
    with write_tx(wc.app.db):
        outbox.enqueue(
            wc.app.db,
            wc.app.clock(),
            platform="wecom",
            chat="robot:city",
            kind=outbox.TEXT,
            payload={"text": "发不出去"},
        )
    await until(lambda: "given up" in caplog.text)
    assert "93000" in caplog.text


async def test_report_with_chart_privately_and_to_the_group(wc):
    await wc.say("liqiang", "报告")
    await until(lambda: wc.fake.to_user("LiQiang", "image"))
    assert wc.fake.uploads and wc.fake.uploads[0].startswith(b"\x89PNG")
    assert any(t.startswith("📊 云川市委组织部舆情今日报告") for t in wc.fake.user_texts("LiQiang"))
    from jobs.report import send_scheduled_report

    send_scheduled_report(wc.app.service, "yesterday", wc.app.tz, wc.app.settings.data_dir)
    wc.app.deliverer.kick()
    await until(lambda: any(b["msgtype"] == "image" for b in wc.fake.robot))
    img = next(b for b in wc.fake.robot if b["msgtype"] == "image")["image"]
    import base64
    import hashlib

    assert hashlib.md5(base64.b64decode(img["base64"])).hexdigest() == img["md5"]


async def test_burst_of_low_grades_becomes_one_digest(config_dir, tmp_path):
    fake = FakeWeCom(users=USERS.values())
    w = WC(fake, wecom_config(config_dir), tmp_path)
    await w.start(digest_after=4)
    await until(lambda: any(t.startswith("📋 合并推送") for t in w.texts()))
    assert w.cards()[0].startswith('### <font color="warning">🔴 I 特别重大')
    digests = [t for t in w.texts() if t.startswith("📋 合并推送")]
    assert len(digests) == 1 and "新增 5 起" in digests[0]
    await w.stop()
    fake.close()


async def test_restart_does_not_post_a_card_twice(config_dir, tmp_path):
    fake = FakeWeCom(users=USERS.values())
    cfg = wecom_config(config_dir)
    w = WC(fake, cfg, tmp_path)
    fake.fail("/webhook/send", "500", 3)
    await w.start()
    await until(lambda: len(fake.robot) >= 1)
    await w.stop()
    w2 = WC(fake, cfg, tmp_path)
    await w2.start()
    await until(lambda: len(w2.cards()) >= 6)
    await w2.settled()
    headers = [re.match(r"### <font[^>]*>([^<]+)</font>", c).group(1) for c in w2.cards()]
    assert len(headers) == len(set(headers)) == 6
    await w2.stop()
    fake.close()


async def test_telegram_and_wecom_in_one_process(config_dir, tmp_path):
    from bot.platforms.telegram import TelegramPlatform
    from tests.fake_telegram import FakeBotAPI

    group = "-1001234567890"
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8").replace('# telegram = "-1001234567890"', f'telegram = "{group}"')
    text = text.replace('id = "liqiang"\n', 'id = "liqiang"\nhandles = { telegram = "1001", wecom = "LiQiang" }\n')
    p.write_text(text, encoding="utf-8")
    cfg = load_config(p)
    api, fake = FakeBotAPI(), FakeWeCom(users=["LiQiang"])
    settings = wecom_settings(tmp_path, fake, collect_on_start=True)
    tg = TelegramPlatform(cfg, token="123456:TEST", base_url=api.base_url, poll_interval=0, poll_timeout=1)
    wx = WeComPlatform(cfg, settings=settings)
    tg.digest_after = wx.digest_after = 100
    app = App(settings, cfg, platforms={"telegram": tg, "wecom": wx})
    for a in (tg, wx):
        await a.open(app.host)
    await app.start()
    tasks = [asyncio.create_task(a.serve(app.host)) for a in (tg, wx)]
    try:
        await until(
            lambda: (
                wx.port
                and len(fake.markdown()) >= 6
                and len([m for m in api.chat_log(group) if m["parse_mode"] == "HTML"]) >= 6
            )
        )
        # a claim made in WeCom is announced in both groups, and the Telegram card is edited
        async with httpx.AsyncClient() as http:
            params, body = fake.encrypt(fake.callback_xml("LiQiang", text="认领 1"))
            r = await http.post(f"http://127.0.0.1:{wx.port}/wecom/callback", params=params, content=body.encode())
        assert r.status_code == 200
        await until(
            lambda: (
                "✋ #1 已由 李强 认领" in fake.texts()
                and any(m["text"] == "✋ #1 已由 李强 认领" for m in api.chat_log(group))
            )
        )
        await until(lambda: any("处置中 · 李强" in m["text"] for m in api.chat_log(group) if m["parse_mode"] == "HTML"))
        # and one made in Telegram reaches the WeCom group
        api.message(group, api.user(1001, "liqiang"), "/note 1 两边都能看到")
        await until(lambda: "📝 #1 李强：两边都能看到" in fake.texts())
    finally:
        for a in (tg, wx):
            a.stop()
        await asyncio.gather(*tasks)
        await app.stop()
        for a in (tg, wx):
            await a.close()
        app.close()
        api.close()
        fake.close()


async def test_button_for_an_unknown_incident_and_a_picture_message(wc):
    await wc.press("liqiang", "c:999")
    await until(lambda: "没有编号为 #999 的事件。" in wc.fake.user_texts("LiQiang"))
    await wc.press("liqiang", "zz:1")
    await until(lambda: "无法识别的按钮。" in wc.fake.user_texts("LiQiang"))
    xml = wc.fake.callback_xml("LiQiang", text="x").replace(
        "<MsgType><![CDATA[text]]></MsgType>", "<MsgType><![CDATA[image]]></MsgType>"
    )
    await wc.post(*wc.fake.encrypt(xml))
    await until(lambda: any("只能处理文字命令" in t for t in wc.fake.user_texts("LiQiang")))


@pytest.mark.timeout(180)  # a real process: importing, building the analyser, collecting on a busy machine
def test_yuqing_run_serves_wecom_and_stops_cleanly_on_sigterm(config_dir, tmp_path):
    """The real command: `yuqing run --platform wecom` as a process, its callback on a port,
    SIGTERM ends it after delivery stops (exit status 0, nothing in the log but a clean stop)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    wecom_config(config_dir)
    fake = FakeWeCom(users=USERS.values())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", ""),
        **app_env(
            data_dir=tmp_path / "data",
            config=config_dir / "example.toml",
            db=tmp_path / "run.db",
            wecom_robot_keys="city=key-city",
            wecom_listen=f"127.0.0.1:{port}",
            wecom_api_base=fake.base_url,
        ),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--platform", "wecom"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the process starts, builds its analyser and collects first: ~5 s when quiet, 30 s was
        # not always enough on a shared machine at load 7 (the waits end as soon as it is there)
        deadline = time.monotonic() + 120
        digest = lambda: [t for t in fake.texts() if t.startswith("📋 合并推送")]  # noqa: E731
        while not digest() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert digest(), f"no digest within 120 s; exit {proc.poll()}"
        assert len(fake.markdown()) == 1 and "新增 5 起" in digest()[0]  # grade I card, then III–IV digested
        params, body = fake.encrypt(fake.callback_xml("LiQiang", text="认领 1"))
        r = httpx.post(f"http://127.0.0.1:{port}/wecom/callback", params=params, content=body.encode(), timeout=5)
        assert r.status_code == 200
        while "✋ #1 已由 李强 认领" not in fake.texts() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "✋ #1 已由 李强 认领" in fake.texts()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    log = (tmp_path / "data" / "yuqing.log").read_text(encoding="utf-8")
    assert "WeCom callback listening on 127.0.0.1" in log and "Traceback" not in log


def test_callback_port_in_use_is_a_clear_error(config_dir, tmp_path):
    import socket

    from click.testing import CliRunner

    from bot.cli import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = app_env(
            data_dir=tmp_path / "data",
            config=config_dir / "example.toml",
            wecom_listen=f"127.0.0.1:{port}",
            wecom_api_base="http://127.0.0.1:9",
        )
        res = CliRunner().invoke(
            cli, ["run", "--platform", "wecom", "--no-collect", "--db", str(tmp_path / "p.db")], env=env
        )
    assert res.exit_code == 2, res.output
    assert f"YUQING_WECOM_LISTEN: 无法在 127.0.0.1:{port} 上监听" in res.output
    assert "Traceback" not in res.output


def test_a_team_robot_without_a_key_is_a_clear_error(config_dir, tmp_path):
    cfg = config_with_handles(
        config_dir, "wecom", {}, replace={'console = "监测群"\n': 'console = "监测群"\nwecom = "robot:shared"\n'}
    )
    with pytest.raises(SettingsError) as e:
        WeComPlatform(cfg, settings=make_settings(tmp_path, wecom_robot_keys={"city": "k"}))
    assert "团队 city 的群 robot:shared 没有对应的机器人密钥" in e.value.render()
    ok = WeComPlatform(cfg, settings=make_settings(tmp_path, wecom_robot_keys={"shared": "k"}))
    assert ok.team_chats == {}  # the config names the chat itself


async def test_wecom_unreachable_then_back(wc):
    from core.incidents import Actor
    from core.models import Role

    wc.fake.down()
    wc.app.service.act(1, Action.NOTE, Actor("liqiang", "李强", Role.STAFF), text="断网期间的备注")
    await until(
        lambda: wc.app.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE kind='notice' AND last_error LIKE '%unreachable%'"
        ).fetchone()[0]
    )
    row = next(wc.app.db.query("SELECT state, attempts FROM outbox WHERE kind='notice' ORDER BY id DESC LIMIT 1"))
    assert row["state"] == "pending" and row["attempts"] >= 1
    wc.fake.up()
    with write_tx(wc.app.db):
        wc.app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
    wc.app.deliverer.kick()
    await until(lambda: "📝 #1 李强：断网期间的备注" in wc.texts())
    await wc.settled()
    assert wc.texts().count("📝 #1 李强：断网期间的备注") == 1


async def test_a_long_text_failing_half_way_is_finished_not_repeated(wc):
    lines = [f"第{i}行 " + "报" * 60 for i in range(60)]  # about 11 KB: six robot messages
    wc.fake.fail("/webhook/send", "500", 1, after=2)
    with write_tx(wc.app.db):
        outbox.enqueue(
            wc.app.db,
            wc.app.clock(),
            platform="wecom",
            chat="robot:city",
            kind=outbox.TEXT,
            payload={"text": "\n".join(lines)},
        )
    await until(
        lambda: wc.app.db.execute("SELECT COUNT(*) FROM outbox WHERE last_error LIKE '%HTTP 500%'").fetchone()[0]
    )
    with write_tx(wc.app.db):
        wc.app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
    wc.app.deliverer.kick()
    await until(lambda: any(t.startswith("第59行") or "\n第59行" in t for t in wc.texts()))
    got = [line for t in wc.texts() if "第" in t for line in t.split("\n") if line.startswith("第")]
    assert got == lines  # every line once, in order


async def test_a_text_longer_than_a_minute_of_messages_goes_out_in_parts(wc):
    from bot.platforms.ratelimit import RateLimiter

    now = [1000.0]
    wc.platform.pacer.limiter = RateLimiter(lambda: now[0])
    wc.fake._robot_times.clear()
    lines = [f"第{i}行 " + "报" * 600 for i in range(25)]  # 25 messages of about 1.8 KB
    with write_tx(wc.app.db):
        outbox.enqueue(
            wc.app.db,
            wc.app.clock(),
            platform="wecom",
            chat="robot:city",
            kind=outbox.TEXT,
            payload={"text": "\n".join(lines)},
        )
    wc.app.deliverer.kick()
    await until(lambda: len([t for t in wc.texts() if t.startswith("第")]) == 20)
    await until(
        lambda: wc.app.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE last_error LIKE '%20 messages a minute%' AND payload LIKE '%parts_done%'"
        ).fetchone()[0]
    )
    now[0] += 61  # a minute later, on both sides
    wc.fake._robot_times.clear()
    with write_tx(wc.app.db):
        wc.app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
    wc.app.deliverer.kick()
    await until(lambda: len([t for t in wc.texts() if t.startswith("第")]) == 25)
    assert [t.split(" ")[0] for t in wc.texts() if t.startswith("第")] == [f"第{i}行" for i in range(25)]
    assert wc.fake.violations == 0


async def test_report_docx_and_ledger_are_sent_as_files(wc):
    """/report week docx and /export ledger on WeCom send the file: uploaded with
    media/upload?type=file, then message/send msgtype file (issue 14)."""
    await wc.say("liqiang", "/report week docx")
    await until(lambda: wc.fake.to_user("LiQiang", "file"))
    first = wc.fake.to_user("LiQiang", "file")[0]["file"]["media_id"]
    assert ("app", "file") in wc.fake.upload_types
    assert wc.fake.uploads[int(first.removeprefix("media")) - 1].startswith(b"PK")  # a .docx is a zip
    await wc.say("liqiang", "/export ledger week")
    await until(lambda: len(wc.fake.to_user("LiQiang", "file")) == 2)
    second = wc.fake.to_user("LiQiang", "file")[1]["file"]["media_id"]
    assert wc.fake.uploads[int(second.removeprefix("media")) - 1].startswith(b"PK")  # so is an .xlsx


async def test_a_file_for_the_group_goes_through_the_robot_upload(wc, tmp_path):
    doc = tmp_path / "周报.docx"
    doc.write_bytes(b"PK\x03\x04 a report")
    with write_tx(wc.app.db):
        outbox.enqueue(
            wc.app.db,
            wc.app.clock(),
            platform="wecom",
            chat="robot:city",
            kind=outbox.TEXT,
            payload={"text": "📊 周报", "document": str(doc)},
        )
    wc.app.deliverer.kick()
    await until(lambda: any(b["msgtype"] == "file" for b in wc.fake.robot))
    body = next(b for b in wc.fake.robot if b["msgtype"] == "file")
    assert body["key"] == "key-city" and body["file"]["media_id"].startswith("rmedia")
    assert ("robot", "file") in wc.fake.upload_types and doc.read_bytes() in wc.fake.uploads


# ---------------------------------------------------------------------------- slow clients, wrong clocks


@pytest.fixture
async def wc_quick(config_dir, tmp_path):
    """The adapter with nothing collected, and a callback server that gives a client 0.5 s."""
    fake = FakeWeCom(users=[*USERS.values(), "Stranger"])
    w = WC(fake, wecom_config(config_dir), tmp_path)
    await w.start(collect=False, read_timeout=0.5)
    yield w
    await w.stop()
    fake.close()


async def _raw(w: WC, head: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", w.platform.port)
    writer.write(head)
    await writer.drain()
    return reader, writer


def _head(params: dict, length: int) -> bytes:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return (
        f"POST /wecom/callback?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


async def test_a_callback_body_that_trickles_in_is_cut_off(wc_quick, caplog):
    """Slowloris: headers, then a byte now and then. The body has a deadline (408, logged);
    a callback sent at the same time, and one after, are answered as always."""
    w = wc_quick
    caplog.set_level(logging.INFO, logger="bot.platforms.wecom")
    params, body = w.fake.encrypt(w.fake.callback_xml("LiQiang", text="/help"))
    reader, writer = await _raw(w, _head(params, len(body.encode())))

    async def trickle() -> int:
        for n, ch in enumerate(body.encode()[:60]):
            try:
                writer.write(bytes([ch]))
                await writer.drain()
            except ConnectionError:
                return n
            await asyncio.sleep(0.1)
        return 60

    dripping = asyncio.create_task(trickle())
    assert (await w.say("zhoulan", "/help")).status_code == 200  # not held up by the slow one
    status = await asyncio.wait_for(reader.readline(), 3)
    assert status.startswith(b"HTTP/1.1 408")
    assert await asyncio.wait_for(dripping, 3) < 60  # cut off: the rest is not waited for
    writer.close()
    assert "body not complete within 0.5 s" in caplog.text
    assert (await w.say("liqiang", "/help")).status_code == 200
    await w.settled()
    assert any("/claim" in t for t in w.fake.user_texts("LiQiang"))
    assert any("/claim" in t for t in w.fake.user_texts("ZhouLan"))


async def test_headers_that_trickle_in_are_cut_off(wc_quick):
    """A client that never finishes its headers is disconnected after the read timeout."""
    reader, writer = await _raw(wc_quick, b"POST /wecom/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    async def trickle():
        for i in range(100):
            writer.write(f"X-{i}: y\r\n".encode())
            await writer.drain()
            await asyncio.sleep(0.1)

    dripping = asyncio.create_task(trickle())
    assert await asyncio.wait_for(reader.read(), 3) == b""  # closed by the server
    dripping.cancel()
    writer.close()


async def test_a_body_announced_too_large_is_refused_before_it_is_read(wc_quick, caplog):
    caplog.set_level(logging.WARNING, logger="bot.platforms.wecom")
    params, _ = wc_quick.fake.encrypt(wc_quick.fake.callback_xml("LiQiang", text="/help"))
    reader, writer = await _raw(wc_quick, _head(params, 10 * 1024 * 1024))
    status = await asyncio.wait_for(reader.readline(), 3)
    writer.close()
    assert status.startswith(b"HTTP/1.1 413")
    assert "body larger than" in caplog.text


async def test_a_wrong_server_clock_is_told_to_the_admins_once(wc_quick, caplog):
    """With this server's clock an hour behind, every genuine callback is refused as stale: the
    admins hear it once (privately and in the group), not at every message; with the clock set
    right, commands work again."""
    w = wc_quick
    caplog.set_level(logging.WARNING, logger="bot.platforms.wecom")
    right = w.platform.wall_clock
    w.platform.wall_clock = lambda: right() - 3600
    for _ in range(5):
        assert (await w.say("liqiang", "/help")).status_code == 403
    await w.settled()

    def told(texts):
        return [t for t in texts if "企业微信消息全部被拒收" in t]

    assert len(told(w.fake.user_texts("WangMin"))) == 1
    assert "本机时钟比企业微信慢约 60 分钟" in told(w.fake.user_texts("WangMin"))[0]
    assert len(told(w.texts())) == 1
    assert re.search(r"server's clock is -3(599|600) s off WeCom's", caplog.text)
    w.platform.wall_clock = right
    assert (await w.say("liqiang", "/help")).status_code == 200
    await w.settled()
    assert any("/claim" in t for t in w.fake.user_texts("LiQiang"))
    assert "accepted again" in caplog.text


async def test_replays_of_old_callbacks_do_not_look_like_a_wrong_clock(wc_quick):
    """Old signed callbacks replayed (each off by its own amount) are refused, and do not make
    the admins set a clock that is right."""
    w = wc_quick
    for age in (3600, 7200, 86400, 4000):
        old = w.fake.encrypt(w.fake.callback_xml("LiQiang", text="/help"), timestamp=int(time.time()) - age)
        assert (await w.post(*old)).status_code == 403
    await w.settled()
    assert not any("全部被拒收" in t for t in w.fake.user_texts("WangMin"))


async def test_a_message_that_only_mentions_the_bot_gets_the_help(wc_quick):
    """'@舆情哨兵' alone (WeCom puts U+2005 after a mention; people type spaces, ＠) is someone
    pinging the bot: they get what /help says, not a lecture on slashes."""
    w = wc_quick
    for text in ("@舆情哨兵", "@舆情哨兵\u2005", "＠舆情哨兵 ", "@舆情哨兵\u2005@李强"):
        before = len(w.fake.user_texts("LiQiang"))
        assert (await w.say("liqiang", text)).status_code == 200
        await w.settled()
        got = w.fake.user_texts("LiQiang")[before:]
        assert got and got[0].startswith("舆情哨兵 · 可用命令："), (text, got)
        assert not any("命令以 / 开头" in t for t in got)
