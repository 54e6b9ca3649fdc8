"""Grade classes from the tune part's grade errors (config/labels/README.md): officials the
content names by their post rather than by a watch-list entry or a name next to a title.

- A unit's head written as one dictionary word (公安局长, 医院院长, 派出所长, 党委书记) or a surname
  joined to the title (陈书记): jieba keeps them whole, so the title was never seen.
- A name after its post (报账员徐卫东涉嫌挪用公款) or after a report's 对 (关于对宋兆儒滥用职权…的举报)
  before a crime only a state functionary commits.
- One official the headline describes without a name (村干部…骗取补助资金, 女干部索贿, 退休官员…
  权色交易): the rubric's "specific allegation against an identifiable official", II, like a
  named one; several (10名官员), anonymised (某地干部) or a class of people (领导干部, 贪官) stay
  a contained III, and a hospital department's head (科室主任) is a doctor.

Each a synthetic post with other names and places than the labelled ones."""

from __future__ import annotations

import pytest

from core.officials import OfficialFinder
from tests.conftest import finding_of as run


@pytest.fixture(scope="module")
def finder():
    import jieba

    jieba.dt.initialize()
    return OfficialFinder()


@pytest.mark.parametrize(
    "text, label",
    [
        ("县公安局长张三被查", "县公安局局长张三"),
        ("区教育局长王建国涉嫌受贿", "区教育局局长王建国"),
        ("市财政局党委书记刘某收受礼金", "市财政局党委书记刘某"),
        ("李书记到村里走访困难户", "李书记"),
        ("安平县人民医院院长被指滥用职权", "安平县人民医院院长"),
        ("城关派出所长殴打群众", "城关派出所所长"),
    ],
)
def test_a_units_head_written_as_one_word_is_an_official(finder, text, label):
    officials, _ = finder.find(text)
    assert label in [o.label for o in officials]


@pytest.mark.parametrize(
    "text",
    [
        "人民医院内科主任王五坐诊",  # a hospital department's head is a doctor
        "他们各有所长，配合默契",  # 所长 inside an idiom
        "重温毛主席语录",  # a national leader's epithet
        "中国站长网发布报告",  # a webmaster
    ],
)
def test_words_that_end_in_a_title_but_name_no_official(finder, text):
    officials, _ = finder.find(text)
    assert officials == []


def test_the_heads_of_a_court_or_police_station_at_work_are_enforcers(finder, province):
    officials, _ = finder.find("平江法院院长公开审理一起涉黑案件")
    assert officials and all(o.enforcer for o in officials)
    f = run(
        province,
        "平江法院院长公开审理一起涉黑案件",
        "12月3日，平江县人民法院院长担任审判长，公开审理一起涉黑犯罪案件，旁听群众百余人。",
    )
    assert not f.relevant


@pytest.mark.parametrize(
    "headline, name",
    [
        ("长安区粮站会计、报账员周建华涉嫌挪用公款罪被立案侦查", "周建华"),
        ("关于对李德明滥用职权侵占集体土地问题的举报", "李德明"),
        ("城西供销社经理孙国平涉嫌贪污被逮捕", "孙国平"),
    ],
)
def test_a_name_after_its_post_before_a_state_functionarys_crime_is_accused(finder, headline, name):
    assert finder.accused_in(headline) == [name]


def test_a_private_employees_bribery_after_a_post_accuses_no_official(finder):
    """受贿 is also a private employee's crime (非国家工作人员受贿): only the state functionary's
    crimes (挪用公款, 贪污, 滥用职权, 玩忽职守) make a name after a post an official."""
    assert finder.accused_in("某科技公司销售经理王小明受贿被抓") == []


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "长安区粮站报账员周建华涉嫌挪用公款罪被立案侦查",
            "日前，长安区人民检察院决定，依法对长安区粮站报账员周建华以涉嫌挪用公款罪立案侦查。",
        ),
        (
            "镇干部虚报冒领 骗取扶贫补助资金",
            "青石镇纪委在专项督查中发现，该镇一名干部虚报贫困户名单，骗取扶贫补助资金十余万元。",
        ),
        ("网曝：企业主举报女干部索贿两套房产", "近日，一名企业主在网上发帖，实名举报某区一名女干部向其索贿两套房产。"),
        (
            "68岁退休官员返聘后搞权钱交易",
            "据报道，某市一名68岁退休官员被返聘后利用影响力搞权钱交易，收受财物数百万元。",
        ),
    ],
)
def test_one_official_accused_by_post_or_description_is_grade_ii(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.grade.value == "II", f.reasons


@pytest.mark.parametrize(
    "title, lead",
    [
        ("一个部门集中落马了8名处级官员", "据报道，某市一个部门在两年内先后有8名处级官员落马，涉嫌受贿。"),
        ("领导干部受贿的五种新形式", "纪检监察干部总结了当前领导干部受贿的五种新形式，提醒大家警惕。"),
        ("某地干部索贿百万", "据网传消息，某地一干部向企业索贿百万元，具体情况不详。"),
        ("借职务之便 市二院一科室主任收受回扣", "据报道，市第二人民医院一名科室主任借开处方之便收受医药代表回扣。"),
    ],
)
def test_several_anonymised_or_a_class_of_officials_are_not_one_named_case(province, title, lead):
    f = run(province, title, lead)
    assert not (f.relevant and f.grade.value in ("I", "II")), f.reasons


# ---------------------------------------------------------------- words of the content grade


def test_a_difficulty_met_is_no_death():
    """遇难题 (met a difficulty) holds 遇难 (died in a disaster)."""
    from core.grading import Grade, assess_content

    c = assess_content("群众办理户口遇难题 户籍民警热心来解决\n", identified=["户籍民警钱某"])
    assert c.grade is Grade.IV
    c = assess_content("群众办理户口途中遇难 民警失职被查\n", identified=["户籍民警钱某"])
    assert c.grade is Grade.I


def test_abuse_of_power_in_other_words_and_a_suspension_are_graded():
    from core.grading import Grade, assess_content

    assert assess_content("青石镇副镇长滥用权力强占村民土地\n", identified=["副镇长王某"]).grade is Grade.II
    assert assess_content("青石镇一干部被停职\n", involved=["干部"]).grade is Grade.III


def test_a_legal_definition_is_an_explainer():
    """…罪“特别重大损失”的认定: how the law is applied, the rubric's explainer (IV)."""
    from core.grading import Grade, assess_content

    assert assess_content("玩忽职守罪中“重大损失”的认定\n", involved=["国家机关工作人员"]).grade is Grade.IV


# ---------------------------------------------------------------- enforcers using force


@pytest.mark.parametrize(
    "title, lead",
    [
        ("城北交警打人视频引热议", "近日，一段城北交警在执勤时殴打货车司机的视频在网上传播，引发网友热议。"),
        ("城管殴打商贩 当地回应", "有网友发帖称，青石镇城管在清理占道经营时殴打一名卖菜老人，镇政府表示已介入调查。"),
    ],
)
def test_enforcers_using_force_on_a_citizen_are_a_conduct_case(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.category in ("干部作风", "政府回应") and f.grade.value in ("III", "II"), f.reasons


@pytest.mark.parametrize(
    "title, lead",
    [
        ("男子醉酒殴打交警被刑拘", "12月3日晚，一名男子醉酒后在路口殴打正在执勤的交警，已被依法刑事拘留。"),
        ("保安诬陷警察打人 背后另有指使", "经查，该保安为逃避处罚诬陷警察打人，其行为系受人指使。"),
        ("冒充警察打人敲诈 男子落网", "一男子冒充警察打人并敲诈路人钱财，近日被警方抓获。"),
        # the offender's own shout as the headline
        (
            "“警察打人啦！”闯红灯被拦，女子竟对交警动手",
            "5月6日，一女子驾车闯红灯被执勤交警拦下后拒不配合，一边高喊“警察打人啦”一边对交警拳打脚踢。",
        ),
        ("“城管打人了！”摊贩暴力抗法被拘", "一名占道摊贩拒绝城管劝离，高喊“城管打人了”并殴打城管队员，已被警方拘留。"),
    ],
)
def test_enforcers_as_victims_or_impostors_are_police_news(province, title, lead):
    assert not run(province, title, lead).relevant


@pytest.mark.parametrize(
    "text, cue", [("县领导到青石镇检查防汛工作", "县领导"), ("迟来的社保卡，村镇领导你们辛苦了", "镇领导")]
)
def test_a_levels_leaders_are_a_cadre_cue(finder, text, cue):
    _, cues = finder.find(text)
    assert cue in cues
    assert finder.has_official_title(text)


def test_a_cadres_rank_is_a_cadre_cue_and_a_regions_leader_is_not(finder):
    assert finder.has_official_title("礼泉县春季科级主体班圆满结班")
    assert not finder.has_official_title("台湾地区领导人元旦讲话")


@pytest.mark.parametrize(
    "title, lead",
    [
        ("2019年省考面试五大注意事项", "面试是公务员考试的重要环节，考生在面试中要注意以下五点。"),
        ("民国时期的县长是怎样考选的？", "民国时期，公务员考试制度初步建立，县长须经考试选拔。"),
    ],
)
def test_exam_prep_and_the_history_of_exams_are_not_recruitment(province, title, lead):
    assert not run(province, title, lead).relevant


@pytest.mark.parametrize(
    "title, lead",
    [
        ("男子酒驾企图贿赂交警被查", "12月5日晚，一名男子酒后驾车被拦下，企图塞钱贿赂执勤交警，被当场查处。"),
        ("货车司机拖行交警被查", "一货车司机拒不配合检查，驾车拖行执勤交警十余米，已被警方控制。"),
    ],
)
def test_the_police_as_the_object_of_a_citizens_offence_are_police_news(province, title, lead):
    assert not run(province, title, lead).relevant


# ---------------------------------------------------------------- a negative story no grade word names


def test_a_plainly_negative_cadre_story_without_grade_words_is_contained_not_routine(province):
    """A cadre story whose title and lead carry no investigation, abuse, inaction or bulletin
    word is routine (IV) by content — unless its tone is plainly negative (the tone model at
    NEGATIVE_STORY or more): then it is the rubric's "negative but contained" III, and the card
    says why in words."""
    from core.models import Grade
    from jobs.analyse import NEGATIVE_STORY

    sad = run(
        province,
        "咸阳一村民土地被占三年 镇政府说好的补偿款至今不见踪影",
        "村民反映，镇政府征用其土地修路，说好的补偿款至今没给，家里生活难以为继，让人心寒。",
    )
    assert sad.relevant and sad.grade is Grade.III, sad.reasons
    assert "负面的干部相关事件" in str(sad.reasons[0])
    calm = run(province, "咸阳市副市长王建国到礼泉县调研土地征收补偿工作", "王建国一行实地察看了征地补偿款发放情况。")
    assert calm.relevant and calm.grade is Grade.IV, calm.reasons
    assert province.tone.model.probability("咸阳市副市长王建国到礼泉县调研土地征收补偿工作", "") < NEGATIVE_STORY


@pytest.mark.parametrize(
    "title, lead",
    [
        ("【身边的榜样】派出所民警李建华的为民情怀", "李建华扎根基层派出所二十年，帮助群众解决难题上千件。"),
        ("扶贫一线村官风采：带着乡亲们走上致富路", "驻村第一书记王海涛到村三年，带领村民发展特色种植。"),
    ],
)
def test_an_exemplar_profile_is_work_style(province, title, lead):
    """A profile praising an official (榜样, 风采, 为民情怀, 群英谱, 先锋 next to the official) is
    the rubric's positive exemplar: 干部作风."""
    f = run(province, title, lead)
    assert f.relevant and f.category == "干部作风", (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, lead, grade",
    [
        # one deadly incident and the people held to account for it: serious harm, II
        ("咸阳一化工厂爆炸致5人死亡 调查报告公布9人被问责", "经调查，事故企业违规生产，9人被问责。", "II"),
        ("汉中隧道坍塌事故调查结果公布 6人被移送司法机关", "事故造成3人遇难，6名责任人被移送司法机关。", "II"),
        # a bulletin of typical cases stays a bulletin
        (
            "省纪委通报5起典型案例 3人被问责",
            "其中一起因监管不力致1人死亡，相关责任人被问责。",
            "III",
        ),
    ],
)
def test_a_deadly_incident_with_its_people_held_to_account_is_grade_ii(title, lead, grade):
    from core.grading import assess_content
    from core.text import fold

    c = assess_content(fold(f"{title}\n{lead}"))
    assert c.grade.name == grade, c.why
