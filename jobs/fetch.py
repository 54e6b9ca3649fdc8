"""Polite, encoding-safe fetching for collection.

One `Fetcher` per process wraps the shared `httpx.AsyncClient`:

* conditional GET (ETag / Last-Modified): a 304 costs no parsing;
* per-host politeness: one request at a time per host, a minimum interval with jitter;
* robots.txt respected (cached per host; a missing robots.txt allows everything);
* a maximum body size (the body is streamed and cut off, the fetch fails clearly);
* retries with backoff on 5xx and network errors; timeouts from the client;
* decoding: HTTP charset, BOM, <meta charset> / XML declaration, then charset-normalizer;
  GB2312/GBK are decoded as GB18030 and bad bytes are replaced, never fatal.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import random
import re
import time
import urllib.robotparser
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import charset_normalizer
import httpx

from jobs import offload

__all__ = ["FetchError", "FetchResult", "Fetcher", "Politeness", "decode_body"]

log = logging.getLogger(__name__)

_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb_2312", "csgb2312", "euc-cn", "cp936", "936", "ms936"}
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_XMLDECL = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-]+)["']""", re.IGNORECASE)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


class FetchError(Exception):
    """A fetch failed; `str()` is a bilingual reason for the source's status and the log."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Politeness:
    min_interval: float = 2.0      # seconds between requests to one host
    jitter: float = 1.0            # up to this many extra seconds, at random
    per_host: int = 1              # concurrent requests per host
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 2               # extra attempts on 5xx / network errors
    backoff: float = 1.0           # seconds, doubled per retry
    respect_robots: bool = True


@dataclass
class FetchResult:
    url: str
    status: int
    content: bytes = b""
    text: str = ""
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _norm_encoding(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_body(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, encoding used). Never raises: undecodable bytes become U+FFFD."""
    enc = None
    if content_type:
        m = _CT_CHARSET.search(content_type)
        enc = _norm_encoding(m.group(1)) if m else None
    if enc is None:
        for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
            if content.startswith(bom):
                enc = name
                break
    if enc is None:
        head = content[:4096]
        m = _META.search(head) or _XMLDECL.search(head)
        enc = _norm_encoding(m.group(1).decode("ascii", "ignore")) if m else None
    if enc is None:
        best = charset_normalizer.from_bytes(content[:65536]).best()
        enc = _norm_encoding(best.encoding) if best else None
    enc = enc or "utf-8"
    return content.decode(enc, errors="replace"), enc


@dataclass
class _Host:
    sem: asyncio.Semaphore
    last: float = 0.0
    robots: urllib.robotparser.RobotFileParser | None = None
    robots_checked: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    def __init__(self, client: httpx.AsyncClient, politeness: Politeness | None = None, *, user_agent: str = "yuqing-bot"):
        self.client = client
        self.p = politeness or Politeness()
        self.user_agent = user_agent
        self._hosts: dict[str, _Host] = {}

    def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}".lower()
        if key not in self._hosts:
            self._hosts[key] = _Host(asyncio.Semaphore(self.p.per_host))
        return self._hosts[key]

    async def _allowed(self, url: str, host: _Host) -> bool:
        if not self.p.respect_robots:
            return True
        async with host.lock:
            if not host.robots_checked:
                host.robots_checked = True
                parts = urlsplit(url)
                robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
                try:
                    resp = await self.client.get(robots_url, headers={"User-Agent": self.user_agent})
                    if resp.status_code == 200:
                        rp = urllib.robotparser.RobotFileParser()
                        rp.parse(decode_body(resp.content[: 512 * 1024], resp.headers.get("content-type"))[0].splitlines())
                        host.robots = rp
                except httpx.HTTPError as e:
                    log.info("robots.txt for %s not readable (%s); treating as allowed", robots_url, e)
        return host.robots is None or host.robots.can_fetch(self.user_agent, url)

    async def _polite_wait(self, host: _Host) -> None:
        wait = host.last + self.p.min_interval + random.uniform(0, self.p.jitter) - time.monotonic()
        if host.last and wait > 0:
            await asyncio.sleep(wait)

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """:raises FetchError: robots.txt disallows it, too big, HTTP error, network error."""
        host = self._host(url)
        if not await self._allowed(url, host):
            raise FetchError(f"robots.txt 不允许抓取 / disallowed by robots.txt: {url}")
        headers = {"User-Agent": self.user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            async with host.sem:
                await self._polite_wait(host)
                try:
                    result = await self._once(url, headers)
                except _Retryable as e:
                    err = e
                else:
                    return result
                finally:
                    host.last = time.monotonic()
            attempt += 1
            if attempt > self.p.retries:
                raise FetchError(str(err), status=err.status) from None
            await asyncio.sleep(self.p.backoff * 2 ** (attempt - 1))

    async def _once(self, url: str, headers: dict) -> FetchResult:
        try:
            async with self.client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 304:
                    return FetchResult(str(resp.url), 304, etag=resp.headers.get("etag"),
                                       last_modified=resp.headers.get("last-modified"))
                if resp.status_code >= 500:
                    raise _Retryable(f"服务器错误 / server error {resp.status_code}", resp.status_code)
                if resp.status_code >= 400:
                    raise FetchError(f"HTTP {resp.status_code}", status=resp.status_code)
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.p.max_bytes:
                    raise FetchError(f"内容过大 / body too large: {int(declared):,} bytes > {self.p.max_bytes:,}")
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > self.p.max_bytes:
                        raise FetchError(f"内容过大 / body too large: over {self.p.max_bytes:,} bytes")
                    chunks.append(chunk)
                content = b"".join(chunks)
                text, enc = await offload.cpu(decode_body, content, resp.headers.get("content-type"))
                return FetchResult(str(resp.url), resp.status_code, content, text, enc,
                                   resp.headers.get("etag"), resp.headers.get("last-modified"))
        except httpx.TooManyRedirects:
            raise FetchError(f"重定向过多 / too many redirects: {url}") from None
        except httpx.TimeoutException:
            raise _Retryable(f"超时 / timed out: {url}", None) from None
        except httpx.TransportError as e:
            raise _Retryable(f"网络错误 / network error: {e}", None) from None


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None):
        super().__init__(message)
        self.status = status
