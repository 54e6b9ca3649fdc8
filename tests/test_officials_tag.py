"""core.officials.tag gives exactly jieba.posseg's (word, flag) pairs — jieba's tagger step by step,
used by the officials finder because it is faster (speed: `make bench`)."""

from __future__ import annotations

import random
import re

import jieba
import pytest
from jieba import posseg

from core.officials import OfficialFinder, _pos_viterbi, tag
from core.text import Segmenter, fold
from tests.conftest import inews_posts as _inews

EDGES = [
    "",
    " ",
    "\n",
    "a b\r\n c",
    "市交通运输局局长李明回应网友质疑",
    "曲靖市副市长黄太文、村支书郑高贵和张局长 G15高速 3.5% a-b_c #tag &x 1.5.2",
    "嘉祥县政府原副县长王某某被查，湖南一厅长落马；段国华同志",
    "\u3000中文\t\tabc  def……！？",
    "一一一一一一一一",
    "𠀀𠀁 中𠀂文 ｆｕｌｌ １２３",
    "迪丽热巴古力娜扎阿不都沙拉木在乌鲁木齐",
]


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(p.word, p.flag) for p in posseg.cut(text)]


def test_same_pairs_as_jieba_on_edges_and_news_leads():
    jieba.initialize()
    finder = OfficialFinder()
    texts = list(EDGES)
    for title, content in _inews(120):
        head, _, body = fold(f"{title}\n{content}").partition("\n")
        texts.append(finder.lead(head, body))  # what the finder tags
    texts += [f"{t}\n{c}" for t, c in _inews(20)]  # whole raw texts too
    for t in texts:
        assert tag(t) == _pairs(t), t[:40]


def test_same_pairs_with_the_watch_list_in_the_dictionary():
    Segmenter(["张建国", "吃拿卡要", "青石镇"])
    for t in ["网友实名举报张建国公车私用，青石镇干部吃拿卡要", *EDGES]:
        assert tag(t) == _pairs(t), t


def test_same_pairs_on_blocks_the_segmenter_walked_first():
    """The tagger takes the route of a block the segmenter cut already (`known_routes`): the
    same pairs; another dictionary (or this one changed) takes none of them."""
    jieba.initialize()
    finder = OfficialFinder()
    seg = Segmenter()
    leads = []
    for title, content in _inews(60):
        head, _, body = fold(f"{title}\n{content}").partition("\n")
        leads.append(finder.lead(head, body))
    for t in leads:
        seg.folded_tokens(t)  # the analyser segments the title and lead before the tagger reads it
        assert tag(t) == _pairs(t), t[:40]
    from core.text import known_routes

    tk = posseg.dt.tokenizer
    assert known_routes(tk)  # the routes were there to take
    assert not known_routes(jieba.Tokenizer())  # not another dictionary's


def test_same_hmm_path_on_unknown_runs():
    from jieba.posseg.viterbi import viterbi

    runs = [r for _, c in _inews(300) for r in re.findall("[\u4e00-\u9fd5]+", c) if 2 <= len(r) <= 8][:800]
    rng = random.Random(6)
    runs += [
        "".join(rng.choice("张建国市局长黄太文郑高贵的了么呢吗嗯") for _ in range(rng.randint(1, 9)))
        for _ in range(300)
    ]
    for r in runs:
        want = viterbi(r, posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)[1]
        assert _pos_viterbi(r, posseg) == want, r


def test_same_hmm_path_on_small_models_with_missing_transitions():
    """`_pos_viterbi` sums only the transitions a model has: on random small models (missing
    transitions, states that start at minus infinity, ties) it still picks jieba's path."""
    from types import SimpleNamespace

    from jieba.posseg.viterbi import MIN_FLOAT, viterbi

    rng = random.Random(17)
    letters = "甲乙丙丁"
    for _ in range(300):
        all_states = [(s, t) for s in "BMES" for t in ("n", "v", "nr")]
        trans = {y0: {y: rng.choice([-1.0, -2.0, -0.5]) for y in all_states if rng.random() < 0.3} for y0 in all_states}
        model = SimpleNamespace(
            char_state_tab_P={c: rng.sample(all_states, rng.randint(1, 8)) for c in letters},
            start_P={y: rng.choice([-1.0, -2.0, float("-inf"), MIN_FLOAT]) for y in all_states},
            trans_P=trans,
            emit_P={y: {c: rng.choice([-1.0, -3.0]) for c in letters if rng.random() < 0.7} for y in all_states},
        )
        obs = "".join(rng.choice(letters) for _ in range(rng.randint(1, 6)))
        try:
            want = viterbi(obs, model.char_state_tab_P, model.start_P, model.trans_P, model.emit_P)[1]
        except ValueError:
            with pytest.raises(ValueError):
                _pos_viterbi(obs, model)
            continue
        assert _pos_viterbi(obs, model) == want, obs


def test_kept_runs_give_the_same_pairs_as_tagging_afresh():
    """The tagger keeps the pairs of the unknown runs it tagged (`_pos_detail_kept`): tagging
    texts again, and texts sharing runs, gives jieba's pairs, also once the store was emptied."""
    from core import officials

    jieba.initialize()
    rng = random.Random(9)
    runs = ["迪丽热巴古力娜扎", "被曝", "原副", "阿不都沙拉木"]
    texts = [f"{rng.choice(runs)}在{rng.choice(runs)}局长{rng.choice(runs)}" for _ in range(40)] + EDGES
    old_max = officials.DETAIL_KEPT_MAX
    officials.DETAIL_KEPT_MAX = 3  # emptied many times over
    try:
        for t in texts + texts:
            assert tag(t) == _pairs(t), t
    finally:
        officials.DETAIL_KEPT_MAX = old_max
    assert officials._DETAIL_KEPT


def test_the_tagger_reads_jieba_posseg_tables_without_importing_it():
    """`pos_tables` holds what jieba.posseg.dt reads — the same word tags (keys shared with the
    dictionary's own strings, one string per tag), the same HMM tables and patterns — and a
    tagged word's tag reaches the tagger as it reaches jieba's (`add_word(w, tag=...)`)."""
    import subprocess
    import sys

    from core.officials import pos_tables

    jieba.initialize()
    t = pos_tables()
    assert t.word_tag_tab == posseg.dt.word_tag_tab
    for name in ("char_state_tab_P", "start_P", "trans_P", "emit_P"):
        assert getattr(t, name) == getattr(posseg, name), name
    for name in ("re_han_detail", "re_skip_detail", "re_han_internal", "re_skip_internal", "re_eng", "re_num"):
        assert getattr(t, name).pattern == getattr(posseg, name).pattern, name
    keys = {id(k) for k in jieba.dt.FREQ}
    assert all(id(k) in keys for k in list(t.word_tag_tab)[:5000])  # no second copy of the words
    assert len({id(v) for v in t.word_tag_tab.values()}) == len(set(t.word_tag_tab.values()))
    assert pos_tables() is t  # built once
    # the bot's own code never imports jieba.posseg (its import alone builds the big table), nor
    # lets jieba import pkg_resources (12 MB to open two files): jieba opens them itself
    probe = (
        "import sys; from core.officials import tag; print(tag('市长李明说')); "
        "print('jieba.posseg' in sys.modules, 'pkg_resources' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [str(_pairs("市长李明说")), "False False"], out.stderr[-500:]


def test_a_word_added_with_a_tag_is_tagged_alike():
    from tests.private_jieba import _fresh_tokenizer

    tk = _fresh_tokenizer()  # a tokenizer of its own: the module's default is shared by every test
    from core.officials import PosTables

    t = PosTables(tk)
    ref = posseg.POSTokenizer(tk)
    tk.add_word("青石镇党委", 10, "nt")
    t.makesure_userdict_loaded()
    assert t.word_tag_tab["青石镇党委"] == "nt"
    ref.makesure_userdict_loaded()  # jieba.posseg still sees it: the tagger left the list alone
    assert ref.word_tag_tab["青石镇党委"] == "nt"


def test_the_tag_table_is_cached_and_a_cache_for_other_words_or_damaged_is_not_used(tmp_path, monkeypatch):
    """The word -> tag table is read from the dictionary file once and then from a cache
    (~0.2 s instead of ~1 s per process); it is the table read from the file, its keys the
    tokenizer's own strings, also with words added; a cache for another dictionary (other
    words, or the same in another order) or a damaged one is not used."""
    from core.officials import PosTables

    monkeypatch.setenv("YUQING_CACHE_DIR", str(tmp_path))
    # a dictionary file of 20,000 of jieba's lines (the cache logic is the same for any file;
    # jieba's whole 350,000-line file costs ~1 s a read, and this test reads it six times)
    small = tmp_path / "dict.txt"
    with open(jieba.get_dict_file().name, "rb") as f:
        small.write_bytes(b"".join(line for _, line in zip(range(20_000), f)))
    tmp_jieba = tmp_path / "jieba"
    tmp_jieba.mkdir()

    def _fresh_tokenizer() -> jieba.Tokenizer:
        tk = jieba.Tokenizer(dictionary=str(small))
        tk.tmp_dir = str(tmp_jieba)
        return tk

    tk = _fresh_tokenizer()
    want = PosTables._word_tags(tk)
    first = PosTables(tk).word_tag_tab  # reads the file, writes the cache
    (cache,) = tmp_path.glob("posseg-tags-*.marshal")
    assert first == want

    tk2 = _fresh_tokenizer()
    tk2.add_word("青石镇党委", 10, "nt")  # a word added before the tables are made
    t = PosTables(tk2)
    t.makesure_userdict_loaded()
    assert t.word_tag_tab == {**want, "青石镇党委": "nt"}
    keys = {id(k) for k in tk2.FREQ}
    assert all(id(k) in keys for k in t.word_tag_tab)  # the tokenizer's own strings
    assert len({id(v) for v in t.word_tag_tab.values()}) == len(set(want.values()))
    # read from the cache again, without the added word's tag: the file's table (`want`: what
    # `_word_tags` reads from the same file for any tokenizer of it, as a dict)
    assert cache.read_bytes() and PosTables(tk2).word_tag_tab == want

    # the same words in another order: the cached tags would fall on other words
    other = _fresh_tokenizer()
    other.FREQ = dict(reversed(list(other.FREQ.items())))
    assert PosTables(other).word_tag_tab == want
    # (the cache is now the reversed order's; the default order reads the file again)
    assert PosTables(_fresh_tokenizer()).word_tag_tab == want
    raw = bytearray(cache.read_bytes())
    raw[-1000] = 2 if raw[-1000] == 1 else 1  # a byte of the tag indexes: another tag (or one)
    cache.write_bytes(bytes(raw))
    assert PosTables(_fresh_tokenizer()).word_tag_tab == want
