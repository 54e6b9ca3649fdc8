"""Replay memory for chat callbacks: which signed requests and platform message ids were
already accepted, kept in the database until they expire (so a restart or a second process
on the same database remembers them too)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.db import write_tx

__all__ = ["chat_moves", "first_time", "prune_seen", "record_chat_move", "seen_count"]


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


def chat_moves(db: Database, platform: str) -> dict[str, str]:
    """The group chats `platform` moved: configured (old) chat id -> the chat's id now."""
    rows = db.execute("SELECT old_chat, new_chat FROM chat_moves WHERE platform = ?", [platform]).fetchall()
    return {str(old): str(new) for old, new in rows}


def record_chat_move(db: Database, platform: str, old: str, new: str, at: str) -> bool:
    """Remember that chat `old` of `platform` is now `new`; True when this was not known yet."""
    with write_tx(db):
        known = db.execute(
            "SELECT new_chat FROM chat_moves WHERE platform = ? AND old_chat = ?", [platform, old]
        ).fetchone()
        if known is not None and str(known[0]) == new:
            return False
        db.execute(
            """INSERT INTO chat_moves (platform, old_chat, new_chat, at) VALUES (?,?,?,?)
               ON CONFLICT (platform, old_chat) DO UPDATE SET new_chat = excluded.new_chat, at = excluded.at""",
            [platform, old, new, at],
        )
        return True
