"""What a handler receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import Clock
from core.incidents import IncidentService
from core.render import Card
from core.routing import Router
from core.text import Segmenter

__all__ = ["Deps", "Reply", "Request"]


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


@dataclass(frozen=True)
class Reply:
    """An answer to the person who asked, shown in the same chat."""

    text: str
    card: Card | None = None
    image: str | None = None  # a PNG to show with the text (report charts)
    document: str | None = None  # a file to send with the text (the ledger .xlsx): its path


@dataclass
class Deps:
    """What handlers may use; built once by the app."""

    db: Database
    config: object
    service: IncidentService
    router: Router
    segmenter: Segmenter
    clock: Clock
    tz: ZoneInfo
    render_card: object  # Incident -> Card
    pipeline: object = None  # jobs.pipeline.Pipeline, for tips
    http: object = None  # () -> httpx.AsyncClient, for tips
    resolve: object = None  # host -> addresses (tests swap it)
    data_dir: object = None  # where report charts are written
