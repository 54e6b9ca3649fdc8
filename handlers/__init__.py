"""What people say to the bot: command parsing, permissions, incident actions, replies.

Platform-neutral: adapters build a `Request` and show the `Reply`s (or a pressed button's
`Pressed`), through the small `Host` protocol (`handlers.base`); nothing here imports a chat
platform.
"""

from handlers.base import Deps, Host, Pressed, Reply, Request
from handlers.commands import COMMANDS, handle
from handlers.host import ChatHost

__all__ = ["COMMANDS", "ChatHost", "Deps", "Host", "Pressed", "Reply", "Request", "handle"]
