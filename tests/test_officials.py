"""Officials recognised without a watch-list: title + name, surname + title, unit + title;
their rank; and relevance with the province profile."""

from __future__ import annotations

import pytest

from bot.config import load_config
from core.models import Post
from core.officials import OfficialFinder
from core.text import fold
from jobs.analyse import Analyzer
from tests.conftest import finding_of as run


@pytest.fixture(scope="module")
def finder():
    return OfficialFinder()


def one(finder, text):
    officials, _ = finder.find(fold(text))
    assert officials, text
    return officials[0]


@pytest.mark.parametrize(
    "text,name,rank",
    [
        ("曲靖市副市长黄太文强调要抓好安全生产", "黄太文", "厅局"),
        ("内蒙呼和浩特市庄村村支书郑高贵长期把持基层政权乱作为", "郑高贵", "村"),
        ("抚州市临川区纪委书记吴小明接受审查", "吴小明", "县处"),
        ("原副县长王某某受贿案一审宣判", "王某某", "县处"),
        ("市委书记李强调研基层党建", "李强", "厅局"),
        ("环境保护部原副部长、党组成员张力军涉嫌严重违纪违法接受调查", "张力军", None),
    ],
)
def test_title_next_to_a_name(finder, text, name, rank):
    o = one(finder, text)
    assert o.name == name
    if rank:
        assert o.rank == rank


def test_surname_and_title(finder):
    o = one(finder, "张局长收了钱还不办事")
    assert (o.name, o.title) == ("张", "局长")


def test_unit_and_title(finder):
    o = one(finder, "某县教育局局长被查")
    assert o.unit == "某县教育局" and o.rank == "乡镇"
    assert one(finder, "湖南一厅长为当上副省级竟开价两亿").unit == "湖南"


def test_a_title_alone_or_inside_a_word_is_nobody(finder):
    for text in ("主任医师张三说要多喝水", "班主任李老师很负责", "该局局长表示", "公司销售部部长吴岩受贿"):
        officials, _ = finder.find(fold(text))
        assert not officials, text


def test_bare_cues_and_bodies(finder):
    _, cues = finder.find(fold("村干部和其父亲一手遮天"))
    assert "村干部" in cues
    _, cues = finder.find(fold("投诉主题：新宁一渡水镇政府不作为"))
    assert "镇政府" in cues


def test_a_post_without_a_title_word_is_not_tagged(finder, monkeypatch):
    import jieba.posseg

    monkeypatch.setattr(jieba.posseg, "cut", lambda *a, **k: pytest.fail("tagged"))
    assert finder.find(fold("今天天气不错，适合出游")) == ([], [])


@pytest.mark.parametrize(
    "title",
    [
        "曲靖市副市长黄太文强调要抓好安全生产",
        "内蒙呼和浩特市庄村村支书郑高贵长期把持基层政权乱作为",
        "投诉主题：新宁一渡水镇政府不作为",
    ],
)
def test_issue_examples_are_relevant_without_a_watch_list(province, title):
    f = run(province, title)
    assert f.relevant, title


def test_officials_are_shown_with_the_finding(province):
    f = run(province, "曲靖市副市长黄太文强调要抓好安全生产")
    assert f.matched["officials"] == ["曲靖市副市长黄太文"]


def test_sector_news_with_an_official_inside_is_not_relevant(province):
    f = run(province, "全省冬小麦播种基本结束", "省农业农村厅副厅长李某介绍，今年播种面积稳定。")
    assert not f.relevant


def test_watched_cadres_stay_on_top():
    from tests.conftest import EXAMPLE

    a = Analyzer(load_config(EXAMPLE))
    watched = a.analyse(Post("forum", "k", "张建国公车私用", ""), a.config.source("forum"))
    found = a.analyse(Post("forum", "k", "临川区交通运输局局长李某公车私用", ""), a.config.source("forum"))
    assert watched.finding.relevant and found.finding.relevant
    assert watched.sensitivity > found.sensitivity


# ------------------------------------------------------------ relevance rules tuned on the labelled set (issue 13)
def test_a_bare_title_is_a_person_involved_not_a_body(finder):
    from core.officials import is_body

    assert not is_body("书记") and not is_body("局长")  # somebody, unidentified
    assert is_body("镇政府") and not is_body("村干部")
    _, cues = finder.find(fold("新书记刚上任，会计就想拉帮结派"))
    assert cues == ["书记"] and not any(is_body(c) for c in cues)


def test_a_bare_title_and_a_topic_are_not_a_story(province):
    """A drama synopsis or a company's club event names nobody and no body: not relevant."""
    assert not run(province, "新书记刚上任，会计就拉帮结派", "该剧讲述的是小公务员马向阳的乡村奇遇记。").relevant
    assert not run(
        province, "公司团委组织开展主持人大赛", "公司工会副主席、各党支部书记及青年职工共100余人参加。"
    ).relevant


def test_a_party_organ_alone_identifies_nobody(finder):
    officials, _ = finder.find(fold("公司工会副主席、各党支部书记及青年职工参加"))
    assert not officials


def test_party_group_deputy_secretary_is_a_title(finder):
    o = one(finder, "集团公司总经理、党组副书记章建华参加座谈会")
    assert (o.title, o.name) == ("党组副书记", "章建华")


def test_embezzlement_and_bribery_in_one_word_is_a_discipline_story(province):
    f = run(province, "内蒙古“巨贪”杨成林贪污受贿6亿", "")
    assert f.relevant and f.category == "违纪违法"


def test_non_state_functionaries_bribery_is_a_company_matter(province):
    f = run(
        province,
        "汽车参股公司一部长受贿110万 多次向经销商索贿",
        "裁判文书网显示，该公司原销售部部长吴岩犯非国家工作人员受贿罪，判处有期徒刑。",
    )
    assert not f.relevant


@pytest.mark.parametrize(
    "title", ["2018年公务员考试法律常识题（52）", "公务员考试财务专业谁有资料啊", "公务员考试每日一练"]
)
def test_exam_prep_is_not_recruitment_news(province, title):
    assert not run(province, title).relevant


def test_a_letter_to_a_government_office_is_a_complaint(province):
    f = run(
        province,
        "工厂废气严重影响周边居民生活",
        "来信人 谭*** 来信主题 工厂废气严重影响周边居民生活 受文单位 博罗县政府办公室 来信内容 请政府处理。",
    )
    assert f.relevant and f.category == "政府回应"


def test_police_torture_allegations_are_misconduct(province):
    f = run(province, "北京大兴区公安局的所作恶行", "控告派出所警察王某在执法过程中刑讯逼供、制造假笔录。")
    assert f.relevant and f.category == "违纪违法"


def test_complaints_ignored_by_a_body_are_inaction(province):
    f = run(province, "关于我组的自来水严重污染事件", "投诉几次都没有解决，两次报案，派出所也置之不理。")
    assert f.relevant and f.category == "干部作风"


def test_another_provinces_organisation_department_is_not_our_unit(province):
    """Sector news with another province's 省委组织部部长 inside is not relevant by the unit."""
    f = run(
        province,
        "云南省高层次人才创新创业园在昆明高新区揭牌成立",
        "云南省委常委、省委组织部部长李小三，云南省人民政府副省长董华出席。",
    )
    assert not f.relevant
    f = run(province, "江西省委组织部发布干部任前公示", "")
    assert f.relevant and f.matched["units"] == ["江西省委组织部"]


def test_a_name_the_tagger_split_before_a_title(finder):
    """段 / 国华 / 同志: a surname and a given name jieba's tagger split are still a name."""
    assert one(finder, "段国华同志出席全省督察部门演练闭幕式").name == "段国华"


def test_a_split_name_heading_an_official_item_is_relevant(province):
    assert run(province, "段国华同志出席省公安警务督察部门集中演练比武竞赛闭幕式").relevant


@pytest.mark.parametrize(
    "text, label",
    [
        # 任 (takes the post) between a name and the title is the verb, not the surname 任
        ("李明任县委书记", "县委书记李明"),
        ("王建国任市长", "市长王建国"),
        ("刘洋任县长，免去其副县长职务", "县长刘洋"),
        # …while Secretary Ren is still Ren
        ("任书记指出，要抓好落实", "任书记"),
        ("县委书记任建华主持会议", "县委书记任建华"),
        # 率 (leads) after a name is the verb
        ("益阳市政协副主席胡捷率政协经科委负责人来娄底调研", "副主席胡捷"),
        # a form of address stays after the name
        ("蓝绍敏同志在会上讲话", "蓝绍敏同志"),
    ],
)
def test_a_verb_next_to_a_name_is_not_part_of_it(finder, text, label):
    officials, _ = finder.find(fold(text))
    # the unit before the title (益阳市政协) depends on the words jieba knows by then
    assert len(officials) == 1 and officials[0].label.endswith(label), [o.label for o in officials]


@pytest.mark.parametrize(
    "text, label",
    [
        # an appointment names the person before 为 and the unit (the tagger's 华为 for 李华为)
        ("任命王芳为白舍镇镇长", "白舍镇镇长王芳"),
        ("决定任命李华为县财政局局长", "县财政局局长李华"),
        ("提名张伟为县长候选人", "县长张伟"),
        ("选举王强为村委会主任", "村委会主任王强"),
    ],
)
def test_an_appointment_names_the_person_before_为(finder, text, label):
    officials, _ = finder.find(fold(text))
    assert [o.label for o in officials] == [label]


def test_one_token_is_not_both_the_unit_and_the_name(finder):
    """免去李明白舍镇镇长职务: the tagger cuts 李 / 明白 / 舍镇 and tags 舍镇 a name; the label
    must not repeat it as the person (舍镇镇长舍镇)."""
    officials, _ = finder.find(fold("南丰县委决定，免去李明白舍镇镇长职务，县里成立调查组。"))
    assert all(o.name != o.unit for o in officials), [o.label for o in officials]
    assert not any(o.label.endswith("舍镇镇长舍镇") for o in officials)


def test_one_person_under_several_titles_is_shown_once(province):
    f = run(
        province,
        "一县委书记涉两罪被审查起诉",
        "滁州市来安县县委书记刘荣祥涉嫌受贿被审查起诉。县委书记刘荣祥此前已被开除党籍，副县长王强、副县长王强的秘书均被调查。",
    )
    shown = f.matched["officials"]
    assert shown.count("滁州市来安县县委书记刘荣祥") == 1 and not any(x == "县委书记刘荣祥" for x in shown), shown
    assert sum(x.endswith("副县长王强") for x in shown) == 1, shown
    content = next(r.words for r in f.reasons if r.factor == "content")
    assert content.count("刘荣祥") == 1, content


def test_an_unnamed_post_beside_its_named_holder_is_that_holder(finder):
    from core.officials import one_per_person

    officials, _ = finder.find(fold("被告人姜继红在担任建设管理处处长期间，管理处处长姜继红利用职务便利收受财物"))
    assert [o.label for o in one_per_person(officials)] == ["管理处处长姜继红"]


def test_a_party_organisations_secretary_in_general_is_nobody(finder):
    officials, _ = finder.find(fold("重点摸清党组织总数、党组织书记的配备情况"))
    assert officials == []


def test_a_watched_cadres_name_next_to_a_title_names_the_official(make_app):
    """A watched cadre's name is a person's name to the tagger: 江北区副区长刘海燕 is one
    official on the card (not an unnamed 江北区副区长 beside the cadre), named once."""
    from tests.conftest import seed

    h = make_app()
    out = seed(
        h, "江北区副区长刘海燕带队到南湖区调研基层党建工作", "11月21日，江北区副区长刘海燕带队赴南湖区学习交流。"
    )
    inc = h.incident(out.incident_id)
    assert inc.matched["officials"] == ["江北区副区长刘海燕"], inc.matched["officials"]
    content = next(r.words for r in inc.reasons if r.factor == "content")
    assert content.count("刘海燕") <= 1, content
