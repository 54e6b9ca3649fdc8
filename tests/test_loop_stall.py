"""The loop never waits: a heartbeat task keeps beating (every 5 ms) while the three heaviest
operations run — a feed delivering many new posts, /search with a backlog to index, and
/report month with its chart on a large database. The same scenarios at full size are
`bench/bench_loop.py` (`make bench`); here they are scaled down, with a bound that the old
code (all of it on the loop) exceeded many times over."""

from __future__ import annotations

from bench.bench_loop import config_with_feed, feed_stall, make_app, report_stall, search_stall

# Goal is 100 ms (see the bench); the bound leaves room for a busy test machine.
BOUND = 0.3


async def test_a_feed_of_many_new_posts_does_not_stall_the_loop(tmp_path):
    worst, stored = await feed_stall(tmp_path, posts=150)
    assert stored == 150
    assert worst < BOUND, f"the loop stalled {worst * 1000:.0f} ms"


async def test_search_with_an_indexing_backlog_does_not_stall_the_loop(tmp_path):
    worst, reply = await search_stall(tmp_path, backlog=800)
    assert "公车私用" in reply and "相关的帖文（前" in reply
    assert worst < BOUND, f"the loop stalled {worst * 1000:.0f} ms"


async def test_search_indexes_a_bounded_part_and_says_the_rest_is_coming(tmp_path, monkeypatch):
    from handlers import commands

    monkeypatch.setattr(commands, "SEARCH_INDEX_LIMIT", 100)
    _worst, reply = await search_stall(tmp_path, backlog=300)
    assert "另有 200 条新帖尚在建立索引" in reply


async def test_report_month_with_chart_does_not_stall_the_loop(tmp_path):
    worst, reply = await report_stall(tmp_path, incidents=5000, posts=20000)
    assert "月报" in reply or "本月" in reply, reply[:200]
    assert worst < BOUND, f"the loop stalled {worst * 1000:.0f} ms"


async def test_the_clustering_lookups_are_built_with_the_analyser_off_the_loop(tmp_path):
    """The place-name regions `event_of` needs take ~0.2 s to build: built with the analyser (in
    its thread), not by the first relevant post inside a write transaction on the loop."""
    from core import cluster

    cluster._regions_of_names.cache_clear()
    app = make_app(tmp_path, config_with_feed(tmp_path, None))
    try:
        await app.analyser_loaded()
        assert cluster._regions_of_names.cache_info().currsize == 1
    finally:
        app.close()
