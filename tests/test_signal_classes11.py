"""Rule classes from a fourth analyst's battery, written blind after the thirteenth pass with
long article bodies as a scraper stores them (config/labels/README.md, "Fourth analyst
battery"): a page's source, date and site lines before the story, a casino banner under a real
report, a public school's head, a county's warning-education conference, a company's internal
anti-corruption, an official meddling in a tender, an explainer's headline, dereliction behind
deaths, the matter of a body's answer, a citizen's report and its handling, and two years of one
exam notice. Each a synthetic post in other words than the battery's, and a look-alike."""

from __future__ import annotations

import pytest

from core.cluster import StoryIndex, event_of, headline
from core.grading import Grade, assess_content
from core.officials import OfficialFinder
from core.text import Segmenter, fold
from tests.conftest import finding_of as run

# ---------------------------------------------------------------- a page's lines before the story


@pytest.mark.parametrize(
    "line, boilerplate",
    [
        ("来源：吉安市纪委监委网站  发布时间：2025-03-02", True),
        ("永新县纪委监委  2025年5月6日 09:30 江西", True),
        ("搜狐新闻 > 地方 > 正文", True),
        ("新京报 2025-06-01 10:20", True),
        ("【本地要闻】", True),
        ("5月6日，永新县纪委监委对县林业局原局长立案审查调查。", False),
        ("本报讯 记者从县纪委获悉，该县一副局长被查", False),
    ],
)
def test_a_pages_source_date_and_site_lines_are_told_apart_from_its_sentences(line, boilerplate):
    from core.text import is_boilerplate_line

    assert is_boilerplate_line(fold(line)) is boilerplate


def test_a_story_after_a_source_line_reads_as_the_story_alone(province):
    """The dateline took the place of the lead's first sentence (and of one of the sentences the
    content is graded from): a township's demolition that killed a man, told in a 情况通报,
    read as routine complaint handling (IV)."""
    title = "关于某镇“5·8”事件的情况通报"
    story = (
        "5月8日上午，某镇组织对一处民房实施拆除。现场发生冲突。房屋户主李某受伤。"
        "经送医抢救无效死亡，区纪委监委已对镇党委书记等相关责任人立案审查调查。"
    )
    bare = run(province, title, story)
    dated = run(
        province, title, "首页 > 政务公开 > 通知公告\n来源：某区人民政府办公室  发布时间：2025-05-09\n\n" + story
    )
    assert bare.relevant and dated.relevant
    assert (dated.category, dated.grade) == (bare.category, bare.grade), (dated.reasons, bare.reasons)
    assert dated.grade in (Grade.I, Grade.II), dated.reasons


def test_a_casino_banner_under_a_real_report_leaves_it_a_story_and_a_sales_page_is_none(province):
    f = run(
        province,
        "吉安市吉州区原副区长刘某涉嫌受贿案被提起公诉",
        "近日，吉安市吉州区原副区长刘某涉嫌受贿一案由检察院提起公诉。\n\n【热门推荐】真人百家乐 加微信 领取彩金 点击进入",
    )
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "II", f.reasons
    assert not run(province, "党建展厅设计施工 报价单免费领", "专业承接党建文化墙，厂家直销，欢迎来电。").relevant


# ---------------------------------------------------------------- who, and what is the story


def test_a_public_schools_head_is_an_official_for_discipline_not_for_routine(province):
    f = run(province, "挪用学校食堂经费 某县第二中学原校长被立案审查调查", "")
    assert f.relevant and f.grade.value == "II", f.reasons
    assert not run(province, "县职业中学校长王建国：以赛促教 以赛促学", "").relevant
    assert OfficialFinder().find(fold("某民办学校校长李某卷款跑路"))[0] == []


def test_a_countys_warning_education_conference_is_anti_corruption_work(province):
    f = run(province, "永新县召开全县警示教育大会", "会上通报了近年来查处的典型案件。")
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "IV", f.reasons
    assert not run(province, "永新县召开全县交通安全警示教育大会", "").relevant


def test_a_companys_internal_anti_corruption_is_the_companys(province):
    assert not run(province, "某互联网公司发布内部反腐通报：一年查处违规案件40起", "辞退违规员工50人。").relevant


def test_an_official_meddling_in_a_tender_is_a_specific_allegation(province):
    f = run(province, "网友实名举报某县副县长王某插手工程招标", "")
    assert f.relevant and f.grade.value == "II", f.reasons


def test_an_explainers_headline_is_routine_work():
    c = assess_content(fold("纪法小课堂｜收受电子红包如何认定？"), involved=["纪委"])
    assert c.grade is Grade.IV, c


def test_officials_dereliction_behind_deaths_is_grade_i_though_the_headline_counts_the_accountable():
    c = assess_content(
        fold("9死矿难调查报告公布：监管部门多次发现问题却未依法处置，21名公职人员被追责\n事故煤矿长期超层越界开采。"),
        involved=["监管部门"],
    )
    assert c.grade is Grade.I, c
    c = assess_content(fold("化工厂爆炸致4人死亡 12名公职人员被追责"), involved=["公职人员"])
    assert c.grade is Grade.II, c  # no dereliction told: the accountability after it


# ---------------------------------------------------------------- categories


@pytest.mark.parametrize(
    "title, category",
    [
        ("面试第一却被判体检不合格？某县人社局回应考生质疑", "招录考试"),
        ("网友质疑一95后三年升任副县长 某县委组织部回应", "干部任用"),
        ("实名举报村支书三个月无回音 镇纪委：正在核实", "政府回应"),
    ],
)
def test_the_matter_of_an_answer_and_a_reports_handling_decide_the_category(province, title, category):
    f = run(province, title, "")
    assert f.relevant and f.category == category, (f.category, f.reasons)


def test_a_window_rule_still_sees_the_idling_rules_words(province):
    # every rule term is a jieba word: 上班时间玩手机 (the idling rule's) hid 玩手机 (the window rule's)
    f = run(province, "行政服务中心窗口人员上班时间玩手机？某区回应", "")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III", (f.category, f.reasons)


# ---------------------------------------------------------------- two years of one notice


def test_two_years_of_one_exam_notice_are_two_stories():
    from core.cluster import template_twins

    a = "湖南省2025年度考试录用公务员公告"
    b = "湖南省2024年度考试录用公务员公告"
    assert template_twins(headline(a), headline(b)) and not template_twins(headline(a), headline(a))
    seg = Segmenter()
    body = (
        "根据公务员法，经省委组织部研究决定，{y}年度全省考试录用公务员，计划招录{n}名。现将有关事项公告如下：报考条件……"
    )
    ea = event_of(seg.folded_tokens(fold(a + "\n" + body.format(y=2025, n=5120))))
    eb = event_of(seg.folded_tokens(fold(b + "\n" + body.format(y=2024, n=4876))))
    assert ea.conflict(eb) == "figures"
    repost = event_of(
        seg.folded_tokens(fold("刚刚！2025湖南省考公告发布，计划招录5120名\n" + body.format(y=2025, n=5120)))
    )
    assert ea.conflict(repost) is None

    index = StoryIndex()
    from core.cluster import Candidate, fingerprint

    text_a, text_b = fold(a + "\n" + body.format(y=2025, n=5120)), fold(b + "\n" + body.format(y=2024, n=4876))
    index.add(
        Candidate(1, "k1", fingerprint(text_a), frozenset(), event=ea, headline=headline(a)),
        "2026-01-01T00:00:00+00:00",
    )
    assert index.choose("k2", fingerprint(text_b), [], event=eb, headline=headline(b)) is None


@pytest.mark.parametrize(
    "title, text, category",
    [
        # a 选调生 promoted fast is an appointment doubted (选调生 vetoed the appointment rule)
        ("网友质疑某县“95后副县长”两年连升两级", "有网友称其为定向选调生。", "干部任用"),
        # the centre approving a post
        ("中共中央批准：刘晓东任湖南省委委员、常委", "", "干部任用"),
        # a province's exam named short (jieba cuts 湖南省 / 考)
        ("刚刚！2026湖南省考公告发布，计划招录5000余人", "", "招录考试"),
        # the selection's own numbers (its veto words hid 选调生 from the recruitment rule)
        ("湖南2026年选调生报名人数突破3万", "记者从省委组织部获悉，今年定向招录选调生报名工作已结束。", "招录考试"),
    ],
)
def test_appointments_and_recruitment_named_as_the_news_names_them(province, title, text, category):
    f = run(province, title, text)
    assert f.relevant and f.category == category, (f.category, f.reasons)
