"""One running bot per database.

`yuqing run` holds an OS lock (``flock``) on ``<db>.lock`` for as long as it runs, and writes
who it is into that file (pid, host, since). A second `yuqing run` on the same database is
refused at once with a message naming the holder. The kernel releases the lock when its holder
dies, also by SIGKILL, so a stale holder never blocks a restart: the next `run` takes over and
says so in the log. `scrape --once`, `report`, `export` and `backtest` do not take this lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from core.errors import FieldProblem, StartupError

__all__ = ["BotLock", "InstanceLocked", "acquire_bot_lock", "lock_path"]

log = logging.getLogger(__name__)


class InstanceLocked(StartupError):
    title_zh = "另一个机器人正在使用这个数据库"
    title_en = "another bot is running on this database"


def lock_path(db: Path | str) -> Path:
    """`<db file>.lock`; for a PostgreSQL URL a file in the temp directory named after the URL
    (one bot per database on this host; across hosts see "Scaling out" in the README)."""
    if isinstance(db, str) and "://" in db:
        import hashlib
        import tempfile

        return Path(tempfile.gettempdir()) / f"yuqing-{hashlib.sha256(db.encode()).hexdigest()[:16]}.lock"
    return Path(f"{db}.lock")


def _read(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 4096):
        raw += chunk
    try:
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _describe(info: dict) -> str:
    return f"pid {info.get('pid', '?')} @ {info.get('host', '?')}, since {info.get('since', '?')}"


class BotLock:
    """The held lock; `release()` (or process exit) lets the next bot in."""

    def __init__(self, path: Path, fd: int, info: dict, took_over: dict | None = None):
        self.path, self.info = path, info
        self._fd: int | None = fd
        self.took_over = took_over  # what a holder that did not stop cleanly had written, if any

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty file: the last holder stopped cleanly
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BotLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire_bot_lock(db: Path | str) -> BotLock:
    """Take the bot lock of database `db`, or raise `InstanceLocked` naming the holder.

    :raises InstanceLocked: another live process holds it (refused at once, no waiting).
    """
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        holder = _read(fd)
        os.close(fd)
        log.info("refused to start: database %s is held by another bot (%s)", db, _describe(holder))
        raise InstanceLocked(
            str(db),
            [
                FieldProblem(
                    str(path),
                    f"数据库已被另一个正在运行的机器人占用（进程 {holder.get('pid', '?')}，主机 {holder.get('host', '?')}，"
                    f"启动于 {holder.get('since', '?')}）；同一数据库只能运行一个 yuqing run。请先停止它，"
                    f"或使用另一个 --db。scrape --once、report、export、backtest 可以与它同时运行。",
                    f"the database is in use by a running bot ({_describe(holder)}); only one `yuqing run` per "
                    f"database. Stop it first or use another --db. scrape --once, report, export and backtest "
                    f"may run beside it.",
                )
            ],
        ) from exc
    except BaseException:
        os.close(fd)
        raise
    previous = _read(fd)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    os.fsync(fd)
    if previous:
        log.warning("the previous bot on this database (%s) did not stop cleanly; taking over", _describe(previous))
    return BotLock(path, fd, info, previous or None)
