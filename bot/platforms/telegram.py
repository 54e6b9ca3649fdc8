"""Telegram through python-telegram-bot 22: the production chat platform.

Translates only: cards -> HTML + inline keyboards, chat updates -> `handlers.Request`, and
Telegram's errors -> `core.platform` delivery errors. What a message or a pressed button
comes to (who may close, what 认领 does) is the handlers' answer (`handlers.Host`); the
adapter shows it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import html
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest, RequestData

from core.actions import button_data
from core.logsafe import BoundedLog
from core.platform import DeliveryError, MessageGone, Outgoing, PartlySent, text_parts
from core.render import Card, card_text, shrink_card
from core.tls import tls_context
from handlers import COMMANDS
from handlers.base import UNKNOWN_BUTTON, Host, Pressed, Request, detached_press

__all__ = ["TelegramPlatform", "card_html", "card_keyboard"]

log = logging.getLogger(__name__)

LIMIT = 4096
SEND_TIMEOUT = 30.0  # seconds to wait for the Bot API to answer a send


def _esc(text: str) -> str:
    return html.escape(text or "", quote=False)


def _html(card: Card) -> str:
    title = (
        f'<a href="{html.escape(card.url, quote=True)}">{_esc(card.title)}</a>'
        if card.url
        else f"<b>{_esc(card.title)}</b>"
    )
    lines = [f"<b>{_esc(card.header)}</b>", title]
    if card.excerpt:  # the matched words in bold; every piece escaped
        lines.append("<b>摘要</b>：" + "".join(f"<b>{_esc(t)}</b>" if m else _esc(t) for t, m in card.excerpt))
    lines += [f"<b>{_esc(label)}</b>：{_esc(value)}" for label, value in card.fields]
    if card.footer:
        lines.append(f"<i>{_esc(card.footer)}</i>")
    return "\n".join(lines)


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a CJK extension-B character or an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def card_html(card: Card, limit: int = LIMIT) -> str:
    """The card as Telegram HTML, every scraped string escaped, cut below `limit` without breaking tags."""
    return _html(shrink_card(card, lambda c: _units(_html(c)) <= limit))


def _markup_refused(err: BadRequest) -> bool:
    """Telegram refuses the card's formatting itself (not the chat or the message): the same
    HTML would be refused on every retry."""
    text = err.message.lower()
    return "can't parse entities" in text or "wrong http url" in text or "unsupported url protocol" in text


def plain_card(card: Card, limit: int = LIMIT) -> str:
    """The card as plain text within Telegram's limit (the buttons stay under it)."""

    def fits(c: Card) -> bool:
        return _units(card_text(c, with_commands=False)) <= limit

    return card_text(shrink_card(card, fits), with_commands=False)


def card_keyboard(card: Card) -> InlineKeyboardMarkup | None:
    """The card's buttons as one row; their data is `core.actions`' (under 64 bytes)."""
    if not card.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=button_data(b.action, b.incident_id)) for b in card.buttons]]
    )


def choices_keyboard(rows: Iterable[Iterable[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, button data) as an inline keyboard."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


# how long an update id is remembered: Telegram keeps an unconfirmed update for 24 hours
UPDATE_MEMORY = 2 * 24 * 3600
FORWARDED_COMMAND = "转发的消息不会作为命令执行。如需操作，请直接发送命令（如 /claim 12）。"
EDITED_COMMAND = "编辑过的命令不会再次执行。如需更正，请重新发送一条命令（如 /note 12 更正：…）。"
# sent on behalf of a chat (an anonymous group admin, a linked channel): nobody to check the role of
ANONYMOUS_COMMAND = (
    "以群组或频道身份（匿名管理员）发送的命令无法确认是谁，未执行。请在群设置中关闭匿名发言，或由本人账号重新发送。"
)
# a picture, file, voice or location sent privately with no text: nothing the bot can keep
MEDIA_ONLY = (
    "机器人只读取文字，不保存图片、文件或语音。提交线索请发送 /tip 链接 说明；给事件补充材料请用 "
    "/note 编号 文字描述（也可以把命令写在图片的说明文字里）。发送 /help 查看全部命令。"
)


def _translate(err: TelegramError) -> DeliveryError:
    if isinstance(err, RetryAfter):
        with warnings.catch_warnings():  # PTB 22.2+ warns that the type will become timedelta
            warnings.simplefilter("ignore")
            ra = err.retry_after
        seconds = ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra)
        return DeliveryError(f"Telegram flood control: retry after {seconds:g}s", retry_after=seconds)
    if isinstance(err, Forbidden):
        return DeliveryError(f"Telegram refused: {err.message}", permanent=True)
    if isinstance(err, BadRequest):
        text = err.message.lower()
        if "message to edit not found" in text or "message can't be edited" in text:
            return MessageGone(err.message)
        return DeliveryError(
            f"Telegram bad request: {err.message}",
            permanent="chat not found" in text
            or "can't parse entities" in text
            or "too long" in text
            or NO_METHOD.lower() in text,
        )
    if isinstance(err, TimedOut):  # the request was made; Telegram may have the message
        return DeliveryError(f"Telegram timed out: {err.message}", uncertain=True)
    if isinstance(err, NetworkError):
        return DeliveryError(f"Telegram unreachable: {err.message}")
    return DeliveryError(f"Telegram error: {err}")


def _update_key(update: Update) -> str:
    """What makes an update the same one again: its id and what it is about (the press, or the
    chat, message and edit). Telegram re-sends an update with the same id; a Bot API server that
    starts again (an emulator, a self-hosted one with its state lost) counts ids from 1 again,
    for new messages (and may count message ids again too: the date and text tell them apart)."""
    msg, query = update.effective_message, update.callback_query
    if query is not None:
        about: object = ["press", query.id]
    elif msg is not None:
        about = [msg.chat_id, msg.message_id, str(msg.date), str(msg.edit_date), msg.text or msg.caption or ""]
    else:
        about = update.to_dict()
    content = json.dumps(about, sort_keys=True, ensure_ascii=False, default=str)
    return f"{update.update_id}:{hashlib.sha256(content.encode()).hexdigest()[:16]}"


def _attachment(msg: Message) -> str | None:
    """What a captioned message carries, as `Request.attachment` names it."""
    if msg.photo or msg.sticker:
        return "image"
    if msg.video or msg.animation or msg.video_note:
        return "video"
    if msg.audio or msg.voice:
        return "audio"
    return "file" if msg.document else None


# ---------------------------------------------------------------------- the wire
# Methods the bot can do without: an API that lacks one (an emulator, an old self-hosted server)
# gets a warning, and the bot goes on as if the call had succeeded.
OPTIONAL_METHODS = frozenset(
    {
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "setChatMenuButton",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "deleteWebhook",  # python-telegram-bot calls it before polling
    }
)
_MISSING_WORDS = ("method not found", "not supported", "not implemented", "unknown method", "no such method")
NO_METHOD = "the Bot API has no method"  # a missing method that is not optional: refused for good
# methods whose result is the message sent or edited (when not just `true`)
_MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)
_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")


UNKNOWN_MESSAGE = 0  # a message sent whose id the API did not say (Telegram's ids start at 1)
UNKNOWN_DATE = 1  # a message without a date: a fixed one, so that the same update read again is the same


def _seconds(value: object) -> int:
    """A message date as Telegram gives it (Unix seconds): milliseconds (an emulator's
    JavaScript `Date.now()`) are scaled, a missing or unreadable one is UNKNOWN_DATE (not 0:
    that marks an inaccessible message)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return UNKNOWN_DATE
    return int(value // 1000) if value > 10**11 else int(value)


def _mend_user(user: object) -> None:
    """A sender as Telegram always describes one (emulators leave out `is_bot`, `first_name`)."""
    if isinstance(user, dict):
        user.setdefault("is_bot", False)
        user.setdefault("first_name", str(user.get("username") or ""))


def _mend_message(msg: object, chat_id: object = None) -> None:
    """Fill in, in place, what an emulator leaves out of a message and Telegram always sends:
    a date in seconds, the chat (from the request, when known) and its type."""
    if not isinstance(msg, dict):
        return
    msg["date"] = _seconds(msg.get("date"))
    _mend_user(msg.get("from"))
    chat = msg.get("chat")
    if not isinstance(chat, dict) and isinstance(chat_id, int | str):
        try:
            chat = msg["chat"] = {"id": int(chat_id)}
        except ValueError:  # an @channelname
            chat = msg["chat"] = {"id": chat_id, "type": "channel"}
    if isinstance(chat, dict) and "type" not in chat and isinstance(chat.get("id"), int | str):
        try:
            chat["type"] = "private" if int(chat["id"]) > 0 else "supergroup"
        except ValueError:
            pass
    replied = msg.get("reply_to_message")
    if isinstance(replied, dict):
        _mend_message(replied, (msg.get("chat") or {}).get("id") if isinstance(msg.get("chat"), dict) else None)


def _readable(cls: Any, data: dict) -> str | None:
    """None when python-telegram-bot can read `data` as `cls`; else why not."""
    try:
        cls.de_json(json.loads(json.dumps(data)), None)  # a copy: de_json changes what it reads
    except Exception as e:  # whatever the library raises on a shape it does not expect
        return f"{type(e).__name__}: {e}"
    return None


def _mend_update(update: dict) -> dict:
    """One update of getUpdates as the bot can read it; an update it still cannot read becomes
    an empty one with the same id (confirmed and skipped: it must not stop the updates after
    it, which Telegram would otherwise send again and again), and the log says so."""
    for key in _MESSAGE_KEYS:
        _mend_message(update.get(key))
    query = update.get("callback_query")
    if isinstance(query, dict):
        query.setdefault("chat_instance", "")
        _mend_user(query.get("from"))
        message = query.get("message")
        _mend_message(message)
        if isinstance(message, dict) and _readable(Message, message) is not None:
            # a press is still answered (handlers.base.detached_press) without its message
            log.warning("a button press came with a message the bot cannot read; answered without it")
            del query["message"]
    why = _readable(Update, update)
    if why is None:
        return update
    kinds = [k for k in update if k != "update_id"]
    log.warning("skipped Telegram update %s (%s) of a shape the bot cannot read: %s", update["update_id"], kinds, why)
    return {"update_id": update["update_id"]}


def _error(code: int, description: str) -> tuple[int, bytes]:
    return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()


def _ok(result: object) -> tuple[int, bytes]:
    return HTTPStatus.OK, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def mend_answer(method: str, code: int, payload: bytes, params: dict | None = None) -> tuple[int, bytes]:
    """The Bot API's answer to `method` as Telegram gives it, whoever gave it (Telegram, a
    self-hosted server, a proxy in front, an emulator), so that python-telegram-bot reads it
    without failing after the fact (a sent card whose answer cannot be read would be sent again):

    * a body that is not Bot API JSON (a proxy's HTML page for 502/504) becomes an error of the
      same status, or 502 when it came with 200: retried like any 5xx;
    * HTTP 200 with `ok: false` becomes the error it names; an error without `description`
      (`{"message": …}`) gets one;
    * a method in `OPTIONAL_METHODS` the server does not have (404, "not supported") succeeds,
      with a warning;
    * getMe without `is_bot`, messages with dates in milliseconds or without date or chat type,
      updates the library cannot read (see `_mend_update`), edits answered `null` are mended.
    """
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        data = None
    if not isinstance(data, dict) or ("ok" not in data and 200 <= code <= 299):
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "HTTP error"
        if 200 <= code <= 299:
            code, phrase = HTTPStatus.BAD_GATEWAY, "Bad Gateway"
        return _error(code, f"{phrase} ({code}): the Bot API answered without its JSON")
    if 200 <= code <= 299 and data.get("ok") is False:
        wanted = data.get("error_code")
        code = wanted if isinstance(wanted, int) and 400 <= wanted <= 599 else HTTPStatus.INTERNAL_SERVER_ERROR
    if not 200 <= code <= 299:
        description = str(data.get("description") or data.get("message") or f"HTTP {code}")
        missing = any(w in description.lower() for w in _MISSING_WORDS)
        if method in OPTIONAL_METHODS and (missing or code == HTTPStatus.NOT_FOUND):
            log.warning("the Bot API does not have %s (%s); going on without it", method, description)
            return _ok(True)
        if missing and method not in ("getMe", "getUpdates"):
            # said in words: a bare 404 "Not Found" is also how Telegram answers every method
            # once the token is revoked, which must stay a retried failure (the alert waits for
            # a new token), never a refusal for good
            return _error(HTTPStatus.BAD_REQUEST, f"Bad Request: {NO_METHOD} {method} ({description})")
        if "description" not in data:
            data = {**data, "ok": False, "description": description}
            return code, json.dumps(data, ensure_ascii=False).encode()
        return code, payload
    if "result" not in data:
        return _ok(True)
    result = data["result"]
    now = int(time.time())
    if method == "getMe" and isinstance(result, dict):
        result.setdefault("is_bot", True)
        result.setdefault("first_name", result.get("username") or "bot")
    elif method == "getUpdates" and isinstance(result, list):
        result = [_mend_update(u) for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
    elif method in _MESSAGE_METHODS:
        if method.startswith("send") and not (isinstance(result, dict) and "message_id" in result):
            # sent (ok), but which message it became is not said: id 0, never sent again for it
            log.warning("the Bot API answered %s without the message's id (%r); recorded as message 0", method, result)
            result = {"message_id": UNKNOWN_MESSAGE, "date": now}
            _mend_message(result, (params or {}).get("chat_id"))
        elif result is None:  # an edit answered `null`: done, nothing to read
            return _ok(True)
        if isinstance(result, dict):
            _mend_message(result, (params or {}).get("chat_id"))
            if _readable(Message, result) is not None and "message_id" in result:
                log.warning("the Bot API answered %s with a message the bot cannot fully read; kept its id", method)
                result = {"message_id": result["message_id"], "date": now, "chat": result.get("chat") or {}}
                _mend_message(result, (params or {}).get("chat_id"))
    else:
        return code, payload
    return _ok(result)


# An empty getUpdates answered sooner than this, though a long poll was asked for, is from a
# server that does not hold the request (an emulator): the next poll waits out the rest, or the
# bot would poll in a tight loop.
SHORT_POLL_FLOOR = 1.0


def _empty(payload: bytes) -> bool:
    """A successful answer with an empty list of updates."""
    if len(payload) > 64:
        return False
    try:
        return json.loads(payload) == {"ok": True, "result": []}
    except ValueError:
        return False


class BotAPIRequest(HTTPXRequest):
    """python-telegram-bot's HTTPX request, reading every answer through `mend_answer`, and
    pacing getUpdates when the server answers at once instead of holding a long poll."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        started = time.monotonic()
        code, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        params = request_data.parameters if request_data is not None else None
        name = url.rsplit("/", 1)[-1]
        code, payload = mend_answer(name, code, payload, params)
        if name == "getUpdates" and (params or {}).get("timeout") and _empty(payload):
            rest = SHORT_POLL_FLOOR - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)
        return code, payload


REPLY_TRIES = 3  # a direct answer to a command: the first try and two more


def _quoting(quote: bool) -> dict[str, Any]:
    """How an answer quotes the command: in a group it does, and still goes out when the command
    is no longer there (deleted by its sender or a clean-up bot before the answer)."""
    return {"do_quote": quote, "allow_sending_without_reply": True}


async def _retrying(send: Callable[[], Awaitable[Message]]) -> Message:
    """An answer to a command (sent at once, not through the outbox): a 5xx, an HTML error page
    or a dropped connection is tried again twice, shortly, and a short flood wait is waited
    out, so the person is not left without an answer. A timeout is not tried again: the answer
    may be in the chat."""
    for attempt in range(REPLY_TRIES):
        try:
            return await send()
        except (TimedOut, BadRequest):  # the answer may be there; or it is refused as it is
            raise
        except RetryAfter as e:
            wait = _translate(e).retry_after or 0.0
            if attempt == REPLY_TRIES - 1 or wait > 5:
                raise
        except NetworkError as e:
            if attempt == REPLY_TRIES - 1:
                raise
            wait = 0.5 * 2**attempt
            log.warning("an answer to a command failed (%s); trying again in %gs", e, wait)
        await asyncio.sleep(wait)
    raise AssertionError("not reached")


_TOPIC_CHAT = re.compile(r"(-?\d+)/(\d+)")


def split_topic(chat: str) -> tuple[str, int | None]:
    """A configured Telegram chat as (group id, forum topic or None): "-1001234567890/42" is
    topic 42 of that group (the number at the end of the topic's link, t.me/c/1234567890/42)."""
    m = _TOPIC_CHAT.fullmatch(str(chat).strip())
    return (m.group(1), int(m.group(2))) if m else (str(chat), None)


def _telegram_chats(config) -> list[str]:
    """Every Telegram chat the configuration names (teams' groups and admin chats, the partner
    departments' groups of escalation steps)."""
    steps = [step for chain in getattr(config, "escalation", ()) for step in chain.steps]
    out = []
    for holder in (*getattr(config, "teams", ()), *steps):
        for mapping in (getattr(holder, "chats", {}), getattr(holder, "admin_chat", {})):
            if mapping.get("telegram"):
                out.append(str(mapping["telegram"]))
    return out


class TelegramPlatform:
    """Adapter: `send`/`edit` for the outbox, and `serve(app)` to receive updates by polling."""

    name = "telegram"
    max_length = LIMIT
    text_limit = (LIMIT, _units)  # texts are split by UTF-16 code units, as Telegram counts
    # A burst of at least this many new grade III–IV alerts in one chat becomes one digest a minute.
    digest_after = 4
    digests_per_minute = 3  # well within Telegram's 20 messages a minute to a group

    def __init__(
        self,
        config,
        *,
        settings=None,
        token: str | None = None,
        base_url: str | None = None,
        poll_interval: float = 0.0,
        poll_timeout: int = 10,
    ):
        token = token or (
            settings.telegram_bot_token.get_secret_value() if settings and settings.telegram_bot_token else None
        )
        if not token:
            from core.errors import FieldProblem, SettingsError

            raise SettingsError(
                "telegram",
                [
                    FieldProblem(
                        "TELEGRAM_BOT_TOKEN",
                        "使用 Telegram 平台需要设置机器人令牌",
                        "a bot token is required for the telegram platform",
                    )
                ],
            )
        base_url = base_url or (settings.telegram_base_url if settings else None)
        self.config = config
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        builder: ApplicationBuilder = ApplicationBuilder().token(token).rate_limiter(AIORateLimiter(max_retries=0))
        # a slow Bot API answer is not a failure: PTB's 5 s default turned slow answers into
        # "timed out" and the card was sent again; a send now waits up to SEND_TIMEOUT.
        # The two requests are what ApplicationBuilder makes by default (256 connections for
        # sends, 1 for getUpdates with PTB's default timeouts), with the process's one TLS
        # context (core.tls) instead of a new one each (~35 ms of CPU each).
        verify = {"verify": tls_context()}
        builder = builder.request(
            BotAPIRequest(
                connection_pool_size=256,
                read_timeout=SEND_TIMEOUT,
                write_timeout=SEND_TIMEOUT,
                connect_timeout=10,
                pool_timeout=SEND_TIMEOUT,
                httpx_kwargs=verify,
            )
        ).get_updates_request(BotAPIRequest(connection_pool_size=1, httpx_kwargs=verify))
        if base_url:
            base = base_url.rstrip("/")
            if not base.endswith("/bot"):
                base += "/bot"
            builder = builder.base_url(base).base_file_url(base[:-4] + "/file/bot")
        self.application: Application = builder.build()
        self.host: Host | None = None  # the bot, as adapters see it; set by open()
        self._stop = asyncio.Event()
        self.ignored = BoundedLog(log, "telegram updates from unconfigured chats")
        self.connected = False  # getMe succeeded; until then sends wait (see `open`)
        self._moves: dict[str, str] = {}  # configured group id -> its id now (storage: chat_moves)
        self._moved_from: dict[str, str] = {}
        # a forum group's topic configured as the chat ("-1001234567890/42": alerts go to topic
        # 42): the group's id -> the configured values naming one of its topics
        self._topic_chats: dict[str, list[str]] = {}
        for value in _telegram_chats(config):
            group, topic = split_topic(value)
            if topic is not None and value not in self._topic_chats.setdefault(group, []):
                self._topic_chats[group].append(value)
        self.retry_max = 60.0  # longest wait between two connection attempts, seconds

    # ------------------------------------------------------------------ outbox side
    @property
    def bot(self) -> Bot:
        return self.application.bot

    def _not_connected(self) -> None:
        if not self.connected:  # a wait, not a failed attempt: the row keeps its retries
            raise DeliveryError("Telegram not connected yet", retry_after=2)

    def _target(self, chat: str) -> str:
        """Where a configured chat is now (a group that became a supergroup has a new id)."""
        return self._moves.get(str(chat), str(chat))

    def _configured(self, chat: str, topic: int | None = None) -> str:
        """The configured id of a chat the platform moved (the new id -> the old), else `chat`;
        for a group configured by one of its topics, that value ("-100…/42": the one of `topic`,
        the message's topic, when several of its topics are configured, else the first)."""
        chat = self._moved_from.get(str(chat), str(chat))
        values = self._topic_chats.get(chat)
        if not values:
            return chat
        return next((v for v in values if split_topic(v)[1] == topic), values[0])

    def _learn_move(self, old: str, new: str) -> None:
        old = self._configured(old)  # a chain of moves still maps to the configured id
        if self._moves.get(old) == new:
            return
        self._moves[old] = new
        self._moved_from[new] = old
        if self.host is not None:
            self.host.chat_moved("telegram", old, new)

    async def send(self, chat: str, message: Outgoing) -> str:
        self._not_connected()
        chat, topic = split_topic(chat)
        try:
            return await self._send(self._target(chat), message, topic)
        except ChatMigrated as e:  # nothing was sent: Telegram refuses the old id at once
            self._learn_move(chat, str(e.new_chat_id))
            try:
                return await self._send(self._target(chat), message, topic)
            except TelegramError as e2:
                raise _translate(e2) from e2
        except TelegramError as e:
            raise _translate(e) from e

    async def _with_card(self, call: Callable[..., Awaitable[Any]], card: Card) -> Any:
        """`call` (send_message, or edit_message_text of one message) with the card as HTML, or
        as plain text with its buttons when Telegram refuses the HTML: it would refuse the same
        HTML on every retry (a link it will not take), and the alert must not be lost for it."""
        common: dict[str, Any] = {
            "reply_markup": card_keyboard(card),
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
        }
        try:
            return await call(text=card_html(card), parse_mode=ParseMode.HTML, **common)
        except BadRequest as e:
            if not _markup_refused(e):
                raise
            log.warning("Telegram refused a card's HTML (%s): sent as plain text", e.message)
            return await call(text=plain_card(card), **common)

    async def _send(self, chat: str, message: Outgoing, topic: int | None = None) -> str:
        """`message` to `chat`, into forum topic `topic` when one is configured (None: the
        group itself, or its General topic)."""
        where: dict[str, Any] = {"chat_id": chat, "message_thread_id": topic}
        if message.card is not None:
            sent = await self._with_card(functools.partial(self.bot.send_message, **where), message.card)
        else:
            # the deliverer sends texts in parts of at most LIMIT; a longer one (a direct
            # call) still goes out whole: in order, later parts threaded under the first.
            # Without text (the deliverer sending what was left of a message), attachments only.
            sent = None
            for text in text_parts(self, message.text) if message.text else ():
                reply_to = message.reply_to or (sent.message_id if sent else None)
                reply = (
                    ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True) if reply_to else None
                )
                part = await self.bot.send_message(
                    **where, text=text, reply_parameters=reply, disable_notification=message.silent
                )
                sent = sent or part
            attachments_sent = 0
            try:
                if message.image:
                    with open(message.image, "rb") as fh:
                        part = await self.bot.send_photo(**where, photo=fh)
                    sent, attachments_sent = sent or part, attachments_sent + 1
                if message.document:
                    with open(message.document, "rb") as fh:
                        part = await self.bot.send_document(
                            **where, document=fh, filename=os.path.basename(message.document)
                        )
                    sent = sent or part
            except TelegramError as e:
                if sent is None:  # nothing went out: the message fails as a whole
                    raise
                # the text went: sending the message again would repeat it
                raise PartlySent(
                    _translate(e), message_id=str(sent.message_id), attachments_sent=attachments_sent
                ) from e
        if sent is None:  # not reached: a message has text or an attachment
            raise DeliveryError("nothing was sent", permanent=True)
        return str(sent.message_id)

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        if message.card is None:
            return
        self._not_connected()
        chat = split_topic(chat)[0]  # a message is edited by its chat and id, whatever its topic
        try:
            await self._edit(self._target(chat), message_id, message)
        except ChatMigrated as e:
            self._learn_move(chat, str(e.new_chat_id))
            raise MessageGone("the group became a supergroup: its old messages are not the bot's to edit") from e

    async def _edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        assert message.card is not None
        try:
            edit = functools.partial(self.bot.edit_message_text, chat_id=chat, message_id=int(message_id))
            await self._with_card(edit, message.card)
        except ChatMigrated:
            raise  # edit() follows the group
        except BadRequest as e:
            if "message is not modified" in e.message.lower():
                return
            raise _translate(e) from e
        except TelegramError as e:
            raise _translate(e) from e

    # ------------------------------------------------------------------ update side
    def _request(self, update: Update, text: str) -> Request | None:
        """Build a request, or None (logged) when the chat is not one the bot serves."""
        chat, user, msg = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or user is None:
            return None
        private = chat.type == ChatType.PRIVATE
        topic = msg.message_thread_id if msg is not None and msg.is_topic_message else None
        here = str(chat.id) if private else self._configured(str(chat.id), topic)
        if not private and not self._the_host().serves("telegram", here):
            # anyone can add the bot to a group: a few lines a minute, then a count (core/logsafe.py)
            self.ignored.log(
                logging.WARNING,
                "unconfigured chat",
                "ignored an update from unconfigured chat %s (%s)",
                chat.id,
                chat.type,
                source=str(chat.id),
            )
            return None
        replied = msg.reply_to_message if msg is not None else None
        if (
            replied is not None
            and msg is not None
            and msg.is_topic_message
            and (replied.forum_topic_created is not None or replied.message_id == msg.message_thread_id)
        ):
            replied = None  # in a forum topic every message "replies" to the topic's first one
        return Request(
            attachment=_attachment(msg) if msg is not None and msg.caption else None,
            platform="telegram",
            chat=here,
            user_id=str(user.id),
            text=text,
            private=private,
            user_name=f"@{user.username}" if user.username else None,
            bot_username=self._bot_username(),
            reply_to_message=str(replied.message_id) if replied is not None else None,
        )

    def _the_host(self) -> Host:
        """The bot; set by `open`, before any update is read.

        :raises RuntimeError: when called before `open`.
        """
        if self.host is None:
            raise RuntimeError("telegram adapter used before open()")
        return self.host

    def _bot_username(self) -> str | None:
        """Our own @name, from getMe (done when the application was initialised)."""
        try:
            return self.bot.username
        except RuntimeError:  # not initialised yet
            return None

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Telegram's service message when a group becomes a supergroup (in the old group:
        migrate_to_chat_id; in the new one: migrate_from_chat_id): alerts follow the group at
        once, before a send to the old id is refused. Only a group the bot serves is followed."""
        msg, chat = update.effective_message, update.effective_chat
        if msg is None or chat is None:
            return
        if msg.migrate_to_chat_id:
            old, new = str(chat.id), str(msg.migrate_to_chat_id)
        elif msg.migrate_from_chat_id:
            old, new = str(msg.migrate_from_chat_id), str(chat.id)
        else:
            return
        if self._the_host().serves("telegram", self._configured(old)):
            self._learn_move(old, new)

    def _first_time(self, update: Update) -> bool:
        """False for an update Telegram delivers again (it re-sends those a bot had not confirmed
        when it stopped: a command would run twice), across restarts."""
        now = time.time()
        return self._the_host().first_time(
            "telegram:update", _update_key(update), now=now, expires_at=now + UPDATE_MEMORY
        )

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A picture, file, voice message or location sent privately without a caption: the
        sender is told that only text is read, and how to hand in a tip or a note (in a group,
        such a message is chatter)."""
        msg = update.effective_message
        if msg is None or update.edited_message is not None or not self._first_time(update):
            return
        log.info("telegram: an attachment without text from %s in a private chat, answered with a hint", msg.chat_id)
        await _retrying(functools.partial(msg.reply_text, MEDIA_ONLY, do_quote=False))

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message, or a photo or file with a caption: a command for the handlers."""
        msg = update.effective_message
        text = (msg.text or msg.caption) if msg is not None else None
        if msg is None or not text:
            return
        req = self._request(update, text)
        if req is None or not self._first_time(update):
            return
        # A forwarded message is someone else's words (a command in it is not this sender's),
        # and an edited one is not a new command (running it again would act twice: a second
        # note, a second escalation). Neither runs; a command's sender is told why, chatter is not.
        forwarded = msg.forward_origin is not None
        anonymous = msg.sender_chat is not None  # the `from` is a placeholder (GroupAnonymousBot, Telegram)
        if forwarded or anonymous or update.edited_message is not None:
            if self._the_host().is_command(text, private=req.private):
                why = FORWARDED_COMMAND if forwarded else ANONYMOUS_COMMAND if anonymous else EDITED_COMMAND
                await _retrying(functools.partial(msg.reply_text, why, **_quoting(not req.private)))
            return
        # in a forum topic, every part of every answer goes to the topic (the library does so for
        # a reply to the command, not for one to our own first part when the API's answer to it
        # does not name the topic)
        topic = msg.message_thread_id if msg.is_topic_message else None
        quote = _quoting(not req.private)
        for reply in await self._the_host().handle(req):
            first: Message | None = None
            for chunk in text_parts(self, reply.text):  # in order; later parts under the first
                if first is None:
                    first = await _retrying(functools.partial(msg.reply_text, chunk, **quote))
                else:
                    await _retrying(functools.partial(first.reply_text, chunk, message_thread_id=topic))
            if reply.image:
                image = reply.image

                async def photo(path: str = image) -> Message:
                    with open(path, "rb") as fh:
                        return await msg.reply_photo(fh, **quote)

                await _retrying(photo)
            if reply.document:
                document = reply.document

                async def doc(path: str = document) -> Message:
                    with open(path, "rb") as fh:
                        return await msg.reply_document(fh, filename=os.path.basename(path), **quote)

                await _retrying(doc)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: the handlers' answer (`Pressed`) is shown first, then the buttons
        under the card change when the answer says so."""
        query = update.callback_query
        if query is None:
            return
        if not self._first_time(update):
            return  # answered the first time
        req = self._request(update, "") if query.message is not None else None
        try:
            pressed: Pressed
            if query.message is None:  # no chat to check the presser's role in: the command to use
                log.info("a button press without its message (%r): answered with the command", query.data)
                pressed = detached_press(query.data or "")
            elif req is None:
                pressed = UNKNOWN_BUTTON
            else:
                pressed = await self._the_host().press(req, query.data or "", keyboards=True)
        except Exception:  # answered all the same: a press is never left spinning
            log.exception("error while handling a button press (%r)", query.data)
            pressed = Pressed("操作未能完成，请稍后查看卡片状态再试。")
        markup: InlineKeyboardMarkup | None
        if pressed.choices is not None:
            markup = choices_keyboard(pressed.choices)
        elif pressed.card is not None:
            markup = card_keyboard(pressed.card)
        else:
            markup = None
        notice, alert = pressed.notice, pressed.alert
        if markup is not None:  # swap the buttons first: when that fails, the answer says so
            try:
                await query.edit_message_reply_markup(reply_markup=markup)
            except TelegramError as e:
                if not (isinstance(e, BadRequest) and "not modified" in e.message.lower()):
                    log.warning("could not change a card's buttons: %s", e)
                    notice, alert = "按钮暂时无法更新，请稍后再按一次。", True
                    if pressed.choices is not None:
                        notice += "也可回复此卡片发送：/close 处置方式 [说明]"
        try:
            if notice:
                # a callback answer holds 200 characters
                await query.answer(notice[:190], show_alert=alert)
            else:
                await query.answer()
        except TelegramError as e:  # too late ("query is too old"), or the API failed: done all the same
            log.warning("could not answer a button press (%r), which was handled: %s", query.data, e)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)

    async def open(self, host: Host) -> None:
        """Register the update handlers and connect (getMe). When the Bot API cannot be reached,
        start anyway: `serve` keeps trying with backoff while the other platforms work, and
        delivery to Telegram waits (nothing is lost) until it is back."""
        self.host = host
        self._moves = dict(host.moved_chats("telegram"))
        self._moved_from = {new: old for old, new in self._moves.items()}
        a = self.application
        a.add_handler(CallbackQueryHandler(self.on_button))
        a.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        # a command typed as a photo's or a file's caption is read like one sent as text
        a.add_handler(MessageHandler(filters.TEXT | filters.CAPTION, self.on_message))
        a.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.ATTACHMENT, self.on_media))
        a.add_error_handler(self.on_error)
        await self._connect()

    async def _connect(self) -> bool:
        """One attempt to reach the Bot API; True when connected. A rejected token stays fatal."""
        try:
            await self.application.initialize()
        except InvalidToken as e:
            from core.errors import FieldProblem, SettingsError

            raise SettingsError(
                "telegram",
                [
                    FieldProblem(
                        "TELEGRAM_BOT_TOKEN",
                        "Telegram 拒绝了这个机器人令牌，请检查",
                        "the bot token was rejected by Telegram",
                    )
                ],
            ) from e
        except TelegramError as e:
            self.connected = False
            log.warning(
                "Telegram 暂时无法连接，稍后重试，其他平台照常工作 / Telegram Bot API unreachable at start-up "
                "(%s); retrying with backoff, other platforms keep working",
                e,
            )
            return False
        try:
            await self.application.bot.set_my_commands([BotCommand(c.name, c.summary[:60]) for c in COMMANDS])
        except TelegramError as e:
            log.warning("could not set the command menu: %s", e)
        self.connected = True
        return True

    async def _until_connected(self) -> bool:
        """Retry `_connect` with backoff (1 s doubling to `retry_max` s) until connected or stopped."""
        delay = 1.0
        while not self.connected:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
                return False
            except TimeoutError:
                pass
            if await self._connect():
                log.warning("Telegram 已恢复连接 / Telegram Bot API reachable again; delivering what waited")
                if self.host is not None:
                    self.host.deliver_now()
            delay = min(delay * 2, self.retry_max)
        return True

    async def serve(self, host: Host) -> None:
        """Poll for updates until `stop()` (the run loop's signal handler calls it); first
        connect, if the Bot API was down at start-up."""
        if not await self._until_connected():
            return
        a = self.application
        updater = a.updater
        if updater is None:  # the builder always makes one (nothing here asks it not to)
            raise RuntimeError("the Telegram application has no updater")
        await a.start()
        delay = 1.0
        while True:
            try:
                await updater.start_polling(
                    poll_interval=self.poll_interval,
                    timeout=self.poll_timeout,
                    # edits too: an edited command is answered (EDITED_COMMAND), not silently dropped
                    allowed_updates=["message", "edited_message", "callback_query"],
                    drop_pending_updates=False,
                )
                break
            except InvalidToken:
                raise
            except TelegramError as e:  # deleteWebhook, called first, failed (a 5xx, a blip)
                log.warning("could not start polling Telegram (%s); trying again in %gs", e, delay)
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                    await a.stop()
                    return
                except TimeoutError:
                    delay = min(delay * 2, self.retry_max)
        try:
            await self._stop.wait()
        finally:
            await updater.stop()
            await a.stop()

    async def close(self) -> None:
        """Close the connection to Telegram — after delivery has stopped, so no send is cut off."""
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        self.ignored.flush()

    def stop(self) -> None:
        self._stop.set()
