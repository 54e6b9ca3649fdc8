"""Collection against a real HTTP server on 127.0.0.1: every fixture case stores the right
posts (titles correct in Chinese) or records the error, and loses nothing else."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot.config import load_config
from jobs.fetch import Politeness, decode_body

RSS = """<?xml version="1.0" encoding="{enc}"?>
<rss version="2.0"><channel><title>云川论坛</title>
<item><title>网友实名举报张建国公车私用</title><link>{base}/t/1</link><guid>g1</guid>
<description>青石镇水库钓鱼，网友愤怒质疑。</description><pubDate>Mon, 23 Nov 2026 10:00:00 +0800</pubDate></item>
<item><title>云川美食节开幕</title><link>{base}/t/2</link><guid>g2</guid><description>好吃</description></item>
</channel></rss>"""

SOURCES = """
[[sources]]
id = "web"
name = "测试站点"
kind = "{kind}"
url = "{url}"
tier = 4
interval = "5m"
{extra}
"""


def source_config(config_dir, kind: str, url: str, extra: str = "", collection: str = ""):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    text = text.replace(
        "# ---------------------------------------------------------------- watch-list",
        SOURCES.format(kind=kind, url=url, extra=extra) + "\n# ---- watch-list",
    )
    text += "\n[collection]\nmin_interval = 0\njitter = 0\nretries = 2\n" + collection
    p.write_text(text, encoding="utf-8")
    return load_config(p)


@pytest.fixture
def collect(make_app, config_dir, http_server):
    """Run the `web` source once against the local server; returns (run, harness)."""

    async def go(kind, path, extra="", collection="", timeout=5.0, harness=None):
        h = harness or make_app(source_config(config_dir, kind, http_server.url + path, extra, collection))
        h.app.attach_http(httpx.AsyncClient(timeout=timeout, follow_redirects=True, max_redirects=5))
        try:
            run = await h.app.pipeline.run_source("web", force=True)
        finally:
            await h.app.client.aclose()
        return run, h

    return go


def titles(h, source="web"):
    return [r["title"] for r in h.app.db.query("SELECT title FROM posts WHERE source_id=? ORDER BY id", [source])]


async def test_rss_with_incident(collect, http_server):
    http_server.routes["/rss"] = (
        200,
        {"Content-Type": "application/rss+xml; charset=utf-8"},
        RSS.format(enc="utf-8", base=http_server.url).encode(),
    )
    run, h = await collect("rss", "/rss")
    assert run.error is None and run.new_posts == 2
    assert titles(h) == ["网友实名举报张建国公车私用", "云川美食节开幕"]
    assert h.count("incidents") == 1


async def test_gbk_rss_without_charset_header(collect, http_server):
    body = RSS.format(enc="gbk", base=http_server.url).encode("gbk")
    http_server.routes["/gbk"] = (200, {"Content-Type": "application/xml"}, body)
    run, h = await collect("rss", "/gbk")
    assert run.error is None
    assert titles(h) == ["网友实名举报张建国公车私用", "云川美食节开幕"]


async def test_gbk_rss_without_any_declaration_is_detected(collect, http_server):
    body = RSS.format(enc="gbk", base=http_server.url).replace('<?xml version="1.0" encoding="gbk"?>', "").encode("gbk")
    http_server.routes["/gbk2"] = (200, {"Content-Type": "text/xml"}, body)
    run, h = await collect("rss", "/gbk2")
    assert run.error is None and "网友实名举报张建国公车私用" in titles(h)


HTML = """<html><head><meta charset="gb2312"><title>云川论坛</title></head><body>
<ul class="threads">
 <li class="t"><a class="title" href="/thread-1.html">事业单位招聘面试成绩有猫腻？考生质疑有内定</a>
   <span class="time">2026-11-23 21:47</span><span class="reply">356 回复</span><span class="view">1.2万</span></li>
 <li class="t"><a class="title" href="/thread-2.html">求推荐云川羊肉汤</a><span class="time">2026年11月24日 08:30</span></li>
</ul></body></html>"""

DETAIL = """<html><head><meta charset="gb2312"></head><body><div class="post">市人社局考试中心主任赵明远说评分全程录像，
考生质疑有内定。</div></body></html>"""


async def test_gb2312_html_list_with_detail_pages(collect, http_server):
    http_server.routes["/list"] = (200, {"Content-Type": "text/html"}, HTML.encode("gb2312"))
    http_server.routes["/thread-1.html"] = (200, {"Content-Type": "text/html"}, DETAIL.encode("gb2312"))
    http_server.routes["/thread-2.html"] = (
        200,
        {"Content-Type": "text/html"},
        "<div class='post'>很好喝</div>".encode("gb2312"),
    )
    extra = (
        'selectors = { item = "li.t", title = "a.title", link = "a.title", time = ".time", '
        'replies = ".reply", views = ".view", body = "div.post" }'
    )
    run, h = await collect("html", "/list", extra)
    assert run.error is None, run.error
    rows = list(
        h.app.db.query(
            "SELECT title, text, url, replies, views, published_at FROM posts WHERE source_id='web' ORDER BY id"
        )
    )
    first = next(r for r in rows if "猫腻" in r["title"])
    assert first["title"] == "事业单位招聘面试成绩有猫腻？考生质疑有内定"
    assert "赵明远" in first["text"] and first["url"] == http_server.url + "/thread-1.html"
    assert (first["replies"], first["views"]) == (356, 12000)
    assert first["published_at"] == "2026-11-23T13:47:00+00:00"
    assert h.count("incidents") == 1


async def test_json_api(collect, http_server):
    data = {
        "data": {
            "list": [
                {
                    "id": 7,
                    "title": "青石镇干部吃拿卡要被投诉",
                    "link": "/a/7",
                    "summary": "村民投诉办事难",
                    "ts": 1795400000,
                    "stats": {"comments": 88, "reads": "2.5万", "shares": 12},
                },
                {"id": 8, "title": "", "link": "/a/8"},
            ]
        }
    }
    http_server.routes["/api"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps(data, ensure_ascii=False).encode(),
    )
    extra = (
        'fields = { items = "data.list", title = "title", link = "link", text = "summary", time = "ts", '
        'replies = "stats.comments", views = "stats.reads", reposts = "stats.shares" }'
    )
    run, h = await collect("json", "/api", extra)
    assert run.error is None and run.fetched == 1
    row = next(h.app.db.query("SELECT * FROM posts WHERE source_id='web'"))
    assert row["title"] == "青石镇干部吃拿卡要被投诉" and (row["replies"], row["views"], row["reposts"]) == (
        88,
        25000,
        12,
    )
    assert any("互动较多" in r.words for r in h.incident(1).reasons) or any(
        "高互动" in r.words for r in h.incident(1).reasons
    )


async def test_search_source_uses_the_watchlist(collect, http_server):
    def answer(handler):
        q = handler.path.split("q=", 1)[1]
        from urllib.parse import unquote

        name = unquote(q)
        items = f'<item><title>{name}相关报道</title><link>{http_server.url}/s/{q}</link></item>'
        return (
            200,
            {"Content-Type": "application/rss+xml; charset=utf-8"},
            f"<rss version='2.0'><channel>{items}</channel></rss>".encode(),
        )

    for name in ("张建国", "刘海燕", "赵明远", "市委组织部", "市人社局", "市交通运输局"):
        from urllib.parse import quote

        http_server.routes[f"/search?q={quote(name)}"] = answer
    run, h = await collect("search", "/search?q={query}", 'format = "rss"')
    assert run.error is None and run.fetched == 6
    assert "张建国相关报道" in titles(h)


async def test_malformed_xml_is_an_error_and_nothing_else_is_lost(collect, http_server):
    http_server.routes["/bad"] = (200, {"Content-Type": "application/xml"}, b"<rss><channel><<<<>>>")
    run, h = await collect("rss", "/bad")
    assert run.error and "无法解析" in run.error
    state = next(h.app.db.query("SELECT consecutive_failures, last_error FROM sources WHERE id='web'"))
    assert state["consecutive_failures"] == 1 and "feed not parseable" in state["last_error"]


async def test_empty_feed_is_fine(collect, http_server):
    http_server.routes["/empty"] = (
        200,
        {"Content-Type": "application/rss+xml"},
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>",
    )
    run, _h = await collect("rss", "/empty")
    assert run.error is None and run.fetched == 0


async def test_50_mb_body_is_refused_at_the_default_limit(collect, http_server):
    big = b"<rss>" + b"x" * (50 * 1024 * 1024) + b"</rss>"
    http_server.routes["/big"] = (200, {"Content-Type": "application/rss+xml"}, big)
    run, h = await collect("rss", "/big")
    assert run.error and "body too large" in run.error
    assert h.count("posts", "source_id='web'") == 0


async def test_body_without_length_is_cut_off_while_streaming(collect, http_server):
    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b"x" * 10_000)  # no Content-Length: the body ends when the connection closes

    http_server.routes["/stream"] = chunked
    run, _ = await collect("rss", "/stream", collection="max_bytes = 100000\n")
    assert run.error and "body too large" in run.error


async def test_slow_server_times_out(collect, http_server):
    def slow(handler):
        time.sleep(1.5)
        return 200, {}, b"<rss/>"

    http_server.routes["/slow"] = slow
    run, _ = await collect("rss", "/slow", collection="", timeout=0.3)
    assert run.error and "timed out" in run.error


async def test_500s_then_recovery(collect, http_server):
    calls = []

    def flaky(handler):
        calls.append(1)
        if len(calls) <= 2:
            return 500, {}, b"oops"
        return (
            200,
            {"Content-Type": "application/rss+xml; charset=utf-8"},
            RSS.format(enc="utf-8", base=http_server.url).encode(),
        )

    http_server.routes["/flaky"] = flaky
    run, _h = await collect("rss", "/flaky")
    assert run.error is None and run.new_posts == 2 and len(calls) == 3  # two retries with backoff


async def test_redirect_loop(collect, http_server):
    http_server.routes["/loop-a"] = (302, {"Location": "/loop-b"}, b"")
    http_server.routes["/loop-b"] = (302, {"Location": "/loop-a"}, b"")
    run, _ = await collect("rss", "/loop-a")
    assert run.error and "too many redirects" in run.error


async def test_conditional_get_304(collect, http_server):
    def etagged(handler):
        if handler.headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return (
            200,
            {"ETag": '"v1"', "Content-Type": "application/rss+xml; charset=utf-8"},
            RSS.format(enc="utf-8", base=http_server.url).encode(),
        )

    http_server.routes["/etag"] = etagged
    first, h = await collect("rss", "/etag")
    assert first.new_posts == 2
    second, _ = await collect("rss", "/etag", harness=h)
    assert second.not_modified and second.error is None and second.fetched == 0


async def test_robots_txt_disallow(collect, http_server):
    http_server.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")
    http_server.routes["/private/feed"] = (200, {}, RSS.format(enc="utf-8", base=http_server.url).encode())
    run, _h = await collect("rss", "/private/feed")
    assert run.error and "robots.txt" in run.error
    assert "/private/feed" not in http_server.hits


async def test_republished_old_items_with_new_guids_are_not_duplicated(collect, http_server):
    body = RSS.format(enc="utf-8", base=http_server.url)
    http_server.routes["/rep"] = (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, body.encode())
    first, h = await collect("rss", "/rep")
    http_server.routes["/rep"] = (
        200,
        {"Content-Type": "application/rss+xml; charset=utf-8"},
        body.replace("g1", "new-g1").replace("g2", "new-g2").replace("/t/1", "/t/1?utm_source=feed").encode(),
    )
    second, _ = await collect("rss", "/rep", harness=h)
    assert first.new_posts == 2 and second.new_posts == 0
    assert h.count("posts", "source_id='web'") == 2


async def test_repeated_failures_tell_the_admin_chat_and_back_off(collect, http_server):
    http_server.routes["/down"] = (404, {}, b"gone")
    run, h = await collect("rss", "/down")
    for _ in range(2):
        run, _ = await collect("rss", "/down", harness=h)
    out = await h.deliver()
    assert "⚠️ 来源「测试站点」连续 3 次抓取失败" in out and "【管理员】" in out
    skipped = await h.app.pipeline.run_source("web")
    assert skipped.skipped and "backing off" in skipped.skipped
    http_server.routes["/down"] = (
        200,
        {"Content-Type": "application/rss+xml; charset=utf-8"},
        RSS.format(enc="utf-8", base=http_server.url).encode(),
    )
    run, _ = await collect("rss", "/down", harness=h)
    assert run.error is None
    assert "✅ 来源「测试站点」已恢复" in await h.deliver()


def test_decode_body_never_fails():
    text, enc = decode_body("考生质疑".encode("gbk") + b"\xff\xfe\x80", "text/html; charset=gb2312")
    assert enc == "gb18030" and text.startswith("考生质疑")


def test_politeness_defaults_are_polite():
    p = Politeness()
    assert p.per_host == 1 and p.min_interval >= 1 and p.respect_robots


async def test_sources_command_shows_status(collect, http_server):
    http_server.routes["/down"] = (404, {}, b"gone")
    _run, h = await collect("rss", "/down")
    await h.app.pipeline.run_source("ycnews")
    reply = await h.say("liqiang", "/sources")
    assert "✅ 正常 云川新闻网（样例）" in reply
    assert "🟡 失败 1 次 测试站点" in reply and "最近错误：HTTP 404" in reply
    assert "无权使用 /sources" in await h.say("chenbuzhang", "/sources")


def test_scrape_once_prints_a_summary_table(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    args = ["scrape", "--once", "--db", str(tmp_path / "s.db")]
    env = {"YUQING_DATA_DIR": str(tmp_path / "data")}
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert (
        "forum" in first.stdout and "合计 total: 3 个来源 sources, 17 条新帖 new posts, 0 个错误 errors" in first.stdout
    )
    again = CliRunner().invoke(cli, [*args, "--source", "forum"], env=env)
    assert "合计 total: 1 个来源 sources, 0 条新帖 new posts" in again.stdout
    bad = CliRunner().invoke(cli, [*args, "--source", "nope"], env=env)
    assert bad.exit_code == 2 and "没有 id 为 'nope' 的来源" in bad.output


async def test_feed_ttl_is_honoured(collect, http_server):
    body = RSS.format(enc="utf-8", base=http_server.url).replace(
        "<title>云川论坛</title>", "<title>云川论坛</title><ttl>60</ttl>"
    )
    http_server.routes["/ttl"] = (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, body.encode())
    first, h = await collect("rss", "/ttl")
    assert first.new_posts == 2
    later = await h.app.pipeline.run_source("web")  # interval 5m < ttl 60m: not yet
    assert later.skipped and "ttl" in later.skipped


async def test_volume_far_below_the_sources_own_baseline_is_reported(make_app, clock):
    from core.clock import to_iso

    h = make_app()
    # two weeks of history: 10 posts a day from the forum
    for d in range(1, 15):
        for i in range(10):
            h.app.db.execute(
                "INSERT INTO posts (source_id, item_key, title, fetched_at) VALUES ('forum', ?, 't', ?)",
                [f"hist:{d}:{i}", to_iso(clock() - __import__("datetime").timedelta(days=d, hours=1))],
            )
    await h.app.pipeline.run_source("forum")  # today brings the 7 sample posts: a normal day
    assert "📉" not in await h.deliver()
    clock.advance(hours=25)  # a day in which the forum brought nothing
    h.app.pipeline._check_silence(h.app.config.source("forum"), clock())
    out = await h.deliver()
    assert "📉 来源「云川论坛（样例）」近 24 小时只有 0 条，平时日均 10 条" in out
    h.app.pipeline._check_silence(h.app.config.source("forum"), clock())
    assert "📉" not in await h.deliver()  # said once, not every run


def test_parse_time_reads_rfc_822_without_feedparser_internals():
    from datetime import UTC, datetime

    from jobs.collect import parse_time

    assert parse_time("Mon, 23 Nov 2026 08:12:00 GMT") == datetime(2026, 11, 23, 8, 12, tzinfo=UTC)
    assert parse_time("Mon, 23 Nov 2026 08:12:00 +0800") == datetime(2026, 11, 23, 0, 12, tzinfo=UTC)
    assert parse_time("not a time at all") is None


async def test_an_api_key_in_a_failing_sources_url_is_not_shown_in_chats(collect, http_server):
    """A JSON API or search source's URL often carries its key; a failure reason that quotes
    the URL (too many redirects, robots.txt) is shown in /sources and the admins' notice
    without it."""
    http_server.routes["/api?key=S3cretKey42&q=x"] = (302, {"Location": "/api?key=S3cretKey42&q=x"}, b"")
    run, h = await collect("rss", "/api?key=S3cretKey42&q=x")
    assert run.error and "too many redirects" in run.error
    assert "S3cretKey42" not in run.error
    stored = h.app.db.execute("SELECT last_error FROM sources WHERE id = 'web'").fetchone()[0]
    assert stored and "S3cretKey42" not in stored
