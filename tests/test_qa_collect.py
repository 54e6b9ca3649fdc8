"""Outside QA, collection: one item's bad date or count never costs the source its other items
(QA #1, #9, #18), and a source's health reads the same in /sources and /report (QA #6).
Everything is served over real HTTP on 127.0.0.1 and read at the tests' controllable clock."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.config import load_config
from core.clock import from_iso

SOURCE = """
[[sources]]
id = "web"
name = "测试站点"
kind = "{kind}"
url = "{url}"
tier = 4
interval = "10m"
{extra}
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>云川发布</title><id>urn:f</id><updated>2026-11-23T10:00:00+08:00</updated>
<entry><title>云川发布：年末述职安排</title><id>urn:1</id><link href="{base}/a1.html"/>
  <updated>{bad}</updated><summary>全市述职安排公布</summary></entry>
<entry><title>云川发布：市委组织部回应干部任用质疑</title><id>urn:2</id><link href="{base}/a2.html"/>
  <updated>2026-11-23T10:00:00+08:00</updated><summary>组织部回应</summary></entry>
</feed>"""

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>云川论坛</title>
{items}
</channel></rss>"""

RSS_ITEM = "<item><title>{title}</title><link>{base}/{n}.html</link><description>正文</description><pubDate>{date}</pubDate></item>"

HTML = """<html><body><ul>
<li class="t"><a class="title" href="/h1.html">青石镇村民反映修路款去向</a><span class="time">{bad}</span></li>
<li class="t"><a class="title" href="/h2.html">云川羊肉汤节开幕</a><span class="time">2026-11-23 21:47</span></li>
</ul></body></html>"""


def _config(config_dir, kind: str, url: str, extra: str = "", collection: str = ""):
    """The example config with one source `web` of `kind` at `url` (and `extra` lines), fetched
    without waits or retries (and `collection`'s further lines)."""
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    text = text.replace(
        "# ---------------------------------------------------------------- watch-list",
        SOURCE.format(kind=kind, url=url, extra=extra) + "\n# ---- watch-list",
    )
    text += "\n[collection]\nmin_interval = 0\njitter = 0\nretries = 0\n" + collection
    p.write_text(text, encoding="utf-8")
    return load_config(p)


@pytest.fixture
def collect(make_app, config_dir, http_server):
    """Serve `body` at /feed, run the `web` source once (forced); returns (run, harness)."""

    async def go(kind, body, extra="", *, content_type="application/xml; charset=utf-8", harness=None):
        http_server.routes["/feed"] = (200, {"Content-Type": content_type}, body)
        h = harness or make_app(_config(config_dir, kind, http_server.url + "/feed", extra))
        h.app.attach_http(httpx.AsyncClient(timeout=5.0))
        try:
            run = await h.app.pipeline.run_source("web", force=True)
        finally:
            await h.app.client.aclose()
        return run, h

    return go


def stored(h) -> dict[str, dict]:
    return {
        r["title"]: r
        for r in h.app.db.query(
            "SELECT title, published_at, fetched_at, replies, views, reposts FROM posts WHERE source_id = 'web'"
        )
    }


JSON_FIELDS = (
    'fields = { items = "data.list", title = "title", link = "url", text = "summary", time = "ts", '
    'replies = "replies", views = "views", reposts = "shares" }'
)


def _json(items: list[dict]) -> bytes:
    return json.dumps({"data": {"list": items}}, ensure_ascii=False).encode()


# ------------------------------------------------------------------ QA #1: out-of-range dates


async def test_json_epochs_in_ms_us_and_ns_are_read_and_an_impossible_one_costs_only_its_own_date(
    collect, http_server, clock, caplog
):
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    s = int(at.timestamp())
    items = [
        {"title": "毫秒时间戳：市委组织部回应干部任用质疑", "url": "/ms1.html", "summary": "…", "ts": s * 1000},
        {"title": "毫秒字符串：青石镇通报", "url": "/ms2.html", "ts": str(s * 1000)},
        {"title": "微秒时间戳：南湖区通报", "url": "/us.html", "ts": s * 1_000_000},
        {"title": "纳秒时间戳：北岸区通报", "url": "/ns.html", "ts": s * 1_000_000_000},
        {"title": "秒时间戳：东城区通报", "url": "/s.html", "ts": s},
        {"title": "超界时间戳：西城区通报", "url": "/bad1.html", "ts": 99999999999999},
        {"title": "天文数字：中山区通报", "url": "/bad2.html", "ts": 10**30},
        {"title": "无时间：北湖区通报", "url": "/none.html"},
    ]
    with caplog.at_level(logging.WARNING, logger="jobs.collect"):
        run, h = await collect("json", _json(items), JSON_FIELDS, content_type="application/json")
    assert run.error is None and run.fetched == len(items) and run.new_posts == len(items)
    rows = stored(h)
    for title in ("毫秒时间戳", "毫秒字符串", "微秒时间戳", "纳秒时间戳", "秒时间戳"):
        row = next(r for t, r in rows.items() if t.startswith(title))
        assert from_iso(row["published_at"]) == at, title
    for title in ("超界时间戳", "天文数字", "无时间"):
        row = next(r for t, r in rows.items() if t.startswith(title))
        assert row["published_at"] is None and from_iso(row["fetched_at"]) == clock(), title
    assert "web: 2 item(s) with an impossible or implausible publication time" in caplog.text


@pytest.mark.parametrize(
    "bad",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2100-01-01T00:00:00+08:00", "2026-13-45T99:00:00Z"],
)
async def test_an_atom_entry_with_an_impossible_date_keeps_the_feed(collect, http_server, bad):
    run, h = await collect("rss", ATOM.format(base=http_server.url, bad=bad).encode())
    assert run.error is None and run.new_posts == 2
    rows = stored(h)
    assert rows["云川发布：年末述职安排"]["published_at"] is None
    assert rows["云川发布：市委组织部回应干部任用质疑"]["published_at"] == "2026-11-23T02:00:00+00:00"


@pytest.mark.parametrize(
    "bad", ["9999-12-31T23:59:59-14:00", "9999-12-31 23:59", "0001-01-01T00:00:00+14:00", "9999年12月31日 23:59"]
)
async def test_an_html_item_with_an_impossible_date_keeps_the_page(collect, http_server, bad):
    extra = 'selectors = { item = "li.t", title = "a.title", link = "a.title", time = ".time" }'
    run, h = await collect("html", HTML.format(bad=bad).encode(), extra, content_type="text/html; charset=utf-8")
    assert run.error is None and run.new_posts == 2
    rows = stored(h)
    assert rows["青石镇村民反映修路款去向"]["published_at"] is None
    assert rows["云川羊肉汤节开幕"]["published_at"] == "2026-11-23T13:47:00+00:00"
    assert h.app.db.execute("SELECT consecutive_failures FROM sources WHERE id = 'web'").fetchone()[0] == 0


# ------------------------------------------------------------------ QA #9: implausible dates


async def test_far_future_and_ancient_rss_dates_fall_back_to_the_fetch_time(collect, http_server, clock, caplog):
    now = clock()
    dates = {
        "二一〇〇年：南湖区教育局通报": "Fri, 01 Jan 2100 00:00:00 +0800",
        "公元元年：北岸区通报": "Mon, 01 Jan 0001 00:00:00 +0000",
        "一九八九年：东城区旧闻": "Sun, 31 Dec 1989 12:00:00 +0000",
        "两天后：西城区通报": (now + timedelta(days=2)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "一九九〇年：中山区旧闻": "Mon, 01 Jan 1990 12:00:00 +0000",
        "二十小时后：时区写错的通报": (now + timedelta(hours=20)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "昨天：青石镇通报": "Mon, 23 Nov 2026 10:00:00 +0800",
    }
    items = "\n".join(
        RSS_ITEM.format(title=t, base=http_server.url, n=n, date=d) for n, (t, d) in enumerate(dates.items())
    )
    with caplog.at_level(logging.WARNING, logger="jobs.collect"):
        run, h = await collect("rss", RSS.format(items=items).encode())
    assert run.error is None and run.new_posts == len(dates)
    rows = stored(h)
    for title in ("二一〇〇年", "公元元年", "一九八九年", "两天后"):
        row = next(r for t, r in rows.items() if t.startswith(title))
        assert row["published_at"] is None and from_iso(row["fetched_at"]) == now, title
    assert rows["一九九〇年：中山区旧闻"]["published_at"] == "1990-01-01T12:00:00+00:00"
    assert from_iso(rows["二十小时后：时区写错的通报"]["published_at"]) == now + timedelta(hours=20)
    assert rows["昨天：青石镇通报"]["published_at"] == "2026-11-23T02:00:00+00:00"
    assert "web: 4 item(s) with an impossible or implausible publication time" in caplog.text
    assert "the fetch time is used" in caplog.text


async def test_a_json_date_far_ahead_of_the_fetch_is_not_trusted_and_the_card_shows_the_fetch_time(
    collect, http_server, clock
):
    ahead = int((clock() + timedelta(days=400)).timestamp()) * 1000
    items = [{"title": "网友实名举报张建国公车私用", "url": "/f.html", "summary": "青石镇水库钓鱼", "ts": ahead}]
    run, h = await collect("json", _json(items), JSON_FIELDS, content_type="application/json")
    assert run.error is None and run.new_posts == 1
    assert stored(h)["网友实名举报张建国公车私用"]["published_at"] is None
    out = await h.deliver()
    local = clock().astimezone(h.app.tz)
    assert f"{local:%m-%d %H:%M}" in out and "2027" not in out


def test_plausible_time_bounds():
    from jobs.collect import plausible_time

    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert plausible_time(datetime(1990, 1, 1, tzinfo=UTC), now)
    assert not plausible_time(datetime(1989, 12, 31, 23, 59, tzinfo=UTC), now)
    assert plausible_time(now + timedelta(days=1), now)
    assert not plausible_time(now + timedelta(days=1, seconds=1), now)
    assert not plausible_time(datetime.fromisoformat("9999-12-31T23:59:59-14:00"), now)
    assert not plausible_time(None, now)


# ------------------------------------------------------------------ QA #18: engagement counts


async def test_json_counts_that_cannot_be_counts_are_dropped_not_mangled(collect, http_server):
    body = (
        '{"data": {"list": ['
        '{"title": "负数回复", "url": "/c1.html", "replies": -5, "views": "-3", "shares": 1e308},'
        '{"title": "无穷转发", "url": "/c2.html", "replies": 1e400, "views": "1e400", "shares": NaN},'
        '{"title": "天文数字", "url": "/c3.html", "replies": 100000000000000000000000000000, "views": "9e15", '
        '"shares": true},'
        '{"title": "正常计数", "url": "/c4.html", "replies": 88, "views": "2.5万", "shares": "1.5亿"},'
        '{"title": "科学计数", "url": "/c5.html", "replies": 3e2, "views": "1.2e3", "shares": 0}'
        "]}}"
    ).encode()
    run, h = await collect("json", body, JSON_FIELDS, content_type="application/json")
    assert run.error is None and run.new_posts == 5
    counts = {t: (r["replies"], r["views"], r["reposts"]) for t, r in stored(h).items()}
    assert counts == {
        "负数回复": (None, None, None),
        "无穷转发": (None, None, None),
        "天文数字": (None, None, None),
        "正常计数": (88, 25000, 150_000_000),
        "科学计数": (300, 1200, 0),
    }


# ------------------------------------------------------------------ QA #6: source health


async def _fail(h, times: int):
    h.app.attach_http(httpx.AsyncClient(timeout=5.0))
    try:
        for _ in range(times):
            run = await h.app.pipeline.run_source("web", force=True)  # `yuqing scrape --once --source web`
            assert run.error and "500" in run.error
    finally:
        await h.app.client.aclose()


async def test_the_switch_off_notice_is_sent_once(make_app, config_dir, http_server):
    http_server.routes["/feed"] = (500, {}, b"oops")
    cfg = _config(config_dir, "rss", http_server.url + "/feed")
    h = make_app(cfg)
    n = cfg.collection.deactivate_after
    await _fail(h, n)
    out = await h.deliver()
    assert out.count("⛔ 来源「测试站点」") == 1 and f"连续 {n} 次失败，已停用" in out
    await _fail(h, 2)  # forced runs of a switched-off source fail again: nothing new to tell
    assert "⛔" not in await h.deliver()


def _coverage(report: str) -> dict[str, int]:
    line = next(x for x in report.splitlines() if x.startswith("来源覆盖："))
    return {k: int(v) for k, v in (part.split(" ") for part in line.removeprefix("来源覆盖：").split("，"))}


async def test_a_resumed_source_that_never_worked_is_not_shown_as_normal(make_app, config_dir, http_server):
    http_server.routes["/feed"] = (500, {}, b"oops")
    cfg = _config(config_dir, "rss", http_server.url + "/feed")
    first = make_app(cfg)
    await _fail(first, cfg.collection.deactivate_after + 1)
    first.app.close()
    second = make_app(cfg, settings_kw={"collect_on_start": False})  # a restart: same database
    second.app.resume_sources()  # as `App.start` and `yuqing collect` do, before any source is read
    reply = await second.say("wangmin", "/sources")
    report = await second.say("wangmin", "/report")
    line = next(x for x in reply.splitlines() if "测试站点" in x)
    assert "✅" not in line and "正常" not in line
    assert line.startswith("⏳ 已恢复，待重新抓取 测试站点") and "最近成功 —" in line
    assert "最近错误：服务器错误 / server error 500" in reply
    # the others were never read: /sources says so, and the report counts them as such
    assert reply.count("⏳ 尚未抓取") == 3
    assert _coverage(report) == {"未抓取": 3, "待重新抓取": 1}
    # read again and failing: failed, not normal; the report agrees
    await _fail(second, 1)
    reply = await second.say("wangmin", "/sources")
    assert "🟡 失败 1 次 测试站点" in reply
    assert _coverage(await second.say("wangmin", "/report")) == {"偶发失败": 1, "未抓取": 3}


@pytest.mark.parametrize(
    ("row", "label", "bucket"),
    [
        ({}, "⏳ 尚未抓取", "未抓取"),
        ({"consecutive_failures": 1, "last_run_at": "x", "last_error": "e"}, "🟡 失败 1 次", "偶发失败"),
        ({"consecutive_failures": 3, "last_run_at": "x", "last_error": "e"}, "⚠️ 连续失败 3 次", "失败"),
        ({"consecutive_failures": 0, "last_run_at": "x", "last_error": "e"}, "⏳ 已恢复，待重新抓取", "待重新抓取"),
        ({"deactivated": 1, "consecutive_failures": 10, "last_run_at": "x"}, "⛔ 已停用", "停用"),
        ({"silent_reported": 1, "last_run_at": "x"}, "🔇 长时间无更新", "沉寂"),
        ({"last_run_at": "x", "last_ok_at": "x"}, "✅ 正常", "正常"),
    ],
)
def test_each_sources_state_has_its_own_report_bucket(config, row, label, bucket):
    from core.health import BUCKETS, source_health
    from handlers.commands import source_status

    assert source_status(row, config) == label
    assert source_health(row, config.collection.break_after).bucket == bucket
    assert bucket in BUCKETS and len(set(BUCKETS)) == len(BUCKETS)


async def test_a_feed_listing_an_entry_twice_gives_one_post_analysed_once(collect, http_server):
    # a feed generator that repeats a pinned item: the same link twice is one item key; it was
    # analysed twice in one run, as html and json items were not
    one = RSS_ITEM.format(
        title="青石镇干部吃拿卡要被通报", base=http_server.url, n=1, date="Mon, 23 Nov 2026 10:00:00 +0800"
    )
    other = RSS_ITEM.format(title="云川羊肉汤节开幕", base=http_server.url, n=2, date="Mon, 23 Nov 2026 09:00:00 +0800")
    run, h = await collect("rss", RSS.format(items=one + other + one).encode())
    assert run.error is None and run.fetched == 2 and run.new_posts == 2
    assert sorted(stored(h)) == ["云川羊肉汤节开幕", "青石镇干部吃拿卡要被通报"]
