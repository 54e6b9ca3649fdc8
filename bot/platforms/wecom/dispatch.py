"""WeCom messages -> the bot: a decrypted callback message becomes a `handlers.Request` (a
text) or a button press, and the answers go back to the person through the app. What they
come to is the handlers' answer (`handlers.Host`); nothing is decided here."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable

from core.platform import DeliveryError, Outgoing
from handlers.base import Host, Request

__all__ = ["MSG_MEMORY", "Dispatcher"]

log = logging.getLogger(__package__)

MSG_MEMORY = 3600  # seconds a MsgId is remembered (WeCom retries an unanswered callback within ~15 s)
# '@舆情哨兵 ' before a command: WeCom puts U+2005 after a mention, people type full-width spaces
_MENTIONS = re.compile(r"^(?:[@＠][^\s@＠]+\s+)+")


def _one(value) -> str:
    """An element of a decrypted message as one string: the first of repeated elements, the
    text of one with attributes (xmltodict gives a list and a dict for those), '' for none."""
    if isinstance(value, list):
        return _one(value[0]) if value else ""
    if isinstance(value, dict):
        return _one(value.get("#text"))
    return "" if value is None else str(value)


class Dispatcher:
    """One decrypted message at a time: remembered (WeCom sends a message again when we were
    slow), then handled as a text command or a template-card button.

    :param send: sends an `Outgoing` to a WeCom user (the adapter's `send`: paced, split).
    :param relabel: ``relabel(user, response_code, label)`` renames a pressed card button.
    :param wall_clock: Unix seconds, for the message memory's expiry.
    """

    def __init__(
        self,
        *,
        host: Host,
        agent_id,
        send: Callable[[str, Outgoing], Awaitable[str]],
        relabel: Callable[[str, str, str], Awaitable[None]],
        wall_clock: Callable[[], float],
    ):
        self.host = host
        self.agent_id = agent_id
        self.send = send
        self.relabel = relabel
        self.wall_clock = wall_clock

    async def on_message(self, msg: dict) -> None:
        """One decrypted callback message: a text command or a template-card button."""
        msg = {k: _one(v) for k, v in msg.items()}
        # WeCom's retry of a message is the same message: its MsgId, or, for what has none
        # (events), the digest of all it says (sender, time, kind, key, content)
        msg_id = msg.get("MsgId") or (
            f"{msg.get('FromUserName')}:{msg.get('CreateTime')}:"
            + hashlib.sha256(json.dumps(msg, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]
        )
        now = self.wall_clock()
        if not self.host.first_time("wecom:msg", str(msg_id), now=now, expires_at=now + MSG_MEMORY):
            log.info("wecom message %s already handled", msg_id)
            return
        if str(msg.get("AgentID", self.agent_id)) != str(self.agent_id):
            log.warning("wecom message for agent %s ignored (we are %s)", msg.get("AgentID"), self.agent_id)
            return
        user = msg.get("FromUserName")
        if not user:
            return
        kind, event = msg.get("MsgType"), msg.get("Event")
        if kind == "text":
            text = msg.get("Content", "").strip()
            await self._text(user, _MENTIONS.sub("", text) or text)
        elif kind == "event" and event == "template_card_event":
            await self._button(user, msg.get("EventKey") or "", msg.get("ResponseCode"))
        elif kind == "event":
            log.debug("wecom event %s from %s ignored", event, user)
        else:
            await self.reply(user, "目前只能处理文字命令，例如「认领 12」或 /claim 12。发送「帮助」查看全部命令。")

    def _request(self, user: str, text: str) -> Request:
        if self.host.identify("wecom", user) is None:
            log.warning("wecom message from unknown user %s (not in any person's handles.wecom)", user)
        return Request(platform="wecom", chat=user, user_id=user, text=text, private=True)

    async def _text(self, user: str, text: str) -> None:
        for reply in await self.host.handle(self._request(user, text)):
            await self.reply(user, reply.text, reply.image, reply.document)

    async def _button(self, user: str, key: str, response_code: str | None) -> None:
        pressed = await self.host.press(self._request(user, ""), key)
        if pressed.replies:
            for reply in pressed.replies:
                await self.reply(user, reply.text, reply.image, reply.document)
        elif pressed.notice and pressed.alert:
            await self.reply(user, pressed.notice)
        if response_code and pressed.changed:
            await self.relabel(user, response_code, pressed.changed)

    async def reply(self, user: str, text: str, image: str | None = None, document: str | None = None) -> None:
        """Answer a person directly (not through the outbox: the answer is for now or never)."""
        for attempt in range(3):
            try:
                await self.send(user, Outgoing(text=text, image=image, document=document))
                return
            except DeliveryError as e:
                if e.permanent or attempt == 2:
                    log.error("wecom: could not answer %s: %s", user, e)
                    return
                await asyncio.sleep(min(e.retry_after or 1.0, 30))
