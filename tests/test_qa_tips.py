"""QA defects around tips and the names users see: a tip's note is never lost (#4), a link to a
file is refused (#5), a tip's sender is shown (#12), source names instead of ids (#11), the chat
专报 lists publication times (#10), and `yuqing report --period N` prints the 专报 (#14)."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.both_engines

HOSTS = {"news.pub.test": ["93.184.216.34"], "files.pub.test": ["93.184.216.36"]}

RELEVANT = """<html><head><meta charset="utf-8"><title>网友实名举报张建国公车私用</title></head>
<body><article><p>有网友反映，市交通运输局局长张建国周末开公车去青石镇钓鱼。</p><p>网友愤怒质疑。</p></article></body></html>"""
IRRELEVANT = """<html><head><meta charset="utf-8"><title>今日天气晴</title></head>
<body><article><p>今天白天晴，最高气温十八度，适宜出行。</p></article></body></html>"""

SAME = """<html><head><meta charset="utf-8"><title>网友实名举报市交通运输局局长张建国公车私用</title></head>
<body><article><p>有网友曝光张建国周末开公车去青石镇钓鱼，网友愤怒质疑。</p></article></body></html>"""

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256))
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 2


def _html(body: str) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=body.encode())


FILES = {
    "/img.png": ("image/png", PNG),
    "/doc.pdf": ("application/pdf", PDF),
    "/pack.zip": ("application/zip", ZIP),
    "/blob": ("application/octet-stream", b"\x00\x01\x02binary\x00\xff" * 50),
    # a file served as a page (or with no type at all): what the body is decides
    "/liar.html": ("text/html", PNG),
    "/untyped": (None, PDF),
}


@pytest.fixture
def tipbot(two):
    async def resolve(host):
        if host in HOSTS:
            return HOSTS[host]
        raise OSError("no such host")

    def world(request: httpx.Request) -> httpx.Response:
        host = request.headers.get("host", request.url.host)
        path = request.url.path
        if host == "news.pub.test" and path == "/tip/rel.html":
            return _html(RELEVANT)
        if host == "news.pub.test" and path == "/tip/same.html":  # the story of #1 (tests.conftest.HIGH)
            return _html(SAME)
        if host == "news.pub.test" and path.startswith("/tip/irrelevant"):
            return _html(IRRELEVANT.replace("今日天气晴", f"今日天气晴{path[-6:]}"))
        if host == "files.pub.test" and path in FILES:
            kind, body = FILES[path]
            return httpx.Response(200, headers={"Content-Type": kind} if kind else {}, content=body)
        return httpx.Response(404)

    two.app.deps.resolve = resolve
    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    two.app.deps.http = lambda: client
    return two


def _notes(h, iid: int) -> list[tuple[str, str]]:
    return [
        (r["actor"], json.loads(r["detail"]).get("text"))
        for r in h.app.db.query("SELECT actor, detail FROM events WHERE action='note' AND incident_id=?", [iid])
    ]


def _post_notes(h, url: str) -> list[dict]:
    row = next(h.app.db.query("SELECT matched FROM posts WHERE url = ?", [url]))
    return json.loads(row["matched"]).get("tip_notes", [])


# ----------------------------------------------------------------------------- #4 notes kept


async def test_a_second_tip_of_a_collected_link_adds_its_note_to_the_incident(tipbot):
    first = await tipbot.say("hexiaoyu", "/tip http://news.pub.test/tip/rel.html 青石镇村民反映")
    iid = int(first.split("#")[1].split("（")[0])
    reply = await tipbot.say("liqiang", "/tip http://news.pub.test/tip/rel.html 第二人补充：有票据照片")
    assert "已经收录过了" in reply and f"#{iid}" in reply and "备注已记入" in reply
    assert ("liqiang", "线索备注：第二人补充：有票据照片") in _notes(tipbot, iid)
    show = await tipbot.say("wangmin", f"/show {iid}")
    assert "线索备注：第二人补充：有票据照片" in show and "李强" in show


async def test_the_note_of_an_irrelevant_or_repeated_tip_is_kept_with_the_post(tipbot):
    url = "http://news.pub.test/tip/irrelevant-0001"
    reply = await tipbot.say("hexiaoyu", f"/tip {url} 这是备注A")
    assert "已收到线索并存档" in reply and "备注已随帖文存档" in reply
    reply = await tipbot.say("liqiang", f"/tip {url} 这是备注B")
    assert "已经收录过了" in reply and "备注已随帖文存档" in reply
    notes = _post_notes(tipbot, url)
    assert [(n["by"], n["text"]) for n in notes] == [("hexiaoyu", "这是备注A"), ("liqiang", "这是备注B")]
    assert all(n["at"] for n in notes)
    assert tipbot.count("events", "action='note'") == 0  # no incident was touched


async def test_a_tip_without_a_note_stores_no_note(tipbot):
    url = "http://news.pub.test/tip/irrelevant-0002"
    reply = await tipbot.say("hexiaoyu", f"/tip {url}")
    assert "已收到线索并存档" in reply and "备注" not in reply
    assert _post_notes(tipbot, url) == []


async def test_an_over_long_tip_note_is_refused_before_fetching(tipbot):
    posts = tipbot.count("posts")
    reply = await tipbot.say("hexiaoyu", "/tip http://news.pub.test/tip/irrelevant-0003 " + "长" * 2001)
    assert "备注过长（2001 字，最多 2000 字）" in reply
    assert tipbot.count("posts") == posts


# ----------------------------------------------------------------------------- #5 not a page


@pytest.mark.parametrize("path", sorted(FILES))
async def test_a_link_to_a_file_is_refused_and_nothing_stored(tipbot, path):
    posts = tipbot.count("posts")
    reply = await tipbot.say("hexiaoyu", f"/tip http://files.pub.test{path} 图片")
    assert reply.startswith("无法处理这条线索：链接不是网页"), reply
    assert tipbot.count("posts") == posts


@pytest.mark.parametrize(
    "content_type,body,kind",
    [
        ("image/png", PNG, "图片"),
        ("application/pdf", PDF, "PDF 文档"),
        ("application/zip", ZIP, "压缩包"),
        ("application/octet-stream", b"<html>x</html>", "二进制文件"),
        ("text/html; charset=utf-8", PNG, "图片"),
        (None, b"\x00\x01\x02\x03" * 100, "二进制文件"),
    ],
)
def test_what_is_not_a_page_is_named(content_type, body, kind):
    from jobs.tips import TipRefused, _check_body, _check_type

    with pytest.raises(TipRefused, match=f"链接不是网页（{kind}）"):
        _check_type(content_type)
        _check_body(body)


@pytest.mark.parametrize(
    "content_type", [None, "text/html", "TEXT/HTML; charset=GBK", "application/xhtml+xml", "text/plain"]
)
def test_pages_stay_accepted(content_type):
    from jobs.tips import _check_body, _check_type

    _check_type(content_type)
    _check_body(RELEVANT.encode())
    _check_body("\ufeff".encode() + RELEVANT.encode())
    _check_body(RELEVANT.encode("utf-16"))  # a byte-order mark: text, though it has NUL bytes


# ----------------------------------------------------------------------------- #12 the sender shown


@pytest.fixture
def fresh(make_app):
    """No incidents yet: a tip opens #1."""
    h = make_app()

    async def resolve(host):
        return HOSTS[host]

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: _html(RELEVANT)))
    h.app.deps.resolve = resolve
    h.app.deps.http = lambda: client
    return h


async def test_the_tip_sender_is_on_the_card_and_in_the_timeline(fresh):
    reply = await fresh.say("hexiaoyu", "/tip http://news.pub.test/tip/rel.html")
    assert "已生成事件 #1" in reply
    card = await fresh.deliver()
    assert "来源：人工线索（何晓雨）" in card
    show = await fresh.say("wangmin", "/show 1")
    assert "来源：人工线索（何晓雨）" in show
    assert "系统 发现：来源 人工线索（何晓雨）" in show

    from bot.platforms.telegram import card_html
    from bot.platforms.wecom.render import card_markdown, template_card

    rendered = fresh.app.render(fresh.incident(1))
    assert "人工线索（何晓雨）" in card_html(rendered)
    assert "人工线索（何晓雨）" in card_markdown(rendered)
    assert "人工线索（何晓雨）" in json.dumps(template_card(rendered, "t1"), ensure_ascii=False)


async def test_a_partner_card_does_not_name_the_sender(fresh):
    from dataclasses import replace

    from core.render import RenderContext, render_card

    await fresh.say("hexiaoyu", "/tip http://news.pub.test/tip/rel.html")
    inc = fresh.incident(1)
    assert inc.tip_by == "hexiaoyu"
    ctx = RenderContext(tz=fresh.app.tz, now=inc.created_at, names={"hexiaoyu": "何晓雨"})
    assert dict(render_card(inc, ctx).fields)["来源"].startswith("人工线索（何晓雨） · ")
    partner = replace(ctx, facts_only=True)
    assert dict(render_card(inc, partner).fields)["来源"].startswith("人工线索 · ")


# ----------------------------------------------------------------------------- #11 source names


async def test_users_see_source_names_not_ids(tipbot):
    from tests.conftest import HIGH, seed

    assert "已并入事件 #1" in await tipbot.say("hexiaoyu", "/tip http://news.pub.test/tip/same.html")
    assert seed(tipbot, *HIGH, source="ycnews").incident_id == 1
    forum, ycnews = tipbot.app.config.source("forum").name, tipbot.app.config.source("ycnews").name
    assert forum != "forum" and ycnews != "ycnews"
    found = await tipbot.say("wangmin", "/search 张建国")
    assert f"（{forum}）" in found and "（forum）" not in found and "（tip）" not in found
    assert "（人工线索）" in found
    show = await tipbot.say("wangmin", "/show 1")
    assert f"新增帖文：来源 {ycnews}" in show and "新增帖文：来源 人工线索" in show
    assert "来源 tip" not in show and "来源 ycnews" not in show
    report = await tipbot.say("wangmin", "/report 1")
    assert f"新增帖文：来源 {ycnews}" in report and "新增帖文：来源 人工线索" in report
    assert "来源 tip" not in report and "来源 ycnews" not in report

    from datetime import timedelta

    from jobs.casebook import collect_cases

    now = tipbot.app.clock()
    day = now.astimezone(tipbot.app.tz).date()
    cases = collect_cases(
        tipbot.app.db,
        tipbot.app.config,
        day - timedelta(days=1),
        day + timedelta(days=1),
        tipbot.app.tz,
        include_open=True,
    )
    details = [e.detail for c in cases for e in c.timeline]
    assert "来源 人工线索" in details and f"来源 {ycnews}" in details
    assert "来源 tip" not in details and "来源 ycnews" not in details


def test_source_label():
    from core.render import source_label

    assert source_label("forum", {"forum": "青石论坛"}) == "青石论坛"
    assert source_label("tip") == "人工线索"
    assert source_label("gone", {"forum": "青石论坛"}) == "gone"
    assert source_label(None) == "—"


# ----------------------------------------------------------------------------- #10 publication times


def _late_copy(h, days: int = 3):
    """A post of #1's story published `days` ago but collected only now."""
    from datetime import timedelta

    from core.models import Post
    from tests.conftest import HIGH

    post = Post(
        source_id="ycnews",
        item_key="test:late:1",
        title=HIGH[0],
        text=HIGH[1],
        url="https://yc.example/late-1.html",
        published_at=h.app.clock() - timedelta(days=days),
    )
    assert h.app.pipeline.ingest(post, h.app.config.source("ycnews")).incident_id == 1
    return post


async def test_the_chat_special_report_lists_publication_times(two):
    from core.render import fmt_time

    post = _late_copy(two)
    report = await two.say("wangmin", "/report 1")
    spread = report.split("一、传播情况")[1].split("二、处置过程")[0]
    published = fmt_time(post.published_at, two.app.tz)
    collected = fmt_time(two.app.clock(), two.app.tz)
    lines = [line for line in spread.splitlines() if line.startswith("  · ")]
    assert len(lines) == 2
    assert lines[0].startswith(f"  · {published} ")  # the first published first, at its publication time
    assert collected not in lines[0]


# ----------------------------------------------------------------------------- #14 yuqing report --period N


async def test_cli_prints_the_text_special_report(two):
    from click.testing import CliRunner

    from bot.cli import cli

    _late_copy(two)
    chat = await two.say("wangmin", "/report 1")
    db = two.app.settings.db
    two.app.close()
    for period in ("1", "#1"):
        res = CliRunner().invoke(cli, ["report", "--db", str(db), "--period", period])
        assert res.exit_code == 0, res.output
        assert "📄 舆情专报 · #1" in res.output and "一、传播情况：2 篇帖文" in res.output
        assert res.output.split("一、传播情况")[1] == chat.split("一、传播情况")[1] + "\n"
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--period", "99"])
    assert res.exit_code == 2 and "没有编号为 #99 的事件" in res.output
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--period", "1234567890123"])
    assert res.exit_code == 2 and "不是有效的事件编号" in res.output
