"""Reasons of a grade are data: (factor, weight, words, detail), stored as JSON, re-graded from
the data, and shown in words only at the edge. Databases written before hold the words alone."""

from __future__ import annotations

import json

from core.grades import Grade
from core.grading import (
    Reason,
    ceiling_of,
    content_grade_of,
    grade_story,
    reason_words,
    reasons_from_json,
    reasons_to_json,
)
from tests.conftest import seed

TH = {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}
STORY = ("白沙乡干部吃拿卡要", "村民投诉")


def test_reasons_round_trip_as_data():
    content = Reason(
        "content", 7.0, "内容定级 III（较大）：x；基础分 7，影响最多升至 II 级", {"grade": "III", "ceiling": "II"}
    )
    g = grade_story(8.2, (content, Reason("signal", 0.0, "涉及单位（镇政府）+1", {"points": 1})), 2, 3, TH)
    stored = json.loads(json.dumps(reasons_to_json(g.reasons)))
    back = reasons_from_json(stored)
    assert back == g.reasons
    assert [r.detail for r in back] == [r.detail for r in g.reasons]
    assert [r.factor for r in back] == ["content", "signal", "tier", "spread", "score"]
    assert ceiling_of(back) is Grade.II and content_grade_of(back) is Grade.III
    assert reason_words(back) == "；".join(r.words for r in g.reasons)


def test_old_words_are_read_back_as_the_same_data():
    """Every reason the grader writes, stored as words only (the old format), reads back as
    the same factor and weight: re-grading an old row sees what a new row holds."""
    content = Reason(
        "content", 7.0, "内容定级 III（较大）：x；基础分 7，影响最多升至 II 级", {"grade": "III", "ceiling": "II"}
    )
    signals = (
        content,
        Reason("signal", 0.0, "涉及单位（镇政府）+1", {"points": 1.0}),
        Reason("signals", 0.15, "以上信号共 1 分，每分计 0.15，+0.15"),
    )
    from core.grading import Reach

    g = grade_story(7.15, signals, 2, 3, TH, Reach(views=20000, recent_posts=4))
    old = reasons_from_json([r.words for r in g.reasons])
    assert [(r.factor, r.weight) for r in old] == [(r.factor, r.weight) for r in g.reasons]
    assert [r.detail for r in old[:2]] == [r.detail for r in g.reasons[:2]]
    assert [r.is_impact for r in old] == [False, False, False, True, True, True, True, True]


def _story_then_two_more(h):
    seed(h, *STORY)
    first = h.incident(1)
    seed(h, "转：" + STORY[0], STORY[1], source="ycnews")
    seed(h, "【关注】" + STORY[0], STORY[1], source="provnews")
    return first, h.incident(1)


async def test_regrading_a_new_row_uses_the_structured_reasons(make_app):
    h = make_app()
    first, after = _story_then_two_more(h)
    raw = json.loads(next(h.app.db.query("SELECT reasons FROM incidents WHERE id = 1"))["reasons"])
    assert all(isinstance(x, dict) and {"factor", "weight", "words"} <= set(x) for x in raw)
    assert after.grade.rank < first.grade.rank
    assert [r.factor for r in after.reasons if not r.is_impact] == [r.factor for r in first.reasons if not r.is_impact]


async def test_regrading_an_old_text_row_gives_what_a_new_row_gives(make_app, tmp_path):
    new = make_app(db_path=tmp_path / "new.db")
    _, expected = _story_then_two_more(new)

    old = make_app(db_path=tmp_path / "old.db")
    seed(old, *STORY)
    row = next(old.app.db.query("SELECT reasons FROM incidents WHERE id = 1"))
    words = [x["words"] for x in json.loads(row["reasons"])]
    with old.app.db.conn:  # as a database written before reasons were data holds them
        old.app.db.execute("UPDATE incidents SET reasons = ? WHERE id = 1", [json.dumps(words, ensure_ascii=False)])
    assert [r.words for r in old.incident(1).reasons] == words
    assert old.incident(1).reasons[0].factor == "content"
    seed(old, "转：" + STORY[0], STORY[1], source="ycnews")
    seed(old, "【关注】" + STORY[0], STORY[1], source="provnews")
    got = old.incident(1)
    assert got.grade is expected.grade and got.score == expected.score
    assert [r.words for r in got.reasons] == [r.words for r in expected.reasons]
    assert [(r.factor, r.weight) for r in got.reasons] == [(r.factor, r.weight) for r in expected.reasons]
