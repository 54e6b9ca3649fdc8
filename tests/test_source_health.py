"""Source health on a big posts table (issue 17.1): `source_volume` runs after every source
run, 304s included, so its cost must not grow with the posts table — and its figures (last
day's count, daily baseline, days of history) must stay exactly what they were."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import to_iso
from storage import write_tx
from storage.db import open_db
from storage.posts import source_volume

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def reference_volume(db, source_id: str, now: datetime, days: int = 14) -> tuple[int, float, int]:
    """The query source health used before issue 17.1, kept verbatim as the reference."""
    day = now - timedelta(days=1)
    start = day - timedelta(days=days)
    last = db.execute(
        "SELECT COUNT(*) FROM posts WHERE source_id=? AND fetched_at >= ?", [source_id, to_iso(day)]
    ).fetchone()[0]
    before = db.execute(
        "SELECT COUNT(*), MIN(fetched_at) FROM posts WHERE source_id=? AND fetched_at >= ? AND fetched_at < ?",
        [source_id, to_iso(start), to_iso(day)],
    ).fetchone()
    first = db.execute("SELECT MIN(fetched_at) FROM posts WHERE source_id=?", [source_id]).fetchone()[0]
    history = (day - datetime.fromisoformat(first)).days if first and first < to_iso(day) else 0
    span = max(1, min(days, history))
    return last, before[0] / span, history


_seq = iter(range(10**9))


def add_posts(db, rows: list[tuple[str, datetime]]) -> None:
    with write_tx(db):
        db.conn.executemany(
            "INSERT INTO posts (source_id, item_key, title, text, fetched_at) VALUES (?,?,?,?,?)",
            [(sid, f"k{next(_seq)}", "t", "", to_iso(at)) for sid, at in rows],
        )


@pytest.fixture
def db(tmp_path):
    d = open_db(tmp_path / "h.db")
    yield d
    d.conn.close()


def test_figures_equal_the_old_query(db):
    rnd = random.Random(17)
    rows = []
    profiles = {"daily": (40, 30), "quiet": (25, 2), "new": (3, 20), "bursty": (60, 5), "gone": (40, 0)}
    for sid, (age_days, per_day) in profiles.items():
        for d in range(age_days):
            for _ in range(rnd.randint(0, 2 * per_day)):
                rows.append((sid, NOW - timedelta(days=d, seconds=rnd.randint(0, 86399))))
    # exactly on the window edges: 24 h ago, 15 days ago, and `now` itself
    for sid in ("daily", "quiet"):
        rows += [(sid, NOW - timedelta(days=1)), (sid, NOW - timedelta(days=15)), (sid, NOW)]
    rows += [("gone", NOW - timedelta(days=40, microseconds=1))]
    rnd.shuffle(rows)
    add_posts(db, rows)
    nows = [
        NOW,
        NOW + timedelta(hours=5),
        NOW - timedelta(days=2, minutes=7),
        NOW + timedelta(days=3),
        NOW - timedelta(days=30),
        NOW + timedelta(microseconds=1),
    ]
    for sid in [*profiles, "never-posted"]:
        for now in nows:
            for days in (14, 7):
                assert source_volume(db, sid, now, days) == reference_volume(db, sid, now, days), (sid, now, days)


def _steps(db, fn) -> int:
    n = 0

    def tick():
        nonlocal n
        n += 1
        return 0

    db.conn.set_progress_handler(tick, 1)
    try:
        fn()
    finally:
        db.conn.set_progress_handler(None, 1)
    return n


def test_cost_does_not_grow_with_the_posts_table(db):
    """SQLite VM steps per call stay the same when the table grows tenfold around the source."""
    rnd = random.Random(5)
    add_posts(
        db, [("watched", NOW - timedelta(days=d, seconds=rnd.randint(0, 86399))) for d in range(20) for _ in range(20)]
    )
    add_posts(db, [(f"other{i % 50}", NOW - timedelta(seconds=rnd.randint(0, 20 * 86400))) for i in range(400)])
    calls = {sid: (lambda sid=sid: source_volume(db, sid, NOW)) for sid in ("watched", "never-posted")}
    before = {sid: _steps(db, f) for sid, f in calls.items()}
    figures = source_volume(db, "watched", NOW)
    # ten times as many posts: other sources in the same days, and the source's own old history
    add_posts(db, [(f"other{i % 50}", NOW - timedelta(seconds=rnd.randint(0, 20 * 86400))) for i in range(4000)])
    add_posts(db, [("watched", NOW - timedelta(days=rnd.randint(30, 400))) for _ in range(4000)])
    after = {sid: _steps(db, f) for sid, f in calls.items()}
    for sid in calls:
        assert after[sid] <= before[sid] * 1.05 + 20, (sid, before[sid], after[sid])
    last, daily, history = source_volume(db, "watched", NOW)
    assert (last, daily) == figures[:2] and history > figures[2]  # same window counts, longer history


def test_every_query_reads_an_index_range(db):
    add_posts(db, [("watched", NOW - timedelta(hours=h)) for h in range(100)])
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        source_volume(db, "watched", NOW)
    finally:
        db.conn.set_trace_callback(None)
    queries = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert queries
    for q in queries:
        plan = " | ".join(r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + q))
        assert "posts_source_fetched" in plan and "SCAN" not in plan, (q, plan)


@pytest.mark.parametrize(
    ("row", "health", "bucket"),
    [
        ({"deactivated": 1, "consecutive_failures": 12}, "deactivated", "停用"),
        ({"consecutive_failures": 3, "last_run_at": "x"}, "failing", "失败"),
        ({"consecutive_failures": 1, "last_run_at": "x", "silent_reported": 1}, "flaky", "偶发失败"),
        ({"silent_reported": 1, "last_run_at": "x"}, "silent", "沉寂"),
        ({}, "not_run", "未抓取"),
        ({"consecutive_failures": 0, "last_run_at": "x", "last_error": "e"}, "resumed", "待重新抓取"),
        ({"last_run_at": "x", "consecutive_failures": 0}, "ok", "正常"),
    ],
)
def test_one_classifier_for_sources_and_the_report(row, health, bucket):
    from core.health import source_health

    h = source_health(row, break_after=3)
    assert (h.value, h.bucket) == (health, bucket)
