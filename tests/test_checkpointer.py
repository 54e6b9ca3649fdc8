"""storage.db.Checkpointer: the write-ahead log is copied into the database file by a thread
of its own, so that a source run's commits never wait for a checkpoint's fsyncs."""

from __future__ import annotations

import os
import time

from storage.db import WAL_BACKSTOP_PAGES, Checkpointer, open_db, write_tx


def _wait(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def _write_pages(db, pages: int) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS blobs (b BLOB)")
    with write_tx(db):
        for _ in range(pages):
            db.execute("INSERT INTO blobs VALUES (zeroblob(4000))")


def test_the_log_reaches_the_file_without_the_writer_checkpointing(tmp_path):
    path = tmp_path / "c.db"
    db = open_db(path)
    cp = Checkpointer(db, period=0.02)
    try:
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_BACKSTOP_PAGES
        before = os.path.getsize(path)
        _write_pages(db, 2000)  # ~8 MB: past SQLite's own 1,000 pages, short of the backstop
        assert os.path.getsize(path) < before + 1_000_000  # the writer left it all in the log
        runs = cp.checkpoints
        # two checkpoints begun after the commit: one of them has copied it
        assert _wait(lambda: cp.checkpoints >= runs + 2 and os.path.getsize(path) > before + 7_000_000)
    finally:
        cp.close()
        db.close()


def test_without_it_the_log_stays_in_the_wal(tmp_path):
    """The reference for the test above: the writer alone (SQLite's automatic checkpoint set to
    the backstop) leaves the pages in the log."""
    path = tmp_path / "c.db"
    db = open_db(path)
    db.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
    before = os.path.getsize(path)
    _write_pages(db, 2000)
    assert os.path.getsize(path) < before + 1_000_000
    db.close()


def test_it_stops_when_its_database_is_closed(tmp_path):
    db = open_db(tmp_path / "c.db")
    cp = Checkpointer(db, period=0.01)
    assert cp._thread.is_alive()
    db.close()
    cp._thread.join(timeout=5)
    assert not cp._thread.is_alive()
    cp.close()  # and closing it again is harmless


def test_nothing_for_a_database_in_memory():
    db = open_db(memory=True)
    cp = Checkpointer(db)
    assert cp._thread is None
    cp.close()


def test_the_app_stops_its_checkpointer(tmp_path):
    import io
    from pathlib import Path

    from bot.app import App
    from bot.config import load_config
    from bot.platforms.console import ConsolePlatform
    from bot.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path, db=tmp_path / "a.db")
    cfg = load_config(Path(__file__).parent.parent / "config" / "example.toml")
    app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=io.StringIO())})
    thread = app.checkpointer._thread
    assert thread is not None and thread.is_alive()
    app.close()
    assert not thread.is_alive()
