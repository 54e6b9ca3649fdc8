"""The rubric's subject test and scope rules with the province profile (config/province.toml):
the headline carries the cadre story, a topic rule is judged on the headline first, a named
official without a title in the headline, site suffixes, foreign countries, police at work,
complaints about a government body's handling. Synthetic posts, one rule class each."""

from __future__ import annotations

import pytest

from bot.config import load_config
from core.gazetteer import foreign_subject
from core.models import Post
from core.officials import OfficialFinder
from core.text import fold
from core.text import without_site_suffix as _without_site_suffix
from tests.conftest import finding_of as run
from tests.private_jieba import private_analyzer


def rules_only(province, title: str, lead: str):
    """The finding of the rules alone (the relevance model set aside for the call)."""
    model, province.relevance = province.relevance, None
    try:
        return run(province, title, lead)
    finally:
        province.relevance = model


def assert_rules_say(province, title: str, lead: str, relevant: bool, category: str) -> None:
    """The rules alone find the post relevant or not as said, and file a relevant one under `category`."""
    f = rules_only(province, title, lead)
    assert f.relevant is relevant, f.reasons
    if relevant:
        assert f.category == category, (f.category, f.reasons)


# ---------------------------------------------------------------- subject: the headline


def test_a_named_official_in_the_headline_without_a_title(province):
    """章建华参加…调研: the headline names him, the lead gives his title."""
    f = run(
        province,
        "王建华参加全省脱贫攻坚推进会并赴企业调研",
        "集团公司总经理、党组副书记王建华于5月20日参加推进会。他强调，要履行社会责任。",
    )
    assert f.relevant
    assert any("王建华" in o for o in f.matched["officials"])


def test_a_name_in_the_lead_that_is_not_in_the_headline_is_not_the_subject(province):
    """The rules' subject test. (The relevance model, jobs/relevance.py, may still add such a
    post with its reason on the card: after the subject test analysts called most of the posts
    it finds relevant; see tests/test_relevance_model.py.)"""
    from core.models import Post
    from jobs.analyse import SUBJECT

    model, province.relevance = province.relevance, None
    try:
        a = province.analyse(
            Post(
                "forum",
                "k",
                "春季植树活动在城区启动",
                "市委书记张德江出席活动。现场党员干部积极参与，开展主题党日活动，村两委成员到场。",
            ),
            province.config.source("forum"),
        )
    finally:
        province.relevance = model
    assert not a.finding.relevant and a.dropped == SUBJECT


def test_sector_news_with_cadre_words_deep_in_the_lead_is_not_relevant(province):
    """A body in the headline (交警大队) and topics only after the lead's first sentence."""
    f = run(
        province,
        "交警大队拉开交通安全宣传进校园序幕",
        "近日，交警大队民警走进校园开展交通安全宣传。相关链接：信访 12345 作风建设 问责 不作为。",
    )
    assert not f.relevant


def test_a_body_in_the_headline_with_the_topic_in_the_first_sentence(province):
    f = run(province, "县农机局召开专题会议", "县农机局召开专题会议，开展形式主义官僚主义问题自查。")
    assert f.relevant and f.category == "干部作风"


def test_a_cadre_in_the_headline_is_the_subject_with_the_topic_deeper(province):
    """A person (地税局干部) in the headline is the subject, unlike a body alone: the topic may
    come after the lead's first sentence."""
    f = run(
        province,
        "县交通局干部下乡途中遇车祸身亡",
        "记者昨天了解到这一消息。该干部生前是优秀共产党员，多次获评先进。",
    )
    assert f.relevant


def test_a_party_study_session_of_a_body_is_party_building(province):
    f = run(province, "桃源县农机局举办十九大精神学习培训班", "")
    assert f.relevant and f.category == "基层党建"


def test_the_headline_rule_wins_the_category(province):
    """The headline's rule is the post's subject, not a heavier rule deeper in the lead."""
    f = run(province, "县委召开党建工作推进会", "会上通报了巡察发现的问题，强调严肃问责。")
    assert f.relevant and f.category == "基层党建"


def test_no_title_the_first_sentence_is_the_headline(province):
    f = run(province, "", "县委书记李四深入棚户区调研。他强调，要加快改造进度。")
    assert f.relevant


# ---------------------------------------------------------------- topic rules: title first


def test_a_none_word_in_the_title_vetoes_the_rule(province):
    """公务员考试法律常识题: exam prep in the headline; a conduct word in the lead does not
    make it a cadre story either."""
    f = run(province, "2018年公务员考试法律常识题精选", "下列哪项属于行政机关不作为？")
    assert not f.relevant


def test_the_title_rule_is_not_undone_by_navigation_deeper_in_the_page(province):
    f = run(
        province,
        "2019江西公务员招录报名人数统计",
        "截至3月25日，江西公务员招录报名人数已过十万。相关链接：备考资料|面试技巧|真题下载",
    )
    assert f.relevant and f.category == "招录考试"


def test_a_none_word_in_the_first_sentence_still_vetoes(province):
    f = run(
        province,
        "汽车公司一部长受贿110万",
        "裁判文书网显示，汽车公司销售部部长吴岩以非国家工作人员受贿罪被判刑5年。",
    )
    assert not f.relevant


def test_a_company_hiring_is_not_public_recruitment(province):
    assert not run(province, "中国移动江西有限公司上饶分公司社会招聘公告", "").relevant
    assert run(province, "2019年江西省事业单位公开招聘工作人员公告", "").relevant


def test_democratic_parties_are_not_party_building(province):
    f = run(province, "民盟九江市委会学习十九大精神", "民盟九江市委会召开会议，学习十九大精神。")
    assert not f.relevant


# ---------------------------------------------------------------- site suffixes


@pytest.mark.parametrize(
    ("title", "kept"),
    [
        ("苹果商店软件乱扣费_投诉举报_ 投诉直通车_华声在线", "苹果商店软件乱扣费"),
        ("打着幌子，150次收受21人钱财_赤峰新闻网", "打着幌子，150次收受21人钱财"),
        ("德兴市政府信息公开 - 郭峰接访:关注民生 依法依规解决群众诉求", None),
        ("2018-2019学年", None),
    ],
)
def test_site_suffixes_are_not_the_headline(title, kept):
    assert title[: _without_site_suffix(title)] == (kept or title)


def test_a_complaint_sites_section_name_is_not_a_complaint(province):
    f = run(province, "苹果商店软件乱扣费_投诉举报_ 投诉直通车_华声在线", "本人在苹果商店购买软件被重复扣费。")
    assert not f.relevant


# ---------------------------------------------------------------- complaints about a body


def test_a_dispute_over_an_agencys_handling_of_a_report(province):
    f = run(
        province,
        "举报过期食品只奖两毛钱 更像逗你玩",
        "消费者贾某某向济南某区食药监局举报超市销售过期食品，食药监局向其支付两毛钱作为奖励。",
    )
    assert f.relevant and f.category == "政府回应"


# ---------------------------------------------------------------- who and where


def test_police_at_work_are_not_the_cadre_story(province):
    assert not run(province, "宜昌民警卧底捣毁网络赌场", "宜昌民警卧底三个月，捣毁一个网络赌场。").relevant
    assert not run(
        province, "民警提醒：免费清理僵尸粉实为盗号诈骗", "民警提醒市民谨防诈骗，发现可疑情况及时举报。"
    ).relevant


def test_a_title_inside_a_bodys_name_is_not_an_official():
    finder = OfficialFinder()
    assert not finder.has_official_title(fold("全国人大常委会2018年立法工作计划"))
    assert finder.has_official_title(fold("县委常委王五到村调研"))
    assert not finder.has_official_title(fold("民警提醒市民谨防诈骗"))
    assert not finder.has_cadre_word(fold("全国人大常委会2018年立法工作计划"))
    assert finder.has_cadre_word(fold("镇政府不作为"))


def test_a_legislatures_work_plan_is_not_party_building(province):
    f = run(province, "全国人大常委会2018年立法工作计划", "2018年是贯彻党的十九大精神的开局之年。")
    assert not f.relevant


def test_party_members_in_the_headline_are_party_building(province):
    f = run(province, "塔城市：党员动起来，文化室美起来", "村里的党员利用学习日一起劳动。")
    assert f.relevant and f.category == "基层党建"


def test_foreign_countries_are_out_of_scope(province):
    f = run(province, "保加利亚反腐缴获价值逾亿美元比特币", "保加利亚检察机关表示，此次反腐行动缴获大量比特币。")
    assert not f.relevant


def test_a_fugitive_official_caught_abroad_is_ours(province):
    f = run(province, "外逃美国的贪官被遣返回国", "江西省某县原县长王某外逃美国多年，涉嫌受贿。")
    assert f.relevant and f.category == "违纪违法"


def test_foreign_subject_needs_no_place_in_china():
    from core.gazetteer import PlaceHits

    text = "韩国前总统受审\n首尔中央地方法院开庭审理。"
    assert foreign_subject("韩国前总统受审", text, PlaceHits(), len(text), set(range(len(text) + 1)))
    assert not foreign_subject("中美经贸磋商", text, PlaceHits(), len(text), set(range(len(text) + 1)))
    china = PlaceHits(at={12: 2})
    assert not foreign_subject("韩国前总统受审", text, china, len(text), set(range(len(text) + 1)))
    # 执法国家: 法国 inside two words is no country
    assert not foreign_subject("执法国家机关", "执法国家机关", PlaceHits(), 6, {0, 2, 4, 6})


# ---------------------------------------------------------------- a grave allegation in the lead


def test_a_former_official_of_a_unit_is_identified():
    """原 / 前 between the unit and the title: 嘉祥县政府原副县长 is that county's."""
    officials, _ = OfficialFinder().find(fold("法院对嘉祥县政府原副县长秦朝滨贪污受贿案进行了公开宣判"))
    assert officials and officials[0].unit == "嘉祥县政府" and officials[0].title == "副县长"


def test_a_spun_headline_over_an_identified_officials_bribery_case(province):
    """The headline names nobody, the lead an identifiable official's corruption (rubric II):
    that official is the story."""
    f = run(
        province,
        "打着雅好幌子，狂收邮票钱拓印钱",
        "近日，法院对嘉祥县政府原副县长秦朝滨贪污受贿案进行了公开宣判，认定其受贿393万元。",
    )
    assert f.relevant and f.category == "违纪违法" and f.grade in ("I", "II")


# ---------------------------------------------------------------- a response by whom


def test_a_rebuttal_needs_a_government_actor(province):
    """The province's 政府回应 rule for 回应/辟谣/情况通报 is near-only: `$officials` (a title,
    a cadre cue, a body) or `$places` (the gazetteer's places too) within 30 characters."""
    assert not run(province, "可可树将会灭绝？外媒早就辟谣了", "网传40年内可可树将会灭绝，外媒早就辟谣了。").relevant
    f = run(province, "县政府回应村民质疑", "针对村民质疑，县政府作出回应。")
    assert f.relevant and f.category == "政府回应"
    f = run(province, "陕西通报环保督察反馈意见整改情况", "汉中14个问题完成整改。")
    assert f.relevant and f.category == "政府回应"


def test_a_near_only_rule_passes_the_prefilter():
    """A rule made only of near clauses triggers on its own terms (they were once only rule
    words, so the prefilter dropped every post they alone would match); `$places` holds the
    gazetteer's places of the area (临川区 of the example's 抚州市), not only hand-listed ones."""
    from core.config import Near, Topic
    from tests.conftest import EXAMPLE

    cfg = load_config(EXAMPLE)
    rule = Topic(category="政府回应", near=[Near(a=["回应"], b=["$places"], within=10)])
    cfg = cfg.model_copy(update={"watchlist": cfg.watchlist.model_copy(update={"topics": [rule], "places": []})})
    a = private_analyzer(cfg)
    f = a.analyse(Post("forum", "k", "临川区回应群众关切", ""), None).finding
    assert f.relevant and f.category == "政府回应"
    assert "trigger" not in f.matched and "rule" not in f.matched
    assert not a.analyse(Post("forum", "k", "网友回应群众关切", ""), None).finding.relevant


# ---------------------------------------------------------------- the province profile's vocabulary


def test_inaction_vocabulary_makes_a_complaint_about_a_body_relevant(province):
    """不履行职责: a government body's inaction is 干部作风 without a complaint word."""
    f = run(province, "某县国土资源局不履行职责 村民耕地被占三年无人管", "村民多次反映，县国土资源局至今未处理。")
    assert f.relevant and f.category == "干部作风"


def test_over_enforcement_of_public_power_is_relevant(province):
    f = run(province, "某县“过度执法”拘留烧散煤村民 官方称系工作失误", "县环保局发布通告称，对二次违规者给予拘留。")
    assert f.relevant and f.category == "干部作风"


def test_fees_charged_by_a_body_are_relevant_and_by_a_company_not(province):
    f = run(province, "镇政府乱收费 村民每户交五十元", "村民反映，镇政府要求每户缴纳五十元。")
    assert f.relevant and f.category == "干部作风"
    g = run(province, "某医院乱收费 患者多花三千元", "患者反映，该医院检查项目重复收费。")
    assert not g.relevant


def test_a_rebuttal_of_a_false_story_by_a_government_body(province):
    """澄清, 纯属谣言: an official rebuttal is 政府回应 when a body or a place is next to it."""
    f = run(province, "县政府澄清：网传撤县设区消息系谣言", "近日网传我县将撤县设区，经核实，该消息不实。")
    assert f.relevant and f.category == "政府回应"
    g = run(province, "外媒澄清：可可树会开花是假新闻", "有报道称可可树开花，专家澄清。")
    assert not g.relevant


def test_a_teleconference_is_a_bodys_own_meeting(province):
    f = run(province, "全省安全生产电视电话会议召开", "省政府召开全省安全生产电视电话会议，副省长出席并讲话。")
    assert f.relevant and f.category == "其他"


def test_party_building_in_a_community(province):
    f = run(province, "【共驻共建】县供热公司到河滨社区践诺", "县供热公司到社区开展共驻共建活动，捐赠学习用品。")
    assert f.relevant and f.category == "基层党建"


def test_a_forum_reply_under_the_headline_does_not_veto_it(province):
    """A forum page opening with a quoted reply (…群像式的小说): the headline decides."""
    f = run(
        province,
        "头顶光环的公安局长落马:家里除了盐什么都要人送 - 第6页",
        "引用@某网友发表的:\\n有本书叫官场现形记，写的非常有意思，群像式的小说.读完大家会发现",
    )
    assert f.relevant and f.category == "违纪违法"


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "普京称玩忽职守是造成商场大火的主要原因",
            "俄罗斯总统普京表示，大意和玩忽职守是导致大火并造成数十人死亡的主要原因。",
        ),
        (
            "特朗普说失职和滥用职权造成了桥梁垮塌",
            "美国总统特朗普表示，官员失职和滥用职权是导致桥梁垮塌并造成多人死亡的原因。",
        ),
    ],
)
def test_a_headline_naming_a_foreign_leader_is_about_abroad(province, title, lead):
    """A foreign head of state or government named without the country (普京说…玩忽职守…)
    is a foreign story like one naming the country."""
    assert not run(province, title, lead).relevant


def test_a_foreign_leader_beside_a_place_in_china_stays_ours(province):
    f = run(province, "拜登政府制裁名单涉及的某市副市长受贿案", "江西省新余市原副市长李某涉嫌受贿，已被立案审查。")
    assert f.relevant


# ---------------------------------------------------------------- a response and who gives it


@pytest.mark.parametrize(
    "title, lead, relevant",
    [
        # the place is the responder: a government's response, a rebuttal, a bulletin
        ("汉中回应女童被热汤烫伤：将彻查到底", "此事引发网友广泛关注。", True),
        ("西安市情况通报：一幼儿园发生食品安全事件", "此事引发网友广泛关注。", True),
        # the place opens the headline, the responder is someone else: not a government's response
        (
            "汉中3岁女童在幼儿园被热汤烫伤，涉事幼儿园作出回应",
            "事发后，涉事幼儿园负责人表示将承担全部医疗费用。",
            False,
        ),
        ("株洲一小区电梯故障困人半小时，物业公司回应称已检修", "小区业主对物业的处理表示不满。", False),
        # the place is only in the responder's name
        (
            "“幼儿被老师罚站一小时”，宝鸡幼儿园：涉事教师已被辞退",
            "针对网传视频，12月4日，陕西省宝鸡市宝鸡金桥双语幼儿园回应记者称，涉事教师已被辞退，当地教育局已介入调查。",
            False,
        ),
    ],
)
def test_a_place_makes_a_response_governments_only_as_its_speaker(province, title, lead, relevant):
    assert_rules_say(province, title, lead, relevant, "政府回应")


# ---------------------------------------------------------------- a leader's activity in the lead


@pytest.mark.parametrize(
    "title, lead, relevant",
    [
        # a leader leads a delegation, calls on a firm, visits a site, holds talks or gives a
        # donation, told right after a slogan headline: the leader's activity is the story
        ("全力推进“双招双引”工作", "6月3日，开平区委书记刘志强带队赴天津拜访重点企业，洽谈项目合作事宜。", True),
        ("家门口的服务更贴心", "5月12日上午，滨湖区区长孙海涛莅临社区服务站，详细了解服务站运行情况。", True),
        ("携手共建美丽乡村", "日前，临沂市副市长周全率队到沂南县走访贫困户，了解群众生产生活情况。", True),
        ("两地合作再深化", "5月22日下午，庆阳市委书记王建设与省旅游发展委员会座谈，对接旅游工作。", True),
        # a meeting a vice-governor attends and speaks at is the meeting's sector news
        (
            "到2020年创建3000个美丽宜居示范村",
            "昨日，全省改善农村人居环境工作会议在西安召开，副省长刘安出席并讲话。",
            False,
        ),
    ],
)
def test_a_leaders_visit_or_delegation_under_a_slogan_headline(province, title, lead, relevant):
    assert_rules_say(province, title, lead, relevant, "其他")


# ---------------------------------------------------------------- a tip-off the authorities act on


def test_enforcement_started_by_a_tip_off_is_not_complaint_handling(province):
    """A township or a regulator acting on a tip (接到群众举报后…查处) is its ordinary work: the
    政府回应 rule's 举报 is a complaint about a body, not the start of an inspection."""
    f = run(
        province,
        "泸州一养殖户违规使用泔水喂猪 28头生猪已无害化处理",
        "11月20日上午，纳溪区护国镇政府接到群众举报，立即会同区农业农村局赶赴现场核实。经查，该养殖户使用餐厨废弃物喂猪。",
    )
    assert not f.relevant, f.reasons
    # a report the authorities left unanswered is still a complaint about them
    g = run(
        province, "泸州一村民举报养殖场污染半年无人管", "纳溪区护国镇村民反映，养殖场污水直排河沟，举报半年无人管。"
    )
    assert g.relevant and g.category == "干部作风", g.reasons


# ---------------------------------------------------------------- a repost's original title


def test_the_lead_after_a_restated_original_title_is_the_first_sentence(province):
    """A repost opening with 原标题：<the headline> is read from the sentence after it: what
    that sentence says the post is (有奖举报: a reward scheme for tip-offs) counts as it would
    without the restated title."""
    lead = "为鼓励社会公众参与监督，省市场监管局日前印发《食品安全违法行为有奖举报办法》，最高奖励50万元。"
    title = "注意了！举报食品安全问题最高可奖50万元"
    plain = run(province, title, lead)
    reposted = run(province, title, f"原标题：{title}\n{lead}")
    assert not plain.relevant and not reposted.relevant, reposted.reasons


@pytest.mark.parametrize(
    "text, headline, expected",
    [
        ("T\n原标题：注意了！举报骗局\n为了…", "注意了！举报骗局", "为了…"),
        ("T\n原标题:注意了！举报骗局| 微分享为了…", "注意了！举报骗局", "微分享为了…"),
        ("T\n　原标题：另一个标题！\n为了…", "注意了！举报骗局", "为了…"),  # not the headline: its line
        ("T\n为了…", "注意了！举报骗局", "为了…"),  # no original title: the lead as it is
    ],
)
def test_after_original_title(text, headline, expected):
    from jobs.analyse import _after_original_title

    assert text[_after_original_title(text, 2, headline) :] == expected


# ---------------------------------------------------------------- the campaign's slogans


@pytest.mark.parametrize(
    "title, lead, relevant",
    [
        # a school's, the army's pupils' or soldiers' event under the congress's or campaign's slogan
        ("城关镇中心小学让十九大精神走进课堂", "近日，城关镇中心小学各班级开展主题班会，学生们畅谈家乡变化。", False),
        ("第71集团军某旅多种形式开展主题教育", "连日来，该旅官兵走进军史馆，重温部队光荣历史。", False),
        # a party organisation's or a state body's own campaign study stays party building
        ("县财政局开展“不忘初心、牢记使命”主题教育", "按照县委统一部署，县财政局党组召开动员会。", True),
        ("城关镇中心小学党支部开展主题党日活动", "近日，城关镇中心小学党支部组织全体党员重温入党誓词。", True),
        # the slogan as a document's preamble (为深入贯彻…精神，…) is no party building
        (
            "陕西省税务局公告2019年第7号",
            "为深入贯彻党的十九大精神，优化办税服务，现就办税服务厅延时服务有关事项公告如下。",
            False,
        ),
        (
            "县交通运输局党支部开展主题党日活动",
            "为深入贯彻党的十九大精神，县交通运输局党支部组织党员重温入党誓词。",
            True,
        ),
    ],
)
def test_campaign_slogans_make_party_building_only_for_party_or_state_bodies(province, title, lead, relevant):
    assert_rules_say(province, title, lead, relevant, "基层党建")


# ---------------------------------------------------------------- history


@pytest.mark.parametrize(
    "title, lead",
    [
        ("再话新中国首任南京市长刘伯承", "1949年4月，刘伯承任南京市军管会主任兼市长，他带头艰苦朴素，严惩贪污腐败。"),
        ("湖南一老人珍藏毛主席像章50年", "老人曾任村党支部书记，他说县纪委书记也来看过。"),
    ],
)
def test_a_leader_of_the_revolution_in_the_headline_is_history(province, title, lead):
    """A headline about a leader of the revolution or the early People's Republic is history,
    not today's cadre work, whatever titles and discipline words its lead has; the relevance
    model does not take it back (it is out of scope like a foreign story)."""
    f = run(province, title, lead)
    assert not f.relevant, f.reasons


def test_a_party_branch_commemorating_a_leader_of_the_revolution_stays_party_building(province):
    f = run(
        province,
        "县财政局党支部开展纪念毛泽东同志诞辰130周年主题党日活动",
        "12月26日，县财政局党支部组织党员重温入党誓词。",
    )
    assert f.relevant and f.category == "基层党建", f.reasons


# ---------------------------------------------------------------- a district after its city is no name


@pytest.mark.parametrize("title", ["青岛李沧民警救助走失老人", "西安雁塔民警抓获一名网上逃犯"])
def test_a_district_after_its_city_before_a_title_is_a_place_not_a_name(province, title):
    """城市 + 区 short form + 民警 (青岛李沧民警): the tagger may read the district as a person's
    name; the gazetteer found a place there, so no official is named and police at work stay
    police at work."""
    f = rules_only(province, title, "11月14日，该分局民警在巡逻中发现情况并依法处置。")
    assert not f.relevant, f.reasons
    assert not any(o.endswith(("李沧", "雁塔")) for o in f.matched.get("officials", [])), f.matched


def test_an_officers_own_name_is_still_a_name(province):
    f = run(province, "民警王益抓获一名网上逃犯", "11月14日，铜川分局民警王益在摸排中抓获一名在逃人员。")
    assert any(o.endswith("民警王益") for o in f.matched.get("officials", [])), f.matched


# ---------------------------------------------------------------- a complaint about a company


@pytest.mark.parametrize(
    "title, lead, relevant",
    [
        # a company, a hospital, a driving school complained of: the body in the lead regulates it
        (
            "网友举报:咸阳一家黑心医院骗走患者八千元",
            "2018年我被咸阳这家医院骗了8千多块，向区政府反映后毫无结果。",
            False,
        ),
        ("曝光！这家化工企业废水直排河道", "根据群众信访举报，县生态环境局执法人员对该企业进行了检查。", False),
        # …through a government channel, or with a body named in the headline, it is complaint handling
        ("开发商逾期三年不交房 业主在市长留言板投诉", "回复内容：市住建局已约谈该公司，责令限期整改。", True),
        ("举报县住建局对开发商违建不作为", "业主多次向县住建局举报，违建至今未拆除。", True),
        # a company's own misconduct in the headline (the "enforcement" of a property firm's or a
        # hotel's guards) is not cadre work whatever the words: no official, body or
        # cadre is its subject
        ("锦华小区物业无证暴力执法 商户敢怒不敢言", "商户反映，物业人员扬言不交管理费就让店铺开不成。", False),
        ("郑州宏达酒店保安暴力执法 驱赶门前摊贩", "摊贩反映，酒店保安多次动手，还扬言叫人来收拾他们。", False),
        # …while a body or an official named beside the company still is the story
        ("宏达公司老板实名举报副县长受贿", "举报信称，该副县长多次收受其财物。", True),
        ("城管与物业联合暴力执法 商户被打伤", "商户称，区城管局执法人员与物业人员一同动手。", True),
    ],
)
def test_a_companys_story_is_not_cadre_work(province, title, lead, relevant):
    f = rules_only(province, title, lead)
    assert f.relevant is relevant, f.reasons


@pytest.mark.parametrize(
    "title",
    ["长沙市委书记胡衡华在贺龙体育场出席全民健身运动会开幕式", "宁乡市委书记到刘少奇故居调研红色旅游工作"],
)
def test_a_place_named_after_a_leader_of_the_revolution_is_todays_news(province, title):
    """贺龙体育场, 刘少奇故居: where today's leaders act, not history."""
    f = rules_only(province, title, "市委书记一行察看了现场。")
    assert f.relevant, f.reasons


# ---------------------------------------------------------------- a question on a Q&A site


@pytest.mark.parametrize(
    "title, relevant",
    [
        # someone asks where or how to report: a question, not an event
        ("东莞纪委在哪里? 我要检举贪污 违法乱纪 电话打不通_百度知道", False),
        ("村干部贪污低保款怎么举报?东莞哪个部门管 - 知乎", False),
        ("村主任挪用公款怎么处理?--在线法律咨询_律师365", False),
        # …a question about a named official's case is about that official
        ("张家港副市长李明贪污受贿多少钱_百度知道", True),
        # the same words as news are news
        ("东莞纪委通报3起村干部贪污案", True),
    ],
)
def test_a_question_on_a_qa_site_is_not_an_event(province, title, relevant):
    f = rules_only(province, title, "")
    assert f.relevant is relevant, f.reasons
