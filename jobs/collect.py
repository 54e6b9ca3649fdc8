"""Collection (minimal reader): RSS/Atom from a file path or an http(s) URL -> `Post`s.

Later work deepens this stage (conditional GET, per-host politeness, HTML/JSON sources,
encoding detection, health); the seam is `read_source(source, ...) -> list[Post]`.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from html import unescape as html_unescape
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import httpx

from core.models import Post
from core.text import clean, normalize

__all__ = ["CollectError", "read_source", "parse_feed", "canonical_url", "item_key"]

log = logging.getLogger(__name__)

_TAGS = re.compile(r"<[^>]+>")
_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_token|fbclid|gclid)$", re.IGNORECASE)


class CollectError(Exception):
    """A source could not be read; the message says why, for the log and the source's status."""


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment, tracking parameters and default ports."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and not ((parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)):
        host += f":{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def item_key(source_id: str, link: str | None, guid: str | None, title: str) -> str:
    """Stable key: the canonical link (shared across sources that republish the same URL),
    else the source's guid, else a hash of the title."""
    if link and link.startswith(("http://", "https://")):
        return "url:" + canonical_url(link)
    if guid:
        return f"guid:{source_id}:{guid}"
    return f"title:{source_id}:" + hashlib.sha1(normalize(title).encode()).hexdigest()[:16]


def _text(html: str) -> str:
    return clean(html_unescape(_TAGS.sub(" ", html or "")))


def _when(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        t = entry.get(key)
        if t:
            return datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)
    return None


def parse_feed(source_id: str, data: bytes | str) -> list[Post]:
    """Parse RSS/Atom bytes; a feed feedparser cannot make sense of raises CollectError."""
    parsed = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        raise CollectError(f"无法解析订阅源 / feed not parseable: {parsed.get('bozo_exception')!r}")
    posts = []
    for e in parsed.entries:
        title = _text(e.get("title", ""))
        link = e.get("link")
        body = e.get("summary") or ""
        if e.get("content"):
            body = e["content"][0].get("value", body)
        if not title and not body:
            continue
        posts.append(Post(source_id=source_id, item_key=item_key(source_id, link, e.get("id"), title),
                          title=title or _text(body)[:60], text=_text(body), url=link, published_at=_when(e)))
    return posts


async def read_source(source, config, client: httpx.AsyncClient | None) -> list[Post]:
    """Read one configured source.

    :raises CollectError: the file or URL could not be read or parsed.
    """
    if source.is_http:
        if client is None:
            raise CollectError("no HTTP client")
        try:
            resp = await client.get(source.url)
            resp.raise_for_status()
        except httpx.HTTPError as e:
            raise CollectError(f"下载失败 / fetch failed: {e}") from e
        return parse_feed(source.id, resp.content)
    path = config.resolve_path(source.url)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CollectError(f"无法读取文件 / cannot read {path}: {e.strerror}") from e
    return parse_feed(source.id, data)
