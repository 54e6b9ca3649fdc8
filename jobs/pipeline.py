"""The pipeline: read a source -> analyse each new post -> store and open or join incidents.

fetch (jobs.collect) -> analyse (jobs.analyse) -> grade + cluster + store + outbox
(core.incidents.IncidentService.ingest) -> search index. A source run's new posts are analysed
in one call on the CPU worker, stored `_STORE_CHUNK` per write transaction (each post as
`IncidentService.ingest` stores it), and then added to the search index from the text the
analysis folded, after every alert of the run is committed (`Pipeline.ingest_many` is the same
path without the loop). One failing source records its error and the others carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlite_utils import Database

from core.clock import from_iso, parse_duration, to_iso
from core.config import Source
from core.incidents import IncidentService, IngestOutcome
from core.logsafe import redact
from core.models import Post
from jobs import offload
from jobs.analyse import Analysis, Analyzer
from jobs.collect import CollectError, fetch_body, host_key, host_lanes, read_source
from jobs.fetch import Fetcher
from jobs.tips import TIP_SOURCE
from storage import posts as post_store
from storage import write_tx

__all__ = ["Pipeline", "SourceRun", "index_off_loop", "index_pending"]

log = logging.getLogger(__name__)

_STORE_CHUNK = 50  # posts per write transaction of a source run (a short hold of the loop)
_INDEX_CHUNK = 50  # posts per write transaction adding a run's posts to the search index (as the background indexer)
# ... and at most about this many characters of index text (FTS5's work in a transaction grows
# with the text, not with the posts): ~50 average inews posts (~3,000 characters of bigrams
# each), ~30 ms of SQLite on the loop; 50 long ones (10,000+ each, one in twenty) took ~100 ms
_INDEX_CHARS = 150_000


def index_slices(rows: list[tuple[int, str, str]], most: int = _INDEX_CHUNK) -> Iterator[list[tuple[int, str, str]]]:
    """Index rows (`post_store.index_now`) in the slices one write transaction adds: at most
    `most` posts and `_INDEX_CHARS` characters of index text (a longer post alone)."""
    start = 0
    while start < len(rows):
        end, size = start, 0
        while end < len(rows) and end - start < most:
            size += len(rows[end][1]) + len(rows[end][2])
            if end > start and size > _INDEX_CHARS:
                break
            end += 1
        yield rows[start:end]
        start = end


def _analyse_all(analyzer: Analyzer, posts: list[Post], source: Source) -> list[Analysis]:
    return [analyzer.analyse(p, source) for p in posts]


def _run_index_rows(stored: list[tuple[int, Post, str]]) -> list[tuple[int, str, str]]:
    """The search index rows of a run's stored posts, from the text their analysis folded."""
    return [post_store.index_now(pid, post.title, post.text, folded or None) for pid, post, folded in stored]


@dataclass
class SourceRun:
    source_id: str
    fetched: int = 0
    not_modified: bool = False
    new_posts: int = 0
    relevant: int = 0
    new_incidents: list[int] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why the run did not fetch (switched off, backing off)


class Pipeline:
    def __init__(self, config, analyzer: Analyzer, service: IncidentService, fetcher: Fetcher | None = None):
        self.config = config
        self.analyzer = analyzer
        self.service = service
        self.fetcher = fetcher
        self.db = service.db
        self._ingesting = asyncio.Lock()
        with write_tx(self.db):
            post_store.sync_sources(self.db, [*config.sources, TIP_SOURCE])

    def _skip_reason(self, source, state: dict, now) -> str | None:
        if state["deactivated"]:
            return "已停用 / switched off after repeated failures"
        if state.get("fetch_after") and now < from_iso(state["fetch_after"]):
            return "按订阅源 ttl 暂不抓取 / the feed's ttl has not passed"
        c = self.config.collection
        failures = state["consecutive_failures"]
        if failures >= c.break_after and state["last_run_at"]:
            wait = min(timedelta(hours=24), source.interval_td * 2 ** (failures - c.break_after + 1))
            if now < from_iso(state["last_run_at"]) + wait:
                return f"退避中 / backing off after {failures} failures"
        return None

    async def run_source(self, source_id: str, *, force: bool = False) -> SourceRun:
        source = self.config.source(source_id)
        run = SourceRun(source_id)
        now = self.service.clock()
        state = post_store.source_state(self.db, source_id)
        if not force:
            run.skipped = self._skip_reason(source, state, now)
            if run.skipped:
                return run
        try:
            read = await read_source(
                source, self.config, self.fetcher, etag=state["etag"], last_modified=state["last_modified"]
            )
        except Exception as e:
            if isinstance(e, CollectError):
                run.error = str(e)
                log.warning("source %s: %s", source_id, e)
            else:  # a bug or a library's surprise: keep the traceback, carry on with the others
                run.error = f"读取失败 / reading failed: {type(e).__name__}: {e}"
                log.exception("source %s: unexpected error while reading", source_id)
            # the reason is shown in chats (/sources, the admins' notice): an API source's key in
            # a URL the reason quotes (…?key=…, access_token=…) is not
            run.error = redact(run.error)
            with write_tx(self.db):
                _, failures = post_store.record_source_run(self.db, source_id, now, error=run.error)
            self._health_after_failure(source, failures, run.error)
            return run
        run.not_modified = read.not_modified
        run.fetched = len(read.posts)
        if read.warning:
            log.warning("source %s: read in part: %s", source_id, redact(read.warning))
        # oldest first, so incidents are numbered in the order stories appeared
        posts = sorted(read.posts, key=lambda p: (p.published_at is None, p.published_at or 0))
        known = post_store.stored_keys(self.db, [p.item_key for p in posts])
        fresh = []
        for post in posts:
            if post.item_key in known:
                continue
            if source.kind == "html" and self.fetcher is not None:
                post = await fetch_body(self.fetcher, source, post, self.config.collection.host_aliases)
            fresh.append(post)
        async with self._ingesting:  # one source's posts together, in order (the fetching above is not held)
            # analysed in one go on the CPU worker; stored a chunk per transaction on the loop, the
            # source's health in the last one (each chunk as it was per post: posts, incidents, outbox)
            analyses = await offload.cpu(_analyse_all, self.analyzer, fresh, source) if fresh else []
            stored: list[tuple[int, Post, str]] = []
            before = 0

            def record_health() -> None:  # in the run's last transaction
                nonlocal before
                before, _ = post_store.record_source_run(
                    self.db,
                    source_id,
                    self.service.clock(),
                    error=None,
                    new_items=run.new_posts,
                    etag=read.etag,
                    last_modified=read.last_modified,
                    warning=redact(read.warning) if read.warning else None,
                )
                if read.ttl_minutes and timedelta(minutes=read.ttl_minutes) > source.interval_td:
                    # the feed asks for fewer visits than our interval would make
                    post_store.set_source_flags(
                        self.db, source_id, fetch_after=to_iso(now + timedelta(minutes=min(read.ttl_minutes, 1440)))
                    )

            for _ in self._store_chunks(fresh, analyses, source, run, stored, last=record_health):
                await asyncio.sleep(0)
            # every alert of the run is committed: now the search index, from the folded texts
            if stored:
                rows = await offload.cpu(_run_index_rows, stored)
                for _ in self._index_chunks(rows):
                    await asyncio.sleep(0)
        if before >= self.config.collection.break_after:
            self.service.notify_admins(source.team, f"✅ 来源「{source.name}」已恢复（此前连续失败 {before} 次）")
        self._check_silence(source, now)
        log.info(
            "source %s: %d fetched%s, %d new, %d relevant, %d new incidents",
            source_id,
            run.fetched,
            " (not modified)" if run.not_modified else "",
            run.new_posts,
            run.relevant,
            len(run.new_incidents),
        )
        return run

    def record_crash(self, source_id: str, e: Exception) -> SourceRun:
        """A run that failed outside reading (storing, analysing): recorded in the source's
        health like any other failure, as far as the database still allows."""
        error = redact(f"处理失败 / run failed: {type(e).__name__}: {e}")
        run = SourceRun(source_id, error=error)
        try:
            with write_tx(self.db):
                _, failures = post_store.record_source_run(self.db, source_id, self.service.clock(), error=error)
            self._health_after_failure(self.config.source(source_id), failures, error)
        except Exception:
            log.exception("source %s: could not record the failure", source_id)
        return run

    def _health_after_failure(self, source, failures: int, error: str) -> None:
        c = self.config.collection
        if failures == c.break_after:
            self.service.notify_admins(source.team, f"⚠️ 来源「{source.name}」连续 {failures} 次抓取失败：{error}")
        if failures >= c.deactivate_after:
            with write_tx(self.db):
                if post_store.source_state(self.db, source.id)["deactivated"]:
                    return  # already switched off (a forced run failed again): told once
                post_store.set_source_flags(self.db, source.id, deactivated=1)
            self.service.notify_admins(
                source.team,
                f"⛔ 来源「{source.name}」连续 {failures} 次失败，已停用。"
                f"修复后发送 /sources 查看状态，重启即恢复抓取。",
            )

    def _check_silence(self, source, now) -> None:
        state = post_store.source_state(self.db, source.id)
        if not state["silent_reported"]:
            last_day, daily, history = post_store.source_volume(self.db, source.id, now)
            if history >= 7 and daily >= 5 and last_day < 0.2 * daily:
                with write_tx(self.db):
                    post_store.set_source_flags(self.db, source.id, silent_reported=1)
                self.service.notify_admins(
                    source.team,
                    f"📉 来源「{source.name}」近 24 小时只有 {last_day} 条，"
                    f"平时日均 {daily:.0f} 条，请检查页面是否改版或被屏蔽。",
                )
                return
        if not source.expected_period:
            return
        since = from_iso(state["last_new_at"]) or from_iso(state["last_ok_at"])
        period = parse_duration(source.expected_period)
        if since and now - since > period and not state["silent_reported"]:
            with write_tx(self.db):
                post_store.set_source_flags(self.db, source.id, silent_reported=1)
            hours = (now - since).total_seconds() / 3600
            self.service.notify_admins(
                source.team,
                f"🔇 来源「{source.name}」已 {hours:.0f} 小时没有新内容"
                f"（应在 {source.expected_period} 内更新），请检查页面是否改版。",
            )

    async def ingest_off_loop(self, post: Post, source: Source, run: SourceRun | None = None) -> IngestOutcome:
        """`ingest` for the running bot: the analysis (jieba, rules) on the CPU worker, then the
        storage on the loop in one short transaction, then a turn for everything else."""
        analysis = await offload.cpu(self.analyzer.analyse, post, source)
        out = self._store(post, source, analysis, run)
        await asyncio.sleep(0)
        return out

    def ingest(self, post: Post, source: Source, run: SourceRun | None = None) -> IngestOutcome:
        """Analyse and store one post (`IncidentService.ingest`), counted in `run` when given."""
        return self._store(post, source, self.analyzer.analyse(post, source), run)

    def ingest_many(self, posts: list[Post], source: Source, run: SourceRun | None = None) -> list[IngestOutcome]:
        """What `run_source` does with a run's new posts, in order, without the loop: analyse
        them all, store `_STORE_CHUNK` per write transaction, then add them to the search index
        (`_INDEX_CHUNK` per transaction) from the text the analysis folded."""
        analyses = _analyse_all(self.analyzer, posts, source)
        stored: list[tuple[int, Post, str]] = []
        outs = [out for chunk in self._store_chunks(posts, analyses, source, run, stored) for out in chunk]
        for _ in self._index_chunks(_run_index_rows(stored)):
            pass
        return outs

    def _store_chunks(
        self,
        posts: list[Post],
        analyses: list[Analysis],
        source: Source,
        run: SourceRun | None,
        stored: list[tuple[int, Post, str]],
        *,
        last: Callable[[], None] | None = None,
    ) -> Iterator[list[IngestOutcome]]:
        """Store a run's posts `_STORE_CHUNK` per write transaction (`_store_chunk`), yielding each
        chunk's outcomes once it is committed (a turn for everything else); `last` runs inside the
        last chunk's transaction (a run without new posts has one, empty)."""
        for start in range(0, max(1, len(posts)), _STORE_CHUNK):
            with write_tx(self.db):
                outs = self._store_chunk(
                    posts[start : start + _STORE_CHUNK], analyses[start : start + _STORE_CHUNK], source, run, stored
                )
                if last is not None and start + _STORE_CHUNK >= len(posts):
                    last()
            yield outs

    def _index_chunks(self, rows: list[tuple[int, str, str]]) -> Iterator[None]:
        """Add a run's index rows a slice (`index_slices`) per write transaction, yielding after each."""
        for part in index_slices(rows):
            with write_tx(self.db):
                post_store.set_indexed(self.db, part)
            yield

    def _store_chunk(
        self,
        posts: list[Post],
        analyses: list[Analysis],
        source: Source,
        run: SourceRun | None,
        stored: list[tuple[int, Post, str]],
    ) -> list[IngestOutcome]:
        """Store posts with their analyses (inside the caller's transaction), none of them
        indexed yet: each stored one is added to `stored` (post id, post, folded text) for the
        search index after the run."""
        outs = []
        for post, analysis in zip(posts, analyses, strict=True):
            out = self._store(post, source, analysis, run, index=False)
            if out.post_id is not None:
                stored.append((out.post_id, post, analysis.text))
            outs.append(out)
        return outs

    def _store(self, post, source, analysis, run: SourceRun | None, *, index: bool = True):
        # Posts that were segmented for analysis are indexed at once (`index`; a source run
        # indexes all its posts after storing them); the rest (no watch-list hit) wait for the
        # background indexer, so segmentation stays off the alert path.
        out = self.service.ingest(post, analysis, source, analysis.seg if index else None)
        if run is not None and out.post_id is not None:
            run.new_posts += 1
            run.relevant += int(analysis.finding.relevant)
            if out.created and out.incident_id is not None:
                run.new_incidents.append(out.incident_id)
        return out

    async def run_all(self, concurrency: int | None = None) -> list[SourceRun]:
        """One cycle over every enabled source, in config order in the result.

        One lane per host (`jobs.collect.host_lanes`), all hosts at once: a lane has its
        fetches' worth of runs in flight plus one, so the next source of a host is already
        waiting for the host's politeness interval (kept by the fetcher) while the previous
        one's posts are analysed and stored, and the next fetch starts when the interval ends.
        `concurrency` caps the runs in flight over all hosts (None: the lanes only)."""
        cap = asyncio.Semaphore(concurrency) if concurrency else None
        sources = [s for s in self.config.sources if s.enabled]
        per_host = self.config.collection.per_host
        lanes = {key: asyncio.Semaphore(per_host + 1) for key in host_lanes(sources)}

        async def one(source) -> SourceRun:
            async with lanes[host_key(source)], cap or contextlib.nullcontext():
                try:
                    return await self.run_source(source.id)
                except Exception as e:
                    log.exception("source %s: run failed", source.id)
                    return self.record_crash(source.id, e)

        return list(await asyncio.gather(*(one(s) for s in sources)))


def _index_rows(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    return [post_store.index_now(*r) for r in rows]


async def index_off_loop(db: Database, limit: int | None = None, batch: int = 200) -> int:
    """Add up to `limit` queued posts to the search index (all of them when None): folding and
    bigrams on the CPU worker, short writes on the loop (`index_slices`). Returns how many are still
    waiting. The index needs no jieba (core.search)."""
    done = 0
    while limit is None or done < limit:
        rows = post_store.unindexed(db, batch if limit is None else min(batch, limit - done))
        if not rows:
            break
        prepared = await offload.cpu(_index_rows, rows)
        for i, part in enumerate(index_slices(prepared, len(prepared))):
            if i:
                await asyncio.sleep(0)  # a turn for everything else between two writes
            with write_tx(db):
                post_store.set_indexed(db, part)
        done += len(rows)
    return post_store.unindexed_count(db)


def index_pending(db: Database, batch: int = 500, max_batches: int | None = None) -> int:
    """Add queued posts to the search index, a batch per transaction. Returns how many."""
    done = 0
    n = 0
    while max_batches is None or n < max_batches:
        rows = post_store.unindexed(db, batch)
        if not rows:
            break
        prepared = [post_store.index_now(*r) for r in rows]
        with write_tx(db):
            post_store.set_indexed(db, prepared)
        done += len(rows)
        n += 1
    return done
