"""Retention (issue 16.4): the SQL that prunes old raw posts.

A post is prunable when it was fetched before the cutoff, belongs to no incident (incidents,
their posts, events and the audit are kept for ever) and is in the search index already
(`indexed` = 1: a post still queued for the background indexer waits for it, so the indexer
never adds a row for a post that is gone). Pruning a post removes its search row and the post,
and keeps its item key in `pruned_keys` (m022), which `storage.posts.post_exists` and
`insert_post` consult: a feed that still lists a pruned item stores and alerts nothing.
Keys are dropped in their turn after `KEY_FACTOR` times the posts' window.

Work goes in batches (`jobs.retention` drives them: archive, then one short transaction per
batch). Source health is not touched: `sources.items_total` and `last_new_at` are counters
of the sources table, and `core.config.MIN_RETENTION_DAYS` keeps every post that
`storage.posts.source_volume` counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlite_utils import Database

from core.clock import to_iso
from storage.db import dialect
from storage.db import rows as _rows

__all__ = [
    "KEY_FACTOR",
    "POST_COLUMNS",
    "Doomed",
    "delete_batch",
    "expire_keys",
    "expired_keys",
    "prunable",
    "prunable_by_month",
    "was_pruned",
]

# A pruned post's item key is kept this many times the posts' window (by its fetch time): a
# feed that still lists an item that long after it was first fetched would store it anew.
KEY_FACTOR = 4

# What the archive keeps of a post (every column but the search bookkeeping).
POST_COLUMNS = (
    "id",
    "source_id",
    "item_key",
    "url",
    "title",
    "text",
    "published_at",
    "fetched_at",
    "replies",
    "views",
    "reposts",
    "relevant",
    "category",
    "matched",
    "tip_by",
)


class Doomed(NamedTuple):
    """A post to prune, with the values its search row was made of (storage.posts.index_now)."""

    id: int
    source_id: str
    item_key: str
    fetched_at: str
    title: str  # as indexed
    body: str  # as indexed


_UNLINKED = "NOT EXISTS (SELECT 1 FROM incident_posts ip WHERE ip.post_id = p.id)"


def was_pruned(db: Database, item_key: str) -> bool:
    """Was a post with this key pruned (and its key not yet dropped)? The insert path's check."""
    return db.execute("SELECT 1 FROM pruned_keys WHERE item_key = ?", [item_key]).fetchone() is not None


def prunable(db: Database, cutoff: datetime, limit: int, after: tuple[str, int] | None = None) -> list[dict]:
    """Up to `limit` prunable posts fetched before `cutoff`, oldest first, after the position
    `after` = (fetched_at, id) of the previous batch: a range read of `posts_fetched` in its own
    order (no OR and no sort: a batch reads its rows, not every old post), so the kept incident
    posts at the old end are passed over once per run, not once per batch."""
    cols = ", ".join(f"p.{c}" for c in POST_COLUMNS)
    at, pid = after if after is not None else ("", 0)
    return [
        dict(r)
        for r in _rows(
            db,
            f"""SELECT {cols} FROM posts p
                WHERE p.fetched_at < ? AND p.fetched_at >= ? AND NOT (p.fetched_at = ? AND p.id <= ?)
                  AND p.indexed = 1 AND {_UNLINKED}
                ORDER BY p.fetched_at, p.id LIMIT ?""",
            [to_iso(cutoff), at, at, pid, limit],
        )
    ]


def prunable_by_month(db: Database, cutoff: datetime) -> dict[str, tuple[int, int]]:
    """What a prune at `cutoff` would remove, per month of fetch (YYYY-MM, UTC): (posts ready,
    posts still waiting for the search indexer, pruned at a later run)."""
    rows = db.execute(
        f"""SELECT substr(p.fetched_at, 1, 7) AS month,
                   SUM(CASE WHEN p.indexed = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN p.indexed = 1 THEN 0 ELSE 1 END)
            FROM posts p WHERE p.fetched_at < ? AND {_UNLINKED}
            GROUP BY substr(p.fetched_at, 1, 7) ORDER BY month""",
        [to_iso(cutoff)],
    ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def delete_batch(db: Database, posts: Sequence[Doomed]) -> list[int]:
    """Prune these posts: their search rows, the posts; their keys go to `pruned_keys` and each
    source's oldest fetch time to `sources.first_post_at`. Call inside `write_tx`. Re-checked
    here, in the transaction: a post linked to an incident meanwhile is left alone. Returns
    the ids pruned."""
    if not posts:
        return []
    marks = ",".join("?" * len(posts))
    still = {
        r[0]
        for r in db.execute(
            f"SELECT p.id FROM posts p WHERE p.id IN ({marks}) AND p.indexed = 1 AND {_UNLINKED}",
            [p.id for p in posts],
        ).fetchall()
    }
    batch = [p for p in posts if p.id in still]
    if not batch:
        return []
    ids = [p.id for p in batch]
    if dialect(db) == "postgresql":
        # the search index is a table of tsvectors keyed by post id (storage.db.pg000_baseline)
        db.execute(f"DELETE FROM posts_search WHERE id IN ({','.join('?' * len(ids))})", ids)
    else:
        # A contentless FTS5 table forgets a row only by the 'delete' command given the very
        # values that were indexed (recomputed by the caller with core.search.index_text). So a
        # change to core.search's folding or tokens needs posts_search rebuilt (a migration, as
        # m013) in the same release: other values here would leave the index inconsistent.
        db.conn.executemany(
            "INSERT INTO posts_search (posts_search, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            [(p.id, p.title, p.body) for p in batch],
        )
    db.conn.executemany(
        """INSERT INTO pruned_keys (item_key, fetched_at) VALUES (?, ?)
           ON CONFLICT (item_key) DO UPDATE SET fetched_at = excluded.fetched_at""",
        [(p.item_key, p.fetched_at) for p in batch],
    )
    first: dict[str, str] = {}
    for p in batch:
        first[p.source_id] = min(first.get(p.source_id, p.fetched_at), p.fetched_at)
    db.conn.executemany(
        """UPDATE sources SET first_post_at = CASE WHEN first_post_at IS NULL OR first_post_at > ? THEN ?
                                                 ELSE first_post_at END WHERE id = ?""",
        [(at, at, sid) for sid, at in first.items()],
    )
    # one row at a time: with foreign keys on, an IN list makes SQLite collect the rows first
    # and check each against incident_posts in a second pass, twice as slow on the year database
    db.conn.executemany("DELETE FROM posts WHERE id = ?", [(i,) for i in ids])
    return ids


def expired_keys(db: Database, cutoff: datetime) -> int:
    """How many pruned keys are of posts fetched before `cutoff` (what `expire_keys` drops)."""
    return db.execute("SELECT COUNT(*) FROM pruned_keys WHERE fetched_at < ?", [to_iso(cutoff)]).fetchone()[0]


def expire_keys(db: Database, cutoff: datetime, limit: int) -> int:
    """Drop up to `limit` pruned keys of posts fetched before `cutoff` (one batch; call inside
    `write_tx`). Returns how many."""
    keys = [
        r[0]
        for r in db.execute(
            "SELECT item_key FROM pruned_keys WHERE fetched_at < ? ORDER BY fetched_at LIMIT ?", [to_iso(cutoff), limit]
        ).fetchall()
    ]
    if keys:
        db.execute(f"DELETE FROM pruned_keys WHERE item_key IN ({','.join('?' * len(keys))})", keys)
    return len(keys)
