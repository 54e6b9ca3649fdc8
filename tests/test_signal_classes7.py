"""Rule classes from a monitoring analyst's vocabulary rather than from a labelled post's error
(the inews split holds almost none of them, so the labelled figures do not move): work-discipline
lapses of officials — idling on duty, drawing pay without working (吃空饷, 在编不在岗) — are
conduct cases (干部作风, at least III), while the same idling by a company's clerk, a security
guard or a doctor is not the team's story. Each a synthetic post and a look-alike."""

from __future__ import annotations

import pytest

from core.grading import content_grade_of
from tests.conftest import finding_of as run


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "网友反映：某乡干部上班时间打麻将",
            "有网友在领导留言板反映，某乡政府干部上班时间在办公室打麻将，希望有关部门查处。",
        ),
        ("县住建局工作人员工作时间炒股被通报", "县纪委通报，县住建局工作人员陈某工作时间炒股，受到诫勉谈话。"),
        ("镇政府办公室白天空无一人 干部脱岗去哪了", "群众反映，青石镇政府办公室工作日白天空无一人，多名干部脱岗。"),
        ("某县清理吃空饷人员41名", "某县开展吃空饷专项清理，清理在编不在岗人员41名，追回工资。"),
    ],
)
def test_a_lapse_of_work_discipline_by_officials_is_a_conduct_case(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.category == "干部作风" and f.grade.value in ("III", "II"), (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, lead",
    [
        (
            "员工上班时间打游戏被公司开除 法院判了",
            "一名员工上班时间玩游戏被公司辞退，起诉至法院，法院判决公司解除合同合法。",
        ),
        ("保安脱岗致小区被盗 物业担责", "小区保安夜间脱岗，导致多户被盗，法院判物业公司担责。"),
    ],
)
def test_the_same_idling_outside_the_public_sector_is_not_a_cadre_story(province, title, lead):
    assert not run(province, title, lead).relevant


# ---------------------------------------------------------------- deaths in custody, a body's arrears


@pytest.mark.parametrize(
    "title, lead",
    [
        ("男子在派出所内死亡 家属质疑", "南丰县一男子被带至派出所后在派出所内死亡，家属质疑死因，当地已成立调查组。"),
        ("在押人员看守所内猝死 家属要求公开监控", "南丰县一名在押人员在看守所内猝死，家属要求公开监控视频。"),
    ],
)
def test_a_death_in_custody_is_grave_misconduct_until_the_facts_are_out(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.category == "干部作风" and f.grade.value in ("I", "II"), (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, lead",
    [
        ("男子杀妻后在派出所自首", "男子张某持刀致妻子死亡后，到派出所投案自首，目前已被刑事拘留。"),
        (
            "犯罪嫌疑人已被警方带走 伤者抢救无效死亡",
            "昨晚南丰县发生一起持刀伤人案，犯罪嫌疑人已被警方带走，伤者经抢救无效死亡。",
        ),
    ],
)
def test_a_crime_reported_to_the_police_is_not_a_death_in_custody(province, title, lead):
    assert not run(province, title, lead).relevant


def test_a_government_body_that_does_not_pay_is_a_conduct_case(province):
    f = run(province, "白舍镇政府拖欠工程款3年 包工头讨薪无门", "白舍镇政府拖欠工程款3年未付，包工头多次讨要无果。")
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III", (f.category, f.reasons)


def test_a_companys_arrears_are_labour_news(province):
    f = run(province, "某公司拖欠农民工工资 劳动监察大队介入", "某建筑公司拖欠40名农民工工资，劳动监察大队已介入调查。")
    assert not f.relevant


# ---------------------------------------------------------------- appointments, exams, a service window


def test_an_official_elected_to_a_post_is_an_appointment(province):
    f = run(province, "张伟当选南丰县县长", "在南丰县第十八届人民代表大会第三次会议上，张伟当选为县人民政府县长。")
    assert f.relevant and f.category == "干部任用", (f.category, f.reasons)


def test_a_singer_elected_best_of_the_year_is_no_appointment(province):
    assert not run(province, "某歌手当选年度最佳男歌手", "在昨晚的颁奖典礼上，某歌手当选年度最佳男歌手。").relevant


def test_cheating_at_an_exam_venue_is_exam_news_and_exam_prep_is_not(province):
    """考点 is an exam venue as well as a syllabus point: only the exam-prep phrases veto."""
    f = run(province, "公务员考试考场集体舞弊 监考老师被处理", "南丰县一考点发生集体舞弊，两名监考老师因失职被处理。")
    assert f.relevant and f.category == "招录考试" and f.grade.value in ("III", "II"), (f.category, f.reasons)
    assert not run(
        province, "2026省考行测考点解析", "本文为大家整理2026年江西省考行测高频考点解析，供考生备考参考。"
    ).relevant


def test_a_service_windows_attitude_is_a_conduct_case(province):
    f = run(
        province,
        "临川区政务服务中心窗口“门难进脸难看”",
        "群众反映，临川区政务服务中心窗口工作人员态度冷漠，门难进、脸难看、事难办。",
    )
    assert f.relevant and f.category == "干部作风" and f.grade.value == "III", (f.category, f.reasons)


# ---------------------------------------------------------------- leadership meetings, teachers' posts


@pytest.mark.parametrize(
    "title, lead",
    [
        ("南丰县委常委会召开会议 传达学习全会精神", "南丰县委常委会召开会议，传达学习党的二十届四中全会精神。"),
        ("县交通运输局召开党组（扩大）会议", "南丰县交通运输局召开党组（扩大）会议，研究部署下一阶段重点工作。"),
    ],
)
def test_a_leadership_teams_own_meeting_is_relevant_and_routine(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.grade.value == "IV", (f.category, f.reasons)


def test_public_schools_teacher_recruitment_is_recruitment_for_public_posts(province):
    f = run(
        province,
        "南丰县2026年公开招聘中小学教师公告",
        "南丰县教育体育局2026年公开招聘中小学教师80名，纳入事业编制管理。",
    )
    assert f.relevant and f.category == "招录考试" and f.grade.value == "IV", (f.category, f.reasons)
    assert not run(
        province, "2026年教师资格证考试报名时间", "2026年下半年中小学教师资格考试笔试报名即将开始。"
    ).relevant


# ---------------------------------------------------------------- the vocabulary of later years


@pytest.mark.parametrize(
    "title, lead, category",
    [
        # the congresses and campaigns after the labelled posts' years
        ("南丰县委宣讲团深入基层宣讲党的二十大精神", "南丰县委宣讲团走进乡镇、村，宣讲党的二十大精神。", "基层党建"),
        ("白舍镇召开党纪学习教育动员会", "白舍镇召开党纪学习教育动员会，全体党员干部参加。", "基层党建"),
        (
            "南丰县开展“我为群众办实事”实践活动",
            "南丰县各级党组织开展“我为群众办实事”实践活动，解决问题200余件。",
            "基层党建",
        ),
        # complaint handling as it is named since
        ("南丰县接诉即办：群众诉求件件有回音", "南丰县推行接诉即办机制，今年以来办理群众诉求1.2万件。", "政府回应"),
        # formalism and idleness as they are named since
        (
            "南丰县民政局层层加码 基层疲于应付",
            "有基层干部反映，南丰县民政局层层加码、过度留痕，让基层疲于应付。",
            "干部作风",
        ),
        # the steps of an appointment
        ("南丰县干部考察预告", "根据工作需要，拟对以下同志进行考察，现予以预告。", "干部任用"),
        ("南丰县试用期满考核任职公示", "现将试用期满考核合格拟正式任职的干部予以公示。", "干部任用"),
        # a village's collective funds
        ("南丰县一村会计挪用集体资金获刑", "南丰县某村会计挪用村集体资金30万元，被法院判处有期徒刑二年。", "违纪违法"),
        # an exemplar who died at work
        (
            "南丰县扶贫干部积劳成疾倒在工作岗位",
            "南丰县某乡扶贫干部李某长期扎根基层，积劳成疾，倒在了工作岗位上。",
            "干部作风",
        ),
    ],
)
def test_the_vocabulary_of_later_years_is_read(province, title, lead, category):
    f = run(province, title, lead)
    assert f.relevant and f.category == category, (f.category, f.reasons)


def test_formalism_named_at_a_body_is_a_conduct_complaint(province):
    f = run(
        province,
        "南丰县民政局层层加码 基层疲于应付",
        "有基层干部反映，南丰县民政局层层加码、过度留痕，让基层疲于应付。",
    )
    assert f.grade.value == "III", f.reasons


@pytest.mark.parametrize(
    "title, lead",
    [
        ("某小学开展学习二十大精神主题班会", "某小学组织学生开展学习二十大精神主题班会。"),
        ("为深入贯彻党的二十大精神，现就有关事项公告如下", "为深入贯彻党的二十大精神，现就2026年有关事项公告如下。"),
    ],
)
def test_a_schools_class_or_a_documents_preamble_is_not_party_work(province, title, lead):
    assert not run(province, title, lead).relevant


# ---------------------------------------------------------------- the poor's funds


@pytest.mark.parametrize(
    "title, lead",
    [
        ("罗针镇一村干部被举报侵占扶贫款", "临川区罗针镇某村干部被村民实名举报侵占扶贫资金。"),
        ("村民反映低保评定优亲厚友", "白舍镇村民反映，某村低保评定优亲厚友，村干部亲属吃低保。"),
    ],
)
def test_the_poors_funds_taken_by_those_who_hand_them_out_are_a_discipline_case(province, title, lead):
    f = run(province, title, lead)
    assert f.relevant and f.category == "违纪违法" and f.grade.value in ("III", "II"), (f.category, f.reasons)


def test_a_citizen_who_cheats_the_allowance_is_a_court_report(province):
    assert not run(province, "男子骗取低保被判刑", "男子隐瞒收入骗取低保金3万元，被法院判处有期徒刑。").relevant


def test_an_officials_family_occasion_made_a_show_of_office_is_a_conduct_case(province):
    f = run(
        province, "网友爆料：南丰县某局长儿子婚礼大摆宴席", "网友爆料称，南丰县某局局长为儿子举办婚礼，大摆宴席近百桌。"
    )
    assert f.relevant and f.category == "干部作风" and f.grade.value in ("III", "II"), (f.category, f.reasons)
    assert not run(province, "某明星婚礼大摆宴席 豪车接亲", "某明星举办婚礼，豪车接亲，大摆宴席三天。").relevant


# ---------------------------------------------------------------- the organisation department's own work


@pytest.mark.parametrize(
    "title, lead, category",
    [
        ("南丰县人大常委会任命一批国家机关工作人员", "南丰县人大常委会会议决定任命李某为县财政局局长。", "干部任用"),
        ("南丰县召开全县组织工作会议", "南丰县召开全县组织工作会议，县委常委、组织部长出席并讲话。", "基层党建"),
        ("南丰县村（社区）“两委”换届工作启动", "南丰县村（社区）“两委”换届选举工作全面启动。", "基层党建"),
        ("南丰县人才引进公告", "南丰县2026年引进急需紧缺人才公告，引进硕士研究生以上学历人才30名。", "招录考试"),
    ],
)
def test_the_organisation_departments_own_work_is_read(province, title, lead, category):
    f = run(province, title, lead)
    assert f.relevant and f.category == category, (f.category, f.reasons)


@pytest.mark.parametrize(
    "title, lead",
    [
        ("某协会换届工作会议召开", "南丰县摄影家协会召开换届工作会议。"),
        ("白舍镇组织工作人员开展环境卫生整治", "白舍镇组织工作人员开展环境卫生整治活动，清理垃圾10吨。"),
    ],
)
def test_an_associations_election_or_organised_staff_is_not_it(province, title, lead):
    assert not run(province, title, lead).relevant


# ---------------------------------------------------------------- the gravest


def test_a_death_in_a_forced_demolition_with_the_head_removed_is_the_gravest_conduct_case(province):
    f = run(
        province, "白舍镇强拆致村民死亡 镇长被免职", "白舍镇在强拆过程中致一名村民死亡，镇长已被免职，县里成立调查组。"
    )
    # grade I by its content; a forum post alone reaches I when it spreads
    assert f.relevant and f.category == "干部作风" and content_grade_of(f.reasons).value == "I", (f.category, f.reasons)


def test_villagers_besieging_the_township_government_over_cadres_graft_is_a_mass_incident(province):
    f = run(
        province, "数百村民围堵镇政府 抗议干部侵占补偿款", "数百名村民聚集围堵白舍镇政府，抗议镇村干部侵占征地补偿款。"
    )
    assert f.relevant and content_grade_of(f.reasons).value == "I", f.reasons


def test_a_deadly_incident_with_an_identified_official_suspended_is_grave(province):
    f = run(
        province,
        "学校食堂食物中毒致2名学生死亡 教育局长被停职",
        "南丰县某中学食堂发生食物中毒事件，造成2名学生死亡，县教育局局长被停职检查。",
    )
    assert f.relevant and f.grade.value == "II", f.reasons


def test_a_law_firms_page_on_a_demolition_reported_to_the_police_is_not_a_case(province):
    f = run(province, "房子被强拆报警公安局不立案怎么办", "律师解答：房子被强拆，报警后公安局不立案，应当如何维权？")
    assert not f.relevant
