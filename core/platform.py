"""The small protocol every chat platform adapter implements, and its delivery errors.

Adapters live in `bot/platforms/`; the core and jobs only see this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.errors import YuqingError
from core.render import Card, inert, split_text

__all__ = ["ChatPlatform", "DeliveryError", "MessageGone", "Outgoing", "PartlySent", "text_parts"]


@dataclass(frozen=True)
class Outgoing:
    """One message to show: a card, or plain text, optionally threaded under an earlier message."""

    card: Card | None = None
    text: str | None = None
    reply_to: str | None = None
    incident_id: int | None = None
    silent: bool = False
    image: str | None = None  # path of a PNG to send with the text
    document: str | None = None  # path of a file to send with the text (a report's .docx)


class DeliveryError(YuqingError):
    """Sending failed. `retry_after` (seconds) when the platform asked us to wait;
    `permanent` when trying again cannot help (bad chat id, bot removed); `uncertain` when
    the message may have arrived all the same (timed out waiting for the answer)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False, uncertain: bool = False
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        # the request may have reached the platform (a timeout after it was written): the
        # message may be in the chat although no id came back
        self.uncertain = uncertain


class PartlySent(DeliveryError):
    """The text went out (`message_id`) and `attachments_sent` of what came with it (the image,
    then the document), but not the rest: sending the message again would repeat the text. The
    deliverer records what went and sends only the rest, as an `Outgoing` without text."""

    def __init__(self, cause: DeliveryError, *, message_id: str | None, attachments_sent: int = 0):
        super().__init__(
            f"sent without its attachment: {cause}",
            retry_after=cause.retry_after,
            permanent=cause.permanent,
            uncertain=cause.uncertain,
        )
        self.message_id = message_id
        self.attachments_sent = attachments_sent


class MessageGone(DeliveryError):
    """The message to edit no longer exists (deleted); send a fresh one instead."""

    def __init__(self, message: str = "message to edit not found"):
        super().__init__(message, permanent=False)


@runtime_checkable
class ChatPlatform(Protocol):
    """`send`/`edit` serve the outbox; `open` -> `serve` -> `close` is the adapter's life.
    An adapter may set `digest_after` (int) to batch bursts of grade III–IV alerts."""

    name: str
    max_length: int

    async def send(self, chat: str, message: Outgoing) -> str:
        """Send; return the platform's message id."""

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        """Edit in place. 'Not modified' is success; a deleted message raises MessageGone."""

    async def open(self, host: Any) -> None:  # a handlers.Host (core imports no handlers)
        """Connect before anything is delivered. `host` (`handlers.Host`) is all the adapter
        sees of the bot: it hands requests and button presses to it and shows the answers."""

    async def serve(self, host: Any) -> None:  # a handlers.Host
        """Receive messages until told to stop (`stop()`, called by the run loop on a signal)."""

    async def close(self) -> None:
        """Disconnect, after delivery has stopped."""


def text_parts(platform: object, text: str) -> list[str]:
    """A text as the messages `platform` takes (`max_length` characters each, or its
    `text_limit` = (limit, size function) when it counts otherwise; at line breaks
    where possible), in order, made inert (`core.render.inert`). The one place texts are split: the deliverer sends the parts
    in order, later ones threaded under the first; adapters replying to a command use it too."""
    text = inert(text)  # no control characters or bidi overrides from scraped or typed text
    measured = getattr(platform, "text_limit", None)  # (limit, size function), e.g. UTF-8 bytes
    if measured:
        return split_text(text, measured[0], measured[1])
    return split_text(text, getattr(platform, "max_length", 4000) or 4000)
