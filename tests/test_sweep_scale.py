"""Issue 17.3 at a year's scale: a new grade I card never waits behind a backlog of notices;
the reminders of one sweep reach a group as one message; the sweep reads only the incidents
with something due (its cost does not follow the number of open incidents)."""

from __future__ import annotations

from bot.app import App
from bot.config import load_config
from core.grades import Grade
from jobs.deadlines import sweep
from storage import incidents as store
from storage import outbox, write_tx
from tests.conftest import EXAMPLE, HIGH, make_settings, seed


class Recorder:
    """A chat platform that records what reached the chat, in order; `on_send` runs before
    each send (the test queues things 'while the platform is busy')."""

    name = "console"
    max_length = 4000

    def __init__(self):
        self.sent: list[tuple[str, str]] = []  # (kind, text or card header)
        self.on_send = None
        self._n = 0

    async def send(self, chat, message):
        if self.on_send:
            self.on_send(len(self.sent))
        self._n += 1
        self.sent.append(("card", message.card.header) if message.card else ("text", message.text))
        return f"m{self._n}"

    async def edit(self, chat, message_id, message):
        self.sent.append(("edit", message.card.header))


def make(tmp_path, clock):
    p = Recorder()
    app = App(make_settings(tmp_path), load_config(EXAMPLE), platforms={"console": p}, clock=clock)

    class H:
        pass

    h = H()
    h.app = app
    return app, p, h


def grade_i(h):
    """A new grade I incident through the live pipeline (two sources)."""
    seed(h, *HIGH, source="provnews")
    out = seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    inc = h.app.service.get(out.incident_id)
    assert inc.grade is Grade.I
    return inc


def backlog(app, n, *, priority=1, start=0):
    """`n` grade I reminder notices queued for the monitoring group."""
    with write_tx(app.db):
        for i in range(n):
            outbox.enqueue(
                app.db,
                app.clock(),
                platform="console",
                chat="监测群",
                kind=outbox.TEXT,
                payload={"text": f"⏰ 提醒 {start + i}", "reminder": True},
                priority=priority,
            )


def first_card_index(p):
    return next(i for i, (kind, _) in enumerate(p.sent) if kind == "card")


async def test_new_grade_i_card_goes_before_a_backlog_of_300_notices(tmp_path, clock):
    app, p, h = make(tmp_path, clock)
    try:
        backlog(app, 300)  # queued first, same priority as the card
        grade_i(h)
        await app.deliverer.run_once()
        assert first_card_index(p) == 0, p.sent[:3]
        await app.deliverer.drain()
        assert sum(1 for k, t in p.sent if k == "text" and t.startswith("⏰ 提醒")) == 300  # all still go out
    finally:
        app.close()


async def test_card_queued_while_notices_are_being_sent_goes_next(tmp_path, clock):
    """The backlog is being sent (each send may wait for Telegram's 20 a minute) when a grade I
    incident opens: its card is the very next message, not the 51st or the 301st."""
    app, p, h = make(tmp_path, clock)
    try:
        backlog(app, 300)
        queued_at = []

        def during(n):
            if n == 3 and not queued_at:
                queued_at.append(n)
                grade_i(h)

        p.on_send = during
        await app.deliverer.drain()
        assert queued_at == [3]
        assert first_card_index(p) == 4, p.sent[:8]
    finally:
        app.close()


async def test_notice_still_follows_its_own_card(tmp_path, clock):
    """Cards first does not break the per-incident order: a notice of an incident queued with
    its card goes after it, even behind a backlog."""
    app, p, h = make(tmp_path, clock)
    try:
        backlog(app, 20)
        inc = grade_i(h)
        with write_tx(app.db):
            outbox.enqueue(
                app.db,
                clock(),
                platform="console",
                chat="监测群",
                kind=outbox.NOTICE,
                incident_id=inc.id,
                payload={"text": "跟进说明"},
                priority=1,
            )
        await app.deliverer.drain()
        card = first_card_index(p)
        assert card == 0
        assert p.sent.index(("text", "跟进说明")) > card
    finally:
        app.close()


def new_incidents(app, n, *, grade=Grade.II, team="city", start=0):
    with write_tx(app.db):
        return [
            store.create_incident(
                app.db,
                story_key=f"s{start + i}",
                title=f"测试事件{start + i}",
                url=None,
                source_id="forum",
                team=team,
                category=None,
                grade=grade,
                score=20.0,
                sensitivity=1.0,
                best_tier=2,
                reasons=[],
                matched={},
                now=app.clock(),
            )
            for i in range(n)
        ]


def reminder_rows(app, after_id):
    return app.db.execute(
        "SELECT chat, kind, incident_id, payload FROM outbox WHERE id > ? ORDER BY id", [after_id]
    ).fetchall()


def last_outbox(app):
    return app.db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]


async def test_one_sweep_one_message_per_group_each_incident_audited_once(tmp_path, clock):
    app, p, h = make(tmp_path, clock)
    try:
        ids = new_incidents(app, 7)  # grade II: claim 30 min, reminder 10 min before
        sweep(app.service, app.tz)
        clock.advance(minutes=21)
        mark = last_outbox(app)
        assert sweep(app.service, app.tz) == 7
        rows = reminder_rows(app, mark)
        group = [r for r in rows if r[0] == "监测群"]
        assert len(group) == 1, rows  # one message, not seven
        text = group[0][3]
        for i in ids:
            assert f"⏳ #{i} 距认领时限还有" in text
        for i in ids:
            keys = [e.detail["key"] for e in store.events_for(app.db, i) if e.action == "reminder"]
            assert keys == ["claim:pre"]
        # said once: the next sweep queues nothing
        clock.advance(minutes=1)
        mark = last_outbox(app)
        assert sweep(app.service, app.tz) == 0
        assert reminder_rows(app, mark) == []
        # past the deadline: overdue and auto-escalation, again one reminder message for the group
        clock.advance(minutes=10)
        mark = last_outbox(app)
        sweep(app.service, app.tz)
        group = [r for r in reminder_rows(app, mark) if r[0] == "监测群" and '"reminder"' in r[3]]
        assert len(group) == 1
        for i in ids:
            # one line each: the missed claim deadline is said by the auto-escalation line
            assert f"⏰ #{i} 已超过认领时限" not in group[0][3] and f"⏫ #{i} 超过认领时限" in group[0][3]
            keys = sorted(e.detail["key"] for e in store.events_for(app.db, i) if e.action == "reminder")
            assert keys == ["auto_escalate", "claim:due", "claim:pre"]
            assert h.app.service.get(i).state.value == "escalated"
        await app.deliverer.drain()
        # the first message ("还有 N 分钟"), still unsent when the deadline passed, is no longer true
        sent = [t for k, t in p.sent if k == "text" and "时限提醒（7 起事件）" in t]
        assert len(sent) == 1 and "⏫" in sent[0] and "⏳" not in sent[0]
    finally:
        app.close()


def sweep_steps(app) -> int:
    steps = [0]

    def count():
        steps[0] += 1
        return 0

    app.db.conn.set_progress_handler(count, 1)
    try:
        sweep(app.service, app.tz)
    finally:
        app.db.conn.set_progress_handler(None, 1)
    return steps[0]


async def test_sweep_cost_does_not_follow_open_incidents_outside_its_window(tmp_path, clock):
    app, _p, _h = make(tmp_path, clock)
    try:
        new_incidents(app, 50, grade=Grade.III)
        sweep(app.service, app.tz)  # works out every incident's next time once
        clock.advance(minutes=1)
        small = sweep_steps(app)
        new_incidents(app, 2000, grade=Grade.III, start=50)
        sweep(app.service, app.tz)
        clock.advance(minutes=1)
        large = sweep_steps(app)
        assert large <= small * 1.2 + 200, (small, large)
        plan = " ".join(
            str(r[-1])
            for r in app.db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM incidents INDEXED BY incidents_open_next_due "
                "WHERE state != 'closed' AND next_due_at <= ? AND (next_due_at, id) > (?, ?) ORDER BY next_due_at, id",
                ["x", "", 0],
            ).fetchall()
        )
        assert "incidents_open_next_due" in plan and "SCAN" not in plan.replace("SCAN incidents USING INDEX", "")
        # and the due ones are still found: 1 h 30 min later every claim reminder of grade III is due
        clock.advance(minutes=95)
        assert sweep(app.service, app.tz) == 2050
    finally:
        app.close()


async def test_a_change_to_an_incident_brings_it_back_to_the_sweep(tmp_path, clock):
    """`next_due_at` is a cache: a claim (new quiet-nudge clock) or a regrade moves it."""
    app, _p, _h = make(tmp_path, clock)
    try:
        (iid,) = new_incidents(app, 1, grade=Grade.IV)
        sweep(app.service, app.tz)
        before = app.db.execute("SELECT next_due_at FROM incidents WHERE id=?", [iid]).fetchone()[0]
        assert before > "2000"
        with write_tx(app.db):
            inc = store.get_incident(app.db, iid)
            store.update_incident(app.db, iid, inc.version, clock(), grade=Grade.I)
        assert app.db.execute("SELECT next_due_at FROM incidents WHERE id=?", [iid]).fetchone()[0] == ""
        clock.advance(minutes=11)  # grade I now: claim in 15 min, reminded 5 min before
        assert sweep(app.service, app.tz) == 1
    finally:
        app.close()


async def test_a_card_held_behind_its_own_notice_does_not_stall_other_notices(tmp_path, clock):
    """A grade I card edit waiting behind its incident's notice (that notice is retried later)
    is not due: it must not cut every round of other notices down to one message."""
    from datetime import timedelta

    app, p, h = make(tmp_path, clock)
    try:
        inc = grade_i(h)
        await app.deliverer.drain()
        backlog(app, 20)
        with write_tx(app.db):
            nid = outbox.enqueue(
                app.db,
                clock(),
                platform="console",
                chat="监测群",
                kind=outbox.NOTICE,
                incident_id=inc.id,
                payload={"text": "稍后重试"},
                priority=1,
            )
            outbox.mark_retry(app.db, nid, clock() + timedelta(minutes=5), "rate limited", count=False)
            outbox.enqueue(
                app.db, clock(), platform="console", chat="监测群", kind=outbox.CARD, incident_id=inc.id, priority=1
            )
        sent = len(p.sent)
        await app.deliverer.run_once()
        assert sum(1 for k, t in p.sent[sent:] if k == "text" and t.startswith("⏰ 提醒")) == 20
    finally:
        app.close()
