"""m024: the search index merges its segments M024_AUTOMERGE at a time, on a new database and on
one that had posts indexed before; what a search finds does not depend on it."""

from __future__ import annotations

from core.search import parse_query
from storage import write_tx
from storage.db import M024_AUTOMERGE, SCHEMA_MIGRATIONS, open_db
from storage.posts import index_now, search_posts, set_indexed


def _automerge(db) -> int | None:
    row = db.execute("SELECT v FROM posts_search_config WHERE k = 'automerge'").fetchone()
    return row[0] if row else None


def _add(db, pid: int, title: str, text: str) -> None:
    with write_tx(db):
        db.execute(
            "INSERT INTO posts (id, source_id, item_key, title, text, fetched_at, indexed) VALUES (?,?,?,?,?,?,0)",
            [pid, "s", f"k{pid}", title, text, "2026-01-01T00:00:00+00:00"],
        )
        set_indexed(db, [index_now(pid, title, text)])


def test_a_new_database_merges_the_index_at_the_setting(tmp_path):
    db = open_db(tmp_path / "new.db")
    assert _automerge(db) == M024_AUTOMERGE


def test_an_existing_index_gets_the_setting_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path, migrate=False)
    SCHEMA_MIGRATIONS.apply(db, stop_before="m024_search_automerge")
    assert _automerge(db) is None
    _add(db, 1, "市交通运输局回应", "网友质疑公车私用")
    db.conn.close()
    db = open_db(path)
    assert _automerge(db) == M024_AUTOMERGE
    _add(db, 2, "交通运输局通报", "公车私用问题已查处")
    for i in range(3, 40):  # enough transactions for segments to merge
        _add(db, i, f"其他新闻{i}", "天气晴朗")
    found = [r["id"] for r in search_posts(db, parse_query("公车私用"))]
    assert sorted(found) == [1, 2]


def _crisismerge(db) -> int | None:
    row = db.execute("SELECT v FROM posts_search_config WHERE k = 'crisismerge'").fetchone()
    return row[0] if row else None


def test_a_level_is_merged_incrementally_never_all_at_once(tmp_path):
    """m027: FTS5 merges a level in one transaction (a crisis merge; 1.1 s on the loop for a
    commit on 12,000 inews posts) once `crisismerge` segments have gathered; above `automerge`
    it merges them a little with every write instead. New and existing databases."""
    from storage.db import M027_CRISISMERGE

    db = open_db(tmp_path / "new.db")
    assert _crisismerge(db) == M027_CRISISMERGE > M024_AUTOMERGE
    path = tmp_path / "old.db"
    old = open_db(path, migrate=False)
    SCHEMA_MIGRATIONS.apply(old, stop_before="m027_search_crisismerge")
    assert _crisismerge(old) is None
    _add(old, 1, "市交通运输局回应", "网友质疑公车私用")
    old.conn.close()
    old = open_db(path)
    assert _crisismerge(old) == M027_CRISISMERGE
    for i in range(2, 40):
        _add(old, i, f"其他新闻{i}", "天气晴朗")
    assert [r["id"] for r in search_posts(old, parse_query("公车私用"))] == [1]
