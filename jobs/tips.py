"""Tips: a link handed in with `/tip URL [note]`, fetched safely and run through the pipeline.

The fetch never reaches private, loopback, link-local, reserved or metadata addresses: the
host is resolved once per hop and every address checked (IPv6 forms that carry an IPv4 address
— mapped, compatible, NAT64, 6to4, Teredo — are judged by that IPv4 address), then the request
is sent to the checked IP itself (Host header and TLS server name stay the original host), so
a second DNS answer cannot point it elsewhere (DNS rebinding). Redirects are followed by hand
and checked again at every hop; only http(s) is accepted; a malformed link or redirect is a
refusal with a Chinese reason, never an exception. Only web pages are taken: a response
whose content type names anything else (an image, a PDF, an archive, octet-stream) is refused
before its body is read, and a body that is binary whatever its label (a file's signature, NUL
or control bytes) is refused too: nothing is stored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from selectolax.lexbor import LexborHTMLParser

from core.config import Source
from core.errors import YuqingError
from core.render import TIP_SOURCE_ID, TIP_SOURCE_NAME
from core.text import clean
from jobs.fetch import body_pieces, decode_body

__all__ = ["TIP_SOURCE", "TipPage", "TipRefused", "fetch_tip", "system_resolver"]

MAX_REDIRECTS = 5
MAX_BYTES = 2 * 1024 * 1024

# Tips count as a city-level source: someone on the team judged them worth a look.
TIP_SOURCE = Source(id=TIP_SOURCE_ID, name=TIP_SOURCE_NAME, kind="rss", url="tip", tier=3)

Resolver = Callable[[str], Awaitable[list[str]]]


class TipRefused(YuqingError):
    """The link cannot be fetched; the message (Chinese) is shown to the sender."""


@dataclass(frozen=True)
class TipPage:
    url: str
    title: str
    text: str


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: IPv4-mapped, IPv4-compatible (::a.b.c.d),
    NAT64 (64:ff9b::/96, RFC 6052; and the local-use 64:ff9b:1::/48), 6to4 (2002::/16) and
    Teredo (server and client)."""
    out = []
    if ip.ipv4_mapped:
        out.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if any(ip in net for net in _NAT64):
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour:
        out.append(ip.sixtofour)
    if ip.teredo:
        out.extend(ip.teredo)
    return out


def _forbidden(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True  # not an address we can judge: refuse
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner:  # judged by where it really leads
            return any(_forbidden(str(v4)) for v4 in inner)
    return not ip.is_global or ip.is_multicast


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError) as exc:
        raise TipRefused("链接格式不正确，无法打开，请检查后重发。") from exc


async def _check(url: httpx.URL, resolve: Resolver) -> list[str]:
    """The addresses `url`'s host resolves to, all of them allowed; the caller connects to one
    of these and never looks the name up again.

    :raises TipRefused: not http(s), no host, unresolvable, or any address is not public."""
    if url.scheme not in ("http", "https"):
        raise TipRefused(f"只接受 http 或 https 链接（收到的是 {url.scheme or '无协议'}）。")
    host = url.host
    if not host:
        raise TipRefused("链接里没有网站地址。")
    try:
        addresses = [host] if _is_ip(host) else await resolve(url.raw_host.decode("ascii"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise TipRefused(f"无法解析网站地址 {host}，请检查链接。") from exc
    if not addresses:
        raise TipRefused(f"无法解析网站地址 {host}，请检查链接。")
    bad = [a for a in addresses if _forbidden(a)]
    if bad:
        raise TipRefused(f"出于安全考虑，不抓取内网、本机或保留地址（{host} → {bad[0]}）。")
    return list(addresses)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


# Content types read as a page; anything else named in the header is refused unread.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_KINDS = (
    ("image/", "图片"),
    ("audio/", "音频"),
    ("video/", "视频"),
    ("font/", "字体文件"),
    ("application/pdf", "PDF 文档"),
    ("application/zip", "压缩包"),
    ("application/x-zip", "压缩包"),
    ("application/gzip", "压缩包"),
    ("application/x-gzip", "压缩包"),
    ("application/x-rar", "压缩包"),
    ("application/vnd.rar", "压缩包"),
    ("application/x-7z", "压缩包"),
    ("application/x-tar", "压缩包"),
    ("application/msword", "Office 文档"),
    ("application/vnd.ms-", "Office 文档"),
    ("application/vnd.openxmlformats", "Office 文档"),
    ("application/octet-stream", "二进制文件"),
    ("application/json", "数据文件"),
    ("application/javascript", "脚本文件"),
    ("text/javascript", "脚本文件"),
    ("text/css", "样式表"),
)
# File signatures of what is most often linked instead of a page.
_MAGIC = (
    (b"\x89PNG", "图片"),
    (b"GIF8", "图片"),
    (b"\xff\xd8\xff", "图片"),
    (b"RIFF", "音视频或图片"),
    (b"%PDF", "PDF 文档"),
    (b"PK\x03\x04", "压缩包或 Office 文档"),
    (b"\x1f\x8b", "压缩包"),
    (b"Rar!", "压缩包"),
    (b"7z\xbc\xaf", "压缩包"),
    (b"\xd0\xcf\x11\xe0", "Office 文档"),
)
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def _not_a_page(kind: str) -> TipRefused:
    return TipRefused(f"链接不是网页（{kind}），无法作为线索收录；请发送新闻或帖子网页的链接。")


def _check_type(content_type: str | None) -> None:
    """:raises TipRefused: the header names something other than a page."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime or mime in PAGE_TYPES:
        return
    kind = next((k for prefix, k in _KINDS if mime.startswith(prefix)), None)
    if kind is None and (mime.startswith("text/") or mime.endswith(("+xml", "/xml"))):
        return  # some text: the body decides
    raise _not_a_page(kind or mime[:60])


def _check_body(body: bytes) -> None:
    """:raises TipRefused: the body is a file, not text, whatever its label said."""
    head = body[:1024]
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):  # a text's byte-order mark
        return
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise _not_a_page(kind)
    if b"\x00" in head or sum(b in _CONTROL for b in head) > len(head) // 20:
        raise _not_a_page("二进制文件")


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


def _pinned(url: httpx.URL, address: str) -> tuple[httpx.URL, dict, dict]:
    """A request for `url` sent to the checked `address`: the URL names the IP (so no second
    DNS lookup can happen between the check and the connection), the Host header and, for
    https, the TLS server name (SNI, and the certificate's name check) stay the original host."""
    target = url.copy_with(host=address.split("%")[0])
    headers = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return target, headers, extensions


def _redirect(current: httpx.URL, location: str) -> httpx.URL:
    loc = _parse(location.strip())
    if loc.scheme and not loc.host:  # "http:127.0.0.1/x": neither absolute nor relative
        raise TipRefused("网页跳转到的地址格式不正确，已停止抓取。")
    try:
        return current.join(loc)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise TipRefused("网页跳转到的地址格式不正确，已停止抓取。") from exc


async def fetch_tip(
    url: str, client: httpx.AsyncClient, resolve: Resolver = system_resolver, user_agent: str = "yuqing-bot"
) -> TipPage:
    """:raises TipRefused: with a reason for the sender."""
    current = _parse(url.strip())
    for _ in range(MAX_REDIRECTS + 1):
        addresses = await _check(current, resolve)
        target, headers, extensions = _pinned(current, addresses[0])
        try:
            async with client.stream(
                "GET",
                target,
                headers={"User-Agent": user_agent, **headers},
                extensions=extensions,
                follow_redirects=False,
            ) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    current = _redirect(current, resp.headers["location"])
                    continue
                if resp.status_code >= 400:
                    raise TipRefused(f"网页打不开（HTTP {resp.status_code}）。")
                _check_type(resp.headers.get("content-type"))
                chunks, size = [], 0
                async for chunk in body_pieces(resp):  # a gzip bomb is cut off, never inflated whole
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise TipRefused("网页太大，无法抓取。")
                    chunks.append(chunk)
                raw = b"".join(chunks)
                _check_body(raw)
                text, _ = decode_body(raw, resp.headers.get("content-type"))
        except httpx.InvalidURL as exc:  # httpx reads a redirect's Location even when not following it
            raise TipRefused("网页跳转到的地址格式不正确，已停止抓取。") from exc
        except (httpx.HTTPError, httpx.StreamError) as e:
            raise TipRefused(f"网页暂时打不开（{type(e).__name__}），请稍后再试。") from e
        title, body = _extract(text)
        if not title and not body:
            raise TipRefused("没能从网页中读出标题或正文。")
        return TipPage(str(current), title or body[:60], body)
    raise TipRefused("重定向次数过多。")
