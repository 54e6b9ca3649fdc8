"""Per-host politeness of the fetcher: the spacing rule, evenly spread jitter, robots.txt's
Crawl-delay. No timing asserts: the waits a fetcher draws are recorded (`Fetcher.gaps`) and the
spacing rule is a pure function."""

from __future__ import annotations

import asyncio
import logging
import urllib.robotparser

import httpx
import pytest

from jobs.fetch import MAX_CRAWL_DELAY, Fetcher, Politeness, _crawl_delay, _Host, _ready_at


def test_a_run_of_waits_totals_close_to_its_mean_whatever_the_host():
    """Independent uniform draws let one host of a hundred draw long waits nine times running
    (a cycle then waits for it); the host's sequence keeps every run of waits within one jitter
    of its mean, while each wait still spreads over the whole range."""
    for _ in range(200):
        host = _Host(asyncio.Semaphore(1))
        shares = [host.next_jitter() for _ in range(60)]
        assert all(0.0 <= s < 1.0 for s in shares)
        for n in (2, 5, 9, 20):
            for k in range(len(shares) - n + 1):
                assert abs(sum(shares[k : k + n]) - n / 2) <= 1.05, (n, shares[k : k + n])
    spread = [_Host(asyncio.Semaphore(1)).next_jitter() for _ in range(400)]
    assert min(spread) < 0.1 and max(spread) > 0.9  # hosts start at random phases


def test_the_next_request_waits_from_the_start_of_the_last_and_a_slow_answer_rests_the_host():
    fast = _Host(asyncio.Semaphore(1), started=100.0, last=100.1, took=0.1)
    assert _ready_at(fast, 2.5) == 102.5  # one request started per interval
    slow = _Host(asyncio.Semaphore(1), started=100.0, last=104.0, took=4.0)
    assert _ready_at(slow, 2.5) == 106.5  # rests a whole interval after a slow answer
    medium = _Host(asyncio.Semaphore(1), started=100.0, last=101.5, took=1.5)
    assert _ready_at(medium, 2.5) == 103.0  # and as long as the answer took


def test_crawl_delay_is_read_and_capped(caplog):
    def parsed(text: str) -> urllib.robotparser.RobotFileParser:
        rp = urllib.robotparser.RobotFileParser()
        rp.parse(text.splitlines())
        return rp

    assert _crawl_delay(parsed("User-agent: *\nCrawl-delay: 7\n"), "yuqing-bot", "r") == 7.0
    assert _crawl_delay(parsed("User-agent: *\nDisallow: /x\n"), "yuqing-bot", "r") == 0.0
    with caplog.at_level(logging.WARNING, logger="jobs.fetch"):
        assert _crawl_delay(parsed("User-agent: *\nCrawl-delay: 86400\n"), "yuqing-bot", "r") == MAX_CRAWL_DELAY
    assert "Crawl-delay" in caplog.text


async def test_a_robots_crawl_delay_raises_the_hosts_interval(http_server):
    http_server.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nCrawl-delay: 1\n")
    http_server.routes["/a"] = (200, {"Content-Type": "text/plain"}, b"a")
    async with httpx.AsyncClient() as client:
        fetcher = Fetcher(client, Politeness(min_interval=0.0, jitter=0.0, retries=0))
        fetcher.gaps = {}
        for _ in range(2):
            result = await fetcher.get(http_server.url + "/a")
            assert result.status == 200
    (gaps,) = fetcher.gaps.values()
    assert gaps == [1.0]
    assert http_server.hits == ["/robots.txt", "/a", "/a"]


async def test_the_interval_runs_from_when_the_request_went_out(http_server, monkeypatch):
    """A new connection's setup (slow on a busy machine or a far server) is not counted in the
    interval: the host's start is when the request line was sent (httpcore's trace, through the
    app's per-host transport), so the server never sees two requests closer than the interval."""
    from jobs.fetch import PerHostTransport

    http_server.routes["/a"] = (200, {"Content-Type": "text/plain"}, b"a")
    seen: list[list[float]] = []
    real = Fetcher._once

    async def spying(self, url, headers, sent):
        try:
            return await real(self, url, headers, sent)
        finally:
            seen.append(list(sent))

    monkeypatch.setattr(Fetcher, "_once", spying)
    async with httpx.AsyncClient(transport=PerHostTransport()) as client:
        fetcher = Fetcher(client, Politeness(min_interval=0.0, jitter=0.0, retries=0, respect_robots=False))
        await fetcher.get(http_server.url + "/a")
    ((before, went_out),) = seen
    assert went_out >= before
    (host,) = fetcher._hosts.values()
    assert host.started == went_out


def test_retry_after_is_read_as_seconds_or_a_date_and_capped():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from jobs.fetch import MAX_RETRY_AFTER, _retry_after

    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert _retry_after("120", now) == 120.0
    assert _retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert _retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0  # past: now
    assert _retry_after("99999999", now) == MAX_RETRY_AFTER
    assert _retry_after(None, now) is None and _retry_after("soon", now) is None and _retry_after("-5", now) is None


async def test_a_short_retry_after_is_waited_out_before_the_retry(http_server):
    answers = iter([(503, {"Retry-After": "0"}, b"busy"), (200, {"Content-Type": "text/plain"}, b"ok")])
    http_server.routes["/a"] = lambda handler: next(answers)
    async with httpx.AsyncClient() as client:
        # a backoff of an hour: only the server's Retry-After: 0 lets the retry come at once
        fetcher = Fetcher(
            client, Politeness(min_interval=0.0, jitter=0.0, retries=1, backoff=3600.0, respect_robots=False)
        )
        result = await asyncio.wait_for(fetcher.get(http_server.url + "/a"), timeout=30)
    assert result.status == 200 and http_server.hits == ["/a", "/a"]


async def test_a_long_retry_after_fails_the_fetch_and_rests_the_host(http_server):
    """A 429 asking for two minutes is not retried at once (however many retries are allowed),
    and nothing else is asked of that host before the two minutes have passed."""
    from jobs.fetch import FetchError

    http_server.routes["/a"] = (429, {"Retry-After": "120"}, b"slow down")
    http_server.routes["/b"] = (200, {"Content-Type": "text/plain"}, b"b")
    async with httpx.AsyncClient() as client:
        fetcher = Fetcher(client, Politeness(min_interval=0.0, jitter=0.0, retries=2, respect_robots=False))
        with pytest.raises(FetchError) as first:
            await fetcher.get(http_server.url + "/a")
        assert first.value.status == 429 and "120" in str(first.value)
        with pytest.raises(FetchError) as second:
            await fetcher.get(http_server.url + "/b")
        assert second.value.status == 429 and "稍后再试" in str(second.value)
        assert http_server.hits == ["/a"]  # the host was not asked again
        (host,) = fetcher._hosts.values()
        host.not_before = 0.0  # the two minutes have passed
        assert (await fetcher.get(http_server.url + "/b")).status == 200
