"""The analyser reads only what a decision needs, with the same results as reading everything:
the place automaton searched as UTF-16 units finds what the plain one does; hits deep in a
page whose words or places are known already are not segmented, and the words, places and
lead offsets are those of looking at every hit (comparison over real posts, both profiles)."""

from __future__ import annotations

import ahocorasick
import pytest

from bot.config import load_config
from core.text import WideAutomaton, fold, fold_with_gaps
from jobs.analyse import LEAD_CHARS, LazyBoundaries
from tests.conftest import EXAMPLE, PROVINCE, inews_posts


@pytest.fixture(scope="module")
def posts():
    return inews_posts(600)


@pytest.fixture(scope="module", params=[EXAMPLE, PROVINCE], ids=["example", "province"])
def analyzer(request):
    """A private jieba: the province's words added to the process-wide dictionary would change
    how later tests in this worker segment (test_telegram's sample posts)."""
    from tests.private_jieba import private_analyzer

    if request.param == PROVINCE:
        return request.getfixturevalue("province")  # the worker's own (conftest), built once
    return private_analyzer(load_config(request.param))


def _plain(words):
    a = ahocorasick.Automaton()
    for w, v in words:
        a.add_word(w, v)
    a.make_automaton()
    return a


def test_the_wide_automaton_finds_what_the_plain_one_does(analyzer, posts):
    matcher = analyzer._matcher(None)
    words = [(s, (s, v)) for s, v in matcher._entries.items()]
    plain, wide = _plain(words), WideAutomaton(words)
    texts = [fold(f"{t}\n{c}") for t, c in posts]
    texts += ["", "抚州", "抚州市临川区😀抚州", "😀临川区", "𠀀抚州市", "临川临川区临川", "abc抚州123"]
    for text in texts:
        assert list(wide.iter(text)) == list(plain.iter(text))


def test_the_wide_automaton_with_words_outside_the_bmp():
    words = [("𠀀村", 1), ("临川", 2), ("川区", 3), ("区", 4)]
    plain, wide = _plain(words), WideAutomaton(words)
    for text in ("临川区", "𠀀村临川区", "a𠀀村", "", "区区"):
        assert list(wide.iter(text)) == list(plain.iter(text))
    assert list(WideAutomaton([]).iter("临川")) == []


def _texts(posts):
    for title, content in posts:
        text, gaps = fold_with_gaps(f"{title}\n{content}")
        head = text.partition("\n")[0]
        yield text, gaps, len(head) + 1 + LEAD_CHARS


def test_places_past_the_lead_are_the_same_by_name(analyzer, posts):
    matcher = analyzer._matcher(None)
    compared = 0
    for text, gaps, lead_end in _texts(posts):
        every = matcher.find(text, LazyBoundaries(text, gaps, analyzer.segmenter.folded_tokens))
        lazy = matcher.find(text, LazyBoundaries(text, gaps, analyzer.segmenter.folded_tokens), lead_end)
        assert (lazy.ours, lazy.ours_weak, lazy.elsewhere, lazy.levels) == (
            every.ours,
            every.ours_weak,
            every.elsewhere,
            every.levels,
        )
        assert [s for s in lazy.starts if s[0] < lead_end] == [s for s in every.starts if s[0] < lead_end]
        assert {e: v for e, v in lazy.at.items() if e <= lead_end} == {
            e: v for e, v in every.at.items() if e <= lead_end
        }
        compared += bool(every.starts)
    assert compared > 150  # of the 600 posts


def test_watchlist_hits_past_the_lead_are_the_same_words(analyzer, posts):
    compared = 0
    for text, gaps, lead_end in _texts(posts):
        hits = analyzer._prefilter(text)
        if not hits:
            continue
        every = analyzer._word_hits(hits, LazyBoundaries(text, gaps, analyzer.segmenter.folded_tokens))
        lazy = analyzer._word_hits(hits, LazyBoundaries(text, gaps, analyzer.segmenter.folded_tokens), lead_end)
        assert lazy[0] == every[0]
        for a, b in zip(lazy[1:], every[1:], strict=True):
            lead = lambda d: {k: [i for i in v if i < lead_end] for k, v in d.items()}  # noqa: E731
            assert {k: v for k, v in lead(a).items() if v} == {k: v for k, v in lead(b).items() if v}
        compared += 1
    assert compared > 150  # of the 600 posts
