"""Rule classes found with the third tuning batch (config/labels/README.md, "Third tuning
batch"): a county head the tagger splits (祁东县 / 长), a leader's tour told in the lead under a
slogan headline, a state body's political study, exemplar profiles, warning education on clean
government, veteran-cadre work, appointments announced at a meeting, exam chatter — each a
synthetic post the profile should find and a look-alike it should not."""

from __future__ import annotations

from core.officials import OfficialFinder
from tests.conftest import finding_of as run

# ---------------------------------------------------------------- place + 长 split by the tagger


def test_a_county_head_the_tagger_splits_is_still_an_official():
    """jieba takes the level into the place (祁东县 / 长): the title is given back (祁东 / 县长)."""
    found, _ = OfficialFinder().find("宁都县长刘建华：全力做好防汛准备")
    assert [(o.title, o.unit) for o in found] == [("县长", "宁都")]
    found, _ = OfficialFinder().find("临川区长李明强调抓好安全生产")
    assert [(o.title, o.name) for o in found] == [("区长", "李明")]


def test_a_place_followed_by_a_word_starting_with_chang_is_not_a_head():
    assert OfficialFinder().find("该区长期以来重视绿化工作")[0] == []


def test_a_county_head_named_in_the_headline_is_the_story(province):
    lead = "4月12日上午，县委在县政府会议室召开全县安全生产工作会议，县委副书记、县长出席会议并讲话。"
    f = run(province, "宁都县长刘建华：全力守牢安全生产底线", lead)
    assert f.relevant
    assert not run(province, "宁都县：全力守牢安全生产底线", "4月12日，全县开展安全生产大检查。").relevant


# ---------------------------------------------------------------- a leader's tour under a slogan


def test_a_leaders_tour_in_the_first_sentence_under_a_slogan_headline_is_relevant(province):
    lead = "5月10日至11日，县委副书记、县长王建国深入东坑、西岭、南港、北塘等乡镇调研乡村振兴工作。他强调要抓好产业。"
    f = run(province, "“老屋新生”留住乡愁？他们做到了", lead)
    assert f.relevant and f.category == "其他"


def test_a_sector_story_with_a_tour_by_nobody_named_is_not(province):
    lead = "5月10日至11日，省农科院专家深入东坑、西岭、南港、北塘等乡镇调研乡村振兴工作。他们建议发展产业。"
    assert not run(province, "“老屋新生”留住乡愁？他们做到了", lead).relevant


# ---------------------------------------------------------------- a state body's political study


def test_a_state_bodys_political_study_in_the_headline_is_party_building(province):
    lead = "6月3日，县人民法院组织全体干警集中收看大会直播，认真聆听重要讲话。"
    f = run(province, "瑞金市人民法院收看全国大会直播", lead)
    assert f.relevant and f.category == "基层党建"
    f = run(
        province, "南丰县人民检察院及时传达学习全市检察工作会议精神", "6月3日下午，该院组织全体干警传达学习会议精神。"
    )
    assert f.relevant


def test_residents_watching_a_show_are_not(province):
    lead = "6月3日晚，小区居民在广场集中观看露天电影，现场气氛热烈。"
    assert not run(province, "社区居民观看露天电影", lead).relevant


# ---------------------------------------------------------------- exemplar profiles


def test_an_exemplar_profile_of_an_official_is_work_style(province):
    lead = "他扎根基层二十年，办结案件三千余件，被评为全省优秀法官。"
    f = run(province, "全省法院办案标兵某中院优秀法官张明办案记", lead)
    assert f.relevant and f.category == "干部作风"
    lead = "李强，男，45岁，中共党员，县公安局某派出所驻村辅警。他扎根村里十年。"
    f = run(province, "【十佳评选】李强：扎根乡村的驻村辅警", lead)
    assert f.relevant and f.category == "干部作风"


def test_a_companys_model_worker_is_not(province):
    lead = "近日，某集团公司召开表彰大会，集团公司团总支书记王某获评十佳青年标兵。"
    assert not run(province, "【表彰】集团公司青年荣获十佳青年标兵", lead).relevant


# ---------------------------------------------------------------- warning education


def test_warning_education_on_clean_government_is_anti_corruption_work(province):
    lead = "为筑牢反腐倡廉思想防线，5月20日，某银行组织干部员工到廉政教育基地开展警示教育活动。"
    f = run(province, "某农商银行开展“不忘初心·牢记使命”主题警示教育活动", lead)
    assert f.relevant and f.category == "违纪违法"


def test_traffic_safety_warning_education_is_not(province):
    lead = "5月20日，县交警大队走进某中学开展交通安全警示教育活动，民警讲解了交通法规。"
    assert not run(province, "某中学开展交通安全警示教育活动", lead).relevant


def test_a_sanction_in_the_headline_is_discipline(province):
    lead = "某部委局级党员领导干部董某，创建微信群，组织线下联谊活动，党员干部应当如何使用微信？"
    f = run(province, "【提醒】公职人员使用微信，这些红线不能碰！（已有局级官员因此被处分）", lead)
    assert f.relevant and f.category == "违纪违法"


# ---------------------------------------------------------------- veteran-cadre work, appointments


def test_veteran_cadre_work_of_a_body_is_relevant(province):
    lead = "春节来临之际，受县人民法院党组委托，执行局副局长张平等前往退休老干部家中慰问。"
    assert run(province, "节前慰问老干部 关爱暖人心", lead).relevant


def test_a_show_for_old_people_is_not(province):
    lead = "春节来临之际，社区志愿者来到敬老院为老人们表演节目。"
    assert not run(province, "节前慰问老人 关爱暖人心", lead).relevant


def test_a_leadership_change_announced_at_a_bodys_meeting_is_an_appointment(province):
    lead = "6月14日上午，某市自然资源局召开干部大会，宣布主要领导调整决定。副市长李某出席会议并讲话。"
    f = run(province, "某市自然资源局召开干部职工大会宣布主要领导调整决定", lead)
    assert f.relevant and f.category == "干部任用"
    lead = "6月14日上午，某市自然资源局召开会议，宣布国土空间规划调整决定。"
    assert not run(province, "某市宣布国土空间规划调整决定", lead).relevant


# ---------------------------------------------------------------- exam chatter


def test_exam_chatter_is_not_recruitment(province):
    assert not run(province, "2019国家公务员考试时事新闻：读懂一封家书背后的情怀", "家书里写道……").relevant
    assert not run(province, "公务员考试，税务局、财政局怎么选择？", "各位前辈，想听听意见。").relevant
    f = run(province, "2019年江西省公务员考试招录公告发布", "江西省公务员局发布2019年度考试录用公务员公告。")
    assert f.relevant and f.category == "招录考试"


# ---------------------------------------------------------------- village tyrants, bending the law


def test_a_village_tyrant_holding_the_branch_is_a_discipline_case(province):
    lead = "某村党支部书记王某把持村支书位置十余年，纠集亲属欺压村民，群众敢怒不敢言。"
    f = run(province, "村霸把持支书位置十余年 村子成了独立王国", lead)
    assert f.relevant and f.category == "违纪违法"
    f = run(province, "某县法院法官徇私枉法 当事人实名举报", "当事人称，某县法院法官李某收受对方好处后枉法裁判。")
    assert f.relevant and f.category == "违纪违法"


def test_a_village_cadres_rude_manner_stays_work_style(province):
    lead = "某村村干部对前来办事的村民态度恶劣，言语恐吓，一手遮天。"
    f = run(province, "村干部欺压百姓 言语恐吓 一手遮天", lead)
    assert f.relevant and f.category == "干部作风"


# ---------------------------------------------------------------- a plea to an official


def test_a_citizens_plea_to_a_named_official_is_complaint_handling(province):
    lead = "我是某区企业退休工人，退休金比同工龄的人少两百元，到区社保中心找李科长询问，至今没有结果。"
    f = run(province, "向某市社会保险管理中心主任王建国求助", lead)
    assert f.relevant and f.category == "政府回应"


def test_a_named_officials_report_in_the_headline_keeps_its_rule(province):
    lead = "村民李某向县纪委实名举报，称村支书王某收受工程款好处费。"
    f = run(province, "村民实名举报村支书王某收受好处费", lead)
    assert f.relevant and f.category == "违纪违法"


# ---------------------------------------------------------------- an official's own crime


def test_an_official_detained_for_a_crime_is_relevant(province):
    lead = "12月3日晚，一名街道办干部酒后闯入检查站称要检查工作，并殴打劝阻的民警。"
    f = run(province, "官员酒后大闹公安检查站 辱骂威胁民警被刑拘", lead)
    assert f.relevant and f.category == "违纪违法"


def test_a_citizen_detained_by_the_police_is_not(province):
    lead = "12月3日晚，一名男子酒后闯入检查站，民警依法将其控制。"
    assert not run(province, "男子酒后大闹公安检查站 辱骂威胁民警被刑拘", lead).relevant


# ---------------------------------------------------------------- party flag, lessons, centres


def test_a_party_branch_activity_under_the_flag_or_a_service_centre_is_party_building(province):
    lead = "5月22日，中共某市委网信办党支部到革命旧址开展主题实践活动，党员重温入党誓词。"
    f = run(province, "中共某市委网信办组织开展“牢记初心使命，我为党旗添彩”主题活动", lead)
    assert f.relevant and f.category == "基层党建"
    lead = "近日，某街道党工委建设的园区党群服务中心正式投入使用，为党员职工提供学习场所。"
    f = run(province, "某工业园区党群服务中心投入使用", lead)
    assert f.relevant and f.category == "基层党建"


def test_a_companys_service_centre_is_not(province):
    lead = "近日，某工业园区客户服务中心正式投入使用，为企业提供一站式服务。"
    assert not run(province, "某工业园区客户服务中心投入使用", lead).relevant


# ---------------------------------------------------------------- presiding judges


def test_a_presiding_judges_bribery_conviction_is_a_discipline_case(province):
    lead = "某高院原民事审判庭审判长王某，因犯受贿罪被判处有期徒刑六年，其与律师合伙作案三起。"
    f = run(province, "某高院审判长与律师合伙敛财被重判", lead)
    assert f.relevant and f.category == "违纪违法"


def test_a_presiding_judge_at_work_is_not_the_story(province):
    lead = "昨日，某区法院公开开庭审理一起盗窃案，审判长当庭宣判，被告人被判处有期徒刑一年。"
    assert not run(province, "审判长当庭宣判 盗窃团伙被重判", lead).relevant


# ---------------------------------------------------------------- tip-offs to the police


def test_a_tip_off_about_gambling_or_a_reward_scheme_for_tip_offs_is_not_complaint_handling(province):
    lead = "4月25日，有群众举报称，某镇某村有人聚众赌博，派出所即派出警力前往查处。"
    assert not run(province, "某县男子跑去邻县赌博被抓了", lead).relevant
    lead = "为鼓励社会公众积极举报食品药品违法行为，某县制定本办法。"
    assert not run(province, "某县食品药品安全举报奖励办法（试行）", lead).relevant


def test_a_citizens_report_about_a_bodys_handling_still_is(province):
    lead = "村民李某多次向镇政府举报村里违规占地，镇政府至今没有答复。"
    assert run(province, "村民举报违规占地 镇政府至今未答复", lead).relevant


# ---------------------------------------------------------------- 同志 as an honorific


def test_someone_honoured_as_comrade_in_the_lead_is_not_an_official(province):
    lead = "5月23日上午，县爱心协会的志愿者来到某镇叶海涛老师家。叶海涛同志二十年来坚持义务辅导留守儿童。"
    assert not run(province, "看望好人叶海涛，吃上一顿团圆饺！", lead).relevant


def test_a_headline_calling_a_leader_comrade_is_a_leaders_news(province):
    lead = "12月14日，全省公安督察部门比武竞赛闭幕，第一副督察长段国华出席闭幕式并颁奖。"
    assert run(province, "段国华同志出席全省比武竞赛闭幕式", lead).relevant
