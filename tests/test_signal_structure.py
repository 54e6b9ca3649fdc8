"""Structural causes of misses (issue 13): which analysis stage drops a post (`Analysis.dropped`,
read by `python -m bench.bench_labels --stages tune`), and state-company executives recognised
as officials (the rubric: SOE executives count, private-company bribery does not)."""

from __future__ import annotations

import pytest

from core.models import Post
from core.officials import OfficialFinder
from core.text import fold
from jobs.analyse import DROP_STAGES


def run(a, title, text=""):
    return a.analyse(Post(source_id="s", item_key=title, title=title, text=text), None)


def test_a_post_without_any_watch_list_term_is_dropped_before_segmenting(province):
    out = run(province, "今日天气晴好", "气温回升，适宜出行。")
    assert not out.finding.relevant and out.dropped == "no term"


def test_a_topic_deep_in_the_page_is_dropped_by_the_prefilter(province):
    out = run(province, "今日天气晴好", "气温回升。" * 80 + "某镇干部受贿。")
    assert out.dropped == "prefilter"


def test_a_vetoed_rule_is_named_as_the_stage(province):
    out = run(province, "2018年公务员考试法律常识题（52）", "")
    assert out.dropped in ("none words", "subject", "officials")  # the rule is out either way
    assert not out.finding.relevant


def test_a_relevant_post_has_no_stage(province):
    out = run(province, "曲靖市副市长黄太文强调要抓好安全生产")
    assert out.finding.relevant and out.dropped == ""


def test_the_stages_are_named_in_order():
    assert DROP_STAGES[0] == "no term" and DROP_STAGES[-2:] == ("officials", "not a story")


def test_the_stages_tool_reads_the_tune_part_only():
    from bench.bench_labels import main, stages

    with pytest.raises(ValueError):
        stages(part="fresh")
    with pytest.raises(SystemExit):
        main(["--stages", "fresh"])


# ------------------------------------------------------------------ state-company executives


@pytest.mark.parametrize(
    "text,name",
    [
        ("中国铁塔副总经理董晓庄：推动普遍服务与精准扶贫有效融合", "董晓庄"),
        ("中国电信董事长王晓初出席会议", "王晓初"),
        ("国家电网公司总经理寇伟赴四川调研", "寇伟"),
    ],
)
def test_a_central_state_companys_executive_is_an_official(text, name):
    officials, _ = OfficialFinder().find(fold(text))
    assert [o.name for o in officials] == [name]


def test_a_company_executive_is_an_official_when_the_lead_says_the_company_is_state_owned():
    text = "安江茶叶进出口有限公司原董事长顾建新一审获刑\n顾建新犯受贿罪、国有公司人员滥用职权罪，判处有期徒刑。"
    officials, _ = OfficialFinder().find(fold(text))
    assert [o.name for o in officials] == ["顾建新"]


@pytest.mark.parametrize(
    "text",
    [
        "旭辉集团董事长林中：看好中国的房地产行业",
        "宏达科技有限公司总经理王建明介绍新产品",
        "美的集团总裁方洪波出席发布会",
    ],
)
def test_a_private_companys_executive_is_nobody(text):
    officials, cues = OfficialFinder().find(fold(text))
    assert officials == [] and cues == []


@pytest.mark.parametrize(
    "title,text",
    [
        ("中国铁塔副总经理董晓庄：推动普遍服务与精准扶贫有效融合", "10月9日，扶贫日系列论坛在北京举行。"),
        (
            "安江茶叶进出口有限公司原董事长、总经理顾建新一审获刑18年",
            "2月3日，某县人民法院对安江茶叶进出口有限公司原董事长、总经理顾建新犯受贿罪、国有公司人员滥用职权罪一案作出一审判决。",
        ),
    ],
)
def test_a_state_company_executive_in_the_headline_is_relevant(province, title, text):
    assert run(province, title, text).finding.relevant


@pytest.mark.parametrize(
    "title,text",
    [
        ("旭辉集团董事长林中：看好中国的房地产行业", "旭辉集团董事长林中在论坛上表示，行业将稳定发展。"),
        (
            "宏达科技有限公司原董事长王建明一审获刑10年",
            "王建明犯职务侵占罪，判处有期徒刑十年。",
        ),
        ("中国移动通信集团某分公司与李某电信服务合同纠纷一审民事裁定书", "法定代表人：林某，职务总经理。"),
    ],
)
def test_a_private_or_unnamed_executive_in_the_headline_is_not_relevant(province, title, text):
    assert not run(province, title, text).finding.relevant


def test_a_central_state_companys_union_officer_with_a_two_character_surname_is_an_official():
    officials, _ = OfficialFinder().find(fold("通用技术集团工会副主席欧阳敬芝到北京新机场项目调研"))
    assert [o.name for o in officials] == ["欧阳敬芝"]


@pytest.mark.parametrize(
    "text,name", [("市委副书记欧阳敬芝到县里调研", "欧阳敬芝"), ("副县长司马建国主持会议", "司马建国")]
)
def test_a_two_character_surname_after_a_title_is_a_name(text, name):
    officials, _ = OfficialFinder().find(fold(text))
    assert [o.name for o in officials] == [name]


def test_a_company_union_officer_is_nobody():
    officials, _ = OfficialFinder().find(fold("宏达科技集团工会副主席欧阳敬芝看望一线职工"))
    assert officials == []
