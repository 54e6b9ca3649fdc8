"""Outside-QA defects found checking every figure of /report (text, chart, documents) against
what can be counted from the database and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot.config import load_config
from core.models import State
from handlers import Request
from jobs.report import build_report, render_report
from tests.conftest import EXAMPLE, HIGH, LOW, seed


async def _ask(h, text, who="liqiang"):
    return await h.app.handle(Request(platform="console", chat="监测群", user_id=who, text=text))


def _paragraphs(path) -> list[str]:
    return [p.text for p in Document(path).paragraphs]


async def test_unclaimed_counts_an_auto_escalated_incident_nobody_claimed(make_app, clock):
    # #1 (grade II) is auto-escalated unclaimed; #2 (grade IV) waits to be claimed: both are
    # unclaimed, but 四、下步建议 counted only the state 待认领
    h = make_app()
    seed(h, *HIGH)
    seed(h, *LOW, source="ycnews")
    clock.advance(minutes=40)
    await h.app._deadline_job()
    await h.deliver()
    assert h.incident(1).state is State.ESCALATED and h.incident(1).assignee is None
    unclaimed = h.count("incidents", "state != 'closed' AND assignee IS NULL")
    assert unclaimed == 2
    texts = _paragraphs((await _ask(h, "/report today docx"))[0].document)
    advice = texts[texts.index("四、下步建议") + 1 :]
    assert any(f"尚有 {unclaimed} 起事件无人认领" in t for t in advice), advice
    # the 专报 of #1: nobody handles it, so not "已升级处置中", and the advice to name someone
    texts = _paragraphs((await _ask(h, "/report 1 docx"))[0].document)
    assert not any("已升级处置中" in t for t in texts)
    assert any("尽快明确责任人" in t for t in texts[texts.index("五、下步建议") :])


async def test_todays_report_is_compared_with_yesterday_to_the_same_moment(make_app, clock):
    # 11-23 20:00 one incident, 11-24 09:00 another; at 10:00 the 日报 of today (00:00–10:00) was
    # compared with the ten hours before midnight (13:59–24:00), which hold yesterday's evening
    # incident: "持平"; yesterday to 10:00 had none
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    h = make_app()
    seed(h, *LOW, source="ycnews")
    clock.now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    seed(h, *HIGH)
    clock.advance(hours=1)
    texts = _paragraphs((await _ask(h, "/report today docx"))[0].document)
    overall = texts[texts.index("一、总体情况") + 1]
    assert "共监测发现网络舆情事件 1 起，较上期（0 起）增加 1 起" in overall, overall


async def test_a_persons_claim_time_is_their_own_not_the_first_claim_by_someone_else(make_app, clock):
    # 李强 claims #1 after 5 minutes and gives it back; 周岚 takes it 3 hours later. 周岚's
    # 平均认领 was "5 分钟" — 李强's claim; the incident's own first claim stays 5 minutes
    h = make_app()
    seed(h, *HIGH)
    seed(h, *LOW, source="ycnews")
    clock.advance(minutes=5)
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/unclaim 1")
    clock.advance(hours=3)
    await h.say("zhoulan", "/claim 1")
    await h.say("wangmin", "/assign 2 @李强")  # assigned: from the opening to being given it
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.claim_by_person["周岚"][1] == timedelta(hours=3, minutes=5)
    assert r.claim_by_person["李强"][1] == timedelta(hours=3, minutes=5)
    assert r.claim_by_grade["II"][0] == timedelta(minutes=5)  # the incident: first claimed at 5 minutes
    text = render_report(r, h.app.tz)
    assert "周岚 1 起 3 小时 5 分钟 —" in text
    texts = _paragraphs((await _ask(h, "/report today docx"))[0].document)
    assert any("周岚处置 1 起，平均认领 3 小时 5 分钟" in t for t in texts)


def test_the_chart_counts_every_category_the_text_counts(tmp_path):
    # ten categories: the chart drew the first eight and dropped the rest, so its bars added up
    # to fewer incidents than the report's 新增事件
    from dataclasses import replace

    from jobs.charts import chart_figure
    from storage import open_db

    cfg = load_config(EXAMPLE)
    r = build_report(
        open_db(memory=True), cfg, "today", datetime(2026, 11, 24, 2, tzinfo=UTC), ZoneInfo("Asia/Shanghai")
    )
    cats = {f"类别{n}": 12 - n for n in range(10)}
    r = replace(r, by_category=cats, total=sum(cats.values()))
    fig = chart_figure(r, "t")
    panel = fig.axes[1]
    widths = [p.get_width() for p in panel.patches]
    labels = [t.get_text() for t in panel.get_yticklabels()]
    assert sum(widths) == r.total
    assert len(widths) <= 8 and labels[0] == "其他" and widths[0] == 3 + 4 + 5  # the last three, folded


async def test_a_lesson_with_a_time_or_a_colon_in_it_is_kept_whole_in_the_casebook(make_app, clock):
    # "教训：10:30 前…" came out as "30 前…", and "lesson: 先核实：再回应" as "再回应": the text
    # was cut at a colon inside it instead of after the marker
    from jobs.casebook import collect_cases

    h = make_app()
    seed(h, *LOW, source="ycnews")
    await h.say("liqiang", "/close 1 已回应 已说明")
    lessons = ["10:30 前须发布首条权威信息", "时间节点 10:30 前发布", "回应要快：5 小时内发布", "先核实：再回应"]
    for text in (
        "教训: 10:30 前须发布首条权威信息",
        "教训：时间节点 10:30 前发布",
        "经验：回应要快：5 小时内发布",
        "Lesson:先核实：再回应",
    ):
        assert await h.say("liqiang", f"/note 1 {text}") == ""
    day = clock().date()
    (case,) = collect_cases(h.app.db, h.app.config, day, day, h.app.tz)
    assert case.lessons == lessons


async def test_the_documents_category_sentence_accounts_for_every_incident(make_app, clock):
    # eight categories: 从类别看 named the first six and dropped the rest without a word
    from core.clock import to_iso

    h = make_app()
    now = to_iso(clock())
    with h.app.db.conn:
        for n in range(8):
            for k in range(8 - n):
                h.app.db.conn.execute(
                    "INSERT INTO incidents (story_key, title, category, grade, state, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?)",
                    [f"s{n}-{k}", f"事件{n}-{k}", f"类别{n}", "IV", "new", now, now],
                )
    texts = _paragraphs((await _ask(h, "/report today docx"))[0].document)
    line = next(t for t in texts if t.startswith("从类别看"))
    assert "类别0 8 起" in line and "其他 3 起" in line, line  # 类别6 (2) and 类别7 (1)


@pytest.mark.parametrize(
    "typed",
    [
        "２０２６-１１-０１..２０２６-１１-３０",
        "2026-11-01至2026-11-30",
        "2026-11-01~2026-11-30",
        "2026-11-01～2026-11-30",
        "2026－11－01..2026－11－30",
        "2026-11-01..2026-11-30",
    ],
)
async def test_a_date_range_typed_the_chinese_way_is_read_and_titled_with_its_dates(make_app, typed):
    # full-width digits (an input method's), 至 or ～ were refused as 无法识别的报告周期; and a
    # range's title said "11-01 00:00 至 12-01 00:00": no year, and a day past its end
    h = make_app()
    out = await h.say("liqiang", f"/report {typed}")
    assert out.splitlines()[0] == "📊 云川市委组织部舆情专项时段报告（2026-11-01 至 2026-11-30）", out


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("昨天", "日报·昨日报告（11-23 00:00 至 11-24 00:00）"),
        ("上周", "周报·上周报告（11-16 00:00 至 11-23 00:00）"),
        ("2026-11-20", "专项时段报告（2026-11-20 至 2026-11-20）"),
    ],
)
async def test_yesterday_last_week_and_one_day_in_words(make_app, typed, title):
    h = make_app()
    assert (await h.say("liqiang", f"/report {typed}")).splitlines()[0].endswith(title)


async def test_a_range_over_years_names_the_years(make_app):
    h = make_app()
    out = await h.say("liqiang", "/report 2025-12-01..2026-01-31")
    assert "（2025-12-01 至 2026-01-31）" in out.splitlines()[0]


async def test_a_multi_line_note_stays_inside_its_item_in_the_markdown_casebook(make_app, clock, tmp_path):
    # a note typed on several lines ("教训：…\n# 伪造标题\n- 列表") came out as a heading and
    # list items of the casebook itself
    from jobs.casebook import collect_cases, write_markdown

    h = make_app()
    seed(h, *LOW, source="ycnews")
    assert await h.say("liqiang", "/note 1 教训：第一行\n# 伪造标题\n\n- 列表\r\n1. 编号\n> 引用") == ""
    assert await h.say("liqiang", "/close 1 已回应 第一行\n## 二级标题") == ""
    day = clock().date()
    path = tmp_path / "c.md"
    write_markdown(
        collect_cases(h.app.db, h.app.config, day, day, h.app.tz), path, org="o", start=day, end=day, tz=h.app.tz
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    ours = {"# o舆情案例汇编（警示教材）", "## 目录", "### 事件经过", "### 处置过程", "### 经验教训"}
    assert [x for x in lines if x.startswith("#") and x not in ours and not x.startswith("## #1 ")] == []
    assert not any(x.startswith(("- 列表", "1. 编号", "> ", "  1. ", "  - ", "  > ")) for x in lines), lines
    assert sum("伪造标题" in x for x in lines) == 2  # the note in the timeline and as the lesson, kept


@pytest.mark.both_engines
def test_a_persons_own_claim_and_the_sweeps_values_on_both_engines(db):
    # period_spans reads an assignment's target out of the event's JSON (json_extract on SQLite,
    # ->> on PostgreSQL); the handover keeps its shift in sweep_state
    from storage.incidents import (
        add_event,
        list_incidents,
        set_sweep_value,
        sweep_value,
        update_incident,
    )
    from storage.reports import period_spans
    from tests.test_storage_engines import NOW, incident

    a, b, c = incident(db), incident(db, story_key="k2"), incident(db, story_key="k3")
    add_event(db, a, NOW + timedelta(minutes=1), actor="x", action="claim", detail={})
    add_event(db, a, NOW + timedelta(minutes=2), actor="x", action="unclaim", detail={})
    add_event(db, a, NOW + timedelta(minutes=30), actor="y", action="claim", detail={})
    update_incident(db, a, 1, NOW, assignee="y", claimed_at=NOW + timedelta(minutes=1))
    add_event(db, b, NOW + timedelta(minutes=7), actor="boss", action="assign", detail={"target": "z"})
    update_incident(db, b, 1, NOW, assignee="z", claimed_at=NOW + timedelta(minutes=7))
    spans = {tuple(r)[1]: tuple(r) for r in period_spans(db, NOW - timedelta(days=1), NOW + timedelta(days=1))}
    assert spans["y"][2:] == (60, None, 1800) and spans["z"][2:] == (420, None, 420)
    assert [i.id for i in list_incidents(db, unclaimed=True)] == [c]
    assert sweep_value(db, "duty_shift") is None
    set_sweep_value(db, "duty_shift", "a")
    set_sweep_value(db, "duty_shift", "b")
    assert sweep_value(db, "duty_shift") == "b"
