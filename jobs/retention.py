"""Retention (issue 16.4): prune old raw posts in bounded batches, archiving them first.

`prune` is the one driver, for the daily job of the bot (bot.app) and `yuqing prune`: per
batch, a short read of the oldest prunable posts (storage.retention.prunable), then on the
CPU worker the search values to forget (core.search.index_text, what the row was made of)
and the archive append (gzipped JSON lines, one file per month of fetch, written and synced
before anything is deleted), then one short write transaction; the loop gets a turn between
batches. Then the pruned keys older than `KEY_FACTOR` windows are dropped, a batch at a time.

An archived post whose deletion did not happen (a crash, a post linked meanwhile) may be
archived again by a later run: the archive holds every pruned post at least once.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from core.config import MAX_RETENTION_DAYS
from jobs import offload
from storage import retention as store
from storage.db import write_tx
from storage.posts import index_now

__all__ = ["BATCH", "PruneReport", "archive_path", "cutoffs", "prune"]

# Posts per transaction, as the background indexer's batch: the FTS5 deletes and the posts'
# index entries of 50 posts hold the writer (and the loop) for ~10 ms on the year database.
BATCH = 50


@dataclass
class PruneReport:
    """What a prune removed (or, with `dry_run`, would remove)."""

    days: int
    cutoff: datetime  # posts fetched before this go
    keys_cutoff: datetime  # pruned keys of posts fetched before this go
    dry_run: bool
    by_month: dict[str, int] = field(default_factory=dict)  # posts per month of fetch (YYYY-MM, UTC)
    waiting: int = 0  # old posts still queued for the search indexer: pruned by a later run (dry run only)
    keys_expired: int = 0
    batches: list[int] = field(default_factory=list)  # posts pruned per transaction
    archive_files: list[Path] = field(default_factory=list)

    @property
    def posts(self) -> int:
        return sum(self.by_month.values())

    def lines(self) -> list[str]:
        """The summary `yuqing prune` prints (bilingual) and the job logs."""
        verb = "将删除 would prune" if self.dry_run else "已删除 pruned"
        out = [
            f"保留期 retention: {self.days} 天 days；{self.cutoff:%Y-%m-%d %H:%M} UTC 之前抓取、"
            f"未关联事件的帖文 / posts fetched before then that belong to no incident"
        ]
        out += [f"  {month}: {n:,} 条 posts" for month, n in sorted(self.by_month.items())]
        out.append(f"{verb}: {self.posts:,} 条帖文 posts（含搜索索引 with their search rows）")
        if self.waiting:
            out.append(f"  另有 {self.waiting:,} 条待建索引，建好后再删 / {self.waiting:,} wait for the search indexer")
        out.append(
            f"{'将过期' if self.dry_run else '已过期'} expired: {self.keys_expired:,} 个去重记录 pruned keys"
            f"（{self.keys_cutoff:%Y-%m-%d} 之前 / fetched before）"
        )
        if self.archive_files:
            out.append("归档 archive: " + ", ".join(str(p) for p in self.archive_files))
        return out


def cutoffs(now: datetime, days: int) -> tuple[datetime, datetime]:
    """(posts fetched before this are pruned, pruned keys fetched before this are dropped)."""
    return now - timedelta(days=days), now - timedelta(days=days * store.KEY_FACTOR)


def archive_path(archive_dir: str | None, data_dir: Path) -> Path | None:
    """`[retention] archive_dir` as a folder: a relative one is inside the data folder."""
    if not archive_dir:
        return None
    p = Path(archive_dir)
    return p if p.is_absolute() else data_dir / p


def _prepare(rows: list[dict], archive_dir: Path | None) -> tuple[list[store.Doomed], list[Path]]:
    """CPU and files, no database (runs on the CPU worker): the search values of each post and
    the archive append (synced to disk before the caller deletes anything)."""
    files = _archive(rows, archive_dir) if archive_dir is not None else []
    prepared = []
    for r in rows:
        _, title, body = index_now(r["id"], r["title"], r["text"])
        prepared.append(store.Doomed(r["id"], r["source_id"], r["item_key"], r["fetched_at"], title, body))
    return prepared, files


def _archive(rows: list[dict], folder: Path) -> list[Path]:
    """Append `rows` as JSON lines to `posts-YYYY-MM.jsonl.gz` by month of fetch: one gzip member
    per file and batch (gzip readers read concatenated members as one stream), written at once."""
    folder.mkdir(parents=True, exist_ok=True)
    months: dict[str, list[str]] = {}
    for r in rows:
        line = dict(r)
        try:
            line["matched"] = json.loads(line["matched"]) if line.get("matched") else None
        except ValueError:
            pass  # kept as the text it was
        months.setdefault(str(r["fetched_at"])[:7], []).append(json.dumps(line, ensure_ascii=False))
    files = []
    for month, lines in sorted(months.items()):
        path = folder / f"posts-{month}.jsonl.gz"
        data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
        with open(path, "ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        files.append(path)
    return files


async def prune(
    db: Database,
    now: datetime,
    days: int,
    *,
    archive_dir: Path | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    max_batches: int | None = None,
) -> PruneReport:
    """Prune raw posts fetched more than `days` before `now` that belong to no incident (their
    search rows too; their keys kept, see storage.retention), archiving them first when
    `archive_dir` is given; then drop pruned keys older than `KEY_FACTOR` × `days`. Each batch
    of at most `batch` posts is one transaction, and the loop gets a turn between batches;
    `max_batches` stops early (the rest is left to the next run).

    :raises ValueError: for `days` < 1 (0 means "keep for ever": there is nothing to prune)
        or beyond `MAX_RETENTION_DAYS` (the cutoffs would fall before year 1).
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if days > MAX_RETENTION_DAYS:
        raise ValueError(f"days must be at most {MAX_RETENTION_DAYS}, not {days}")
    cutoff, keys_cutoff = cutoffs(now, days)
    report = PruneReport(days, cutoff, keys_cutoff, dry_run)
    if dry_run:
        planned = store.prunable_by_month(db, cutoff)
        report.by_month = {m: ready for m, (ready, _) in planned.items() if ready}
        report.waiting = sum(w for _, w in planned.values())
        report.keys_expired = store.expired_keys(db, keys_cutoff)
        return report
    months: Counter[str] = Counter()
    files: dict[Path, None] = {}
    after: tuple[str, int] | None = None
    while max_batches is None or len(report.batches) < max_batches:
        rows = store.prunable(db, cutoff, batch, after)
        if not rows:
            break
        after = (rows[-1]["fetched_at"], rows[-1]["id"])
        prepared, written = await offload.cpu(_prepare, rows, archive_dir)
        files.update(dict.fromkeys(written))
        with write_tx(db):
            ids = set(store.delete_batch(db, prepared))
        report.batches.append(len(ids))
        months.update(str(r["fetched_at"])[:7] for r in rows if r["id"] in ids)
        await asyncio.sleep(0)
    while True:
        with write_tx(db):
            n = store.expire_keys(db, keys_cutoff, batch)
        report.keys_expired += n
        if n < batch:
            break
        await asyncio.sleep(0)
    report.by_month = dict(months)
    report.archive_files = list(files)
    return report
