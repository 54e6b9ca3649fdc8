"""One TLS client context per process, shared by every HTTP client the bot makes.

`httpx.create_ssl_context()` loads the whole CA bundle (certifi's ~150 certificates) each
time: ~35 ms of CPU. The bot made one for each client: collection's transport, the WeCom
client, and two for Telegram (sends and getUpdates), and tests build hundreds of apps. The
context is the same each time (verify against the CA bundle; HTTP/1.1 everywhere, so the
ALPN list httpcore sets on it for each connection is always the same), so one is made on
first use and reused."""

from __future__ import annotations

import functools
import ssl

__all__ = ["tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (`httpx.create_ssl_context()`), made once."""
    import httpx

    return httpx.create_ssl_context()
