"""Retention (issue 16.4) on the year database (bench/yeardb.py): bytes per post on SQLite,
and how fast old posts are pruned.

On a compacted copy of the year database (`VACUUM INTO`, which only reads the cached file):
the file's bytes per post, split by `dbstat` into the posts table with its indexes, the search
index and the rest (incidents, events, outbox …, shared out per post); then a prune of the
posts older than 90 days (`jobs.retention.prune`, as the nightly job runs it), bounded to
`PRUNE_BATCHES` batches on a full-size database: posts pruned per second, the longest write
transaction and read, how late a 5 ms heartbeat on the loop woke meanwhile, and the bytes a
pruned key costs (the year database's keys are short, `y:123`; a real one is `url:` and a
canonical URL, ~80 characters, stored twice: the key's b-tree and the fetch-time index).

python -m bench --only retention           (YUQING_BENCH_SCALE=0.02 for a quick run)
python -m bench.bench_retention --db FILE  (any existing database; it is copied, never changed)
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DAYS = 90
PRUNE_BATCHES = 200  # × 50 posts on a full-size database: a sample of the rate, not the whole prune


def _used(conn: sqlite3.Connection) -> dict[str, int]:
    """Bytes in use per table (its indexes and, for the search index, its shadow tables included)."""
    out: dict[str, int] = {}
    tables = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").fetchall())
    for name, used in conn.execute("SELECT name, SUM(pgsize - unused) FROM dbstat GROUP BY name").fetchall():
        owner = tables.get(name, name)
        if owner.startswith("posts_search"):
            owner = "posts_search"
        elif owner.startswith("sqlite_autoindex_"):
            owner = owner.removeprefix("sqlite_autoindex_").rsplit("_", 1)[0]
        out[owner] = out.get(owner, 0) + used
    return out


def measure(src: Path, now: datetime | None = None, batches: int | None = PRUNE_BATCHES) -> list[tuple[str, str]]:
    from jobs import retention
    from storage.db import open_db

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="yuqing-retention-") as tmp:
        copy = Path(tmp) / "year.db"
        t0 = time.perf_counter()
        ro = sqlite3.connect(f"{src.as_uri()}?mode=ro", uri=True)
        ro.execute("VACUUM INTO ?", [str(copy)])
        ro.close()
        took = time.perf_counter() - t0
        db = open_db(copy)  # migrates the copy if it predates retention (m022)
        conn = db.conn
        posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        linked = conn.execute("SELECT COUNT(DISTINCT post_id) FROM incident_posts").fetchone()[0]
        used = _used(conn)
        size = copy.stat().st_size
        search = used.get("posts_search", 0)
        own = used.get("posts", 0)
        rest = sum(used.values()) - search - own
        rows.append(
            (
                f"retention: SQLite B/post after VACUUM ({posts:,} posts, {linked:,} in incidents): "
                "all (posts + indexes / search / the rest)",
                f"{size / posts:,.0f} B ({own / posts:,.0f} / {search / posts:,.0f} / {rest / posts:,.0f}); "
                f"VACUUM INTO {took:.0f} s",
            )
        )
        now = now or datetime.fromisoformat(
            conn.execute("SELECT MAX(fetched_at) FROM posts").fetchone()[0] or "2026-01-01T00:00:00+00:00"
        )
        cutoff, _ = retention.cutoffs(now, DAYS)
        old = conn.execute(
            "SELECT COUNT(*) FROM posts p WHERE p.fetched_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM incident_posts ip WHERE ip.post_id = p.id)",
            [cutoff.isoformat()],
        ).fetchone()[0]
        held: list[float] = []
        reads: list[float] = []
        real, real_read = retention.store.delete_batch, retention.store.prunable

        def timed(db_, doomed):
            t = time.perf_counter()
            try:
                return real(db_, doomed)
            finally:
                held.append(time.perf_counter() - t)

        def timed_read(*args, **kw):
            t = time.perf_counter()
            try:
                return real_read(*args, **kw)
            finally:
                reads.append(time.perf_counter() - t)

        retention.store.delete_batch, retention.store.prunable = timed, timed_read
        factor, retention.store.KEY_FACTOR = retention.store.KEY_FACTOR, 100  # keep this run's keys, to measure them
        try:
            t0 = time.perf_counter()
            report, late = asyncio.run(_with_heartbeat(retention.prune(db, now, DAYS, max_batches=batches)))
            took = time.perf_counter() - t0
        finally:
            retention.store.delete_batch, retention.store.prunable = real, real_read
            retention.store.KEY_FACTOR = factor
        keys = _used(conn).get("pruned_keys", 0)
        n_keys = conn.execute("SELECT COUNT(*) FROM pruned_keys").fetchone()[0]
        n = report.posts
        scope = "all" if batches is None or n == old else f"{n:,} of {old:,}"
        rows.append(
            (
                f"retention: prune > {DAYS} days, no incident ({scope}, batches of {retention.BATCH}): "
                "posts/s / write tx p50, max / read p50, max / loop stall p99, max / B per pruned key",
                f"{n / took:,.0f} posts/s / {_ms(held, 0.5)}, {_ms(held, 1)} ms / {_ms(reads, 0.5)}, "
                f"{_ms(reads, 1)} ms / {_ms(late, 0.99)}, {_ms(late, 1)} ms / {keys / max(1, n_keys):,.0f} B",
            )
        )
        db.close()
    return rows


async def _with_heartbeat(work):
    """Run `work` while a heartbeat wakes every 5 ms; returns its result and how late each beat woke."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    done = asyncio.Event()

    async def beat():
        while not done.is_set():
            t = loop.time()
            await asyncio.sleep(0.005)
            late.append(max(0.0, loop.time() - t - 0.005))

    task = asyncio.create_task(beat())
    try:
        return await work, late
    finally:
        done.set()
        await task


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"


def run() -> list[tuple[str, str]]:
    from bench.yeardb import scale, year_db

    y = year_db(quiet=True)
    return measure(y.db, y.now, PRUNE_BATCHES if scale() >= 0.5 else None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_retention", description=__doc__)
    ap.add_argument("--db", type=Path, default=None, help="measure this database (copied) instead of the year one")
    ap.add_argument("--all", action="store_true", help="prune every old post, not a sample of batches")
    args = ap.parse_args(argv)
    rows = run() if args.db is None else measure(args.db, batches=None if args.all else PRUNE_BATCHES)
    for name, value in rows:
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
