"""The one settings object: `.env` + environment, validated once at start-up.

Only this module reads the environment. Secrets are `SecretStr`, so they never appear
in `repr()` or logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import FieldProblem, SettingsError
from bot.validation import problems_from

__all__ = ["Settings", "load_settings", "PLATFORMS"]

PLATFORMS = ("console", "telegram", "wecom", "wxpy")
Platform = Literal["console", "telegram", "wecom", "wxpy"]


class Settings(BaseSettings):
    """Process settings. Every field can be set as `YUQING_<NAME>` in the environment or `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="YUQING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    platform: Platform | None = Field(
        default=None,
        description="Chat platform; empty picks telegram when a token is set, else console.",
    )
    config: Path = Field(default=Path("config/example.toml"), description="The TOML configuration file.")
    db: Path = Field(default=Path("data/yuqing.db"), description="The SQLite database file.")
    data_dir: Path = Field(default=Path("data"), description="Folder for the database, logs and caches.")
    timezone: str = Field(default="Asia/Shanghai", description="Zone for displayed times and schedules.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = Field(default=None, description="Log file; default <data_dir>/yuqing.log.")
    console_user: str | None = Field(default=None, description="Who types in the console; default the first admin.")
    collect_on_start: bool = Field(default=True, description="Run one collection cycle at start-up.")
    deliver_interval: float = Field(default=1.0, gt=0, description="Seconds between outbox sweeps.")
    http_timeout: float = Field(default=20.0, gt=0, description="Seconds before a source fetch gives up.")
    http_proxy: str | None = Field(default=None, description="Proxy URL for fetching sources.")
    user_agent: str = Field(
        default="yuqing-bot/0.1 (+public-opinion monitoring; contact the site's organization department)",
        description="User-Agent sent to sources.",
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "YUQING_TELEGRAM_BOT_TOKEN"),
        description="Bot token from BotFather.",
    )
    telegram_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BASE_URL", "YUQING_TELEGRAM_BASE_URL"),
        description="Self-hosted Bot API server URL.",
    )

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 {v!r} / unknown time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def chosen_platform(self) -> str:
        if self.platform:
            return self.platform
        return "telegram" if self.telegram_bot_token else "console"

    @property
    def log_path(self) -> Path:
        return self.log_file or self.data_dir / "yuqing.log"


def load_settings(**overrides) -> Settings:
    """Build settings from the environment and `.env`, with CLI overrides on top.

    :raises SettingsError: naming each bad field.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as e:
        problems = [FieldProblem("YUQING_" + p.where.upper(), p.zh, p.en) for p in problems_from(e)]
        raise SettingsError("environment / .env", problems) from None
