"""Watch-list matching on token boundaries, relevance, and the grading factors."""

from __future__ import annotations

import pytest

from bot.config import load_config
from core.cluster import story_key
from core.grades import Grade
from core.grading import grade_story
from core.models import Post
from jobs.analyse import Analyzer
from jobs.tone import ToneDetector
from tests.conftest import EXAMPLE
from tests.private_jieba import private_analyzer


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(load_config(EXAMPLE))


def run(analyzer, title, text="", source="forum"):
    cfg = analyzer.config
    return analyzer.analyse(Post(source, "k", title, text), cfg.source(source))


def test_name_inside_a_longer_word_is_not_matched(analyzer):
    a = run(analyzer, "张建国际贸易公司在云川开业")
    assert "cadres" not in a.finding.matched
    assert not a.finding.relevant


def test_full_width_characters_are_normalised(analyzer):
    a = run(analyzer, "网友举报张建国公车私用", "ＡＢＣ")
    assert a.finding.matched["cadres"] == ["张建国"]


def test_topic_needs_a_place_unless_a_subject_is_named(analyzer):
    assert not run(analyzer, "某地干部公车私用被曝光").finding.relevant
    assert run(analyzer, "青石镇干部公车私用被曝光").finding.relevant
    assert run(analyzer, "市人社局发布通知").finding.relevant


def test_no_watchlist_term_costs_no_segmentation(analyzer, monkeypatch):
    called = []
    monkeypatch.setattr(analyzer.segmenter, "tokens", lambda t: called.append(t) or [])
    monkeypatch.setattr(analyzer.segmenter, "folded_tokens", lambda t: called.append(t) or [])
    assert not run(analyzer, "今天天气不错，适合出游").finding.relevant
    assert called == []


def test_each_sensitivity_factor_moves_the_score(analyzer, monkeypatch):
    # the content grade sets the base (rubric); each signal point orders posts within it.
    # The tone model's own factor is tested in test_tone.py; here only the team's negative words count.
    from core.grading import SIGNAL_STEP

    monkeypatch.setattr(analyzer, "tone", ToneDetector(analyzer.tone.model, threshold=1.01))
    base = run(analyzer, "青石镇有干部公车私用").sensitivity
    assert run(analyzer, "青石镇有干部公车私用，网友实名举报").sensitivity == pytest.approx(base + SIGNAL_STEP)
    assert run(analyzer, "青石镇有干部公车私用，网友愤怒").sensitivity == pytest.approx(base + SIGNAL_STEP)
    named = run(analyzer, "赵明远公车私用").sensitivity  # an identifiable official: grade II material
    assert named > base
    assert run(analyzer, "张建国公车私用").sensitivity == pytest.approx(named + SIGNAL_STEP)  # and leading


def test_impact_factors_move_the_grade():
    th = {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}
    assert grade_story(7, (), 4, 1, th).grade is Grade.III  # forum only: 7
    assert grade_story(7, (), 2, 1, th).grade is Grade.II  # provincial media: 14
    g = grade_story(7, (), 2, 3, th)  # three sources: 28
    assert g.grade is Grade.I and any("3 个来源转载" in r.words for r in g.reasons)
    assert grade_story(6, (), 4, 1, th).grade is Grade.IV


def test_story_key_ignores_repost_prefix_and_punctuation():
    assert story_key("转：网友实名举报张建国公车私用！") == story_key("网友实名举报张建国公车私用")
    assert story_key("【快讯】网友实名举报张建国公车私用") == story_key("网友实名举报 张建国 公车私用")
    assert story_key("张建国公车私用") != story_key("张建国酒驾")


RULES = """
[[watchlist.topics]]
category = "测试全部"
weight = 4
any = ["换届"]
all = ["选举", "村民"]

[[watchlist.topics]]
category = "测试排除"
weight = 5
any = ["招聘"]
none = ["招聘会"]

[[watchlist.topics]]
category = "测试邻近"
weight = 5
near = [{ a = ["$cadres"], b = ["举报"], within = 10 }]
"""


@pytest.fixture
def rules_analyzer(config_dir):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8").replace('rules = ["rules/cadre-work.toml"]\n', "")  # these rules alone
    p.write_text(
        text.replace(
            "# ---------------------------------------------------------------- grades", RULES + "\n# ---- grades"
        ),
        encoding="utf-8",
    )
    # its own jieba: words other tests' configs added to the shared one (招聘公告) would cut
    # these rules' terms differently
    return private_analyzer(load_config(p))


def cat(analyzer, title, text=""):
    return run(analyzer, title, text).finding.category


def test_all_of(rules_analyzer):
    assert cat(rules_analyzer, "青石镇换届，村民参加选举") == "测试全部"
    assert cat(rules_analyzer, "青石镇换届，村民热议") != "测试全部"


def test_none_of(rules_analyzer):
    assert cat(rules_analyzer, "青石镇招聘公告发布") == "测试排除"
    assert cat(rules_analyzer, "青石镇招聘会本周举行") != "测试排除"


def test_near(rules_analyzer):
    assert cat(rules_analyzer, "有人举报赵明远收受礼品") == "测试邻近"
    far = "赵明远今天到青石镇调研，" + "走访了多家企业和农户，听取意见建议，" * 2 + "另有网友举报道路破损"
    assert cat(rules_analyzer, far) != "测试邻近"


def test_rule_without_trigger_is_a_config_error(config_dir):
    from core.errors import ConfigError

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8") + '\n[[watchlist.topics]]\ncategory = "空"\nall = ["x"]\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="a rule needs `any` or `near`"):
        load_config(p)


def test_engagement_and_speed_raise_impact():
    from core.grading import Reach

    th = {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}
    quiet = grade_story(6, (), 4, 1, th)
    busy = grade_story(6, (), 4, 1, th, Reach(views=25000))
    fast = grade_story(6, (), 4, 1, th, Reach(replies=30, recent_posts=4))
    assert quiet.grade is Grade.IV and busy.grade is Grade.III and fast.grade is Grade.III
    assert any("高互动（阅读 25,000）×1.5" in r.words for r in busy.reasons)
    assert any("扩散较快" in r.words for r in fast.reasons) and any("互动较多" in r.words for r in fast.reasons)


async def test_fast_spread_rises_grade_through_the_pipeline(make_app):
    from tests.conftest import seed

    h = make_app()
    seed(h, "白沙乡干部吃拿卡要", "村民投诉")
    g0 = h.incident(1).grade
    seed(h, "转：白沙乡干部吃拿卡要", "村民投诉", source="ycnews")
    seed(h, "【关注】白沙乡干部吃拿卡要", "村民投诉", source="provnews")
    inc = h.incident(1)
    assert h.count("incidents") == 1 and inc.source_count == 3
    assert inc.grade.rank < g0.rank
    assert any("扩散较快" in r.words for r in inc.reasons)
