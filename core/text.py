"""Chinese text helpers: normalisation and jieba segmentation with the watch-list as user dictionary."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import jieba

__all__ = ["normalize", "clean", "Segmenter", "configure_jieba"]

_WS = re.compile(r"\s+")
_lock = threading.Lock()
_configured_dir: Path | None = None


def normalize(text: str) -> str:
    """NFKC (full-width letters/digits to half-width), collapse whitespace."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()


def clean(text: str) -> str:
    """For display and storage: collapse whitespace only, keeping Chinese punctuation as written."""
    return _WS.sub(" ", text or "").strip()


def configure_jieba(cache_dir: Path) -> None:
    """Put jieba's dictionary cache under our data folder (not /tmp) and quiet its logging."""
    global _configured_dir
    with _lock:
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(cache_dir)
        jieba.dt.cache_file = "jieba.cache"
        _configured_dir = cache_dir


class Segmenter:
    """jieba tokenizer that knows the watch-list terms, so a cadre's name is one token.

    One process-wide jieba dictionary is shared; adding words is idempotent.
    """

    def __init__(self, words: Iterable[str] = ()):
        self._words = sorted({w for w in words if w})
        with _lock:
            for w in self._words:
                # jieba's suggested frequency: the term can be cut out as one token, but a
                # more likely split still wins ("张建国际贸易" -> 张建 / 国际贸易).
                jieba.add_word(w)

    def tokens(self, text: str) -> list[str]:
        return [t for t in jieba.lcut(normalize(text)) if t.strip()]

    def seg(self, text: str) -> str:
        """Space-joined tokens for the full-text index."""
        return " ".join(self.tokens(text))

    def query(self, words: str) -> str:
        """An FTS5 query: every token of the user's words must appear (quoted, so no syntax leaks)."""
        toks = [t for t in self.tokens(words) if any(ch.isalnum() for ch in t)]
        return " ".join('"' + t.replace('"', '""') + '"' for t in toks)
