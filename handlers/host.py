"""The bot as a platform adapter sees it: `ChatHost`, the one implementation of `handlers.Host`.

Built once by the app; adapters receive it in `open`/`serve` and call nothing else.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from core.config import Person
from handlers.base import Deps, Pressed, Reply, Request
from handlers.buttons import press
from handlers.commands import handle, parse_line, who_is
from storage import outbox as outbox_store
from storage import replay

__all__ = ["ChatHost"]

log = logging.getLogger(__name__)


class ChatHost:
    """`handlers.Host` over the handlers' `Deps`.

    :param deps: what the handlers use.
    :param deliver_now: wakes the delivery job.
    :param settle: ``settle(after_collection)`` waits for the start-up collection (when asked)
        and for the outbox to be delivered.
    :param console_person: who types at the console when it starts.
    :param warn_admins: tells the admins of a problem with the bot itself, in every chat they have.
    """

    def __init__(
        self,
        deps: Deps,
        *,
        deliver_now: Callable[[], None],
        settle: Callable[[bool], Awaitable[None]],
        console_person: Callable[[], Person | None],
        warn_admins: Callable[[str], object] = lambda text: None,
    ):
        self._deps = deps
        self._deliver_now = deliver_now
        self._settle = settle
        self._console_person = console_person
        self._warn_admins = warn_admins

    async def handle(self, request: Request) -> list[Reply]:
        return await handle(self._deps, self._resolved(request))

    async def press(self, request: Request, data: str, *, keyboards: bool = False) -> Pressed:
        return await press(self._deps, self._resolved(request), data, keyboards=keyboards)

    def _resolved(self, req: Request) -> Request:
        """The request with the incident whose card (or notice) it replies to."""
        if req.reply_to_message is None or req.reply_to_incident is not None:
            return req
        iid = outbox_store.incident_for_message(self._deps.db, req.platform, req.chat, req.reply_to_message)
        return dataclasses.replace(req, reply_to_incident=iid)

    def identify(self, platform: str, user_id: str, user_name: str | None = None) -> Person | None:
        return who_is(self._deps, Request(platform=platform, chat="", user_id=user_id, text="", user_name=user_name))

    def serves(self, platform: str, chat: str) -> bool:
        return any(
            str(mapping.get(platform)) == str(chat)
            for t in self._deps.config.teams
            for mapping in (t.chats, t.admin_chat)
            if platform in mapping
        )

    def is_command(self, text: str, *, private: bool) -> bool:
        return parse_line(text, private=private) is not None

    def chat_moved(self, platform: str, old: str, new: str) -> None:
        from core.clock import to_iso

        if not replay.record_chat_move(self._deps.db, platform, old, new, to_iso(self._deps.clock())):
            return
        log.warning("%s chat %s moved to %s: alerts now go there; set %s in the configuration", platform, old, new, new)
        for team in self._deps.config.teams:
            if str(team.chats.get(platform)) == old or str(team.admin_chat.get(platform)) == old:
                self._deps.service.notify_admins(
                    team.id,
                    f"⚠️ 群聊已迁移：{platform} 群 {old} 已升级为新群（编号 {new}）。提醒和命令已自动改用新群；"
                    f"请在配置文件 [teams.chats] 中把 {platform} 改为 \"{new}\"。",
                )

    def moved_chats(self, platform: str) -> dict[str, str]:
        return replay.chat_moves(self._deps.db, platform)

    def first_time(self, kind: str, key: str, *, now: float, expires_at: float) -> bool:
        return replay.first_time(self._deps.db, kind, key, now=now, expires_at=expires_at)

    def forget_expired(self, now: float) -> None:
        replay.prune_seen(self._deps.db, now)

    def deliver_now(self) -> None:
        self._deliver_now()

    def warn_admins(self, text: str) -> None:
        log.warning("told the admins: %s", text)
        self._warn_admins(text)

    def console_person(self) -> Person | None:
        return self._console_person()

    def home_chat(self, platform: str, person: Person | None) -> str:
        chats = self._deps.router.group_chats(person.team if person else None)
        return next(c for p, c in chats if p == platform)

    async def settle(self, *, after_collection: bool = False) -> None:
        await self._settle(after_collection)
