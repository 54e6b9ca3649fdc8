"""Adapters only translate: they see the bot through `handlers.Host`, and every decision —
who may press which button, what a press turns into — is the handlers' answer."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from handlers.base import Pressed, Request
from tests.test_telegram import GROUP, tg, top  # noqa: F401  (tg is a fixture)

PLATFORMS = Path(__file__).resolve().parent.parent / "bot" / "platforms"
FORBIDDEN = ("storage", "handlers.commands", "handlers.permissions", "signal")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_adapters_import_no_storage_no_command_internals_and_no_signal():
    """An adapter reaches the bot only through `handlers.Host`: no queries of its own, no
    second permission check, no signal handlers (the run loop in bot/cli.py has those)."""
    modules = sorted(PLATFORMS.rglob("*.py"))
    assert {p.name for p in modules} >= {"telegram.py", "console.py", "wxpy.py", "adapter.py", "dispatch.py"}
    found = [
        f"{p.relative_to(PLATFORMS)}: {name}"
        for p in modules
        for name in _imports(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert found == []
    calls = [p.name for p in modules if "add_signal_handler" in p.read_text(encoding="utf-8")]
    assert calls == []


async def test_handlers_decide_who_may_open_the_close_choices(two):
    host = two.app.host
    leader = Request(platform="console", chat="监测群", user_id="chenbuzhang", text="")
    refused = await host.press(leader, "x:1", keyboards=True)
    assert refused == Pressed("你没有关闭事件的权限。")
    staff = dataclasses.replace(leader, user_id="liqiang")
    shown = await host.press(staff, "x:1", keyboards=True)
    assert shown.notice is None and [d for row in shown.choices for _, d in row][:2] == ["d:1:0", "d:1:1"]
    assert shown.choices[-1] == (("↩ 返回", "b:1"),)
    # where a card's buttons cannot be swapped (WeCom), the close button explains what to type
    assert "关闭 1 处置方式" in (await host.press(leader, "x:1")).notice
    assert two.incident(1).state.value == "new"  # nothing changed by any of this


async def test_telegram_shows_the_handlers_refusal_of_the_close_button(tg):
    iid = top(tg)
    card_id = tg.card_id(iid)
    buttons = tg.api.buttons(GROUP, card_id)
    before = len(tg.api.answers)
    tg.api.press(GROUP, tg.users["chenbuzhang"], card_id, f"x:{iid}")  # a leader may not close
    await tg.until(lambda: len(tg.api.answers) > before)
    assert tg.api.answers[before]["text"] == "你没有关闭事件的权限。" and tg.api.answers[before]["show_alert"]
    # the adapter shows whatever the handlers answer: a refusal even for the admin, when they say so
    asked = []
    real = tg.platform.host

    class Refusing:
        def __getattr__(self, name):
            return getattr(real, name)

        async def press(self, request, data, *, keyboards=False):
            asked.append((request.user_id, data, keyboards))
            return Pressed("测试：处理方拒绝")

    tg.platform.host = Refusing()
    tg.api.press(GROUP, tg.users["wangmin"], card_id, f"x:{iid}")
    await tg.until(lambda: len(tg.api.answers) > before + 1)
    assert tg.api.answers[before + 1]["text"] == "测试：处理方拒绝"
    assert asked == [("1000", f"x:{iid}", True)]
    # and the choices when they allow it: pressed by the admin with the real handlers
    tg.platform.host = real
    tg.api.press(GROUP, tg.users["wangmin"], card_id, f"x:{iid}")
    await tg.until(lambda: tg.api.buttons(GROUP, card_id) != buttons)
    edits = [c for c, _ in tg.api.calls if c == "editMessageReplyMarkup"]
    assert len(edits) == 1  # neither refusal touched the card's buttons
    assert ("已澄清", f"d:{iid}:1") in tg.api.buttons(GROUP, card_id)
