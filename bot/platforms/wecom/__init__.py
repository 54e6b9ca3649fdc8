"""WeCom (企业微信): group robots post to the team's groups, a self-built app takes commands.

Two WeCom interfaces, because neither does everything:

* a **group robot** (群机器人) webhook posts alert cards, notices, digests and report charts
  to a group. It can only post: it cannot edit a message or receive one. Chats are addressed
  as ``robot:<name>``, the name being a key of ``YUQING_WECOM_ROBOT_KEYS`` (usually the team id);
* a **self-built app** (自建应用) receives what people send it, through an encrypted callback
  to a small aiohttp server that `serve` runs, and answers through the app message API. Its
  private cards are template cards with buttons. Chats are addressed by WeCom user id.

Translates only, like every adapter. Four modules, one concern each:

* `render` — cards -> robot markdown / template cards (pure);
* `client` — the HTTP API: access tokens, message/send, robot webhooks, per-minute limits,
  WeCom error codes -> `core.platform` delivery errors;
* `callback` — the aiohttp callback server: signature, decryption (wechatpy), replay and
  size checks;
* `dispatch` — a decrypted message -> `handlers.Host` (a text or a button) -> the answers;

and `adapter`, which composes them into `WeComPlatform`. Every module logs as
``bot.platforms.wecom``.
"""

from bot.platforms.wecom.adapter import WeComPlatform
from bot.platforms.wecom.callback import MAX_BODY, MAX_SKEW
from bot.platforms.wecom.client import ROBOT_PREFIX
from bot.platforms.wecom.dispatch import MSG_MEMORY
from bot.platforms.wecom.render import MARKDOWN_BYTES, TEXT_BYTES, card_markdown, template_card

__all__ = [
    "MARKDOWN_BYTES",
    "MAX_BODY",
    "MAX_SKEW",
    "MSG_MEMORY",
    "ROBOT_PREFIX",
    "TEXT_BYTES",
    "WeComPlatform",
    "card_markdown",
    "template_card",
]
