"""Keeping the asyncio loop free: chat polling, callbacks, reminders and delivery share it, so
nothing may hold it for more than ~100 ms.

Two workers:

* `cpu(fn, ...)` — pure CPU work without the database: feed parsing, jieba segmentation, the
  analysis of a post. One thread, so jieba's dictionary is never used by two workers at once;
  each call is a small piece (one post, one batch), so it never holds the GIL for long.
* `read_only(db, fn, ...)` — heavy reads and what is drawn from them (reports, their
  matplotlib charts, documents): `fn(snapshot, ...)` runs in a **worker process** with its own
  read-only connection to the same SQLite file (WAL: it sees the last committed state and never
  blocks the writer). A process, not a thread: matplotlib and a 50,000-row report hold the GIL
  for long stretches, and a thread would stall the loop anyway. `fn` and its arguments must
  pickle (module-level functions, the config, dates).

Writes stay where they are: on the loop's thread, in short `write_tx` transactions on the
app's own connection — each SQLite connection is only ever used by the thread that opened it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from storage.db import BUSY_TIMEOUT_S

__all__ = ["cpu", "db_file", "read_only"]

log = logging.getLogger(__name__)

_cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yuqing-cpu")
_reader: ProcessPoolExecutor | None = None
_reader_lock = threading.Lock()


P = ParamSpec("P")
T = TypeVar("T")


async def cpu(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the CPU worker thread; it must not touch the database."""
    return await asyncio.get_running_loop().run_in_executor(_cpu, functools.partial(fn, *args, **kwargs))


def db_file(db: Database) -> str | None:
    """The file behind `db`'s main schema (a PostgreSQL database: its URL), or None in memory."""
    from storage.db import database_file

    return database_file(db)


def _with_snapshot(path: str, fn, args, kwargs):
    from storage.pg import is_pg_url

    if is_pg_url(path):  # PostgreSQL: a connection of the reader's own, by URL
        from storage.db import open_db

        pg = open_db(path, migrate=False)
        try:
            return fn(pg, *args, **kwargs)
        finally:
            pg.close()
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return fn(Database(conn), *args, **kwargs)
    finally:
        conn.close()


def _pool() -> ProcessPoolExecutor:
    global _reader
    with _reader_lock:
        if _reader is None:
            # spawn: a fork of a process with running threads (the loop, the CPU worker) is unsafe
            _reader = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _reader


async def read_only(db: Database, fn: Callable[Concatenate[Database, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(snapshot_db, *args, **kwargs)` in the reader process with its own read-only
    connection to `db`'s file. An in-memory database has no second connection: `fn` then runs
    here. If the reader process died, a new one is started and the call tried once more."""
    global _reader
    path = db_file(db)
    if path is None:
        return fn(db, *args, **kwargs)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool(), _with_snapshot, path, fn, args, kwargs)
    except BrokenProcessPool:
        log.warning("the report worker process died; starting a new one")
        with _reader_lock:
            _reader = None
        return await loop.run_in_executor(_pool(), _with_snapshot, path, fn, args, kwargs)
