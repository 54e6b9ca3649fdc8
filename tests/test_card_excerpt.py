"""Cards a reader can act on (#13 item 6): the sentence(s) around the matched words, the
officials and places, the reasons in plain words with the score after them — kept with the
incident so a card re-rendered later still has them, inert on every platform, within limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.platforms.telegram import card_html
from bot.platforms.wecom.render import card_markdown, utf8_bytes
from core.excerpt import LIMIT, excerpt, segments
from core.grades import Grade
from core.grading import Reason
from core.render import Card, RenderContext, card_text, plain_reasons, render_card, shrink_card

FILLER = "会议听取了有关工作汇报。" * 12
TZ = ZoneInfo("Asia/Shanghai")
CTX = RenderContext(tz=TZ, now=datetime(2026, 11, 26, tzinfo=UTC))


def test_excerpt_is_the_sentences_around_the_terms_cut_at_sentence_ends():
    text = FILLER + "网友实名举报市交通运输局局长张建国公车私用。他多次驾驶公车接送孩子！" + FILLER
    out, marks = excerpt(text, ["张建国", "公车私用"])
    body = out.strip("…")
    assert out.startswith("…") and out.endswith("…")  # cut on both sides
    assert len(body) <= LIMIT
    assert body.startswith("网友实名举报") or body.startswith("会议")  # whole sentences only
    assert body[-1] in "。！？；"
    assert [out[a:b] for a, b in marks] == ["张建国", "公车私用"]


def test_one_long_sentence_is_cut_around_its_term_with_ellipses():
    text = "据悉" + "该地区" * 80 + "副市长黄太文" + "强调" * 80 + "。"
    out, marks = excerpt(text, ["黄太文"])
    assert out.startswith("…") and out.endswith("…") and len(out) <= LIMIT + 2
    assert [out[a:b] for a, b in marks] == ["黄太文"]


def test_excerpt_of_a_short_post_is_whole_and_unmarked_terms_elsewhere_are_fine():
    assert excerpt("村干部和其父亲一手遮天。", ["村干部"]) == ("村干部和其父亲一手遮天。", [(0, 3)])
    assert excerpt("", ["x"]) == ("", [])
    assert excerpt("没有要找的词。", ["张建国"])[0] == "没有要找的词。"


def test_plain_reasons_then_the_score():
    reasons = (
        Reason("content", 14, "内容定级 II（重大）：可识别的干部（张建国）违反纪律规定（公车私用）；基础分 14"),
        Reason("signal", 0, "涉及具名干部（张建国）+2", {"points": 2}),
        Reason("signals", 1.2, "以上信号共 8 分，每分计 0.15，+1.2"),
        Reason("tier", 2, "来源级别：省级媒体 ×2"),
        Reason("score", 45.6, "综合评分 45.6（I 级阈值 24）"),
    )
    words, score = plain_reasons(reasons)
    assert (
        words
        == "内容定级 II（重大）：可识别的干部（张建国）违反纪律规定（公车私用）；涉及具名干部（张建国）；来源级别：省级媒体"
    )
    assert score == "综合评分 45.6（I 级阈值 24）"
    assert plain_reasons(["旧的理由 +1", "综合评分 9（III 级阈值 7）"]) == ("旧的理由", "综合评分 9（III 级阈值 7）")


def _incident(**matched):
    from core.models import Incident, State

    return Incident(
        id=7,
        title="曲靖市副市长黄太文强调",
        url="https://example.org/a",
        source_id="s",
        source_name="论坛",
        team=None,
        category="干部作风",
        grade=Grade.II,
        score=20.0,
        reasons=(Reason("tier", 1, "来源级别：论坛 ×1"), Reason("score", 20, "综合评分 20（II 级阈值 14）")),
        state=State.NEW,
        assignee=None,
        escalation_level=0,
        disposition=None,
        summary=None,
        post_count=1,
        source_count=1,
        claimed_at=None,
        escalated_at=None,
        closed_at=None,
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        updated_at=datetime(2026, 11, 26, tzinfo=UTC),
        version=1,
        matched=matched,
    )


def test_card_shows_excerpt_officials_places_and_plain_reasons():
    inc = _incident(
        officials=["曲靖市副市长黄太文"],
        official_ranks=["厅局"],
        places=["曲靖市"],
        excerpt=["曲靖市副市长黄太文强调要抓好防汛。"],
        excerpt_marks=["6-9"],
    )
    card = render_card(inc, CTX)
    assert card.excerpt == (("曲靖市副市长", False), ("黄太文", True), ("强调要抓好防汛。", False))
    text = card_text(card)
    assert "摘要：曲靖市副市长黄太文强调要抓好防汛。" in text
    assert "干部：曲靖市副市长黄太文（厅局级）" in text and "地点：曲靖市" in text
    assert "定级理由：来源级别：论坛\n" in text and "评分：综合评分 20（II 级阈值 14）" in text
    assert "<b>黄太文</b>" in card_html(card) and "**黄太文**" in card_markdown(card)


HOSTILE = (
    '</b><a href="javascript:alert(1)">点我</a><script>x</script> **粗** [链](javascript:x) `c` \x1b[2J\u202e张建国'
)


def test_hostile_excerpt_stays_inert_on_telegram_and_wecom():
    text = HOSTILE + "。"
    out, marks = excerpt(text, ["张建国"])
    inc = _incident(excerpt=[out], excerpt_marks=[f"{a}-{b}" for a, b in marks])
    card = render_card(inc, CTX)
    html = card_html(card)
    assert "<script>" not in html and "<a href=\"javascript" not in html and "</b><a" not in html
    assert "&lt;/b&gt;&lt;a href=" in html and "<b>张建国</b>" in html
    assert "\x1b" not in html and "\u202e" not in html
    md = card_markdown(card)
    excerpt_line = next(line for line in md.splitlines() if line.startswith("> **摘要**"))
    assert excerpt_line.count("**") == 4  # the label and the one marked word: nothing from the text
    assert "[" not in excerpt_line and "`" not in excerpt_line and "<" not in excerpt_line
    assert "\x1b" not in md and "\u202e" not in md and "**张建国**" in md


def test_card_with_huge_excerpt_and_fields_stays_within_platform_limits():
    pieces = segments("长" * 6000 + "张建国" + "长" * 6000, [(6000, 6003)])
    card = Card("🟠 II 重大 · #1", "标" * 3000, None, (("定级理由", "理" * 5000),), excerpt=pieces)
    from bot.platforms.telegram import _units

    assert _units(card_html(card)) <= 4096
    assert utf8_bytes(card_markdown(card)) <= 4096
    small = shrink_card(card, lambda c: len(card_text(c)) <= 1000)
    assert len(card_text(small)) <= 1000 and small.excerpt[-1] == ("…", False)


async def test_card_re_rendered_after_a_new_post_keeps_excerpt_and_entities(make_app):
    h = make_app()
    await h.app.collect_once()
    (row,) = h.app.db.query("SELECT id, post_count FROM incidents WHERE title LIKE '%张建国%'")
    assert row["post_count"] == 3  # joined twice after it was opened
    card = render_card(h.app.service.get(row["id"]), CTX)
    assert "张建国" in card.excerpt_text and any(m and "张建国" in t for t, m in card.excerpt)
    assert len(card.excerpt_text.strip("…")) <= LIMIT
    out = await h.deliver()
    assert "摘要：" in out


def test_card_without_stored_excerpt_renders_as_before():
    card = render_card(_incident(), CTX)
    assert card.excerpt == () and "摘要" not in card_text(card)
    assert replace(card, excerpt=()) == card
