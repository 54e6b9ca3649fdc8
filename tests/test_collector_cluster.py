"""Issue 16.2 end to end: three `yuqing collect` processes on one database against 40 feeds on
ten loopback hosts (127.0.0.2–127.0.0.11); one collector is killed with SIGKILL mid-cycle,
in the middle of a fetch. Every feed is served once in its interval (the server's log), no
post is stored twice, the survivors took the killed collector's source, and no host was
asked twice at once or before its minimum interval.

The harness (`Cluster`) takes the database as `yuqing --db` does (a SQLite path here). TODO
(lead, after the PostgreSQL merge): run `run_scenario` with a `postgresql://` URL from the
PostgreSQL fixture, and with `bots=2` — start two `yuqing run --role bot` processes, find the
leader in the `leases` table (`storage.coord.lease_state(db, "bot")`), SIGKILL it and assert
the other logs "elected leader" and delivers (see `Cluster.start_bots`)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from storage import coord, open_db

ROOT = Path(__file__).resolve().parent.parent
HOSTS = [f"127.0.0.{i}" for i in range(2, 12)]
FEEDS_PER_HOST = 4
ITEMS = 3
MIN_INTERVAL = 0.2
STALL = "f21"  # the feed whose first request hangs until its reader is killed


class FeedServer:
    """One HTTP server per loopback host, one port for all; logs every request it received:
    (host, path, start, end, served). The first request for the stalled feed is held until
    its client goes away (served = False)."""

    def __init__(self):
        self.log: list[tuple[str, str, float, float, bool]] = []
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                host = self.server.server_address[0]
                start = time.monotonic()
                name = self.path.rsplit("/", 1)[-1]
                if name == STALL and not outer.stalled.is_set():
                    outer.stalled.set()
                    served = self._hold_until_gone()
                else:
                    time.sleep(0.01)
                    items = "".join(
                        f"<item><title>{name} 第{i}条</title><link>http://{host}/{name}/{i}</link></item>"
                        for i in range(ITEMS)
                    )
                    body = (
                        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>'
                        f"{items}</channel></rss>"
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    served = True
                with outer.lock:
                    outer.log.append((host, name, start, time.monotonic(), served))

            def _hold_until_gone(self) -> bool:
                conn = self.connection
                conn.setblocking(False)
                while True:
                    try:
                        if conn.recv(1, socket.MSG_PEEK) == b"":
                            return False  # the client closed (it was killed)
                    except BlockingIOError:
                        pass
                    except OSError:
                        return False
                    time.sleep(0.02)

            def log_message(self, *a):
                pass

        with socket.socket() as s:
            s.bind((HOSTS[0], 0))
            self.port = s.getsockname()[1]
        self.servers = []
        for host in HOSTS:
            srv = ThreadingHTTPServer((host, self.port), Handler)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)

    def urls(self) -> dict[str, str]:
        """Feed id -> URL; feeds of one host are spread over the id order."""
        out = {}
        for n, (_, h) in enumerate(itertools.product(range(FEEDS_PER_HOST), range(len(HOSTS)))):
            out[f"f{n:02d}"] = f"http://{HOSTS[h]}:{self.port}/feed/f{n:02d}"
        return out

    def close(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


def write_config(config_dir: Path, urls: dict[str, str]) -> Path:
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    sources = "".join(
        f'[[sources]]\nid = "{sid}"\nname = "feed {sid}"\nurl = "{u}"\ntier = 4\ninterval = "1h"\n\n'
        for sid, u in urls.items()
    )
    text = text[:start] + sources + text[end:]
    text += f"\n[collection]\nmin_interval = {MIN_INTERVAL}\njitter = 0.0\nrespect_robots = false\n"
    p.write_text(text, encoding="utf-8")
    return p


class Cluster:
    """Processes of `yuqing` on one database (`db`: what `--db` takes: a SQLite path, or after
    the PostgreSQL merge a postgresql:// URL)."""

    def __init__(self, db: str, config: Path, workdir: Path):
        self.db, self.config, self.workdir = db, config, workdir
        self.procs: dict[str, subprocess.Popen] = {}

    def _env(self, name: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))}
        env["YUQING_DATA_DIR"] = str(self.workdir / name)  # its own log file
        env["PYTHONPATH"] = str(ROOT)
        return env

    def start_collectors(self, n: int, *extra: str) -> None:
        for i in range(n):
            name = f"c{i}"
            cmd = [sys.executable, "-m", "bot.cli", "collect", "--db", self.db, "--config", str(self.config)]
            cmd += ["--worker-id", name, *extra]
            self.procs[name] = subprocess.Popen(
                cmd, cwd=ROOT, env=self._env(name), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )

    def start_bots(self, n: int) -> None:
        """`yuqing run --role bot --platform console` × n (stdin kept open: the console serves
        until it closes). Only on a shared database (PostgreSQL): on SQLite the second is
        refused by the bot lock. Untested until the PostgreSQL merge (TODO lead)."""
        if not self.db.startswith("postgres"):
            raise NotImplementedError("bots share a database only on PostgreSQL")
        for i in range(n):
            name = f"b{i}"
            cmd = [sys.executable, "-m", "bot.cli", "run", "--role", "bot", "--platform", "console"]
            cmd += ["--no-collect", "--db", self.db, "--config", str(self.config)]
            self.procs[name] = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self._env(name),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )

    def leader(self, database) -> str | None:
        """The name of the bot process holding the leader lease (its owner is host:pid)."""
        state = coord.lease_state(database, coord.LEADER)
        if not state or not state[0]:
            return None
        pid = int(state[0].rsplit(":", 1)[-1])
        return next((name for name, p in self.procs.items() if p.pid == pid), None)

    def kill_leader(self, database) -> str:
        """SIGKILL the leading bot; returns its name. The TODO scenario then waits until
        `leader()` names another bot ("elected leader" in its log) and asserts what it sent."""
        _wait(lambda: self.leader(database) is not None, "a bot leads")
        name = self.leader(database)
        assert name is not None
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=30)
        return name

    def log_of(self, name: str) -> str:
        path = self.workdir / name / "yuqing.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _wait(cond, what: str, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def run_scenario(db: str, tmp_path: Path, config_dir: Path, *, collectors: int = 3, bots: int = 0) -> dict:
    """Start the collectors, kill the one reading the stalled feed, wait until every feed was
    read; returns what the assertions need."""
    server = FeedServer()
    urls = server.urls()
    config = write_config(config_dir, urls)
    open_db(db).close()  # migrated once up front: the collectors start on a ready schema
    cluster = Cluster(db, config, tmp_path / "procs")
    try:
        cluster.start_collectors(collectors, "--concurrency", "1", "--lease-ttl", "2")
        if bots:
            cluster.start_bots(bots)
        server.stalled.wait(timeout=120)
        assert server.stalled.is_set(), "the stalled feed was never requested"
        database = open_db(db)
        holder = coord.source_leases(database)[STALL][0]
        assert holder in cluster.procs, holder
        cluster.procs[holder].send_signal(signal.SIGKILL)  # mid-cycle, mid-fetch
        cluster.procs[holder].wait(timeout=30)

        def all_read() -> bool:
            leases = coord.source_leases(database)
            return all(leases[sid][0] is None and leases[sid][2] > "2" for sid in urls)

        _wait(all_read, "every feed read and given back")
        posts = database.execute("SELECT COUNT(*), COUNT(DISTINCT item_key) FROM posts").fetchone()
        takeover = None
        if bots:  # TODO (lead, PostgreSQL): assert on `takeover` and on what the new leader sent
            killed_bot = cluster.kill_leader(database)
            _wait(lambda: cluster.leader(database) not in (None, killed_bot), "the standby took over", 60)
            takeover = (killed_bot, cluster.leader(database))
        database.close()
    finally:
        cluster.stop()
        server.close()
    return {
        "urls": urls,
        "log": list(server.log),
        "killed": holder,
        "takeover": takeover,
        "posts": posts,
        "logs": {name: cluster.log_of(name) for name in cluster.procs},
        "stderr": {name: p.stderr.read() if p.stderr else "" for name, p in cluster.procs.items()},
    }


@pytest.mark.timeout(240)  # real processes on a shared, busy machine; about 10-20 s when quiet
def test_three_collectors_one_killed_mid_cycle(tmp_path, config_dir):
    out = run_scenario(str(tmp_path / "cluster.db"), tmp_path, config_dir)
    log, urls, killed = out["log"], out["urls"], out["killed"]
    served = sorted(name for _, name, _, _, ok in log if ok)
    assert served == sorted(urls), "every feed served exactly once in its interval"
    assert [(name, ok) for _, name, _, _, ok in log if not ok] == [(STALL, False)]  # the killed one's fetch
    count, distinct = out["posts"]
    assert count == distinct == len(urls) * ITEMS  # every post stored, none twice
    survivors = [n for n in out["logs"] if n != killed]
    assert any(f"took source {STALL} over from {killed}" in out["logs"][n] for n in survivors), out["logs"]
    for host in HOSTS:  # politeness across the collectors
        visits = sorted((start, end) for h, _, start, end, _ in log if h == host)
        for (_, end), (start, _) in itertools.pairwise(visits):
            assert start - end >= MIN_INTERVAL * 0.95, (host, visits)
    for name in survivors:
        assert "Traceback" not in out["stderr"][name], out["stderr"][name]
