"""Source health as the admins see it: a failing source is reported after `break_after`
failures, switched off after `deactivate_after` (and then skipped), and reported again when it
recovers; a source that goes quiet is reported once, by its expected period or by its volume."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.config import load_config
from core.clock import to_iso
from storage import write_tx


def _broken_source(config_dir):
    """provnews reads a local file that is not a feed (it exists, so the config loads)."""
    (config_dir / "samples" / "broken.xml").write_bytes(b"{not a feed at all")
    return _config(config_dir, 'url = "samples/provnews.xml"', 'url = "samples/broken.xml"')


def _config(config_dir, old: str, new: str):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")
    return load_config(p)


async def test_failing_source_is_reported_switched_off_and_skipped(make_app, config_dir):
    cfg = _broken_source(config_dir)
    h = make_app(cfg)
    c = cfg.collection
    for n in range(1, c.deactivate_after + 1):
        run = await h.app.pipeline.run_source("provnews", force=True)
        assert run.error, n
        out = await h.deliver()
        if n == c.break_after:
            assert f"⚠️ 来源「省报融媒（样例）」连续 {n} 次抓取失败" in out
        elif n == c.deactivate_after:
            assert f"⛔ 来源「省报融媒（样例）」连续 {n} 次失败，已停用。" in out
        else:
            assert "来源「省报融媒（样例）」" not in out, n
    run = await h.app.pipeline.run_source("provnews")  # as the scheduler runs it: not forced
    assert run.skipped and "已停用" in run.skipped and run.error is None
    assert await h.deliver() == ""


async def test_a_source_that_recovers_is_reported(make_app, config_dir, clock):
    cfg = _broken_source(config_dir)
    h = make_app(cfg)
    for _ in range(cfg.collection.break_after):
        await h.app.pipeline.run_source("provnews", force=True)
    await h.deliver()
    (config_dir / "samples" / "broken.xml").write_bytes((config_dir / "samples" / "provnews.xml").read_bytes())
    run = await h.app.pipeline.run_source("provnews", force=True)
    assert run.error is None
    out = await h.deliver()
    assert f"✅ 来源「省报融媒（样例）」已恢复（此前连续失败 {cfg.collection.break_after} 次）" in out


async def test_silence_beyond_the_expected_period_is_reported_once(make_app, config_dir, clock):
    cfg = _config(
        config_dir,
        'url = "samples/provnews.xml"\ntier = 2',
        'url = "samples/provnews.xml"\ntier = 2\nexpected_period = "6h"',
    )
    h = make_app(cfg)
    assert (await h.app.pipeline.run_source("provnews")).new_posts > 0
    await h.deliver()
    clock.advance(hours=5)
    await h.app.pipeline.run_source("provnews", force=True)
    assert "🔇" not in await h.deliver()  # within the period: nothing to say
    clock.advance(hours=3)
    await h.app.pipeline.run_source("provnews", force=True)
    out = await h.deliver()
    assert "🔇 来源「省报融媒（样例）」已 8 小时没有新内容（应在 6h 内更新）" in out
    clock.advance(hours=3)
    await h.app.pipeline.run_source("provnews", force=True)
    assert "🔇" not in await h.deliver()  # reported once


async def test_a_sharp_drop_in_volume_is_reported(make_app, clock):
    h = make_app()
    assert (await h.app.pipeline.run_source("forum")).new_posts > 0  # the sample feed's posts, now
    final = clock.advance(days=1, hours=12)  # then a day and a half with nothing new
    rnd = random.Random(3)
    rows = [
        (f"hist{d}-{i}", final - timedelta(days=d, hours=rnd.uniform(0, 23))) for d in range(2, 12) for i in range(20)
    ]
    with write_tx(h.app.db):
        h.app.db.conn.executemany(
            "INSERT INTO posts (source_id, item_key, title, text, fetched_at) VALUES ('forum',?,?,?,?)",
            [(key, "t", "", to_iso(at)) for key, at in rows],
        )
    await h.deliver()
    await h.app.pipeline.run_source("forum", force=True)
    out = await h.deliver()
    assert "📉 来源「云川论坛（样例）」近 24 小时只有 0 条" in out and "请检查页面是否改版或被屏蔽" in out
    await h.app.pipeline.run_source("forum", force=True)
    assert "📉" not in await h.deliver()  # once


async def test_a_restart_resumes_a_switched_off_source(make_app, config_dir):
    """The notice that switches a source off says a restart resumes it: the restarted bot reads
    it again on schedule (not skipped, not backing off), and its failures are counted anew."""
    cfg = _broken_source(config_dir)
    first = make_app(cfg, settings_kw={"collect_on_start": False})
    for _ in range(cfg.collection.deactivate_after):
        await first.app.pipeline.run_source("provnews", force=True)
    assert "已停用" in (await first.app.pipeline.run_source("provnews")).skipped
    first.app.close()
    (config_dir / "samples" / "broken.xml").write_bytes((config_dir / "samples" / "provnews.xml").read_bytes())
    second = make_app(cfg, settings_kw={"collect_on_start": False})  # same database file
    await second.app.start()
    try:
        run = await second.app.pipeline.run_source("provnews")  # as the scheduler runs it: not forced
    finally:
        await second.app.stop()
    assert run.skipped is None and run.error is None and run.new_posts > 0
    state = second.app.db.execute(
        "SELECT deactivated, consecutive_failures FROM sources WHERE id = 'provnews'"
    ).fetchone()
    assert tuple(state) == (0, 0)
