"""Rule classes from a second analyst's battery, written blind to the bot (the twelfth pass;
config/labels/README.md, "Second analyst battery"): pages that are no one's story whatever
cadre words they hold (adverts, spam titles, job adverts, exam preparation, impostor warnings,
a student union), a unit's head hidden in jieba's 局局长, the grave grades (a death by officials'
own act with a count of the accused in the headline, a crowd gathered at a government), the
categories of a body's statement, a profile and graduates selected for the civil service, and a
press name jieba joins to the verb after it. Each a synthetic post in other words than the
battery's, and a look-alike that must keep its reading."""

from __future__ import annotations

import pytest

from core.cluster import event_of
from core.grading import assess_content
from core.officials import OfficialFinder
from core.text import fold
from tests.conftest import finding_of as run

# ---------------------------------------------------------------- pages that are no one's story


@pytest.mark.parametrize(
    "title, text",
    [
        # an exam school's advert (a cue word and a topic: 国考)
        ("2026国考笔试冲刺班火热招生中", "名师领衔，限时优惠，咨询微信：gk2026"),
        # a party-building tour operator's advert (党建)
        ("延安红色教育党建培训基地 主题党日套餐预订", "一站式服务，量大从优，咨询电话：13912345678"),
        # a lottery page's title over an official's investigation pasted below
        ("北京赛车pk10开奖直播 网上开户", "新余市渝水区原副区长王某涉嫌严重违纪违法，目前正接受审查调查。"),
        # a company's job advert for a discipline post (纪检)
        (
            "高薪诚聘纪检专员｜某科技有限公司",
            "岗位职责：负责公司廉洁合规与纪检工作；任职要求：中共党员；薪资面议，五险一金。",
        ),
        # exam preparation on a cadre topic (指尖上的形式主义)
        ("申论热点：如何破解“指尖上的形式主义”", "【题目】基层干部反映每天要在多个政务APP打卡。请谈谈你的看法。"),
        # the police warning of impostors who use the discipline commission's name
        (
            "反诈提醒：骗子冒充“巡视组”让您转账",
            "抚州市公安局提醒：有人以“巡视组”名义称您涉嫌违纪，要求将资金转入安全账户。",
        ),
        # a student union (部长, 主席: no public office)
        ("某大学学生会部长要求干事每天打卡引争议", "学生会主席回应称将整改。"),
    ],
)
def test_pages_that_are_no_ones_story_are_not_relevant(province, title, text):
    f = run(province, title, text)
    assert not f.relevant, (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, text, category",
    [
        # a public body's recruitment notice gives a landline and a phone to call: no advert
        ("九江市纪委监委2026年公开遴选公务员公告", "报名时间为12月1日至5日。咨询电话：0792-8123456。", "招录考试"),
        # a government's 一站式服务 and 服务套餐 are no sales phrases
        ("余干县政务服务中心推出一站式服务套餐 县长现场调研", "", "其他"),
        # a cadre story as the title of a casino site's page (its name after the title)
        ("新余市渝水区原副区长王某接受审查调查_澳门葡京娱乐城", "", "违纪违法"),
        # news of an exam's venues (考点: an exam school's word too) is no exam preparation
        ("2026年国考考点设置引质疑 国家公务员局回应", "", "招录考试"),
    ],
)
def test_their_look_alikes_keep_their_reading(province, title, text, category):
    f = run(province, title, text)
    assert f.relevant and f.category == category, (f.category, f.reasons)


def test_no_ones_story_is_a_stage_the_relevance_model_does_not_overrule(province):
    from core.models import Post

    a = province.analyse(Post("forum", "k", "北京赛车pk10开奖直播 网上开户", "吉安市原市长李某被双开"), None)
    assert a.dropped == "not a story" and not a.finding.relevant


# ---------------------------------------------------------------- a unit's head in jieba's 局局长


@pytest.mark.parametrize(
    "text, unit",
    [
        ("山西某县自然资源局局长韩某之女违规入编", "自然资源局"),
        ("市生态环境局局长周某被查", "生态环境局"),
        ("县农业农村局局长李某某主动投案", "农村局"),
    ],
)
def test_a_bureau_whose_name_is_no_word_keeps_its_head(text, unit):
    # jieba cuts 自然资源 / 局局长 / 韩某: the head was never found, so the allegation named nobody
    officials, _ = OfficialFinder().find(fold(text))
    assert any(o.title == "局长" and o.unit.endswith(unit) for o in officials), officials


def test_an_identified_bureau_heads_case_is_grade_ii(province):
    f = run(province, "吉安市自然资源局局长刘某涉嫌严重违纪违法接受审查调查", "")
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "II", f.reasons


# ---------------------------------------------------------------- grave grades


def test_a_death_by_officials_own_act_is_grade_i_though_the_headline_counts_the_accused():
    c = assess_content(fold("湖南一县城管执法致摊贩死亡 执法大队长等3人被立案调查"), involved=["城管"])
    assert c.grade.value == "I", c
    # an accident with officials held to account: the rubric's serious harm, II
    c = assess_content(fold("某化工厂爆炸致3人死亡 副县长等5人被立案调查"), involved=["副县长"])
    assert c.grade.value == "II", c
    # a bulletin of typical cases that counts deaths stays a bulletin
    c = assess_content(fold("省应急厅通报5起安全生产事故典型案例 共致9人死亡"), involved=["应急厅"])
    assert c.grade.value == "III", c


def test_a_crowd_at_a_government_over_cadres_taking_money_is_a_mass_incident():
    c = assess_content(fold("上千名村民聚在乡政府门口讨说法 质疑村干部侵占征地款"), involved=["村干部", "乡政府"])
    assert c.grade.value == "I", c
    c = assess_content(fold("上百名村民聚集在村委会广场观看文艺演出"), involved=["村委会"])
    assert c.grade.value == "IV", c


def test_an_enforcers_force_is_theirs_and_force_on_them_is_not(province):
    f = run(province, "协管员掀翻卖菜大爷三轮车 吉州区城管局：已停职", "")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III", f.reasons
    assert not run(province, "男子掀翻城管执法车被拘", "").relevant
    assert not run(province, "男子盗窃电动车被立案调查", "").relevant


# ---------------------------------------------------------------- categories


def test_a_bodys_statement_on_a_matter_is_its_response(province):
    f = run(
        province,
        "关于网传“某镇书记违规提拔亲信”一事的情况说明",
        "近日，有网民发帖称某镇书记违规提拔亲信。经县委组织部核查，该信息不实。",
    )
    assert f.relevant and f.category == "政府回应", (f.category, f.reasons)


def test_a_reply_that_the_matter_is_settled_is_minor(province):
    f = run(
        province,
        "关于某镇拖欠环卫工工资问题的回复",
        "网友您好：您反映的问题收悉。经核实，镇政府已全额支付拖欠的工资。",
    )
    assert f.relevant and f.category == "政府回应" and f.grade.value == "IV", (f.category, f.reasons)


def test_a_profile_of_a_village_secretary_is_an_exemplar(province):
    f = run(province, "三十年坚守的“草鞋书记”——记遂川县某村党支部书记李明华", "")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "IV", (f.category, f.reasons)


def test_graduates_selected_for_the_civil_service_are_recruitment(province):
    f = run(province, "中共湖南省委组织部关于2026年选调优秀高校毕业生的公告", "")
    assert f.relevant and f.category == "招录考试", (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, text, category, grade",
    [
        ("九江市濂溪区公开招聘社区专干30名", "", "招录考试", "IV"),
        ("南昌某区便民服务中心工作人员态度很差", "办个居住证跑了三趟，窗口工作人员一直不耐烦。", "干部作风", "III"),
        ("反映小区违建，城管和街道推来推去半年没人管", "", "干部作风", "III"),
    ],
)
def test_citizens_words_for_recruitment_and_conduct(province, title, text, category, grade):
    f = run(province, title, text)
    assert f.relevant and f.category == category and f.grade.value == grade, (f.category, f.reasons)


def test_a_bank_clerks_attitude_is_the_banks(province):
    assert not run(province, "南昌某银行柜员态度很差", "办个业务等了两小时。").relevant


def test_a_campaign_a_leader_names_sets_no_floor(province):
    # 要坚决破除“新官不理旧账”问题: what a meeting targets, not an incident (the rule's III floor)
    f = run(province, "九江市委书记主持召开座谈会", "他强调，要坚决破除“新官不理旧账”问题，为企业排忧解难。")
    assert f.relevant and f.grade.value == "IV", f.reasons
    f = run(province, "九江一新任局长“新官不理旧账” 企业工程款三年未结", "")
    assert f.relevant and f.grade.value == "III", f.reasons


# ---------------------------------------------------------------- one story: the press's names


def test_a_press_name_is_the_same_person_before_a_verb():
    from core.text import Segmenter

    seg = Segmenter()
    a = event_of(seg.folded_tokens(fold("衡阳一辅警收钱通风报信获刑\n被告人谭某系某派出所辅警，收受好处费")))
    b = event_of(seg.folded_tokens(fold("辅警当内鬼给赌场报信\n衡阳市珠晖区法院以受贿罪判处辅警谭某有期徒刑")))
    assert "谭某" in a.people and "谭某系" not in a.terms, a
    assert a.conflict(b) is None
