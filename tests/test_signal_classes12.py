"""Rule classes from a fifth analyst's battery, written blind after the fourteenth pass, of
stories told over time and look-alikes (config/labels/README.md, "Fifth analyst battery"):
letters to the leaders on a message board and the replies headed as such, force by city
management and extortion told at a distance, a company's own headline, fiction named without
book-title marks, a real cadre headline over a spam page, and one story's posts found by a full
name and a place or by one plan's head count — while two districts' look-alike meetings stay
apart. Each a synthetic post in other words than the battery's, and a look-alike."""

from __future__ import annotations

import pytest

from core.cluster import event_of
from core.text import fold
from tests.conftest import finding_of as run


@pytest.mark.parametrize(
    "title, text, category, grade",
    [
        (
            "乐安县乡村医生2024年度基本公共卫生补助至今未发放",
            "尊敬的领导：我们是乐安县的乡村医生，去年的补助县财政局说还没拨付，至今没有发放。",
            "政府回应",
            "III",
        ),
        (
            "追问：说好三月底前发放的危房补助，如今仍未到账",
            "尊敬的领导：上次回复说三月底前发放，现在还没到账。",
            "政府回应",
            "III",
        ),
        (
            "关于南丰县琴城镇老旧小区路灯不亮问题的回复",
            "网友您好：您反映的问题已收悉，经核实，镇政府已安排维修。",
            "政府回应",
            "IV",
        ),
        ("南城县城管执法时推倒卖水果老人 视频引发关注", "", "干部作风", "III"),
        ("一辅警伙同他人以“查酒驾”为名敲诈司机被刑拘", "", "违纪违法", None),
    ],
)
def test_letters_replies_and_enforcers_told_in_other_words(province, title, text, category, grade):
    f = run(province, title, text)
    assert f.relevant and f.category == category, (f.category, f.reasons)
    assert grade is None or f.grade.value == grade, f.reasons


@pytest.mark.parametrize(
    "title, text",
    [
        ("关于某股份有限公司问询函的回复", "公司董事会对交易所问询逐项回复如下。"),  # a company's answer
        ("某上市公司总经理因个人原因辞职 副总经理代行职责", "公司董事会近日收到总经理的书面辞职报告。"),
        ("十部官场小说推荐 带你读懂基层", "很多读者喜欢通过小说了解基层干部的工作。"),
        ("民警提醒：有人以查车为名敲诈司机 请勿轻信", ""),  # the police warning of impostors
    ],
)
def test_a_companys_answer_and_news_fiction_and_a_warning_stay_out(province, title, text):
    f = run(province, title, text)
    assert not f.relevant, (f.category, f.reasons)


def test_a_real_cadre_headline_over_a_spam_body_is_a_story_by_its_title(province):
    f = run(province, "瑞金市原副市长钟某某被开除党籍和公职", "【新葡京娱乐城】官方直营，注册即送彩金，加微信领取。")
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "II", f.reasons


def test_one_plans_notice_and_its_report_join_by_the_head_count(province):
    seg = province.segmenter  # (the words the profile's rules add cut the text as the bot cuts it)

    def ev(text):
        return event_of(seg.folded_tokens(fold(text)))

    from core.cluster import _enough, _weight

    c = ev("安徽省2025年考试录用公务员公告\n2025年全省计划招录4850名，报名时间另行通知。")
    d = ev("安徽省考公告发布！计划招录4850人\n2025年全省计划招录4850名，乡镇机关招录计划占比超过四成。")
    shared = sorted(c.terms & d.terms)
    assert c.conflict(d) is None and _enough(c, shared, _weight(c, shared)), shared


def test_two_districts_look_alike_meetings_stay_apart_though_one_names_itself_with_a_common_word(province):
    # 新建 is a common word; before 区 it is 新建区 (南昌), not 南昌县
    seg = province.segmenter
    a = event_of(
        seg.folded_tokens(
            fold("南昌县召开乡镇党委书记抓基层党建工作述职评议会\n会上，6名乡镇党委书记现场述职，进行民主测评。")
        )
    )
    b = event_of(
        seg.folded_tokens(
            fold("新建区召开乡镇党委书记抓基层党建工作述职评议会\n会上，5名党委书记现场述职，进行民主测评。")
        )
    )
    assert a.conflict(b) == "places", (a, b)


@pytest.mark.parametrize(
    "title", ["县卫生健康局拖欠乡村医生补助款半年", "某县医保局拖欠定点药店结算款", "区应急管理局拖欠护林员工资"]
)
def test_the_reform_bureaus_owing_are_found_without_a_title_beside_them(province, title):
    # only the tagger knew these bureaus, and it runs only when a title or cue stands in the text
    f = run(province, title, "")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III", (f.category, f.reasons)
