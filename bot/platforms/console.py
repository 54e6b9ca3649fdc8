"""The console chat: the embedded default, a pretend monitoring group in a terminal.

Cards and notices print as they would appear in the group; each typed line is a command
from the current user; `/as NAME` switches who is typing. When standard input is not a
terminal, lines are read one by one and the session ends at end of input, after
everything pending has been delivered — so a script can drive it.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import sys
import threading
import time
from typing import TextIO

from core.models import Role
from core.platform import DeliveryError, Outgoing, text_parts
from core.render import card_text, inert, shrink_card
from handlers.base import Host, Request

__all__ = ["PROMPT", "AboveThePrompt", "ConsolePlatform", "PromptLine", "serve_console"]

RULE = "─" * 48


def _typed() -> str:
    """What the user has typed on the prompt line so far (GNU readline), else nothing."""
    mod = sys.modules.get("readline")
    try:
        return mod.get_line_buffer() if mod is not None else ""
    except Exception:  # an editline build without it: the prompt alone is redrawn
        return ""


class PromptLine:
    """The console's input line, kept intact under output that arrives while it waits:
    the line is cleared, the output printed, and the prompt (with what was typed) drawn again."""

    def __init__(self) -> None:
        self.prompt: str | None = None  # set while `input()` waits on a terminal
        self._lock = threading.Lock()

    def write(self, stream: TextIO, text: str) -> None:
        """Write `text` (whole lines) to `stream`, above the prompt when one is waiting."""
        with self._lock:
            if self.prompt is None or not _isatty(stream):
                stream.write(text)
            else:
                stream.write("\r\x1b[K" + text + self.prompt + _typed())
            stream.flush()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


PROMPT = PromptLine()


class AboveThePrompt(io.TextIOBase):
    """A text stream (stderr, for log lines) whose writes go above the console's prompt."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        PROMPT.write(self.stream, text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return _isatty(self.stream)


class ConsolePlatform:
    name = "console"
    max_length = 4000

    def __init__(self, config, out: TextIO | None = None):
        self.config = config
        self.out = out or sys.stdout
        self._ids = itertools.count(1)
        self._run = f"{int(time.time() * 1000):x}"
        self.closed = False

    def _chat_label(self, chat: str) -> str:
        if chat.startswith("@"):
            person = self.config.person(chat[1:])
            return f"【私聊 → {person.name if person else chat[1:]}】"
        return f"【{chat}】"

    def _print(self, text: str) -> None:
        try:
            # no terminal escapes from scraped or typed text; above the prompt if one waits
            PROMPT.write(self.out, inert(text) + "\n")
        except BrokenPipeError:
            # The reader went away (`yuqing run | head`): keep the rows for next time, stop quietly.
            self.closed = True
            raise DeliveryError("console output closed") from None

    async def send(self, chat: str, message: Outgoing) -> str:
        label = self._chat_label(chat)
        if message.card is not None:
            # a huge title or field is cut with "…" (as on Telegram/WeCom), never the link,
            # source, reasons, state, deadline and commands after it
            card = shrink_card(message.card, lambda c: len(card_text(c)) <= self.max_length)
            self._print(f"{label}\n{RULE}\n{card_text(card)[: self.max_length]}\n{RULE}")
        else:
            prefix = "  ↳ " if message.reply_to else ""
            for part in text_parts(self, message.text or ""):  # nothing cut off
                self._print(f"{label}{prefix}{part}")
            if message.image:
                self._print(f"{label}📈 图表：{message.image}")
            if message.document:
                self._print(f"{label}📎 文件：{message.document}")
        return f"{self._run}-{next(self._ids)}"

    async def open(self, host: Host) -> None:
        """Nothing to connect to."""

    async def serve(self, host: Host) -> None:
        await serve_console(host, self, out=self.out)

    async def close(self) -> None:
        """Nothing to close."""

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        card = message.card
        if card is None:
            return
        state = next((v for k, v in card.fields if k == "状态"), "")
        self._print(f"{self._chat_label(chat)}  ↻ 卡片已更新：{card.header} · {state}")


def _reply_text(replies) -> str:
    parts = []
    for r in replies:
        parts.append(r.text if r.card is None else card_text(r.card))
        if r.image:
            parts.append(f"📈 图表：{r.image}")
        if r.document:
            parts.append(f"📎 文件：{r.document}")
    return "\n".join(parts)


async def serve_console(
    host: Host, console: ConsolePlatform, stdin: TextIO | None = None, out: TextIO | None = None
) -> None:
    """Read commands until end of input (or /quit), delivering pending messages after each."""
    stdin = stdin or sys.stdin
    out = out or console.out
    interactive = stdin.isatty()
    person = host.console_person()
    chat = host.home_chat("console", person)
    loop = asyncio.get_running_loop()
    # the backlog (and in a script what the start-up collection found) before the prompt
    await host.settle(after_collection=not interactive)
    if interactive:
        print(
            f"舆情哨兵已启动（控制台）。你现在是 {person.name if person else '访客'}；/help 查看命令，"
            f"/as 姓名 切换身份，/quit 退出。",
            file=out,
            flush=True,
        )
    while not console.closed:
        if interactive:
            prompt = f"{person.name if person else '访客'}> "
            PROMPT.prompt = prompt  # output arriving meanwhile is printed above it
            try:
                line = await loop.run_in_executor(None, _input, prompt)
            finally:
                PROMPT.prompt = None
        else:
            line = await loop.run_in_executor(None, stdin.readline)
            line = line if line else None
        if line is None:
            break
        line = line.strip()
        if not line:
            continue
        if not interactive:
            print(inert(f"{person.name if person else '访客'}> {line}"), file=out, flush=True)
        if line in ("/quit", "/exit"):
            break
        if line == "/as" or line.startswith(("/as ", "/as\t")):
            # the console is a harness: whoever types may be anyone configured
            name = line[3:].strip()
            found = console.config.person(name) if name else None
            if found is None:
                names = "、".join(p.name for p in console.config.people)
                head = f"找不到成员“{name}”。" if name else ""
                print(inert(f"{head}用法：/as 姓名；可选：{names}"), file=out, flush=True)
            else:
                person = found
                print(f"你现在是 {person.name}（{Role(found.role).label}）。", file=out, flush=True)
            continue
        replies = await host.handle(
            Request(platform="console", chat=chat, user_id=person.id if person else "guest", text=line)
        )
        if replies:
            print(inert(_reply_text(replies)), file=out, flush=True)
        await host.settle()
    await host.settle()


def _input(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
