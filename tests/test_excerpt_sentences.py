"""core.excerpt._sentences (str.split per sentence) gives the sentences the regular expression
substitution gave: white space runs one space, stripped, empty ones left out."""

from __future__ import annotations

import random
import re

from core.excerpt import _SENTENCE, _sentences

_WS = re.compile(r"\s+")


def _reference(text: str) -> list[str]:
    out = []
    for m in _SENTENCE.finditer(text):
        s = _WS.sub(" ", m.group()).strip()
        if s:
            out.append(s)
    return out


def test_same_sentences_as_the_substitution():
    rnd = random.Random(11)
    pool = list(" \n\t\r\u3000\u00a0\u2028\x1c\x85。！？；!?;”’」』）)ab张")
    texts = ["", " ", "一。二！ 三？\n\n四", "a\u3000 b。\u2028c"]
    texts += ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 15))) for _ in range(5000)]
    for t in texts:
        assert _sentences(t) == _reference(t), repr(t)
