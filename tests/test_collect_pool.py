"""Collection's HTTP client and per-run writes (issue 17.7): one small connection pool per host,
a cap on requests in flight over all hosts, a feed's known items found in one read."""

from __future__ import annotations

import asyncio
import threading

import httpx

from core.clock import to_iso
from jobs.fetch import Fetcher, FetchError, PerHostTransport, Politeness
from storage import posts as post_store
from storage import write_tx


def _answer(body: bytes):
    return (200, {"Content-Type": "text/plain; charset=utf-8"}, body)


async def test_each_host_has_its_own_pool_and_the_cap_is_given_back(http_server):
    other = type(http_server)(("127.0.0.1", 0), http_server.RequestHandlerClass)  # a second host (port)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        http_server.routes["/a"] = _answer(b"a")
        transport = PerHostTransport(max_connections=1, per_host=2)  # one request in flight at a time
        async with httpx.AsyncClient(transport=transport) as client:
            hosts = [http_server.url, f"http://127.0.0.1:{other.server_address[1]}"]
            for _ in range(3):
                for h in hosts:
                    r = await client.get(f"{h}/a")
                    assert r.status_code == 200 and r.text == "a"
            assert len(transport._pools) == 2  # one pool per host
            # a failing request gives its slot back too: the next one still goes out
            closed = httpx.URL(hosts[0]).copy_with(port=1)
            fetcher = Fetcher(client, Politeness(min_interval=0, jitter=0, retries=0, respect_robots=False))
            try:
                await fetcher.get(str(closed.copy_with(path="/a")))
            except FetchError:
                pass
            else:
                raise AssertionError("a closed port should fail")
            r = await asyncio.wait_for(client.get(f"{hosts[1]}/a"), 10)
            assert r.text == "a"
    finally:
        other.shutdown()
        other.server_close()


async def test_the_app_client_uses_per_host_pools_unless_a_proxy_is_set(make_app, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    h = make_app()
    client = h.app.new_http_client()
    assert isinstance(client._transport, PerHostTransport)
    await client.aclose()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # through a proxy: the one pool, as before
    client = h.app.new_http_client()
    assert not isinstance(client._transport, PerHostTransport)
    await client.aclose()


def test_stored_keys_finds_stored_and_pruned_items_in_many_keys(make_app, clock):
    h = make_app()
    db = h.app.db
    with write_tx(db):
        db.execute(
            "INSERT INTO pruned_keys (item_key, fetched_at) VALUES (?, ?)",
            ["url:http://x.example/pruned", to_iso(clock())],
        )
    keys = [f"url:http://x.example/{i}" for i in range(1200)] + ["url:http://x.example/pruned"]
    assert post_store.stored_keys(db, keys) == {"url:http://x.example/pruned"}
    assert all(
        post_store.stored_keys(db, [k]) == ({k} if post_store.post_exists(db, k) else set())
        for k in keys[:3] + keys[-1:]
    )
