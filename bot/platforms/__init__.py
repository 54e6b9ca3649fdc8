"""Chat platform adapters: translate chat events <-> core calls, nothing else."""

from __future__ import annotations

__all__ = ["AVAILABLE"]

# platform name -> "module:factory"; a platform not listed here is not built yet.
AVAILABLE = {
    "console": "bot.platforms.console:ConsolePlatform",
    "telegram": "bot.platforms.telegram:TelegramPlatform",
    "wecom": "bot.platforms.wecom:WeComPlatform",
    "wxpy": "bot.platforms.wxpy:WxpyPlatform",
}
