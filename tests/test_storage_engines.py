"""One storage layer, two engines (issue 16.1): the statements whose SQL differs between SQLite
and PostgreSQL behave the same on both; opening by URL; PostgreSQL's migration runner."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import StaleIncident
from core.grades import Grade
from storage import open_db, write_tx
from storage import outbox as ob
from storage.db import PG_MIGRATIONS, database_file, dialect, sqlite_path
from storage.incidents import (
    add_event,
    create_incident,
    get_incident,
    get_mute_all,
    link_post,
    set_mute_all,
    sweep_facts,
    update_incident,
)
from storage.pg import to_pg_sql, translate_ddl
from storage.replay import first_time
from storage.reports import open_overdue, period_spans, period_times

pytestmark = pytest.mark.both_engines

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def incident(db, **kw) -> int:
    args = dict(
        story_key="k",
        title="t",
        url=None,
        source_id="s",
        team=None,
        category=None,
        grade=Grade.III,
        score=1.5,
        sensitivity=0.5,
        best_tier=4,
        reasons=[],
        matched={},
        now=NOW,
    )
    return create_incident(db, **{**args, **kw})


def test_ids_counts_and_upserts(db):
    a, b = incident(db), incident(db, fingerprint=2**63 - 1)  # a 64-bit SimHash fits
    assert b == a + 1
    assert get_incident(db, a).score == 1.5
    link_post_ok = db.execute(
        "INSERT INTO posts (source_id, item_key, fetched_at) VALUES (?, ?, ?) RETURNING id", ["s", "k1", "x"]
    ).fetchall()[0][0]
    link_post(db, a, link_post_ok, NOW)
    link_post(db, a, link_post_ok, NOW)  # twice: a no-op
    assert db.execute("SELECT COUNT(*) FROM incident_posts").fetchone()[0] == 1
    set_mute_all(db, NOW + timedelta(hours=2), "boss", NOW)
    set_mute_all(db, NOW + timedelta(hours=3), "boss", NOW)  # replaces the one row
    assert get_mute_all(db) == NOW + timedelta(hours=3)
    set_mute_all(db, None, "boss", NOW)
    assert get_mute_all(db) is None
    assert first_time(db, "tg", "u1", now=1.0, expires_at=100.0)
    assert not first_time(db, "tg", "u1", now=2.0, expires_at=100.0)


def test_compare_and_set_on_two_connections_exactly_one_wins(db, db_url):
    iid = incident(db)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def claim(who):
        conn = open_db(db_url)  # a connection of its own, as another process would have
        barrier.wait()
        try:
            with write_tx(conn):
                update_incident(conn, iid, 1, NOW, assignee=who, state="claimed")
            results.append(who)
        except StaleIncident as e:
            results.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=claim, args=(who,)) for who in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1 and sum(isinstance(r, StaleIncident) for r in results) == 1
    inc = get_incident(db, iid)
    assert (inc.assignee, inc.version) == (winners[0], 2)


def test_outbox_payload_updates(db):
    rid = ob.enqueue(db, NOW, platform="console", chat="g", kind=ob.TEXT, payload={"text": "长文", "first": True})
    ob.begin(db, [rid], NOW)
    assert ob.release_uncertain(db, ["console"]) == [rid]
    ob.begin(db, [rid], NOW)
    ob.unbegin(db, [rid], uncertain=True)
    ob.save_progress(db, rid, 2, "m9")
    ob.save_progress(db, rid, 3, None)
    (row,) = ob.due(db, ["console"], NOW)
    assert row.payload == {"text": "长文", "first": True, "uncertain": 2, "parts_done": 3, "first_id": None}


def test_digest_candidates_are_first_cards_only(db):
    first = ob.enqueue(db, NOW, platform="console", chat="g", kind=ob.CARD, incident_id=1, payload={"first": True}, priority=4)  # fmt: skip
    ob.enqueue(db, NOW, platform="console", chat="g", kind=ob.CARD, incident_id=2, payload={}, priority=4)
    ob.enqueue(db, NOW, platform="console", chat="h", kind=ob.CARD, incident_id=3, payload={"first": 1}, priority=1)
    assert [r.id for r in ob.new_low_grade_cards(db, "console", NOW)["g"]] == [first]


def test_sweep_facts_and_report_spans(db):
    iid = incident(db)
    add_event(db, iid, NOW, actor=None, action="reminder", detail={"key": "claim:30"})
    add_event(db, iid, NOW + timedelta(minutes=5), actor="a", action="note", detail={"text": "x"})
    keys, last_human, last_id = sweep_facts(db, [iid], {"note"})[iid]
    assert keys == {"claim:30"} and last_human == NOW + timedelta(minutes=5) and last_id > 0
    update_incident(db, iid, 1, NOW, assignee="a", claimed_at=NOW + timedelta(seconds=90))
    update_incident(db, iid, 2, NOW, state="closed", closed_at=NOW + timedelta(hours=1, seconds=1))
    assert [tuple(r) for r in period_spans(db, NOW - timedelta(days=1), NOW + timedelta(days=1))] == [
        ("III", "a", 90, 3601, None)  # no claim or assign event of "a": not timed as theirs
    ]
    n_open, rows = open_overdue(db, {"III": (NOW, None, None)}, (), NOW)
    assert n_open == 0 and list(rows) == []
    opened, closed = period_times(db, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert len(opened) == 1 and closed == [_closed_at(db, iid)]
    assert period_times(db, NOW + timedelta(hours=2), NOW + timedelta(days=1)) == ([], [])


def _closed_at(db, iid: int) -> str:
    return db.execute("SELECT closed_at FROM incidents WHERE id = ?", [iid]).fetchone()[0]


def test_queued_posts_are_found_once_the_background_indexer_ran(db):
    from core.models import Finding, Post
    from core.search import parse_query
    from jobs.pipeline import index_pending
    from storage.posts import insert_post, search_posts, unindexed_count

    insert_post(db, Post("forum", "k1", "青石镇停水", "居民反映"), Finding(relevant=False), None, NOW)  # queued
    insert_post(db, Post("forum", "k2", "關於停水的說明", "停水两天"), Finding(relevant=True), "x", NOW)  # at once
    assert unindexed_count(db) == 1
    assert [r["title"] for r in search_posts(db, parse_query("停水"))] == ["關於停水的說明"]
    assert index_pending(db, batch=10) == 1 and unindexed_count(db) == 0
    assert [r["title"] for r in search_posts(db, parse_query("停水"))] == [
        "關於停水的說明",
        "青石镇停水",
    ]  # title+body first
    assert [r["title"] for r in search_posts(db, parse_query("关于 停"))] == ["關於停水的說明"]  # AND, prefix
    assert search_posts(db, parse_query("停电")) == []


async def test_heavy_reads_run_in_the_reader_process_on_its_own_connection(db):
    """jobs.offload.read_only: the reader opens the SQLite file read-only, or PostgreSQL by URL."""
    from jobs import offload
    from storage.reports import closed_between

    iid = incident(db)
    update_incident(db, iid, 1, NOW, state="closed", closed_at=NOW)
    assert await offload.read_only(db, closed_between, NOW - timedelta(hours=1), NOW + timedelta(hours=1)) == 1


def test_one_migration_function_runs_on_both_engines(db):
    """How m021 and later are written: once, SQLite DDL, registered with both sets (a made-up
    step: its names must not clash with a real migration's)."""
    from sqlite_utils.migrations import Migrations

    from storage.db import PgMigrations

    pg, lite = PgMigrations(), Migrations("test")

    @pg()
    @lite()
    def m999_widgets(db) -> None:
        db.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, until TEXT, weight REAL)")
        db.execute("CREATE INDEX widgets_until ON widgets(until) WHERE until IS NOT NULL")
        db.execute("ALTER TABLE sources ADD COLUMN widget_owner TEXT")

    (pg if dialect(db) == "postgresql" else lite).apply(db)
    (pg if dialect(db) == "postgresql" else lite).apply(db)  # again: nothing pending
    ids = [
        db.execute(
            "INSERT INTO widgets (name, until, weight) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET until = excluded.until RETURNING id",
            [n, "2026-11-24T02:00:00+00:00", 0.5],
        ).fetchall()[0][0]
        for n in ("a", "b", "a")
    ]
    assert ids == [ids[0], ids[0] + 1, ids[0]]
    assert db.execute("SELECT COUNT(*) FROM sources WHERE widget_owner IS NULL").fetchone()[0] == 0


def test_database_location(db, db_url):
    where = database_file(db)
    assert where == (db_url if dialect(db) == "postgresql" else str(Path(db_url).resolve()))


# ---------------------------------------------------------------------- one engine only


def test_sqlite_urls_and_plain_paths(tmp_path):
    assert sqlite_path("sqlite:///data/yuqing.db") == "data/yuqing.db"
    assert sqlite_path("sqlite:////abs/y.db") == "/abs/y.db"
    assert sqlite_path("sqlite://") == ":memory:"
    assert sqlite_path(tmp_path / "x.db") == tmp_path / "x.db"
    db = open_db(f"sqlite:///{tmp_path}/u.db")
    assert dialect(db) == "sqlite" and (tmp_path / "u.db").exists()


def test_settings_take_a_url_or_a_path(tmp_path):
    from bot.settings import Settings

    def s(v):
        return Settings(_env_file=None, db=v).db

    assert s("data/x.db") == Path("data/x.db")
    assert s("sqlite:///data/x.db") == Path("data/x.db")
    assert s("postgresql://bot@db.internal/yuqing") == "postgresql://bot@db.internal/yuqing"


def test_placeholders_and_ddl_translation():
    assert to_pg_sql("SELECT '?', \"a?\" FROM t WHERE a = ? AND b LIKE ?") == (
        "SELECT '?', \"a?\" FROM t WHERE a = %s AND b LIKE %s"
    )
    assert translate_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, x REAL, text TEXT)") == (
        'CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, '
        'text TEXT COLLATE "C")'
    )
    assert "BIGINT PRIMARY KEY CHECK" in translate_ddl("CREATE TABLE m (id INTEGER PRIMARY KEY CHECK (id = 1))")
    assert translate_ddl("SELECT 1 AS INTEGER") == "SELECT 1 AS INTEGER"


def test_a_pg_url_without_the_driver_says_how_to_install_it(monkeypatch):
    import builtins

    from storage.pg import PgUnavailable

    real = builtins.__import__

    def no_psycopg(name, *a, **kw):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(PgUnavailable) as e:
        open_db("postgresql://bot:secret@db.internal/yuqing")
    assert "pip install 'yuqing-bot[pg]'" in str(e.value) and "secret" not in str(e.value)


@pytest.mark.postgres
def test_pg_migrations_run_once_when_two_processes_start_together(pg_cluster):
    """A new, empty database: two openers race; the advisory lock lets one migrate, the other
    waits and finds nothing pending."""
    import psycopg

    name = "racing"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = pg_cluster.url(name)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start():
        try:
            barrier.wait()
            open_db(url).close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    db = open_db(url)
    assert PG_MIGRATIONS.applied(db) == [n for n, _ in PG_MIGRATIONS.steps]
    assert db.execute("SELECT COUNT(*) FROM yuqing_migrations").fetchone()[0] == len(PG_MIGRATIONS.steps)
    with pytest.raises(Exception, match="append-only"):
        db.execute("TRUNCATE events")
    db.close()


def test_a_pg_url_gets_a_lock_file_of_its_own_not_a_directory_named_after_it():
    import tempfile

    from bot.instance import lock_path

    p = lock_path("postgresql://bot@db.internal/yuqing")
    assert p.parent == Path(tempfile.gettempdir()) and p.name.endswith(".lock")
    assert lock_path(Path("data/y.db")) == Path("data/y.db.lock")
