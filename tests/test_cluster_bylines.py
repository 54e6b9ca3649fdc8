"""Same story (the rubric: rewrites by several outlets, commentaries on one event):

- a byline's name (文/郝建峰, 作者 龚立新, 本报记者 王五) is the writer's, not a person of the event,
  so two commentaries by different authors do not conflict on "people";
- a body of a place written as one word (武汉中院, 北京市委) says where, like the place itself:
  it anchors the shared terms and gives the region."""

from __future__ import annotations

import jieba
import pytest

from core.cluster import _enough, _weight, event_of
from core.text import fold


def ev(text: str):
    return event_of(jieba.lcut(fold(text)))


@pytest.mark.parametrize(
    "byline_a, byline_b",
    [
        ("文/郝建峰", "作者 龚立新"),
        ("本报特约评论员 郝建峰", "（记者 龚立新）"),
        ("撰文：郝建峰", "编辑 龚立新、孟庆和"),
    ],
)
def test_two_commentaries_by_different_authors_do_not_conflict(byline_a, byline_b):
    a = ev(f"评论：一纸假通报为何能骗过全城\n{byline_a} 近日，一份伪造的停水通报在网上流传，自来水公司紧急辟谣。")
    b = ev(f"假通报骗过全城，谁之过\n{byline_b} 近日，一份伪造的停水通报在网上流传，自来水公司紧急辟谣。")
    assert not a.people and not b.people
    assert a.conflict(b) is None


def test_the_same_names_as_actors_still_conflict():
    """Not a byline: the person the lead says did it."""
    a = ev("一纸假通报为何能骗过全城\n近日，郝建峰伪造的停水通报在网上流传，自来水公司紧急辟谣。")
    b = ev("假通报骗过全城\n近日，龚立新伪造的停水通报在网上流传，自来水公司紧急辟谣。")
    assert a.people == {"郝建峰"} and b.people == {"龚立新"}
    assert a.conflict(b) == "people"


def test_a_places_body_in_one_word_anchors_the_shared_terms():
    a = ev("武汉中院通报澄清：网传高空抛物索赔案纯属假新闻\n武汉中院官方网站发布情况通报，称从未受理该高空抛物索赔案。")
    b = ev("武汉中院：未受理过高空抛物索赔案\n近日有媒体报道高空抛物索赔案，经核查纯属假新闻。")
    assert "武汉中院" in a.places and {"42", "4201"} <= a.regions
    shared = sorted(a.terms & b.terms)
    assert "武汉中院" in shared
    assert _enough(a, shared, _weight(a, shared))


def test_a_body_word_of_another_place_is_a_different_region():
    a = ev("北京市委召开全会\n北京市委全会审议通过有关决定。")
    b = ev("武汉中院召开全会\n武汉中院全会审议通过有关决定。")
    assert a.conflict(b) == "places"
