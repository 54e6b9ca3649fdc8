"""`/report month` and `/search` on the year database on both engines (issue 16: "1 M posts on
both engines"): the cached SQLite year database (bench/yeardb.py) and the same rows in
PostgreSQL 15, each measured with the calls the bot makes.

The PostgreSQL copy is cached too: a kept cluster (tests/pg_cluster.Cluster(keep=…)) in
`~/.cache/yuqing-bench/pg-<year database key>/`, started with pg_ctl for this bench and stopped
after. It is loaded once: `storage.open_db(url)` makes the schema (the migrations), every table's
rows are COPYed from SQLite (the secondary indexes dropped meanwhile and built again after), the
identity sequences set past the highest ids, and `posts_search` filled with what
`storage.posts.set_indexed` stores on PostgreSQL (the tsvector of core.search.index_text of the
title, weight A, and of the text, weight B), computed in Python (once per distinct text) and
COPYed through a staging table. A later run finds it (`loaded.json`) and only migrates it.

Measured on both, median of RUNS after a warm-up run:
- `/report month`: jobs.report.build_report + render_report (what bench_year times in-process),
  and with its chart (jobs.charts.render_report_chart, as the chat command sends it);
- `/search` for QUERIES: core.search.parse_query + storage.posts.search_posts (limit 10, a staff
  member's search), as handlers.commands.cmd_search does;
- bytes per post: SQLite's file size / posts; PostgreSQL's posts + posts_search with their indexes
  (pg_total_relation_size) / posts, and the whole database / posts.

Goal: `/report month` ≤ 0.5 s (issue 17.8) on both.

python -m bench --only pgyear    (YUQING_BENCH_SCALE=0.02 for a quick run)"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

GOAL_S = 0.5
RUNS = 5
DBNAME = "year"
# a common word, a rare one, a two-character word, several words (AND)
QUERIES = [("common", "公司"), ("rare", "垃圾分类"), ("2 characters", "房价"), ("several words", "北京 经济 发展")]


def _say(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)


def _median(fn: Any, runs: int = RUNS) -> float:
    fn()  # warm-up: pages read, plans cached
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------- load


def _columns(pg: Any, table: str) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
    ]


def _secondary_indexes(pg: Any, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of the indexes of `tables` that back no constraint."""
    return [
        (r[0], r[1])
        for r in pg.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [tables],
        )
    ]


def load(sqlite_path: Path, url: str) -> dict:
    """Copy the SQLite year database into the (empty) PostgreSQL database at `url`."""
    import sqlite3

    import psycopg

    from core.search import index_text
    from storage import open_db

    t_all = time.perf_counter()
    open_db(url).close()  # the schema, by the migrations
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    lite_tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    counts: dict[str, int] = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as pg:
        pg.execute("SET maintenance_work_mem = '1GB'")
        # the rows are SQLite's, whose foreign keys held: no per-row checks (nor any order of tables)
        pg.execute("SET session_replication_role = replica")
        tables = [
            r[0]
            for r in pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        tables = [t for t in tables if t in lite_tables and t not in ("posts_search", "yuqing_migrations")]
        indexes = _secondary_indexes(pg, [*tables, "posts_search"])
        for name, _ in indexes:
            pg.execute(f'DROP INDEX "{name}"')
        for t in tables:
            lite_cols = {r[1] for r in src.execute(f'PRAGMA table_info("{t}")')}
            cols = [c for c in _columns(pg, t) if c in lite_cols]
            names = ", ".join(f'"{c}"' for c in cols)
            t0 = time.perf_counter()
            pg.execute(f'DELETE FROM "{t}"')  # a row a migration seeded (none today)
            n = 0
            with pg.cursor() as cur, cur.copy(f'COPY "{t}" ({names}) FROM STDIN') as cp:
                for row in src.execute(f'SELECT {names} FROM "{t}"'):
                    cp.write_row(row)
                    n += 1
            counts[t] = n
            if n > 10_000:
                _say(f"  {t}: {n:,} rows in {time.perf_counter() - t0:.1f} s")
            if "id" in cols:
                seq = pg.execute("SELECT pg_get_serial_sequence(%s, 'id')", [t]).fetchone()[0]
                if seq:
                    pg.execute(f"SELECT setval('{seq}', COALESCE((SELECT MAX(id) FROM \"{t}\"), 0) + 1, false)")
        # the search index: what set_indexed stores, in bulk (each distinct text folded once)
        t0 = time.perf_counter()
        folded: dict[str, str] = {}

        def fold_once(s: str) -> str:
            v = folded.get(s)
            if v is None:
                v = folded[s] = index_text(s)
            return v

        pg.execute("CREATE TEMP TABLE stage (id BIGINT, t TEXT, b TEXT)")
        with pg.cursor() as cur, cur.copy("COPY stage (id, t, b) FROM STDIN") as cp:
            for pid, title, text in src.execute("SELECT id, title, text FROM posts WHERE indexed = 1"):
                cp.write_row((pid, fold_once(title or ""), fold_once(text or "")))
        pg.execute(
            "INSERT INTO posts_search (id, tsv) SELECT id, setweight(to_tsvector('simple', t), 'A') "
            "|| setweight(to_tsvector('simple', b), 'B') FROM stage"
        )
        pg.execute("DROP TABLE stage")
        _say(f"  posts_search: {len(folded):,} distinct texts folded, tsvectors in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for _, ddl in indexes:
            pg.execute(ddl)
        _say(f"  {len(indexes)} indexes built again: {time.perf_counter() - t0:.1f} s")
        pg.execute("SET session_replication_role = DEFAULT")
        pg.execute("VACUUM ANALYZE")
    src.close()
    return {"seconds": time.perf_counter() - t_all, "rows": counts}


def _open_cluster(key: str) -> Any:
    from bench.yeardb import CACHE
    from tests.pg_cluster import Cluster

    for old in CACHE.glob("pg-*"):  # a copy of a year database that is gone (an older month or generator)
        if old.name != f"pg-{key}" and not (CACHE / old.name[3:]).exists():
            Cluster(keep=old).remove()
    return Cluster(keep=CACHE / f"pg-{key}")


def ensure_loaded(cluster: Any, y: Any) -> tuple[str, dict, bool]:
    """The URL of the loaded copy, what its load took, and whether it was cached."""
    url = cluster.url(DBNAME)
    marker = cluster.dir / "loaded.json"
    if marker.exists():
        from storage import open_db

        open_db(url).close()  # migrations added since it was loaded
        return url, json.loads(marker.read_text()), True
    assert cluster._admin is not None
    cluster._admin.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
    cluster._admin.execute(f"CREATE DATABASE {DBNAME}")
    _say(f"loading the year database into PostgreSQL ({cluster.dir}) …")
    info = load(y.db, url)
    marker.write_text(json.dumps(info))
    return url, info, False


# --------------------------------------------------------------------------- measure


def measure(db: Any, cfg: Any, now: Any) -> dict:
    from core.search import parse_query
    from jobs.charts import render_report_chart
    from jobs.report import build_report, render_report
    from storage.posts import search_posts

    tz = ZoneInfo("Asia/Shanghai")
    out: dict[str, Any] = {}

    def report() -> str:
        r = build_report(db, cfg, "month", now, tz)
        out["incidents"] = r.total
        return render_report(r, tz, cfg.organization.name)

    out["report"] = _median(report)
    out["report_text"] = report()
    with tempfile.TemporaryDirectory() as tmp:

        def with_chart() -> None:
            r = build_report(db, cfg, "month", now, tz)
            text = render_report(r, tz, cfg.organization.name)
            render_report_chart(r, Path(tmp) / "c.png", text.splitlines()[0])

        out["report_chart"] = _median(with_chart, 3)
    for label, q in QUERIES:
        query = parse_query(q)
        out[f"search {label}"] = _median(lambda query=query: search_posts(db, query, limit=10))
        out[f"hits {label}"] = [r["id"] for r in search_posts(db, query, limit=10)]
        out[f"n {label}"] = len(search_posts(db, query, limit=100))
    return out


def _pg_bytes(db: Any, posts: int) -> tuple[float, float]:
    rel = db.execute(
        "SELECT pg_total_relation_size('posts') + pg_total_relation_size('posts_search'), "
        "pg_database_size(current_database())"
    ).fetchone()
    return rel[0] / max(posts, 1), rel[1] / max(posts, 1)


def run() -> list[tuple[str, str]]:
    from tests.pg_cluster import unavailable_reason

    reason = unavailable_reason()
    if reason:
        _say(f"*** pgyear: PostgreSQL benchmark SKIPPED: {reason}")
        return [("pgyear: /report month and /search on PostgreSQL", f"skipped: {reason}")]
    from bench.yeardb import year_db
    from bot.config import load_config
    from storage import open_db

    y = year_db()
    key = y.db.parent.resolve().name
    cfg = load_config(y.config)
    cluster = _open_cluster(key)
    cluster.start()
    try:
        url, info, cached = ensure_loaded(cluster, y)
        lite = open_db(y.db)
        res_lite = measure(lite, cfg, y.now)
        lite.close()
        pg = open_db(url)
        res_pg = measure(pg, cfg, y.now)
        posts = pg.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        pg_rel, pg_all = _pg_bytes(pg, posts)
        pg.close()
    finally:
        cluster.stop()
    lite_bytes = y.db.stat().st_size / max(y.posts, 1)
    tag = f"{y.posts / 1e6:g} M posts" if y.posts >= 100_000 else f"{y.posts:,} posts"
    how = "cached" if cached else "now"
    rows = [
        (
            f"pgyear: the year database ({tag}) loaded into PostgreSQL 15 (COPY + tsvectors + indexes)",
            f"{info['seconds']:.0f} s ({how}; {cluster.dir})",
        )
    ]
    load_avg = os.getloadavg()[0]
    same = "same text" if res_lite["report_text"] == res_pg["report_text"] else "TEXT DIFFERS"
    for what, k, goal in (
        (f"/report month ({res_pg['incidents']:,} incidents)", "report", GOAL_S),
        ("/report month with its chart", "report_chart", None),
    ):
        for engine, res in (("SQLite", res_lite), ("PostgreSQL", res_pg)):
            verdict = "" if goal is None else (" ok" if res[k] <= goal else " OVER")
            g = f", goal ≤ {goal} s" if goal else ""
            extra = f" ({same})" if k == "report" and engine == "PostgreSQL" else ""
            rows.append((f"pgyear: {engine:<10} {what}{g}", f"{res[k]:.3f} s{verdict}{extra}"))
    for label, q in QUERIES:
        for engine, res in (("SQLite", res_lite), ("PostgreSQL", res_pg)):
            k = f"search {label}"
            overlap = ""
            if engine == "PostgreSQL":
                a, b = set(res_lite[f"hits {label}"]), set(res_pg[f"hits {label}"])
                overlap = f"; top 10 shared with SQLite: {len(a & b)}"
            rows.append(
                (
                    f"pgyear: {engine:<10} /search {q} ({label})",
                    f"{res[k] * 1000:.1f} ms ({res[f'n {label}']} of ≤ 100 hits{overlap})",
                )
            )
    rows.append(
        (
            "pgyear: bytes per post (SQLite: file; PostgreSQL: posts + posts_search with indexes; whole database)",
            f"SQLite {lite_bytes:,.0f} B; PostgreSQL {pg_rel:,.0f} B, whole database {pg_all:,.0f} B",
        )
    )
    rows.append(("pgyear: load average (1 min) during the run", f"{load_avg:.2f}"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
