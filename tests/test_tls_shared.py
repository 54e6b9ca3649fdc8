"""Every HTTP client of the process verifies with one TLS context (core.tls), made once:
loading the CA bundle costs ~35 ms of CPU per context, and the bot (and the test suite, which
builds hundreds of apps) made one per client. The clients are otherwise the ones made before."""

from __future__ import annotations

import httpx
from telegram.ext import AIORateLimiter, ApplicationBuilder

from bot.platforms.telegram import SEND_TIMEOUT, TelegramPlatform
from bot.platforms.wecom.client import WeComClient
from core.tls import tls_context
from jobs.fetch import PerHostTransport


def _same_as_the_builders_default(ours, theirs) -> None:
    """Two PTB HTTPXRequests make the same httpx client, except for its TLS context."""
    kw = {k: v for k, v in ours._client_kwargs.items() if k != "verify"}
    assert kw == theirs._client_kwargs
    assert ours._client.timeout == theirs._client.timeout
    assert ours._client_kwargs["verify"] is tls_context()
    pool, default_pool = ours._client._transport._pool, theirs._client._transport._pool
    assert pool._max_connections == default_pool._max_connections
    assert pool._ssl_context is tls_context()
    assert default_pool._ssl_context is not tls_context()


def test_telegram_requests_are_the_builders_with_the_shared_context(config):
    a = TelegramPlatform(config, token="1:A", base_url="http://127.0.0.1:9/bot")
    b = TelegramPlatform(config, token="1:B", base_url="http://127.0.0.1:9/bot")
    # what ApplicationBuilder made from the timeouts alone (the platform's code before)
    old = (
        ApplicationBuilder()
        .token("1:A")
        .rate_limiter(AIORateLimiter(max_retries=0))
        .read_timeout(SEND_TIMEOUT)
        .write_timeout(SEND_TIMEOUT)
        .connect_timeout(10)
        .pool_timeout(SEND_TIMEOUT)
        .build()
    )
    for p in (a, b):
        updates, sends = p.application.bot._request
        old_updates, old_sends = old.bot._request
        _same_as_the_builders_default(sends, old_sends)
        _same_as_the_builders_default(updates, old_updates)


def test_collection_and_wecom_clients_share_the_context(tmp_path, make_app):
    h = make_app()
    client = h.app.new_http_client()
    assert isinstance(client._transport, PerHostTransport)
    assert client._transport._ssl is tls_context()
    assert client._transport._pool(httpx.URL("https://a.example/"))._pool._ssl_context is tls_context()
    assert PerHostTransport(verify=False)._ssl is not tls_context()
    w = WeComClient(api_base="http://127.0.0.1:9", corp_id="corp", agent_id="1", secret="s", robot_keys={})
    w.open()
    assert w.http is not None and w.http._transport._pool._ssl_context is tls_context()
    assert tls_context().verify_mode.name == "CERT_REQUIRED" and tls_context().check_hostname
