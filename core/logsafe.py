"""What goes into the log: secrets never, refusals from strangers at a bounded rate.

* `RedactingFilter` sits on every handler `setup_logging` installs. It replaces each secret of
  the settings (every `SecretStr`: the Telegram token, the WeCom secret, callback token and
  AES key, every robot key; a proxy URL's password) and anything shaped like one (a Bot API
  ``bot<id>:<token>``, ``key=``/``access_token=``/``corpsecret=`` in a URL, the password in
  ``scheme://user:password@host``) by ``[REDACTED]`` — in the message, its arguments, the
  exception text and the stack — at every level, also DEBUG.
* `BoundedLog` logs refusals of unauthenticated requests (bad signatures, garbage, uploads cut
  off mid-body): the first few of each kind in a minute one by one, then one summary line
  ("N more … refused in the last 60 s"), so a flood cannot fill the disk or hide the rest.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

__all__ = ["REDACTED", "BoundedLog", "RedactingFilter", "redact", "settings_secrets"]

REDACTED = "[REDACTED]"
MIN_SECRET_LEN = 6  # shorter "secrets" would blank out ordinary words

_PATTERNS: list[tuple[re.Pattern, str]] = [
    # a Telegram bot token, alone or in a Bot API URL (…/bot123456789:AAE…/getMe)
    (re.compile(r"(?<![A-Za-z0-9])((?:bot)?\d{3,}):[A-Za-z0-9_-]{20,}"), rf"\1:{REDACTED}"),
    # secrets in query strings: WeCom robot webhooks (?key=), app API (access_token=, corpsecret=)
    (
        re.compile(r"(?i)([?&;](?:key|access_token|corpsecret|secret|token|password|passwd|api_key)=)[^&\s'\"<>]+"),
        rf"\1{REDACTED}",
    ),
    # the password in scheme://user:password@host (proxies)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]*):[^@\s/'\"]+@"), rf"\1:{REDACTED}@"),
]


def settings_secrets(settings: BaseModel) -> list[str]:
    """Every secret value in a settings object: each `SecretStr` field (also inside dicts and
    lists) and the password of any URL-valued field."""
    found: list[str] = []

    def visit(value) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, (list, tuple, set)):
            for v in value:
                visit(v)
        elif isinstance(value, str) and "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.append(password)

    for name in type(settings).model_fields:
        visit(getattr(settings, name, None))
    return found


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that redacts secrets in the record before any formatter sees it."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: keep what there is, still redacted
                message = f"{record.msg!r} % {record.args!r}"
            record.msg, record.args = self.redact(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self.redact(record.stack_info)
        except Exception:  # never lose a record, never let a secret through: drop only the details
            record.msg, record.args, record.exc_info, record.exc_text = (
                "(log record withheld: could not redact)",
                None,
                None,
                None,
            )
        return True


@dataclass
class _Window:
    start: float
    count: int = 0
    suppressed: int = 0
    last: str = ""
    timer: asyncio.TimerHandle | None = None


class BoundedLog:
    """Log lines of one `kind` at most `burst` times per `window` seconds; the rest are counted
    and summarised in one line when the window ends (or on `flush()`)."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        burst: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.logger, self.what, self.burst, self.window, self.clock = logger, what, burst, window, clock
        self._kinds: dict[str, _Window] = {}

    def log(self, level: int, kind: str, msg: str, *args: object, source: str | None = None) -> None:
        now = self.clock()
        w = self._kinds.get(kind)
        if w is not None and now - w.start >= self.window:
            self._summarise(kind)
            w = None
        if w is None:
            w = self._kinds[kind] = _Window(start=now)
        w.count += 1
        if source:
            w.last = source
        if w.count <= self.burst:
            self.logger.log(level, msg, *args)
            return
        w.suppressed += 1
        if w.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            w.timer = loop.call_later(max(0.0, w.start + self.window - now), self._summarise, kind)

    def _summarise(self, kind: str) -> None:
        w = self._kinds.pop(kind, None)
        if w is None:
            return
        if w.timer is not None:
            w.timer.cancel()
        if w.suppressed:
            span = min(self.window, max(1.0, self.clock() - w.start))
            self.logger.warning(
                "%s: %d more refused (%s) in the last %.0f s, not logged one by one%s",
                self.what,
                w.suppressed,
                kind,
                span,
                f"; the last from {w.last}" if w.last else "",
            )

    def seen(self, kind: str) -> int:
        """How many lines of `kind` the current window has counted, logged or not."""
        w = self._kinds.get(kind)
        return w.count if w is not None else 0

    def flush(self) -> None:
        for kind in list(self._kinds):
            self._summarise(kind)
