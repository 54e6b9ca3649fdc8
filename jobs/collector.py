"""A collector: claims due sources from the database, reads them, gives them back.

Several collectors (`yuqing collect`, on one or several machines) share the sources of one
database without talking to each other (storage.coord):

    claim (due sources, lease free or run out, host free)  ->  Pipeline.run_source each
        ->  release (next due = start of the run + its interval; host free, not before
            the minimum interval)

* one source is read once per interval, whatever the number of collectors: it is leased while
  it is read and due again only an interval after its run started;
* one host is read by one collector at a time (its sources go to whoever holds it), and the
  minimum interval between two requests to it holds across collectors: a released host is
  not claimed again before `next_fetch_at`; inside a collector the fetcher keeps it (jobs.fetch);
* a heartbeat renews the collector's leases every third of the TTL; a collector that dies
  (SIGKILL, a lost machine) stops renewing and its sources and hosts go to the others once
  the TTL has run out. A source it had read but not yet recorded is read again then (its
  posts are not stored twice: `item_key` is unique).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from core.clock import Clock, system_clock
from jobs.collect import host_key
from jobs.pipeline import Pipeline, SourceRun
from storage import coord, write_tx

__all__ = ["DEFAULT_TTL", "Collector", "default_worker_id"]

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=30)
UNKNOWN_SOURCE_WAIT = timedelta(hours=1)  # a source another collector's config has and ours has not


def default_worker_id() -> str:
    """host:pid, unique among running collectors."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Collector:
    """The claim -> run -> release loop of one collector process.

    Example::

        collector = Collector(pipeline, owner="c1", concurrency=8)
        await collector.run(once=True)   # until nothing is due, then return
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        owner: str | None = None,
        concurrency: int = 4,
        ttl: timedelta = DEFAULT_TTL,
        poll: float = 1.0,
        clock: Clock = system_clock,
        per_host: int | None = None,
    ):
        self.pipeline = pipeline
        self.db = pipeline.db
        self.config = pipeline.config
        self.owner = owner or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.ttl = ttl
        self.poll = poll
        self.clock = clock
        c = self.config.collection
        # a lane's worth of one host's sources per claim: the next waits for the host's interval
        self.per_host = per_host or c.per_host + 1
        self._running: dict[str, asyncio.Task] = {}
        self._host_busy: dict[str, int] = {}
        self._done = asyncio.Event()
        self._stopping = asyncio.Event()
        self.runs: list[SourceRun] = []  # kept for `run(once=True)` only
        self.runs_made = 0
        self._keep_runs = False
        self.on_run: Callable[[SourceRun], None] | None = None

    # ---------------------------------------------------------------- the loop
    async def run(self, *, once: bool = False) -> list[SourceRun]:
        """Claim and read sources until `stop()` (or, `once`, until nothing is due and nothing
        is running). Returns the runs made when `once` (a long-running collector keeps none)."""
        self._keep_runs = once
        hosts = {s.id: host_key(s) for s in self.config.sources if s.enabled}
        with write_tx(self.db):
            coord.set_source_hosts(self.db, hosts)
            stale = coord.release_all(self.db, self.owner)
        if stale:
            log.warning(
                "collector %s: %d source lease(s) left under this name by its previous run freed", self.owner, stale
            )
        log.info(
            "collector %s started (%d sources configured, concurrency %d)", self.owner, len(hosts), self.concurrency
        )
        beat = asyncio.create_task(self._heartbeat(), name=f"heartbeat:{self.owner}")
        try:
            while not self._stopping.is_set():
                try:
                    started = self.claim_and_start()
                except Exception:  # the database busy or away, a deadlock victim: try again later
                    log.exception("collector %s: claiming failed", self.owner)
                    started = -1
                if once and started == 0 and not self._running and not coord.anything_due(self.db, self.clock()):
                    break  # sources waiting only for a host's interval are still read
                if started > 0 and len(self._running) < self.concurrency:
                    continue  # more may be due right now
                self._done.clear()
                waits = [asyncio.ensure_future(self._done.wait()), asyncio.ensure_future(self._stopping.wait())]
                await asyncio.wait(waits, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
        finally:
            tasks = list(self._running.values())
            if self._stopping.is_set():
                for t in tasks:
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            try:  # a clean stop: whatever is still leased here goes to the others at once
                with write_tx(self.db):
                    coord.release_all(self.db, self.owner)
            except Exception:
                log.exception("collector %s: could not give its leases back; they run out by themselves", self.owner)
            log.info("collector %s stopped after %d runs", self.owner, self.runs_made)
        return self.runs

    def stop(self) -> None:
        """Stop claiming; runs in flight are cancelled and their sources given back as due."""
        self._stopping.set()

    def claim_and_start(self) -> int:
        """Claim what is due for the free slots and start a task per source; returns how many."""
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        now = self.clock()
        if not coord.anything_due(self.db, now):
            return 0
        full = [h for h, n in self._host_busy.items() if n >= self.per_host]  # its lane is full here
        with write_tx(self.db):
            claims = coord.claim_sources(
                self.db, self.owner, now, ttl=self.ttl, limit=free, per_host=self.per_host, skip_hosts=full
            )
        for claim in claims:
            if claim.taken_from:
                log.info(
                    "collector %s took source %s over from %s (its lease ran out)",
                    self.owner,
                    claim.source_id,
                    claim.taken_from,
                )
            self._host_busy[claim.host] = self._host_busy.get(claim.host, 0) + 1
            task = asyncio.create_task(self._run_one(claim, now), name=f"collect:{claim.source_id}")
            self._running[claim.source_id] = task
        return len(claims)

    async def _run_one(self, claim: coord.Claim, started: datetime) -> None:
        source = self.config.source(claim.source_id)
        next_due = started + (source.interval_td if source is not None else UNKNOWN_SOURCE_WAIT)
        try:
            if source is None or not source.enabled:
                log.warning(
                    "collector %s: source %s is not in this collector's configuration", self.owner, claim.source_id
                )
                return
            try:
                run = await self.pipeline.run_source(claim.source_id)
            except Exception as e:
                log.exception("source %s: run failed", claim.source_id)
                run = self.pipeline.record_crash(claim.source_id, e)
            self.runs_made += 1
            if self._keep_runs:
                self.runs.append(run)
            if self.on_run is not None:
                self.on_run(run)
        except asyncio.CancelledError:
            next_due = started  # cut off: due again at once, for whoever claims it
            raise
        finally:
            self._running.pop(claim.source_id, None)
            self._release(claim, next_due)
            self._done.set()

    def _release(self, claim: coord.Claim, next_due: datetime) -> None:
        self._host_busy[claim.host] -= 1
        last_of_host = self._host_busy[claim.host] == 0
        if last_of_host:
            del self._host_busy[claim.host]
        c = self.config.collection
        now = self.clock()
        try:
            with write_tx(self.db):
                if not coord.release_source(self.db, claim.source_id, self.owner, next_due=next_due):
                    log.warning("collector %s: the lease on %s had run out and was taken", self.owner, claim.source_id)
                if last_of_host:
                    gap = timedelta(seconds=c.min_interval + random.uniform(0, c.jitter))
                    coord.release_host(self.db, claim.host, self.owner, next_fetch=now + gap)
        except Exception:  # the lease runs out by itself; the source is read again then
            log.exception("collector %s: could not give back source %s", self.owner, claim.source_id)

    async def _heartbeat(self) -> None:
        every = self.ttl.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                with write_tx(self.db):
                    coord.renew(
                        self.db,
                        self.owner,
                        self.clock(),
                        self.ttl,
                        sources=list(self._running),
                        hosts=list(self._host_busy),
                    )
            except Exception:
                log.exception("collector %s: heartbeat failed", self.owner)
