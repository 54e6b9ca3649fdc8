"""The scheduled jobs, run the way APScheduler runs them: `app.start()` registers them, and a
test calls a registered job's function with its arguments (`scheduler.get_job(id)`), then
looks at the chats and the database."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import HIGH, LOW, seed


@pytest.fixture
async def started(make_app):
    h = make_app(settings_kw={"collect_on_start": False, "deliver_interval": 3600})
    await h.app.start()
    yield h
    await h.app.stop()


async def run_job(h, job_id: str):
    job = h.app.scheduler.get_job(job_id)
    assert job is not None, f"no job {job_id}: {[j.id for j in h.app.scheduler.get_jobs()]}"
    return await job.func(*job.args, **job.kwargs)


def test_start_registers_every_job(started):
    ids = {j.id for j in started.app.scheduler.get_jobs()}
    sources = {f"collect:{s.id}" for s in started.app.config.sources if s.enabled}
    assert ids == sources | {"index", "deadlines", "report:daily", "report:weekly"}


async def test_collect_job_reads_its_source(started):
    assert started.count("posts") == 0
    await run_job(started, "collect:forum")
    assert started.count("posts", "source_id='forum'") > 0
    assert started.count("posts", "source_id!='forum'") == 0


async def test_a_failing_job_is_logged_and_the_scheduler_carries_on(started, monkeypatch, caplog):
    async def boom(source_id, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(started.app.pipeline, "run_source", boom)
    with caplog.at_level(logging.ERROR):
        await run_job(started, "collect:forum")  # does not raise
    assert "collect job for forum failed" in caplog.text and "disk full" in caplog.text


async def test_index_job_indexes_what_collection_left(started):
    seed(started, "云川哪家羊肉汤最好喝？求推荐", "周末想去吃羊肉汤。")  # irrelevant: not segmented, queued
    assert started.count("posts", "indexed = 0") >= 1
    await run_job(started, "index")
    assert started.count("posts", "indexed = 0") == 0


async def test_deadline_job_reminds_when_a_deadline_passes(started, clock):
    iid = seed(started, *HIGH).incident_id
    await run_job(started, "deadlines")
    assert started.count("events", "incident_id=? AND action='reminder'", [iid]) == 0
    clock.advance(hours=2)  # an unclaimed grade I incident: its first deadline is long gone
    await run_job(started, "deadlines")
    assert started.count("events", "incident_id=? AND action='reminder'", [iid]) >= 1
    assert started.count("outbox", "incident_id=? AND kind='notice'", [iid]) >= 1


@pytest.mark.parametrize("job_id", ["report:daily", "report:weekly"])
async def test_report_jobs_queue_the_report(started, job_id):
    seed(started, *HIGH)
    seed(started, *LOW, source="ycnews")
    before = started.count("outbox")
    await run_job(started, job_id)
    assert started.count("outbox") > before
    out = await started.deliver()
    assert "📊" in out and "舆情" in out
