"""Rule classes of the province profile (config/province.toml) that find what a same-story
group needs: a village's levy on households, a court's rebuttal or denial, an official act
gone wrong, a public-service body whose work harms citizens, leaders receiving petitioners,
deputies' inspections, "tigers" on trial — each with a look-alike that is not the team's story.
Synthetic posts; the rule language's `at_least` and near-only triggers are tested here too."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import load_config
from core.config import Near, Topic
from core.gazetteer import AreaMatcher, gazetteer
from core.grades import Grade
from core.models import Post
from core.text import Segmenter, fold
from jobs.analyse import _boundaries
from tests.conftest import EXAMPLE
from tests.conftest import finding_of as run
from tests.private_jieba import private_analyzer

# ---------------------------------------------------------------- a village's levy


def test_a_village_levying_a_fee_on_every_household_is_its_cadres_conduct(province):
    """某村…每户收100元: the village is the acting body; a contained complaint (III)."""
    f = run(province, "安远县某村更换自来水表每户收100元", "村民反映，村里向每户收了100元，称是安装费。")
    assert f.relevant and f.category == "干部作风" and f.grade is Grade.III
    assert any("规则定级" in r.words for r in f.reasons if r.factor == "content")
    f = run(province, "某村向每户摊派修路款 村民不满", "近日有村民反映此事。")
    assert f.relevant and f.category == "干部作风"


def test_households_receiving_money_or_a_hospital_charging_are_not_a_levy(province):
    assert not run(province, "某村每户收到500元扶贫补贴", "村民们每户收到500元补贴，大家很高兴。").relevant
    assert not run(province, "一村一品 每户收入过万", "该村发展特色产业，每户收入过万元。").relevant
    assert not run(province, "某医院每人收取挂号费50元 患者不满", "有患者反映此事。").relevant


# ---------------------------------------------------------------- a court's rebuttal or denial


def test_a_place_in_front_of_a_body_inside_one_jieba_word():
    """武汉中院, 湖北高院 are one jieba word each: the place in front of the body still counts;
    a body without a place (最高法院, 人民法院) names none."""
    gz = gazetteer()
    m = AreaMatcher(gz, gz.area("抚州市"))

    def places(text):
        t = fold(text)
        return m.find(t, _boundaries(t, Segmenter().tokens(t)))

    assert places("武汉中院通报澄清").elsewhere == ["武汉市"]
    assert places("湖北高院发布通报").elsewhere == ["湖北省"]
    assert places("最高法院发布典型案例").elsewhere == []
    assert places("人民法院报评论").elsewhere == []


def test_a_courts_rebuttal_of_a_fake_story_is_a_government_response(province):
    f = run(province, "武汉中院通报澄清:小偷偷车被电身亡赔偿案纯属假新闻", "武汉市中级人民法院发布情况通报。")
    assert f.relevant and f.category == "政府回应"


def test_a_bodys_denial_right_after_its_name_is_a_government_response(province):
    """武汉中院：未受理过…: the body denies what was reported."""
    f = run(
        province, "武汉中院:未受理过充电电瓶车被盗触电身亡赔偿案", "近日，有媒体报道称……经查，法院没有受理过相关案件。"
    )
    assert f.relevant and f.category == "政府回应"


def test_a_netizens_false_message_or_the_police_at_work_is_not_a_rebuttal(province):
    assert not run(province, "集宁一网友发布不实消息被行拘", "一网友在朋友圈发布不实消息，被依法行政拘留。").relevant
    assert not run(
        province, "成都一男子造谣被拘 警方:内容纯属虚构", "警方查明内容纯属虚构，依法对其行政拘留。"
    ).relevant


# ---------------------------------------------------------------- an official act gone wrong


def test_a_botched_detention_or_notice_is_cadre_conduct(province):
    f = run(province, "定州 “乌龙拘留”背后的冬季治霾", "县环保局发布通告称，对两名村民给予拘留。县政府随后致歉。")
    assert f.relevant and f.category == "干部作风" and f.grade is Grade.III


def test_a_wrongful_detention_is_over_enforcement(province):
    f = run(province, "男子被误拘三天 申请国家赔偿", "男子因被误拘三天，向公安机关申请国家赔偿。")
    assert f.relevant and f.category == "干部作风"


def test_an_own_goal_is_not_an_official_blunder(province):
    assert not run(province, "国足乌龙球告负 球迷不满", "昨晚比赛中，后卫打进乌龙球，最终0比1告负。").relevant
    assert not run(province, "快递送错地址闹乌龙 网友笑翻", "快递员把包裹送到了隔壁小区。").relevant


# ---------------------------------------------------------------- a public-service body's harm


def test_a_public_service_bodys_work_causing_accidents_is_a_complaint_about_it(province):
    f = run(province, "朔州环卫洒水致多起车辆追尾事故", "市区道路因洒水结冰，发生多起追尾事故。")
    assert f.relevant and f.category == "政府回应" and f.grade is Grade.III
    f = run(province, "道路洒水结冰事故，律师：可向环卫部门索赔", "近日多地因洒水结冰发生事故。")
    assert f.relevant and f.category == "政府回应"


def test_a_sanitation_worker_as_a_victim_is_not_a_complaint(province):
    assert not run(province, "朔州一环卫工被撞身亡 肇事司机逃逸", "一名环卫工人在清扫路面时被撞身亡。").relevant
    assert not run(province, "环卫工人冒雪清扫 保障道路安全", "为防止发生事故，环卫工人连夜除雪。").relevant


# ---------------------------------------------------------------- leaders' own activities


def test_a_leader_receiving_petitioners_is_a_government_response(province):
    f = run(
        province, "德兴市政府信息公开 - 郭峰接访:关注民生 依法依规解决群众诉求", "郭峰接待来访群众，听取他们的诉求。"
    )
    assert f.relevant and f.category == "政府回应"


def test_deputies_inspecting_is_their_own_activity(province):
    f = run(province, "市人大代表一行视察我市交通综合治理工作", "市人大代表一行视察我市交通综合治理工作。")
    assert f.relevant and f.category == "其他"


def test_an_inspection_inside_sector_news_is_not_the_subject(province):
    """视察 and a deputy in the lead of a headline about schools: sector news."""
    f = run(
        province,
        "地震体验基地覆盖全市中小学校",
        "今天上午，市人大城建环保委员会对全市防震减灾工作进行专项视察，市人大代表出席。",
    )
    assert not f.relevant


# ---------------------------------------------------------------- "tigers"


def test_tigers_on_trial_are_corrupt_officials_and_a_zoos_tiger_is_not(province):
    f = run(province, "今年27只“老虎”受审名单!有的已经退休", "中央纪委公布了今年受审的原省部级干部名单。")
    assert f.relevant and f.category == "违纪违法"
    assert not run(province, "动物园一只老虎咬伤游客 园方致歉", "某动物园一只老虎咬伤一名游客。").relevant


# ---------------------------------------------------------------- the rule language


def _with_rules(*rules):
    cfg = load_config(EXAMPLE)
    return private_analyzer(
        cfg.model_copy(update={"watchlist": cfg.watchlist.model_copy(update={"topics": list(rules), "places": []})})
    )


def test_at_least_sets_the_content_grade_a_rule_decides():
    levy = Near(a=["每户"], b=["收"], within=2)
    plain = _with_rules(Topic(category="干部作风", near=[levy, Near(a=["每户"], b=["$officials"], within=20)]))
    floor = _with_rules(
        Topic(category="干部作风", near=[levy, Near(a=["每户"], b=["$officials"], within=20)], at_least=Grade.III)
    )
    post = Post("forum", "k", "镇政府更换电表每户收50元", "")
    assert plain.analyse(post, None).finding.grade is Grade.IV
    f = floor.analyse(post, None).finding
    assert f.grade is Grade.III
    assert any("干部作风规则定级（每户" in r.words for r in f.reasons if r.factor == "content")
    with pytest.raises(ValidationError):
        Topic(category="干部作风", any=["乱收费"], at_least="V")


def test_only_one_side_of_a_near_clause_triggers_its_rule():
    """A near-only rule triggers on the side it cannot match without (`a`, or `b` when `a` is a
    `$` expansion): the other side's words (执法 of 乌龙…执法) in a lead's first sentence do not
    make a topic deeper in the lead the headline's subject."""
    a = _with_rules(
        Topic(category="干部作风", near=[Near(a=["乌龙"], b=["执法"], within=4)]),
        Topic(category="违纪违法", any=["问责"]),
    )
    post = Post(
        "forum",
        "k",
        "县交通局开展冬季交通安全大整治",
        "县交通局联合执法，严查超载。" + "行动持续一月。" * 5 + "对失职者严肃问责。",
    )
    assert not a.analyse(post, None).finding.relevant
    assert a.analyse(Post("forum", "k", "县交通局执法闹乌龙 罚错车主", ""), None).finding.relevant
