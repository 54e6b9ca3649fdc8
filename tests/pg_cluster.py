"""A throw-away PostgreSQL 15 cluster for the tests: `initdb` + `pg_ctl` in a temporary
directory, listening only on a Unix socket in that directory, fsync off, stopped at the end.

As root (initdb refuses root) the cluster belongs to the `postgres` system user (or `nobody`),
started through `runuser`. Each test gets a fresh database, copied from a migrated template
(`CREATE DATABASE ... TEMPLATE`), so a test pays for a copy, not for the migrations.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PG_BIN", "Cluster", "unavailable_reason"]

PG_BIN = Path(os.environ.get("YUQING_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "yuqing_template"


def unavailable_reason() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can)."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'yuqing-bot[pg]')"
    if os.geteuid() == 0 and not _run_as_user():
        return "running as root and neither the postgres nor the nobody user exists for initdb"
    return None


def _run_as_user() -> str | None:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(parent: Path) -> None:
    """Clusters left by a test process that was killed (its `owner` pid is gone): stopped, removed."""
    for d in parent.glob("yuqing-pg-*"):
        try:
            owner = int((d / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        pid_file = d / "data" / "postmaster.pid"
        try:
            os.kill(int(pid_file.read_text().split()[0]), 9)
        except (OSError, ValueError, IndexError):
            pass
        shutil.rmtree(d, ignore_errors=True)


class Cluster:
    def __init__(self) -> None:
        shm = Path("/dev/shm")  # memory-backed where there is one: copying and removing databases is cheap
        where = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        _remove_orphans(Path(where or tempfile.gettempdir()))
        self.dir = Path(tempfile.mkdtemp(prefix="yuqing-pg-", dir=where))
        (self.dir / "owner").write_text(str(os.getpid()))
        self.data = self.dir / "data"
        self.user = _run_as_user() if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._seq = itertools.count(1)
        self._admin = None
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def start(self) -> None:
        subprocess.run(
            self._cmd(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions",
            ),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip
        opts = f"-c listen_addresses='' -k {self.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip
        self.started = True
        import psycopg

        self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
        self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
        from storage.db import open_db

        open_db(self.url(TEMPLATE)).close()  # migrated once; every test database is a copy

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@/{dbname}?host={self.dir}"

    def new_database(self) -> str:
        """A fresh, migrated database; its URL."""
        name = f"t{os.getpid()}_{next(self._seq)}"
        assert self._admin is not None
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Remove a test's database (its connections are cut: the test is over)."""
        assert self._admin is not None
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        try:
            self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # a leftover database goes with the cluster
            pass

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self.started:
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True, cwd=self.dir,
            )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)
