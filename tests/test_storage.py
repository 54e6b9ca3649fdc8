"""Storage: WAL, busy timeout, migrations on an existing database, append-only events, FTS
(those taking `db`: on both engines)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.grades import Grade
from core.models import Finding, Post
from storage import SCHEMA_MIGRATIONS, open_db, write_tx
from storage.incidents import add_event, create_incident
from storage.posts import insert_post, search_posts

NOW = datetime(2026, 11, 24, tzinfo=UTC)

pytestmark = pytest.mark.both_engines  # the tests using the `db` fixture run on SQLite and PostgreSQL


def test_wal_and_busy_timeout(tmp_path):
    db = open_db(tmp_path / "a.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert [m.name for m in SCHEMA_MIGRATIONS.applied(db)] == [m.name for m in SCHEMA_MIGRATIONS._migrations]


def test_migrations_upgrade_an_existing_database_and_keep_its_data(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path, migrate=False)
    SCHEMA_MIGRATIONS.apply(db, stop_before="m002_posts_fts")  # a database from before full-text search
    assert "posts_fts" not in db.table_names()
    # a row as the first version wrote it
    db.execute(
        "INSERT INTO posts (source_id, item_key, title, text, fetched_at, seg) VALUES (?,?,?,?,?,?)",
        ["forum", "k1", "市人社局回应考生质疑", "面试成绩复核", NOW.isoformat(), "市人社局 回应 考生 质疑"],
    )
    db.close()
    db = open_db(path)  # start-up applies the pending migration
    assert "posts_search" in db.table_names()  # m013 replaced posts_fts
    assert [r["title"] for r in search_posts(db, '"质疑"')] == ["市人社局回应考生质疑"]
    assert db.execute("SELECT indexed FROM posts").fetchone()[0] == 1  # old rows count as indexed
    # opening again is a no-op
    n = len(SCHEMA_MIGRATIONS.applied(db))
    db.close()
    assert len(SCHEMA_MIGRATIONS.applied(open_db(path))) == n


def test_events_are_append_only(db):
    with write_tx(db):
        iid = create_incident(
            db,
            story_key="k",
            title="t",
            url=None,
            source_id="s",
            team=None,
            category=None,
            grade=Grade.IV,
            score=1,
            sensitivity=1,
            best_tier=4,
            reasons=[],
            matched={},
            now=NOW,
        )
        add_event(db, iid, NOW, actor="a", action="note")
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE events SET actor='b'")
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM events")


def test_write_tx_rolls_back_everything_on_error(db):
    with pytest.raises(RuntimeError), write_tx(db):
        insert_post(db, Post("forum", "k1", "t"), Finding(relevant=False), "t", NOW)
        raise RuntimeError("boom")
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0


def test_same_item_key_is_stored_once(db):
    assert insert_post(db, Post("a", "url:https://x/1", "t"), Finding(relevant=False), "t", NOW) is not None
    assert insert_post(db, Post("b", "url:https://x/1", "t"), Finding(relevant=False), "t", NOW) is None


def test_update_columns_come_from_a_fixed_list(db):
    """Keyword names become SQL column names, so an unknown one is refused before any SQL."""
    from storage.incidents import get_incident, update_incident
    from storage.posts import set_source_flags

    iid = create_incident(
        db,
        story_key="k",
        title="t",
        url=None,
        source_id="s",
        team=None,
        category=None,
        grade=Grade.IV,
        score=1,
        sensitivity=0,
        best_tier=4,
        reasons=[],
        matched={},
        now=NOW,
    )
    with pytest.raises(ValueError, match="no updatable column"):
        update_incident(db, iid, 1, NOW, **{"title = 'x', version": 9})
    assert get_incident(db, iid).version == 1
    update_incident(db, iid, 1, NOW, summary="ok")
    assert get_incident(db, iid).summary == "ok"
    with pytest.raises(ValueError, match="no flag column"):
        set_source_flags(db, "s", **{"name": "x"})


def test_list_pages_and_count_agree_with_the_whole_list(db):
    """/list pages in SQL for the team (count + LIMIT/OFFSET by grade and state) and must show
    exactly the slices of the whole ordered list it used to cut in Python."""
    import random

    from core.models import State
    from storage.incidents import count_incidents, list_incidents, update_incident

    rnd = random.Random(7)
    with write_tx(db):
        for n in range(137):
            iid = create_incident(
                db,
                story_key=f"k{n}",
                title=f"t{n}",
                url=None,
                source_id="s",
                team=None,
                category=None,
                grade=rnd.choice(list(Grade)),
                score=1,
                sensitivity=0,
                best_tier=4,
                reasons=[],
                matched={},
                now=NOW,
            )
            if rnd.random() < 0.4:
                update_incident(db, iid, 1, NOW, state=rnd.choice([State.CLAIMED, State.CLOSED]).value)
    for states in [(State.NEW, State.CLAIMED), (State.CLOSED,), None]:
        for grade in [None, *Grade]:
            whole = list_incidents(db, states=states, grade=None, limit=10_000)
            whole = [i for i in whole if grade is None or i.grade is grade]
            assert count_incidents(db, states=states, grade=grade) == len(whole)
            pages = [list_incidents(db, states=states, grade=grade, limit=20, offset=o) for o in range(0, 160, 20)]
            assert [i.id for p in pages for i in p] == [i.id for i in whole]
