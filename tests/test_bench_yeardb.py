"""bench/yeardb.py's cache: keyed on the generator, not the schema. A cache from before that key
is adopted, and a cached database lacking migrations is brought forward when opened."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from bench import yeardb
from storage import SCHEMA_MIGRATIONS, open_db


def _applied(path) -> set[str]:
    with sqlite3.connect(path) as c:
        return {r[0] for r in c.execute("SELECT name FROM _sqlite_migrations")}


def test_legacy_cache_is_adopted_and_migrated_forward(tmp_path, monkeypatch):
    monkeypatch.setattr(yeardb, "CACHE", tmp_path)
    monkeypatch.delenv("YUQING_BENCH_SCALE", raising=False)
    month = f"{datetime.now(UTC):%Y%m}"
    legacy = tmp_path / f"year-deadbeef-{month}"
    legacy.mkdir()
    names = [m.name for m in SCHEMA_MIGRATIONS._migrations]
    db = open_db(legacy / "year.db", migrate=False)
    SCHEMA_MIGRATIONS.apply(db, stop_before=names[-1])  # one migration short, as an older schema's cache
    db.close()
    meta = {"now": "2026-11-26T03:46:48+00:00", "posts": 10, "incidents": 1, "sources": 100, "build_seconds": 1.0}
    (legacy / "meta.json").write_text(json.dumps(meta))
    assert names[-1] not in _applied(legacy / "year.db")

    y = yeardb.year_db(quiet=True)

    assert y.cached and y.posts == 10
    assert y.db.parent.name == f"yeardb-{yeardb.generator_key()}-{month}"
    assert legacy.is_symlink() and legacy.resolve() == y.db.parent.resolve()
    assert set(names) <= _applied(y.db)  # brought forward by the normal migrations
    kept = json.loads((y.db.parent / "meta.json").read_text())
    assert kept["migrated"][0]["names"] == [names[-1]]
    assert y.config.exists()  # the configuration written from the current config/

    again = yeardb.year_db(quiet=True)  # nothing left to migrate: found as it is
    assert again.db == y.db
    assert len(json.loads((y.db.parent / "meta.json").read_text())["migrated"]) == 1


def test_the_cache_key_does_not_follow_the_migrations():
    assert "yeardb" not in yeardb.generator_key()
    before = yeardb.generator_key()
    SCHEMA_MIGRATIONS._migrations.append(SCHEMA_MIGRATIONS._migrations[-1])
    try:
        assert yeardb.generator_key() == before
    finally:
        SCHEMA_MIGRATIONS._migrations.pop()
