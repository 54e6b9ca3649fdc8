"""Paths no other test ran: Telegram's error translation (through the adapter's public
send/edit) and the nested savepoint of `storage.write_tx`."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.config import load_config
from bot.platforms.telegram import TelegramPlatform
from core.platform import DeliveryError, MessageGone, Outgoing
from storage import open_db, write_tx
from tests.conftest import EXAMPLE


@pytest.fixture
def tg_platform(monkeypatch):
    p = TelegramPlatform(load_config(EXAMPLE), token="123456:TEST", base_url="http://127.0.0.1:9/bot")
    p.connected = True
    raised: list[Exception] = []

    async def fail(self, *a, **kw):
        raise raised[0]

    bot_type = type(p.bot)
    monkeypatch.setattr(bot_type, "send_message", fail)
    monkeypatch.setattr(bot_type, "edit_message_text", fail)
    return p, raised


@pytest.mark.parametrize(
    ("err", "kind", "flags"),
    [
        (RetryAfter(dt.timedelta(seconds=7)), DeliveryError, {"retry_after": 7.0, "permanent": False}),
        (Forbidden("bot was kicked"), DeliveryError, {"permanent": True}),
        (BadRequest("Chat not found"), DeliveryError, {"permanent": True}),
        (BadRequest("Can't parse entities: x"), DeliveryError, {"permanent": True}),
        (BadRequest("Message is too long"), DeliveryError, {"permanent": True}),
        (BadRequest("Some other problem"), DeliveryError, {"permanent": False}),
        (TimedOut("slow"), DeliveryError, {"uncertain": True, "permanent": False}),
        (NetworkError("connection refused"), DeliveryError, {"uncertain": False, "permanent": False}),
        (TelegramError("odd"), DeliveryError, {"permanent": False}),
    ],
)
async def test_send_translates_telegram_errors(tg_platform, err, kind, flags):
    p, raised = tg_platform
    raised.append(err)
    with pytest.raises(kind) as info:
        await p.send("-100123", Outgoing(text="你好"))
    assert info.value.__cause__ is err  # the cause is kept
    for name, value in flags.items():
        assert getattr(info.value, name) == value, name


async def test_edit_of_a_vanished_message_is_message_gone_and_not_modified_is_fine(tg_platform):
    from core.render import Card

    p, raised = tg_platform
    card = Outgoing(card=Card(header="🔴 I 特别重大 · #1 · 干部作风", title="t", url=None, fields=()))
    raised.append(BadRequest("Message to edit not found"))
    with pytest.raises(MessageGone):
        await p.edit("-100123", "5", card)
    raised[0] = BadRequest("Message is not modified: specified new message content is the same")
    await p.edit("-100123", "5", card)  # nothing to do, no error
    raised[0] = Forbidden("bot was blocked by the user")
    with pytest.raises(DeliveryError) as info:
        await p.edit("-100123", "5", card)
    assert info.value.permanent


async def test_sends_wait_while_not_connected(tg_platform):
    p, _ = tg_platform
    p.connected = False
    with pytest.raises(DeliveryError) as info:
        await p.send("-100123", Outgoing(text="你好"))
    assert info.value.retry_after == 2 and not info.value.permanent


def test_write_tx_nests_as_a_savepoint(tmp_path):
    db = open_db(tmp_path / "t.db")
    db.execute("CREATE TABLE t (x INTEGER)")
    with write_tx(db):
        db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), write_tx(db):  # inner failure: only the inner part goes
            db.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("inner")
        with write_tx(db):
            db.execute("INSERT INTO t VALUES (3)")
    assert [r[0] for r in db.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    with pytest.raises(RuntimeError), write_tx(db):  # outer failure: inner work goes with it
        with write_tx(db):
            db.execute("INSERT INTO t VALUES (4)")
        raise RuntimeError("outer")
    assert [r[0] for r in db.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    assert not db.conn.in_transaction
    db.close()
