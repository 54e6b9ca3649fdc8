"""An Analyzer whose jieba dictionary is its own, for tests that load a second config.

jieba's dictionary is process-wide and the Segmenter adds every watch-list term to it, so a
config loaded in one test (the province profile's 推诿扯皮, 换届选举) would change how the
rest of the suite segments the example config's posts (推诿, 换届 no longer on token
boundaries). Production loads one config per process; tests that load another use this."""

from __future__ import annotations

import jieba

from core.text import Segmenter


class PrivateSegmenter(Segmenter):
    def __init__(self, words=()):
        self._words = sorted({w for w in words if w})
        self._tk = jieba.Tokenizer()
        for w in self._words:
            self._tk.add_word(w)

    def add(self, words) -> None:
        for w in words:
            self._tk.add_word(w)

    def folded_tokens(self, folded: str) -> list[str]:  # `tokens` (inherited) folds, then calls this
        return [t for t in self._tk.lcut(folded) if t.strip()]


def private_analyzer(config):
    from jobs.analyse import Analyzer

    seg = PrivateSegmenter()
    a = Analyzer(config, segmenter=seg)
    seg.add(a.terms)
    return a
