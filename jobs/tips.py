"""Tips: a link handed in with `/tip URL [note]`, fetched safely and run through the pipeline.

The fetch never reaches private, loopback, link-local, reserved or metadata addresses: the
host is resolved and every address checked before each request, redirects are followed by
hand and checked again at every hop, and only http(s) is accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser

from bot.config import Source
from core.text import clean
from jobs.fetch import decode_body

__all__ = ["TipRefused", "TipPage", "fetch_tip", "system_resolver", "TIP_SOURCE"]

MAX_REDIRECTS = 5
MAX_BYTES = 2 * 1024 * 1024

# Tips count as a city-level source: someone on the team judged them worth a look.
TIP_SOURCE = Source(id="tip", name="人工线索", kind="rss", url="tip", tier=3)

Resolver = Callable[[str], Awaitable[list[str]]]


class TipRefused(Exception):
    """The link cannot be fetched; the message (Chinese) is shown to the sender."""


@dataclass(frozen=True)
class TipPage:
    url: str
    title: str
    text: str


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def _check(url: str, resolve: Resolver) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TipRefused(f"只接受 http 或 https 链接（收到的是 {parts.scheme or '无协议'}）。")
    host = parts.hostname
    if not host:
        raise TipRefused("链接里没有网站地址。")
    try:
        addresses = [host] if _is_ip(host) else await resolve(host)
    except (OSError, UnicodeError):
        raise TipRefused(f"无法解析网站地址 {host}，请检查链接。") from None
    if not addresses:
        raise TipRefused(f"无法解析网站地址 {host}，请检查链接。")
    bad = [a for a in addresses if _forbidden(a)]
    if bad:
        raise TipRefused(f"出于安全考虑，不抓取内网、本机或保留地址（{host} → {bad[0]}）。")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _extract(html: str) -> tuple[str, str]:
    tree = LexborHTMLParser(html)
    title = ""
    og = tree.css_first('meta[property="og:title"]')
    if og is not None:
        title = og.attributes.get("content") or ""
    if not title:
        node = tree.css_first("h1") or tree.css_first("title")
        title = node.text() if node is not None else ""
    body = tree.css_first("article") or tree.css_first("main") or tree.body
    paragraphs = [clean(p.text()) for p in (body.css("p") if body is not None else [])]
    text = "\n".join(p for p in paragraphs if p) or (clean(body.text(separator=" ")) if body is not None else "")
    return clean(title), text[:5000]


async def fetch_tip(url: str, client: httpx.AsyncClient, resolve: Resolver = system_resolver,
                    user_agent: str = "yuqing-bot") -> TipPage:
    """:raises TipRefused: with a reason for the sender."""
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        await _check(current, resolve)
        try:
            async with client.stream("GET", current, headers={"User-Agent": user_agent}, follow_redirects=False) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    current = urljoin(current, resp.headers["location"])
                    continue
                if resp.status_code >= 400:
                    raise TipRefused(f"网页打不开（HTTP {resp.status_code}）。")
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise TipRefused("网页太大，无法抓取。")
                    chunks.append(chunk)
                text, _ = decode_body(b"".join(chunks), resp.headers.get("content-type"))
        except httpx.HTTPError as e:
            raise TipRefused(f"网页暂时打不开（{type(e).__name__}），请稍后再试。") from None
        title, body = _extract(text)
        if not title and not body:
            raise TipRefused("没能从网页中读出标题或正文。")
        return TipPage(current, title or body[:60], body)
    raise TipRefused("重定向次数过多。")
