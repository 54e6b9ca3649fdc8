"""Personal WeChat through wxpy (optional: ``pip install 'yuqing-bot[wxpy]'``).

wxpy drives the web-WeChat protocol, which WeChat refuses for most accounts today; it works
only for accounts that may still log in to web WeChat. WeCom (`bot.platforms.wecom`) is the
supported path. This adapter posts cards as plain text to a named group and reads commands
typed in that group.

wxpy is thread-based: its listener calls us from its own thread, so each message is handed
to the bot's event loop, and every call into wxpy runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.platforms.ratelimit import Pacer
from core.config import Config
from core.errors import FieldProblem, SettingsError
from core.platform import DeliveryError, Outgoing, text_parts
from core.render import card_text
from handlers.base import Host, Request

__all__ = ["WxpyPlatform"]

log = logging.getLogger(__name__)

LIMIT = 2000  # characters per message we send
PER_MINUTE = 15  # web WeChat flags accounts that post fast; stay well below
TEXT = "Text"  # wxpy.TEXT


def _login(cache_path: Path):
    """Log in with wxpy: a QR code in the terminal, cached for later starts."""
    try:
        import wxpy
    except ImportError:
        raise SettingsError(
            "wxpy",
            [
                FieldProblem(
                    "YUQING_PLATFORM",
                    "未安装 wxpy，请先执行 pip install 'yuqing-bot[wxpy]'（推荐改用企业微信）",
                    "wxpy is not installed: pip install 'yuqing-bot[wxpy]' (WeCom is the supported path)",
                )
            ],
        ) from None
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    return wxpy.Bot(cache_path=str(cache_path), console_qr=True)


class WxpyPlatform:
    """Adapter: `send` posts text to a group (or a friend); the group's text messages are commands."""

    name = "wxpy"
    max_length = LIMIT
    digest_after = 4

    def __init__(self, config: Config, *, settings, login: Callable[[Path], Any] | None = None):
        self.config = config
        group = settings.wxpy_group
        configured = {t.id: t.chats["wxpy"] for t in config.teams if "wxpy" in t.chats}
        if not group and not configured:
            raise SettingsError(
                "wxpy",
                [
                    FieldProblem(
                        "YUQING_WXPY_GROUP", "请设置要推送和接收命令的微信群名称", "name the WeChat group to post to"
                    )
                ],
            )
        # the default team's group, unless the config names one
        self.team_chats = {config.team(None).id: group} if group and config.team(None).id not in configured else {}
        self.group_names = sorted(set(configured.values()) | ({group} if group else set()))
        self.cache = settings.wxpy_cache or settings.data_dir / "wxpy.pkl"
        self.puid_path = self.cache.with_name("wxpy_puid.pkl")
        self.login = login or _login
        self.pacer = Pacer()
        self.bot: Any = None  # a wxpy.Bot (the library has no types) once open() logged in
        self.groups: dict[str, Any] = {}
        self.host: Host | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ outbox side
    def _target(self, chat: str):
        target = self.groups.get(chat)
        if target is None:  # a private chat: a friend by name
            found = [f for f in self.bot.friends().search(chat) if f.name == chat]
            if not found:
                raise DeliveryError(f"no WeChat group or friend named {chat!r}", permanent=True)
            target = found[0]
        return target

    async def send(self, chat: str, message: Outgoing) -> str:
        text = card_text(message.card) if message.card is not None else (message.text or "")
        # nothing is cut: a text longer than a minute's worth goes out over several minutes
        # (the pacer remembers the parts sent and raises retry_after for the rest)
        chunks = text_parts(self, text)
        parts = [("text", c) for c in chunks] + ([("image", message.image)] if message.image else [])

        async def send_one(part):
            kind, value = part
            try:
                target = self._target(chat)
                sent = await asyncio.to_thread(target.send if kind == "text" else target.send_image, value)
            except DeliveryError:
                raise
            except Exception as e:  # wxpy raises ResponseError and requests' errors
                raise DeliveryError(f"wxpy send failed: {type(e).__name__}: {e}") from e
            return getattr(sent, "id", None)

        first = await self.pacer.send(f"wxpy:{chat}", PER_MINUTE, parts, send_one, (chat, text, message.image))
        return str(first or uuid.uuid4().hex)

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        """WeChat cannot edit a sent message; every change that matters also comes as a notice."""

    # ------------------------------------------------------------------ receiving
    def _on_message(self, msg) -> None:
        """Called by wxpy in its listener thread."""
        try:
            group, puid, name, text = msg.chat.name, msg.member.puid, msg.member.name, msg.text
        except AttributeError:
            return
        if self.loop is None:  # not open (wxpy calls this only after open() registered it)
            return
        asyncio.run_coroutine_threadsafe(self.on_message(group, puid, name, text or ""), self.loop)

    async def on_message(self, group: str, puid: str, name: str, text: str) -> None:
        """A group message. People are known by puid, never by the name they show in the
        group: anyone can rename themselves 李强 there."""
        try:
            host = self.host
            if host is None:
                raise RuntimeError("wxpy adapter got a message before open()")
            req = Request(platform="wxpy", chat=group, user_id=puid, text=text.strip(), private=False)
            if text.strip() and host.identify("wxpy", puid) is None:
                log.info("wxpy: message from %s (puid %s), who is in no person's handles.wxpy", name, puid)
            replies = await host.handle(req)
            for reply in replies:
                await self._reply(group, f"@{name} {reply.text}", reply.image)
        except Exception:
            log.exception("wxpy: handling a message from %s in %s failed", name, group)

    async def _reply(self, group: str, text: str, image: str | None) -> None:
        for attempt in range(10):  # a long answer goes out over several minutes, in order
            try:
                await self.send(group, Outgoing(text=text, image=image))
                return
            except DeliveryError as e:
                if e.permanent or not e.retry_after or attempt == 9:
                    log.error("wxpy: could not answer in %s: %s", group, e)
                    return
                await asyncio.sleep(min(e.retry_after, 60))

    # ------------------------------------------------------------------ life
    async def open(self, host: Host) -> None:
        """Log in (a QR code to scan on first start), find the groups, listen to them."""
        self.host = host
        self.loop = asyncio.get_running_loop()
        self.bot = await asyncio.to_thread(self.login, self.cache)
        await asyncio.to_thread(self.bot.enable_puid, str(self.puid_path))  # stable ids for people
        groups = await asyncio.to_thread(lambda: list(self.bot.groups()))
        for name in self.group_names:
            found = [g for g in groups if g.name == name]
            if not found:
                raise SettingsError(
                    "wxpy",
                    [
                        FieldProblem(
                            "YUQING_WXPY_GROUP",
                            f"找不到名为「{name}」的群：请在手机上把该群“保存到通讯录”后重试",
                            f"no group named {name!r}: save it to contacts on the phone and try again",
                        )
                    ],
                )
            self.groups[name] = found[0]
        self.bot.register(list(self.groups.values()), TEXT)(self._on_message)
        log.info("wxpy: listening to %s", ", ".join(self.group_names))

    async def serve(self, host: Host) -> None:
        await self._stop.wait()

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        """Stop listening; stay logged in, so the cached login spares a QR scan next start."""
        if self.bot is not None:
            try:
                await asyncio.to_thread(self.bot.stop)
            except Exception as e:
                log.warning("wxpy: stopping the listener failed: %s", e)
            self.bot = None
