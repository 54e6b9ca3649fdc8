"""The pipeline: read a source -> analyse each new post -> store and open or join incidents.

fetch (jobs.collect) -> analyse (jobs.analyse) -> grade + cluster + store + outbox
(core.incidents.IncidentService.ingest, one transaction per post). One failing source
records its error and the others carry on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from core.incidents import IncidentService
from jobs.analyse import Analyzer
from jobs.collect import CollectError, read_source
from storage import posts as post_store
from storage import write_tx

__all__ = ["Pipeline", "SourceRun", "index_pending"]

log = logging.getLogger(__name__)


@dataclass
class SourceRun:
    source_id: str
    fetched: int = 0
    new_posts: int = 0
    relevant: int = 0
    new_incidents: list[int] = field(default_factory=list)
    error: str | None = None


class Pipeline:
    def __init__(self, config, analyzer: Analyzer, service: IncidentService, client: httpx.AsyncClient | None = None):
        self.config = config
        self.analyzer = analyzer
        self.service = service
        self.client = client
        self.db = service.db
        with write_tx(self.db):
            post_store.sync_sources(self.db, config.sources)

    async def run_source(self, source_id: str) -> SourceRun:
        source = self.config.source(source_id)
        run = SourceRun(source_id)
        try:
            posts = await read_source(source, self.config, self.client)
        except CollectError as e:
            run.error = str(e)
            log.warning("source %s: %s", source_id, e)
            with write_tx(self.db):
                post_store.record_source_run(self.db, source_id, self.service.clock(), error=run.error)
            return run
        run.fetched = len(posts)
        # oldest first, so incidents are numbered in the order stories appeared
        posts.sort(key=lambda p: (p.published_at is None, p.published_at or 0))
        for post in posts:
            if post_store.post_exists(self.db, post.item_key):
                continue
            self.ingest(post, source, run)
        with write_tx(self.db):
            post_store.record_source_run(self.db, source_id, self.service.clock(), error=None, new_items=run.new_posts)
        log.info("source %s: %d fetched, %d new, %d relevant, %d new incidents",
                 source_id, run.fetched, run.new_posts, run.relevant, len(run.new_incidents))
        return run

    def ingest(self, post, source, run: SourceRun | None = None):
        analysis = self.analyzer.analyse(post, source)
        # Posts that were segmented for analysis are indexed at once; the rest (no watch-list
        # hit) wait for the background indexer, so segmentation stays off the alert path.
        seg = " ".join(analysis.finding.tokens) if analysis.finding.tokens else None
        out = self.service.ingest(post, analysis, source, seg)
        if run is not None and out.post_id is not None:
            run.new_posts += 1
            run.relevant += int(analysis.finding.relevant)
            if out.created:
                run.new_incidents.append(out.incident_id)
        return out

    async def run_all(self) -> list[SourceRun]:
        runs = []
        for s in self.config.sources:
            if s.enabled:
                runs.append(await self.run_source(s.id))
        return runs


def index_pending(db, segmenter, batch: int = 200, max_batches: int | None = None) -> int:
    """Segment queued posts for full-text search, a batch per transaction. Returns how many."""
    done = 0
    n = 0
    while max_batches is None or n < max_batches:
        rows = post_store.unindexed(db, batch)
        if not rows:
            break
        segmented = [(pid, segmenter.seg(text)) for pid, text in rows]
        with write_tx(db):
            post_store.set_segmented(db, segmented)
        done += len(rows)
        n += 1
    return done
