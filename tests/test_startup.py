"""Start-up order and a Bot API outage at start-up, through the real `yuqing run` sequence
(bot.cli._run: open the platforms, start the app, serve) against the fake Bot API.

* Chats are served and the backlog delivered before the first collection finishes (a
  source that answers after 5 s keeps that collection busy).
* With the Bot API down (or one 500 on getMe) the bot starts anyway, says so, serves the
  other platforms, and delivers the backlog when Telegram is back."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import threading

from bot.app import App
from bot.cli import _run
from bot.platforms.console import ConsolePlatform
from bot.platforms.telegram import TelegramPlatform
from tests.conftest import make_settings, seed, until
from tests.fake_telegram import FakeBotAPI
from tests.test_telegram import GROUP, IDS, telegram_config

SLOW_SOURCE = """
[[sources]]
id = "slow"
name = "很慢的网站"
kind = "rss"
url = "{url}"
tier = 4
interval = "10m"
"""

BACKLOG = ("网友实名举报刘海燕副区长违规干预工程招标", "江北区网友愤怒质疑，要求纪委调查。")


class Bot:
    """`yuqing run` in-process: `_run(app)` as a task, stopped by stopping its platforms."""

    def __init__(self, app: App):
        self.app = app
        self.task = asyncio.create_task(_run(app))

    async def stop(self):
        for p in self.app.platforms.values():
            if hasattr(p, "stop"):
                p.stop()
        await asyncio.wait_for(self.task, 20)


def slow_feed(http_server, delay: float) -> threading.Event:
    done = threading.Event()

    def answer(handler):
        threading.Event().wait(delay)
        done.set()
        return (
            200,
            {"Content-Type": "application/rss+xml"},
            b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>',
        )

    http_server.routes["/slow.xml"] = answer
    return done


def backlog_card(app) -> int:
    """One alert queued before the bot starts (left by the last run); returns its incident."""
    out = seed(type("H", (), {"app": app})(), *BACKLOG)
    assert out.created
    return out.incident_id


async def test_commands_and_backlog_are_served_before_the_first_collection_finishes(config_dir, tmp_path, http_server):
    api = FakeBotAPI()
    done = slow_feed(http_server, 5.0)
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    p.write_text(
        text.replace(
            "# ---------------------------------------------------------------- watch-list",
            SLOW_SOURCE.format(url=http_server.url + "/slow.xml") + "\n# ---- watch-list",
        ),
        encoding="utf-8",
    )
    cfg = telegram_config(config_dir)
    platform = TelegramPlatform(cfg, token="123456:TEST", base_url=api.base_url, poll_interval=0, poll_timeout=1)
    app = App(
        make_settings(tmp_path, collect_on_start=True, deliver_interval=30), cfg, platforms={"telegram": platform}
    )
    iid = backlog_card(app)
    bot = Bot(app)
    try:
        user = api.user(IDS["liqiang"], "liqiang")
        api.message(GROUP, user, "/help")
        await until(lambda: any(f"· #{iid} ·" in m["text"] for m in api.chat_log(GROUP)), timeout=4)
        await until(
            lambda: any("/claim" in m["text"] and m["parse_mode"] != "HTML" for m in api.chat_log(GROUP)), timeout=4
        )
        assert not done.is_set(), "answered only after the slow source"
        # the collection goes on in the background and its alerts follow
        await until(done.is_set, timeout=10)
        pending = "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')"
        await until(lambda: app._first_collect.done() and app.db.execute(pending).fetchone()[0] == 0, timeout=15)
        assert app.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] > 1
        assert any(m["text"].startswith("📋 合并推送") for m in api.sent)  # the start-up burst, digested
    finally:
        await bot.stop()
        app.close()
        api.close()


def console_in(monkeypatch):
    """A console whose standard input stays open until the test closes it."""
    r, w = os.pipe()
    monkeypatch.setattr(sys, "stdin", os.fdopen(r, "r", encoding="utf-8"))
    return w


async def _outage(config_dir, tmp_path, monkeypatch, caplog, capsys, break_api):
    api = FakeBotAPI()
    break_api(api)
    cfg = telegram_config(config_dir)
    tg = TelegramPlatform(cfg, token="123456:TEST", base_url=api.base_url, poll_interval=0, poll_timeout=1)
    tg.retry_max = 0.5
    out = io.StringIO()
    app = App(
        make_settings(tmp_path, collect_on_start=False, deliver_interval=0.2),
        cfg,
        platforms={"telegram": tg, "console": ConsolePlatform(cfg, out=out)},
    )
    iid = backlog_card(app)
    w = console_in(monkeypatch)
    caplog.set_level(logging.WARNING)
    bot = Bot(app)
    try:
        # the console is served meanwhile
        os.write(w, b"/list\n")
        await until(lambda: f"#{iid}" in out.getvalue() and "王敏> /list" in out.getvalue(), timeout=8)
        assert not bot.task.done()
        assert "Telegram Bot API unreachable at start-up" in caplog.text
        assert not [m for m in api.sent if f"· #{iid} ·" in m["text"]]
        api.up() if api.is_down else None
        await until(lambda: any(f"· #{iid} ·" in m["text"] for m in api.chat_log(GROUP)), timeout=10)
        assert "Telegram Bot API reachable again" in caplog.text
        q = (
            "SELECT state, attempts, last_error FROM outbox WHERE incident_id=? AND platform='telegram' "
            "AND chat=? AND kind='card' ORDER BY id LIMIT 1"
        )
        await until(lambda: next(app.db.query(q, [iid, GROUP]))["state"] == "sent")  # recorded after the reply
        row = next(app.db.query(q, [iid, GROUP]))
        assert row["state"] == "sent" and row["attempts"] == 1, dict(row)  # the send itself: waiting used no retry
        api.message(GROUP, api.user(IDS["liqiang"], "liqiang"), f"/claim {iid}")
        await until(lambda: any(m["text"].startswith(f"✋ #{iid}") for m in api.chat_log(GROUP)), timeout=10)
    finally:
        os.close(w)
        await bot.stop()
        app.close()
        api.close()


async def test_bot_api_down_at_start_up_is_not_a_crash(config_dir, tmp_path, monkeypatch, caplog, capsys):
    await _outage(config_dir, tmp_path, monkeypatch, caplog, capsys, lambda api: api.down())


async def test_one_500_on_get_me_at_start_up_is_not_a_crash(config_dir, tmp_path, monkeypatch, caplog, capsys):
    await _outage(config_dir, tmp_path, monkeypatch, caplog, capsys, lambda api: api.fail("getMe", "500"))


def test_yuqing_run_with_the_bot_api_down_starts_and_delivers_when_it_is_back(config_dir, tmp_path):
    """The real command as a process: no traceback, no exit; a clear line on stderr; the
    first collection's alerts reach the group once the API is back; SIGTERM ends it cleanly."""
    import signal
    import subprocess
    import time

    api = FakeBotAPI()
    api.down()
    telegram_config(config_dir)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": "123456:TEST",
        "TELEGRAM_BASE_URL": api.base_url[:-4],
        "YUQING_DATA_DIR": str(tmp_path / "data"),
        "YUQING_CONFIG": str(config_dir / "example.toml"),
        "YUQING_DB": str(tmp_path / "run.db"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--platform", "telegram"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("unreachable at start-up" in ln for ln in lines) and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.1)
        # a retry (1 s later) while the API is still down: a second "unreachable" line
        while sum("unreachable at start-up" in ln for ln in lines) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.1)
        assert sum("unreachable at start-up" in ln for ln in lines) >= 2, "".join(lines)
        assert proc.poll() is None, "".join(lines)
        assert not api.sent
        api.up()
        deadline = time.monotonic() + 30
        while not [m for m in api.chat_log(GROUP) if m["parse_mode"] == "HTML"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m for m in api.chat_log(GROUP) if m["parse_mode"] == "HTML"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
        err = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        api.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Telegram Bot API unreachable at start-up" in err


async def test_kick_from_another_thread_wakes_delivery(make_app):
    """A kick from a worker thread (wxpy's callbacks, a future worker) reaches the loop safely."""
    h = make_app()
    d = h.app.deliverer
    ran = []
    orig = d.run_once

    async def counting(*a, **kw):
        ran.append(1)
        return await orig(*a, **kw)

    d.run_once = counting
    task = asyncio.create_task(d.serve(3600))
    d.kick()  # from the loop: proves the delivery loop is running (and knows its loop)
    await until(lambda: ran, timeout=3)
    ran.clear()
    asyncio.get_running_loop().set_debug(True)  # asyncio then refuses calls from a foreign thread
    errors = []

    def kick():
        try:
            d.kick()
        except Exception as e:
            errors.append(e)

    try:
        t = threading.Thread(target=kick)
        t.start()
        t.join()
        assert not errors, errors
        await until(lambda: ran, timeout=3)
    finally:
        asyncio.get_running_loop().set_debug(False)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
