"""The one settings object: `.env` + environment, validated once at start-up.

Only this module reads the environment. Secrets are `SecretStr`, so they never appear
in `repr()` or logs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.platforms import AVAILABLE
from bot.validation import problems_from
from core.clock import DEFAULT_TIMEZONE
from core.errors import FieldProblem, SettingsError

__all__ = ["PLATFORMS", "Settings", "load_settings"]

PLATFORMS = tuple(AVAILABLE)  # the names `YUQING_PLATFORM` accepts: the adapters there are


class Settings(BaseSettings):
    """Process settings. Every field can be set as `YUQING_<NAME>` in the environment or `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="YUQING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    platform: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Chat platform(s), comma-separated (e.g. telegram,wecom); empty picks telegram "
        "when a token is set, else console.",
    )
    config: Path = Field(default=Path("config/example.toml"), description="The TOML configuration file.")
    db: Path | str = Field(
        default=Path("data/yuqing.db"),
        description="The database: a SQLite file (path or sqlite:///path) or postgresql://user@host/db.",
    )
    data_dir: Path = Field(default=Path("data"), description="Folder for the database, logs and caches.")
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="Zone for displayed times and schedules.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = Field(default=None, description="Log file; default <data_dir>/yuqing.log.")
    console_user: str | None = Field(default=None, description="Who types in the console; default the first admin.")
    collect_on_start: bool = Field(default=True, description="Run one collection cycle at start-up.")
    deliver_interval: float = Field(default=1.0, gt=0, description="Seconds between outbox sweeps.")
    leader_ttl: float = Field(
        default=15.0,
        ge=1,
        le=600,
        description="On a shared (PostgreSQL) database: seconds the leading bot's lease lasts unrenewed "
        "(renewed every third of it); a standby takes over at most TTL + TTL/3 after the leader's last renewal.",
    )
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

    wecom_corp_id: str | None = Field(default=None, description="WeCom corp id (企业ID).")
    wecom_agent_id: int | None = Field(default=None, description="WeCom self-built app AgentId.")
    wecom_secret: SecretStr | None = Field(default=None, description="WeCom app Secret.")
    wecom_token: SecretStr | None = Field(default=None, description="WeCom callback Token.")
    wecom_aes_key: SecretStr | None = Field(default=None, description="WeCom callback EncodingAESKey (43 chars).")
    wecom_robot_keys: Annotated[dict[str, SecretStr], NoDecode] = Field(
        default_factory=dict, description="Group robot webhook keys per team: team=key,team2=key2 (or JSON)."
    )
    wecom_listen: str = Field(
        default="127.0.0.1:8088", description="host:port of the WeCom callback server (behind your HTTPS proxy)."
    )
    wecom_callback_path: str = Field(default="/wecom/callback", description="URL path of the WeCom callback.")
    wecom_api_base: str = Field(default="https://qyapi.weixin.qq.com", description="WeCom API server.")
    wxpy_group: str | None = Field(default=None, description="Name of the personal-WeChat group (wxpy).")
    wxpy_cache: Path | None = Field(default=None, description="wxpy login cache; default <data_dir>/wxpy.pkl.")

    @field_validator("platform", mode="before")
    @classmethod
    def _platform_list(cls, v):
        if v is None:
            return ()
        items = [x.strip().lower() for x in (v.split(",") if isinstance(v, str) else v) if x and x.strip()]
        unknown = [x for x in items if x not in PLATFORMS]
        if unknown:
            raise ValueError(
                f"未知平台 {', '.join(unknown)}，可选：{', '.join(PLATFORMS)} / "
                f"unknown platform {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}"
            )
        return tuple(dict.fromkeys(items))

    @field_validator("db", mode="before")
    @classmethod
    def _db_target(cls, v):
        """A PostgreSQL URL stays a string; a SQLite URL or path becomes the file's Path."""
        from storage.db import sqlite_path
        from storage.pg import is_pg_url

        if v is None or is_pg_url(v):
            return v
        if isinstance(v, str) and "://" in v and not v.startswith("sqlite:"):
            raise ValueError(
                f"数据库应为文件路径、sqlite:///路径 或 postgresql://…… / expected a path, sqlite:///path or "
                f"postgresql://user@host/db, got {v.split('://')[0]}://…"
            )
        return Path(str(sqlite_path(v))) if isinstance(v, str) else v

    @field_validator("wecom_robot_keys", mode="before")
    @classmethod
    def _robot_keys(cls, v):
        if isinstance(v, str):
            v = v.strip()
            if not v:
                return {}
            if v.startswith("{"):
                try:
                    return json.loads(v)
                except ValueError:
                    # from None on purpose: the robot keys are secrets, and the decode error
                    # carries the whole text (`.doc`) into any report of the chained cause.
                    raise ValueError("不是有效的 JSON / not valid JSON") from None
            pairs = [p.partition("=") for p in v.split(",") if p.strip()]
            if any(not sep or not k.strip() or not key.strip() for k, sep, key in pairs):
                raise ValueError("格式应为 团队=密钥,团队2=密钥2 / expected team=key,team2=key2")
            return {k.strip(): key.strip() for k, _, key in pairs}
        return v

    @field_validator("wecom_listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        _host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"格式应为 主机:端口，例如 0.0.0.0:8088 / expected host:port, got {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区 {v!r} / unknown time zone {v!r} (e.g. Asia/Shanghai)") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def chosen_platforms(self) -> tuple[str, ...]:
        """The platforms to run, in the order given."""
        if self.platform:
            return self.platform
        return ("telegram",) if self.telegram_bot_token else ("console",)

    @property
    def chosen_platform(self) -> str:
        return ",".join(self.chosen_platforms)

    @property
    def log_path(self) -> Path:
        return self.log_file or self.data_dir / "yuqing.log"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment and `.env`, with CLI overrides on top.

    :raises SettingsError: naming each bad field.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as e:
        problems = [FieldProblem("YUQING_" + p.where.upper(), p.zh, p.en) for p in problems_from(e)]
        # from None on purpose: pydantic's ValidationError repeats every bad input value
        # (`input_value=...`), which for a token or a robot key is the secret itself.
        raise SettingsError("environment / .env", problems) from None
