"""Outside QA, html / json / search sources against hostile or changed pages, served over real
HTTP on 127.0.0.1: bad input is that source's clear Chinese failure (its health names the
selector or path), never a silent empty run, never garbage stored as a post, and never costs
what is already stored."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import httpx
import pytest

from core.clock import from_iso
from tests.test_qa_collect import _config as qa_collect_config

SEL = 'selectors = { item = "li.t", title = "a.title", link = "a.title", time = ".time" }'
FIELDS = 'fields = { items = "data.list", title = "title", link = "url", text = "summary", time = "ts" }'


def _config(config_dir, kind: str, url: str, extra: str = ""):
    return qa_collect_config(config_dir, kind, url, extra, collection="respect_robots = false\n")


@pytest.fixture
def collect(make_app, config_dir, http_server):
    """Serve `body` at /page (unless None: the test set its own routes), run the `web` source
    once (forced); returns (run, harness)."""

    async def go(kind, body, extra="", *, content_type="text/html", path="/page", harness=None):
        if body is not None:
            http_server.routes["/page"] = (200, {"Content-Type": content_type}, body)
        h = harness or make_app(_config(config_dir, kind, http_server.url + path, extra))
        h.app.attach_http(httpx.AsyncClient(timeout=5.0))
        started = time.monotonic()
        try:
            run = await h.app.pipeline.run_source("web", force=True)
        finally:
            h.took = time.monotonic() - started  # the run alone, not the app's start-up
            await h.app.client.aclose()
        return run, h

    return go


def rows(h) -> list[dict]:
    return list(h.app.db.query("SELECT title, url, published_at FROM posts WHERE source_id = 'web' ORDER BY id"))


def health(h) -> dict:
    return next(h.app.db.query("SELECT consecutive_failures, last_error FROM sources WHERE id = 'web'"))


def page(items: str, head: str = "") -> str:
    return f"<html><head>{head}<title>云川论坛</title></head><body><ul>{items}</ul></body></html>"


def li(title: str, href: str, when: str = "2026-11-23 21:47") -> str:
    return f'<li class="t"><a class="title" href="{href}">{title}</a><span class="time">{when}</span></li>'


# ------------------------------------------------------------------------------------- html


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        ('<meta charset="utf-8">', "text/html"),  # the page says UTF-8, the bytes are GBK
        ("", "text/html"),  # nothing says anything
        ('<meta http-equiv="Content-Type" content="text/html; charset=big5">', "text/html; charset=utf-8"),
    ],
)
async def test_gbk_and_gb18030_pages_with_a_wrong_or_missing_charset_read_right(collect, head, content_type):
    titles = ["事业单位招聘面试成绩有猫腻？考生质疑有内定", "青石镇㐀䶵村民反映修路款去向"]  # GB18030-only hanzi
    body = page(li(titles[0], "/1.html") + li(titles[1], "/2.html"), head).encode("gb18030")
    run, h = await collect("html", body, SEL, content_type=content_type)
    assert run.error is None, run.error
    assert [r["title"] for r in rows(h)] == titles


async def test_a_selector_matching_nothing_is_reported_naming_it_and_keeps_what_was_stored(collect, http_server):
    run, h = await collect("html", page(li("云川羊肉汤节开幕", "/1.html")).encode(), SEL)
    assert run.error is None and run.new_posts == 1
    # the site changes its layout: li.t is gone
    http_server.routes["/page"] = (200, {"Content-Type": "text/html"}, b'<div class="news"><a href="/2">x</a></div>')
    run, h = await collect("html", None, SEL, harness=h)
    assert run.error and "li.t" in run.error and "没有匹配" in run.error
    assert health(h)["consecutive_failures"] == 1 and "li.t" in health(h)["last_error"]
    assert [r["title"] for r in rows(h)] == ["云川羊肉汤节开幕"]


async def test_items_whose_title_selector_finds_no_text_are_reported(collect):
    items = (
        '<li class="t"><a class="title" href="/1">  \u3000&nbsp; </a></li>'
        '<li class="t"><a class="title" href="/2"><script>var t="标题";</script><style>.a{}</style></a></li>'
        '<li class="t"><span>没有标题链接</span></li>'
    )
    run, h = await collect("html", page(items).encode(), SEL)
    assert run.error and "a.title" in run.error and "3" in run.error
    assert rows(h) == []


async def test_relative_links_follow_base_href(collect, http_server):
    head = '<base href="http://news.example/2026/">'
    body = page(li("青石镇通报", "a/1.html") + li("南湖区通报", "/b/2.html"), head).encode()
    http_server.routes["/dir/list"] = (200, {"Content-Type": "text/html"}, body)
    run, h = await collect("html", None, SEL, path="/dir/list")
    assert run.error is None
    assert [r["url"] for r in rows(h)] == ["http://news.example/2026/a/1.html", "http://news.example/b/2.html"]
    # without <base>: against the page's own URL
    http_server.routes["/dir/list"] = (200, {"Content-Type": "text/html"}, page(li("北岸区通报", "c/3.html")).encode())
    run, h = await collect("html", None, SEL, harness=h)
    assert rows(h)[-1]["url"] == http_server.url + "/dir/c/3.html"


async def test_javascript_data_and_mailto_links_are_dropped_and_the_posts_kept(collect):
    items = (
        li("甲通报", "javascript:alert(1)") + li("乙通报", "data:text/html,<b>x</b>") + li("丙通报", "mailto:a@b.cn")
    )
    run, h = await collect("html", page(items).encode(), SEL)
    assert run.error is None and run.new_posts == 3
    assert [r["url"] for r in rows(h)] == [None, None, None]


async def test_the_same_article_twice_on_a_page_is_one_post_and_navigation_links_are_not_posts(collect, http_server):
    # the layout changed: the item selector now also matches the navigation bar
    items = (
        li("首页", "/")
        + li("本版", "/page")
        + li("青石镇村民反映修路款去向", "/t/1.html")
        + li("青石镇村民反映修路款去向", "/t/1.html?utm_source=top")
        + li("首页", http_server.url + "/")
    )
    run, h = await collect("html", page(items).encode(), SEL)
    assert run.error is None
    assert [r["title"] for r in rows(h)] == ["青石镇村民反映修路款去向"]


async def test_pager_and_section_links_the_selector_matches_are_not_posts(collect):
    items = (
        li("新闻中心", "/news/")
        + li("通知公告", "/list/tzgg/")
        + li("下一页", "/list?page=2")
        + li("更多>>", "/more.html")
        + li("2", "/list.html?page=2")
        + li("青石镇村民反映修路款去向", "/t/1.html")
        + li("南湖区通报3起违规吃喝问题", "/news/2026/")  # a long title is an article even on a folder link
    )
    run, h = await collect("html", page(items).encode(), SEL)
    assert run.error is None
    assert [r["title"] for r in rows(h)] == ["青石镇村民反映修路款去向", "南湖区通报3起违规吃喝问题"]


async def test_a_deeply_nested_page_fails_fast_and_clearly(collect):
    body = ("<div>" * 200_000 + page(li("深处的标题", "/1.html"))).encode()
    run, h = await collect("html", body, SEL)
    assert h.took < 2
    assert run.error and "嵌套" in run.error and rows(h) == []


async def test_a_truncated_page_keeps_what_it_has(collect):
    body = (
        page(li("青石镇通报", "/1.html") + li("南湖区通报", "/2.html"))[:-40].encode() + b'<li class="t"><a class="ti'
    )
    run, h = await collect("html", body, SEL)
    assert run.error is None and [r["title"] for r in rows(h)] == ["青石镇通报", "南湖区通报"]


async def test_a_20_mb_page_is_cut_off_at_the_size_limit(collect, http_server):
    sent = []

    def huge(handler):  # no Content-Length: the body has to be cut off while it streams
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = page(li("标题", "/1.html")).encode() * 400
        try:
            while sum(sent) < 20 * 2**20:
                handler.wfile.write(chunk)
                sent.append(len(chunk))
        except OSError:
            pass
        handler.close_connection = True

    http_server.routes["/page"] = huge
    run, h = await collect("html", None, SEL)
    assert run.error and "内容过大" in run.error and rows(h) == []
    assert sum(sent) < 20 * 2**20


@pytest.mark.parametrize(
    "body",
    [
        "<html><head><title>访问受限</title></head><body>您的访问过于频繁，请输入验证码</body></html>",
        "<html><head><title>安全验证</title></head><body><div id=captcha>请拖动滑块完成验证</div></body></html>",
    ],
)
async def test_an_anti_bot_page_is_reported_as_such(collect, body):
    run, _h = await collect("html", body.encode(), SEL)
    assert run.error and "验证" in run.error and "li.t" not in run.error


# ------------------------------------------------------------------------------------- json


def _json(items) -> bytes:
    return json.dumps({"data": {"list": items}}, ensure_ascii=False).encode()


async def test_an_html_error_page_served_as_json_says_so(collect):
    body = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    run, _h = await collect("json", body, FIELDS, content_type="application/json")
    assert run.error and "网页" in run.error and "502 Bad Gateway" in run.error


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: b"\xef\xbb\xbf" + s,  # a UTF-8 BOM
        lambda s: b"jQuery1710_2({0});".replace(b"{0}", s),  # JSONP
        lambda s: b"/**/ cb_01 ( " + s + b" )\n",
    ],
)
async def test_json_with_a_bom_or_as_jsonp_is_read(collect, wrap):
    run, h = await collect(
        "json", wrap(_json([{"title": "青石镇通报", "url": "/1"}])), FIELDS, content_type="text/plain"
    )
    assert run.error is None, run.error
    assert [r["title"] for r in rows(h)] == ["青石镇通报"]


async def test_nan_and_infinity_are_never_titles(collect):
    body = b'{"data": {"list": [{"title": NaN, "url": "/1"}, {"title": Infinity}, {"title": 1e999}, {"title": "\xe7\x94\xb2"}]}}'
    run, h = await collect("json", body, FIELDS, content_type="application/json")
    assert run.error is None
    assert [r["title"] for r in rows(h)] == ["甲"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"data": {"list": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "嵌套"),
        (b'{"data": {"list": [{"title": "x", "ts": ' + b"9" * 5000 + b"}]}}", "JSON"),
    ],
)
async def test_hostile_json_is_a_clear_failure(collect, body, words):
    run, _h = await collect("json", body, FIELDS, content_type="application/json")
    assert run.error and words in run.error and "读取失败" not in run.error


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([["青石镇通报"], ["南湖区通报"]], "title"),  # lists where objects were expected
        ([{"headline": "青石镇通报"}, {"headline": "南湖区通报"}], "title"),  # the title path is not there
        ([{"title": None}, {"title": {"zh": "甲"}}], "title"),  # nulls and objects
    ],
)
async def test_items_without_a_title_at_the_path_are_reported(collect, items, words):
    run, h = await collect("json", _json(items), FIELDS, content_type="application/json")
    assert run.error and words in run.error and "data.list" in run.error
    assert rows(h) == []


async def test_an_empty_json_list_is_no_failure(collect):
    run, h = await collect("json", _json([]), FIELDS, content_type="application/json")
    assert run.error is None and rows(h) == []


async def test_chinese_and_relative_times_are_read_against_the_fetch_time(collect, clock):
    now = clock()  # the tests' fixed "now"
    local = now.astimezone(from_iso("2026-01-01T00:00:00+08:00").tzinfo)
    items = [
        {"title": "中文日期", "ts": "2026年11月22日 10:30"},
        {"title": "三分钟前", "ts": "3分钟前"},
        {"title": "两小时前", "ts": "2小时前"},
        {"title": "刚刚", "ts": "刚刚"},
        {"title": "昨天", "ts": "昨天 10:30"},
        {"title": "前天", "ts": "前天 08:05"},
        {"title": "今天", "ts": "今天 00:01"},
        {"title": "无年份", "ts": "11-20 09:15"},
        {"title": "秒", "ts": 1795400000},
        {"title": "毫秒字符串", "ts": "1795400000000"},
        {"title": "ISO", "ts": "2026-11-22T10:30:00Z"},
    ]
    run, h = await collect("json", _json(items), FIELDS, content_type="application/json")
    assert run.error is None
    got = {r["title"]: from_iso(r["published_at"]) if r["published_at"] else None for r in rows(h)}
    tz = local.tzinfo
    day = local.date()
    assert got["中文日期"] == datetime(2026, 11, 22, 10, 30, tzinfo=tz)
    assert got["三分钟前"] == now - timedelta(minutes=3)
    assert got["两小时前"] == now - timedelta(hours=2)
    assert got["刚刚"] == now
    assert got["昨天"] == datetime.combine(day - timedelta(days=1), datetime.min.time(), tz).replace(hour=10, minute=30)
    assert got["前天"] == datetime.combine(day - timedelta(days=2), datetime.min.time(), tz).replace(hour=8, minute=5)
    assert got["今天"] == datetime.combine(day, datetime.min.time(), tz).replace(minute=1)
    assert got["无年份"] == datetime(day.year, 11, 20, 9, 15, tzinfo=tz)
    assert got["秒"] == got["毫秒字符串"] == datetime.fromtimestamp(1795400000, UTC)
    assert got["ISO"] == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


async def test_duplicate_ids_are_one_post(collect):
    items = [
        {"id": 7, "title": "青石镇通报"},
        {"id": 7, "title": "青石镇通报（更新）"},
        {"id": "8", "title": "南湖区通报"},
    ]
    run, h = await collect("json", _json(items), FIELDS, content_type="application/json")
    assert run.error is None
    assert [r["title"] for r in rows(h)] == ["青石镇通报", "南湖区通报"]


async def test_gbk_json_is_read(collect):
    body = json.dumps({"data": {"list": [{"title": "青石镇干部吃拿卡要"}]}}, ensure_ascii=False).encode("gbk")
    run, h = await collect("json", body, FIELDS, content_type="application/json")
    assert run.error is None and [r["title"] for r in rows(h)] == ["青石镇干部吃拿卡要"]


# ----------------------------------------------------------------------------------- search


def _search_extra(queries: list[str]) -> str:
    return 'format = "html"\n' + SEL + "\nqueries = " + json.dumps(queries, ensure_ascii=False)


async def test_a_query_is_encoded_as_one_query_value(collect, http_server):
    seen = []

    def answer(handler):
        q = handler.path.split("q=", 1)[1].split("&sort=", 1)[0]
        seen.append(unquote(q))
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page(li(unquote(q) + " 的报道", "/r/1")).encode()

    query = "张建国 公车/私用 a+b & c=d #1"
    http_server.routes["/s?q=" + quote(query, safe="") + "&sort=time"] = answer
    run, _h = await collect("search", None, _search_extra([query]), path="/s?q={query}&sort=time")
    assert run.error is None, run.error
    assert seen == [query]


async def test_a_captcha_result_page_is_reported_not_read_as_results(collect, http_server):
    http_server.routes["/s?q=%E5%BC%A0%E5%BB%BA%E5%9B%BD"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        "<html><head><title>百度安全验证</title></head><body>请完成下方验证后继续操作</body></html>".encode(),
    )
    run, h = await collect("search", None, _search_extra(["张建国"]), path="/s?q={query}")
    assert run.error and "张建国" in run.error and "验证" in run.error
    assert rows(h) == []


async def test_zero_results_and_the_same_result_for_two_queries(collect, http_server):
    both = page(li("张建国与市人社局联合通报", "/r/1.html"))
    http_server.routes["/s?q=%E5%BC%A0%E5%BB%BA%E5%9B%BD"] = (200, {"Content-Type": "text/html"}, both.encode())
    http_server.routes["/s?q=%E5%B8%82%E4%BA%BA%E7%A4%BE%E5%B1%80"] = (
        200,
        {"Content-Type": "text/html"},
        both.encode(),
    )
    http_server.routes["/s?q=%E8%B5%B5%E6%98%8E%E8%BF%9C"] = (
        200,
        {"Content-Type": "text/html"},
        "<html><body><p>抱歉，没有找到相关结果</p></body></html>".encode(),
    )
    run, h = await collect("search", None, _search_extra(["张建国", "市人社局", "赵明远"]), path="/s?q={query}")
    assert run.error is None, run.error
    assert [r["title"] for r in rows(h)] == ["张建国与市人社局联合通报"]


async def test_one_failing_query_costs_only_its_own_results(collect, http_server):
    # the site refuses one word (500) and asks for a captcha on another; the third is read: its
    # results are stored, the source is not failing, and /sources names what failed
    http_server.routes["/s?q=%E5%BC%A0%E5%BB%BA%E5%9B%BD"] = (500, {}, b"oops")
    http_server.routes["/s?q=%E8%B5%B5%E6%98%8E%E8%BF%9C"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        "<html><head><title>百度安全验证</title></head><body>请完成下方验证</body></html>".encode(),
    )
    good = page(li("市人社局通报招聘问题", "/r/2.html"))
    http_server.routes["/s?q=%E5%B8%82%E4%BA%BA%E7%A4%BE%E5%B1%80"] = (
        200,
        {"Content-Type": "text/html"},
        good.encode(),
    )
    queries = _search_extra(["张建国", "市人社局", "赵明远"])
    run, h = await collect("search", None, queries, path="/s?q={query}")
    assert run.error is None, run.error
    assert [r["title"] for r in rows(h)] == ["市人社局通报招聘问题"]
    state = next(h.app.db.query("SELECT consecutive_failures, last_error, last_warning FROM sources WHERE id = 'web'"))
    assert state["consecutive_failures"] == 0 and state["last_error"] is None
    assert "3 个关键词中 2 个失败" in state["last_warning"] and "张建国" in state["last_warning"]
    reply = await h.say("wangmin", "/sources")
    line = next(x for x in reply.splitlines() if "测试站点" in x)
    assert line.startswith("✅") and "⚠️ 3 个关键词中 2 个失败，其余已抓取" in reply
    # the site answers every word again: the warning goes with the next full run
    http_server.routes["/s?q=%E5%BC%A0%E5%BB%BA%E5%9B%BD"] = (200, {"Content-Type": "text/html"}, good.encode())
    http_server.routes["/s?q=%E8%B5%B5%E6%98%8E%E8%BF%9C"] = (200, {"Content-Type": "text/html"}, good.encode())
    run, h = await collect("search", None, queries, path="/s?q={query}", harness=h)
    assert run.error is None and "⚠️" not in await h.say("wangmin", "/sources")


async def test_every_query_failing_is_a_failure_of_the_source(collect, http_server):
    for q in ("%E5%BC%A0%E5%BB%BA%E5%9B%BD", "%E5%B8%82%E4%BA%BA%E7%A4%BE%E5%B1%80"):
        http_server.routes["/s?q=" + q] = (503, {}, b"busy")
    run, h = await collect("search", None, _search_extra(["张建国", "市人社局"]), path="/s?q={query}")
    assert run.error and "张建国" in run.error and "2 个关键词均失败" in run.error
    assert health(h)["consecutive_failures"] == 1


async def test_a_page_listing_thousands_is_read_newest_first_up_to_max_items(make_app, config_dir, http_server):
    # an archive page listing 60 articles (a real one: thousands): each new html item costs a
    # detail-page request in the host's lane; one run reads the newest `max_items` only, says
    # so in /sources, and fetches only their detail pages
    items = "".join(
        li(f"青石镇通报第{k}号", f"/d/{k}.html", f"2026-11-{1 + k % 25:02d} {k % 24:02d}:{k % 60:02d}")
        for k in [*range(0, 60, 2), *range(1, 60, 2)]  # not in time order on the page
    )
    http_server.routes["/page"] = (200, {"Content-Type": "text/html"}, page(items).encode())
    for k in range(60):
        http_server.routes[f"/d/{k}.html"] = (
            200,
            {"Content-Type": "text/html"},
            f"<div class='post'>正文{k}</div>".encode(),
        )
    extra = 'selectors = { item = "li.t", title = "a.title", link = "a.title", time = ".time", body = "div.post" }'
    cfg = qa_collect_config(
        config_dir, "html", http_server.url + "/page", extra, collection="respect_robots = false\nmax_items = 10\n"
    )
    h = make_app(cfg)
    h.app.attach_http(httpx.AsyncClient(timeout=5.0))
    try:
        run = await h.app.pipeline.run_source("web", force=True)
    finally:
        await h.app.client.aclose()
    assert run.error is None and run.fetched == 10
    newest = sorted(range(60), key=lambda k: (1 + k % 25, k % 24, k % 60), reverse=True)[:10]
    assert sorted(r["title"] for r in rows(h)) == sorted(f"青石镇通报第{k}号" for k in newest)
    assert sum(1 for path in http_server.hits if str(path).startswith("/d/")) <= 10
    assert "⚠️ 本次共 60 条，只读取最新的 10 条" in await h.say("wangmin", "/sources")


def test_max_items_is_bounded_in_the_config(config_dir):
    with pytest.raises(Exception, match="max_items"):
        qa_collect_config(config_dir, "html", "http://127.0.0.1:1/page", "", collection="max_items = 1\n")


@pytest.mark.timeout(20)  # unguarded, lexbor takes minutes over this page (quadratic in depth)
async def test_a_deeply_nested_detail_page_keeps_the_lists_text(collect, http_server):
    extra = 'selectors = { item = "li.t", title = "a.title", link = "a.title", time = ".time", body = "div.post" }'
    http_server.routes["/d/1.html"] = (
        200,
        {"Content-Type": "text/html"},
        ("<div>" * 200_000 + '<div class="post">正文</div>').encode(),
    )
    run, h = await collect("html", page(li("青石镇通报", "/d/1.html")).encode(), extra)
    assert run.error is None and [r["title"] for r in rows(h)] == ["青石镇通报"]
    assert h.app.db.execute("SELECT text FROM posts WHERE source_id = 'web'").fetchone()[0] == ""
