"""Chinese text helpers: normalisation and jieba segmentation with the watch-list as user dictionary."""

from __future__ import annotations

import bisect
import functools
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "Segmenter",
    "WideAutomaton",
    "clean",
    "configure_jieba",
    "fold",
    "fold_with_gaps",
    "is_boilerplate_line",
    "normalize",
    "preload_compiled_segmenter",
    "without_site_suffix",
]

log = logging.getLogger(__name__)
_WS = re.compile(r"\s+")
_lock = threading.Lock()
_ADDED: set[str] = set()  # words this process gave jieba already

# Characters of scripts written without spaces between words: Han (with radicals and
# compatibility ideographs), CJK punctuation, kana, bopomofo. A space between two of them
# separates nothing a reader sees as a word.
_CJK = (
    "\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
)
# The white space steps of `fold`, as regular expressions (`_fold_spaces` does what they do in
# one pass; tests/test_fold_fast.py runs them as the reference).
# horizontal whitespace only: a line break still separates (title / body, lines of a post)
_HSPACE = "[^\\S\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+"
_SPACED_CJK = re.compile(f"(?<=[{_CJK}]){_HSPACE}(?=[{_CJK}])")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LINE_BREAK_RUN = re.compile(r"\s*[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]\s*")
# once line-break runs are one "\n" each, every other whitespace run is horizontal
_HSPACE_RUN = re.compile(r"[^\S\n]+")
# Default-ignorable code points that are not format characters (Cf): combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, variation
# selectors, tag-range reserved code points.
_IGNORABLE_EXTRA_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF),
)  # fmt: skip


# The ranges `_format_ranges` finds in Unicode 14.0 (Python 3.11), so a process does not walk all
# 1.1 million code points at start-up (~0.5 s); any other Unicode version is walked.
_CF_RANGES = {
    "14.0.0": (
        (173, 173), (1536, 1541), (1564, 1564), (1757, 1757), (1807, 1807), (2192, 2193), (2274, 2274),
        (6158, 6158), (8203, 8207), (8234, 8238), (8288, 8292), (8294, 8303), (65279, 65279), (65529, 65531),
        (69821, 69821), (69837, 69837), (78896, 78904), (113824, 113827), (119155, 119162), (917505, 917505),
        (917536, 917631),
    ),
}  # fmt: skip


def _format_ranges() -> list[tuple[int, int]]:
    """Runs of code points of category Cf in this Python's Unicode database."""
    cf = [c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    ranges: list[tuple[int, int]] = []
    for c in cf:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return ranges


@functools.cache
def _invisible() -> re.Pattern[str]:
    """Every format character (category Cf: ZWSP, ZWJ, ZWNJ, soft hyphen, BOM, bidi marks, word
    joiner ...) and the other default-ignorable code points, from this Python's Unicode
    database so new format characters are covered without a hand-kept list."""
    ranges = _invisible_ranges()
    cls = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(f"[{cls}]+")


def _invisible_ranges() -> list[tuple[int, int]]:
    """The code point ranges `_invisible` removes."""
    return [*(_CF_RANGES.get(unicodedata.unidata_version) or _format_ranges()), *_IGNORABLE_EXTRA_RANGES]


@functools.cache
def _invisible_starts() -> tuple[list[int], list[int]]:
    merged: list[list[int]] = []  # the ranges overlap (the tags' Cf ranges lie inside U+E0000-E0FFF)
    for a, b in sorted(_invisible_ranges()):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [a for a, _ in merged], [b for _, b in merged]


def is_invisible(ch: str) -> bool:
    """Whether `fold` removes the character `ch` (a format character or another default-ignorable
    code point): the one definition command parsing (handlers.parsing) shares with matching."""
    starts, ends = _invisible_starts()
    c = ord(ch)
    k = bisect.bisect_right(starts, c) - 1
    return k >= 0 and c <= ends[k]


_INVISIBLE, _COMPAT = 1, 2


@functools.cache
def _char_flags():
    """For every code point whether `_invisible` removes it and `_compat_table` maps it: what
    a text holds is then one numpy lookup (`_seen_flags`)."""
    import numpy as np

    table = np.zeros(0x110000, dtype=np.uint8)
    for a, b in _invisible_ranges():
        table[a : b + 1] |= _INVISIBLE
    for c in _compat_table():
        table[c] |= _COMPAT
    return table


def _seen_flags(text: str) -> int | None:
    """The `_char_flags` of the characters of `text`, or-ed together (None for a text with a
    lone surrogate)."""
    import numpy as np

    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    return int(np.bitwise_or.reduce(_char_flags()[cp]))


@functools.cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@functools.cache
def _compat_table() -> dict[int, str]:
    """Each BMP character that NFKC changes to an already composed form (full-width ASCII,
    the ideographic and no-break spaces, …, ℃, ①) mapped to its whole compatibility
    decomposition: the text translated by it has the same decomposition as the text, so the
    same NFKC form."""
    table = {}
    for c in range(0x10000):
        ch = chr(c)
        d = unicodedata.normalize("NFKD", ch)
        if d != ch and unicodedata.normalize("NFKC", ch) == d:
            table[c] = d
    return table


@functools.cache
def _compat_chars() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern matching any character of `_compat_table`, and the table by character."""
    table = {chr(c): d for c, d in _compat_table().items()}
    return re.compile("[" + "".join(re.escape(c) for c in table) + "]"), table


def _nfkc(text: str, compat: bool = True) -> str:
    """`unicodedata.normalize("NFKC", text)`, faster for Chinese text: most of it is already
    NFKC but for full-width punctuation (，：（）) and the like, which `_compat_table` folds
    (each distinct one replaced at once: what replaces a character is fully decomposed, so it
    holds none of the table's characters, and the order does not matter); the full
    normalisation runs only when the quick check still finds something. `compat` False: the
    caller knows the text holds none of the table's characters."""
    if compat:
        pattern, table = _compat_chars()
        for c in set(pattern.findall(text)):
            text = text.replace(c, table[c])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


_SITE_SEP = re.compile(r"_| - |-|\|")  # where a site's name or section follows a title
SITE_SUFFIX_CHARS = 12  # a trailing segment at most this long is a site's name or section


def without_site_suffix(title: str) -> int:
    """The length of `title` without its trailing site names and sections (…乱扣费_投诉举报_
    投诉直通车_华声在线 -> …乱扣费); a long trailing segment is the title itself (德兴市政府
    信息公开 - 郭峰接访:关注民生…), and at least 6 characters are kept. The analyser's headline
    (jobs.analyse) and the clustering's (core.cluster.headline) both end here."""
    end = len(title)
    while True:
        seps = list(_SITE_SEP.finditer(title, 0, end))
        if not seps:
            return end
        last = seps[-1]
        if last.start() < 6 or end - last.end() > SITE_SUFFIX_CHARS:
            return end
        end = last.start()


def normalize(text: str) -> str:
    """NFKC (full-width letters/digits to half-width), collapse whitespace."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()


def fold(text: str) -> str:
    """The form of a text used for MATCHING only (watch-list terms, their posts, search); never
    stored or shown. Removes what hides a term from a matcher but not from a reader:

    - format / default-ignorable characters (ZWSP, ZWJ, soft hyphen, BOM, bidi marks ...);
    - NFKC (full-width letters and digits, compatibility ideographs);
    - traditional -> simplified (OpenCC t2s, phrase-aware);
    - whitespace: a run containing a line break becomes one "\\n", any other run one space;
    - whitespace between two CJK characters on the same line ("张 建 国", "张\u3000建国"); Latin
      words keep their spaces, and a line break still separates (a title and its body are not
      glued into one word).

    Idempotent: fold(fold(x)) == fold(x).

    A short text (a title, a term, a sentence) is folded once and kept (`_fold_short`): a
    post's title is folded by the analyser, the clustering and the search index in turn.
    """
    if not text:
        return ""
    if len(text) <= FOLD_CACHE_CHARS:
        return _fold_short(text)
    return fold_with_gaps(text)[0]


FOLD_CACHE_CHARS = 200  # texts up to this long are kept folded (`fold`)


@functools.lru_cache(maxsize=4096)
def _fold_short(text: str) -> str:
    return fold_with_gaps(text)[0]


def fold_with_gaps(text: str) -> tuple[str, frozenset[int]]:
    """`fold(text)` and the offsets in it where whitespace between two CJK characters was
    dropped and looks like a word break — not where single characters were spaced out one by
    one. A matcher may count these as token boundaries, so joining never costs the match in
    "张建国 国庆期间"."""
    if not text:
        return "", frozenset()
    seen = _seen_flags(text) if len(text) >= FLAGS_FROM_CHARS else None
    if seen is None:
        t = _nfkc(_invisible().sub("", text))
    else:  # a step with nothing to do is skipped
        t = _invisible().sub("", text) if seen & _INVISIBLE else text
        t = _nfkc(t, compat=bool(seen & _COMPAT))
    t = _t2s().convert(t)
    out, gaps = _fold_spaces(t)
    if not gaps:
        return out, frozenset()
    return out, _word_gaps(out, gaps)


FLAGS_FROM_CHARS = 256  # a text this long is looked up (`_seen_flags`) before it is folded


def _fold_spaces(t: str) -> tuple[str, list[int]]:
    """The white space steps of `fold_with_gaps` in one pass: what `_LINE_BREAK_RUN` and
    `_HSPACE_RUN` (after a strip), then `_SPACED_CJK` make of it. A run at either end is dropped
    (strip), one holding a line break becomes "\\n", one between two CJK characters goes (its
    offset in the result is a gap), any other becomes " ". Worked out by `str.splitlines` (it
    breaks at the characters `_LINE_BREAK_RUN` counts as line breaks) and `str.split` (white
    space as `\\s` has it), C loops, rather than a regular expression stepping through every
    character (a third of the time): a line of white space only is part of the line break run
    around it, and the words of a line are joined as the runs between them say."""
    parts: list[str] = []
    gaps: list[int] = []
    add = parts.append
    cjk = _CJK_CHAR.match
    size = 0
    for line in t.splitlines():
        words = line.split()
        if not words:
            continue  # white space only: part of the line break run around it
        if size:
            add("\n")
            size += 1
        prev = words[0]
        add(prev)
        size += len(prev)
        for word in words[1:]:
            if cjk(prev, len(prev) - 1) and cjk(word):
                gaps.append(size)
            else:
                add(" ")
                size += 1
            add(word)
            size += len(word)
            prev = word
    return "".join(parts), gaps


def _word_gaps(out: str, gaps: list[int]) -> frozenset[int]:
    """Of the offsets in `out` where white space between CJK characters was dropped, those
    that look like a word break."""
    at = set(gaps)

    def single(i: int) -> bool:  # the character at i stands alone between breaks
        return (i == 0 or i in at or not _CJK_CHAR.match(out, i - 1)) and (
            i + 1 == len(out) or i + 1 in at or not _CJK_CHAR.match(out, i + 1)
        )

    # "张 建 国 际 贸 易" is spaced letter by letter: those spaces say nothing about words
    return frozenset(g for g in gaps if not (single(g - 1) and single(g)))


class WideAutomaton:
    """An Aho-Corasick automaton over many words (thousands of place names), searched as UTF-16
    code units: `iter(text)` yields what `ahocorasick.Automaton.iter(text)` does — (end offset,
    value) for every occurrence, in the same order — about three times faster. pyahocorasick
    finds a node's child by a linear scan, and the root of a large CJK vocabulary has a child
    for every one of ~1,300 first characters; spelt two units a character, each node has a
    few dozen. A match ending at an even unit starts inside a character and is dropped. A text
    with a character outside the BMP (two units) is searched by the plain automaton, which
    alone holds the words that have one (they cannot occur in a text without)."""

    def __init__(self, words: Iterable[tuple[str, object]]):
        import ahocorasick

        self._plain = ahocorasick.Automaton()
        self._wide = ahocorasick.Automaton()
        for word, value in words:
            self._plain.add_word(word, value)
            wide = _units(word)
            if len(wide) == 2 * len(word):
                self._wide.add_word(wide, value)
        for a in (self._plain, self._wide):
            if len(a):
                a.make_automaton()

    def iter(self, text: str):
        if not len(self._plain):
            return
        wide = _units(text)
        if len(wide) != 2 * len(text) or not len(self._wide):
            yield from self._plain.iter(text)
            return
        for end, value in self._wide.iter(wide):
            if end & 1:
                yield end >> 1, value


def _units(text: str) -> str:
    """`text` as its UTF-16 code units, each unit's two bytes a character of its own."""
    return text.encode("utf-16-be", "surrogatepass").decode("latin-1")


# A scraped page's line that is no sentence of the story: where it is from and when (来源：九江市纪委监委
# 2025-02-27, 隆回县纪委监委 2025年4月22日 18:03 湖南, 澎湃新闻 2025-05-20 11:04), where on the site
# (网易新闻 > 国内 > 正文, 当前位置：首页), who wrote or edited it, a bare column label (【今日要闻】)
_DATED = re.compile(r"\d{4}\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}|\d{1,2}:\d{2}")
_SITE_LINE = re.compile(
    r"^\s*(?:来源|发布时间|发布日期|发布者|作者|编辑|责任编辑|责编|审核|通讯员|记者|字号|浏览次数|点击数|阅读数|分享到?|当前位置|您的位置|"
    r"您当前的位置)\s*[:：]|[>›»]\s*\S+\s*[>›»]|^\s*首页\s*[>›»]|^\s*【[^】]{1,12}】\s*$"
)


def is_boilerplate_line(line: str) -> bool:
    """Whether `line` (one line of a scraped page) is its source, date, place on the site, byline
    or a column label rather than a sentence of the story (no clause commas, at most 60 characters)."""
    s = line.strip()
    if not s or len(s) > 60 or any(c in s for c in "，,。！？!?；;"):
        return False
    return bool(_SITE_LINE.search(s) or _DATED.search(s))


def clean(text: str) -> str:
    """For display and storage: collapse whitespace only, keeping Chinese punctuation as written."""
    return _WS.sub(" ", text or "").strip()


def configure_jieba(fallback: Path) -> Path:
    """Put jieba's dictionary cache beside the bot's other derived caches
    (`core.cachefile.cache_dir()`: one file for every data folder and process of the user, so a
    new data folder or a test's does not rebuild it for 1.3 s), or in `fallback` (the data
    folder) when that directory cannot be made; and quiet jieba's logging. Returns the
    directory used."""
    import jieba

    from core.cachefile import cache_dir

    with _lock:
        jieba.setLogLevel(logging.WARNING)
        for directory in (cache_dir(), fallback):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                log.warning("cannot make the cache directory %s: %s", directory, e)
                continue
            break
        jieba.dt.tmp_dir = str(directory)
        jieba.dt.cache_file = "jieba.cache"
        return directory


def ready(tk) -> None:
    """`tk.check_initialized()`, with jieba's cache of its default dictionary read whole first:
    jieba reads it with `marshal.load` on the open file, which reads a 9 MB file in small pieces
    (1.5 s of CPU at every start of the bot, of `yuqing` commands and of each test worker);
    `marshal.loads` of its bytes gives the same (FREQ, total) in 0.5 s. Any other dictionary, a
    missing or unreadable cache: jieba's own way (which also writes the cache)."""
    if not tk.initialized:
        _initialize(tk)


def _initialize(tk) -> None:
    import marshal
    import os
    import tempfile

    import jieba

    with tk.lock:
        if tk.initialized:
            return
        if tk.dictionary is jieba.DEFAULT_DICT:  # where jieba keeps that cache (configure_jieba names it)
            cache = os.path.join(tk.tmp_dir or tempfile.gettempdir(), tk.cache_file or "jieba.cache")
            try:
                with open(cache, "rb") as f:
                    freq, total = marshal.loads(f.read())
                if isinstance(freq, dict) and isinstance(total, int | float) and freq:
                    tk.FREQ, tk.total = freq, total
                    tk.initialized = True
                    return
            except (OSError, ValueError, EOFError, TypeError):
                pass  # jieba builds it again from the dictionary file
    tk.check_initialized()


class Segmenter:
    """jieba tokenizer that knows the watch-list terms, so a cadre's name is one token.

    One process-wide jieba dictionary is shared; adding words is idempotent.
    """

    def __init__(self, words: Iterable[str] = (), tags: Mapping[str, str] | None = None):
        """`tags`: a part-of-speech tag for some of the words (a watched cadre's name: "nr", so
        the officials' tagger sees a person's name next to a title, 江北区副区长刘海燕)."""
        import jieba

        tags = tags or {}
        self._words = sorted({w for w in words if w})
        with _lock:
            # jieba's add_word raises a known word's frequency by one on every call: repeated
            # (an App per test, per backtest), the name outweighs every other split.
            for w in self._words:
                if w in tags and w in _ADDED and jieba.dt.user_word_tag_tab.get(w) != tags[w]:
                    jieba.dt.user_word_tag_tab[w] = tags[w]  # added before without its tag
            new = [w for w in self._words if w not in _ADDED]
            if new:
                ready(jieba.dt)
                compiled = _compiled_now(jieba.dt)  # made before the first word is added
            for w in new:
                old = jieba.dt.FREQ.get(w, 0)
                # jieba's suggested frequency: the term can be cut out as one token, but a
                # more likely split still wins ("张建国际贸易" -> 张建 / 国际贸易).
                jieba.add_word(w, tag=tags.get(w))
                _ADDED.add(w)
                if compiled is not None:
                    compiled.added(w, old)

    def tokens(self, text: str) -> list[str]:
        """Tokens of the folded text (see `fold`), as the matcher reads them."""
        return self.folded_tokens(fold(text))

    def folded_tokens(self, folded: str) -> list[str]:
        """`tokens` of a whole text `fold` returned (folding it again would change nothing)."""
        import jieba

        return [t for t in lcut(jieba.dt, folded, _BLOCKS) if t.strip()]


def preload_compiled_segmenter() -> None:
    """Import jieba-rs now: the import builds its dictionary (~26 MB) in one native call that
    holds the GIL for 0.15-0.3 s, stalling every other thread (the asyncio loop too). A
    process that serves chats calls this before it serves them, so that the analyser, built in
    a thread of its own meanwhile, does not do it while they are served."""
    try:
        import rjieba  # noqa: F401
    except ImportError:  # pragma: no cover - rjieba is a dependency
        pass


def _compiled_now(tk) -> CompiledDictionary | None:
    """`compiled_for(tk)` for `Segmenter` (which holds `_lock`): made now if it can be, before
    the first word is added."""
    global _COMPILED, _COMPILED_TRIED
    if _COMPILED is None and not _COMPILED_TRIED and not _ADDED and tk.dictionary is None:
        _COMPILED_TRIED = True
        log = logging.getLogger(__name__)
        try:
            c = CompiledDictionary(tk)
        except ImportError:  # pragma: no cover - rjieba is a dependency
            log.warning("jieba-rs (rjieba) is not installed: segmenting in Python")
            return None
        if c.agrees():
            _COMPILED = c
        else:  # pragma: no cover - a jieba-rs whose dictionary is not jieba's
            log.warning("jieba-rs cuts differently from jieba: segmenting in Python")
    return _COMPILED if _COMPILED is not None and _COMPILED.current() else None


class BlockCache(dict):
    """The tokens of recently segmented blocks (jieba's stretches between punctuation) of one
    tokenizer: the analyser cuts a relevant post's hit blocks and then its whole text, and
    reposts share most blocks. Emptied when the dictionary changes (its total frequency or
    size: every `add_word` raises one) and when `MAX` blocks are held (~3 MB). `routes` keeps
    each block's `route` too: the officials tagger (`core.officials.tag`) walks the same route
    through the lead's blocks before tagging them."""

    MAX = 5_000

    def __init__(self) -> None:
        super().__init__()
        self.key: tuple = ()
        self.routes: dict[str, list[int]] = {}

    def check(self, tk) -> None:
        key = _dictionary_key(tk)
        if key != self.key or len(self) >= self.MAX:
            self.clear()
            self.routes.clear()
            self.key = key


_BLOCKS = BlockCache()


def known_routes(tk) -> dict[str, list[int]]:
    """The `route` of each block the segmenter cut lately, by block, while `tk`'s dictionary is
    the one they were walked through (empty otherwise): what `route(block, ...)` returns."""
    return _BLOCKS.routes if _BLOCKS.key == _dictionary_key(tk) else {}


# The blocks jieba-rs cuts exactly as jieba does: CJK ideographs, ASCII letters and digits. It
# keeps a run like 2018-12-01 or vip.sina.com as one token where jieba splits it at the
# punctuation, so a block with +#&._%- goes to the Python route.
_COMPILED_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9]+")
_HAN_BLOCK = re.compile(r"[\u4E00-\u9FD5]+")


class CompiledDictionary:
    """jieba-rs (the `rjieba` package: jieba's algorithm, dictionary and HMM compiled in Rust,
    about ten times faster) holding exactly `jieba.dt`'s dictionary, so that it cuts a block
    of `_COMPILED_BLOCK` into the same tokens as jieba (tests/test_segment_fast.py checks both
    on real posts). jieba-rs starts from the dictionary file jieba's own is read from; it is
    made while jieba's is still that file's (before the `Segmenter` adds a word), and each word
    the `Segmenter` adds later is passed on with jieba's frequency. A word no block can contain
    carries the difference between jieba's total frequency and jieba-rs's, the sum of its
    words' (jieba counts a word the file lists twice twice, and its `add_word` adds a known
    word's new frequency without taking off the old one): a route's sums are jieba's. A change
    to jieba's dictionary made another way (its size or total is not the last one seen) turns
    it off: the Python route again."""

    PAD = "\ue000\ue000"  # a private-use pair: no `_COMPILED_BLOCK` contains it
    # a few lines to check at the start that jieba-rs reads the same dictionary as jieba
    PROBE = ("市交通运输局局长回应网友质疑", "南京市长江大桥", "张建国际贸易公司2018年营收", "乒乓球拍卖完了")

    def __init__(self, tk, cutter=None) -> None:
        """`tk`: a jieba tokenizer with its default dictionary, no word added yet; `cutter`: a
        new `rjieba.Jieba()`, or by default the one `import rjieba` made for its module-level
        functions (each holds a dictionary of ~26 MB; nothing else here uses that one)."""
        import rjieba

        self.tk = tk
        # jieba-rs cuts without holding the GIL, and a word added meanwhile would fail
        # ("Already borrowed"): one cut or change at a time
        self.lock = threading.Lock()
        self.cutter = cutter if cutter is not None else getattr(rjieba.cut, "__self__")  # noqa: B009
        self.sum = sum(tk.FREQ.values())  # jieba's prefixes of words are there with frequency 0
        self._pad()

    def agrees(self) -> bool:
        return all(self.cut(t) == lcut(self.tk, t, compiled=False) for t in self.PROBE)

    def _pad(self) -> None:
        self.cutter.add_word(self.PAD, max(self.tk.total - self.sum, 0), None)
        self.key = _dictionary_key(self.tk)

    def current(self) -> bool:
        return self.key == _dictionary_key(self.tk)

    def added(self, word: str, old: int) -> None:
        """jieba's `add_word(word)` has just replaced the word's frequency `old` (0: new)."""
        new = self.tk.FREQ[word]
        with self.lock:
            self.cutter.add_word(word, new, None)
            self.sum += new - old
            self._pad()

    def cut(self, block: str) -> list[str]:
        with self.lock:
            return self.cutter.cut(block, True)

    def route(self, block: str) -> list[int] | None:
        """`route(block, ...)` of a block of CJK ideographs alone (where jieba's cut without
        its HMM is the route's words) along the route: from offset 0, the last offset of each
        word (an offset inside a word gets its word's end, where `route` has the best word
        starting there, which no reader walking the route looks at). None for any other block."""
        if not _HAN_BLOCK.fullmatch(block):
            return None
        end: list[int] = []
        x = 0
        with self.lock:
            words = self.cutter.cut(block, False)
        for word in words:
            x += len(word)
            end.extend([x - 1] * len(word))
        return end


_COMPILED: CompiledDictionary | None = None
_COMPILED_TRIED = False


def _dictionary_key(tk) -> tuple:
    return (id(tk), tk.total, len(tk.FREQ))


def compiled_for(tk) -> CompiledDictionary | None:
    """The compiled cutter holding `tk`'s dictionary: only jieba's default tokenizer has one,
    made on first use while its dictionary is still the file's (`Segmenter` makes sure of it
    before adding a word). None for another tokenizer, for one whose dictionary changed other
    than through the `Segmenter`, or without jieba-rs: the Python route then."""
    import jieba

    if tk is not jieba.dt:
        return None
    c = _COMPILED
    if c is not None or _COMPILED_TRIED:
        return c if c is not None and c.current() else None
    with _lock:
        ready(tk)
        return _compiled_now(tk)


def lcut(tk, text: str, cache: BlockCache | None = None, *, compiled: bool = True) -> list[str]:
    """`tk.lcut(text)` (jieba's accurate mode with HMM) for a `jieba.Tokenizer`, the same
    tokens computed faster: jieba's own algorithm — the DAG of dictionary words, the most
    probable route by the same floating-point sums, ties to the longer word, runs of single
    characters not in the dictionary to its HMM — in one loop per block, without the DAG dict,
    the route's tuples and the generators. tests/test_segment_fast.py checks it against jieba."""
    import jieba
    from jieba import finalseg

    ready(tk)
    if cache is not None:
        cache.check(tk)
    cutter = compiled_for(tk) if compiled else None
    fast = cutter.cut if cutter is not None else None
    force_split = finalseg.Force_Split_Words
    whole = _COMPILED_BLOCK.fullmatch
    freq = tk.FREQ
    logtotal = math.log(tk.total)
    get = freq.get
    out: list[str] = []
    add = out.append
    for blk in jieba.re_han_default.split(text):
        if not blk:
            continue
        if not jieba.re_han_default.match(blk):
            for x in jieba.re_skip_default.split(blk):
                if jieba.re_skip_default.match(x):
                    add(x)
                else:
                    out.extend(x)
            continue
        if cache is not None:
            hit = cache.get(blk)
            if hit is not None:
                out.extend(hit)
                continue
            start = len(out)
        if fast is not None and whole(blk):
            toks = fast(blk)
            # jieba splits a word its HMM found that `del_word` forbade (finalseg's
            # Force_Split_Words); jieba-rs does not know them: such a block takes the route below
            if not force_split or force_split.isdisjoint(toks):
                out.extend(toks)
                if cache is not None:
                    cache[blk] = tuple(toks)
                continue
        n = len(blk)
        end = route(blk, get, logtotal)
        if cache is not None:
            cache.routes[blk] = end
        x = 0
        buf = ""
        while x < n:
            y = end[x] + 1
            if y - x == 1:
                buf += blk[x]
            else:
                if buf:
                    _flush(buf, freq, finalseg, out)
                    buf = ""
                add(blk[x:y])
            x = y
        if buf:
            _flush(buf, freq, finalseg, out)
        if cache is not None:
            cache[blk] = tuple(out[start:])
    return out


def route(blk: str, get, logtotal: float) -> list[int]:
    """jieba's most probable route through a block (`Tokenizer.get_DAG` + `calc`): for each
    offset the last offset of the word that starts there. `get`: the dictionary's `FREQ.get`;
    `logtotal`: the log of its total frequency. The same floating-point sums as jieba's, and
    its tie-break (the longer word)."""
    log = math.log
    n = len(blk)
    score = [0.0] * (n + 1)
    end = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        best = 0.0
        bx = -1
        i = k
        frag = blk[k]
        while i < n:
            f = get(frag)
            if f is None:
                break
            if f:
                sc = log(f) - logtotal + score[i + 1]
                if bx < 0 or sc >= best:  # max((score, x)): a tie goes to the larger x
                    best, bx = sc, i
            i += 1
            frag = blk[k : i + 1]
        if bx < 0:
            best, bx = log(get(blk[k]) or 1) - logtotal + score[k + 1], k
        score[k] = best
        end[k] = bx
    return end


def _flush(buf: str, freq, finalseg, out: list[str]) -> None:
    if len(buf) == 1:
        out.append(buf)
    elif not freq.get(buf):
        _hmm_cut(buf, finalseg, out)
    else:
        out.extend(buf)


def _hmm_cut(sentence: str, finalseg, out: list[str]) -> None:
    """`out.extend(finalseg.cut(sentence))`: jieba's HMM for a run of characters its dictionary
    does not know, the same words computed faster (`_viterbi`)."""
    force_split = finalseg.Force_Split_Words
    for blk in finalseg.re_han.split(sentence):
        if finalseg.re_han.match(blk):
            pos = _viterbi(blk, finalseg)
            begin = nexti = 0
            for i, state in enumerate(pos):
                if state == "B":
                    begin = i
                elif state == "E" or state == "S":
                    word = blk[begin : i + 1] if state == "E" else blk[i]
                    if word in force_split:
                        out.extend(word)
                    else:
                        out.append(word)
                    nexti = i + 1
            if nexti < len(blk):
                word = blk[nexti:]
                if word in force_split:
                    out.extend(word)
                else:
                    out.append(word)
        else:
            out.extend(x for x in finalseg.re_skip.split(blk) if x)


def _viterbi(obs: str, finalseg) -> list[str]:
    """The state path (B, M, E, S per character) of `finalseg.viterbi(obs, "BMES", ...)`: the
    same sums in the same order and the same tie-breaks (`max` over (probability, state)
    pairs: on a tie the larger state letter), unrolled for its four states with back pointers
    instead of copied paths."""
    emit, trans, start = finalseg.emit_P, finalseg.trans_P, finalseg.start_P
    low = finalseg.MIN_FLOAT
    eb, em, ee, es = (emit[y] for y in "BMES")
    t_eb, t_sb = trans["E"].get("B", low), trans["S"].get("B", low)
    t_mm, t_bm = trans["M"].get("M", low), trans["B"].get("M", low)
    t_ss, t_es = trans["S"].get("S", low), trans["E"].get("S", low)
    t_be, t_me = trans["B"].get("E", low), trans["M"].get("E", low)
    c = obs[0]
    vb = start["B"] + eb.get(c, low)
    vm = start["M"] + em.get(c, low)
    ve = start["E"] + ee.get(c, low)
    vs = start["S"] + es.get(c, low)
    back: list[tuple[str, str, str, str]] = []  # for each step: the previous state of B, M, E, S
    for c in obs[1:]:
        e = eb.get(c, low)
        p1, p2 = ve + t_eb + e, vs + t_sb + e
        nb, fb = (p2, "S") if p2 >= p1 else (p1, "E")
        e = em.get(c, low)
        p1, p2 = vm + t_mm + e, vb + t_bm + e
        nm, fm = (p1, "M") if p1 >= p2 else (p2, "B")
        e = es.get(c, low)
        p1, p2 = vs + t_ss + e, ve + t_es + e
        ns, fs = (p1, "S") if p1 >= p2 else (p2, "E")
        e = ee.get(c, low)
        p1, p2 = vb + t_be + e, vm + t_me + e
        ne, fe = (p2, "M") if p2 >= p1 else (p1, "B")
        vb, vm, ve, vs = nb, nm, ne, ns
        back.append((fb, fm, fe, fs))
    state = "S" if vs >= ve else "E"
    path = [state]
    at = {"B": 0, "M": 1, "E": 2, "S": 3}
    for step in reversed(back):
        state = step[at[state]]
        path.append(state)
    path.reverse()
    return path
