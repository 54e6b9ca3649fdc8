"""Rule classes found with the second tuning batch (config/labels/README.md, "Second tuning
batch"): police stopping a drunk driver, spun spam headlines of an official's abuse, officials
shielding gangs, complaints settled or left unanswered, offences by their legal names, the
"four winds" campaign, united-front work — each a synthetic post the profile should find and a
look-alike it should not."""

from __future__ import annotations

from tests.conftest import finding_of as run

# ---------------------------------------------------------------- police stopping a drunk driver


def test_police_stopping_a_drunk_or_drugged_driver_is_an_arrest_not_an_allegation(province):
    """Unnamed police (涿州大队民警) or a traffic brigade in the lead next to 酒驾/醉驾/毒驾 are
    the enforcers: ordinary enforcement, not the team's story (the rubric's police rule)."""
    lead = "近日，保定公安交警涿州大队民警在路口开展酒驾、醉驾查处工作时，发现一辆汽车存在异常，驾驶人马某涉嫌毒驾。"
    assert not run(province, "保定涿州抓获一毒驾路虎男", lead).relevant
    lead = "12月9日晚，县交警大队民警在城区设卡严查酒驾、醉驾，一辆小轿车猛踩油门倒车逃避检查。"
    assert not run(province, "震惊！一男子极速倒车撞2车伤3人弃车逃跑", lead).relevant


def test_police_officers_own_drunk_driving_is_still_their_misconduct(province):
    f = run(province, "某派出所民警酒驾撞人", "12月9日，某派出所民警酒驾撞伤行人后驾车离开。")
    assert f.relevant and f.category == "干部作风"
    f = run(province, "县交警大队副大队长醉驾被查", "12月9日晚，县交警大队副大队长李某醉酒驾车被查获。")
    assert f.relevant


# ---------------------------------------------------------------- spun spam headlines


def test_a_spam_page_titled_with_an_officials_power_for_sex_trade_is_relevant(province):
    """立即博：女接待办主任搞权色钱色交易: a real cadre story as the title of a casino page."""
    f = run(
        province,
        "立即博：女接待办主任搞权色钱色交易 被指放纵糜烂",
        "2018年10月12日 司2017年9月在海口市投资设立了子公司。",
    )
    assert f.relevant and f.category == "违纪违法"
    f = run(province, "新潮娱乐:71岁退休官员返聘大搞权色钱色交易 被批道德沦丧", "")
    assert f.relevant and f.category == "违纪违法"


def test_power_for_sex_trade_in_a_tv_drama_is_not(province):
    assert not run(province, "这部电视剧讲透了权色钱色交易", "剧中主角步步沉沦。").relevant


# ---------------------------------------------------------------- officials shielding gangs


def test_an_official_shielding_a_gang_is_corruption(province):
    f = run(province, "涉黑团伙开赌场强揽工程 村支书与其勾结包庇成员", "")
    assert f.relevant and f.category == "违纪违法"
    f = run(province, "某镇派出所所长充当黑恶势力保护伞被查", "")
    assert f.relevant and f.category == "违纪违法"


def test_umbrellas_named_by_nobody_or_a_family_covering_up_are_not(province):
    assert not run(province, "曝光宿迁毒瘤犯罪不倒翁，丧尽天良，还有那些万恶的保护伞！", "他欺行霸市多年。").relevant
    assert not run(province, "母亲包庇吸毒儿子被判刑", "法院认为其行为构成包庇罪。").relevant


# ---------------------------------------------------------------- complaints settled or unanswered


def test_a_complaint_the_authorities_settled_is_complaint_handling(province):
    f = run(province, "饲料厂臭气熏天 网友无法忍受发帖投诉获解决", "近期，一位网友留言说，饲料厂排放的气体臭不可闻。")
    assert f.relevant and f.category == "政府回应"


def test_a_shop_settling_a_customers_complaint_is_not(province):
    assert not run(province, "网购手机屏幕碎裂 投诉商家获解决", "经协调，商家同意退款。").relevant


def test_complaints_left_unanswered_are_inaction(province):
    f = run(province, "小区污水横流 居民投诉半年没人管", "居民多次拨打热线反映，至今没人管。")
    assert f.relevant and f.category == "干部作风" and f.grade.value in ("III", "II")
    f = run(province, "举报村里违建石沉大海", "村民多次向镇里举报，至今无人过问。")
    assert f.relevant


def test_a_courier_complaint_left_unanswered_is_a_consumer_complaint(province):
    assert not run(province, "快递丢件 投诉客服半个月没人管", "我多次打电话给快递公司客服。").relevant


# ---------------------------------------------------------------- offences by their legal names


def test_offences_by_their_legal_names_and_corruption_as_such(province):
    f = run(
        province,
        "行贿罪与单位行贿罪实践认定中的几个问题-理论研究-江门廉政网",
        "案例一：甲某送予副区长李某好处费30万元。",
    )
    assert f.relevant and f.category == "违纪违法"
    f = run(province, "“一方净土”何以沦为贪腐“重灾区”", "——某学院腐败窝案剖析，来源：中国纪检监察报。")
    assert f.relevant and f.category == "违纪违法"


def test_a_company_managers_non_state_bribery_is_not(province):
    assert not run(
        province, "某公司经理犯非国家工作人员受贿罪获刑", "法院以非国家工作人员受贿罪判处其有期徒刑三年。"
    ).relevant


# ---------------------------------------------------------------- "four winds", united front


def test_the_four_winds_campaign_is_work_style(province):
    f = run(province, '如何严防"四风"反弹?', "党的十八大以来，以中央八项规定为起点……")
    assert f.relevant and f.category == "干部作风"


def test_united_front_work_of_a_party_committee_is_party_building(province):
    f = run(
        province, "山东莘县：凝心聚力书写统战精彩篇章", "王庄集镇认真贯彻落实统战工作要求，把统战工作纳入党委议事日程。"
    )
    assert f.relevant and f.category == "基层党建"


def test_a_democratic_partys_own_activity_is_not(province):
    assert not run(province, "民盟市委会开展统战理论学习", "民盟市委会组织盟员集中学习。").relevant


# ---------------------------------------------------------------- who investigates


def test_an_investigation_by_the_discipline_bodies_is_a_cadre_case(province):
    f = run(province, "男子实名举报姑父是“第二房叔” 纪委已介入调查", "近日，网友实名举报其姑父拥有多套房产。")
    assert f.relevant and f.category == "违纪违法"


def test_an_education_bureau_or_the_police_looking_into_others_wrongdoing_is_not(province):
    lead = "网传视频显示，一名教师将幼儿拖至监控盲区殴打。当地教育局已介入调查，涉事教师已被开除。"
    assert not run(province, "幼儿被拖至监控盲区殴打 涉事班教师全开除", lead).relevant
    assert not run(province, "一男子盗窃电动车 警方已立案调查", "近日，某小区多辆电动车被盗。").relevant


# ---------------------------------------------------------------- exam prep, page chrome


def test_civil_service_exam_hot_topic_commentaries_are_exam_prep(province):
    lead = "2018年各省公务员考试即将笔试，考生可结合自身情况有针对性地复习。短视频应用迅速征服了大量年轻人。"
    assert not run(province, "别在流行中失去自我-2018年公务员考试热点时评", lead).relevant
    f = run(province, "2018年浙江省公务员考试招录公告发布", "浙江省2018年度考试录用公务员公告发布，计划招录5000人。")
    assert f.relevant and f.category == "招录考试"


def test_a_pages_report_button_is_not_a_complaint(province):
    lead = "举报举报原因:广告营销地域攻击色情低俗人身攻击诈骗骚扰谣言反动其他取消提交 2月22日，由和龙市委、市政府指导的论坛在和龙市举行。"
    assert not run(province, "有机农业国际论坛成功举办 专家学者共话互联网+农业", lead).relevant
    f = run(province, "实名举报县住建局局长以权谋私", "我叫张某，实名举报丹凤县原住建局局长李某在拓宽工程中以权谋私。")
    assert f.relevant


# ---------------------------------------------------------------- grades


def test_a_complaint_the_authorities_answered_is_a_minor_item(province):
    """A letter page marked answered (已回复 … 处理结果) or a complaint settled: IV, although the
    letter itself says the complaints had no effect."""
    lead = (
        "来信人 谭*** 来信主题 工厂废气严重影响周边居民生活 受文单位 博罗县政府办公室 办理状态 已回复 "
        "来信内容 经过相关环保投诉都没有效果，请相关领导重视。 处理结果 尊敬的网友：您好！"
    )
    f = run(province, "惠州园洲一工厂废气严重影响周边居民生活", lead)
    assert f.relevant and f.category == "政府回应" and f.grade.value == "IV"


def test_a_complaint_still_unanswered_stays_a_contained_complaint(province):
    lead = "来信人 谭*** 来信主题 工厂废气严重影响周边居民生活 受文单位 博罗县政府办公室 来信内容 多次投诉都没有效果，部门推诿扯皮。"
    f = run(province, "惠州园洲一工厂废气严重影响周边居民生活", lead)
    assert f.relevant and f.grade.value == "III"


def test_a_person_named_before_an_officials_offence_is_an_identified_official(province):
    """杨成林贪污受贿6亿: no title, but only an official commits 贪污受贿 — a named official's
    case (II); an anonymised or a generic subject (王某, 官员) stays a contained item."""
    f = run(province, "内蒙古“巨贪”杨成林贪污受贿6亿", "")
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "II"
    f = run(province, "房烽辉贪污受贿多少钱_百度知道", "做为国家的上将贪这么多应该枪毙。")
    assert f.relevant and f.grade.value == "II"


def test_an_anonymised_or_generic_subject_of_an_offence_is_not_identified(province):
    for title in ("某地官员贪污受贿6亿", "王某贪污受贿6亿"):
        f = run(province, title, "")
        assert f.relevant and f.grade.value == "III", title


# ---------------------------------------------------------------- category of a discipline case


def test_an_identified_officials_investigation_is_a_discipline_case_amid_party_words(province):
    """瓯海一村书记为女儿党员转正公开分中华烟!被调查: 党员 in the headline, but the story is a
    village secretary under investigation — 违纪违法, not 基层党建."""
    lead = "近日，有网友反映瓯海区一村书记刘某燕为庆祝女儿党员转正当众分发香烟。区纪委监委已对其立案调查。"
    f = run(province, "瓯海一村书记为女儿党员转正公开分中华烟!被调查", lead)
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "II"


def test_an_officials_party_activity_stays_party_building(province):
    lead = "5月20日，村党支部书记刘某燕带领全体党员开展主题党日活动，重温入党誓词。"
    f = run(province, "一村书记带领党员开展主题党日活动", lead)
    assert f.relevant and f.category == "基层党建"


# ---------------------------------------------------------------- forced demolition, group petitions


def test_a_demolition_office_tearing_homes_down_by_force_is_abuse_of_power(province):
    lead = "我是江苏省泗阳县被征收户王某，我实名举报征收办在拆迁过程中违规违法。"
    f = run(province, "【江苏宿迁泗阳县众兴镇暴力拆迁】大白天拆迁办40余人强行闯入", lead)
    assert f.relevant and f.category == "干部作风" and f.grade.value in ("III", "II")


def test_a_law_firms_page_on_forced_demolition_is_not(province):
    lead = "房子被强拆报警公安局不立案怎么办？本律师事务所专业处理拆迁纠纷，咨询热线。"
    assert not run(province, "房子被强拆 报警公安局不立案怎么办 你居然不知道要", lead).relevant


def test_a_procuratorate_receiving_a_group_petition_is_complaint_handling(province):
    lead = "11月16日上午，将近三十名上访人员来访，法警大队迅速启动应急预案，协助控申部门做好接访工作。"
    f = run(province, "吴中区院法警大队成功处置一起群访事件", lead)
    assert f.relevant and f.category == "政府回应"


def test_customers_crowding_a_shop_are_not_a_group_petition(province):
    assert not run(province, "几十名消费者群访商家要求退款", "预付卡无法使用，消费者到门店要求商家退款。").relevant


# ---------------------------------------------------------------- a leader's inspection tour


def test_a_party_secretarys_inspection_right_after_a_slogan_headline_is_the_story(province):
    lead = "日前，市委书记张祥安轻车简从，深入定远县调研扶贫工作。他强调，脱贫攻坚是最大政治任务。"
    f = run(province, "产业发展成为贫困户增收的根本依托，确保实现稳定脱贫不返贫", lead)
    assert f.relevant and f.category == "其他" and f.grade.value == "IV"
    lead = "22日，省委书记于伟国率领的省委省政府工作检查组到三明检查工作，省长唐登杰率领的检查组到宁德检查工作。"
    assert run(province, "22日 省委省政府工作检查组去了三明宁德这些地方", lead).relevant


def test_a_foundations_visit_or_a_project_launch_with_a_leader_inside_is_not(province):
    lead = "日前，市教育基金会理事长王远东带领副理事长等到泉港区调研各级各类教育基金工作开展情况，泉港区委书记吴礼源与王远东理事长一行亲切座谈。"
    assert not run(province, "市教育基金会调研团赴泉港区调研", lead).relevant
    lead = "5月22日，某产业园项目开工仪式举行，市委书记张三出席并宣布项目开工。"
    assert not run(province, "总投资50亿元 某产业园项目开工", lead).relevant


def test_a_named_leaders_activity_with_party_words_in_passing_is_a_routine_activity(province):
    """A court's weekly digest of named leaders' inspections that mentions one 党建 exchange:
    a leaders' routine activity (其他), not party building."""
    lead = (
        "5.15-福建高院执行局局长许寿辉到福州中院督导执行工作 5.15-福州市直机关工委到福州中院就党建工作开展交流 "
        "5.18-福建高院党组书记、院长吴偕林到马尾法院考察调研"
    )
    f = run(province, "福州中院一周回顾（5.14-5.18）", lead)
    assert f.relevant and f.category == "其他"


def test_party_work_in_the_headline_stays_party_building(province):
    lead = "5月15日，县水务局机关党支部书记王明带领党员干部开展主题党日活动，重温入党誓词。"
    f = run(province, "县水务局机关党支部开展主题党日活动", lead)
    assert f.relevant and f.category == "基层党建"


def test_an_explainer_of_the_rules_is_a_minor_item_whatever_cases_it_cites(province):
    """The rubric's "anti-corruption work reports and explainers" are IV, even when the
    explainer's example names a deputy district head."""
    f = run(
        province,
        "行贿罪与单位行贿罪实践认定中的几个问题-理论研究-江门廉政网",
        "案例一：甲某送予分管勘验项目的副区长李某好处费30万元。",
    )
    assert f.relevant and f.category == "违纪违法" and f.grade.value == "IV"
    f = run(
        province,
        "带你了解《监察法》(第二十八期):职务违法犯罪问题线索移送制度",
        "监察机关对于推诿、拖延移送线索的，依法追责。",
    )
    assert f.relevant and f.grade.value == "IV"


def test_a_named_officials_case_stays_grave(province):
    f = run(province, "副区长李某受贿30万元一审获刑", "法院审理查明，副区长李某利用职务便利收受好处费30万元。")
    assert f.relevant and f.grade.value == "II"
