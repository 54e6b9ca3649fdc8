"""Two people's stories on one template stay apart (issue 13, the fifth tuning batch's pair:
常熟市梅李综合市场经理徐卫新 / 副经理、报账员徐卫东 涉嫌挪用公款罪被立案侦查): jieba splits a name it does
not know (徐 / 卫东), so the event puts it back before it compares people, and a fingerprint
match never joins two events that name different people or places."""

from __future__ import annotations

import jieba
import pytest

from core.cluster import Candidate, StoryIndex, _join_names, _word_freq, choose, event_of, fingerprint
from core.text import fold

TEMPLATE = (
    "常熟市梅李综合市场{title}{name}涉嫌挪用公款罪被立案侦查\n"
    "日前，江苏省常熟市人民检察院决定，依法对常熟市梅李综合市场{title}{name}以涉嫌挪用公款罪立案侦查，"
    "并采取强制措施。案件正在进一步侦查中。"
)


def _toks(text: str) -> list[str]:
    return [t for t in jieba.lcut(fold(text)) if t.strip()]


@pytest.mark.parametrize(
    "tokens, joined",
    [
        (["徐", "卫东", "涉嫌"], ["徐卫东", "涉嫌"]),
        (["孙", "某波", "被", "判刑"], ["孙某波", "被", "判刑"]),
        (["向", "警方", "求助"], ["向", "警方", "求助"]),  # a preposition
        (["万", "现金"], ["万", "现金"]),  # a number
        (["张", "先生", "说"], ["张", "先生", "说"]),  # the press's 张先生 is read as one (core.cluster._TITLED)
        (["王", "的", "书"], ["王", "的", "书"]),  # a particle is no given name
    ],
)
def test_a_name_jieba_split_is_put_back(tokens, joined):
    assert _join_names(tokens, _word_freq()) == joined


def _post(title: str, name: str) -> tuple[list[str], int]:
    text = TEMPLATE.format(title=title, name=name)
    return _toks(text), fingerprint(fold(text))


def test_two_peoples_notices_on_one_template_stay_apart():
    a_toks, a_fp = _post("经理", "徐卫新")
    b_toks, b_fp = _post("副经理、报账员", "徐卫东")
    held = Candidate(1, "k1", a_fp, frozenset(), event=event_of(a_toks), headline=None)
    assert event_of(b_toks).people and event_of(b_toks).conflict(held.event) == "people"
    assert choose("k2", b_fp, [], [held], event=event_of(b_toks)) is None
    # a copy of the first still joins it
    c_toks, c_fp = _post("经理", "徐卫新")
    assert choose("k3", c_fp, [], [held], event=event_of(c_toks)) == 1


def test_a_fingerprint_match_never_joins_events_that_name_different_people():
    """The same text (distance 0) under events naming different people: a template, not a copy
    — in the plain definition and in the index alike."""
    toks, fp = _post("经理", "徐卫新")
    ev = event_of(toks)
    other = event_of(_post("副经理、报账员", "徐卫东")[0])
    held = Candidate(7, "k7", fp, frozenset(["常熟市"]), event=ev)
    assert choose("new", fp, ["常熟市"], [held], event=other) is None
    assert choose("new", fp, ["常熟市"], [held], event=ev) == 7
    index = StoryIndex()
    index.add(held, "2026-11-26T00:00:00+00:00")
    assert index.choose("new", fp, ["常熟市"], event=other) is None
    assert index.choose("new", fp, ["常熟市"], event=ev) == 7
    assert index.copy_of(fp, other) is None and index.copy_of(fp, ev) == 7
