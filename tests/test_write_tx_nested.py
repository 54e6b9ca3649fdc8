"""A nested write_tx is a savepoint: what it wrote goes when it fails, the outer transaction
carries on, and savepoints nest (one name for all of them)."""

from __future__ import annotations

import pytest

from storage.db import open_db, write_tx


def _keys(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT k FROM t ORDER BY k")]


def test_a_failing_nested_write_is_undone_and_the_outer_one_commits(tmp_path):
    db = open_db(tmp_path / "n.db")
    db.execute("CREATE TABLE t (k TEXT)")
    with write_tx(db):
        db.execute("INSERT INTO t VALUES ('a')")
        with pytest.raises(ValueError), write_tx(db):
            db.execute("INSERT INTO t VALUES ('b')")
            with write_tx(db):
                db.execute("INSERT INTO t VALUES ('c')")
            raise ValueError("inner")
        with write_tx(db):
            db.execute("INSERT INTO t VALUES ('d')")
            with pytest.raises(KeyError), write_tx(db):
                db.execute("INSERT INTO t VALUES ('e')")
                raise KeyError("innermost")
    assert not db.conn.in_transaction
    assert _keys(db) == ["a", "d"]
