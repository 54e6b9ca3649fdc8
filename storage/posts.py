"""Posts and sources: insert once, search."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlite_utils import Database

from core.clock import to_iso
from core.config import Source
from core.models import Finding, Post
from core.search import SearchQuery, index_post
from storage.db import dialect, json_dumps, json_loads
from storage.db import rows as _rows
from storage.retention import was_pruned

__all__ = [
    "add_post_note",
    "incident_of_item",
    "index_now",
    "insert_post",
    "post_exists",
    "record_source_run",
    "resume_sources",
    "search_posts",
    "set_indexed",
    "set_source_flags",
    "source_rows",
    "source_state",
    "source_volume",
    "sync_sources",
    "unindexed",
    "unindexed_count",
]


def post_exists(db: Database, item_key: str) -> bool:
    """Is a post with this `item_key` stored already, or pruned (storage.retention)? Posts first:
    a prune committing between the two reads has its key in `pruned_keys` by the second."""
    if db.execute("SELECT 1 FROM posts WHERE item_key = ?", [item_key]).fetchone() is not None:
        return True
    return was_pruned(db, item_key)


def stored_keys(db: Database, item_keys: list[str]) -> set[str]:
    """Of `item_keys`, those stored already or pruned: `post_exists` for a whole feed in one read
    of posts and one of pruned_keys per 500 keys (posts first, as there)."""
    out: set[str] = set()
    keys = list(dict.fromkeys(item_keys))
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        out.update(r[0] for r in db.execute(f"SELECT item_key FROM posts WHERE item_key IN ({marks})", chunk))
        rest = [k for k in chunk if k not in out]
        if rest:
            marks = ",".join("?" * len(rest))
            out.update(r[0] for r in db.execute(f"SELECT item_key FROM pruned_keys WHERE item_key IN ({marks})", rest))
    return out


def insert_post(db: Database, post: Post, finding: Finding, seg: str | None, now: datetime) -> int | None:
    """Store a post; returns its id, or None when a post with the same key is already stored.
    `seg` None queues the post for the background search indexer (see `unindexed`); otherwise
    (a post with watch-list hits) it is added to the search index here, in the same transaction.
    The value of `seg` itself is no longer stored (the index is built from the folded text)."""
    rows = db.execute(  # a duplicate key inserts nothing (no error: it would abort a PostgreSQL transaction)
        """INSERT INTO posts (source_id, item_key, url, title, text, published_at, fetched_at,
               replies, views, reposts, relevant, category, matched, tip_by, indexed)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (item_key) DO NOTHING RETURNING id""",
        [
            post.source_id,
            post.item_key,
            post.url,
            post.title,
            post.text,
            to_iso(post.published_at),
            to_iso(now),
            post.replies,
            post.views,
            post.reposts,
            int(finding.relevant),
            finding.category,
            json_dumps(finding.matched),
            post.tip_by,
            int(seg is not None),
        ],
    ).fetchall()
    if not rows:
        return None
    post_id = rows[0][0]
    if was_pruned(db, post.item_key):  # pruned (storage.retention); checked after the insert: a prune
        db.execute("DELETE FROM posts WHERE id = ?", [post_id])  # committed meanwhile shows here
        return None
    if seg is not None:
        set_indexed(db, [index_now(post_id, post.title, post.text)], mark=False)
    return post_id


def sync_sources(db: Database, sources: Iterable[Source]) -> None:
    """Mirror the configured sources into the table that keeps their run state."""
    for s in sources:
        db.execute(
            """INSERT INTO sources (id, name, kind, url, tier, team, enabled) VALUES (?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET name=excluded.name, kind=excluded.kind, url=excluded.url,
                   tier=excluded.tier, team=excluded.team, enabled=excluded.enabled""",
            [s.id, s.name, s.kind, s.url, s.tier, s.team, int(s.enabled)],
        )


def source_state(db: Database, source_id: str) -> dict:
    """A source's run state (last success, failures, flags).

    :raises StopIteration: when the source is not in the table (see `sync_sources`).
    """
    return next(iter(_rows(db, "SELECT * FROM sources WHERE id = ?", [source_id])))


def record_source_run(
    db: Database,
    source_id: str,
    now: datetime,
    *,
    error: str | None,
    new_items: int = 0,
    etag: str | None = None,
    last_modified: str | None = None,
    warning: str | None = None,
) -> tuple[int, int]:
    """Record one run; returns (consecutive failures before, after). `warning`: a run that
    worked in part (a search source's query failed, the others were read): a success, with
    what failed kept to show (`last_warning`); a run that works in full clears it."""
    before = db.execute("SELECT consecutive_failures FROM sources WHERE id=?", [source_id]).fetchone()[0]
    if error is None:
        db.execute(
            """UPDATE sources SET last_run_at=?, last_ok_at=?, last_error=NULL, consecutive_failures=0,
                   items_total = items_total + ?, etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified),
                   last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END,
                   silent_reported = CASE WHEN ? > 0 THEN 0 ELSE silent_reported END,
                   last_warning=?
               WHERE id=?""",
            [
                to_iso(now),
                to_iso(now),
                new_items,
                etag,
                last_modified,
                new_items,
                to_iso(now),
                new_items,
                None if warning is None else warning[:500],
                source_id,
            ],
        )
        return before, 0
    db.execute(
        """UPDATE sources SET last_run_at=?, last_error=?, consecutive_failures = consecutive_failures + 1
           WHERE id=?""",
        [to_iso(now), error[:500], source_id],
    )
    return before, before + 1


# The columns `set_source_flags` may set: its keyword names become SQL, so they come from here.
SOURCE_FLAGS = frozenset({"enabled", "deactivated", "silent_reported", "fetch_after"})


def set_source_flags(db: Database, source_id: str, **flags: object) -> None:
    """:raises ValueError: for a flag that is not one of `SOURCE_FLAGS` (nothing is written)."""
    unknown = sorted(set(flags) - SOURCE_FLAGS)
    if unknown:
        raise ValueError(f"sources has no flag column {', '.join(unknown)}")
    sets = ", ".join(f"{k} = ?" for k in flags)
    db.execute(f"UPDATE sources SET {sets} WHERE id = ?", [*flags.values(), source_id])


def resume_sources(db: Database) -> list[str]:
    """Switch back on the sources that were switched off after repeated failures, their failure
    count started anew (the notice that switched one off says a restart resumes it). Call inside
    `write_tx`. Returns their ids."""
    ids = [r["id"] for r in _rows(db, "SELECT id FROM sources WHERE deactivated = 1 ORDER BY id")]
    if ids:
        db.execute("UPDATE sources SET deactivated = 0, consecutive_failures = 0 WHERE deactivated = 1")
    return ids


def source_rows(db: Database) -> list[dict]:
    """The run state of every source, by id."""
    return _rows(db, "SELECT * FROM sources ORDER BY id")


def search_posts(db: Database, query: SearchQuery | str, limit: int = 10) -> list[dict]:
    """Posts matching `query` (core.search.parse_query), best match first (BM25, a title hit
    weighs 3x a body hit), the newest first among equals; each row carries the incident it
    belongs to, if any, and its text (for a snippet)."""
    match = query.match if isinstance(query, SearchQuery) else query
    if not match:
        return []
    if dialect(db) == "postgresql":
        return _rows(db, _PG_SEARCH, [to_tsquery(match), limit])
    sql = """
        SELECT p.id, p.title, p.url, p.source_id, p.published_at, p.fetched_at, p.relevant,
               substr(p.text, 1, 2000) AS text,
               (SELECT ip.incident_id FROM incident_posts ip WHERE ip.post_id = p.id LIMIT 1) AS incident_id
        FROM (SELECT rowid AS id, bm25(posts_search, 3.0, 1.0) AS score FROM posts_search
              WHERE posts_search MATCH ?) f
        JOIN posts p ON p.id = f.id
        ORDER BY round(f.score, 6), COALESCE(p.published_at, p.fetched_at) DESC, p.id DESC
        LIMIT ?"""
    return _rows(db, sql, [match, limit])


# PostgreSQL: the same index text in a tsvector (title weight A, body B), a typed word a phrase
# (<->) of its bigrams; ts_rank with a title hit weighing 3x a body hit, normalised by length
# (as BM25 favours the shorter of two posts with the same hits); newest first among equals.
_PG_SEARCH = """
    SELECT p.id, p.title, p.url, p.source_id, p.published_at, p.fetched_at, p.relevant,
           substr(p.text, 1, 2000) AS text,
           (SELECT ip.incident_id FROM incident_posts ip WHERE ip.post_id = p.id LIMIT 1) AS incident_id
    FROM (SELECT s.id, ts_rank('{0.1, 0.2, 0.3333333, 1.0}', s.tsv, q, 1) AS score
          FROM posts_search s, to_tsquery('simple', ?) q WHERE s.tsv @@ q) f
    JOIN posts p ON p.id = f.id
    ORDER BY round(CAST(f.score AS numeric), 6) DESC, COALESCE(p.published_at, p.fetched_at) DESC, p.id DESC
    LIMIT ?"""

_PG_INDEX = (
    "INSERT INTO posts_search (id, tsv) VALUES "
    "(?, setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B'))"
)

_FTS_PHRASE = re.compile(r'"((?:[^"]|"")*)"(\*?)')


def to_tsquery(match: str) -> str:
    """The FTS5 expression core.search.parse_query makes (quoted phrases joined by AND, a
    trailing `*` for a prefix) as PostgreSQL tsquery text: `'a' <-> 'b' & 'c':*`."""
    terms = []
    for body, star in _FTS_PHRASE.findall(match):
        toks = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in body.replace('""', '"').split()]
        if not toks:
            continue
        if star:
            toks[-1] += ":*"
        terms.append("(" + " <-> ".join(toks) + ")")
    return " & ".join(terms)


def unindexed_count(db: Database) -> int:
    """How many posts wait for the search index."""
    return db.execute("SELECT COUNT(*) FROM posts WHERE indexed = 0").fetchone()[0]


def unindexed(db: Database, limit: int = 200) -> list[tuple[int, str, str]]:
    """Posts waiting for the search index: (id, title, text)."""
    return [
        (r[0], r[1], r[2])
        for r in db.execute(
            "SELECT id, title, text FROM posts WHERE indexed = 0 ORDER BY id LIMIT ?", [limit]
        ).fetchall()
    ]


def index_now(pid: int, title: str, text: str, folded: str | None = None) -> tuple[int, str, str]:
    """The index row of one post (CPU only, no database: may run off the event loop); `folded`:
    the post's `fold(f"{title}\\n{text}")` when the analysis has it (core.search.index_post)."""
    return pid, *index_post(title, text, folded)


def set_indexed(db: Database, rows: list[tuple[int, str, str]], *, mark: bool = True) -> int:
    """Add rows from `index_now` to the search index (one executemany), marking the posts done.
    With `mark`, only posts still waiting are added (marked in the same statement, so two
    indexers that prepared the same posts — the run's own and the background one — or a post
    pruned meanwhile never put a second or a stray row in the index). Returns how many."""
    if mark:
        done: set[int] = set()
        ids = [r[0] for r in rows]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            done.update(
                r[0]
                for r in db.execute(
                    f"UPDATE posts SET indexed = 1 WHERE indexed = 0 AND id IN ({marks}) RETURNING id", chunk
                ).fetchall()
            )
        rows = [r for r in rows if r[0] in done]
    if not rows:
        return 0
    if dialect(db) == "postgresql":
        db.conn.executemany(_PG_INDEX, rows)
    else:
        db.conn.executemany("INSERT INTO posts_search (rowid, title, body) VALUES (?, ?, ?)", rows)
    return len(rows)


def source_volume(db: Database, source_id: str, now: datetime, days: int = 14) -> tuple[int, float, int]:
    """(posts in the last 24 h, daily mean over the `days` before that, days of history)."""
    day = now - timedelta(days=1)
    start = day - timedelta(days=days)
    last = db.execute(
        "SELECT COUNT(*) FROM posts WHERE source_id=? AND fetched_at >= ?", [source_id, to_iso(day)]
    ).fetchone()[0]
    before = db.execute(
        "SELECT COUNT(*), MIN(fetched_at) FROM posts WHERE source_id=? AND fetched_at >= ? AND fetched_at < ?",
        [source_id, to_iso(start), to_iso(day)],
    ).fetchone()
    first = db.execute(  # the oldest post, or the oldest pruned one (storage.retention)
        """SELECT MIN(t.at) FROM (SELECT MIN(fetched_at) AS at FROM posts WHERE source_id=?
                                 UNION ALL SELECT first_post_at FROM sources WHERE id=?) t""",
        [source_id, source_id],
    ).fetchone()[0]
    history = (day - datetime.fromisoformat(first)).days if first and first < to_iso(day) else 0
    span = max(1, min(days, history))
    return last, before[0] / span, history


def incident_of_item(db: Database, item_key: str) -> int | None:
    """The incident a stored post (by its item key) belongs to, if any."""
    row = db.execute(
        "SELECT ip.incident_id FROM posts p JOIN incident_posts ip ON ip.post_id = p.id WHERE p.item_key = ?",
        [item_key],
    ).fetchone()
    return row[0] if row else None


def add_post_note(db: Database, item_key: str, *, by: str, text: str, now: datetime) -> int | None:
    """Keep a note (a tip's remark: who, when, text) with the stored post of this key, in its
    `matched` under "tip_notes" (archived with the post); call inside a write transaction.
    Returns the post's id, or None when no post has this key (never stored, or pruned)."""
    lock = " FOR UPDATE" if dialect(db) == "postgresql" and db.conn.in_transaction else ""
    row = db.execute("SELECT id, matched FROM posts WHERE item_key = ?" + lock, [item_key]).fetchone()
    if row is None:
        return None
    matched = json_loads(row[1], {}) or {}
    if not isinstance(matched, dict):
        matched = {"matched": matched}
    matched.setdefault("tip_notes", []).append({"by": by, "at": to_iso(now), "text": text})
    db.execute("UPDATE posts SET matched = ? WHERE id = ?", [json_dumps(matched), row[0]])
    return row[0]
