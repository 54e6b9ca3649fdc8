"""Full-text search terms: CJK bigrams over folded text, for an FTS5 index.

The index holds, for every run of CJK characters, each pair of neighbouring characters and the
run's last character alone ("市交通运输局" -> 市交 交通 通运 运输 输局 局); Latin letters and
digits keep whole words ("G15" -> g15). A word typed by a person is then a phrase of its own
bigrams ("交通运输局" -> "交通 通运 运输 输局"), so it is found anywhere inside a longer word,
whatever jieba would have cut; one CJK character is a prefix query ("车"*). No dictionary, no
jieba: indexing costs a `fold` and a regex pass.

Everything runs on folded text (core.text.fold: traditional -> simplified, NFKC, invisible
characters removed), so "事業單位招聘" is found by "招聘". Query words are quoted, so FTS5
syntax typed by a user ('"', '*', NEAR, '-', '^') is never interpreted.
"""

from __future__ import annotations

import operator
import re
from functools import lru_cache
from itertools import pairwise

import numpy as np

from core.text import fold, fold_with_gaps

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "SearchQuery",
    "highlight",
    "index_folded",
    "index_post",
    "index_text",
    "parse_query",
    "snippet",
]

MAX_QUERY_CHARS = 60
MAX_TERMS = 8

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f\u3040-\u30ff\uac00-\ud7af"
# a CJK run, or a run of other letters/digits (Latin, Cyrillic ...): a word character that is
# neither "_" nor CJK
_RUN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")


def _runs(folded: str) -> list[tuple[bool, str]]:
    return [(bool(cjk), cjk or other) for cjk, other in _RUN.findall(folded.lower())]


def index_folded(folded: str) -> str:
    """Space-separated index tokens of an already folded text (`index_text` without the fold):
    each CJK run's bigrams and its last character, each other run whole. Worked out a
    character at a time with numpy (`_index_bmp`) for a longer text within the BMP, by the runs
    (`_index_runs`, the same string) otherwise: numpy's fixed cost outweighs the per-character
    work up to about `_RUNS_UP_TO` characters (a title)."""
    low = folded.lower()
    return _index_runs(low) if len(low) <= _RUNS_UP_TO else _index_array(low)


def _index_array(low: str) -> str:
    """`index_folded` of a lower-cased text by `_index_bmp` (by the runs outside the BMP)."""
    try:
        cp = np.frombuffer(low.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate
        return _index_runs(low)
    if not len(cp) or int(cp.max()) > 0xFFFF:
        return _index_runs(low)
    return _index_bmp(cp)


_RUNS_UP_TO = 100
_OTHER, _CJK_CLASS, _WORD = 0, 1, 2


@lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """For each BMP code point its class in `_RUN`: CJK, another word character, or neither."""
    table = np.zeros(0x10000, dtype=np.uint8)
    cjk = re.compile(f"[{_CJK}]")
    word = re.compile(f"[^\\W_{_CJK}]")
    for c in range(0x10000):
        ch = chr(c)
        if cjk.match(ch):
            table[c] = _CJK_CLASS
        elif word.match(ch):
            table[c] = _WORD
    return table


# 0-d arrays, not numpy scalars: an operation of an array with one is several times cheaper
_ZERO = np.array(0, dtype=np.uint32)
_SPACE = np.array(32, dtype=np.uint32)
_IS_OTHER, _IS_CJK, _IS_WORD = (np.array(c, dtype=np.uint8) for c in (_OTHER, _CJK_CLASS, _WORD))


def _index_bmp(cp: np.ndarray) -> str:
    """`_index_runs` of a lower-cased text given as its code points (all in the BMP): each
    character emits up to three code units — itself; the next one and a space when both are
    CJK (a bigram), a space when it ends a run — and the units left empty (0) are dropped."""
    cls = _classes()[cp]
    nxt = np.empty_like(cls)
    nxt[:-1] = cls[1:]
    nxt[-1] = _OTHER
    cjk = cls == _IS_CJK
    pair = cjk & (nxt == _IS_CJK)
    end = (cjk ^ pair) | ((cls == _IS_WORD) & (nxt != _IS_WORD))
    units = np.zeros((len(cp), 3), dtype=np.uint32)
    units[:, 0] = cp
    units[:, 0][cls == _IS_OTHER] = _ZERO
    units[:-1, 1] = cp[1:]
    units[:, 1][~pair] = _ZERO
    units[:, 1][end] = _SPACE
    units[:, 2][pair] = _SPACE
    out = units[units != _ZERO]
    # every token ends with its space: the last one's is dropped
    return out[:-1].tobytes().decode("utf-32-le") if len(out) else ""


def _index_runs(low: str) -> str:
    """`index_folded` of a lower-cased text, run by run."""
    out: list[str] = []
    add = out.append
    for cjk, other in _RUN.findall(low):
        if cjk:
            if len(cjk) > 1:
                add(" ".join(map(operator.add, cjk, cjk[1:])))  # the neighbouring pairs
            add(cjk[-1])
        else:
            add(other)
    return " ".join(out)


def index_text(text: str) -> str:
    """Space-separated index tokens of `text` (folded here)."""
    return index_folded(fold(text))


def index_post(title: str, text: str, folded: str | None = None) -> tuple[str, str]:
    """The index tokens of a post's title and body. `folded`: `fold(f"{title}\\n{text}")` when
    the caller has it already (the analyser folds the post so): the body's folded text is
    then its tail, and only the short title is folded again. Folding works line by line (no
    character, conversion or whitespace rule reaches across a line break), so the tail is
    `fold(text)`; when it does not look so (an empty body), the body is folded on its own."""
    title, text = title or "", text or ""
    ft = fold(title)
    if folded is None:
        return index_folded(ft), index_text(text)
    if not ft:  # no title: the whole folded text is the body's
        return "", index_folded(folded)
    if folded.startswith(ft) and folded[len(ft) : len(ft) + 1] == "\n":
        return index_folded(ft), index_folded(folded[len(ft) + 1 :])
    return index_folded(ft), index_text(text)


class SearchQuery:
    """An FTS5 MATCH expression and the folded words to highlight."""

    def __init__(self, match: str, words: list[str]):
        self.match = match
        self.words = words

    def __bool__(self) -> bool:
        return bool(self.match)


def _phrase(runs: list[tuple[bool, str]]) -> str:
    """One FTS5 phrase for consecutive runs of a typed word (no punctuation between them)."""
    toks: list[str] = []
    prefix = False
    for i, (cjk, run) in enumerate(runs):
        last = i == len(runs) - 1
        if not cjk:
            toks.append(run)
            continue
        if len(run) == 1:
            toks.append(run)
            prefix = last  # in the text this character may start a longer run
            continue
        toks.extend(run[j : j + 2] for j in range(len(run) - 1))
        if not last:  # in the text the run ends here: its tail token follows
            toks.append(run[-1])
    if not toks:
        return ""
    body = '"' + " ".join(t.replace('"', '""') for t in toks) + '"'
    return body + ("*" if prefix else "")


def parse_query(words: str) -> SearchQuery:
    """The typed words -> every word must occur (AND), each as a substring of the folded text.

    Whitespace separates words; punctuation inside a word separates its parts (each must occur).
    Callers cap the length first (MAX_QUERY_CHARS); at most MAX_TERMS parts are used."""
    phrases: list[str] = []
    shown: list[str] = []
    # fold the whole query: "张 建 国" (spaced out letter by letter) is one word, "张建国 公车"
    # two (fold_with_gaps reports where a dropped space was a word break)
    folded_all, gaps = fold_with_gaps(words)
    cuts = [0, *sorted(gaps), len(folded_all)]
    pieces = [folded_all[a:b] for a, b in pairwise(cuts)]
    for word in (w for piece in pieces for w in piece.split()):
        folded = word.lower()
        # parts: letters/digits/CJK glued together; anything else splits
        for part in re.split(r"[^\w]|_", folded):
            runs = _runs(part)
            p = _phrase(runs)
            if p and p not in phrases:
                phrases.append(p)
                shown.append("".join(r for _, r in runs))
    phrases = phrases[:MAX_TERMS]
    return SearchQuery(" AND ".join(phrases), shown[:MAX_TERMS])


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    f = fold(ch).lower()
    return f if len(f) <= 1 else ch.lower()


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Where the words occur in `text` (offsets in `text`), compared char by char folded;
    characters that fold to nothing (zero-width space ...) are skipped over, whitespace
    between CJK characters too."""
    at: list[int] = []  # offset in text of each character of norm
    chars: list[str] = []
    for i, c in enumerate(text):
        f = _fold_char(c)
        if f and not f.isspace():
            at.append(i)
            chars.append(f)
    norm = "".join(chars)
    spans: list[tuple[int, int]] = []
    for w in words:
        w = "".join(w.split())
        if not w:
            continue
        start = norm.find(w)
        while start != -1:
            spans.append((at[start], at[start + len(w) - 1] + 1))
            start = norm.find(w, start + len(w))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, words: list[str]) -> str:
    """`text` as stored, each occurrence of a searched word (compared folded) inside 【】."""
    out: list[str] = []
    last = 0
    for a, b in _spans(text, words):
        out.append(text[last:a])
        out.append(f"【{text[a:b]}】")
        last = b
    out.append(text[last:])
    return "".join(out)


def snippet(text: str, words: list[str], width: int = 40) -> str | None:
    """A short highlighted excerpt of `text` around its first match; None when nothing matches."""
    text = " ".join(text.split())
    spans = _spans(text, words)
    if not spans:
        return None
    a = max(0, spans[0][0] - width // 3)
    b = min(len(text), a + width)
    # keep whole highlights inside the cut
    cut = [(x, y) for x, y in spans if x >= a and y <= b]
    if not cut:
        b = spans[0][1]
    part = highlight(text[a:b], words)
    return ("…" if a > 0 else "") + part + ("…" if b < len(text) else "")
