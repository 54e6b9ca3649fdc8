"""Report figures against hand-computed values, with a controlled clock."""

from __future__ import annotations

from datetime import timedelta

from core.incidents import Actor
from core.lifecycle import Action
from core.models import Disposition, Role
from jobs.report import build_report, period_bounds, render_report
from tests.conftest import HIGH, LOW, seed

LI = Actor("liqiang", "李强", Role.STAFF)


async def test_report_counts_and_mean_times(make_app, clock):
    h = make_app()
    seed(h, *HIGH)  # #1 at t0
    seed(h, *LOW, source="ycnews")  # #2 at t0
    clock.advance(minutes=10)
    h.app.service.act(1, Action.CLAIM, LI)  # claim #1 after 10 min
    clock.advance(minutes=20)
    h.app.service.act(2, Action.CLAIM, LI)  # claim #2 after 30 min
    clock.advance(minutes=60)
    h.app.service.act(2, Action.CLOSE, LI, disposition=Disposition.FALSE_POSITIVE)  # close #2 after 90 min
    seed(h, "青石镇干部态度恶劣", "村民投诉办事推诿。")  # #3, still new
    clock.advance(minutes=20)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.total == 3
    assert r.by_state == {
        "new": 1,
        "claimed": 1,
        "escalated": 0,
        "pending_signoff": 0,
        "awaiting_feedback": 0,
        "closed": 1,
    }
    assert r.mean_claim == timedelta(minutes=20) and r.claimed == 2
    assert r.mean_close == timedelta(minutes=90) and r.closed == 1
    assert r.by_disposition == {"误报": 1}
    assert r.open_now == 2
    g3 = h.incident(3).grade
    # #3 was found 20 minutes ago: overdue only if its claim deadline is shorter than that
    assert (3 in r.overdue_now) == (g3.value in ("I",))
    text = render_report(r, h.app.tz, "云川市委组织部")
    assert (
        "新增事件：3 起" in text
        and "平均认领用时：20 分钟（2 起）" in text
        and "平均办结用时：1 小时 30 分钟（1 起）" in text
    )


async def test_overdue_unclaimed_high_grade(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    grade = h.incident(1).grade
    clock.advance(minutes=16 if grade.value == "I" else 31)
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.overdue_now == [1]
    assert "超时 1 起（认领超时 1）：#1" in render_report(r, h.app.tz)


def test_period_bounds_are_local_days(clock):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    start, _ = period_bounds("today", clock(), tz)  # clock: 2026-11-24 10:00 Shanghai (a Tuesday)
    assert start.astimezone(tz).strftime("%Y-%m-%d %H:%M") == "2026-11-24 00:00"
    start, _ = period_bounds("week", clock(), tz)
    assert start.astimezone(tz).strftime("%Y-%m-%d") == "2026-11-23"
    start, _ = period_bounds("month", clock(), tz)
    assert start.astimezone(tz).strftime("%Y-%m-%d") == "2026-11-01"


async def test_p90_per_person_false_positives_and_coverage(make_app, clock):
    from jobs.report import build_report, render_report

    h = make_app()
    waits = [5, 10, 15, 20, 25, 30, 35, 40, 45, 100]  # minutes to claim, ten incidents
    for n in range(len(waits)):
        seed(h, f"青石镇第{n}号干部吃拿卡要问题调查", f"不同的第{n}个故事：{'甲乙丙丁戊己庚辛壬癸'[n] * 30}")
    for n, w in enumerate(waits, start=1):
        who = LI if n % 2 else Actor("zhoulan", "周岚", Role.STAFF)
        inc = h.incident(n)
        clock.now = inc.created_at + timedelta(minutes=w)
        h.app.service.act(n, Action.CLAIM, who)
    clock.now = h.incident(1).created_at + timedelta(hours=3)
    for n in (1, 2, 3):
        h.app.service.act(
            n, Action.CLOSE, LI, disposition=Disposition.FALSE_POSITIVE if n < 3 else Disposition.RESPONDED
        )
    r = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert r.total == 10 and r.closed_in_period == 3
    assert r.mean_claim == timedelta(minutes=32.5) and r.p90_claim == timedelta(minutes=45)  # (225 + 100) / 10
    assert r.claim_by_person["李强"][0] == 5 and r.claim_by_person["周岚"][0] == 5
    assert r.claim_by_person["李强"][1] == timedelta(minutes=25)  # 5, 15, 25, 35, 45
    assert r.false_positive_rate == {next(iter(r.by_category)): (2, 3)}
    # the three sources were never read (posts seeded): not 正常, as /sources says ⏳ 尚未抓取
    assert {k: v for k, v in r.sources.items() if v} == {"未抓取": 3}
    text = render_report(r, h.app.tz)
    assert (
        "认领用时 P90：45 分钟" in text
        and "误报率（按类别）" in text
        and "2/3" in text
        and "来源覆盖：未抓取 3" in text
    )


async def test_date_range_and_special_report(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/note 1 教训: 公车使用登记要公开")
    await h.say("liqiang", "/judge 1 系公务用车，网民误读")
    await h.say("liqiang", "/close 1 已澄清 系公务用车")
    assert "新增事件：1 起" in await h.say("liqiang", "/report 2026-11-24..2026-11-24")
    assert "新增事件：0 起" in await h.say("liqiang", "/report 2026-11-01..2026-11-23")
    special = await h.say("liqiang", "/report 1")
    assert special.startswith("📄 舆情专报 · #1")
    assert "一、传播情况：1 篇帖文" in special and "二、处置过程：" in special and "李强 认领" in special
    assert "三、处置结果：已澄清（系公务用车）" in special and "四、经验教训：教训: 公车使用登记要公开" in special


async def test_scheduled_daily_report_reaches_groups_and_subscribers(make_app, clock):
    from jobs.report import send_scheduled_report

    h = make_app()
    seed(h, *HIGH, source="provnews")
    await h.say("chenbuzhang", "/subscribe III")
    await h.deliver()
    clock.advance(hours=22, minutes=30)  # the next morning, 08:30 in Shanghai
    send_scheduled_report(h.app.service, "yesterday", h.app.tz)
    out = await h.deliver()
    assert "【监测群】📊 云川市委组织部舆情日报·昨日报告（11-24 00:00 至 11-25 00:00）" in out
    assert "【私聊 → 陈副部长】📊" in out and "新增事件：1 起" in out


def test_scheduled_jobs_are_registered(make_app):
    import asyncio

    h = make_app(settings_kw={"collect_on_start": False})

    async def go():
        await h.app.start()
        ids = {j.id for j in h.app.scheduler.get_jobs()}
        nxt = {j.id: j.next_run_time for j in h.app.scheduler.get_jobs()}
        await h.app.stop()
        return ids, nxt

    ids, nxt = asyncio.run(go())
    assert {"report:daily", "report:weekly", "deadlines", "index", "collect:forum"} <= ids
    assert nxt["report:daily"].strftime("%H:%M") == "08:30" and nxt["report:weekly"].weekday() == 0


async def test_report_chart_png_with_chinese_labels_and_no_missing_glyphs(make_app, recwarn):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, *LOW, source="ycnews")
    replies = await h.app.handle(
        __import__("handlers").Request(platform="console", chat="监测群", user_id="liqiang", text="/report")
    )
    image = replies[0].image
    assert image and image.endswith(".png")
    with open(image, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not [w for w in recwarn if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    # the bundled font really has the glyphs the chart uses
    from fontTools.ttLib import TTFont  # matplotlib's own dependency
    from matplotlib import font_manager

    from jobs.charts import cjk_font

    path = font_manager.findfont(cjk_font())
    cmap = TTFont(path, fontNumber=0).getBestCmap()
    assert all(ord(ch) in cmap for ch in "按等级类别事件数特别重大较大一般舆情报告")


def test_a_chart_on_the_kept_figure_is_the_chart_on_a_new_one(make_app, tmp_path):
    """render_report_chart draws on a figure it keeps for the next chart of its shape: whatever
    was drawn on it before (other categories, more days, bigger counts, no trend), the PNG is
    the one a new figure gives."""
    from dataclasses import replace

    import matplotlib.pyplot as plt

    from jobs.charts import chart_figure, cjk_font, render_report_chart
    from jobs.report import build_report

    h = make_app()
    base = build_report(h.app.db, h.app.config, "month", h.app.clock(), h.app.tz)

    def days(n: int, scale: int) -> dict[str, tuple[int, int]]:
        return {f"2026-11-{d:02d}": (d * scale % 37, d * scale % 11) for d in range(1, n + 1)}

    week = replace(
        base,
        by_grade={"I": 3, "II": 0, "III": 12, "IV": 40},
        by_category={"干部作风": 30, "违纪违法": 20, "招录考试": 5},
        by_day=days(7, 3),
    )
    month = replace(
        base, by_grade={"I": 0, "II": 0, "III": 0, "IV": 2}, by_category={"基层党建": 2}, by_day=days(30, 97)
    )
    empty_day = replace(base, by_grade=dict.fromkeys(["I", "II", "III", "IV"], 0), by_category={}, by_day={})
    big_day = replace(
        base, by_grade={"I": 900, "II": 0, "III": 0, "IV": 40000}, by_category={"政府回应": 40900}, by_day={}
    )
    for n, report in enumerate([week, month, empty_day, week, big_day, month, empty_day]):
        kept = render_report_chart(report, tmp_path / f"kept-{n}.png", "本月舆情报告").read_bytes()
        fig = chart_figure(report, "本月舆情报告")
        try:  # saved as render_report_chart saves (tick labels are formatted when drawn)
            with plt.rc_context({"font.family": cjk_font(), "axes.unicode_minus": False}):
                fig.savefig(tmp_path / f"new-{n}.png", pil_kwargs={"compress_level": 1})
        finally:
            plt.close(fig)
        assert kept == (tmp_path / f"new-{n}.png").read_bytes(), n
