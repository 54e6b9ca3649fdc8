"""Collection: read a configured source -> `Post`s.

Kinds: `rss` (RSS/Atom, feedparser), `html` (a list page read with CSS selectors, optional
detail page for the body; selectolax), `json` (an API answer read with dotted paths) and
`search` (a URL template filled with each query — the watch-list's cadres and units by
default — whose result pages read as rss, html or json). Fetching (politeness, conditional
GET, encodings) is `jobs.fetch`; this module only turns pages into posts.

Feeds and encodings. feedparser never sees a string and never a name: given a string (or even
bytes) that looks like a URL or a path, it would fetch that URL or open that file. It gets a
file object over bytes, so it can only read what we give it. The encoding is decided here, from
evidence (`jobs.fetch.decode_body`: BOM, UTF-16 NUL patterns, valid UTF-8, the HTTP charset and
the XML declaration weighed against each other by how plausible the decoded text is), not by
feedparser from the header or declaration alone: the feed is decoded, its XML declaration's
encoding rewritten to UTF-8, and feedparser gets those UTF-8 bytes with
`Content-Type: application/xml; charset=utf-8` (and the response URL as Content-Location, for
relative links). A body that is not RSS/Atom (an HTML error page served with 200, a bare URL or
path, broken XML) is that source's `CollectError`. Entries with neither a title nor any text
(a body that is only an `<img>`) are skipped, never stored empty. A bare `&` (a link's query
string written unescaped) is escaped before parsing, so `&lang=zh` is never read as `〈=zh`; a
plain-text title keeps what stands in angle brackets (`关于印发<…办法>的通知`), an HTML one loses
its tags, inline tags (`<b>`, `<a>`, `<span>`) without leaving a space. A link or guid that items
of different titles share in one document keys only the oldest of them (`_keyed`). A JSON Feed
(jsonfeed.org 1.0/1.1) at an rss source is read as a feed; other JSON says to use `kind = "json"`.

HTML, JSON and search pages. A list page whose item selector matches nothing, only links
back to the list or home page, or nothing with a title is the source's failure naming the
selector (a search's result page may be empty); an anti-bot, login or 访问受限 page says so;
a page nested deeper than `MAX_HTML_DEPTH` block levels is refused before parsing (lexbor is
quadratic in depth). `<base href>` is honoured. A JSON answer may carry a BOM or a JSONP
callback; a web page, too-deep nesting or an over-long integer is a clear failure, and a list
whose items have no title at the configured path says so. Each run of a source keeps one
post per item key (`_capped`: across a search's queries too, whose text is percent-encoded
whole), and at most `[collection] max_items` of them.

Publication times. A JSON number (or string of digits) is an epoch in seconds, milliseconds,
microseconds or nanoseconds, told apart by its size. A time is trusted only from 1990 up to a
day after the fetch (`plausible_time`); an impossible one (year 10000, an epoch beyond any
calendar) or an implausible one (year 1, 2100) is dropped for that item alone, which then
counts from its fetch time like an item without a date, and the source's run logs how many
were dropped. Relative times (刚刚, 3分钟前, 昨天 10:30, 11-26 10:30) are read against the
fetch time in local time. Engagement counts that are negative, not finite or beyond `MAX_COUNT` are
dropped too, never read as some other number.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape as html_unescape
from typing import TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import feedparser
from selectolax.lexbor import LexborHTMLParser

from core.clock import DEFAULT_TZ, local_if_naive, system_clock
from core.config import Config, Source
from core.errors import YuqingError
from core.models import Post
from core.text import clean, normalize
from jobs import offload
from jobs.fetch import Fetcher, FetchError, decode_body

__all__ = [
    "EARLIEST_PUBLISHED",
    "FUTURE_SLACK",
    "MAX_COUNT",
    "CollectError",
    "SourceRead",
    "canonical_url",
    "item_key",
    "parse_feed",
    "parse_html",
    "parse_json",
    "parse_time",
    "plausible_time",
    "read_source",
    "web_link",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_TAGS = re.compile(r"<[^>]+>")
# a script or style element's content is code, not text: dropped with its tags, never kept
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_token|fbclid|gclid)$", re.IGNORECASE)
_NUM = re.compile(r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(万|w|k|千|亿)?", re.IGNORECASE)
_UNIT = {"万": 10_000, "w": 10_000, "k": 1000, "千": 1000, "亿": 100_000_000}
# An engagement count above this is not a count (a corrupt field, 1e308): dropped.
MAX_COUNT = 10**12
# A publication time is trusted from here on, up to a day after the fetch (a wrong zone is
# hours off, not days): before, or further ahead, it is not a publication time.
EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
_TIME = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# feedparser's complaints that do not mean the document is broken
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _benign(exc) -> bool:
    """A complaint that does not mean the feed is broken: the ones above, and an HTML entity
    (&nbsp;, &aacute;) undefined in XML, which feedparser's lenient parser reads correctly."""
    return isinstance(exc, _BENIGN) or "undefined entity" in str(exc)


class CollectError(YuqingError):
    """A source could not be read; the message says why, for the log and the source's status."""


@dataclass
class SourceRead:
    posts: list[Post] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    ttl_minutes: int | None = None  # the feed's own <ttl>: how long it asks readers to wait
    # a run that worked in part (a search source's query failed, the others were read): what
    # failed, in the words /sources shows; the posts read are kept
    warning: str | None = None


def canonical_url(url: str, aliases: dict[str, str] | None = None) -> str:
    """Lower-case scheme and host (mobile/mirror hosts mapped to their canonical host), drop
    the fragment, tracking parameters and default ports."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    host = (aliases or {}).get(host, host)
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)
    ):
        host += f":{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def item_key(
    source_id: str, link: str | None, guid: str | None, title: str, aliases: dict[str, str] | None = None
) -> str:
    """Stable key: the canonical link (shared across sources that republish the same URL,
    and across a feed that re-issues old items with new GUIDs), else the guid, else the title."""
    if link and link[:8].lower().startswith(("http://", "https://")):  # HTTPS://Host/… too
        return "url:" + canonical_url(link, aliases)
    if guid:
        return f"guid:{source_id}:{guid}"
    return f"title:{source_id}:" + hashlib.sha1(normalize(title).encode()).hexdigest()[:16]


def web_link(link: object, base: str | None = None) -> str | None:
    """A post's link as stored (resolved against `base`, the page's URL, when given): an
    absolute http(s) URL with a host, else None. A page's link that cannot be read as a URL
    (`http://[x`) is none either, never the source's failure. A feed's `javascript:`, `data:`,
    `file:` or `mailto:` link, a relative one that nothing resolved (a local feed file), or one
    with no host is no link to a web page: the post is kept without one (and keyed by its guid
    or title), and nothing that shows or exports links has to judge it again."""
    if not isinstance(link, str):
        return None
    link = link.strip()
    try:
        if base and link:
            link = urljoin(base, link)
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:  # an invalid port or IPv6 literal
        return None
    return link if parts.scheme.lower() in ("http", "https") and host else None


# tags inside a word (a search API's 青石镇<em>干部</em>, a feed's 会议<b>要求</b>, 详见<a>通知</a>):
# dropped without leaving a space, as a browser shows them; other tags (<p>, <br>, <li>) part words
_INLINE_TAGS = "a|abbr|b|big|cite|code|del|em|font|i|ins|mark|q|s|small|span|strong|sub|sup|tt|u"
_INLINE = re.compile(rf"</?(?:{_INLINE_TAGS})\b[^>]*>", re.IGNORECASE)


def _text(html: str) -> str:
    return clean(html_unescape(_TAGS.sub(" ", _INLINE.sub("", _CODE.sub(" ", html or "")))))


def _plain(text: str) -> str:
    """Text that is already text (a feed's `type="text"` title, whose `<` and `&` feedparser has
    read): only whitespace collapsed, nothing read as a tag or an entity. (Control characters
    are kept as scraped, like everything else: rendering makes them inert.)"""
    return clean(text or "")


# an HTML element by its name: a field that holds one is HTML whatever the feed says its type is
# (an RSS title is "plain text" to feedparser, and often escaped HTML: &lt;b&gt;, &lt;script&gt;)
_HTML_ELEMENT = re.compile(
    rf"</?(?:{_INLINE_TAGS}|br|div|h[1-6]|hr|img|li|ol|p|script|style|table|td|tr|ul|iframe|object|embed|svg|link|meta)"
    r"\b[^<>]*>",
    re.IGNORECASE,
)


def _field_text(value: str, detail) -> str:
    """A feed field as text: plain text as written (`关于印发<…办法>的通知`, `</example>`), HTML —
    or "plain text" holding an HTML element (`<script>…</script>`, `<b>`) — without its tags."""
    kind = detail.get("type") if isinstance(detail, dict) else None
    if kind == "text/plain" and not _HTML_ELEMENT.search(value or ""):
        return _plain(value)
    return _text(value)


def _count(value: object) -> int | None:
    """'1.2万' -> 12000; '356 回复' -> 356; a JSON number as it is. None for no count, and for
    one that cannot be a count (negative, not finite, above `MAX_COUNT`, a boolean): dropped,
    never read as another number (-5 is not 5, 1e308 is not 1)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None  # a list or an object is no count ([5] is not 5)
    if isinstance(value, (int, float)):
        n = float(value) if isinstance(value, float) else value
    else:
        m = _NUM.search(str(value).replace(",", ""))
        if not m:
            return None
        n = float(m.group(1)) * _UNIT.get((m.group(2) or "").lower(), 1)
    if (isinstance(n, float) and not math.isfinite(n)) or n < 0 or n > MAX_COUNT:
        log.debug("engagement count %r is not a count; dropped", str(value)[:40])
        return None
    return int(n)


_AGO = re.compile(r"^(\d{1,4})\s*(秒|分钟|分|小时|个小时|天|日|周|星期)前$")
_AGO_UNIT = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "分": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "个小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "日": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
}
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(?:(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
# a month and day without a year (11-26 10:30, 11月26日 10:30): the latest such date not after the fetch
_NO_YEAR = re.compile(r"^(\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2})[:：](\d{2})(?::(\d{2}))?)?$")


def _relative_time(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """How Chinese sites write recent times, read against the fetch time `now`: 刚刚, 3分钟前,
    2小时前, 昨天 10:30, 前天 08:05, 今天 00:01, 11-26 10:30 (the latest such date not after
    `now`, a year back if needed). None for anything else."""
    text = text.replace("\u3000", " ").strip()
    if text in ("刚刚", "刚才", "just now"):
        return now
    m = _AGO.match(text)
    if m:
        return now - int(m.group(1)) * _AGO_UNIT[m.group(2)]
    local = now.astimezone(tz)
    m = _DAY_WORD.match(text)
    if m:
        day = local.date() - timedelta(days=_DAYS_BACK[m.group(1)])
        h, mi, s = (int(x) if x else 0 for x in m.groups()[1:])
        return datetime(day.year, day.month, day.day, h, mi, s, tzinfo=tz)
    m = _NO_YEAR.match(text)
    if m:
        mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
        dt = datetime(local.year, mo, d, h, mi, s, tzinfo=tz)
        return dt if dt <= now + FUTURE_SLACK else dt.replace(year=local.year - 1)
    return None


def parse_time(text: str | None, tz: ZoneInfo = DEFAULT_TZ, *, now: datetime | None = None) -> datetime | None:
    """ISO times, RFC 822, '2026-11-23 08:12', '2026年11月23日 08:12'; a time naming no zone is
    local time (`core.clock.local_if_naive`). Given the fetch time `now`, also the relative
    times Chinese sites write (刚刚, 3分钟前, 昨天 10:30, 11-26 10:30: `_relative_time`).

    :raises ValueError: a relative time no calendar holds (2月30日, 99:00)."""
    if not text:
        return None
    text = str(text).strip()
    if now is not None:
        rel = _relative_time(text, now, tz)
        if rel is not None:
            return rel
    try:
        return local_if_naive(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        pass
    m = _TIME.search(text)
    if m:
        y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
        try:
            return local_if_naive(datetime(y, mo, d, h, mi, s), tz)
        except ValueError:
            return None
    try:  # RFC 822 (2822/5322), as in RSS and mail headers
        return local_if_naive(parsedate_to_datetime(text), tz)
    except (TypeError, ValueError, IndexError):
        return None


def plausible_time(dt: datetime | None, now: datetime) -> bool:
    """Whether `dt` can be the publication time of something fetched at `now`: it has a UTC
    reading (9999-12-31T23:59:59-14:00 has none), from `EARLIEST_PUBLISHED` up to
    `FUTURE_SLACK` after `now`. A naive time is local (`core.clock.local_if_naive`)."""
    if dt is None:
        return False
    try:
        utc = local_if_naive(dt).astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return EARLIEST_PUBLISHED <= utc <= now + FUTURE_SLACK


class _Times:
    """The publication times of one parse: each item's time if plausible, else None (the item
    counts from its fetch time), and one log line for the source naming what was dropped."""

    def __init__(self, source_id: str, now: datetime | None):
        self.source_id = source_id
        self.now = now or system_clock()
        self.dropped: list[str] = []

    def read(self, reader: Callable[[T], datetime | None], value: T, raw: object = None) -> datetime | None:
        """The time `reader` makes of `value` (`raw`: how it was written, for the log); a
        reading that fails (out of range) or is not plausible is dropped and noted."""
        try:
            dt = reader(value)
        except (ValueError, OverflowError, OSError):
            dt = None
        else:
            if dt is None:
                return None  # no time given (or text that is not a time): nothing to note
            if plausible_time(dt, self.now):
                return dt
        self.dropped.append(str(value if raw is None else raw)[:60])
        return None

    def log(self) -> None:
        if self.dropped:
            log.warning(
                "source %s: %d item(s) with an impossible or implausible publication time (%s); "
                "trusted only from %s up to a day after the fetch at %s: the fetch time is used",
                self.source_id,
                len(self.dropped),
                ", ".join(repr(d) for d in self.dropped[:3]) + (" …" if len(self.dropped) > 3 else ""),
                EARLIEST_PUBLISHED.date(),
                self.now.isoformat(timespec="seconds"),
            )


def _struct_utc(t: time.struct_time) -> datetime:
    """feedparser's UTC struct_time as a datetime.

    :raises ValueError: a year datetime cannot hold (10000)."""
    return datetime.fromtimestamp(calendar.timegm(t), tz=UTC)


def _entry_time(entry, times: _Times) -> datetime | None:
    """The entry's publication (else update) time: the first of them that is plausible. Read
    from the entry's own keys (`dict.get`: feedparser's mapping of one to the other would
    only check the same value twice)."""
    seen = None
    for key in ("published", "updated"):
        t = dict.get(entry, key + "_parsed")
        if t and t != seen:
            seen = t
            dt = times.read(_struct_utc, t, dict.get(entry, key) or t)
            if dt is not None:
                return dt
    return None


# an epoch's unit told by its size: below 1e11 seconds (up to the year 5138), then
# milliseconds, microseconds and nanoseconds over the same span
_EPOCH_SCALES = (1, 1_000, 1_000_000, 1_000_000_000)
_EPOCH_TEXT = re.compile(r"\d{9,21}(?:\.\d+)?")


def _epoch(n: float) -> datetime | None:
    """An epoch in seconds, ms, us or ns (by size) as UTC; None for none given (0, negative,
    before 1973: APIs use those for "unknown").

    :raises ValueError: a number beyond any epoch unit (nothing could be published then)."""
    if not math.isfinite(n):
        raise ValueError(f"epoch {n} is not finite")
    if n <= 1e8:
        return None
    for scale in _EPOCH_SCALES:
        if n < 1e11 * scale:
            return datetime.fromtimestamp(n / scale, tz=UTC)
    raise ValueError(f"epoch {n} is out of range")


def _json_time(value: object, now: datetime | None = None) -> datetime | None:
    """A JSON item's time: a number or a string of digits is an epoch (`_epoch`), other text
    is read by `parse_time` (relative times against the fetch time `now`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        return _epoch(float(value))
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    return parse_time(value if isinstance(value, str) else None, now=now)


_XML_DECL = re.compile(r"""^\s*<\?xml\b[^>]*?\?>""")
_DECL_ENCODING = re.compile(r"""\bencoding\s*=\s*(["'])[^"']*\1""")


_CHARREF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")


def _charref(m: re.Match) -> str:
    """A numeric character reference naming no character (a UTF-16 surrogate, beyond U+10FFFF)
    becomes U+FFFD: feedparser crashes on it, and the whole feed was lost for one character."""
    digits = (m.group(1) or m.group(2)).lstrip("0") or "0"
    if len(digits) > 8:
        return "&#xFFFD;"
    cp = int(digits, 16) if m.group(1) else int(digits)
    return "&#xFFFD;" if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF else m.group(0)


# an '&' that begins no reference (`&name;`, `&#123;`, `&#x1F;`): a query string's separator
# written bare, which makes the feed not well-formed; feedparser's lenient reading then takes
# '&lang=zh' for '〈=zh' and '&currentPage' for '¤tPage' (HTML entities that need no semicolon)
_BARE_AMP = re.compile(r"&(?![A-Za-z_][\w.-]*;|#[0-9]+;|#[xX][0-9A-Fa-f]+;)")
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)


def _escape_bare_ampersands(text: str) -> str:
    """Every bare '&' outside CDATA sections (where '&' is literal) written as '&amp;'."""
    if "&" not in text:
        return text
    parts = _CDATA.split(text)
    return "".join(p if i % 2 else _BARE_AMP.sub("&amp;", p) for i, p in enumerate(parts))


def feed_bytes(data: bytes | str, content_type: str | None = None) -> bytes:
    """The feed as UTF-8 bytes whose XML declaration (if any) says UTF-8: decoded from
    evidence (see the module docstring), so feedparser has nothing left to guess."""
    text = data if isinstance(data, str) else decode_body(data, content_type)[0]
    text = _CHARREF.sub(_charref, text.lstrip("\ufeff"))
    text = _escape_bare_ampersands(text)
    m = _XML_DECL.match(text)
    if m:
        decl = _DECL_ENCODING.sub('encoding="utf-8"', m.group(0))
        text = decl + text[m.end() :]
    return text.encode("utf-8", errors="replace")


_HTML_PAGE = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html\b|head\b|body\b)", re.I | re.S
)
_PAGE_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)


def _title_of(head: bytes) -> str:
    """The text of a page's <title> (its first 60 characters), read from the page's start; ""
    when it has none."""
    m = _PAGE_TITLE.search(head)
    return _text(m.group(1).decode("utf-8", errors="replace"))[:60] if m else ""


def _html_page(body: bytes, expected: tuple[str, str] = ("RSS/Atom 订阅源", "a feed")) -> str | None:
    """The failure reason for a web page served where a feed should be (a 200 answer with an
    error, login or "访问受限" page): says so and names the page's title, for the source's status.
    None for anything else. `expected`: what should have come, in Chinese and English."""
    head = body[:65536]
    if not _HTML_PAGE.match(head):
        return None
    title = _title_of(head)
    shown = f"（页面标题「{title}」）" if title else ""
    return f"收到的是网页，不是 {expected[0]}{shown} / got a web page, not {expected[1]}"


def parse_feed(
    source_id: str,
    data: bytes | str,
    aliases: dict[str, str] | None = None,
    *,
    content_type: str | None = None,
    url: str | None = None,
    now: datetime | None = None,
) -> list[Post]:
    """Parse RSS/Atom from the response's bytes (and its Content-Type); a document feedparser
    cannot make sense of, or one that is not a feed, raises CollectError. Nothing in `data` is
    ever opened or fetched. `now` is the fetch time that publication times are judged by
    (`plausible_time`; default: the system clock)."""
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    utf8 = feed_bytes(data, content_type)
    if utf8.lstrip()[:1] in (b"{", b"["):  # JSON: a JSON Feed (jsonfeed.org), or an API's answer
        return _json_feed(source_id, utf8.decode("utf-8"), aliases, url=url, now=now)
    try:
        parsed = feedparser.parse(io.BytesIO(utf8), response_headers=headers)
    except Exception as err:
        raise CollectError(f"无法解析订阅源 / feed not parseable: {type(err).__name__}: {err}") from err
    if not parsed.entries:
        page = _html_page(utf8) if not parsed.get("version") else None  # an RSS with an XHTML doctype is a feed
        if page is not None:
            raise CollectError(page)
        exc = parsed.get("bozo_exception")
        if parsed.bozo and not _benign(exc):
            raise CollectError(f"无法解析订阅源 / feed not parseable: {exc}")
        if not parsed.get("version"):
            raise CollectError("不是 RSS/Atom 订阅源 / not an RSS or Atom feed")
        return []  # a well-formed feed with nothing in it
    if parsed.bozo:
        log.info(
            "feed %s is not well-formed (%s); kept the %d items that could be read",
            source_id,
            parsed.get("bozo_exception"),
            len(parsed.entries),
        )
    posts = []
    ids: list[tuple[str | None, str | None]] = []  # each post's (link, guid)
    skipped = 0
    times = _Times(source_id, now)
    for e in parsed.entries:
        title = _field_text(e.get("title", ""), e.get("title_detail"))
        link = _entry_link(e)
        body, detail = e.get("summary") or "", e.get("summary_detail")
        if e.get("content"):
            body, detail = e["content"][0].get("value", body), e["content"][0]
        text = _field_text(body, detail)
        if not title and not text:  # only markup (an <img>, an empty <p>): nothing to read or match
            skipped += 1
            continue
        guid = e.get("id")
        posts.append(
            Post(
                source_id=source_id,
                item_key="",  # keyed below, once every item of the document is known
                title=title or text[:60],
                text=text,
                url=link,
                published_at=_entry_time(e, times),
                replies=_count(e.get("slash_comments")),
            )
        )
        ids.append((link, guid if isinstance(guid, str) else None))
    times.log()
    if skipped:
        log.info("feed %s: skipped %d entries with neither title nor text", source_id, skipped)
    posts = _keyed(source_id, posts, ids, aliases)
    exc = parsed.get("bozo_exception")
    if not posts and parsed.bozo and not _benign(exc):  # broken, and nothing readable in it
        raise CollectError(f"无法解析订阅源 / feed not parseable: {exc}")
    return posts


def _entry_link(entry) -> str | None:
    """The entry's web link: feedparser's `link`, else its first alternate link that is a web
    page's URL whatever its type (an Atom entry linking only to a PDF or a .doc, which feedparser
    does not take for the entry's link and replaces with the id, a tag: URN)."""
    link = web_link(entry.get("link"))
    if link is None:
        for alt in entry.get("links") or []:
            if isinstance(alt, dict) and alt.get("rel", "alternate") == "alternate":
                link = web_link(alt.get("href"))
                if link:
                    break
    return link


def _keyed(
    source_id: str, posts: list[Post], ids: list[tuple[str | None, str | None]], aliases: dict[str, str] | None
) -> list[Post]:
    """`posts` with their item keys (`item_key`). A link or guid that items of different titles
    share in one document (every item linking to the home page, a CMS writing guid 0 for all)
    identifies only one of them, its holder: the oldest item (by publication time when they all
    have one, else the last in the document, feeds listing the newest first), which keyed by it
    before the others came. The others are keyed by what else they have (their guid, else their
    title), or they would be taken for the holder, in this run and every later one. An item
    keeps the key while it is the oldest, and when the holder leaves the feed the next holder's
    key is the one already stored: nothing is stored twice as the feed rolls on."""
    idents = [
        ("url:" + canonical_url(link, aliases) if link else None, "guid:" + guid if guid else None)
        for link, guid in ids
    ]
    sharing: dict[str, list[int]] = {}
    for i, pair in enumerate(idents):
        for ident in pair:
            if ident:
                sharing.setdefault(ident, []).append(i)
    # each shared link or guid's holder's title, worked out once per link or guid
    holder_title: dict[str, str] = {}
    for ident, group in sharing.items():
        dated = all(posts[j].published_at is not None for j in group)
        holder = min(group, key=lambda j: (posts[j].published_at, -j)) if dated else group[-1]
        holder_title[ident] = normalize(posts[holder].title)

    keyed = []
    for post, (link, guid), (by_url, by_guid) in zip(posts, ids, idents, strict=True):
        title = normalize(post.title)
        if by_url and holder_title[by_url] != title:
            link = None
        if by_guid and holder_title[by_guid] != title:
            guid = None
        keyed.append(replace(post, item_key=item_key(source_id, link, guid, post.title, aliases)))
    return keyed


def _json_feed(
    source_id: str, text: str, aliases: dict[str, str] | None, *, url: str | None, now: datetime | None
) -> list[Post]:
    """A JSON Feed (https://jsonfeed.org/version/1 and /1.1, known by its version URL or by its
    feed_url/home_page_url beside an items list) read as a feed: each item's title
    (its HTML entities read; else the start of its text), url (else external_url, resolved against the feed's URL),
    content_text, else content_html without its tags, else summary, and date_published (else
    date_modified). JSON that is not a JSON Feed (an API's answer) is a clear failure naming the
    `json` kind, which reads such answers.

    :raises CollectError: not JSON, or JSON that is not a JSON Feed."""
    try:
        doc = _json_data(text)
    except CollectError as e:
        raise CollectError(f"不是 RSS/Atom 订阅源，也不是 JSON Feed（{e}） / neither a feed nor a JSON Feed") from e
    version = doc.get("version") if isinstance(doc, dict) else None
    items = doc.get("items") if isinstance(doc, dict) else None
    # a JSON Feed by its version URL (its items may be missing: none yet), or by the fields only
    # a JSON Feed has (a generator writing "version": "1.1"): feed_url or home_page_url beside
    # its items, or content_text / content_html in them
    by_version = isinstance(version, str) and "jsonfeed.org/version/" in version
    by_fields = isinstance(items, list) and (
        "feed_url" in doc
        or "home_page_url" in doc
        or any(isinstance(it, dict) and ("content_text" in it or "content_html" in it) for it in items)
    )
    if by_version and items is None:
        items = []
    if not ((by_version or by_fields) and isinstance(items, list)):
        raise CollectError(
            '收到的是 JSON，不是 RSS/Atom 订阅源或 JSON Feed；读取 JSON 接口请把来源设为 kind = "json" 并配置 fields'
            " / got JSON that is not a feed nor a JSON Feed: use kind = \"json\" with fields"
        )
    posts: list[Post] = []
    ids: list[tuple[str | None, str | None]] = []
    times = _Times(source_id, now)
    skipped = 0
    for it in items:
        if not isinstance(it, dict):
            skipped += 1
            continue
        # plain text by the spec, but WordPress writes HTML entities in it (&#8216;): read, and
        # any tags kept as the text they are
        title = _plain(html_unescape(_scalar(it.get("title"))))
        content = _plain(_scalar(it.get("content_text"))) or _text(_scalar(it.get("content_html")))
        body = content or _plain(_scalar(it.get("summary")))
        if not title and not body:
            skipped += 1
            continue
        link = web_link(_scalar(it.get("url")), url) or web_link(_scalar(it.get("external_url")), url)
        published = None
        for key in ("date_published", "date_modified"):
            raw = _scalar(it.get(key))
            published = times.read(parse_time, raw) if raw else None
            if published is not None:
                break
        posts.append(
            Post(
                source_id=source_id,
                item_key="",
                title=title or body[:60],
                text=body,
                url=link,
                published_at=published,
            )
        )
        guid = _scalar(it.get("id"))
        ids.append((link, guid or None))
    times.log()
    if skipped:
        log.info("JSON Feed %s: skipped %d items with neither title nor text", source_id, skipped)
    return _keyed(source_id, posts, ids, aliases)


# Block elements that no sibling closes: each one opened is a level deeper. lexbor checks the
# open elements at every such tag, so a page of 200,000 unclosed <div>s takes hours of the CPU
# worker (quadratic); no real page is anywhere near this deep.
MAX_HTML_DEPTH = 1000
_BLOCK_TAG = re.compile(
    rb"<(/?)(?:div|section|article|ul|ol|dl|blockquote|center|nav|main|header|footer|aside|fieldset|"
    rb"details|figure|form|menu|address|hgroup|dir|summary|figcaption|search)(?=[\s/>])",
    re.IGNORECASE,
)


def _html_depth(html: str) -> int:
    """The deepest nesting of the block elements above (a linear scan, before any parsing)."""
    depth = deepest = 0
    for m in _BLOCK_TAG.finditer(html.encode("utf-8", errors="replace")):
        if m.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


# what an anti-bot or rate-limit page says in its text; its title may also say it is a login
# wall or "forbidden" (a normal page's header says 请登录 too: not read from the text)
_BLOCKED = (
    r"验证码|安全验证|人机验证|拖动滑块|完成验证|访问受限|访问被拒|拒绝访问|禁止访问|访问过于频繁|请求过于频繁|"
    r"访问频率过|异常访问|异常流量|captcha|access denied|just a moment|are you a robot|unusual traffic"
)
_BLOCKED_TEXT = re.compile(_BLOCKED, re.IGNORECASE)
_BLOCKED_TITLE = re.compile(_BLOCKED + r"|登录|forbidden|too many requests", re.IGNORECASE)


def _blocked_page(html: str) -> str | None:
    """The failure reason for a page that is an anti-bot check, a login wall or a "访问受限"
    notice instead of the expected list: says so and names the page's title. None for others."""
    head = html[:65536]
    title = _title_of(head.encode("utf-8", errors="replace"))
    visible = _text(head)[:2000]
    hit = _BLOCKED_TITLE.search(title) or _BLOCKED_TEXT.search(visible)
    if not hit:
        return None
    shown = f"（页面标题「{title}」）" if title else f"（页面中有「{hit.group(0)}」）"
    return f"收到的是验证码/访问受限页面{shown}，没有读到内容 / got an anti-bot or access-denied page"


def _page_title(text: str) -> str:
    """'（页面标题「…」）' for a failure reason, or "" when the page has no title."""
    title = _title_of(text[:65536].encode("utf-8", errors="replace"))
    return f"（页面标题「{title}」）" if title else ""


def _capped(read: SourceRead, cap: int) -> SourceRead:
    """One post per item key (`_unique`: a feed listing an entry twice), and at most `cap`
    posts of a run: the newest by publication time (posts without one after those with, in
    page order: a list is newest first), told in the run's warning."""
    read.posts = _unique(read.posts)
    n = len(read.posts)
    if n <= cap:
        return read
    order = sorted(range(n), key=lambda i: (read.posts[i].published_at is None, -(_ts(read.posts[i]) or 0), i))
    keep = sorted(order[:cap])  # in page order again
    read.posts = [read.posts[i] for i in keep]
    note = f"本次共 {n} 条，只读取最新的 {cap} 条（[collection] max_items）"
    read.warning = f"{read.warning}；{note}" if read.warning else note
    return read


def _ts(post: Post) -> float | None:
    return post.published_at.timestamp() if post.published_at is not None else None


def _unique(posts: list[Post]) -> list[Post]:
    """One post per item key, the first: the same article twice on a page (a pinned copy, a
    tracking variant of its link), an API's duplicate ids, one result found by two queries."""
    seen: set[str] = set()
    out = []
    for p in posts:
        if p.item_key not in seen:
            seen.add(p.item_key)
            out.append(p)
    return out


# the words of a list's own links: its pages and sections, never an article's title
_NAV_WORDS = frozenset(
    {
        "更多",
        "查看更多",
        "下一页",
        "上一页",
        "首页",
        "尾页",
        "末页",
        "返回",
        "返回列表",
        "返回首页",
        "more",
        "next",
        "prev",
        "»",
        "«",
    }
)


# how a site's sections are named (新闻中心, 通知公告, 政务公开, 工作动态): a short name ending so,
# on a folder link, is a section, not an article (张建国情况 on a folder link is one)
_SECTION_ENDS = (
    "新闻",
    "要闻",
    "动态",
    "公告",
    "通知",
    "中心",
    "专题",
    "专栏",
    "频道",
    "首页",
    "列表",
    "栏目",
    "资讯",
    "公开",
    "服务",
    "互动",
    "概况",
    "导航",
    "信息",
)
_NAV_EDGE = re.compile(r"^[\s\[【<《]+|[\s\]】>》»]+$")  # 【更多】, 更多>>, 更多 »


def _section_link(title: str, link: str | None) -> bool:
    """A pager or section link the item selector also matched: a pager's word (更多, 下一页),
    or a page number or a section's short name (at most 6 characters, ending as sections are
    named: 新闻中心, 通知公告) on a link to a folder (`/news/`, `/list/2/`, `?page=2`) — an
    article's link names a page, and its title says more."""
    words = _NAV_EDGE.sub("", title).lower() or title.strip()
    if words in _NAV_WORDS:
        return True
    if not link or len(words) > 6 or not (words.isdigit() or words.endswith(_SECTION_ENDS)):
        return False
    parts = urlsplit(link)
    return parts.path.endswith("/") or bool(re.search(r"(?:^|&)(?:page|p|pn|start)=\d+", parts.query))


def _navigation(link: str | None, page_url: str, aliases: dict[str, str] | None) -> bool:
    """A link back to the list page itself or to its site's home page: navigation (首页, 本版),
    never an article, whatever the item selector matched."""
    if not link:
        return False
    key = canonical_url(link, aliases)
    home = urljoin(page_url, "/")
    return key in (canonical_url(page_url, aliases), canonical_url(home, aliases))


def _node_text(node, selector: str | None) -> str | None:
    if not selector:
        return None
    found = node.css_first(selector)
    return clean(found.text(separator=" ")) if found is not None else None


def parse_html(
    source: Source,
    html: str,
    base_url: str,
    aliases: dict[str, str] | None = None,
    *,
    now: datetime | None = None,
    results: bool = False,
) -> list[Post]:
    """The posts of a list page read with the source's selectors (times judged by `now`, as
    in `parse_feed`). Relative links resolve against the page's `<base href>`, else its URL.

    :raises CollectError: the page is nested too deep to parse, is an anti-bot or access-denied
        page, or its item selector matches nothing (a search's result page, `results`, may
        have no results) or nothing with a title: the reason names the selector."""
    sel = source.selectors
    if sel is None:  # the config requires them of an html source
        raise CollectError(f"来源 {source.id} 没有 selectors / source {source.id} has no selectors")
    depth = _html_depth(html)
    if depth > MAX_HTML_DEPTH:
        raise CollectError(
            f"网页嵌套过深（超过 {MAX_HTML_DEPTH} 层），不予解析 / HTML nested {depth} levels deep "
            f"(limit {MAX_HTML_DEPTH})"
        )
    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style"])  # their content is code, not a title or text
    base = tree.css_first("base[href]")
    if base is not None:
        base_url = web_link(base.attributes.get("href"), base_url) or base_url
    posts = []
    times = _Times(source.id, now)
    nodes = tree.css(sel.item)
    navigation = 0
    for node in nodes:
        title = _node_text(node, sel.title) or ""
        link_node = node.css_first(sel.link) if sel.link else None
        href = link_node.attributes.get("href") if link_node is not None else None
        link = web_link(href, base_url) if href else None
        if not title:
            continue
        if _navigation(link, base_url, aliases) or _section_link(title, link):
            navigation += 1
            continue
        when = _node_text(node, sel.time)
        posts.append(
            Post(
                source_id=source.id,
                item_key=item_key(source.id, link, None, title, aliases),
                title=title,
                text=_node_text(node, sel.text) or "",
                url=link,
                published_at=times.read(lambda v: parse_time(v, now=times.now), when),
                replies=_count(_node_text(node, sel.replies)),
                views=_count(_node_text(node, sel.views)),
            )
        )
    times.log()
    if not posts:
        blocked = _blocked_page(html)
        if blocked:
            raise CollectError(blocked)
        if not nodes and not results:
            raise CollectError(
                f"选择器 item「{sel.item}」在页面上没有匹配到任何条目，网页可能已改版{_page_title(html)} / "
                f"item selector {sel.item!r} matched nothing"
            )
        if nodes and len(nodes) == navigation:
            raise CollectError(
                f"选择器 item「{sel.item}」只匹配到导航链接（首页、本页），网页可能已改版 / "
                f"item selector {sel.item!r} matched only navigation links"
            )
        if nodes:
            raise CollectError(
                f"选择器 item「{sel.item}」匹配到 {len(nodes)} 条，但标题选择器 title「{sel.title}」都没有取到文字 / "
                f"title selector {sel.title!r} found no text in {len(nodes)} items"
            )
    if navigation:
        log.info("source %s: skipped %d navigation link(s) (the list page or the home page)", source.id, navigation)
    return posts


def _path(obj, path: str | None):
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_chars(obj):
    """JSON's '\\ud800' escapes decode to lone surrogates, which no database or chat can take:
    each becomes U+FFFD (a proper pair was already joined into one character by json)."""
    if isinstance(obj, str):
        return _LONE_SURROGATE.sub("\ufffd", obj)
    if isinstance(obj, list):
        return [_whole_chars(v) for v in obj]
    if isinstance(obj, dict):
        return {_whole_chars(k): _whole_chars(v) for k, v in obj.items()}
    return obj


def _scalar(value: object) -> str:
    """A JSON field read as text: a string, or a number written out; "" for anything else
    (null, true/false, an object, a list, NaN, Infinity, 1e999: never "nan" or "inf")."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


# a JSONP answer: callback({...}); optionally after a /**/ guard
_JSONP_HEAD = re.compile(r"\s*(?:/\*\*/\s*)?[A-Za-z_$][\w$.]*\s*\(")
_JSONP = re.compile(r"^\s*(?:/\*\*/\s*)?[A-Za-z_$][\w$.]*\s*\(\s*(.*?)\s*\)\s*;?\s*$", re.DOTALL)


def _json_data(text: str):
    """The JSON value of an API's answer: a BOM is dropped and a JSONP callback unwrapped.

    :raises CollectError: a web page (an error or anti-bot page served with 200), or text that
        is not JSON, is nested too deep, or holds a number too long to read."""
    text = text.lstrip("\ufeff")
    m = _JSONP.match(text) if _JSONP_HEAD.match(text) else None
    if m:
        text = m.group(1)
    try:
        return _whole_chars(json.loads(text))
    except json.JSONDecodeError as e:
        page = _html_page(text.encode("utf-8", errors="replace"), ("JSON", "JSON"))
        if page is not None:
            raise CollectError(_blocked_page(text) or page) from e
        raise CollectError(f"JSON 无法解析 / JSON not parseable: {e.msg} (line {e.lineno})") from e
    except RecursionError as e:
        raise CollectError("JSON 嵌套过深，无法解析 / JSON nested too deep") from e
    except ValueError as e:  # an integer of more than 4300 digits
        raise CollectError(f"JSON 无法解析（数字过长） / JSON not parseable: {e}") from e


def parse_json(
    source: Source, text: str, base_url: str, aliases: dict[str, str] | None = None, *, now: datetime | None = None
) -> list[Post]:
    """The posts of an API answer read with the source's dotted paths (times judged by `now`,
    as in `parse_feed`)."""
    f = source.fields
    if f is None:  # the config requires them of a json source
        raise CollectError(f"来源 {source.id} 没有 fields / source {source.id} has no fields")
    data = _json_data(text)
    items = _path(data, f.items)
    if not isinstance(items, list):
        raise CollectError(f"JSON 中找不到列表 {f.items!r} / no list at {f.items!r}")
    posts = []
    times = _Times(source.id, now)
    for it in items:
        if not isinstance(it, dict):
            continue
        # a field of an unexpected type (an object, a list, true) is missing, never its Python
        # repr ("{'zh': …}", "True"); markup and entities in a title (a search API's
        # <em>highlight</em>, &quot;) are read as in a feed's title
        title = _text(_scalar(_path(it, f.title)))
        link = _path(it, f.link)
        link = web_link(link, base_url)
        if not title:
            continue
        text = _scalar(_path(it, f.text)) if f.text else ""
        ts = _path(it, f.time) if f.time else None
        published = times.read(lambda v: _json_time(v, times.now), ts)
        posts.append(
            Post(
                source_id=source.id,
                item_key=item_key(source.id, link, _scalar(it.get("id")) or None, title, aliases),
                title=title,
                text=_text(text),
                url=link,
                published_at=published,
                replies=_count(_path(it, f.replies)) if f.replies else None,
                views=_count(_path(it, f.views)) if f.views else None,
                reposts=_count(_path(it, f.reposts)) if f.reposts else None,
            )
        )
    times.log()
    if items and not posts:  # a list of something, but nothing with a title where `title` points
        raise CollectError(
            f"JSON 列表「{f.items}」有 {len(items)} 项，但都没有取到标题字段「{f.title}」 / "
            f"none of the {len(items)} items at {f.items!r} has a text title at {f.title!r}"
        )
    return posts


def _parse(source, kind: str, res, aliases, now: datetime, results: bool = False) -> list[Post]:
    text, url = res.text, res.url
    if kind == "rss":
        # already decoded from evidence by the fetcher; still only ever parsed, never opened
        return parse_feed(source.id, text, aliases, url=url, now=now)
    if kind == "html":
        return parse_html(source, text, url, aliases, now=now, results=results)
    return parse_json(source, text, url, aliases, now=now)


def search_queries(source: Source, config: Config) -> list[str]:
    if source.queries:
        return list(source.queries)
    wl = config.watchlist
    return [c.name for c in wl.cadres] + [u.name for u in wl.units]


def host_key(source) -> str:
    """The host a source's requests go to (its politeness lane); a file or a source without a
    host is a lane of its own."""
    if getattr(source, "is_http", False):
        parts = urlsplit(source.url)
        if parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return f"source:{source.id}"


def host_lanes(sources) -> dict[str, list]:
    """Sources grouped by host, in config order within each host."""
    out: dict[str, list] = {}
    for s in sources:
        out.setdefault(host_key(s), []).append(s)
    return out


async def read_source(
    source: Source,
    config: Config,
    fetcher: Fetcher | None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> SourceRead:
    """Read one configured source. Publication times are judged by the fetch time, the
    fetcher's clock (`plausible_time`).

    :raises CollectError: the file or URL could not be read or parsed.
    """
    aliases = config.collection.host_aliases
    now = fetcher.clock() if fetcher is not None else system_clock()
    if not source.is_http:
        path = config.resolve_path(source.url)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise CollectError(f"无法读取文件 / cannot read {path}: {e.strerror}") from e
        read = SourceRead(await offload.cpu(parse_feed, source.id, data, aliases, now=now))
        return _capped(read, config.collection.max_items)
    if fetcher is None:
        raise CollectError("no HTTP client")
    if source.kind == "search":
        # each query on its own: one that fails (the site refuses it, a captcha for that word)
        # costs only its own results; the run fails only when every query did
        out = SourceRead()
        queries = search_queries(source, config)
        failed: list[str] = []
        for q in queries:
            url = source.url.replace("{query}", quote(q, safe=""))  # '/', '&', '+', '#' are the query's
            try:
                res = await fetcher.get(url)
                out.posts += await offload.cpu(_parse, source, source.format, res, aliases, now, True)  # off the loop
            except FetchError as e:
                failed.append(f"搜索“{q}”失败 / search for {q!r} failed: {e}")
            except CollectError as e:
                failed.append(f"搜索“{q}”：{e}")
        if failed and len(failed) == len(queries):
            more = f"（共 {len(failed)} 个关键词均失败 / all {len(failed)} queries failed）" if len(failed) > 1 else ""
            raise CollectError(failed[0] + more)
        if failed:
            more = f"（另有 {len(failed) - 1} 个）" if len(failed) > 1 else ""
            out.warning = f"{len(queries)} 个关键词中 {len(failed)} 个失败，其余已抓取：{failed[0]}{more}"
        return _capped(out, config.collection.max_items)
    try:
        res = await fetcher.get(source.url, etag=etag, last_modified=last_modified)
    except FetchError as e:
        raise CollectError(str(e)) from e
    if res.not_modified:
        return SourceRead(not_modified=True, etag=res.etag or etag, last_modified=res.last_modified or last_modified)
    posts = await offload.cpu(_parse, source, source.kind, res, aliases, now)  # off the loop
    ttl = _feed_ttl(res.content) if source.kind == "rss" else None
    read = SourceRead(posts, etag=res.etag, last_modified=res.last_modified, ttl_minutes=ttl)
    return _capped(read, config.collection.max_items)


_TTL = re.compile(rb"<ttl>\s*(\d{1,5})\s*</ttl>", re.IGNORECASE)


def _feed_ttl(content: bytes) -> int | None:
    m = _TTL.search(content[:65536])
    return int(m.group(1)) if m else None


_GENERIC = {"com", "net", "org", "gov", "edu", "ac", "co", "mil", "int"}


def same_site(url: str, source_url: str, aliases: dict[str, str] | None = None) -> bool:
    """Whether a scraped detail link stays on the source's site: http(s), and the same host
    (host aliases mapped) or another host under the source host's parent domain
    (news.yc.gov.cn for a list on www.yc.gov.cn; never under a bare suffix such as gov.cn,
    never for an IP address). A list page cannot send the collector to 127.0.0.1, an
    internal name or a file."""
    try:
        a, b = urlsplit(url), urlsplit(source_url)
        ha, hb = (a.hostname or "").lower().rstrip("."), (b.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if a.scheme.lower() not in ("http", "https") or not ha:
        return False
    aliases = aliases or {}
    ha, hb = aliases.get(ha, ha), aliases.get(hb, hb)
    if ha == hb:
        return a.port == b.port  # not another service on the same machine
    labels = hb.split(".")
    parent = labels[1:]
    if (
        len(parent) < 2
        or parent[0] in _GENERIC
        or hb.replace(".", "").isdigit()
        or ":" in hb
        or ha.replace(".", "").isdigit()
        or ":" in ha
    ):
        return False
    return ha.endswith("." + ".".join(parent))


async def fetch_body(fetcher: Fetcher, source: Source, post: Post, aliases: dict[str, str] | None = None) -> Post:
    """For html sources with a `body` selector: read the post's own page for its text — only
    on the source's own site (`same_site`); another link keeps the list's text."""
    sel = source.selectors
    if not (sel and sel.body and post.url):
        return post
    if not same_site(post.url, source.url, aliases):
        log.info("detail page %s of source %s: not on the source's site; not fetched", post.url[:200], source.id)
        return post
    try:
        res = await fetcher.get(post.url)
    except FetchError as e:
        log.info("detail page %s: %s", post.url, e)
        return post
    body = await offload.cpu(_detail_text, res.text, sel.body, post.url)
    return replace(post, text=body or post.text)


def _detail_text(html: str, selector: str, url: str) -> str | None:
    """The text at `selector` on a detail page; None for a page nested too deep to parse
    (`MAX_HTML_DEPTH`: the list's text is kept)."""
    if _html_depth(html) > MAX_HTML_DEPTH:
        log.warning("detail page %s is nested deeper than %d levels; not parsed", url[:200], MAX_HTML_DEPTH)
        return None
    return _node_text(LexborHTMLParser(html), selector)
