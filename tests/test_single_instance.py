"""One running bot per database: a second `yuqing run` is refused at once naming the holder,
a holder killed with SIGKILL is taken over, and processes opening a fresh database together
all migrate it safely."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import SCHEMA_MIGRATIONS, open_db

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))},
        "YUQING_DATA_DIR": str(tmp_path / "data"),
    }


def _cmd(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "run", "--platform", "console", "--db", str(db), "--no-collect", *extra]


def _holder(lock: Path) -> dict:
    try:
        text = lock.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}


def _start_first(tmp_path: Path, db: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        _cmd(db),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(tmp_path),
    )
    lock = Path(f"{db}.lock")
    deadline = time.monotonic() + 60
    while _holder(lock).get("pid") != proc.pid:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first bot never took the lock"
        time.sleep(0.05)
    # and it has opened (and migrated) the database
    while not db.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


@pytest.mark.timeout(180)  # several real processes on a shared, busy machine
def test_a_second_run_is_refused_at_once_naming_the_holder_and_a_killed_holder_is_taken_over(tmp_path):
    db = tmp_path / "one.db"
    first = _start_first(tmp_path, db)
    try:
        started = time.monotonic()
        second = subprocess.run(
            _cmd(db), input="/list\n", capture_output=True, text=True, timeout=60, cwd=ROOT, env=_env(tmp_path)
        )
        took = time.monotonic() - started
        assert second.returncode == 2, (second.stdout, second.stderr)
        assert took < 20  # refused at start-up, no waiting for the lock (most of this is Python importing)
        err = second.stderr
        assert "Traceback" not in err
        assert "另一个机器人正在使用这个数据库" in err and "another bot is running on this database" in err
        assert f"进程 {first.pid}" in err and f"pid {first.pid}" in err and socket.gethostname() in err
        assert "since 20" in err and "启动于 20" in err
        assert "王敏>" not in second.stdout  # it served nothing
        assert first.poll() is None  # the holder is untouched

        # the holder dies without a chance to clean up
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert _holder(Path(f"{db}.lock")).get("pid") == first.pid  # its note is still there: stale
        third = subprocess.run(
            _cmd(db), input="/list\n", capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env(tmp_path)
        )
        assert third.returncode == 0, third.stderr
        assert "/list" in third.stdout
        log = (tmp_path / "data" / "yuqing.log").read_text(encoding="utf-8")
        assert f"pid {first.pid}" in log and "did not stop cleanly; taking over" in log
        assert _holder(Path(f"{db}.lock")) == {}  # a clean stop leaves no holder behind
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()


@pytest.mark.timeout(180)  # several real processes on a shared, busy machine
def test_a_bot_that_stopped_cleanly_leaves_the_database_free(tmp_path):
    db = tmp_path / "two.db"
    for _ in range(2):
        r = subprocess.run(
            _cmd(db), input="/list\n", capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env(tmp_path)
        )
        assert r.returncode == 0, r.stderr
    log = (tmp_path / "data" / "yuqing.log").read_text(encoding="utf-8")
    assert "taking over" not in log


@pytest.mark.timeout(180)  # several real processes on a shared, busy machine
def test_other_commands_run_beside_a_live_bot(tmp_path):
    db = tmp_path / "three.db"
    first = _start_first(tmp_path, db)
    try:
        for args in (
            ["report"],
            ["scrape", "--once"],
            [
                "export",
                "casebook",
                "--from",
                "2020-01-01",
                "--to",
                "2030-12-31",
                "--format",
                "md",
                "-o",
                str(tmp_path / "casebook.md"),
            ],
        ):
            r = subprocess.run(
                [sys.executable, "-m", "bot.cli", *args, "--db", str(db)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
                env=_env(tmp_path),
            )
            assert r.returncode == 0, (args, r.stderr)
            assert "另一个机器人" not in r.stderr
            assert first.poll() is None
        assert (tmp_path / "casebook.md").exists()
        check = open_db(db)
        assert check.execute("SELECT COUNT(*) FROM posts").fetchone()[0] > 0  # scrape wrote beside the live bot
        check.close()
        first.communicate(input="", timeout=60)  # end of console input: the bot stops
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0


def _open(path: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=60)
        db = open_db(path)
        applied = [m.name for m in SCHEMA_MIGRATIONS.applied(db)]
        db.close()
        results.put(("ok", applied))
    except BaseException as e:
        results.put(("error", f"{type(e).__name__}: {e}"))


@pytest.mark.timeout(180)  # several real processes on a shared, busy machine
def test_processes_opening_a_fresh_database_together_all_migrate_it(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n, rounds = 4, 3
    expected = [m.name for m in SCHEMA_MIGRATIONS._migrations]
    for i in range(rounds):
        path = str(tmp_path / f"race{i}.db")
        barrier, results = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, barrier, results)) for _ in range(n)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [o for o in outcomes if o[0] != "ok"] == []
        assert all(o[1] == expected for o in outcomes)
        db = open_db(path)
        names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
        assert sorted(names) == sorted(expected)  # each applied once
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
