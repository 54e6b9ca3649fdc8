"""The analysis segments and tags only the parts of a post it reads, with the same result as
segmenting and tagging the whole text (jieba cuts each stretch between punctuation alone)."""

from __future__ import annotations

import pytest

from core.officials import OfficialFinder
from core.text import Segmenter, fold_with_gaps
from jobs.analyse import LazyBoundaries, _boundaries, _officials_part

TEXTS = [
    "曲靖市副市长黄太文强调，要做好防汛工作。会议由市政府秘书长主持。",
    "内蒙呼和浩特市庄村村支书郑高贵长期把持基层政权乱作为，村民多次举报无果！",
    "投诉主题：新宁一渡水镇政府不作为\n2019年3月，我们向县信访局反映问题，至今没有答复。",
    "原副部长、党组成员张力军接受审查调查。据中央纪委国家监委网站消息，张力军涉嫌严重违纪违法。",
    "张局长说：“这件事我们会处理。”某县教育局局长王某某被免职；湖南一厅长落马。",
    "ABC公司销售部部长李四与 3 名员工在 2020-01-05 聚餐，花费 1,200 元。张 建 国 际 贸 易",
    "张建国 国庆期间到抚州临川区调研，区委书记陪同。",
    "",
    "。。！！",
]


@pytest.mark.parametrize("raw", TEXTS)
def test_lazy_boundaries_are_the_whole_texts_boundaries(raw):
    text, gaps = fold_with_gaps(raw)
    expected = _boundaries(text, Segmenter().tokens(text)) | gaps
    lazy = LazyBoundaries(text, gaps)
    assert {p for p in range(-1, len(text) + 2) if p in lazy} == expected


@pytest.mark.parametrize("raw", TEXTS)
def test_officials_found_on_the_part_are_those_of_the_whole_lead(raw):
    finder = OfficialFinder()
    text, _ = fold_with_gaps(raw)
    head, _, body = text.partition("\n")
    lead = finder.lead(head, body)
    assert finder.find(_officials_part(lead)) == finder.find(lead)


def test_the_part_leaves_out_stretches_without_official_words():
    part = _officials_part("今天天气很好，阳光明媚，副市长黄太文强调，大家要注意安全。")
    assert "阳光明媚" not in part and "副市长黄太文强调" in part
    assert part.count("，") == 3  # punctuation kept: the tagger sees the same neighbours


def test_lazy_boundaries_use_the_analysers_own_segmenter():
    text = "副市长黄太文强调，要做好防汛工作。"
    singles = LazyBoundaries(text, tokens=list)  # a segmenter cutting every character
    assert all(p in singles for p in range(len(text) + 1))
    folded_differently = LazyBoundaries(text, tokens=lambda t: [t.replace("黄", "黃")])
    assert 2 not in folded_differently  # the whole text as one token: no boundary inside
