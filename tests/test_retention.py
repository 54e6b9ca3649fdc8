"""Retention (issue 16.4): old raw posts that belong to no incident are pruned with their
search rows; incidents, their posts and the audit are kept; a pruned item a feed still lists
is neither stored nor alerted again; a dry run changes nothing; the archive holds what went;
source health does not notice; the work goes in bounded batches."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from core.errors import ConfigError
from core.models import Post
from core.search import parse_query
from jobs.pipeline import index_off_loop
from jobs.retention import prune
from storage import write_tx
from storage.db import dialect, open_db
from storage.posts import post_exists, search_posts, source_volume, to_tsquery
from storage.retention import KEY_FACTOR
from tests.conftest import HIGH

pytestmark = pytest.mark.both_engines  # every test with a database runs on SQLite and on PostgreSQL

IRRELEVANT = "云川哪家羊肉汤最好喝？求推荐"  # a forum post of the bundled samples that raises no incident


async def collected(make_app):
    """The example app after one collection of the bundled feeds, every post in the search index."""
    h = make_app()
    await h.app.collect_once()
    await h.deliver()
    assert await index_off_loop(h.app.db) == 0
    return h


def ids(db, sql: str, params=()) -> set[int]:
    return {r[0] for r in db.execute(sql, list(params)).fetchall()}


def linked_posts(db) -> set[int]:
    return ids(db, "SELECT post_id FROM incident_posts")


def fts_hits(db, words: str) -> set[int]:
    """Rows of the search index itself matching `words` (not joined with posts)."""
    match = parse_query(words).match
    if dialect(db) == "postgresql":
        return ids(db, "SELECT id FROM posts_search WHERE tsv @@ to_tsquery('simple', ?)", [to_tsquery(match)])
    return ids(db, "SELECT rowid FROM posts_search WHERE posts_search MATCH ?", [match])


def search_rows(db) -> set[int]:
    """The post ids the search index holds a row for."""
    return ids(db, "SELECT id FROM posts_search" if dialect(db) == "postgresql" else "SELECT rowid FROM posts_search")


def snapshot(db) -> dict:
    return {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("posts", "incidents", "incident_posts", "events", "outbox", "pruned_keys", "sources")
    } | {"search": sorted(search_rows(db))}


async def test_prune_keeps_incidents_and_removes_old_unlinked_posts_and_their_search_rows(make_app, clock):
    h = await collected(make_app)
    db = h.app.db
    all_posts = ids(db, "SELECT id FROM posts")
    kept = linked_posts(db)
    assert kept and kept < all_posts
    counts = {t: h.count(t) for t in ("incidents", "incident_posts", "events")}
    assert fts_hits(db, "羊肉汤") and search_posts(db, parse_query("羊肉汤"))
    clock.advance(days=31)
    fresh = h.app.pipeline.ingest(
        Post(source_id="forum", item_key="test:fresh", title="新帖：羊肉汤店开张", text="", published_at=clock()),
        h.app.config.source("forum"),
    ).post_id
    await index_off_loop(db)

    report = await prune(db, clock(), 30)

    assert report.posts == len(all_posts - kept)
    assert ids(db, "SELECT id FROM posts") == kept | {fresh}  # the new post is inside the window
    assert {t: h.count(t) for t in ("incidents", "incident_posts", "events")} == counts
    assert search_rows(db) == kept | {fresh}
    assert fts_hits(db, "羊肉汤") == {fresh}  # the pruned post's words are gone from the index itself
    assert [r["id"] for r in search_posts(db, parse_query("羊肉汤"))] == [fresh]
    found = {r["id"] for r in search_posts(db, parse_query("张建国"))}
    assert found and found <= kept
    if dialect(db) == "sqlite":  # FTS5's own check that the index matches what was deleted from it
        db.execute("INSERT INTO posts_search (posts_search) VALUES ('integrity-check')")
    assert h.count("pruned_keys") == report.posts


async def test_a_pruned_item_still_in_its_feed_is_neither_stored_nor_alerted(make_app, clock):
    h = await collected(make_app)
    db = h.app.db
    outbox = h.count("outbox")
    key = db.execute("SELECT item_key FROM posts WHERE title = ?", [IRRELEVANT]).fetchone()[0]
    clock.advance(days=40)
    await prune(db, clock(), 30)
    assert not ids(db, "SELECT id FROM posts WHERE item_key = ?", [key])
    assert post_exists(db, key)

    runs = await h.app.collect_once()  # the bundled feeds still list every item

    assert sum(r.new_posts for r in runs) == 0
    assert not ids(db, "SELECT id FROM posts WHERE item_key = ?", [key])
    # the insert path holds too (a caller that did not ask post_exists first): even a post that
    # would now open an incident is not stored under a pruned key
    out = h.app.pipeline.ingest(
        Post(source_id="forum", item_key=key, title=HIGH[0] + "（旧帖）", text=HIGH[1], published_at=clock()),
        h.app.config.source("forum"),
    )
    assert out.post_id is None and out.incident_id is None
    assert h.count("outbox") == outbox
    assert await h.deliver() == ""


async def test_pruned_keys_expire_after_key_factor_windows(make_app, clock):
    h = await collected(make_app)
    db = h.app.db
    clock.advance(days=31)
    pruned = (await prune(db, clock(), 30)).posts
    clock.advance(days=30 * (KEY_FACTOR - 1) - 2)
    assert (await prune(db, clock(), 30)).keys_expired == 0
    clock.advance(days=2)
    dry = await prune(db, clock(), 30, dry_run=True)
    assert dry.keys_expired == pruned and h.count("pruned_keys") == pruned
    report = await prune(db, clock(), 30, batch=3)
    assert report.keys_expired == pruned and h.count("pruned_keys") == 0


async def test_dry_run_changes_nothing(make_app, clock, tmp_path):
    h = await collected(make_app)
    db = h.app.db
    expected = h.count("posts") - len(linked_posts(db))
    before = snapshot(db)
    clock.advance(days=31)

    report = await prune(db, clock(), 30, dry_run=True, archive_dir=tmp_path / "archive")

    assert report.posts == expected and report.dry_run
    assert snapshot(db) == before
    assert not (tmp_path / "archive").exists()
    assert "将删除 would prune" in "\n".join(report.lines())


async def test_the_archive_holds_every_pruned_post(make_app, clock, tmp_path):
    h = await collected(make_app)
    db = h.app.db
    month = clock().strftime("%Y-%m")
    gone = {
        r["id"]: r
        for r in db.query("SELECT * FROM posts WHERE id NOT IN (SELECT post_id FROM incident_posts) ORDER BY id")
    }
    clock.advance(days=60)
    report = await prune(db, clock(), 30, archive_dir=tmp_path / "archive", batch=4)  # several gzip members

    assert report.archive_files == [tmp_path / "archive" / f"posts-{month}.jsonl.gz"]
    with gzip.open(report.archive_files[0], "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    assert sorted(line["id"] for line in lines) == sorted(gone)
    for line in lines:
        row = gone[line["id"]]
        assert (line["title"], line["text"], line["item_key"], line["url"], line["fetched_at"]) == (
            row["title"],
            row["text"],
            row["item_key"],
            row["url"],
            row["fetched_at"],
        )
        assert line["matched"] == json.loads(row["matched"])


NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_source_health_is_unchanged_by_a_prune(db):
    rnd = random.Random(16)
    with write_tx(db):
        db.conn.executemany(
            "INSERT INTO sources (id, name, kind, url, items_total, last_new_at) VALUES (?,?,?,?,?,?)",
            [(s, s, "rss", "x", 999, "2026-11-20T00:00:00+00:00") for s in ("daily", "quiet", "gone", "young")],
        )
        rows = []
        for sid, (age, per_day) in {"daily": (60, 30), "quiet": (40, 2), "gone": (50, 0), "young": (20, 5)}.items():
            for d in range(age):
                for _ in range(rnd.randint(0, 2 * per_day)):
                    rows.append((sid, NOW - timedelta(days=d, seconds=rnd.randint(0, 86399))))
            rows += [(sid, NOW - timedelta(days=age)), (sid, NOW - timedelta(days=15)), (sid, NOW - timedelta(days=1))]
        db.conn.executemany(
            "INSERT INTO posts (source_id, item_key, title, text, fetched_at, indexed) VALUES (?,?,?,?,?,0)",
            [(sid, f"k{i}", "t", "", at.isoformat()) for i, (sid, at) in enumerate(rows)],
        )
    asyncio.run(index_off_loop(db))
    nows = [NOW, NOW + timedelta(seconds=1), NOW + timedelta(hours=5), NOW + timedelta(days=1, minutes=3)]
    figures = {(s, n): source_volume(db, s, n) for s in ("daily", "quiet", "gone", "young") for n in nows}
    counters = db.execute("SELECT id, items_total, last_new_at, silent_reported FROM sources ORDER BY id").fetchall()

    report = asyncio.run(prune(db, NOW, 15))

    assert report.posts > 1000
    assert {(s, n): source_volume(db, s, n) for s, n in figures} == figures
    assert db.execute("SELECT id, items_total, last_new_at, silent_reported FROM sources ORDER BY id").fetchall() == (
        counters
    )


def test_retention_shorter_than_source_health_window_is_refused(config_dir):
    p = config_dir / "example.toml"
    p.write_text(p.read_text(encoding="utf-8") + "\n[retention]\nposts_days = 7\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "retention.posts_days" in e.value.render() and "15" in e.value.render()
    p.write_text(p.read_text(encoding="utf-8").replace("posts_days = 7", "posts_days = 90"), encoding="utf-8")
    assert load_config(p).retention.posts_days == 90


async def test_the_job_runs_in_bounded_batches_and_yields_between_them(make_app, clock):
    h = await collected(make_app)
    db = h.app.db
    n = h.count("posts") - len(linked_posts(db))
    clock.advance(days=31)
    turns: list[int] = []
    done = asyncio.Event()

    async def other_work():  # what else the loop runs meanwhile (chats, delivery)
        while not done.is_set():
            turns.append(h.count("posts"))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    report = await prune(db, clock(), 30, batch=3)
    done.set()
    await other

    assert report.batches == [3] * (n // 3) + ([n % 3] if n % 3 else [])
    seen = sorted(set(turns), reverse=True)  # the other task saw the table between transactions
    assert len(seen) >= len(report.batches)
    stopped = await prune(db, clock(), 30, batch=1, max_batches=0)
    assert stopped.batches == []


async def test_the_bot_schedules_the_job_only_when_retention_is_on(make_app, config_dir, clock, tmp_path):
    h = make_app(settings_kw={"collect_on_start": False})
    await h.app.start()
    try:
        assert h.app.scheduler.get_job("retention") is None
    finally:
        await h.app.stop()
    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8") + '\n[retention]\nposts_days = 30\narchive_dir = "old"\n', encoding="utf-8"
    )
    h = make_app(load_config(p), settings_kw={"collect_on_start": False})
    await h.app.start()
    try:
        assert h.app.scheduler.get_job("retention") is not None
    finally:
        await h.app.stop()
    await h.app.collect_once()
    await index_off_loop(h.app.db)
    n = h.count("posts") - len(linked_posts(h.app.db))
    month = f"{clock():%Y-%m}"
    clock.advance(days=31)
    await h.app._retention_job()  # what the scheduler runs at 03:30
    assert h.count("posts") == len(linked_posts(h.app.db)) and h.count("pruned_keys") == n
    assert [f.name for f in (tmp_path / "data" / "old").iterdir()] == [f"posts-{month}.jsonl.gz"]


def test_the_command_prints_what_it_would_and_did_prune(make_app, clock, tmp_path, config_dir):
    h = asyncio.run(collected(make_app))  # the command runs its own loop
    n = h.count("posts") - len(linked_posts(h.app.db))
    db_path = h.app.settings.db  # a SQLite file or a PostgreSQL URL
    old = (clock() - timedelta(days=31)).isoformat()
    with write_tx(h.app.db):  # the command runs on today's clock: make the posts old instead
        h.app.db.execute("UPDATE posts SET fetched_at = ?", [old])
    h.app.close()
    p = config_dir / "example.toml"
    p.write_text(p.read_text(encoding="utf-8") + '\n[retention]\narchive_dir = "archive"\n', encoding="utf-8")
    runner = CliRunner()
    args = ["prune", "--db", str(db_path), "--config", str(p)]
    env = {"YUQING_DATA_DIR": str(tmp_path / "data")}

    off = runner.invoke(cli, args, env=env)
    assert off.exit_code == 0 and "nothing to prune" in off.output
    short = runner.invoke(cli, [*args, "--days", "7"], env=env)
    assert short.exit_code == 2 and "15" in short.output
    dry = runner.invoke(cli, [*args, "--days", "30", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"将删除 would prune: {n} 条帖文" in dry.output
    real = runner.invoke(cli, [*args, "--days", "30"], env=env)
    assert real.exit_code == 0, real.output
    assert f"已删除 pruned: {n} 条帖文" in real.output and "archive" in real.output
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == len(linked_posts(db))
    db.conn.close()
