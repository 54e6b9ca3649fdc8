"""Rule classes from a monitoring analyst's vocabulary rather than from a labelled post's error
(the inews split holds almost none of them, so the labelled figures do not move): work-discipline
lapses of officials — idling on duty, drawing pay without working (吃空饷, 在编不在岗) — are
conduct cases (干部作风, at least III), while the same idling by a company's clerk, a security
guard or a doctor is not the team's story. Each a synthetic post and a look-alike."""

from __future__ import annotations

import pytest

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
