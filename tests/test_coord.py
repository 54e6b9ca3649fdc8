"""Issue 16.2/16.3: collectors share the sources through leases, one bot leads.

Claims are exclusive across claimers on one database (threads with a connection each: on
PostgreSQL they really run at once, through `FOR UPDATE ... SKIP LOCKED`); a lease that runs
out hands the source to another worker; a host is read by one worker at a time with the
minimum interval kept across workers; two electors on one database make one leader, the
standby takes over once the lease ran out, and a deposed leader delivers nothing (the epoch
fences it in the database). Every test with a database runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bot.app import App
from bot.config import load_config
from bot.leader import Elector, uses_election
from jobs.collector import Collector
from jobs.deliver import Deliverer
from storage import coord, open_db, outbox, write_tx
from tests.conftest import FakeClock, make_settings

pytestmark = pytest.mark.both_engines  # every test with a database runs on SQLite and on PostgreSQL

TTL = timedelta(seconds=30)


def _sources(db, n: int, hosts: int) -> list[str]:
    ids = [f"s{i:02d}" for i in range(n)]
    with write_tx(db):
        for i, sid in enumerate(ids):
            db.execute(
                "INSERT INTO sources (id, name, kind, url, host) VALUES (?, ?, 'rss', ?, ?)",
                [sid, sid, f"http://h{i % hosts}/{sid}", f"http://h{i % hosts}"],
            )
    return ids


# ----------------------------------------------------------------------------- claims


def test_concurrent_claimers_on_one_database_never_claim_a_source_twice(db_url, clock):
    path = db_url
    ids = _sources(open_db(path), 60, hosts=60)  # a host each: only the source leases decide
    got: dict[str, list[str]] = {}
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        db = open_db(path)
        mine = got.setdefault(name, [])
        start.wait()
        while True:
            with write_tx(db):
                claims = coord.claim_sources(db, name, clock(), ttl=TTL, limit=3)
            if not claims:
                break
            mine += [c.source_id for c in claims]
        db.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [sid for lst in got.values() for sid in lst]
    assert sorted(claimed) == ids  # every source once, none twice
    leases = coord.source_leases(open_db(path))
    assert all(leases[sid][0] == w for w, lst in got.items() for sid in lst)


def test_a_host_is_claimed_by_one_worker_at_a_time(db_url, clock):
    path = db_url
    _sources(open_db(path), 12, hosts=3)
    owners: dict[str, set[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(3)

    def claimer(name: str) -> None:
        db = open_db(path)
        start.wait()
        for _ in range(6):
            with write_tx(db):
                claims = coord.claim_sources(db, name, clock(), ttl=TTL, limit=2, per_host=2)
            with lock:
                for c in claims:
                    owners.setdefault(c.host, set()).add(name)
        db.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(owners) == 3
    assert all(len(who) == 1 for who in owners.values()), owners


def test_an_expired_lease_hands_the_source_to_another_worker(db_url, clock):
    db = open_db(db_url)
    _sources(db, 1, hosts=1)
    with write_tx(db):
        assert [c.source_id for c in coord.claim_sources(db, "a", clock(), ttl=TTL, limit=5)] == ["s00"]
    clock.advance(seconds=20)  # a still holds it
    with write_tx(db):
        assert coord.claim_sources(db, "b", clock(), ttl=TTL, limit=5) == []
    clock.advance(seconds=11)  # a died: no heartbeat for longer than the TTL
    with write_tx(db):
        claims = coord.claim_sources(db, "b", clock(), ttl=TTL, limit=5)
    assert [(c.source_id, c.taken_from) for c in claims] == [("s00", "a")]
    with write_tx(db):  # a's late release changes nothing: the source is b's now
        assert not coord.release_source(db, "s00", "a", next_due=clock() + timedelta(minutes=10))
        assert coord.release_source(db, "s00", "b", next_due=clock() + timedelta(minutes=10))
    with write_tx(db):  # and it is not due again before its interval
        assert coord.claim_sources(db, "a", clock(), ttl=TTL, limit=5) == []


def test_a_heartbeat_keeps_the_lease(db_url, clock):
    db = open_db(db_url)
    _sources(db, 2, hosts=1)
    with write_tx(db):
        assert len(coord.claim_sources(db, "a", clock(), ttl=TTL, limit=5)) == 2
    for _ in range(4):
        clock.advance(seconds=20)
        with write_tx(db):
            assert coord.renew(db, "a", clock(), TTL, sources=["s00", "s01"], hosts=["http://h0"]) == (2, 1)
        with write_tx(db):
            assert coord.claim_sources(db, "b", clock(), ttl=TTL, limit=5) == []


def test_a_restarted_collector_frees_what_its_previous_life_held(db_url, clock):
    """A collector killed and started again under the same --worker-id: its heartbeat does not
    keep the old leases alive (only what it is working on), and starting frees them at once."""
    db = open_db(db_url)
    _sources(db, 2, hosts=2)
    with write_tx(db):
        assert len(coord.claim_sources(db, "a", clock(), ttl=TTL, limit=5)) == 2
    with write_tx(db):  # the new life works on nothing yet: its heartbeat renews nothing
        assert coord.renew(db, "a", clock(), TTL, sources=[], hosts=[]) == (0, 0)
        assert coord.release_all(db, "a") == 2
    with write_tx(db):
        assert len(coord.claim_sources(db, "b", clock(), ttl=TTL, limit=5)) == 2


class _PauseAfter:
    """A database whose `execute` stops after the statement for which `when(sql, params)` holds,
    until `go` is set (a claim held between taking its first host and its second)."""

    def __init__(self, db, when, reached: threading.Event, go: threading.Event):
        self._db, self._when, self.reached, self.go = db, when, reached, go

    def __getattr__(self, name):
        return getattr(self._db, name)

    def execute(self, sql, params=None):
        cur = self._db.execute(sql, params)
        if self._when(sql, params or []) and not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(30)
        return cur


@pytest.mark.postgres
def test_a_heartbeat_and_a_claim_lock_hosts_in_one_order(pg_url, clock):
    """A collector whose host leases ran out renews them (it was only slow) while another
    claims both hosts. The claim locks hosts in name order; the heartbeat must too, whatever
    plan PostgreSQL picks for its UPDATE (here a sequential scan, which meets h2 first): else
    each waits for the other's row and PostgreSQL kills one as a deadlock."""
    db = open_db(pg_url)
    past, now = coord.stamp(clock() - timedelta(seconds=1)), clock()
    with write_tx(db):
        for host in ("http://h2", "http://h1"):  # stored in this order: a sequential scan meets h2 first
            db.execute(
                "INSERT INTO hosts (host, owner, lease_until, next_fetch_at) VALUES (?, 'a', ?, '')", [host, past]
            )
        for sid, host, owner, due in [
            ("a1", "http://h1", "a", "9"),  # a is reading these (not due: claims pass them over)
            ("a2", "http://h2", "a", "9"),
            ("b1", "http://h1", None, ""),  # due, free
            ("b2", "http://h2", None, ""),
        ]:
            db.execute(
                "INSERT INTO sources (id, name, kind, url, host, lease_owner, lease_until, next_due_at) "
                "VALUES (?, ?, 'rss', 'x', ?, ?, ?, ?)",
                [sid, sid, host, owner, past if owner else "", due],
            )
    claimer, heart, watcher = open_db(pg_url), open_db(pg_url), open_db(pg_url)
    heart.execute("SET enable_indexscan = off")
    heart.execute("SET enable_bitmapscan = off")
    heart_pid = heart.execute("SELECT pg_backend_pid()").fetchone()[0]
    reached, go = threading.Event(), threading.Event()
    paused = _PauseAfter(claimer, lambda sql, p: "INSERT INTO hosts" in sql and p[:1] == ["http://h1"], reached, go)
    errors: list[BaseException] = []
    got: dict[str, object] = {}

    def claim():
        try:
            with write_tx(paused):
                got["claims"] = coord.claim_sources(paused, "b", now, ttl=TTL, limit=2, per_host=1)
        except BaseException as e:
            errors.append(e)
            reached.set()

    def beat():
        try:
            with write_tx(heart):
                got["renewed"] = coord.renew(
                    heart, "a", now, TTL, sources=["a1", "a2"], hosts=["http://h1", "http://h2"]
                )
        except BaseException as e:
            errors.append(e)

    tc = threading.Thread(target=claim)
    tc.start()
    assert reached.wait(30)  # the claim holds h1 and is about to take h2
    tb = threading.Thread(target=beat)
    tb.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the heartbeat waits for a row lock
        row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?", [heart_pid]).fetchone()
        if row and row[0] == "Lock":
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the heartbeat never waited for the claim")
    go.set()
    tc.join(30)
    tb.join(30)
    assert errors == [], errors
    assert sorted(c.source_id for c in got["claims"]) == ["b1", "b2"]
    assert got["renewed"] == (2, 0)  # a's own sources; the hosts had run out and are b's now
    for d in (db, claimer, heart, watcher):
        d.close()


def test_a_released_host_waits_for_its_minimum_interval(db_url, clock):
    db = open_db(db_url)
    _sources(db, 2, hosts=1)
    with write_tx(db):
        [first] = coord.claim_sources(db, "a", clock(), ttl=TTL, limit=1)
    with write_tx(db):
        coord.release_source(db, first.source_id, "a", next_due=clock() + timedelta(minutes=10))
        coord.release_host(db, first.host, "a", next_fetch=clock() + timedelta(seconds=2))
    with write_tx(db):  # the other source of the host is due, but the host is not yet
        assert coord.claim_sources(db, "b", clock(), ttl=TTL, limit=1) == []
    clock.advance(seconds=2)
    with write_tx(db):
        assert [c.source_id for c in coord.claim_sources(db, "b", clock(), ttl=TTL, limit=1)] == ["s01"]


# ----------------------------------------------------------------------------- collectors on loopback


class _Log(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log: ClassVar[list] = []  # (host, path, start, end), per server class
    lock = threading.Lock()

    def do_GET(self):
        start = time.monotonic()
        time.sleep(0.02)  # a server that takes a moment: overlapping requests would show
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>帖子 {self.path}</title><link>http://x.example{self.path}/1</link></item>"
            "</channel></rss>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.lock:
            self.log.append((self.server.server_address[0], self.path, start, time.monotonic()))

    def log_message(self, *a):
        pass


def _feed_config(config_dir, urls: list[str], *, min_interval: float):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    sources = "".join(
        f'[[sources]]\nid = "f{i:02d}"\nname = "feed {i}"\nurl = "{u}"\ntier = 4\ninterval = "1h"\n\n'
        for i, u in enumerate(urls)
    )
    text = text[:start] + sources + text[end:]
    text += f"\n[collection]\nmin_interval = {min_interval}\njitter = 0.0\nrespect_robots = false\n"
    p.write_text(text, encoding="utf-8")
    return load_config(p)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("workers", "concurrency"), [(1, 1), (2, 4)])
async def test_host_politeness_holds_across_collectors_and_once_reads_everything_due(
    config_dir, tmp_path, db_url, workers, concurrency
):
    """Each feed once, each host never twice at once nor before its minimum interval; a
    collector run `once` also reads the sources that had to wait for their host's interval."""
    handler = type("H", (_Log,), {"log": []})
    servers = []
    for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        srv = ThreadingHTTPServer((host, 0), handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    urls = [f"http://{s.server_address[0]}:{s.server_address[1]}/feed{i}" for s in servers for i in range(4)]
    min_interval = 1.0
    cfg = _feed_config(config_dir, urls, min_interval=min_interval)
    apps = [App(make_settings(tmp_path), cfg, platforms={}, db=open_db(db_url)) for _ in range(workers)]
    try:
        await asyncio.gather(*(a.analyser_loaded() for a in apps))
        for a in apps:
            a.attach_http(a.new_http_client())
        collectors = [
            Collector(a.pipeline, owner=f"w{i}", concurrency=concurrency, poll=0.1) for i, a in enumerate(apps)
        ]
        runs = await asyncio.gather(*(c.run(once=True) for c in collectors))
    finally:
        for a in apps:
            if a.client is not None:
                await a.client.aclose()
            a.close()
        for s in servers:
            s.shutdown()
            s.server_close()
    assert sorted(r.source_id for rs in runs for r in rs) == [f"f{i:02d}" for i in range(12)]
    assert all(r.error is None for rs in runs for r in rs)
    log = handler.log
    assert sorted(p for _, p, _, _ in log) == sorted(f"/feed{i}" for _ in servers for i in range(4))  # each once
    for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        visits = sorted((start, end) for h, _, start, end in log if h == host)
        for (prev_start, end), (start, _) in itertools.pairwise(visits):
            # never two requests at once, and the minimum interval between their starts: spaced
            # by the collector's clock, seen by the server after each request's connection and
            # parsing (a first request's new connection makes the next one look up to ~0.1 s
            # early here; a slow machine only makes the gaps longer)
            assert start >= end, (host, visits)
            assert start - prev_start >= min_interval * 0.9, (host, visits)


async def test_a_collector_stopped_mid_run_gives_its_sources_back_due(make_app, clock):
    h = make_app()
    hold = asyncio.Event()
    started = asyncio.Event()

    async def slow_run(source_id, **kw):
        started.set()
        await hold.wait()

    h.app.pipeline.run_source = slow_run
    collector = Collector(h.app.pipeline, owner="a", concurrency=8, clock=clock)
    task = asyncio.create_task(collector.run())
    await asyncio.wait_for(started.wait(), 30)
    assert {o for o, _, _ in coord.source_leases(h.app.db).values()} == {"a", None}
    collector.stop()
    await asyncio.wait_for(task, 30)
    assert {o for o, _, _ in coord.source_leases(h.app.db).values()} == {None}
    clock.advance(seconds=5)  # past the hosts' minimum interval
    with write_tx(h.app.db):  # due at once, for whoever claims next
        claims = coord.claim_sources(h.app.db, "b", clock(), ttl=TTL, limit=10)
    assert sorted(c.source_id for c in claims) == sorted(s.id for s in h.app.config.sources if s.enabled)


async def test_run_role_bot_reads_no_source(tmp_path, clock):
    """`yuqing run --role bot`: the jobs and delivery, no collection job, no start-up cycle."""
    from bot.platforms.console import ConsolePlatform

    cfg = load_config(make_settings(tmp_path).config)
    app = App(make_settings(tmp_path), cfg, platforms={"console": ConsolePlatform(cfg)}, clock=clock, collect=False)
    try:
        await app.start()
        assert {j.id for j in app.scheduler.get_jobs()} == {"index", "deadlines", "report:daily", "report:weekly"}
        await app.first_collection()
        assert app.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0
    finally:
        await app.stop()
        app.close()


# ----------------------------------------------------------------------------- the leader


class Lagging:
    """A clock some seconds behind another (a leader that has not noticed time passing)."""

    def __init__(self, clock: FakeClock, behind: float):
        self.clock, self.behind = clock, timedelta(seconds=behind)

    def __call__(self):
        return self.clock() - self.behind


def test_one_leader_of_two_and_the_standby_takes_over_when_the_lease_runs_out(db_url, clock):
    path = db_url
    a = Elector(open_db(path), "a", clock=clock)
    b = Elector(open_db(path), "b", clock=clock)
    assert a.step() and not b.step()
    assert a.is_leader() and not b.is_leader()
    for _ in range(5):  # the leader renews every 5 s; the standby keeps waiting
        clock.advance(seconds=5)
        assert a.step() and not b.step()
    first_epoch = a.epoch
    clock.advance(seconds=14)  # a stops renewing (killed): not yet expired
    assert not b.step()
    clock.advance(seconds=1)
    assert not a.is_leader()  # on its own clock a knows it can no longer act
    assert b.step() and b.is_leader()
    assert b.epoch == first_epoch + 1
    assert not a.step() and not a.is_leader()  # back: the lease is b's
    assert b.holds() and not a.holds()


def test_a_clean_stop_hands_over_at_once(db_url, clock):
    path = db_url
    a = Elector(open_db(path), "a", clock=clock)
    b = Elector(open_db(path), "b", clock=clock)
    assert a.step() and not b.step()
    a.resign()
    assert b.step()


class Chat:
    name = "console"
    max_length = 4000

    def __init__(self):
        self.sent: list[str] = []

    async def send(self, chat, message):
        self.sent.append(message.text)
        return f"m{len(self.sent)}"

    async def edit(self, chat, message_id, message):
        pass


def _deliverer(db, clock, elector) -> tuple[Deliverer, Chat]:
    chat = Chat()
    d = Deliverer(db, {"console": chat}, render=lambda *a: None, clock=clock)
    d.leader = elector
    return d, chat


def _queue(db, clock, *texts: str) -> list[int]:
    with write_tx(db):
        return [
            outbox.enqueue(
                db, clock(), platform="console", chat="g", kind=outbox.NOTICE, incident_id=7, payload={"text": t}
            )
            for t in texts
        ]


async def test_a_deposed_leader_delivers_nothing_and_the_new_one_does(db_url, clock):
    path = db_url
    a = Elector(open_db(path), "a", clock=clock)
    b = Elector(open_db(path), "b", clock=clock)
    da, chat_a = _deliverer(a.db, clock, a)
    db_, chat_b = _deliverer(b.db, clock, b)
    assert a.step() and not b.step()
    _queue(a.db, clock, "一")
    assert await da.run_once() == 1 and chat_a.sent == ["一"]
    assert await db_.run_once() == 0  # the standby sends nothing
    clock.advance(seconds=16)
    assert b.step()
    _queue(a.db, clock, "二")
    assert await da.run_once() == 0 and chat_a.sent == ["一"]
    assert await db_.run_once() == 1 and chat_b.sent == ["二"]


async def test_the_epoch_fences_a_leader_whose_clock_lags(db_url, clock):
    """A leader that still believes it leads (its clock is behind) is stopped by the database:
    before a batch (the lease is checked) and at the row itself (the epoch)."""
    path = db_url
    slow = Lagging(clock, behind=10)
    a = Elector(open_db(path), "a", clock=slow)
    b = Elector(open_db(path), "b", clock=clock)
    assert a.step()
    clock.advance(seconds=6)  # a wrote its lease by its slow clock: it ran out for b already
    assert b.step()
    da, chat_a = _deliverer(a.db, slow, a)
    [row] = _queue(a.db, clock, "一")
    assert a.is_leader()  # a has not noticed yet
    assert await da.run_once() == 0 and chat_a.sent == []
    assert not a.is_leader()  # the check before the batch deposed it
    a.epoch, a._valid_until = b.epoch - 1, slow() + timedelta(seconds=15)  # as if it had not checked
    with pytest.raises(coord.LeaseLost):
        da._begin([row])
    assert a.db.execute("SELECT state FROM outbox WHERE id = ?", [row]).fetchone()[0] == "pending"


async def test_a_row_left_sending_by_a_dead_leader_is_sent_again_after_its_lease_in_order(db_url, clock):
    path = db_url
    a = Elector(open_db(path), "a", clock=clock)
    b = Elector(open_db(path), "b", clock=clock)
    da, _ = _deliverer(a.db, clock, a)
    db_, chat_b = _deliverer(b.db, clock, b)
    assert a.step()
    first, _second = _queue(a.db, clock, "一", "二")
    da._begin([first])  # a marks the row as being sent ... and is killed
    clock.advance(seconds=16)
    assert b.step()
    assert await db_.run_once() == 0  # a's send may still be under way: neither row goes yet
    assert chat_b.sent == []
    for _ in range(6):  # b leads on, renewing; a's row lease (45 s) runs out
        clock.advance(seconds=5)
        assert b.step()
    assert await db_.drain() == 2
    assert chat_b.sent == ["一", "二"]  # the uncertain one again, and the order of the chat kept
    payload = b.db.execute("SELECT payload FROM outbox WHERE id = ?", [first]).fetchone()[0]
    assert json.loads(payload)["uncertain"] == 1  # (PostgreSQL keeps the JSON with spaces)


def test_only_a_shared_database_elects():
    assert uses_election("postgresql://yuqing@db/yuqing")
    assert not uses_election("data/yuqing.db")


# ----------------------------------------------------------------------------- `run` as leader or standby


class Adapter:
    """A platform that records whether it was opened (polling) and stops when told."""

    name = "console"
    max_length = 4000
    team_chats: ClassVar[dict] = {}

    def __init__(self):
        self.opened = self.closed = 0
        self.serving = asyncio.Event()
        self._stop = asyncio.Event()
        self.sent: list[str] = []

    async def open(self, host):
        self.opened += 1
        self._stop = asyncio.Event()

    async def serve(self, host):
        self.serving.set()
        await self._stop.wait()
        self.serving.clear()

    def stop(self):
        self._stop.set()

    async def close(self):
        self.closed += 1

    async def send(self, chat, message):
        self.sent.append(message.text or "")
        return f"m{len(self.sent)}"

    async def edit(self, chat, message_id, message):
        pass


@pytest.mark.timeout(120)
async def test_run_waits_as_standby_polls_nothing_and_takes_over_when_the_leader_goes(
    tmp_path, db_url, clock, monkeypatch, caplog
):
    """`yuqing run` on a shared database (the PostgreSQL path; on SQLite driven in-process on one file):
    the second bot opens no platform while the first leads; when the first stops renewing it
    stops polling, and the standby opens its platform and serves."""
    import bot.app
    from bot.cli import _elected_terms

    adapters = {"a": Adapter(), "b": Adapter()}
    current: list[str] = []
    monkeypatch.setattr(bot.app, "build_platform", lambda name, cfg, **kw: adapters[current[-1]])
    settings = make_settings(tmp_path, db=db_url, platform=["console"], collect_on_start=False)
    cfg = load_config(settings.config)
    path = settings.db
    fast = timedelta(milliseconds=20)
    electors = {n: Elector(open_db(path), n, clock=clock, renew_every=fast) for n in ("a", "b")}

    def build_for(n):
        orig = electors[n].on_elected

        def elected(epoch):
            current.append(n)
            orig(epoch)

        electors[n].on_elected = elected

    build_for("a")
    build_for("b")
    ta = asyncio.create_task(_elected_terms(settings, cfg, electors["a"], electors["a"].db, collect=False))
    await asyncio.wait_for(adapters["a"].serving.wait(), 60)
    tb = asyncio.create_task(_elected_terms(settings, cfg, electors["b"], electors["b"].db, collect=False))
    for _ in range(10):  # the standby campaigns round after round, and opens nothing
        await asyncio.sleep(0.03)
        assert not electors["b"].step()
    assert adapters["b"].opened == 0
    assert "standby: another bot leads on this database (a)" in caplog.text
    # the leader's renewals fail (its database unreachable): after a TTL it stops on its own
    a = electors["a"]
    a.step = a.is_leader  # a round that cannot reach the database changes nothing
    clock.advance(seconds=16)
    await asyncio.wait_for(adapters["b"].serving.wait(), 60)
    deadline = asyncio.get_running_loop().time() + 60
    while adapters["a"].closed == 0:  # a stopped polling, jobs and delivery
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert not a.is_leader() and electors["b"].is_leader()
    assert adapters["a"].opened == 1 and not adapters["a"].serving.is_set()
    adapters["b"].stop()  # a clean stop of the new leader: it gives the lease up
    await asyncio.wait_for(tb, 60)
    assert coord.lease_state(electors["b"].db, coord.LEADER)[0] is None
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)
