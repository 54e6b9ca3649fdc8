"""Severity from content (the rubric's grades), impact on top, reasons as data and words."""

from __future__ import annotations

import pytest

from core.config import Source
from core.grades import Grade
from core.grading import Reason, assess_content, grade_story, is_impact_reason
from core.models import Post

TH = {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}


def analyse(a, title, text="", tier=4):
    src = Source(id=f"t{tier}", name="src", url="x", tier=tier)
    return a.analyse(Post(src.id, "k", title, text), src)


@pytest.mark.parametrize("tier", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "title",
    [
        "宜春市袁州区副区长张某某涉嫌受贿被查",
        "村支书郑高贵长期把持基层政权，殴打村民",
        "某县教育局局长收受贿赂被双开",
        "湖南一厅长为当上副省级竟开价两亿 受贿案一审宣判",
    ],
)
def test_an_identifiable_official_and_an_investigation_is_II_from_any_source(province, title, tier):
    f = analyse(province, title, tier=tier).finding
    assert f.relevant
    assert f.grade.at_least(Grade.II), (title, tier, f.reasons)


def test_a_single_officials_case_is_not_I_from_one_paper(province):
    assert analyse(province, "乡党委书记王某某受贿案一审宣判", tier=2).finding.grade is Grade.II


def test_a_death_tied_to_official_misconduct_is_I_as_told_and_when_it_spreads(province):
    # the rubric's grade, and four blind analysts' on a single post (it once needed spread)
    a = analyse(province, "县工商局干部醉驾撞死环卫工却免于刑罚？", "网友质疑当地有关部门包庇。")
    assert a.finding.grade is Grade.I  # one forum post
    assert a.finding.reasons[0].words.startswith("内容定级 I（")
    # the story is picked up by a second site: the incident service regrades from the stored
    # reasons (all but the impact lines) with the new spread
    stored = tuple(r for r in a.finding.reasons if not is_impact_reason(r))
    assert grade_story(a.sensitivity, stored, 4, 2, TH).grade is Grade.I


def test_the_content_ceiling_survives_a_regrade(province):
    a = analyse(province, "网友投诉：县政府办事窗口工作人员态度恶劣", tier=4)
    assert a.finding.grade is Grade.III
    stored = tuple(r for r in a.finding.reasons if not is_impact_reason(r))
    # five sites, central media: impact raises it one grade, not to I
    assert grade_story(a.sensitivity, stored, 1, 5, TH).grade is Grade.II


@pytest.mark.parametrize(
    "title,text,grade",
    [
        ("投诉主题：新宁一渡水镇政府不作为", "办事群众多次反映无人管。", Grade.III),
        ("县纪委通报5起典型案例", "违反中央八项规定精神问题。", Grade.III),
        ("市委书记李强调研基层党建工作", "强调要抓好党支部建设。", Grade.IV),
        ("事业单位招聘面试成绩有猫腻？考生质疑有内定", "", Grade.III),
    ],
)
def test_rubric_grades(province, title, text, grade):
    f = analyse(province, title, text).finding
    assert f.relevant and f.grade is grade, (title, f.reasons)


def test_routine_news_stays_IV_even_in_central_media(province):
    f = analyse(province, "市委书记李强调研基层党建工作", tier=1).finding
    assert f.grade is Grade.IV


def test_reasons_are_data_and_words(province):
    a = analyse(province, "宜春市袁州区副区长张某某涉嫌受贿被查")
    assert all(isinstance(x, Reason) for x in a.factors)
    content = a.factors[0]
    assert content.factor == "content" and content.weight == TH[Grade.II]
    assert "可识别的干部" in content.words and "受贿" in content.words
    assert a.finding.reasons[0] == content
    assert a.sensitivity == pytest.approx(sum(x.weight for x in a.factors))


def test_assess_content_is_pure():
    c = assess_content("某某镇召开会议", identified=(), involved=())
    assert c.grade is Grade.IV
    c = assess_content("村支书郑高贵受贿", identified=("村支书郑高贵",))
    assert c.grade is Grade.II and c.ceiling is Grade.II  # a village cadre is not a leading cadre
    c = assess_content("副市长黄太文受贿", identified=("副市长黄太文",), leading=True)
    assert c.ceiling is Grade.I
