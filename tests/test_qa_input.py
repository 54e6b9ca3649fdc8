"""Outside-QA with hostile input: JSON API answers whose fields have unexpected types."""

from __future__ import annotations

import json

import pytest

from tests.test_collect import collect, source_config  # noqa: F401  (the fixture)
from tests.test_telegram import GROUP, tg, top  # noqa: F401  (the fixture)

FIELDS = (
    'fields = { items = "data.list", title = "title", link = "link", text = "summary", time = "ts", '
    'replies = "stats.comments", views = "stats.reads", reposts = "stats.shares" }'
)


async def test_json_fields_of_unexpected_types_are_missing_not_their_repr(collect, http_server):
    items = [
        # an object or a list where text is expected: no title, so no post
        {"id": 1, "title": {"zh": "标题"}, "link": "/a/1"},
        {"id": 2, "title": ["公车", "私用"], "link": "/a/2"},
        {"id": 3, "title": True, "link": "/a/3"},
        # a good title with odd other fields: kept, the odd fields read as missing
        {
            "id": {"x": 1},
            "title": "青石镇干部吃拿卡要被投诉",
            "link": {"href": "/a/4"},
            "summary": ["村民", "投诉"],
            "stats": {"comments": [88], "reads": {"n": 5}, "shares": True},
        },
        # a search API's highlighting and entities in the title
        {"id": 5, "title": "云川<em>羊肉汤</em>节&quot;开幕&quot;", "link": "/a/5", "summary": 3.5},
    ]
    http_server.routes["/api"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"data": {"list": items}}, ensure_ascii=False).encode(),
    )
    run, h = await collect("json", "/api", FIELDS)
    assert run.error is None
    rows = list(h.app.db.query("SELECT * FROM posts WHERE source_id='web' ORDER BY id"))
    assert [r["title"] for r in rows] == ["青石镇干部吃拿卡要被投诉", '云川羊肉汤节"开幕"']
    first = rows[0]
    assert first["url"] is None and first["text"] == ""
    assert (first["replies"], first["views"], first["reposts"]) == (None, None, None)
    assert rows[1]["url"] == http_server.url + "/a/5" and rows[1]["text"] == "3.5"
    for r in rows:
        assert "{" not in (r["title"] + r["text"] + (r["url"] or "")) and "[" not in r["text"]


def test_a_link_with_an_upper_case_scheme_is_the_same_url():
    from jobs.collect import parse_feed

    feed = (
        b'<rss version="2.0"><channel>'
        b"<item><title>A</title><link>HTTPS://Bbs.Example/thread-1.html</link><guid>a</guid></item>"
        b"</channel></rss>"
    )
    other = b'<rss version="2.0"><channel><item><title>B</title><link>https://bbs.example/thread-1.html</link></item></channel></rss>'
    (a,) = parse_feed("one", feed)
    (b,) = parse_feed("two", other)
    assert a.item_key == b.item_key == "url:https://bbs.example/thread-1.html"  # stored once, across sources


@pytest.mark.parametrize(
    "data",
    [
        "c:99999999999999999999999",
        "r:99999999999999999999",
        "b:99999999999999999999",
        "d:99999999999999999999:1",
        "c:" + "9" * 5000,
    ],
)
async def test_a_forged_button_with_a_huge_number_is_answered(tg, data):
    """Callback data is chosen by the client: a number no incident can have is answered, not
    left spinning with an OverflowError (or int()'s digit limit) in the log."""
    card_id = tg.card_id(top(tg))
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["liqiang"], card_id, data)
    await tg.until(lambda: len(tg.api.answers) > before)
    assert tg.api.answers[before].get("text") == "无法识别的按钮。"
