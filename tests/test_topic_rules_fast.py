"""`Analyzer._topic_strength` reads a rule's terms by keys worked out once per rule: the same
strengths, vetoes and clause answers as the rule read term by term through `_offsets`."""

from __future__ import annotations

import random

from bot.config import load_config
from core.config import Near, Topic
from jobs.analyse import _EXPAND, Analyzer, _fold_term
from tests.conftest import EXAMPLE, PROVINCE


def _plain_strength(an: Analyzer, t, positions, kinds_at, veto: bool = True) -> int:
    """`_topic_strength` as first written: each term looked up through `_offsets`."""
    present = lambda term: bool(an._offsets(term, positions, kinds_at))  # noqa: E731
    if (veto and any(present(x) for x in t.none)) or not all(present(x) for x in t.all):
        return 0
    n = sum(1 for x in t.any if present(x))
    for clause in t.near:
        a = [i for x in clause.a for i in an._offsets(x, positions, kinds_at)]
        b = [i for x in clause.b for i in an._offsets(x, positions, kinds_at)]
        if any((j > i if clause.ordered else True) and abs(i - j) <= clause.within for i in a for j in b):
            n += 1
        elif not t.any:
            return 0
    return n if (n or not t.any) else 0


def _words(t) -> list[str]:
    return [x for x in (*t.any, *t.all, *t.none, *(y for c in t.near for y in (*c.a, *c.b))) if not x.startswith("$")]


def test_topic_strength_matches_the_rule_read_term_by_term():
    rng = random.Random(6)
    an = Analyzer.__new__(Analyzer)  # only the rule reading: no segmenter, no models
    an._rules = {}
    made = [  # what the bundled profiles lack: `all` terms, `$` kinds in any/all/none, a repeated term
        Topic(category="甲", any=["受贿", "受賄", "$cadres"], all=["县长", "$places"], none=["$units"]),
        Topic(category="乙", near=[Near(a=["$officials", "举报"], b=["石沉大海"], within=5)], all=["举报"]),
    ]
    topics = [*load_config(PROVINCE).watchlist.topics, *load_config(EXAMPLE).watchlist.topics, *made]
    assert any(t.near for t in topics) and any(t.none for t in topics) and any(t.all for t in topics)
    everything = sorted({_fold_term(x) for t in topics for x in _words(t)})
    kinds = sorted(set(_EXPAND.values()))
    strong = 0
    for _ in range(150):
        focus = sorted({_fold_term(x) for x in _words(rng.choice(topics))})  # mostly one rule's words
        words = rng.sample(focus, rng.randint(0, len(focus))) + rng.sample(everything, 3)
        positions = {w: sorted(rng.sample(range(80), rng.randint(1, 3))) for w in words}
        kinds_at = {k: sorted(rng.sample(range(80), rng.randint(1, 3))) for k in rng.sample(kinds, rng.randint(0, 3))}
        for t in topics:
            for veto in (True, False):
                n = an._topic_strength(t, positions, kinds_at, veto)
                assert n == _plain_strength(an, t, positions, kinds_at, veto), (t, positions, kinds_at, veto)
                strong += n > 0
            assert an._vetoed(t, positions, kinds_at) == any(an._offsets(x, positions, kinds_at) for x in t.none)
            plain_clause = bool(t.near) and _plain_strength(an, t, positions, kinds_at, veto=False) > sum(
                1 for x in t.any if an._offsets(x, positions, kinds_at)
            )
            assert an._by_clause(t, positions, kinds_at) == plain_clause
    assert strong > 100  # the rules did match, often
