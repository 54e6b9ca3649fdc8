"""The excerpt a card shows: the sentence(s) of a post around its matched terms, cut at sentence
boundaries (。！？；), at most `LIMIT` characters, with "…" where text was left out, and where
the matched words sit in it (for platforms that can set them in bold).

Pure: text in, text and offsets out. The excerpt is taken from the post as written (the card
shows what the source said); terms are looked for in the sentences as written and, when none
is found so, in the folded sentences (`core.text.fold`), so a term written with a stray space
or in traditional characters is still found; it is marked where folding kept the sentence's
length (the usual case) or the term appears as written."""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.text import fold

__all__ = ["ELLIPSIS", "LIMIT", "excerpt", "segments"]

LIMIT = 120  # characters of post text in an excerpt (the ellipses not counted)
ELLIPSIS = "…"
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』）)]*|\n|$)")


def _sentences(text: str) -> list[str]:
    # each sentence's white space runs made one space, stripped (str.split: the same characters as \s)
    return [s for s in (" ".join(g.split()) for g in _SENTENCE.findall(text)) if s]


def _marks(sentence: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each term in `sentence`, longest first, not overlapping."""
    folded = fold(sentence)
    hay = folded if len(folded) == len(sentence) else sentence
    spans: list[tuple[int, int]] = []
    for t in sorted(terms, key=len, reverse=True):
        start = hay.find(t)
        while start >= 0:
            end = start + len(t)
            if not any(a < end and start < b for a, b in spans):
                spans.append((start, end))
            start = hay.find(t, end)
    return sorted(spans)


def excerpt(text: str, terms: Iterable[str], limit: int = LIMIT) -> tuple[str, list[tuple[int, int]]]:
    """The sentence(s) of `text` around the first sentence holding the most `terms` (folded
    watch-list terms, officials, places), and the spans of the terms in it. Sentences after it
    (then before it) are added while they fit in `limit`; a sentence longer than `limit` is cut
    around its first term. ("", []) for an empty text; the text's opening when no term is found."""
    terms = [t for t in dict.fromkeys(terms) if t]
    sents = _sentences(text or "")
    if not sents:
        return "", []
    counts = [sum(1 for t in terms if t in s) for s in sents]
    if terms and not any(counts):  # written in traditional characters or spaced out: fold (slower)
        counts = [sum(1 for t in terms if t in f) for f in map(fold, sents)]
    best = max(range(len(sents)), key=lambda i: (counts[i], -i)) if terms else 0
    lo = hi = best
    size = len(sents[best])
    if size > limit:  # one long sentence: a window around its first term
        s = sents[best]
        marks = _marks(s, terms)
        at = marks[0][0] if marks else 0
        start = max(0, min(at - limit // 3, len(s) - limit))
        piece = s[start : start + limit]
        marks = [(a - start, b - start) for a, b in marks if a >= start and b <= start + limit]
        pre = ELLIPSIS if start > 0 or best > 0 else ""
        post = ELLIPSIS if start + limit < len(s) or best < len(sents) - 1 else ""
        return pre + piece + post, [(a + len(pre), b + len(pre)) for a, b in marks]
    while hi + 1 < len(sents) and size + len(sents[hi + 1]) <= limit:
        hi += 1
        size += len(sents[hi])
    while lo > 0 and size + len(sents[lo - 1]) <= limit:
        lo -= 1
        size += len(sents[lo])
    pre = ELLIPSIS if lo > 0 else ""
    post = ELLIPSIS if hi < len(sents) - 1 else ""
    out, marks = pre, []
    for s in sents[lo : hi + 1]:
        marks += [(a + len(out), b + len(out)) for a, b in _marks(s, terms)]
        out += s
    return out + post, marks


def segments(text: str, marks: Iterable[tuple[int, int]]) -> tuple[tuple[str, bool], ...]:
    """`text` as (piece, marked) pairs, for a renderer that sets the marked pieces in bold."""
    out: list[tuple[str, bool]] = []
    at = 0
    for a, b in sorted(marks):
        if a < at or b > len(text) or a >= b:
            continue
        if a > at:
            out.append((text[at:a], False))
        out.append((text[a:b], True))
        at = b
    if at < len(text):
        out.append((text[at:], False))
    return tuple(out)
