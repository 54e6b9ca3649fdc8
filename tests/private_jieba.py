"""An Analyzer whose jieba dictionary is its own, for tests that load a second config.

jieba's dictionary is process-wide and the Segmenter adds every watch-list term to it, so a
config loaded in one test (the province profile's 推诿扯皮, 换届选举) would change how the
rest of the suite segments the example config's posts (推诿, 换届 no longer on token
boundaries). Production loads one config per process; tests that load another use this."""

from __future__ import annotations

from functools import cache

import jieba

from core.text import BlockCache, Segmenter, lcut, ready


@cache
def _pristine() -> jieba.Tokenizer:
    """jieba's default dictionary, loaded once per process (about 0.5 s: core.text.ready) and
    never added to."""
    tk = jieba.Tokenizer()
    ready(tk)
    return tk


def _fresh_tokenizer() -> jieba.Tokenizer:
    """A tokenizer of its own over a copy of the default dictionary (20 ms, not a reload)."""
    base, tk = _pristine(), jieba.Tokenizer()
    tk.FREQ, tk.total, tk.initialized = dict(base.FREQ), base.total, True
    return tk


class PrivateSegmenter(Segmenter):
    """Cuts with `core.text.lcut` over its own tokenizer, as the `Segmenter` cuts over jieba's
    (jieba's algorithm, the same tokens as `tk.lcut`: tests/test_segment_fast.py), with a
    block cache of its own; jieba's own `lcut` in Python is several times slower."""

    def __init__(self, words=()):
        self._words = sorted({w for w in words if w})
        self._tk = _fresh_tokenizer()
        self._blocks = BlockCache()
        for w in self._words:
            self._tk.add_word(w)

    def add(self, words) -> None:
        for w in words:
            self._tk.add_word(w)

    def folded_tokens(self, folded: str) -> list[str]:  # `tokens` (inherited) folds, then calls this
        return [t for t in lcut(self._tk, folded, self._blocks) if t.strip()]


def private_analyzer(config):
    from jobs.analyse import Analyzer

    seg = PrivateSegmenter()
    a = Analyzer(config, segmenter=seg)
    seg.add(a.terms)
    return a
