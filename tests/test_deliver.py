"""Delivery through the outbox: nothing lost, nothing sent twice, order kept per incident."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.config import load_config
from core.platform import DeliveryError, MessageGone
from tests.conftest import EXAMPLE, HIGH, LOW, make_settings, seed

pytestmark = pytest.mark.both_engines


class FlakyPlatform:
    """Records what reached 'the chat'; can be told to fail."""

    name = "console"
    max_length = 4000

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []  # (kind, chat, text)
        self.fail_next: list[Exception] = []
        self.down = False
        self.gone: set[str] = set()
        self._n = 0

    def _maybe_fail(self):
        if self.down:
            raise DeliveryError("connection refused")
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def send(self, chat, message):
        self._maybe_fail()
        self._n += 1
        text = message.card.header if message.card else message.text
        self.sent.append(("card" if message.card else "text", chat, text))
        return f"m{self._n}"

    async def edit(self, chat, message_id, message):
        self._maybe_fail()
        if message_id in self.gone:
            raise MessageGone()
        self.sent.append(("edit", chat, message.card.header))


def make(tmp_path, clock, db_url):
    cfg = load_config(EXAMPLE)
    p = FlakyPlatform()
    app = App(make_settings(tmp_path, db=db_url), cfg, platforms={"console": p}, clock=clock)

    class H:  # the seeding helper expects .app
        pass

    h = H()
    h.app = app
    return app, p, h


async def test_outage_then_recovery_delivers_everything_once_in_order(tmp_path, clock, db_url):
    app, p, h = make(tmp_path, clock, db_url)
    p.down = True
    seed(h, *HIGH)
    seed(h, *LOW, source="ycnews")
    await app.deliverer.drain()
    assert p.sent == []
    from core.incidents import Actor
    from core.lifecycle import Action
    from core.models import Role

    actor = Actor("liqiang", "李强", Role.STAFF, "console", "监测群")
    app.service.act(1, Action.CLAIM, actor)
    app.service.act(1, Action.NOTE, actor, text="第一条")
    app.service.act(1, Action.NOTE, actor, text="第二条")
    for _ in range(5):  # ten minutes of failed retries
        clock.advance(minutes=2)
        await app.deliverer.drain()
    assert p.sent == []
    p.down = False
    clock.advance(minutes=15)
    await app.deliverer.drain()
    texts = [t for _, _, t in p.sent]
    # each incident's card first, then its notices in order; the repeated card edit was coalesced
    assert [k for k, c, _ in p.sent].count("card") == 2
    one = [(k, t) for k, _, t in p.sent if "#1" in t]
    assert [k for k, _ in one] == ["card", "edit", "text", "text", "text", "text"]
    notices = [t for k, t in one if k == "text"]
    assert notices[0] == "✋ #1 已由 李强 认领" and notices[1].startswith("📘 #1 处置预案")
    assert notices[2:] == ["📝 #1 李强：第一条", "📝 #1 李强：第二条"]
    # delivering again sends nothing more
    clock.advance(hours=1)
    await app.deliverer.drain()
    assert len(p.sent) == len(texts)
    assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0] == 0
    app.close()


async def test_retry_after_is_honoured(tmp_path, clock, db_url):
    app, p, h = make(tmp_path, clock, db_url)
    p.fail_next = [DeliveryError("429 Too Many Requests", retry_after=30)]
    seed(h, *HIGH)
    await app.deliverer.drain()
    assert p.sent == []
    clock.advance(seconds=29)
    await app.deliverer.drain()
    assert p.sent == []
    clock.advance(seconds=2)
    await app.deliverer.drain()
    assert [k for k, _, _ in p.sent] == ["card"]
    app.close()


async def test_permanent_failure_is_dead_and_does_not_block_others(tmp_path, clock, db_url):
    app, p, h = make(tmp_path, clock, db_url)
    p.fail_next = [DeliveryError("chat not found", permanent=True)]
    seed(h, *HIGH)
    seed(h, *LOW, source="ycnews")
    await app.deliverer.drain()
    assert app.db.execute("SELECT COUNT(*) FROM outbox WHERE state='dead'").fetchone()[0] == 1
    assert len([1 for k, _, _ in p.sent if k == "card"]) == 1
    app.close()


async def test_deleted_card_is_sent_again_not_lost(tmp_path, clock, db_url):
    app, p, h = make(tmp_path, clock, db_url)
    seed(h, *HIGH)
    await app.deliverer.drain()
    p.gone.add("m1")
    from core.incidents import Actor
    from core.lifecycle import Action
    from core.models import Role

    app.service.act(1, Action.CLAIM, Actor("liqiang", "李强", Role.STAFF))
    await app.deliverer.drain()
    kinds = [k for k, _, _ in p.sent]
    assert kinds == ["card", "card", "text", "text"]  # a fresh card replaces the deleted one, then the notices
    app.close()


async def test_restart_in_the_middle_of_a_backlog(tmp_path, clock, db_url):
    app, p, h = make(tmp_path, clock, db_url)
    # two cards of one lane (HIGH is grade II by the rubric and goes in the I–II lane, which a
    # one-row batch does not hold back)
    seed(h, "市委组织部召开全市干部工作会议", "会议部署下一阶段干部工作。")
    seed(h, *LOW, source="ycnews")
    await app.deliverer.run_once(limit=1)
    assert len(p.sent) == 1
    app.close()
    app2 = App(make_settings(tmp_path, db=db_url), load_config(EXAMPLE), platforms={"console": p}, clock=clock)
    await app2.deliverer.drain()
    assert [k for k, _, _ in p.sent] == ["card", "card"]
    app2.close()


async def test_quiet_hours_hold_low_grades_until_morning_never_high(config_dir, tmp_path, clock, db_url):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('city = "云川市"', 'city = "云川市"\nquiet_hours = "22:00-07:30"'),
        encoding="utf-8",
    )
    cfg = load_config(p)
    flaky = FlakyPlatform()
    app = App(make_settings(tmp_path, db=db_url), cfg, platforms={"console": flaky}, clock=clock)

    class H:
        pass

    h = H()
    h.app = app
    clock.now = datetime(2026, 11, 24, 23, 15, tzinfo=ZoneInfo("Asia/Shanghai"))
    seed(h, *LOW, source="ycnews")  # grade IV at 23:15: held
    seed(h, *HIGH, source="provnews")  # grade II at 23:15: goes out at once
    await app.deliverer.drain()
    assert [t for _, _, t in flaky.sent] == ["🟠 II 重大 · #2 · 干部作风"]
    clock.now = datetime(2026, 11, 25, 7, 29, tzinfo=ZoneInfo("Asia/Shanghai"))
    await app.deliverer.drain()
    assert len(flaky.sent) == 1
    clock.now = datetime(2026, 11, 25, 7, 31, tzinfo=ZoneInfo("Asia/Shanghai"))
    await app.deliverer.drain()
    assert [t for _, _, t in flaky.sent][1] == "🔵 IV 一般 · #1 · 干部任用"
    app.close()


def test_bad_quiet_hours_is_a_config_error(config_dir):
    from core.errors import ConfigError

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('city = "云川市"', 'city = "云川市"\nquiet_hours = "late"'),
        encoding="utf-8",
    )
    import pytest

    with pytest.raises(ConfigError, match=r"organization\.quiet_hours"):
        load_config(p)
