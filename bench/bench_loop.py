"""Loop stalls: the longest time the asyncio loop (chat polling, callbacks, reminders,
delivery) could not run, measured by a heartbeat task, during three heavy operations:

* one feed delivering 500 new posts (analysis, grading, clustering, storage);
* `/search` with 3,000 collected posts still waiting to be indexed;
* `/report month` with its chart on a database of 50,000 incidents.

Goal: at most 100 ms each. The tests (tests/test_loop_stall.py) run the same scenarios
scaled down."""

from __future__ import annotations

import asyncio
import email.utils
import io
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

from bench.feedserve import answer_feed

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 100

WEB_SOURCE = """
[[sources]]
id = "web"
name = "压力测试论坛"
kind = "rss"
url = "{url}"
tier = 4
interval = "5m"
"""

PLACES = ["云川", "江北区", "南湖区", "青石镇", "白沙乡"]
PEOPLE = ["张建国", "刘海燕", "赵明远", "市人社局", "市交通运输局"]
ISSUES = ["公车私用", "态度恶劣", "推诿扯皮", "形式主义", "考试作弊", "违纪", "吃拿卡要", "不作为"]
MOODS = ["网友愤怒质疑", "群众吐槽不满", "居民投诉无门", "有人实名举报"]
PLAIN = ["美食节开幕", "油菜花盛开游客如织", "马拉松比赛圆满落幕", "新建公园向市民开放", "图书馆延长开放时间"]


class Stall(NamedTuple):
    """The longest the loop was held: `wall`, how late a beat woke; `cpu`, the most CPU time
    the loop's own thread spent between two beats (work done on the loop itself; a busy
    machine or another thread makes `wall` longer, not `cpu`)."""

    wall: float
    cpu: float


class Heartbeat:
    """A task that wakes every `period` seconds and records how late it woke: the worst
    delay is the longest the loop was held by something else (`stall`)."""

    def __init__(self, period: float = 0.005):
        self.period = period
        self.worst = 0.0
        self.worst_cpu = 0.0
        self._task: asyncio.Task | None = None
        self._last = 0.0
        self._last_cpu = 0.0

    def _mark(self, loop) -> None:
        self.worst = max(self.worst, loop.time() - self._last - self.period)
        self.worst_cpu = max(self.worst_cpu, time.thread_time() - self._last_cpu)

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._last, self._last_cpu = loop.time(), time.thread_time()
            await asyncio.sleep(self.period)
            self._mark(loop)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(self.period * 2)
        self.worst = self.worst_cpu = 0.0
        return self

    async def __aexit__(self, *exc) -> None:
        # a stall that lasted until the end of the operation counts too (`thread_time` is
        # the calling thread's: the loop's, as `_beat` runs there)
        self._mark(asyncio.get_running_loop())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @property
    def stall(self) -> Stall:
        return Stall(self.worst, self.worst_cpu)


def post_title(rnd: random.Random, i: int) -> tuple[str, str]:
    """A mix like a busy local forum: about two thirds touch the watch-list."""
    if rnd.random() < 0.35:
        t = f"{rnd.choice(PLACES)}{rnd.choice(PLAIN)}（第{i}期）"
        return t, t + "。" + "市民纷纷点赞，现场秩序井然。" * 4
    t = f"{rnd.choice(PLACES)}{rnd.choice(PEOPLE)}被曝{rnd.choice(ISSUES)}，{rnd.choice(MOODS)}（{i}）"
    return t, t + "。" + f"据网友发帖，{rnd.choice(PLACES)}有关部门迟迟没有回应，{rnd.choice(MOODS)}。" * 4


def rss(n: int, base: str, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    stamp = email.utils.formatdate(usegmt=True)
    items = []
    for i in range(n):
        title, text = post_title(rnd, i)
        items.append(
            f"<item><title>{escape(title)}</title><link>{base}/t/{seed}/{i}</link><guid>g{seed}-{i}</guid>"
            f"<description>{escape(text)}</description><pubDate>{stamp}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>压力测试</title>'
        f"{''.join(items)}</channel></rss>"
    ).encode()


class FeedServer:
    """One RSS feed of `n` fresh items on 127.0.0.1 (optionally answering after `delay` s)."""

    def __init__(self, n: int, delay: float = 0.0):
        feed = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/feed.xml":
                    answer_feed(self, None)
                    return
                if delay:
                    time.sleep(delay)
                answer_feed(self, feed["body"])

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        feed["body"] = rss(n, self.url)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_with_feed(tmp: Path, url: str | None):
    """The example config (copied to `tmp`), plus a `web` source at `url`, without politeness waits."""
    from bot.config import load_config

    dst = tmp / "config"
    if not dst.exists():
        shutil.copytree(ROOT / "config", dst)
    p = dst / "example.toml"
    text = p.read_text(encoding="utf-8")
    if url:
        text = text.replace(
            "# ---------------------------------------------------------------- watch-list",
            WEB_SOURCE.format(url=url) + "\n# ---- watch-list",
        )
    text += "\n[collection]\nmin_interval = 0\njitter = 0\nretries = 0\n"
    p.write_text(text, encoding="utf-8")
    return load_config(p)


def make_app(tmp: Path, cfg, **settings_kw):
    from bot.app import App
    from bot.platforms.console import ConsolePlatform
    from bot.settings import Settings

    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        db=tmp / "data" / "loop.db",
        config=tmp / "config" / "example.toml",
        collect_on_start=False,
        **settings_kw,
    )
    return App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=io.StringIO())})


async def ask(app, text: str, who: str = "liqiang") -> str:
    from handlers import Request

    replies = await app.handle(Request(platform="console", chat="监测群", user_id=who, text=text))
    return "\n".join(r.text for r in replies)


# ----------------------------------------------------------------------------- the three operations


async def feed_stall(tmp: Path, posts: int = 500) -> tuple[Stall, int]:
    """Worst stall (s) while one feed delivers `posts` new posts; and how many were stored."""
    server = FeedServer(posts)
    app = make_app(tmp, config_with_feed(tmp, server.url + "/feed.xml"))
    try:
        app.attach_http(app.new_http_client())
        await app.client.get(server.url + "/warm-up")  # a running bot has made requests before (lazy imports)
        async with Heartbeat() as hb:
            run = await app.pipeline.run_source("web", force=True)
        await app.stop()
        assert run.error is None, run.error
        return hb.stall, run.new_posts
    finally:
        app.close()
        server.close()


def seed_backlog(db, n: int, seed: int = 2) -> None:
    """`n` collected posts waiting for the search indexer (as posts without watch-list hits are)."""
    from datetime import datetime

    from core.clock import to_iso

    rnd = random.Random(seed)
    now = to_iso(datetime.now(UTC))
    rows = []
    for i in range(n):
        title, text = post_title(rnd, i)
        rows.append(("forum", f"backlog:{seed}:{i}", f"https://bbs.example/b/{i}", title, text * 3, now, now))
    db.conn.execute("BEGIN")
    db.conn.executemany(
        "INSERT INTO posts (source_id, item_key, url, title, text, published_at, fetched_at, indexed) "
        "VALUES (?,?,?,?,?,?,?,0)",
        rows,
    )
    db.conn.execute("COMMIT")


async def search_stall(tmp: Path, backlog: int = 3000) -> tuple[Stall, str]:
    """Worst stall (s) during `/search` with `backlog` posts waiting to be indexed; and the reply."""
    app = make_app(tmp, config_with_feed(tmp, None))
    try:
        seed_backlog(app.db, backlog)
        async with Heartbeat() as hb:
            reply = await ask(app, "/search 公车私用")
        await app.stop()
        return hb.stall, reply
    finally:
        app.close()


def seed_incidents(db, cfg, incidents: int, posts: int, seed: int = 7, *, start=None, now=None) -> None:
    """A month of a busy city (by default this month, ending now): `posts` posts and
    `incidents` incidents in every state, as `/report month` sees them. Also used by bench_report."""
    from datetime import datetime

    from core.clock import to_iso

    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    if start is None:
        start = now - timedelta(days=min(20, now.day - 1) if now.day > 1 else 0, hours=1)
    span = max((now - start).total_seconds(), 60.0)
    sources = [s.id for s in cfg.sources]
    cats = cfg.watchlist.categories
    conn = db.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO posts (source_id, item_key, title, fetched_at, relevant, indexed) VALUES (?,?,?,?,?,1)",
        (
            (
                sources[i % 3],
                f"k{i}",
                f"帖文{i}",
                to_iso(start + timedelta(seconds=rnd.random() * span)),
                int(i < incidents),
            )
            for i in range(posts)
        ),
    )
    rows = []
    for i in range(incidents):
        created = start + timedelta(seconds=rnd.random() * span)
        state, claimed, closed, disp, who = "new", None, None, None, None
        r = rnd.random()
        if r < 0.55:
            claimed = created + timedelta(minutes=rnd.expovariate(1 / 40))
            who = rnd.choice(["liqiang", "zhoulan", "wangmin"])
            state = "claimed"
            if r < 0.2:
                closed, state = claimed + timedelta(hours=rnd.expovariate(1 / 10)), "closed"
                disp = rnd.choice(["已回应", "已澄清", "已转办", "不实", "无需处置", "误报"])
        rows.append(
            (
                f"s{i}",
                f"事件{i}",
                sources[i % 3],
                "city",
                rnd.choice(cats),
                rnd.choice(["I", "II", "III", "IV", "IV", "III"]),
                "[]",
                "{}",
                state,
                who,
                disp,
                to_iso(created),
                to_iso(created),
                to_iso(claimed),
                to_iso(closed),
            )
        )
    conn.executemany(
        """INSERT INTO incidents (story_key, title, source_id, team, category, grade, reasons, matched, state, assignee,
               disposition, created_at, updated_at, claimed_at, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        rows,
    )
    conn.execute("COMMIT")


async def report_stall(tmp: Path, incidents: int = 50_000, posts: int = 200_000) -> tuple[Stall, str]:
    """Worst stall (s) during `/report month` (with its chart); and the reply."""
    app = make_app(tmp, config_with_feed(tmp, None))
    try:
        seed_incidents(app.db, app.config, incidents, posts)
        async with Heartbeat() as hb:
            reply = await ask(app, "/report month")
        await app.stop()
        return hb.stall, reply
    finally:
        app.close()


def run(posts: int = 500, backlog: int = 3000, incidents: int = 50_000) -> list[tuple[str, str]]:
    rows = []
    for label, fn, arg in (
        ("loop stall: one feed, %s new posts", feed_stall, posts),
        ("loop stall: /search, %s posts to index", search_stall, backlog),
        ("loop stall: /report month + chart, %s incidents", report_stall, incidents),
    ):
        with tempfile.TemporaryDirectory(prefix="yuqing-loop-") as tmp:
            t0 = time.perf_counter()
            worst = asyncio.run(fn(Path(tmp), arg))[0].wall
            took = time.perf_counter() - t0
        verdict = "ok" if worst * 1000 <= GOAL_MS else "OVER"
        rows.append(
            (
                label % f"{arg:,}",
                f"worst {worst * 1000:.0f} ms (goal ≤ {GOAL_MS} ms, {verdict}); scenario with its set-up {took:.1f} s",
            )
        )
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
