"""A throw-away PostgreSQL 15 cluster for the tests: `initdb` + `pg_ctl` in a temporary
directory, listening only on a Unix socket in that directory, fsync off, stopped at the end.
`Cluster(keep=path)` is a kept one instead (the benchmarks' cached databases): created in `path`
the first time, started again from it later, stopped but never removed.

As root (initdb refuses root) the cluster belongs to the `postgres` system user (or `nobody`),
started through `runuser`. Each test gets a fresh database, copied from a migrated template
(`CREATE DATABASE ... TEMPLATE`), so a test pays for a copy, not for the migrations.
"""

from __future__ import annotations

import hashlib
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


def _reachable_by(user: str, path: Path) -> bool:
    """Whether `user` (not root) can reach `path`: every existing parent searchable by others
    or owned by that user (root's home is usually not)."""
    uid = pwd.getpwnam(user).pw_uid
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return False
    return True


class Cluster:
    def __init__(self, keep: Path | None = None) -> None:
        self.user = _run_as_user() if os.geteuid() == 0 else None
        self.keep = keep is not None
        self._keep_path = keep
        if keep is not None:
            self.dir = _kept_dir(Path(keep), self.user)
        else:
            shm = Path("/dev/shm")  # memory-backed where there is one: copying and removing databases is cheap
            where = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
            _remove_orphans(Path(where or tempfile.gettempdir()))
            self.dir = Path(tempfile.mkdtemp(prefix="yuqing-pg-", dir=where))
            (self.dir / "owner").write_text(str(os.getpid()))
        self.data = self.dir / "data"
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._seq = itertools.count(1)
        self._admin = None
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def exists(self) -> bool:
        """A kept cluster made by an earlier run (its data directory initialised)."""
        return (self.data / "PG_VERSION").exists()

    def start(self) -> None:
        if self.keep and self.exists():
            self._stop_leftover()
        else:
            self._initdb()
        # no autovacuum or JIT: a test's tables live for seconds, and neither is what a test checks
        opts = (
            f"-c listen_addresses='' -k {self.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c autovacuum=off -c jit=off"
        )
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip
        self.started = True
        import psycopg

        self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
        if self.keep:
            return
        self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
        from storage.db import open_db

        open_db(self.url(TEMPLATE)).close()  # migrated once; every test database is a copy

    def _stop_leftover(self) -> None:
        """A kept cluster still running after a killed run: stopped, to be started by this one."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"),
                capture_output=True, cwd=self.dir,
            )  # fmt: skip

    def _initdb(self) -> None:
        subprocess.run(
            self._cmd(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions",
            ),
            check=True, capture_output=True, cwd=self.dir,
        )  # fmt: skip

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
            mode = "fast" if self.keep else "immediate"  # a kept cluster shuts down cleanly
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"),
                capture_output=True, cwd=self.dir,
            )  # fmt: skip
            self.started = False
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def remove(self) -> None:
        """Stop and delete a kept cluster (and the link to it)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._keep_path is not None and self._keep_path.is_symlink():
            self._keep_path.unlink()


def _kept_dir(keep: Path, user: str | None) -> Path:
    """Where a kept cluster lives: `keep` itself, or — when the server runs as another user who
    cannot reach it (root's home) — a directory named after it under /var/tmp/yuqing-pg,
    with `keep` a symlink to it."""
    keep.parent.mkdir(parents=True, exist_ok=True)
    if keep.is_symlink():
        return keep.resolve()
    if user is None or _reachable_by(user, keep):
        keep.mkdir(exist_ok=True)
        return keep
    where = hashlib.sha1(str(keep.absolute()).encode()).hexdigest()[:8]
    real = Path("/var/tmp/yuqing-pg") / f"{keep.name}-{where}"
    real.mkdir(parents=True, exist_ok=True)
    os.chmod(real.parent, 0o755)
    shutil.rmtree(keep, ignore_errors=True)
    keep.symlink_to(real)
    return real
