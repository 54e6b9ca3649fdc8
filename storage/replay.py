"""Replay memory for chat callbacks: which signed requests and platform message ids were
already accepted, kept in the database until they expire (so a restart or a second process
on the same database remembers them too)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.db import write_tx

__all__ = ["first_time", "prune_seen", "seen_count"]


def first_time(db: Database, scope: str, key: str, *, now: float, expires_at: float) -> bool:
    """Record `key` in `scope` until `expires_at` (Unix seconds); True when it was not already
    remembered, False for a replay. Expired rows are pruned in the same transaction."""
    with write_tx(db):
        db.execute("DELETE FROM callback_seen WHERE expires_at <= ?", [now])
        cur = db.execute(
            "INSERT INTO callback_seen (scope, key, seen_at, expires_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            [scope, key, now, expires_at],
        )
        return cur.rowcount == 1


def prune_seen(db: Database, now: float) -> int:
    """Forget every expired row; how many were forgotten."""
    with write_tx(db):
        return db.execute("DELETE FROM callback_seen WHERE expires_at <= ?", [now]).rowcount


def seen_count(db: Database, scope: str | None = None) -> int:
    if scope is None:
        return db.execute("SELECT COUNT(*) FROM callback_seen").fetchone()[0]
    return db.execute("SELECT COUNT(*) FROM callback_seen WHERE scope = ?", [scope]).fetchone()[0]
