"""`/tip` against addresses that hide where they lead, malformed links and DNS rebinding: each is
a clear Chinese refusal (never an exception), and the local server is never reached."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from jobs.tips import _forbidden

PAGE = """<html><head><meta charset="utf-8"><title>公网页面</title></head>
<body><article><p>网友实名举报张建国公车私用。</p></article></body></html>"""


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b:1::a00:1",  # local-use NAT64 prefix
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::127.0.0.1",  # IPv4-compatible
        "::10.1.2.3",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "not-an-address",
    ],
)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(address):
    assert _forbidden(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1", "::ffff:93.184.216.34", "2606:4700:4700::1111"],
)
def test_public_addresses_stay_allowed(address):
    assert not _forbidden(address)
    ipaddress.ip_address(address)


@pytest.fixture
def tipbot(two, http_server):
    hosts = {
        "news.example.com": ["93.184.216.34"],
        "badredirect.example.com": ["93.184.216.35"],
        "nat64.example.com": ["64:ff9b::7f00:1"],
        "sixtofour.example.com": ["2002:7f00:1::1"],
        "compat.example.com": ["93.184.216.34", "::127.0.0.1"],
    }

    async def resolve(host):
        if host in hosts:
            return hosts[host]
        raise OSError("no such host")

    def world(request: httpx.Request) -> httpx.Response:
        host = request.headers.get("host", request.url.host)
        if host == "news.example.com":
            return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=PAGE.encode())
        if host == "badredirect.example.com":
            return httpx.Response(302, headers={"Location": "http:127.0.0.1/x"})
        return httpx.Response(404)

    two.app.deps.resolve = resolve
    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    two.app.deps.http = lambda: client
    return two


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://[::1", "链接格式不正确"),
        ("http://[zz]/", "链接格式不正确"),
        ("http://badredirect.example.com/a", "跳转到的地址格式不正确"),
        ("http://[64:ff9b::7f00:1]/", "不抓取内网、本机或保留地址"),
        ("http://[2002:7f00:1::1]/", "不抓取内网、本机或保留地址"),
        ("http://[::127.0.0.1]/", "不抓取内网、本机或保留地址"),
        ("http://nat64.example.com/", "nat64.example.com → 64:ff9b::7f00:1"),
        ("http://sixtofour.example.com/", "sixtofour.example.com → 2002:7f00:1::1"),
        ("http://compat.example.com/", "compat.example.com → ::127.0.0.1"),
    ],
)
async def test_hidden_and_malformed_addresses_are_refused_clearly(tipbot, url, reason):
    posts = tipbot.count("posts")
    reply = await tipbot.say("hexiaoyu", f"/tip {url}")
    assert reply.startswith("无法处理这条线索") and reason in reply, reply
    assert tipbot.count("posts") == posts


async def test_dns_rebinding_cannot_reach_the_local_server(two, http_server):
    """The resolver answers a public address first and 127.0.0.1 afterwards. The connection must
    go to the address that was checked: a stack that looks the name up again (as httpx does
    for a URL with a host name) would land on the local server."""
    http_server.routes["/secret"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        "<html><title>内网机密</title><body><p>机密</p></body></html>".encode(),
    )
    port = int(http_server.url.rsplit(":", 1)[1])
    answers = {"n": 0}

    async def resolve(host):
        answers["n"] += 1
        return ["93.184.216.36"] if answers["n"] == 1 else ["127.0.0.1"]

    local = httpx.AsyncHTTPTransport()

    class Network(httpx.AsyncBaseTransport):
        """Connects as an operating system would: a host name is resolved (again) first."""

        async def handle_async_request(self, request):
            host = request.url.host
            try:
                ip = str(ipaddress.ip_address(host))
            except ValueError:
                ip = (await resolve(host))[0]
            if ip == "127.0.0.1":
                inner = httpx.Request(
                    request.method, request.url.copy_with(host="127.0.0.1", port=port), headers=request.headers
                )
                return await local.handle_async_request(inner)
            return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=PAGE.encode())

    client = httpx.AsyncClient(transport=Network())
    two.app.deps.resolve = resolve
    two.app.deps.http = lambda: client
    try:
        reply = await two.say("hexiaoyu", f"/tip http://rebind.example.com:{port}/secret")
    finally:
        await client.aclose()
        await local.aclose()
    assert "/secret" not in http_server.hits
    assert "内网机密" not in reply
    assert answers["n"] == 1  # one lookup per hop, and the connection used its answer


async def test_the_request_names_the_original_host_and_tls_server_name():
    from jobs.tips import fetch_tip

    seen = []

    def world(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"], request.extensions.get("sni_hostname")))
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=PAGE.encode())

    async def resolve(host):
        return ["93.184.216.34"]

    async with httpx.AsyncClient(transport=httpx.MockTransport(world)) as client:
        page = await fetch_tip("https://news.example.com:8443/a?b=1", client, resolve)
    assert page.title == "公网页面" and page.url == "https://news.example.com:8443/a?b=1"
    assert seen == [("https://93.184.216.34:8443/a?b=1", "news.example.com:8443", "news.example.com")]
