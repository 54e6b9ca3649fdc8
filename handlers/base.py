"""What a handler receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import Clock
from core.config import Config, Person
from core.incidents import IncidentService
from core.models import Incident
from core.render import Card
from core.routing import Router
from core.text import Segmenter

if TYPE_CHECKING:
    import httpx

    from jobs.pipeline import Pipeline

__all__ = ["UNKNOWN_BUTTON", "Deps", "Host", "Pressed", "Reply", "Request", "detached_press"]


@dataclass(frozen=True)
class Request:
    """A line someone typed, and where."""

    platform: str
    chat: str
    user_id: str
    text: str
    reply_to_incident: int | None = None  # set when the message replies to an incident's card
    private: bool = False  # a one-to-one chat with the bot
    user_name: str | None = None  # "@username" where the platform has one
    bot_username: str | None = None  # the bot's own name on the platform (Telegram's getMe), when
    # it has one: "/list@other_bot" is then left to the other bot
    reply_to_message: str | None = None  # the platform's id of the message this one replies to;
    # the handlers find the incident whose card (or notice) it was
    attachment: str | None = None  # what came with the text (a photo's caption): "image", "video",
    # "audio" or "file"; the bot keeps only the text, and says so


@dataclass(frozen=True)
class Reply:
    """An answer to the person who asked, shown in the same chat."""

    text: str
    card: Card | None = None
    image: str | None = None  # a PNG to show with the text (report charts)
    document: str | None = None  # a file to send with the text (the ledger .xlsx): its path


@dataclass(frozen=True)
class Pressed:
    """What a pressed button came to (`Host.press`); the adapter shows it and decides nothing.

    `notice` is a short answer for the presser (Telegram: the callback answer, an alert when
    `alert`; elsewhere a message, sent only when `alert`). `replies` are the command's replies.
    `choices` ((label, button data) rows) replace the card's buttons; `card` puts its own
    buttons back. `changed` names what the press did when it changed the incident ("已认领"),
    for platforms that relabel the pressed button (WeCom's template cards)."""

    notice: str | None = None
    alert: bool = True
    replies: tuple[Reply, ...] = ()
    choices: tuple[tuple[tuple[str, str], ...], ...] | None = None
    card: Card | None = None
    changed: str | None = None


UNKNOWN_BUTTON = Pressed(notice="无法识别的按钮。")  # forged, stale or from a chat the bot does not serve


def detached_press(data: str) -> Pressed:
    """A press that arrived without the message it was on (the platform did not say in which
    chat the card is): nothing is done, since who may act depends on the chat; the presser is
    told the command that does the same."""
    from core.actions import CHOOSE, DISPOSITIONS, Press

    press = Press.decode(data)
    if press is None:
        return UNKNOWN_BUTTON
    n = press.incident_id
    if press.code == CHOOSE and press.arg is not None and press.arg < len(DISPOSITIONS):
        command = f"/close {n} {DISPOSITIONS[press.arg].value}"
    elif press.action is not None and press.action.value in ("claim", "unclaim", "escalate", "reopen", "read"):
        command = f"/{press.action.value} {n}"
    elif press.action is not None and press.action.value == "close":
        command = f"/close {n} 处置方式"
    elif press.action is not None and press.action.value == "note":
        command = f"/note {n} 内容"
    elif press.action is not None and press.action.value == "instruct":
        command = f"/instruct {n} 批示内容"
    else:
        command = f"/show {n}"
    return Pressed(notice=f"无法读取这张卡片所在的消息，按钮未执行。请直接发送命令：{command}")


class Host(Protocol):
    """What a chat platform adapter may ask of the bot: the whole of it. Adapters map platform
    events to these calls and the answers to platform calls; every decision (who may do what,
    what a button turns into, whether a sender or chat is served) is made behind them, in
    `handlers`. `handlers.host.ChatHost` implements it; the app builds one (`App.host`)."""

    async def handle(self, request: Request) -> list[Reply]:
        """A line someone typed -> the replies to show them (none for chatter in a group)."""

    async def press(self, request: Request, data: str, *, keyboards: bool = False) -> Pressed:
        """A button pressed (its data, `core.actions`). `keyboards`: the platform can swap the
        buttons under a card (Telegram); otherwise close choices and notes are explained in words."""

    def identify(self, platform: str, user_id: str, user_name: str | None = None) -> Person | None:
        """The configured person behind a chat user, or None."""

    def serves(self, platform: str, chat: str) -> bool:
        """Is this group chat one the bot serves (a team's chat)? Updates from others are dropped."""

    def is_command(self, text: str, *, private: bool) -> bool:
        """Would `handle` read `text` as a command (a /word, or a Chinese command word with its
        argument: 认领 12), in a private chat or a group?"""

    def chat_moved(self, platform: str, old: str, new: str) -> None:
        """The platform moved group chat `old` (as configured) to id `new` (a Telegram group that
        became a supergroup): remembered across restarts, and the team's admins are told once to
        update the configuration."""

    def moved_chats(self, platform: str) -> dict[str, str]:
        """The group chats `platform` moved so far: configured id -> the chat's id now."""

    def first_time(self, kind: str, key: str, *, now: float, expires_at: float) -> bool:
        """Remember `key` until `expires_at` (Unix seconds); False when it was seen already
        (replayed callbacks, messages delivered twice), across restarts and processes."""

    def forget_expired(self, now: float) -> None:
        """Drop what `first_time` remembered that has expired."""

    def deliver_now(self) -> None:
        """Deliver what waits in the outbox now (a platform came back)."""

    def warn_admins(self, text: str) -> None:
        """Tell the admins (privately and in the teams' admin chats, on every platform) of a
        problem with the bot itself that they must act on: a platform refusing every message
        it sends us because of this server's clock."""

    def console_person(self) -> Person | None:
        """Who types at the console when it starts (settings, else the first admin)."""

    def home_chat(self, platform: str, person: Person | None) -> str:
        """The group chat of `person`'s team on `platform` (where the console shows the group)."""

    async def settle(self, *, after_collection: bool = False) -> None:
        """Wait until everything queued is delivered (and first, with `after_collection`, for
        the start-up collection): a scripted console session reads what it caused."""


class RenderCard(Protocol):
    """The card of an incident as a chat sees it (`where`: (platform, chat); None: the group's)."""

    def __call__(self, inc: Incident, where: tuple[str, str] | None = None, *, facts_only: bool = False) -> Card: ...


@dataclass
class Deps:
    """What handlers may use; built once by the app."""

    db: Database
    config: Config
    service: IncidentService
    router: Router
    segmenter: Segmenter
    clock: Clock
    tz: ZoneInfo
    render_card: RenderCard
    pipeline: Pipeline  # for tips
    http: Callable[[], httpx.AsyncClient]  # for tips
    resolve: Callable[[str], Awaitable[list[str]]]  # host -> addresses (tests swap it)
    data_dir: Path | None = None  # where report charts are written
