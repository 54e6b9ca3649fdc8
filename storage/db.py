"""Opening the database, versioned migrations and write transactions."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

__all__ = [
    "PG_MIGRATIONS",
    "SCHEMA_MIGRATIONS",
    "begin_write",
    "commit",
    "database_file",
    "dialect",
    "insert_id",
    "json_dumps",
    "json_loads",
    "migration_lock",
    "open_db",
    "write_tx",
]

import json

BUSY_TIMEOUT_S = 10.0
# WAL pages written before a commit copies them back into the database file (SQLite's default:
# 1,000, about 4 MB). Each of those checkpoints waits for two fsyncs on the writer's thread, and
# the search index rewrites the same pages as it merges its segments: at 4,000 pages (~16 MB) a
# source run stalls on a checkpoint a quarter as often, each writing every page once however
# often it changed (issue 17.6: 0.35 s less of 11 s for 2,000 inews posts at half relevant).
WAL_AUTOCHECKPOINT_PAGES = 4000
# With a `Checkpointer` the writer's own checkpoint is only a backstop, for a log the
# background thread cannot keep short (~64 MB).
WAL_BACKSTOP_PAGES = 16_000
CHECKPOINT_PERIOD_S = 0.5
MIGRATE_LOCK_TIMEOUT_S = 120.0

SCHEMA_MIGRATIONS = Migrations("yuqing")


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (the sqlite3 stubs type `lastrowid` as optional).

    :raises RuntimeError: when the statement inserted no row.
    """
    if cur.lastrowid is None:
        raise RuntimeError("the statement inserted no row")
    return cur.lastrowid


def insert_id(db: Any, sql: str, params: list) -> int:
    """Run an INSERT and return the id of the row it made (`RETURNING id`: both engines).

    :raises RuntimeError: when the statement inserted no row.
    """
    rows = db.execute(sql + " RETURNING id", params).fetchall()  # read to the end: the statement is finished
    if not rows:
        raise RuntimeError("the statement inserted no row")
    return rows[0][0]


def dialect(db: Any) -> str:
    """'sqlite' or 'postgresql': the few statements that differ between the engines ask this."""
    return getattr(db, "dialect", "sqlite")


def rows(db: Any, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    """The rows of a read as dicts, like `db.query`, without sqlite-utils' savepoint around
    it: inside a write transaction that has added to the FTS5 index, every savepoint makes
    SQLite flush the index's pending terms (~1.5 ms a read on the ingest path, issue 17.6)."""
    if dialect(db) == "postgresql":
        return list(db.query(sql, list(params)))
    cur = db.conn.execute(sql, params)
    keys = [d[0] for d in cur.description]
    return [dict(zip(keys, r)) for r in cur]


def json_dumps(value: object) -> str:
    """Compact JSON that keeps Chinese characters as they are (no \\u escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_loads(text: str | None, default: Any = None) -> Any:
    """Parse a JSON column; `default` for NULL or ''."""
    if text in (None, ""):
        return default
    return json.loads(text)


def sqlite_path(target: Path | str | None) -> Path | str | None:
    """A plain path, or the file of a `sqlite:///relative/path` / `sqlite:////absolute/path` URL
    (`sqlite://` and `sqlite:///:memory:`: in memory)."""
    if isinstance(target, str) and target.startswith("sqlite:"):
        rest = target[len("sqlite:") :]
        if rest in ("", "//", "///", "///:memory:"):
            return ":memory:"
        if not rest.startswith("///"):
            raise ValueError(f"a SQLite URL is sqlite:///path/to.db, not {target!r}")
        return rest[3:]
    return target


def open_db(path: Path | str | None = None, *, memory: bool = False, migrate: bool = True) -> Any:
    """Open (creating if needed) the database, migrated: a SQLite file (a path or
    `sqlite:///path`; WAL mode, busy timeout) or PostgreSQL (`postgresql://user@host/db`,
    `postgresql:///db?host=/socket/dir`; see storage.pg).

    Example::

        db = open_db("data/yuqing.db")
        with write_tx(db):
            ...
    """
    from storage.pg import is_pg_url

    if is_pg_url(path):
        return open_pg(str(path), migrate=migrate)
    path = sqlite_path(path)
    if memory or path in (None, ":memory:"):
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=True, timeout=BUSY_TIMEOUT_S)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    db = Database(conn)
    if memory or path in (None, ":memory:"):
        if migrate:
            SCHEMA_MIGRATIONS.apply(db)
        return db
    if migrate or conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        # Several processes may open a fresh file at the same moment (two `yuqing run`, a
        # `scrape --once` beside a starting bot): one at a time switches it to WAL and migrates;
        # each re-checks what is pending once it holds the lock.
        with migration_lock(Path(path)):
            db.enable_wal()
            if migrate:
                SCHEMA_MIGRATIONS.apply(db)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    return db


class Checkpointer:
    """Copies a SQLite database's write-ahead log into its file from a thread of its own: a
    PASSIVE checkpoint (it waits for no reader or writer) every `period` seconds. The writer's
    commits then never wait for a checkpoint's two fsyncs (~0.1 s for 16 MB here; a source
    run with its search index rows writes that much in a few hundred posts) — the bot's
    collection thread is the writer; its own automatic checkpoint stays as a backstop
    (`WAL_BACKSTOP_PAGES`). Nothing for PostgreSQL or an in-memory database. The thread
    stops at `close()`, or by itself once the database it serves is closed or gone."""

    def __init__(self, db: Any, period: float = CHECKPOINT_PERIOD_S) -> None:
        self.period = period
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: Any = None
        if dialect(db) != "sqlite":
            return
        path = database_file(db)
        if not path:  # in memory
            return
        db.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
        self._db = weakref.ref(db)
        self._thread = threading.Thread(target=self._run, args=(path,), name="yuqing-checkpoint", daemon=True)
        self._thread.start()

    def _serving(self) -> bool:
        db = self._db()
        try:
            return db is not None and db.conn.total_changes >= 0
        except sqlite3.ProgrammingError:  # closed
            return False

    def _run(self, path: str) -> None:
        log = logging.getLogger(__name__)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            log.warning("background checkpoints of %s not started: %s", path, exc)
            return
        try:
            while not self._stop.wait(self.period) and self._serving():
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # the file gone, a full disk: the writer's backstop remains
                    log.warning("background checkpoint of %s failed: %s", path, exc)
                    return
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (after the checkpoint under way, if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def open_pg(url: str, *, migrate: bool = True) -> Any:
    """A PostgreSQL database by URL, migrated (PG_MIGRATIONS, under an advisory lock)."""
    from storage.pg import connect

    db = connect(url)
    if migrate:
        PG_MIGRATIONS.apply(db)
    return db


def database_file(db: Any) -> str | None:
    """Where a second connection to `db` opens (a read-only one off the event loop): the SQLite
    file, or the PostgreSQL URL; None in memory."""
    if dialect(db) == "postgresql":
        return db.url
    row = next((r for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main"), None)
    return row[2] or None if row else None


@contextmanager
def migration_lock(path: Path, timeout: float = MIGRATE_LOCK_TIMEOUT_S) -> Iterator[None]:
    """An OS lock (flock on `<db>.migrate.lock`) held while the schema is checked and changed.

    A file lock rather than a SQLite transaction because sqlite-utils' migrations run
    `executescript`, which commits any transaction around it. The kernel drops the lock when
    its holder dies, so a killed process never leaves it behind.
    """
    lock_path = Path(f"{path}.migrate.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another process has been migrating {path} for {timeout:.0f} s") from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def write_tx(db: Any) -> Iterator[Any]:
    """One write transaction, taken with BEGIN IMMEDIATE so concurrent writers queue
    (busy timeout) instead of failing half-way. Nested calls become savepoints.
    On PostgreSQL a psycopg transaction (BEGIN; nested: savepoints)."""
    if dialect(db) == "postgresql":
        with db.conn.transaction():
            yield db
        return
    if db.conn.in_transaction:
        with _savepoint(db.conn):
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """A nested `write_tx` (sqlite-utils' `atomic`, under one name: SQLite releases and rolls
    back to the innermost savepoint of a name, and the statements are prepared once, not for
    each new random name, as a source run's every post opens one)."""
    conn.execute("SAVEPOINT yuqing_nested")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # an error may have ended the whole transaction already
            conn.execute("ROLLBACK TO SAVEPOINT yuqing_nested")
            conn.execute("RELEASE SAVEPOINT yuqing_nested")
        raise
    else:
        conn.execute("RELEASE SAVEPOINT yuqing_nested")


def begin_write(db: Any) -> None:
    """Open a write transaction that `commit(db)` ends (a batch spanning many calls, as the
    backtest's); nothing happens when one is open already."""
    if not db.conn.in_transaction:
        db.conn.execute("BEGIN" if dialect(db) == "postgresql" else "BEGIN IMMEDIATE")


def commit(db: Any) -> None:
    """Commit the transaction `begin_write` opened, if one is open."""
    if db.conn.in_transaction:
        db.conn.execute("COMMIT")


# --------------------------------------------------------------------------- migrations
# Append new steps at the end; never edit one that has shipped.
#
# One migration, both engines: write the function once against the portable rules (DDL both
# accept: TEXT, INTEGER, REAL, CREATE INDEX, ALTER TABLE ... ADD COLUMN; on PostgreSQL the
# wrapper turns `INTEGER PRIMARY KEY` into an identity column, INTEGER into BIGINT, REAL into
# DOUBLE PRECISION), branch on `dialect(db)` where the engines truly differ, and register it
# with both sets:
#
#     @PG_MIGRATIONS()
#     @SCHEMA_MIGRATIONS()
#     def m021_leases(db) -> None: ...
#
# PostgreSQL starts from `pg000_baseline` (the SQLite schema after m020); the SQLite-only
# steps before it (FTS5, sqlite-utils table rebuilds) are not registered there.

PG_LOCK_KEY = 7_955_386_301  # pg_advisory_lock key of the migration runner ("yuqing" in spirit)


class PgMigrations:
    """Migrations on PostgreSQL: a table of applied names, every pending step in its own
    transaction, all under `pg_advisory_lock` (two processes starting together migrate once;
    the second waits, then finds nothing pending)."""

    table = "yuqing_migrations"

    BASELINE = "pg000_baseline"

    def __init__(self) -> None:
        self.steps: list[tuple[str, Any]] = []

    def __call__(self, *, name: str | None = None) -> Any:
        def inner(fn: Any) -> Any:
            step = name or fn.__name__
            if any(n == step for n, _ in self.steps):
                raise ValueError(f"PostgreSQL migration {step} is registered twice")
            self.steps.append((step, fn))
            # the baseline runs first wherever a merge put it in this file; the rest in order
            self.steps.sort(key=lambda s: s[0] != self.BASELINE)
            return fn

        return inner

    def applied(self, db: Any) -> list[str]:
        if not db.execute("SELECT to_regclass(?)", [self.table]).fetchone()[0]:
            return []
        return [r[0] for r in db.execute(f"SELECT name FROM {self.table} ORDER BY applied_at, name")]

    def pending(self, db: Any) -> list[str]:
        done = set(self.applied(db))
        return [n for n, _ in self.steps if n not in done]

    def apply(self, db: Any) -> None:
        if not self.pending(db):  # the common start: nothing to do, no lock taken
            return
        db.execute(f"SELECT pg_advisory_lock({PG_LOCK_KEY})")
        try:
            db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = set(self.applied(db))
            for step, fn in self.steps:
                if step in done:
                    continue
                with write_tx(db):
                    fn(db)
                    db.execute(
                        f"INSERT INTO {self.table} (name, applied_at) VALUES (?, ?)",
                        [step, datetime.now(UTC).isoformat(timespec="microseconds")],
                    )
        finally:
            db.execute(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})")


PG_MIGRATIONS = PgMigrations()


@SCHEMA_MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            url TEXT NOT NULL,
            tier INTEGER NOT NULL DEFAULT 3,
            team TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            last_run_at TEXT,
            last_ok_at TEXT,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            etag TEXT,
            last_modified TEXT,
            items_total INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            item_key TEXT NOT NULL UNIQUE,
            url TEXT,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            published_at TEXT,
            fetched_at TEXT NOT NULL,
            replies INTEGER,
            views INTEGER,
            reposts INTEGER,
            relevant INTEGER NOT NULL DEFAULT 0,
            category TEXT,
            matched TEXT,
            seg TEXT NOT NULL DEFAULT '',
            tip_by TEXT
        );
        CREATE INDEX posts_fetched ON posts(fetched_at);
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            story_key TEXT NOT NULL,
            title TEXT NOT NULL,
            url TEXT,
            source_id TEXT,
            team TEXT,
            category TEXT,
            grade TEXT NOT NULL,
            score REAL NOT NULL DEFAULT 0,
            sensitivity REAL NOT NULL DEFAULT 0,
            best_tier INTEGER NOT NULL DEFAULT 4,
            reasons TEXT NOT NULL DEFAULT '[]',
            matched TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'new',
            assignee TEXT,
            escalation_level INTEGER NOT NULL DEFAULT 0,
            disposition TEXT,
            summary TEXT,
            post_count INTEGER NOT NULL DEFAULT 1,
            source_count INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            claimed_at TEXT,
            escalated_at TEXT,
            closed_at TEXT,
            version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX incidents_story ON incidents(story_key);
        CREATE INDEX incidents_created ON incidents(created_at);
        CREATE INDEX incidents_state ON incidents(state);
        CREATE TABLE incident_posts (
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            post_id INTEGER NOT NULL REFERENCES posts(id),
            added_at TEXT NOT NULL,
            PRIMARY KEY (incident_id, post_id)
        );
        CREATE INDEX incident_posts_post ON incident_posts(post_id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT,
            detail TEXT NOT NULL DEFAULT '{}',
            platform TEXT,
            chat TEXT
        );
        CREATE INDEX events_incident ON events(incident_id, id);
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TABLE identities (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            PRIMARY KEY (platform, user_id)
        );
        CREATE TABLE subscriptions (
            person_id TEXT PRIMARY KEY,
            min_grade TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            platform TEXT NOT NULL,
            chat TEXT NOT NULL,
            kind TEXT NOT NULL,
            incident_id INTEGER,
            payload TEXT NOT NULL DEFAULT '{}',
            priority INTEGER NOT NULL DEFAULT 5,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            last_error TEXT,
            sent_at TEXT,
            message_id TEXT
        );
        CREATE INDEX outbox_pending ON outbox(state, platform, priority, id);
        CREATE TABLE messages (
            incident_id INTEGER NOT NULL,
            platform TEXT NOT NULL,
            chat TEXT NOT NULL,
            message_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (incident_id, platform, chat)
        );
        """
    )


@SCHEMA_MIGRATIONS()
def m002_posts_fts(db: Database) -> None:
    """Full-text search over jieba-segmented text (FTS5, kept in step by triggers)."""
    db.table("posts").enable_fts(["seg"], fts_version="FTS5", create_triggers=True, tokenize="unicode61")


@SCHEMA_MIGRATIONS()
def m003_incident_fingerprint(db: Database) -> None:
    """SimHash of each incident's first post, so near-duplicate stories cluster across restarts."""
    db.execute("ALTER TABLE incidents ADD COLUMN fingerprint INTEGER")


@SCHEMA_MIGRATIONS()
def m004_posts_index_queue(db: Database) -> None:
    """Posts without watch-list hits are segmented for search in the background, off the
    alert path; `indexed` = 0 marks the ones still waiting."""
    db.execute("ALTER TABLE posts ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX posts_unindexed ON posts(indexed) WHERE indexed = 0")


@SCHEMA_MIGRATIONS()
def m005_source_health(db: Database) -> None:
    """When a source last brought something new, and whether its silence was reported."""
    db.execute("ALTER TABLE sources ADD COLUMN last_new_at TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN silent_reported INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sources ADD COLUMN deactivated INTEGER NOT NULL DEFAULT 0")


@SCHEMA_MIGRATIONS()
def m006_source_ttl(db: Database) -> None:
    """A feed's own <ttl>: no fetch before this time."""
    db.execute("ALTER TABLE sources ADD COLUMN fetch_after TEXT")


@SCHEMA_MIGRATIONS()
def m007_incident_mute(db: Database) -> None:
    """/mute N 2h: no reminders for this incident until then."""
    db.execute("ALTER TABLE incidents ADD COLUMN muted_until TEXT")


@SCHEMA_MIGRATIONS()
def m008_outbox_pending_per_incident(db: Database) -> None:
    """`outbox.due` asks, for each pending row, whether an older one of the same incident and
    chat is still pending; without this index a backlog of edits made that quadratic."""
    db.execute(
        "CREATE INDEX outbox_pending_incident ON outbox(incident_id, platform, chat, id) WHERE state = 'pending'"
    )


@SCHEMA_MIGRATIONS()
def m009_callback_replay(db: Database) -> None:
    """What signed callbacks (and platform message ids) were already accepted, until when: a
    replayed request is refused also after a restart or by another process on this database."""
    db.execute("""CREATE TABLE callback_seen (
                      scope TEXT NOT NULL,
                      key TEXT NOT NULL,
                      seen_at REAL NOT NULL,
                      expires_at REAL NOT NULL,
                      PRIMARY KEY (scope, key))""")
    db.execute("CREATE INDEX callback_seen_expiry ON callback_seen(expires_at)")


@SCHEMA_MIGRATIONS()
def m012_scale(db: Database) -> None:
    """Issue 17 (a year's database).

    Source health (`storage.posts.source_volume`, on every source run) counts a source's posts
    of the last days and finds its first one; without an index on (source_id, fetched_at) each
    call scanned the whole posts table (seconds on a year's database). With it each figure is a
    range read of that source's recent posts, whatever the size of the table.

    Clustering keeps a 128-bit SimHash per incident (hex text; SQLite integers hold 64 bits);
    `fingerprint` stays for incidents stored before, compared the old way until they age out."""
    db.execute("CREATE INDEX IF NOT EXISTS posts_source_fetched ON posts(source_id, fetched_at)")
    db.execute("ALTER TABLE incidents ADD COLUMN simhash128 TEXT")


M013_BATCH = 2000
M013_INLINE = 20_000


@SCHEMA_MIGRATIONS()
def m013_search_bigrams(db: Database) -> None:
    """Issue 13.5 / 17.6: search finds what people type.

    The jieba index (m002: FTS5 over the `seg` column) only found whole jieba tokens: 招聘 was
    not found inside 事业单位招聘. The new index `posts_search` is a contentless FTS5 table
    over CJK bigrams of the folded title and text (core.search): any typed word is a phrase
    of its bigrams, found inside longer words; traditional text is found by simplified words.
    Contentless: it stores no copy of the text, and `seg` (a second copy, ~1 KB a post) goes.
    Posts are never deleted, so a contentless table needs no delete support.

    The newest M013_INLINE posts are indexed here, in batches (no jieba: a fold and a regex
    pass each, ~1-3 ms a post); older ones are queued (`indexed` = 0) for the background
    indexer (jobs.pipeline.index_off_loop, a bounded batch every few seconds, off the event
    loop), so a database of a million posts starts in about a minute, not most of an hour."""
    from core.search import index_text  # here: core.search imports opencc, storage.db must stay light

    for trig in ("posts_ai", "posts_ad", "posts_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trig}")
    if "posts_fts" in db.table_names():
        db.execute("DROP TABLE posts_fts")
    if "seg" in db["posts"].columns_dict:
        db.execute("ALTER TABLE posts DROP COLUMN seg")
    db.execute(
        "CREATE VIRTUAL TABLE posts_search USING fts5(title, body, content='', "
        "tokenize='unicode61 remove_diacritics 0')"
    )
    done = 0
    last = None
    while done < M013_INLINE:
        rows = db.execute(
            "SELECT id, title, text FROM posts WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
            [last, last, min(M013_BATCH, M013_INLINE - done)],
        ).fetchall()
        if not rows:
            break
        db.conn.executemany(
            "INSERT INTO posts_search (rowid, title, body) VALUES (?, ?, ?)",
            [(pid, index_text(t or ""), index_text(x or "")) for pid, t, x in rows],
        )
        last = rows[-1][0]
        done += len(rows)
    if last is not None:
        db.execute("UPDATE posts SET indexed = 1 WHERE id >= ? AND indexed = 0", [last])
        db.execute("UPDATE posts SET indexed = 0 WHERE id < ?", [last])


@SCHEMA_MIGRATIONS()
def m014_workflow(db: Database) -> None:
    """Issue 14 (how the team works): the latest 研判 of an incident (`/judge`; every one is
    also an audit event); `/mute all 2h`, the group-wide hold of grade III–IV reminders."""
    db.execute("ALTER TABLE incidents ADD COLUMN judgement TEXT")
    db.execute("""CREATE TABLE mute_all (
                      id INTEGER PRIMARY KEY CHECK (id = 1),
                      until TEXT NOT NULL,
                      by TEXT,
                      at TEXT NOT NULL)""")


@SCHEMA_MIGRATIONS()
def m015_report_issues(db: Database) -> None:
    """Issue 14.1: report documents are numbered per year and kind (日报 2026 年第 12 期)."""
    db.execute("""CREATE TABLE report_issues (
                      kind TEXT NOT NULL, year INTEGER NOT NULL, number INTEGER NOT NULL,
                      period TEXT NOT NULL, created_at TEXT NOT NULL,
                      PRIMARY KEY (kind, year, number))""")


@SCHEMA_MIGRATIONS()
def m016_incident_next_due(db: Database) -> None:
    """Issue 17.3: the deadline sweep reads only incidents with something due.

    `next_due_at` is the earliest time the sweep may have to act on an open incident (a
    reminder, a deadline, a quiet nudge, the end of a mute); '' (sorts before every time)
    means "not yet worked out": every change to an incident or a human event on it sets it
    back to ''. The partial index over open incidents makes the sweep's read a range read of
    the due ones, whatever the number of open incidents. `sweep_state` keeps a fingerprint
    of the grade rules the stored times were worked out with (new rules: all are redone)."""
    db.execute("ALTER TABLE incidents ADD COLUMN next_due_at TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX incidents_open_next_due ON incidents(next_due_at) WHERE state != 'closed'")
    db.execute("CREATE TABLE sweep_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@SCHEMA_MIGRATIONS()
def m017_report_indexes(db: Database) -> None:
    """Issue 17.8: `/report` reads its figures as SQL aggregates (storage.reports). A covering
    index over what it counts makes a period's figures one index range read (no row of the
    table visited); a partial one over open incidents serves the overdue count the same way."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS incidents_report ON incidents(created_at, grade, category, state, source_id, "
        "disposition, team, assignee, claimed_at, closed_at)"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS incidents_open_report ON incidents(grade, created_at, assignee) "
        "WHERE state != 'closed'"
    )


@SCHEMA_MIGRATIONS()
def m019_duty_overrides(db: Database) -> None:
    """Issue 14.6: duty shifts taken or assigned with /duty. Append-only (the audit of who
    changed the rota when); the latest row of a day is that day's override."""
    db.execute("""CREATE TABLE duty_overrides (
                      id INTEGER PRIMARY KEY,
                      day TEXT NOT NULL,
                      person_id TEXT NOT NULL,
                      by TEXT,
                      at TEXT NOT NULL)""")
    db.execute("CREATE INDEX duty_overrides_day ON duty_overrides(day, id)")


@SCHEMA_MIGRATIONS()
def m020_incident_transfer(db: Database) -> None:
    """Issue 14.7: a 转办 names the receiving unit and when its feedback is due (the incident
    waits in 待反馈 until /feedback records the reply)."""
    db.execute("ALTER TABLE incidents ADD COLUMN transfer_unit TEXT")
    db.execute("ALTER TABLE incidents ADD COLUMN feedback_due_at TEXT")


@PG_MIGRATIONS(name="pg000_baseline")
def pg000_baseline(db: Any) -> None:
    """PostgreSQL: the schema SQLite has after m001–m020, in one step (the wrapper's DDL
    translation gives identity ids, BIGINT, DOUBLE PRECISION and byte-order text), plus what
    differs: the append-only audit as plpgsql triggers, and the search index as a `tsvector`
    of the same folded CJK-bigram text (core.search.index_text) with a GIN index.
    New migrations (m021 …) follow below it, registered with both sets."""
    db.executescript(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
            tier INTEGER NOT NULL DEFAULT 3, team TEXT, enabled INTEGER NOT NULL DEFAULT 1,
            last_run_at TEXT, last_ok_at TEXT, last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0, etag TEXT, last_modified TEXT,
            items_total INTEGER NOT NULL DEFAULT 0, last_new_at TEXT,
            silent_reported INTEGER NOT NULL DEFAULT 0, deactivated INTEGER NOT NULL DEFAULT 0, fetch_after TEXT);
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY, source_id TEXT NOT NULL, item_key TEXT NOT NULL UNIQUE, url TEXT,
            title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '', published_at TEXT,
            fetched_at TEXT NOT NULL, replies INTEGER, views INTEGER, reposts INTEGER,
            relevant INTEGER NOT NULL DEFAULT 0, category TEXT, matched TEXT, tip_by TEXT,
            indexed INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX posts_fetched ON posts(fetched_at);
        CREATE INDEX posts_unindexed ON posts(indexed) WHERE indexed = 0;
        CREATE INDEX posts_source_fetched ON posts(source_id, fetched_at);
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY, story_key TEXT NOT NULL, title TEXT NOT NULL, url TEXT, source_id TEXT,
            team TEXT, category TEXT, grade TEXT NOT NULL, score REAL NOT NULL DEFAULT 0,
            sensitivity REAL NOT NULL DEFAULT 0, best_tier INTEGER NOT NULL DEFAULT 4,
            reasons TEXT NOT NULL DEFAULT '[]', matched TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'new', assignee TEXT, escalation_level INTEGER NOT NULL DEFAULT 0,
            disposition TEXT, summary TEXT, post_count INTEGER NOT NULL DEFAULT 1,
            source_count INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            claimed_at TEXT, escalated_at TEXT, closed_at TEXT, version INTEGER NOT NULL DEFAULT 1,
            fingerprint INTEGER, muted_until TEXT, simhash128 TEXT, judgement TEXT,
            next_due_at TEXT NOT NULL DEFAULT '', transfer_unit TEXT, feedback_due_at TEXT);
        CREATE INDEX incidents_story ON incidents(story_key);
        CREATE INDEX incidents_created ON incidents(created_at);
        CREATE INDEX incidents_state ON incidents(state);
        CREATE INDEX incidents_open_next_due ON incidents(next_due_at) WHERE state != 'closed';
        CREATE INDEX incidents_report ON incidents(created_at, grade, category, state, source_id, disposition,
            team, assignee, claimed_at, closed_at);
        CREATE INDEX incidents_open_report ON incidents(grade, created_at, assignee) WHERE state != 'closed';
        CREATE TABLE incident_posts (
            incident_id INTEGER NOT NULL REFERENCES incidents(id), post_id INTEGER NOT NULL REFERENCES posts(id),
            added_at TEXT NOT NULL, PRIMARY KEY (incident_id, post_id));
        CREATE INDEX incident_posts_post ON incident_posts(post_id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id), at TEXT NOT NULL,
            actor TEXT, action TEXT NOT NULL, from_state TEXT, to_state TEXT, detail TEXT NOT NULL DEFAULT '{}',
            platform TEXT, chat TEXT);
        CREATE INDEX events_incident ON events(incident_id, id);
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            FOR EACH ROW EXECUTE FUNCTION events_append_only();
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION events_append_only();
        CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
        CREATE TABLE identities (
            platform TEXT NOT NULL, user_id TEXT NOT NULL, person_id TEXT NOT NULL, registered_at TEXT NOT NULL,
            PRIMARY KEY (platform, user_id));
        CREATE TABLE subscriptions (person_id TEXT PRIMARY KEY, min_grade TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL,
            kind TEXT NOT NULL, incident_id INTEGER, payload TEXT NOT NULL DEFAULT '{}',
            priority INTEGER NOT NULL DEFAULT 5, state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, not_before TEXT, last_error TEXT, sent_at TEXT, message_id TEXT);
        CREATE INDEX outbox_pending ON outbox(state, platform, priority, id);
        CREATE INDEX outbox_pending_incident ON outbox(incident_id, platform, chat, id) WHERE state = 'pending';
        CREATE TABLE messages (
            incident_id INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, message_id TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (incident_id, platform, chat));
        CREATE TABLE callback_seen (
            scope TEXT NOT NULL, key TEXT NOT NULL, seen_at REAL NOT NULL, expires_at REAL NOT NULL,
            PRIMARY KEY (scope, key));
        CREATE INDEX callback_seen_expiry ON callback_seen(expires_at);
        CREATE TABLE mute_all (id INTEGER PRIMARY KEY CHECK (id = 1), until TEXT NOT NULL, by TEXT, at TEXT NOT NULL);
        CREATE TABLE report_issues (
            kind TEXT NOT NULL, year INTEGER NOT NULL, number INTEGER NOT NULL, period TEXT NOT NULL,
            created_at TEXT NOT NULL, PRIMARY KEY (kind, year, number));
        CREATE TABLE sweep_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE duty_overrides (
            id INTEGER PRIMARY KEY, day TEXT NOT NULL, person_id TEXT NOT NULL, by TEXT, at TEXT NOT NULL);
        CREATE INDEX duty_overrides_day ON duty_overrides(day, id);
        CREATE TABLE posts_search (id BIGINT PRIMARY KEY, tsv tsvector NOT NULL);
        CREATE INDEX posts_search_tsv ON posts_search USING GIN (tsv);
        """
    )


# m021 and later: below this line, each registered with both sets (see PgMigrations above).


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m021_leases(db: Database) -> None:
    """Issue 16.2/16.3: several collectors, one leading bot, delivery across a take-over
    (storage.coord).

    * sources: when each is next due (`next_due_at`, '' = now) and who is reading it until when
      (`lease_owner`, `lease_until`; '' = free); `host` is its politeness lane
      (jobs.collect.host_key), written by the collectors.
    * hosts: one worker at a time reads a host (`owner`, `lease_until`), and nobody before
      `next_fetch_at` (the minimum interval kept across workers).
    * leases: named leases (the leader's: 'bot'), with an `epoch` raised at every change of
      holder: the fencing token a deposed leader's writes are checked against.
    * outbox: a row being sent is leased (`lease_owner`, `lease_until`): a new leader sends it
      again (uncertain) only once the lease of the process that was sending it has run out.

    Times are ISO-8601 UTC text as everywhere; the same DDL runs on PostgreSQL."""
    db.execute("ALTER TABLE sources ADD COLUMN host TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE sources ADD COLUMN next_due_at TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE sources ADD COLUMN lease_owner TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN lease_until TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX sources_due ON sources(next_due_at) WHERE enabled = 1")
    db.execute("""CREATE TABLE hosts (
                      host TEXT PRIMARY KEY,
                      owner TEXT,
                      lease_until TEXT NOT NULL DEFAULT '',
                      next_fetch_at TEXT NOT NULL DEFAULT '')""")
    db.execute("""CREATE TABLE leases (
                      name TEXT PRIMARY KEY,
                      owner TEXT,
                      until TEXT NOT NULL DEFAULT '',
                      epoch INTEGER NOT NULL DEFAULT 0,
                      since TEXT)""")
    db.execute("ALTER TABLE outbox ADD COLUMN lease_owner TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN lease_until TEXT NOT NULL DEFAULT ''")


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m022_retention(db: Database) -> None:
    """Issue 16.4: retention. Raw posts older than `[retention] posts_days` that belong to no
    incident are pruned (storage.retention); their item keys stay here, so a feed that still
    lists a pruned item neither stores nor alerts it again (`posts.item_key` UNIQUE did that
    while the post existed; storage.posts.post_exists / insert_post consult this table too).
    A key is kept for `storage.retention.KEY_FACTOR` times the posts' window, by its post's
    `fetched_at` (the index), then dropped in its turn.

    `sources.first_post_at` keeps the fetch time of a source's oldest pruned post: source health
    (storage.posts.source_volume) counts a source's days of history from its first post, and
    pruning must not make an old source look new.

    SQLite: WITHOUT ROWID, the key is stored once (in the primary key's b-tree).
    PostgreSQL (the lead wires it into the PG migration list):
        CREATE TABLE pruned_keys (item_key TEXT PRIMARY KEY, fetched_at TEXT NOT NULL);
        CREATE INDEX pruned_keys_fetched ON pruned_keys(fetched_at);
        ALTER TABLE sources ADD COLUMN first_post_at TEXT;"""
    rowid = "" if dialect(db) == "postgresql" else " WITHOUT ROWID"
    db.execute(f"CREATE TABLE pruned_keys (item_key TEXT PRIMARY KEY, fetched_at TEXT NOT NULL){rowid}")
    db.execute("CREATE INDEX pruned_keys_fetched ON pruned_keys(fetched_at)")
    db.execute("ALTER TABLE sources ADD COLUMN first_post_at TEXT")


M023_BATCH = 500
M023_WINDOW_DAYS = 7  # core.incidents.STORY_WINDOW: how far back clustering reads incidents


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m023_story_fingerprint(db: Database) -> None:
    """Issue 17.6: the story fingerprint without jieba.

    `incidents.simhash128` held a SimHash over jieba token bigrams of the first post's whole text
    (and `fingerprint`, before m012, a 64-bit one); it now holds `core.cluster.fingerprint`, a
    SimHash over character shingles of the folded text, and the two kinds must never be
    compared. So every stored fingerprint is cleared, and the new one is computed again from
    each incident's first post (`core.text.fold` of its title + "\\n" + text, the text the
    analyser folds) for the incidents clustering can still read: those created within
    M023_WINDOW_DAYS of the newest incident (the window only moves forward; an incident older
    than that is never a candidate again). The 64-bit `fingerprint` column is no longer read:
    incidents that had only that one get the new fingerprint from their posts like the rest.
    An incident without a post keeps none (it is still found by story key, event and headline).

    Rows are read M023_BATCH at a time (by id), so memory stays bounded; the work is a fold and a
    fingerprint per incident: measured 42 s for 50,000 incidents all in the window (posts of
    1,200 characters on average, 0.8 ms each on a loaded 2-core machine), about a second for a
    year's database with a week of about a thousand. Recomputing, rather than a kind marker
    beside the old value, leaves one kind of fingerprint and no legacy path in the clustering.
    The same statements run on PostgreSQL."""
    from datetime import timedelta

    from core.clock import parse_iso, to_iso
    from core.cluster import fingerprint, to_hex
    from core.text import fold

    db.execute("UPDATE incidents SET simhash128 = NULL, fingerprint = NULL")
    newest = db.execute("SELECT MAX(created_at) FROM incidents").fetchone()[0]
    if newest is None:
        return
    since = to_iso(parse_iso(newest) - timedelta(days=M023_WINDOW_DAYS))
    last = 0
    while True:
        rows = db.execute(
            "SELECT i.id, p.title, p.text FROM incidents i "
            "JOIN posts p ON p.id = (SELECT MIN(ip.post_id) FROM incident_posts ip WHERE ip.incident_id = i.id) "
            "WHERE i.id > ? AND i.created_at >= ? ORDER BY i.id LIMIT ?",
            [last, since, M023_BATCH],
        ).fetchall()
        if not rows:
            break
        db.conn.executemany(
            "UPDATE incidents SET simhash128 = ? WHERE id = ?",
            [(to_hex(fingerprint(fold(f"{title or ''}\n{text or ''}"))), iid) for iid, title, text in rows],
        )
        last = rows[-1][0]


M024_AUTOMERGE = 16


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m024_search_automerge(db: Database) -> None:
    """Issue 17.6: the search index merges its segments less often.

    FTS5 writes each transaction's rows as a new segment and merges segments of one size class
    once `automerge` of them have gathered (default 4); most of the cost of adding a post to
    the index is that rewriting. At M024_AUTOMERGE segments per merge each post is rewritten
    about half as often: measured on 70,000 inews posts added 50 per transaction, 1.9 ms a post
    instead of 3.0, for queries that read more segments (median of 16 words 8.1 ms instead of
    5.6, the same rows in the same order: merging changes where the index keeps its lists, not
    what they hold). Only the setting changes (kept in the index's config table); segments
    already written merge under it from now on.

    PostgreSQL keeps its search index in a GIN index (pg000_baseline): nothing to do."""
    if dialect(db) == "postgresql":
        return
    db.execute(f"INSERT INTO posts_search (posts_search, rank) VALUES ('automerge', {M024_AUTOMERGE})")


M025_BATCH = 2000


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m025_story_key_headline(db: Database) -> None:
    """Issue 13: a story key without the title's trailing site names (`core.cluster.story_key`:
    …的举报 and …的举报-中商财经 are one story when the headline left has 8 or more CJK characters).

    Every incident's `story_key` is computed again from its stored title, M025_BATCH rows at a
    time by id (a normalise, a regex and a SHA-1 each: about a second for 50,000 incidents), so a
    suffixed copy of a stored story finds it by key as a new one does. A title without a suffix
    keeps its key. The same statements run on PostgreSQL."""
    from core.cluster import story_key

    last = 0
    while True:
        rows = db.execute(
            "SELECT id, title, story_key FROM incidents WHERE id > ? ORDER BY id LIMIT ?", [last, M025_BATCH]
        ).fetchall()
        if not rows:
            break
        changed = [(key, iid) for iid, title, was in rows if (key := story_key(title or "")) != was]
        if changed:
            db.conn.executemany("UPDATE incidents SET story_key = ? WHERE id = ?", changed)
        last = rows[-1][0]


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m026_chat_moves(db: Database) -> None:
    """A group chat the platform gave a new id: Telegram moves a group to a new chat id when it
    becomes a supergroup (more members, admins' settings), and the old id then refuses every
    message. The configured id -> the new one, learnt from Telegram's answer or the group's own
    service message, so alerts follow the group and its commands stay the team's across
    restarts, until the configuration names the new id (storage.replay.chat_moves)."""
    db.execute("""CREATE TABLE chat_moves (
                      platform TEXT NOT NULL,
                      old_chat TEXT NOT NULL,
                      new_chat TEXT NOT NULL,
                      at TEXT NOT NULL,
                      PRIMARY KEY (platform, old_chat))""")


M027_CRISISMERGE = 64


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m027_search_crisismerge(db: Database) -> None:
    """The search index merges its segments a little with every write, never all of a level at once.

    FTS5 merges a level's segments *incrementally* (some pages with each later write) once
    `automerge` of them have gathered, but *all at once*, in the transaction that adds the
    segment, once `crisismerge` have (default 16). With m024's automerge of 16 the two were
    equal, so every merge was a crisis merge: a COMMIT on the loop rewrote a whole level — on
    12,000 inews posts added 50 per transaction, one commit took 1,140 ms (and the longest grows
    with the index), with crisismerge 64: 68 ms, the same total time (14.5 s against 13.9 s).

    PostgreSQL keeps its search index in a GIN index (pg000_baseline): nothing to do."""
    if dialect(db) == "postgresql":
        return
    db.execute(f"INSERT INTO posts_search (posts_search, rank) VALUES ('crisismerge', {M027_CRISISMERGE})")


@PG_MIGRATIONS()
@SCHEMA_MIGRATIONS()
def m028_source_warning(db: Database) -> None:
    """A source's run that worked in part: a search source whose other queries were read keeps
    their posts, and the queries that failed are shown here (/sources) without counting as a
    failure of the source. Cleared by the next run that works in full."""
    db.execute("ALTER TABLE sources ADD COLUMN last_warning TEXT")
