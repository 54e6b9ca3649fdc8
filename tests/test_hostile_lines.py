"""Hostile input at every command as every role: nothing crashes, every line in a private
chat (or the console) gets an answer, and a refused line changes nothing.

Three ways in: random lines through the handlers (hypothesis, derandomized, bounded), a list
of known-bad lines through the real console process, and the same list through the real
Telegram adapter talking to the fake Bot API.
"""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import Request
from handlers.commands import COMMANDS
from tests.conftest import HIGH, LOW, seed, settled
from tests.test_console import run_console

ROLES = {
    "admin": "wangmin",
    "staff": "liqiang",
    "leader": "chenbuzhang",
    "officer": "hexiaoyu",
    "partner": "xuanchuan",
    "stranger": "stranger",
}

# what a successful change says (in a private chat); anything else must have changed nothing
CHANGED = ("已完成：", "已静音", "已订阅", "已取消订阅", "你好，", "已收到线索")

HOSTILE = [
    "/claim 99999999999999999999",
    "/claim " + "9" * 5000,
    "/mute 2 9999999999999d",
    "/report 0001-01-01..0001-01-01",
    "/report 99999999999999999999",
    "/tip http://[::1",
    "/tip http://[zz]/",
    "/claim ²",
    "/claim ١",
    "/show ＃" + "１" * 30,
    "/note 1 完成 " + "9" * 5000,
    "/note ##1",
    "/list@some_other_bot",
    "/close@other_bot 1 已澄清",
    "/claim 1 2 3",
    "/close 1 已回应。",
    "/close 1 已回应，考试中心已发布说明",
    "/note 1 \u202e反向文字\u202c：（测试）",
    "/note 1 \x00\x07\x1b[31m控制字符",
    "/" + "a" * 3000,
    "/list " + "x" * 10000,
    "认领 " + "9" * 40,
    "/mute 1 -5m",
    "/mute 1 1e9d",
    "/report 2026-02-30..2026-03-01",
    "/report 9999-12-31..9999-12-31",
    "/subscribe Ⅴ",
    "/search \"' OR 1=1 --",
    "/search *",
    "/assign 1 @" + "某" * 500,
    "/escalate 1 " + "升" * 5000,
    "/help",
    "/ＬＩＳＴ",
    "／list",
]

_nums = st.sampled_from(
    [
        "1",
        "2",
        "#1",
        "＃２",
        "0",
        "-1",
        "99999999999999999999",
        "9" * 600,
        "²",
        "١٢",
        "①",
        "1.5",
        "1e9",
        "０",
        "##1",
        "#",
    ]
)
_words = st.sampled_from(
    [
        "已回应",
        "已回应，说明",
        "已澄清。",
        "误报",
        "不实",
        "搞定",
        "2h",
        "30m",
        "9999999999999d",
        "0s",
        "I",
        "II",
        "III",
        "IV",
        "Ⅴ",
        "待认领",
        "处置中",
        "today",
        "week",
        "month",
        "2026-11-01..2026-11-30",
        "0001-01-01..0001-01-01",
        "@周岚",
        "@李强",
        "@nobody",
        "@",
        "＠王敏",
        "http://[::1",
        "http://[zz]/",
        "https://bbs.example/t/1",
        "javascript:alert(1)",
        "完成",
        "完成 9",
        "完成 1",
        "，",
        "（",
        "：",
        "\u200f",
        "\u202e",
        "\u200b",
        "\x00",
        "\x1b",
        "\t",
        "\n",
    ]
)
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_arg = st.one_of(
    _nums, _words, _text, st.builds(lambda c, n: c * n, st.sampled_from("9一#@，"), st.integers(100, 3000))
)
_names = [c.name for c in COMMANDS] + [a for c in COMMANDS for a in c.aliases]
_head = st.one_of(
    st.sampled_from(_names).map(lambda n: n if not n.isascii() else "/" + n),
    st.sampled_from(_names).map(lambda n: f"/{n}@some_other_bot" if n.isascii() else n),
    st.sampled_from(["/ＣＬＡＩＭ", "／claim", "/claim@", "/", "//", "/as", "@bot"]),
    _text.map(lambda t: "/" + t),
)
LINES = st.builds(
    lambda h, args, sep: h + sep + sep.join(args),
    _head,
    st.lists(_arg, max_size=4),
    st.sampled_from([" ", "\u3000", "  ", "\t"]),
)


def snapshot(h):
    return (
        list(map(tuple, h.app.db.execute("SELECT * FROM incidents ORDER BY id"))),
        h.count("events"),
        h.count("outbox"),
    )


def test_random_lines_at_every_command_as_every_role(make_app):
    h = make_app()
    seed(h, *HIGH)
    seed(h, *LOW, source="ycnews")

    async def no_network(host):  # /tip never leaves the machine: every host is "internal"
        return ["127.0.0.1"]

    h.app.deps.resolve = no_network
    h.app.deps.data_dir = None  # reports without charts: fast
    loop = asyncio.new_event_loop()
    seen = {"n": 0}

    @settings(
        max_examples=400,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        role=st.sampled_from(sorted(ROLES)),
        line=st.one_of(LINES, st.sampled_from(HOSTILE)),
        platform=st.sampled_from(["console", "telegram"]),
    )
    def check(role, line, platform):
        user = ROLES[role]
        req = Request(
            platform=platform,
            chat="@" + user if platform == "console" else "4242",
            user_id=user,
            text=line,
            private=True,
            bot_username="yuqing_bot" if platform == "telegram" else None,
        )
        before = snapshot(h)
        replies = loop.run_until_complete(h.app.handle(req))
        assert replies and all(r.text.strip() for r in replies), (role, line)
        assert "出错了" not in replies[0].text, (role, line, replies[0].text)  # no unexpected failure either
        if not replies[0].text.startswith(CHANGED):
            assert snapshot(h) == before, (role, line, replies[0].text)
        seen["n"] += 1

    try:
        check()
    finally:
        loop.close()
    assert seen["n"] >= 200


def test_hostile_lines_through_the_console_process(tmp_path):
    script = "\n".join(HOSTILE + ["/as 市委宣传部网评办", "/show 1", "/list", "/as 王敏", "/list", ""])
    res = run_console(tmp_path, script, "--no-collect")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    out = res.stdout
    prompts = [m.start() for m in re.finditer(r"^(王敏|市委宣传部网评办)> ", out, flags=re.M)]
    assert len(prompts) == len(HOSTILE) + 5  # every line was read
    # every hostile line got some answer before the next prompt
    for a, b in zip(prompts, prompts[1:] + [len(out)]):
        line_end = out.index("\n", a)
        assert out[line_end + 1 : b].strip(), out[a:line_end][:80]
    assert "出错了" not in out
    assert out.rstrip().endswith("目前没有待处置的事件。")  # still alive and answering at the end


async def test_hostile_lines_through_the_fake_bot_api(config_dir, tmp_path):
    from tests.fake_telegram import FakeBotAPI
    from tests.test_telegram import IDS, TG, telegram_config

    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(collect=False)
    try:
        chat = str(IDS["liqiang"])
        for n, line in enumerate(HOSTILE, 1):
            t.say("liqiang", line, chat=chat)
            await t.until(lambda: len(api.chat_log(chat)) >= n, timeout=15)
        assert len(api.chat_log(chat)) == len(HOSTILE)  # one answer each (none needed splitting)
        texts = [m["text"] for m in api.chat_log(chat)]
        assert not any("出错了" in x for x in texts)
        assert any("@some_other_bot" in x for x in texts)
        # a group: a command for another bot gets no answer; the bot is still alive afterwards
        from tests.test_telegram import GROUP

        before = len(api.chat_log(GROUP))
        t.say("liqiang", "/list@some_other_bot")
        t.say("liqiang", "/list@yuqing_bot")
        await t.until(lambda: len(api.chat_log(GROUP)) > before)
        # updates are handled one after another (no concurrent_updates), so the answer to the
        # second proves the first was handled; then whatever it queued has been delivered
        await settled(t.app)
        assert [m["text"] for m in api.chat_log(GROUP)[before:]] == ["目前没有待处置的事件。"]
    finally:
        await t.stop()
        api.close()
