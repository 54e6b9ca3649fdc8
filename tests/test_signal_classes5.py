"""Rule classes found with the fifth tuning batch (config/labels/README.md, "Fifth tuning
batch": posts without a cadre cue word that the rules found relevant): acts anyone may commit —
drunk driving, being searched, a tip-off, a village bully, misappropriated company money — are
police, court or consumer news unless an official, a cadre or a government body other than the
police is the one involved. Each a synthetic post the profile should not find and a look-alike
it should."""

from __future__ import annotations

import pytest

from jobs.analyse import CITIZEN_OFFENCES, OFFICIAL
from tests.conftest import finding_of as run


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "东莞男子酒驾被查：没想到交警周末还查车",
            "3月2日晚，东莞交警大队民警在辖区路口查获一名酒驾男子，其血液酒精含量超标。",
        ),
        ("男子醉驾还阻碍民警执法", "4月5日凌晨，城西中队民警王强在路口设卡检查时，一名醉驾男子拒不配合，被依法处理。"),
        ("交警查获一名醉驾男子 血液酒精含量超标", "3月2日晚，城西交警中队在辖区路口查获一名醉驾男子。"),
        ("两人死亡！一司机酒驾酿惨剧", "昨日，西宁市城北区一名司机酒后驾车撞上路边行人，造成两人死亡。"),
        ("男子腰腹绑21台手机入境深圳被查", "近日，一名男子从皇岗口岸入境时被海关关员查获，其腰腹绑有21台手机。"),
        ("网友举报：临沂某医院是黑心医院", "有网友在论坛发帖，称其在临沂某医院看病时被多收费用，希望大家注意。"),
        ("我叔叔挪用了公司的公款，能取保吗", "网友提问：我叔叔在一家私营公司做出纳，私自挪用了公司的公款二十万元。"),
    ],
)
def test_a_citizens_offence_without_an_official_is_not_a_cadre_story(province, title, lead):
    f = run(province, title, lead)
    assert not f.relevant


def test_the_stage_that_turns_it_down_is_the_lack_of_an_official(province):
    """Dropped as "no official" (a stage the relevance model may still read)."""
    from core.models import Post

    post = Post(
        "forum", "k", "东莞男子酒驾被查：没想到交警周末还查车", "3月2日晚，东莞交警大队民警在路口查获一名酒驾男子。"
    )
    a = province.analyse(post, province.config.source("forum"))
    assert not a.finding.relevant and a.dropped == OFFICIAL


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "县工商局干部醉驾撞死环卫工却免于刑罚？",
            "据报道，某县工商局一名干部醉驾撞死一名环卫工人，法院判决免予刑事处罚。",
        ),
        ("副镇长酒驾被查 已被免职", "3月2日晚，青石镇副镇长李明酒后驾车被交警查获，镇党委已免去其职务。"),
        ("县交警大队副大队长醉驾被查", "12月9日晚，县交警大队副大队长醉酒驾车被查获。"),
        ("民警醉驾撞人 被停职调查", "4月5日，城西派出所一名民警醉酒驾车撞伤行人，已被停职接受调查。"),
        ("村民举报镇政府截留补偿款", "青石镇多名村民实名举报镇政府截留征地补偿款，至今未获答复。"),
        ("官员酒驾肇事逃逸引发关注", "近日，一名官员酒后驾车撞人后逃逸，当地纪委已介入调查。"),
    ],
)
def test_the_same_offence_by_an_official_or_against_a_body_still_is(province, title, lead):
    assert run(province, title, lead).relevant


def test_citizen_offences_are_single_acts_not_corruption_words():
    """Only acts anyone may commit: a cadre's own offences (受贿, 滥用职权) never need more."""
    assert {"受贿", "贪污", "滥用职权", "双开", "落马"}.isdisjoint(CITIZEN_OFFENCES)


# ---------------------------------------------------------------- one incident of conduct is III


def test_an_incident_of_a_cadres_conduct_is_at_least_iii(province):
    """Words that tell one incident (一手遮天, 粗暴执法, 吃拿卡要) grade it III even when the lead
    holds no inaction or abuse word of the grading's own."""
    f = run(province, "青石村支书父子还想一手遮天", "青石村村民反映，村支书父子长期把持村务，村里的事都是他们说了算。")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III"
    f = run(province, "丰城消防大队粗暴执法 群众不满", "12月24日晚，丰城消防大队一行数人未出示证件就对商户进行检查。")
    assert f.relevant and f.grade.value == "III"


def test_an_exemplar_or_a_campaign_word_sets_no_floor(province):
    f = run(
        province, "青石镇表彰一批优秀共产党员", "7月1日，青石镇党委召开大会，表彰一批优秀共产党员和先进基层党组织。"
    )
    assert f.relevant and f.grade.value == "IV"


# ---------------------------------------------------------------- a campaign is not a case


def test_a_campaign_against_formalism_is_routine_not_a_complaint():
    """整治形式主义官僚主义: the words after a campaign verb name its target, not a case of it."""
    from core.grading import assess_content

    meeting = "青石镇召开整治形式主义官僚主义工作会议\n12月3日，青石镇党委召开专题会议，部署整治形式主义官僚主义工作。"
    assert assess_content(meeting, involved=["镇党委"]).grade.value == "IV"
    leader = "县委书记张三部署专项整治公车私用和违规吃喝问题\n会议要求，各单位要力戒形式主义。"
    assert assess_content(leader, identified=["县委书记张三"]).grade.value == "IV"


def test_a_case_of_the_same_conduct_still_is():
    from core.grading import assess_content

    complaint = "青石镇办事窗口形式主义严重 群众办事跑断腿\n村民反映，镇便民服务中心推诿扯皮，办一个证跑了五趟。"
    assert assess_content(complaint, involved=["便民服务中心"]).grade.value == "III"
    case = "县委书记张三公车私用被通报\n经查，张三多次公车私用，违规吃喝。"
    assert assess_content(case, identified=["县委书记张三"]).grade.value == "II"
