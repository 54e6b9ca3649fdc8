"""Issue 12 (items 1, 2, 3, 5) and issue 11 item 6: every alert reaches the chat, whole,
once; only http(s) links are links."""

from __future__ import annotations

import asyncio
import re

from click.testing import CliRunner

from bot.app import App
from bot.cli import cli
from bot.config import load_config
from bot.platforms.console import ConsolePlatform
from bot.platforms.telegram import card_html
from bot.platforms.wecom import card_markdown, template_card
from core.platform import Outgoing
from core.render import RenderContext, render_card, render_digest
from handlers import Reply
from storage import outbox, write_tx
from tests.conftest import EXAMPLE, HIGH, make_settings, seed, settled
from tests.fake_telegram import FakeBotAPI
from tests.test_telegram import GROUP, TG, telegram_config
from tests.test_wxpy import wx  # noqa: F401  (fixture)

MORE_LOW = (
    "白沙乡卫生院工作人员态度恶劣被投诉",
    "南湖区社区台账形式主义引居民吐槽",
    "江北区办事窗口推诿扯皮群众跑断腿",
    "青石镇村两委换届选举计票引质疑",
)


def incident_ids(db) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM incidents ORDER BY id").fetchall()]


# ----------------------------------------------------------------------------- 12.1 scrape --once


def test_scrape_once_then_run_alerts_every_incident(tmp_path, clock):
    db = tmp_path / "s.db"
    res = CliRunner().invoke(
        cli,
        ["scrape", "--once", "--db", str(db)],
        env={"YUQING_DATA_DIR": str(tmp_path / "data"), "YUQING_PLATFORM": "console"},
    )
    assert res.exit_code == 0, res.output
    cfg = load_config(EXAMPLE)
    settings = make_settings(tmp_path, platform="console").model_copy(update={"db": db})
    import io

    buf = io.StringIO()
    app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=buf)}, clock=clock)
    try:
        ids = incident_ids(app.db)
        assert len(ids) >= 6
        asyncio.run(app.deliverer.drain())
        out = buf.getvalue()
        for i in ids:  # every incident the scrape found got its alert in the group
            assert f"· #{i} ·" in out, f"#{i} never alerted"
        assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending','sending')").fetchone()[0] == 0
    finally:
        app.close()


async def test_scrape_once_beside_a_running_bot_is_delivered_by_it(config_dir, tmp_path):
    api = FakeBotAPI()
    cfg = telegram_config(config_dir)
    t = TG(api, cfg, tmp_path)
    await t.start(collect=False)
    try:
        env = {
            "YUQING_DATA_DIR": str(tmp_path / "data"),
            "YUQING_PLATFORM": "telegram",
            "TELEGRAM_BOT_TOKEN": "123456:TEST",
            "YUQING_CONFIG": str(config_dir / "example.toml"),
        }
        res = await asyncio.to_thread(
            CliRunner().invoke, cli, ["scrape", "--once", "--db", str(t.app.settings.db)], env=env
        )
        assert res.exit_code == 0, res.output
        ids = incident_ids(t.app.db)
        assert len(ids) >= 6
        # the running bot's deliverer polls the outbox: no kick from the other process needed
        await t.until(lambda: all(any(f"· #{i} ·" in m["text"] for m in api.chat_log(GROUP)) for i in ids), timeout=15)
    finally:
        await t.stop()
        api.close()


def test_rows_for_a_platform_not_run_here_wait_for_the_process_that_runs_it(tmp_path, clock):
    cfg = load_config(EXAMPLE)
    settings = make_settings(tmp_path, platform=("console", "wxpy"))
    app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=__import__("io").StringIO())}, clock=clock)
    try:

        class H:
            pass

        h = H()
        h.app = app
        assert seed(h, *HIGH).created
        asyncio.run(app.deliverer.drain())
        states = dict(app.db.execute("SELECT platform, state FROM outbox WHERE kind='card'").fetchall())
        assert states.get("console") == "sent"
        # the example config names no wxpy group, so nothing is routed there unless configured
        assert "wxpy" not in states or states["wxpy"] == "pending"
    finally:
        app.close()


# ----------------------------------------------------------------------------- 12.2 digests


class Recorder:
    """A rate-limited platform with a small message size: digests must span several messages."""

    name = "console"
    max_length = 160
    digest_after = 4
    digests_per_minute = 1

    def __init__(self):
        self.sent: list[Outgoing] = []

    async def send(self, chat, message):
        self.sent.append(message)
        return f"m{len(self.sent)}"

    async def edit(self, chat, message_id, message):
        pass


async def test_digest_names_every_incident_over_several_minutes(tmp_path, clock):
    cfg = load_config(EXAMPLE)
    p = Recorder()
    app = App(make_settings(tmp_path), cfg, platforms={"console": p}, clock=clock)

    class H:
        pass

    h = H()
    h.app = app
    try:
        await app.collect_once()  # the sample feeds: one grade I, five grades III–IV
        for title in MORE_LOW:
            seed(h, title, "有网友发帖反映。")
        low = [r[0] for r in app.db.execute("SELECT id FROM incidents WHERE grade IN ('III','IV')").fetchall()]
        assert len(low) >= 8
        await app.deliverer.drain()
        first_minute = [m.text for m in p.sent if m.text and m.text.startswith("📋")]
        assert len(first_minute) == 1 and "……另有" not in first_minute[0]
        named = set(int(x) for x in re.findall(r"#(\d+) ", first_minute[0]))
        # rows not named stay queued, not marked done
        left = app.db.execute("SELECT COUNT(*) FROM outbox WHERE kind='card' AND state='pending'").fetchone()[0]
        assert left == len(low) - len(named) > 0
        for _ in range(20):
            clock.advance(minutes=1, seconds=1)
            await app.deliverer.drain()
        texts = "\n".join(m.text or "" for m in p.sent) + "\n".join(m.card.header for m in p.sent if m.card)
        for i in low:
            assert f"#{i} " in texts, f"#{i} never named in the chat"
        assert all(len(m.text) <= p.max_length for m in p.sent if m.text)
        assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0] == 0
    finally:
        app.close()


def test_render_digest_lists_every_incident_within_the_limit(two):
    inc = two.app.service.get(2)
    many = [inc] * 300
    parts = render_digest(many, 500)
    assert sum(len(ids) for _, ids in parts) == 300
    assert all(len(text) <= 500 for text, _ in parts)
    assert "新增 300 起" in parts[0][0] and not any("另有" in t for t, _ in parts)


# ----------------------------------------------------------------------------- 12.3 long texts


async def test_telegram_long_text_arrives_whole_in_order_threaded(config_dir, tmp_path):
    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(collect=False)
    try:
        lines = [f"第 {i:04d} 行：" + "月报内容" * 20 for i in range(300)]
        text = "\n".join(lines)
        with write_tx(t.app.db):
            outbox.enqueue(
                t.app.db, t.app.clock(), platform="telegram", chat=GROUP, kind=outbox.TEXT, payload={"text": text}
            )
        t.app.deliverer.kick()
        await t.until(
            lambda: t.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state='sent'").fetchone()[0] == 1, timeout=15
        )
        parts = [m for m in api.chat_log(GROUP) if m["text"].startswith("第 ")]
        assert len(parts) > 1 and all(len(m["text"]) <= 4096 for m in parts)
        assert "\n".join(m["text"] for m in parts) == text
        assert all(m["reply_to"] == parts[0]["message_id"] for m in parts[1:])

        # a reply to a command, too
        async def long_reply(req):
            return [Reply(text)]

        t.app.host.handle = long_reply  # what the adapter calls
        t.say("liqiang", "/report month")
        await t.until(lambda: sum(1 for m in api.chat_log(GROUP) if m["text"].startswith("第 ")) == 2 * len(parts))
        replies = [m for m in api.chat_log(GROUP) if m["text"].startswith("第 ")][len(parts) :]
        assert "\n".join(m["text"] for m in replies) == text
        assert all(m["reply_to"] == replies[0]["message_id"] for m in replies[1:])
    finally:
        await t.stop()
        api.close()


async def test_console_prints_a_long_text_whole(tmp_path):
    import io

    buf = io.StringIO()
    c = ConsolePlatform(load_config(EXAMPLE), out=buf)
    text = "\n".join(f"行{i} " + "字" * 100 for i in range(200))
    await c.send("监测群", Outgoing(text=text))
    assert f"行199 {'字' * 100}" in buf.getvalue()


# ----------------------------------------------------------------------------- 12.5 slow API


async def test_slow_bot_api_answer_is_not_a_second_card(config_dir, tmp_path):
    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(collect=False)
    try:
        api.fail("sendMessage", "slow", 6.5)  # longer than python-telegram-bot's 5 s default
        assert seed(t, *HIGH).created
        t.app.deliverer.kick()
        await t.until(
            lambda: (
                t.app.db.execute("SELECT COUNT(*) FROM outbox WHERE kind='card' AND state='sent'").fetchone()[0] == 1
            ),
            timeout=20,
        )
        await settled(t.app)
        cards = [m for m in api.sent if m["parse_mode"] == "HTML"]
        assert len(cards) == 1, f"{len(cards)} cards for one incident"
    finally:
        await t.stop()
        api.close()


async def test_a_send_cut_off_is_resent_after_restart_and_logged(tmp_path, clock, caplog):
    """A process killed mid-send leaves its row 'sending': the next one sends it again
    (at-least-once: none of the platforms can look a sent message up)."""
    cfg = load_config(EXAMPLE)
    p = Recorder()
    p.digest_after = None
    app = App(make_settings(tmp_path), cfg, platforms={"console": p}, clock=clock)

    class H:
        pass

    h = H()
    h.app = app
    assert seed(h, *HIGH).created
    row = outbox.due(app.db, ["console"], clock())[0]
    with write_tx(app.db):
        outbox.begin(app.db, [row.id], clock())  # recorded before the call, then the process died
    app.close()
    app = App(make_settings(tmp_path), cfg, platforms={"console": p}, clock=clock)
    try:
        await app.deliverer.drain()
        assert len([m for m in p.sent if m.card]) == 1
        assert "may already be in the chat" in caplog.text
        assert app.db.execute("SELECT state FROM outbox WHERE id=?", [row.id]).fetchone()[0] == "sent"
    finally:
        app.close()


# ----------------------------------------------------------------------------- 11.6 links

BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD4=",
    " javascript:alert(1)",
    "vbscript:msgbox",
    "file:///etc/passwd",
    "//evil.example/x",
    "/relative",
    "ftp://x.example/a",
    "http:/no-host",
    "https://",
]


def _card_for(two, url):
    inc = two.app.service.get(1)
    from dataclasses import replace

    inc = replace(inc, url=url)
    return render_card(inc, RenderContext(tz=two.app.tz, now=two.app.clock()))


async def test_only_http_links_are_rendered_as_links(two):
    for url in BAD_URLS:
        card = _card_for(two, url)
        assert card.url is None, url
        assert "href" not in card_html(card)
        md = card_markdown(card)
        assert "](" not in md, url
        assert "card_action" not in template_card(card, "t")
    good = _card_for(two, "https://bbs.example/t?a=1&b=2")
    assert '<a href="https://bbs.example/t?a=1&amp;b=2">' in card_html(good)


async def test_link_characters_are_escaped_per_platform(two):
    card = _card_for(two, 'https://bbs.example/t?q=<b>"x"</b>&y=(1)')
    md = card_markdown(card)
    link = re.search(r"\]\(([^)]*)\)", md).group(1)
    assert not set('<>"() ') & set(link), link
    assert template_card(card, "t")["card_action"]["url"] == link
    html_ = card_html(card)
    assert 'href="https://bbs.example/t?q=&lt;b&gt;&quot;x&quot;&lt;/b&gt;&amp;y=(1)"' in html_


def test_scrape_routes_to_wecom_robots_from_the_settings_without_opening_wecom(tmp_path, clock):
    cfg = load_config(EXAMPLE)
    settings = make_settings(tmp_path, platform="wecom", wecom_robot_keys={"city": "robot-key"})
    app = App(settings, cfg, platforms={}, clock=clock)  # as `scrape --once` builds it
    try:

        class H:
            pass

        h = H()
        h.app = app
        assert seed(h, *HIGH).created
        rows = app.db.execute("SELECT platform, chat, state FROM outbox WHERE kind='card'").fetchall()
        assert ("wecom", "robot:city", "pending") in [tuple(r) for r in rows]
    finally:
        app.close()


class Parts(Recorder):
    max_length = 100
    digest_after = None

    def __init__(self):
        super().__init__()
        self.fail_at: set[int] = set()
        self.calls = 0

    async def send(self, chat, message):
        self.calls += 1
        if self.calls in self.fail_at:
            from core.platform import DeliveryError

            raise DeliveryError("connection reset")
        return await super().send(chat, message)


async def test_a_long_text_that_fails_half_way_resumes_where_it_stopped(tmp_path, clock):
    cfg = load_config(EXAMPLE)
    p = Parts()
    app = App(make_settings(tmp_path), cfg, platforms={"console": p}, clock=clock)
    try:
        text = "\n".join(f"第{i}段 " + "内容" * 30 for i in range(5))
        with write_tx(app.db):
            outbox.enqueue(app.db, clock(), platform="console", chat="监测群", kind=outbox.TEXT, payload={"text": text})
        p.fail_at = {3}
        await app.deliverer.drain()
        assert [m.text.split(" ")[0] for m in p.sent] == ["第0段", "第1段"]
        clock.advance(minutes=5)
        await app.deliverer.drain()
        assert [m.text.split(" ")[0] for m in p.sent] == [f"第{i}段" for i in range(5)]  # none twice, in order
        assert [m.reply_to for m in p.sent] == [None] + ["m1"] * 4  # threaded under the first
        assert app.db.execute("SELECT state, message_id FROM outbox").fetchone() == ("sent", "m1")
    finally:
        app.close()


async def test_wxpy_sends_a_long_text_whole_over_several_minutes(wx):
    from bot.platforms.ratelimit import RateLimiter
    from tests.conftest import until
    from tests.test_wxpy import GROUP as WX_GROUP

    bot, app = wx
    now = [1000.0]
    app.platforms["wxpy"].pacer.limiter = RateLimiter(lambda: now[0])
    lines = [f"第{i}段 " + "报" * 1900 for i in range(20)]  # 20 messages: more than 15 a minute
    with write_tx(app.db):
        outbox.enqueue(
            app.db, app.clock(), platform="wxpy", chat=WX_GROUP, kind=outbox.TEXT, payload={"text": "\n".join(lines)}
        )
    app.deliverer.kick()
    await until(lambda: len([t for t in bot.group.sent if t.startswith("第")]) == 15)
    await settled(app)  # the other five met the minute's limit and wait
    assert len([t for t in bot.group.sent if t.startswith("第")]) == 15  # the minute's limit holds
    now[0] += 61
    with write_tx(app.db):
        app.db.execute("UPDATE outbox SET not_before=NULL WHERE state='pending'")
    app.deliverer.kick()
    await until(lambda: len([t for t in bot.group.sent if t.startswith("第")]) == 20)
    assert [t for t in bot.group.sent if t.startswith("第")] == lines  # whole, in order, once
    assert not any("已截断" in t for t in bot.group.sent)


async def test_a_message_the_platform_keeps_holding_back_is_reported_after_hours(make_app, clock, monkeypatch):
    """A platform that keeps asking to wait (a rate limit another program's use keeps up) is
    obeyed without counting attempts, so the row would wait unseen for ever: after
    STUCK_AFTER the admins are told (still retrying), once an hour, through their other chats."""
    from core.platform import DeliveryError
    from jobs.deliver import STUCK_AFTER
    from tests.conftest import HIGH, seed

    h = make_app()
    console = h.app.deliverer.platforms["console"]
    send = console.send

    async def held_back(chat, message):
        if chat == "监测群":
            raise DeliveryError("flood control: retry after 60s", retry_after=60)
        return await send(chat, message)

    monkeypatch.setattr(console, "send", held_back)
    iid = seed(h, *HIGH).incident_id
    await h.app.deliverer.run_once()
    assert "投递受阻" not in h.buffer.getvalue()
    clock.advance(seconds=STUCK_AFTER.total_seconds() + 60)
    await h.app.deliverer.run_once()  # held back again, now for hours: reported
    await h.app.deliverer.run_once()
    out = h.buffer.getvalue()
    told = out.count("投递受阻")  # once in each of the admins' other chats (private, admin chat)
    assert told >= 1 and f"#{iid}" in out and "仍会继续重试" in out and "【私聊 → 王敏】⚠️ 投递受阻" in out
    clock.advance(minutes=2)
    await h.app.deliverer.run_once()
    await h.app.deliverer.run_once()
    assert h.buffer.getvalue().count("投递受阻") == told  # once an hour per chat
    assert h.count("outbox", "state = 'pending' AND chat = '监测群'") >= 1  # still queued, never given up
