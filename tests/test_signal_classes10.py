"""Rule classes from a third analyst's battery, written blind to the bot after the twelfth
pass (config/labels/README.md, "Third analyst battery"): forum and board posts in citizens'
words (a bureau that owes, a public car at leisure, a hint to pay for papers, a window's staff
snapping, a crowd at a government, a candidate doubting the interviews, contract staff hired by
a bureau), pages that are no one's story (fiction about officials, a digest with no story of its
own, a sales page for party-building works), who is no official (a private hospital's department
head, a homeowners' committee), what makes a case grade I (a province-level official's, spread),
a foreign official beside "某地", a notice's 举报电话, drink-driving filed as conduct, and two
counties' look-alike notices kept apart. Each a synthetic post in other words than the
battery's, and a look-alike that must keep its reading."""

from __future__ import annotations

import pytest

from core.cluster import event_of
from core.grading import Grade, assess_content, grade_story
from core.officials import OfficialFinder
from core.text import Segmenter, fold
from tests.conftest import finding_of as run

# ---------------------------------------------------------------- citizens' words


@pytest.mark.parametrize(
    "title, text, category, grade",
    [
        ("吉安县人社局欠我们工钱一年多了 谁来管管", "我们给县里修了半年路，钱一直没结。", "干部作风", "III"),
        ("某区城管局拖欠环卫工人工资三个月", "", "干部作风", "III"),
        ("国庆节在庐山景区看到一辆公务用车 一家人下来游玩", "", "干部作风", "III"),
        ("在某县开个小超市办执照，被暗示要“表示表示”才给盖章", "", "干部作风", "III"),
        ("南昌县行政服务中心办事被窗口人员吼了一顿", "", "干部作风", "III"),
        ("上饶市公安局信州分局招聘警务辅助人员40名公告", "", "招录考试", "IV"),
        ("事业单位笔试第一面试却垫底？考生质疑前几名都是关系户", "", "招录考试", "III"),
    ],
)
def test_citizens_words_for_cadre_stories(province, title, text, category, grade):
    f = run(province, title, text)
    assert f.relevant and f.category == category and f.grade.value == grade, (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, text",
    [
        # a company owing, the regulator named after it
        ("某建筑公司拖欠工资 劳动监察大队介入", ""),
        # a shop's service passing the buck
        ("在某手机专卖店买的手机坏了 客服一直踢皮球", ""),
        # police telling of a citizen's extortion
        ("男子敲诈商户获刑 民警提醒", ""),
    ],
)
def test_their_look_alikes_stay_out(province, title, text):
    f = run(province, title, text)
    assert not f.relevant, (f.category, f.reasons)


def test_an_auxiliary_policeman_who_posed_as_an_officer_to_extort_is_his_case(province):
    # the 冒充 veto once dropped it; what was posed as is blanked before matching now
    f = run(province, "假扮刑警以“查赌”为名敲诈2万元 某县一辅警被判刑", "")
    assert f.relevant and f.category == "违纪违法", (f.category, f.reasons)
    assert not run(province, "男子敲诈勒索辅警获刑", "").relevant  # the enforcer the victim


def test_a_crowd_at_a_government_is_a_story_and_its_cause_decides_how_grave(province):
    f = run(province, "几百号人堵在镇政府门口，就因为拆迁款被扣发", "")
    assert f.relevant and f.grade.value in ("I", "II"), (f.category, f.reasons)
    c = assess_content(fold("几百号人堵在镇政府门口，就因为拆迁款被扣发"), involved=["镇政府"])
    assert c.grade is Grade.I, c


# ---------------------------------------------------------------- pages that are no one's story


@pytest.mark.parametrize(
    "title, text",
    [
        ("网剧《乡长》里的基层干部为什么这么真实？", "这部剧讲的是一位乡长处理信访的故事。"),
        ("今日要闻（5月6日）｜赣州", "1.赣州某区纪委监委通报2起问题。2.全市气温回升。3.脐橙出口增长。"),
        ("机关党建展厅设计施工一体化 报价单免费领", "专业承接各单位党建文化墙、廉政长廊，厂家直销。"),
    ],
)
def test_fiction_a_digest_and_a_works_advert_are_no_ones_story(province, title, text):
    f = run(province, title, text)
    assert not f.relevant, (f.category, f.reasons)


def test_a_bodys_film_study_and_its_own_digest_are_not_dropped_as_no_ones_story(province):
    from core.models import Post

    f = run(province, "某县财政局党支部组织观看电影《长津湖》", "")
    assert f.relevant, f.reasons  # a body's study: its topic
    a = province.analyse(Post("forum", "k", "福州中院一周回顾（5.14-5.18）", "院领导带队督导执行工作。"), None)
    assert a.dropped != "not a story"  # the court's own digest, judged as any post


# ---------------------------------------------------------------- who is no official


def test_a_private_hospitals_department_head_and_a_homeowners_committee_are_no_officials():
    finder = OfficialFinder()
    for text in (
        "某民营医院药剂科主任陈某受贿被判",
        "某小区业委会主任李某被指挪用公共收益",
        "县医院骨科主任王某收受回扣",
    ):
        officials, _ = finder.find(fold(text))
        assert officials == [], (text, officials)
    officials, _ = finder.find(fold("县卫健局局长王某被查"))
    assert officials  # a bureau's head still is one


# ---------------------------------------------------------------- grades


def test_a_province_level_officials_case_reaches_i_when_it_spreads_and_a_county_heads_does_not():
    finder = OfficialFinder()
    (o,) = finder.find(fold("湖北省政协原副主席周某严重违纪违法被开除党籍"))[0]
    assert o.rank == "省部", o
    (o,) = finder.find(fold("江西省人大常委会原副主任刘某被查"))[0]
    assert o.rank == "省部", o

    th = {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}
    senior = assess_content(fold("湖北省政协原副主席周某被双开"), identified=["副主席周某"], leading=True)
    county = assess_content(fold("某县副县长李某被查"), identified=["副县长李某"], leading=False)
    assert senior.ceiling is Grade.I and county.ceiling is Grade.II
    from core.grading import content_reason, content_sensitivity

    for content, want in ((senior, Grade.I), (county, Grade.II)):
        base = content_sensitivity(content, th)
        graded = grade_story(base + 1, (content_reason(content, base),), 2, 3, th)
        assert graded.grade is want, (content, graded.reasons)


def test_a_notices_reporting_line_is_no_complaint():
    c = assess_content(
        fold("中共某县委组织部关于干部任前公示的公告\n拟任某镇党委书记。公示期间如有问题，请拨打举报电话：12380。"),
        involved=["县委组织部"],
        category="干部任用",
    )
    assert c.grade is Grade.IV, c


def test_a_headline_complaining_of_formalism_is_a_complaint_without_a_named_body():
    c = assess_content(fold("一天填了十几张表，谁来管管这种形式主义"), category="干部作风")
    assert c.grade is Grade.III, c
    c = assess_content(fold("某县召开会议部署整治形式主义为基层减负"), category="干部作风")
    assert c.grade is Grade.IV, c


def test_a_foreign_official_beside_an_unnamed_place_is_abroad(province):
    f = run(province, "日本一前知事因受贿被判刑", "据共同社报道，某地前知事收受建筑商现金，被判处有期徒刑三年。")
    assert not f.relevant, (f.category, f.reasons)


# ---------------------------------------------------------------- categories


@pytest.mark.parametrize(
    "title",
    ["酒驾撞伤路人后逃逸 某县一副局长被开除党籍和公职", "工作日中午饮酒 某镇2名干部被问责"],
)
def test_drink_driving_and_drinking_on_duty_are_conduct_whatever_the_sanction(province, title):
    f = run(province, title, "")
    assert f.relevant and f.category == "干部作风", (f.category, f.reasons)


def test_a_banquet_at_public_expense_stays_a_discipline_case(province):
    f = run(province, "某镇政府公款吃喝欠酒楼8万元 县纪委介入", "")
    assert f.relevant and f.category == "违纪违法", (f.category, f.reasons)


def test_an_exemplar_profile_in_other_words_is_conduct(province):
    f = run(province, "扎根山村十八年 村党支部书记张建华带领乡亲种出“致富果”", "")
    assert f.relevant and f.category == "干部作风", (f.category, f.reasons)


# ---------------------------------------------------------------- one story: two counties' notices


def test_two_counties_notices_of_one_prefecture_are_two_stories():
    seg = Segmenter()
    a = event_of(
        seg.folded_tokens(fold("都昌县委管理干部任前公示\n现对拟任职干部进行任前公示：王某，拟任某镇镇长人选。"))
    )
    b = event_of(
        seg.folded_tokens(
            fold("中共修水县委组织部关于干部任前公示的公告\n经县委研究，拟对以下同志任用：李某，拟任某镇镇长人选。")
        )
    )
    assert a.conflict(b) == "places", (a, b)
    c = event_of(seg.folded_tokens(fold("都昌县干部任前公示\n都昌县委组织部：王某拟任某镇镇长。")))
    assert a.conflict(c) is None
