"""What the log may hold: no token or secret at any level (the real `yuqing run` at DEBUG
against the fake Bot API), and refusals of unauthenticated callback requests at a bounded rate
(a flood of bad signatures, uploads dropped mid-body)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.cli import setup_logging
from core.logsafe import REDACTED, BoundedLog
from tests.conftest import make_settings, until
from tests.fake_telegram import FakeBotAPI
from tests.test_telegram import GROUP, IDS, telegram_config
from tests.test_wecom import wc  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7123456789:AAHk3x9_Qz-8vLmN2pRsTuVwXyZaBcDeFgH"
SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.mark.timeout(120)
def test_yuqing_run_at_debug_never_writes_the_bot_token(config_dir, tmp_path):
    telegram_config(config_dir)
    api = FakeBotAPI()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))},
        "YUQING_DATA_DIR": str(tmp_path / "data"),
        "YUQING_CONFIG": str(config_dir / "example.toml"),
        "YUQING_DB": str(tmp_path / "tg.db"),
        "YUQING_LOG_LEVEL": "DEBUG",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--platform", "telegram", "--no-collect"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        polling = lambda: any(c[0] == "deleteWebhook" for c in api.calls)  # noqa: E731  (just before polling)
        while not polling() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        api.message(GROUP, api.user(IDS["wangmin"], "王敏"), "/list")
        while not api.chat_log(GROUP) and time.monotonic() < deadline:  # the answer
            time.sleep(0.1)
        assert api.chat_log(GROUP), "no answer to /list"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        api.close()
    assert proc.returncode == 0, err
    log = (tmp_path / "data" / "yuqing.log").read_text(encoding="utf-8")
    assert " DEBUG " in log and "getUpdates" in log  # it did log at DEBUG, the API calls included
    assert "Set Bot API URL" in log  # python-telegram-bot's line is still there …
    assert f"/bot{REDACTED}" in log  # … with the token cut out
    for text in (log, out, err):
        assert TOKEN not in text and SECRET_PART not in text


@pytest.fixture
def logfile(tmp_path):
    """setup_logging with every kind of secret in the settings; the root logger restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    settings = make_settings(
        tmp_path,
        log_level="DEBUG",
        telegram_bot_token=TOKEN,
        wecom_secret="corp-app-secret-XYZ123",
        wecom_token="callback-token-QWE",
        wecom_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        wecom_robot_keys={"city": "robot-key-city-0001", "county": "robot-key-county-0002"},
        http_proxy="http://monitor:pr0xy-pass-word@proxy.example:3128",
    )
    setup_logging(settings, stderr_level=logging.CRITICAL)
    yield (
        settings.log_path,
        [
            "corp-app-secret-XYZ123",
            "callback-token-QWE",
            "robot-key-city-0001",
            "robot-key-county-0002",
            "pr0xy-pass-word",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            SECRET_PART,
        ],
    )
    for h in root.handlers[:]:
        root.removeHandler(h)
        h.close()
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def test_every_secret_is_redacted_in_messages_args_exceptions_and_stacks(logfile):
    path, secrets = logfile
    lg = logging.getLogger("some.library")
    lg.debug("Set Bot API URL: http://127.0.0.1:1/bot%s", TOKEN)
    lg.info("webhook https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-city-0001&debug=1 failed")
    lg.info("gettoken %s", {"corpsecret": "corp-app-secret-XYZ123", "keys": ["robot-key-county-0002"]})
    lg.warning(
        "proxy %s, token %r, aes %s",
        "http://monitor:pr0xy-pass-word@proxy.example:3128",
        "callback-token-QWE",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    lg.info("an unknown robot: https://x.example/send?key=zzz-not-in-settings-999 and token 5555555:%s", "B" * 35)
    try:
        raise httpx.ConnectError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe")
    except httpx.ConnectError:
        lg.exception("start-up failed")
    try:
        raise RuntimeError("corp-app-secret-XYZ123 rejected")
    except RuntimeError as e:
        lg.error("failure: %s", e, exc_info=True, stack_info=True)
    lg.critical("bad format %s %s", "robot-key-city-0001")  # a broken call must neither crash nor leak
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    for s in secrets + ["zzz-not-in-settings-999", "B" * 35]:
        assert s not in text, s
    assert text.count(REDACTED) >= 10
    assert "Traceback" in text and "httpx.ConnectError" in text and "RuntimeError" in text
    assert "start-up failed" in text and "key=[REDACTED]&debug=1" in text
    assert "http://monitor:[REDACTED]@proxy.example:3128" in text


# ---------------------------------------------------------------------------- bounded refusals


def _lines(caplog, level=None):
    return [r for r in caplog.records if r.name == "bot.platforms.wecom" and (level is None or r.levelno == level)]


async def test_a_flood_of_bad_signatures_is_logged_at_a_bounded_rate(wc, caplog):
    caplog.set_level(logging.INFO, logger="bot.platforms.wecom")
    params, body = wc.fake.encrypt(wc.fake.callback_xml("LiQiang", text="/claim 1"))
    bad = dict(params, msg_signature="0" * 40)
    statuses = [(await wc.post(bad, body)).status_code for _ in range(300)]
    assert set(statuses) == {403}
    refused = [r for r in _lines(caplog) if "bad signature" in r.getMessage()]
    assert 1 <= len(refused) <= 5
    # a good request in the middle of the flood is still served (and a different refusal still logged)
    assert (await wc.post(params, body)).status_code == 200
    await until(lambda: "✋ #1 已由 李强 认领" in wc.texts())
    assert (await wc.post(params, body)).status_code == 409
    assert any("replayed request" in r.getMessage() for r in _lines(caplog))
    wc.platform.refusals.flush()  # the end of the minute (or of the process)
    summary = [r.getMessage() for r in _lines(caplog) if "more refused" in r.getMessage()]
    assert summary == [summary[0]] and "295 more refused (bad signature)" in summary[0]
    assert "127.0.0.1" in summary[0]
    assert len(_lines(caplog)) < 15


async def test_uploads_dropped_mid_body_are_one_line_each_at_most_without_tracebacks(wc, caplog):
    caplog.set_level(logging.DEBUG)
    query = "msg_signature=abc&timestamp=1&nonce=n"
    for _ in range(50):
        _reader, writer = await asyncio.open_connection("127.0.0.1", wc.platform.port)
        writer.write(
            f"POST /wecom/callback?{query} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            f"Content-Length: 100000\r\n\r\n".encode()
            + b"<xml>"
            + b"x" * 2000
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    # every dropped upload has been counted (logged or summarised), so any error would be logged by now
    await until(lambda: wc.platform.refusals.seen("dropped upload") == 50)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text
    dropped = [r for r in _lines(caplog) if "dropped before its body was complete" in r.getMessage()]
    assert 1 <= len(dropped) <= 5 and all(r.levelno == logging.INFO for r in dropped)
    wc.platform.refusals.flush()
    assert any("45 more refused (dropped upload)" in r.getMessage() for r in _lines(caplog))
    # and the server still serves
    assert (await wc.say("liqiang", "认领 1")).status_code == 200
    await until(lambda: "✋ #1 已由 李强 认领" in wc.texts())


async def test_the_summary_comes_by_itself_when_the_window_ends(caplog):
    caplog.set_level(logging.INFO, logger="t.bounded")
    bounded = BoundedLog(logging.getLogger("t.bounded"), "test callback", burst=3, window=0.3)
    for i in range(20):
        bounded.log(logging.WARNING, "bad signature", "refused %d", i, source="10.0.0.9")
    assert [r.getMessage() for r in caplog.records] == ["refused 0", "refused 1", "refused 2"]
    await until(lambda: caplog.records[-1].getMessage().startswith("test callback: 17 more refused"), timeout=5)
    assert caplog.records[-1].getMessage().startswith("test callback: 17 more refused (bad signature) in the last")
    assert "10.0.0.9" in caplog.records[-1].getMessage()
    bounded.log(logging.WARNING, "bad signature", "refused %d", 99)  # a new window: logged again
    assert caplog.records[-1].getMessage() == "refused 99"
