"""The incident service: one transaction per change; concurrent claims; audit trail."""

from __future__ import annotations

import threading

import pytest

from bot.config import load_config
from core.incidents import Actor, IncidentService
from core.lifecycle import Action, Refusal
from core.models import Role, State
from core.routing import Router
from storage import SQLITE, open_db
from storage import outbox as outbox_store
from tests.conftest import EXAMPLE, HIGH, LOW, seed

pytestmark = pytest.mark.both_engines


async def test_change_writes_state_event_and_outbox_together(two):
    before_events, before_outbox = two.count("events"), two.count("outbox")
    out = two.app.service.act(1, Action.CLAIM, Actor("liqiang", "李强", Role.STAFF, "console", "监测群"))
    assert out.ok and out.incident.state is State.CLAIMED
    assert two.count("events") == before_events + 1
    assert two.count("outbox") == before_outbox + 3  # card edit + notice + the category's playbook
    ev = next(two.app.db.query("SELECT * FROM events ORDER BY id DESC LIMIT 1"))
    assert (ev["actor"], ev["action"], ev["from_state"], ev["to_state"], ev["platform"], ev["chat"]) == (
        "liqiang",
        "claim",
        "new",
        "claimed",
        "console",
        "监测群",
    )


async def test_failure_half_way_rolls_back_everything(two, monkeypatch):
    snapshot = (two.incident(1).version, two.count("events"), two.count("outbox"))

    def boom(*a, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox_store, "enqueue", boom)
    with pytest.raises(RuntimeError):
        two.app.service.act(1, Action.CLAIM, Actor("liqiang", "李强", Role.STAFF))
    assert (two.incident(1).version, two.count("events"), two.count("outbox")) == snapshot
    assert two.incident(1).state is State.NEW


async def test_two_people_claiming_at_once_exactly_one_wins(two, tmp_path, clock):
    """Two connections (as two bot processes or threads would have) race for the same incident."""
    path = two.app.settings.db
    cfg = load_config(EXAMPLE)
    results = {}
    barrier = threading.Barrier(2)

    def claim(pid, name):
        db = open_db(path)
        svc = IncidentService(db, cfg, Router(cfg, ["console"], db, store=SQLITE), clock, store=SQLITE)
        barrier.wait()
        results[pid] = svc.act(1, Action.CLAIM, Actor(pid, name, Role.STAFF))
        db.close()

    threads = [threading.Thread(target=claim, args=a) for a in (("liqiang", "李强"), ("zhoulan", "周岚"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [pid for pid, out in results.items() if out.ok]
    losers = [out for out in results.values() if not out.ok]
    assert len(winners) == 1 and len(losers) == 1
    winner_name = {"liqiang": "李强", "zhoulan": "周岚"}[winners[0]]
    assert losers[0].refusal is Refusal.TAKEN and losers[0].holder == winner_name
    assert two.incident(1).assignee == winners[0]
    assert two.count("events", "incident_id=1 AND action='claim'") == 1


# An incident's whole row is rebuilt from its events in tests/test_event_derivation.py.


async def test_new_post_of_an_open_story_updates_the_card_not_a_second_one(make_app):
    h = make_app()
    seed(h, *HIGH)
    await h.deliver()
    seed(h, "转：" + HIGH[0], HIGH[1], source="provnews")
    out = await h.deliver()
    assert h.count("incidents") == 1
    assert "────" not in out  # no new card
    assert "↻ 卡片已更新" in out and "等级上调" in out


def test_stories_opened_by_another_process_are_joined(make_app):
    """The service keeps recent stories between posts; it still sees incidents another
    process (a `yuqing scrape`) opened since."""
    a = make_app()
    b = make_app(db_path=a.app.settings.db)  # a second process on the same file
    assert seed(a, *LOW).created
    assert not seed(a, "转：" + LOW[0], LOW[1]).created  # a has read the stories and holds one
    first = seed(b, *HIGH)
    assert first.created
    again = seed(a, "转：" + HIGH[0], HIGH[1])
    assert again.incident_id == first.incident_id and not again.created


def test_the_domain_imports_without_storage():
    """core reaches the database only through core.ports: importing the service loads no storage."""
    import subprocess
    import sys

    code = "import sys, core.incidents, core.routing, core.config; sys.exit('storage' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
