"""What people say to the bot: command parsing, permissions, incident actions, replies.

Platform-neutral: adapters build a `Request` and show the `Reply`s; nothing here imports a
chat platform.
"""

from handlers.base import Deps, Reply, Request
from handlers.commands import COMMANDS, handle

__all__ = ["COMMANDS", "Deps", "Reply", "Request", "handle"]
