"""`/tip URL [note]`: fetched safely (no private, loopback, link-local or metadata addresses,
checked after DNS and at every redirect; http(s) only) and run through the pipeline."""

from __future__ import annotations

import httpx
import pytest

PUBLIC = {
    "news.example.com": ["93.184.216.34"],
    "redirector.example.com": ["93.184.216.35"],
    "rebind.example.com": ["10.1.2.3"],
}

PAGE = """<html><head><meta property="og:title" content="网友实名举报张建国公车私用"><title>x</title></head>
<body><article><p>有网友反映，市交通运输局局长张建国周末开公车去青石镇钓鱼。</p><p>网友愤怒质疑。</p></article></body></html>"""


@pytest.fixture
def tipbot(two, http_server):
    async def resolve(host):
        if host in PUBLIC:
            return PUBLIC[host]
        raise OSError("no such host")

    def world(request: httpx.Request) -> httpx.Response:
        """The outside world, which cannot run here: two public-looking hosts (the request is
        sent to the checked IP; the Host header names the site)."""
        host = request.headers.get("host", request.url.host)
        if host == "news.example.com":
            return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=PAGE.encode())
        if host == "redirector.example.com":
            return httpx.Response(302, headers={"Location": f"{http_server.url}/internal"})
        return httpx.Response(404)

    two.app.deps.resolve = resolve
    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    two.app.deps.http = lambda: client
    return two


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://127.0.0.1/admin", "不抓取内网、本机或保留地址（127.0.0.1 → 127.0.0.1）"),
        ("http://10.0.0.1/", "（10.0.0.1 → 10.0.0.1）"),
        ("http://169.254.169.254/latest/meta-data/", "（169.254.169.254 → 169.254.169.254）"),
        ("http://[::1]:8080/", "不抓取内网、本机或保留地址"),
        ("file:///etc/passwd", "只接受 http 或 https 链接（收到的是 file）"),
        ("ftp://news.example.com/x", "只接受 http 或 https 链接"),
        ("http://rebind.example.com/", "rebind.example.com → 10.1.2.3"),
        ("http://redirector.example.com/story", "不抓取内网、本机或保留地址（127.0.0.1 → 127.0.0.1）"),
        ("http://nowhere.invalid/", "无法解析网站地址 nowhere.invalid"),
    ],
)
async def test_refused_with_a_clear_reason(tipbot, http_server, url, reason):
    posts = tipbot.count("posts")
    reply = await tipbot.say("hexiaoyu", f"/tip {url}")
    assert reply.startswith("无法处理这条线索") and reason in reply
    assert tipbot.count("posts") == posts
    assert "/internal" not in http_server.hits  # the redirect to loopback was never followed


async def test_tip_runs_through_the_pipeline_marked_with_its_sender(tipbot):
    reply = await tipbot.say("hexiaoyu", "/tip https://news.example.com/a/1 青石镇村民反映")
    assert "已收到线索，已并入事件 #1" in reply or "已生成事件" in reply
    row = next(tipbot.app.db.query("SELECT tip_by, source_id, title FROM posts WHERE source_id='tip'"))
    assert row["tip_by"] == "hexiaoyu" and row["title"] == "网友实名举报张建国公车私用"
    notes = [r["detail"] for r in tipbot.app.db.query("SELECT detail FROM events WHERE action='note'")]
    assert any("线索备注：青石镇村民反映" in n for n in notes)
    assert "已经收录过了" in await tipbot.say("liqiang", "/tip https://news.example.com/a/1")


async def test_tip_needs_a_link_and_a_role(tipbot):
    assert "请附上链接" in await tipbot.say("hexiaoyu", "/tip")
    assert "无权使用 /tip" in await tipbot.say("chenbuzhang", "/tip https://news.example.com/a/1")
