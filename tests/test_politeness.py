"""Per-host politeness of the fetcher: the spacing rule, evenly spread jitter, robots.txt's
Crawl-delay. No timing asserts: the waits a fetcher draws are recorded (`Fetcher.gaps`) and the
spacing rule is a pure function."""

from __future__ import annotations

import asyncio
import logging
import urllib.robotparser

import httpx

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
