"""Defects found by running other feed readers' test feeds (mmcdole/gofeed testdata, miniflux/v2
internal/reader tests) through the collector: `bench/feed_corpus_others.py`. Each test is a
minimal feed of the same class, written here, served on 127.0.0.1 to an `rss` source."""

from __future__ import annotations

import json

from tests.test_collect import collect, titles  # noqa: F401 - fixture

XML = {"Content-Type": "application/xml"}


def rss(items: str) -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def posts(h) -> list[dict]:
    return list(h.app.db.query("SELECT title, text, url, published_at FROM posts WHERE source_id='web' ORDER BY id"))


async def test_a_plain_text_title_keeps_what_is_in_angle_brackets(collect, http_server):
    # miniflux TestParseItemTitleWithHTMLEntity: <title>&lt;/example&gt;</title> is the text
    # "</example>"; it was read as a tag and dropped, and the item (nothing else left) with it.
    # '关于印发<云川市…办法>的通知' lost the document's name the same way.
    body = rss(
        "<item><title>关于印发&lt;云川市网络舆情管理办法&gt;的通知</title><link>https://gov.example/a/1</link></item>"
        "<item><title>&lt;/example&gt;</title><link>https://gov.example/a/2</link></item>"
        "<item><title>vector&lt;int&gt; 与 AT&amp;T</title><link>https://gov.example/a/3</link></item>"
        # a title that is HTML (a tag feedparser knows) is still read as text without its tags
        "<item><title>&lt;b&gt;通报&lt;/b&gt; 青石镇</title><link>https://gov.example/a/4</link></item>"
    )
    http_server.routes["/f"] = (200, XML, body)
    run, h = await collect("rss", "/f")
    assert run.error is None
    assert sorted(titles(h)) == sorted(
        ["关于印发<云川市网络舆情管理办法>的通知", "</example>", "vector<int> 与 AT&T", "通报 青石镇"]
    )


async def test_a_plain_text_atom_summary_keeps_angle_brackets(collect, http_server):
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title type="text">公告</title>'
        '<link href="https://gov.example/b/1"/><summary type="text">依据&lt;条例&gt;第三条</summary></entry></feed>'
    ).encode()
    http_server.routes["/a"] = (200, XML, body)
    run, h = await collect("rss", "/a")
    assert run.error is None
    assert [p["text"] for p in posts(h)] == ["依据<条例>第三条"]


async def test_bare_ampersands_in_links_are_not_read_as_entities(collect, http_server):
    # gofeed issue_320 / issue_305: a bare '&' makes the feed not well-formed, and feedparser's
    # lenient reading took '&lang=zh' for '〈=zh', '&currentPage' for '¤tPage' (HTML's
    # entities that need no semicolon): the link pointed nowhere.
    query = "id=7&currentPage=2&lang=zh&para=3&sect=4&not=5&times=6&reg=7&copy=8&amp=9"
    body = rss(
        f"<item><title>通知 & 公告</title><link>https://gov.example/list.jsp?{query}</link>"
        f"<description>详见 https://gov.example/d?{query} &amp; 附件 &#x4e2d; &lt;表&gt;</description></item>"
        # CDATA is literal: an '&amp;' in it stays as written, for the title's reader to see
        "<item><title><![CDATA[R&D 与 &amp; 之间]]></title><link>https://gov.example/e?a=1&amp;b=2</link></item>"
    )
    http_server.routes["/d"] = (200, XML, body)
    run, h = await collect("rss", "/d")
    assert run.error is None
    got = {p["title"]: p for p in posts(h)}
    assert got["通知 & 公告"]["url"] == f"https://gov.example/list.jsp?{query}"
    assert "& 附件 中" in got["通知 & 公告"]["text"]
    assert got["R&D 与 & 之间"]["url"] == "https://gov.example/e?a=1&b=2"


async def test_items_sharing_one_guid_and_no_link_are_each_stored(collect, http_server):
    # miniflux TestParseEntriesWithDuplicateGUIDAndNoLink: a CMS that gives every item the same
    # guid (and no link) had its first item stored and every other one, ever after, taken for it.
    body = rss("".join(f"<item><title>第{i}号通报</title><guid isPermaLink='false'>0</guid></item>" for i in (2, 1, 0)))
    http_server.routes["/g"] = (200, XML, body)
    run, h = await collect("rss", "/g")
    assert run.error is None
    assert sorted(titles(h)) == ["第0号通报", "第1号通报", "第2号通报"]
    # the next run, with a new item (newest first) under the same guid, stores that one too
    http_server.routes["/g"] = (
        200,
        XML,
        rss(
            "".join(f"<item><title>第{i}号通报</title><guid isPermaLink='false'>0</guid></item>" for i in (3, 2, 1, 0))
        ),
    )
    run, h = await collect("rss", "/g", harness=h)
    assert run.error is None and run.new_posts == 1
    assert "第3号通报" in titles(h)


async def test_items_of_different_titles_sharing_one_link_are_each_stored(collect, http_server):
    # the same class with the link: every item linking to the site's home page
    body = rss(
        "".join(
            f"<item><title>第{i}号通报</title><link>https://gov.example/</link><guid>https://gov.example/</guid></item>"
            for i in range(3)
        )
        # the same story twice in one document is still one post
        + "<item><title>重复</title><link>https://gov.example/x/1</link></item>" * 2
    )
    http_server.routes["/l"] = (200, XML, body)
    run, h = await collect("rss", "/l")
    assert run.error is None
    assert sorted(titles(h)) == ["第0号通报", "第1号通报", "第2号通报", "重复"]
    assert {p["url"] for p in posts(h)} == {"https://gov.example/", "https://gov.example/x/1"}


def _home_items(numbers) -> bytes:
    return rss("".join(f"<item><title>第{i}号通报</title><link>https://gov.example/</link></item>" for i in numbers))


async def test_a_feed_rolling_on_with_one_shared_link_stores_each_item_once(collect, http_server):
    # Newest first, every item linking to the home page: the oldest item holds the link's key,
    # so a new item is stored, and when the oldest leaves the feed the next one (already stored
    # under its title) is not stored again as the link's new holder. A feed of one such item
    # at first is the same.
    http_server.routes["/r"] = (200, XML, _home_items([1]))
    run, h = await collect("rss", "/r")
    assert run.new_posts == 1
    for numbers, new in (([2, 1], 1), ([3, 2, 1], 1), ([4, 3, 2], 1), ([4, 3], 0), ([5, 4], 1)):
        http_server.routes["/r"] = (200, XML, _home_items(numbers))
        run, h = await collect("rss", "/r", harness=h)
        assert run.error is None and run.new_posts == new, (numbers, run)
    assert sorted(titles(h)) == [f"第{i}号通报" for i in range(1, 6)]


async def test_inline_markup_inside_words_leaves_no_space(collect, http_server):
    # miniflux TestParseEntryWithoutTitleButWithXHTMLContent: 'AT&T bought <b>by SBC</b>!' was
    # stored as 'AT&T bought by SBC !'; in Chinese '会议<b>要求</b>' became '会议 要求', which a
    # watch-list term spanning the tag ('会议要求') no longer matched.
    body = rss(
        "<item><title>青石镇&lt;em&gt;干部&lt;/em&gt;通报</title><link>https://gov.example/i/1</link>"
        "<description>会议&lt;b&gt;要求&lt;/b&gt;各村落实，详见&lt;a href='/x'&gt;通知&lt;/a&gt;。"
        "&lt;p&gt;第二段&lt;/p&gt;&lt;p&gt;第三段&lt;/p&gt;</description></item>"
    )
    http_server.routes["/i"] = (200, XML, body)
    run, h = await collect("rss", "/i")
    assert run.error is None
    assert [(p["title"], p["text"]) for p in posts(h)] == [
        ("青石镇干部通报", "会议要求各村落实，详见通知。 第二段 第三段")
    ]


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "云川发布",
    "home_page_url": "https://news.example/",
    "items": [
        {
            "id": "1",
            "title": "青石镇召开防汛会议",
            "url": "https://news.example/a/1",
            "content_html": "<p>会议<b>要求</b>各村落实责任。</p>",
            "date_published": "2026-11-20T08:00:00+08:00",
        },
        {"id": "2", "content_text": "没有标题的一条：市民反映路灯不亮。", "url": "/a/2"},
        {"id": "3", "title": "外链", "external_url": "https://other.example/z", "summary": "摘要"},
        {"id": "4", "title": "  ", "content_html": "<img src='x.png'>"},
    ],
}


async def test_a_json_feed_at_an_rss_source_is_read(collect, http_server):
    # gofeed testdata/parser/json, miniflux internal/reader/json: a JSON Feed (jsonfeed.org 1.0,
    # 1.1) at an rss source failed as '无法解析订阅源 / feed not parseable: not well-formed'.
    http_server.routes["/feed.json"] = (
        200,
        {"Content-Type": "application/feed+json"},
        json.dumps(JSON_FEED, ensure_ascii=False).encode(),
    )
    run, h = await collect("rss", "/feed.json")
    assert run.error is None, run.error
    got = {p["title"]: p for p in posts(h)}
    assert set(got) == {"青石镇召开防汛会议", "没有标题的一条：市民反映路灯不亮。", "外链"}
    first = got["青石镇召开防汛会议"]
    assert first["url"] == "https://news.example/a/1" and first["text"] == "会议要求各村落实责任。"
    assert first["published_at"].startswith("2026-11-20T00:00:00")
    assert got["没有标题的一条：市民反映路灯不亮。"]["url"] == http_server.url + "/a/2"
    assert got["外链"]["url"] == "https://other.example/z" and got["外链"]["text"] == "摘要"


async def test_json_that_is_not_a_json_feed_at_an_rss_source_says_so_in_chinese(collect, http_server):
    http_server.routes["/api"] = (200, {"Content-Type": "application/json"}, b'{"data": {"list": []}}')
    run, _h = await collect("rss", "/api")
    assert run.error is not None
    assert "JSON" in run.error and 'kind = "json"' in run.error, run.error
    assert "not well-formed" not in run.error


async def test_an_atom_entry_whose_only_link_is_a_document_keeps_it(collect, http_server):
    # NetNewsWire's pappacoda.atom: an entry whose alternate link is a PDF (type="application/pdf")
    # was stored without a link (feedparser takes only an HTML alternate as the entry's link, and
    # falls back to the id, a tag: URN).
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><id>tag:gov.example,2026:1</id><title>关于征求意见的通知</title>"
        '<link rel="alternate" type="application/pdf" href="/files/notice.pdf"/></entry>'
        "<entry><id>tag:gov.example,2026:2</id><title>政策解读</title>"
        '<link rel="enclosure" type="audio/mpeg" href="https://gov.example/a.mp3"/>'
        '<link rel="alternate" type="application/msword" href="https://gov.example/files/b.doc"/></entry>'
        "</feed>"
    ).encode()
    http_server.routes["/pdf"] = (200, XML, body)
    run, h = await collect("rss", "/pdf")
    assert run.error is None
    assert {p["title"]: p["url"] for p in posts(h)} == {
        "关于征求意见的通知": http_server.url + "/files/notice.pdf",
        "政策解读": "https://gov.example/files/b.doc",
    }


async def test_json_feed_titles_with_html_entities_are_read(collect, http_server):
    # NetNewsWire's pxlnv.json, rose.json: WordPress writes JSON Feed titles with HTML entities
    # ('&#8216;Jokes&#8217;', 'Hitchhiker&#039;s') although they are plain text; they were stored
    # as written. A title that names tags ('<i> und <b>') keeps them: it is text.
    feed = {
        "version": "https://jsonfeed.org/version/1",
        "items": [
            {"id": "1", "title": "市政府&#8216;放管服&#8217;改革 &amp; 成效", "url": "https://news.example/j/1"},
            {"id": "2", "title": "HTML 里的 <i> 和 <b>", "url": "https://news.example/j/2"},
        ],
    }
    http_server.routes["/j"] = (200, {"Content-Type": "application/json"}, json.dumps(feed).encode())
    run, h = await collect("rss", "/j")
    assert run.error is None
    assert sorted(titles(h)) == sorted(["市政府‘放管服’改革 & 成效", "HTML 里的 <i> 和 <b>"])


async def test_a_json_feed_known_by_its_fields_not_its_version_url_is_read(collect, http_server):
    # gofeed testdata/parser/json/version_json_10.json, version_json_11.json: '"version": "1.1"'
    # (not the spec's URL) with home_page_url/feed_url was refused as "JSON, not a feed"; and a
    # JSON Feed without items is an empty feed, not a failure.
    feed = {
        "version": "1.1",
        "title": "云川发布",
        "feed_url": "https://news.example/feed.json",
        "items": [{"id": "1", "title": "青石镇通报", "url": "https://news.example/v/1"}],
    }
    http_server.routes["/v"] = (200, {"Content-Type": "application/json"}, json.dumps(feed).encode())
    run, h = await collect("rss", "/v")
    assert run.error is None, run.error
    assert titles(h) == ["青石镇通报"]
    http_server.routes["/v"] = (
        200,
        {"Content-Type": "application/feed+json"},
        b'{"version": "https://jsonfeed.org/version/1", "title": "Example"}',
    )
    run, h = await collect("rss", "/v", harness=h)
    assert run.error is None, run.error
    assert run.fetched == 0 and titles(h) == ["青石镇通报"]
    # gofeed json10_simple.json: "version": "1.0" and items with content_text, nothing else
    http_server.routes["/v"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"version": "1.0", "items": [{"content_text": "市民反映路灯不亮"}]}).encode(),
    )
    run, h = await collect("rss", "/v", harness=h)
    assert run.error is None, run.error
    assert titles(h) == ["青石镇通报", "市民反映路灯不亮"]


async def test_a_dated_feed_listing_the_oldest_first_with_one_shared_link_stores_new_items(collect, http_server):
    # with publication times the oldest item holds the link whatever the order of the document
    def doc(numbers) -> bytes:
        return rss(
            "".join(
                f"<item><title>第{i}号通报</title><link>https://gov.example/</link>"
                f"<pubDate>Mon, {10 + i} Nov 2026 08:00:00 +0800</pubDate></item>"
                for i in numbers
            )
        )

    http_server.routes["/o"] = (200, XML, doc([1]))
    run, h = await collect("rss", "/o")
    for numbers, new in (([1, 2], 1), ([1, 2, 3], 1), ([2, 3], 0)):
        http_server.routes["/o"] = (200, XML, doc(numbers))
        run, h = await collect("rss", "/o", harness=h)
        assert run.error is None and run.new_posts == new, (numbers, run)
    assert sorted(titles(h)) == ["第1号通报", "第2号通报", "第3号通报"]
