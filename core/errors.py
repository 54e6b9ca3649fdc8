"""The project's errors share one base, `YuqingError`, so an entry point can catch "ours"
apart from bugs, and each narrow subclass says what went wrong::

    YuqingError
    ├── StartupError (here)               a bad configuration, settings or a second instance
    │   ├── ConfigError, SettingsError, InstanceLocked
    ├── DeliveryError (core.platform)      a platform refused or failed a send/edit/delete
    │   └── MessageGone
    ├── IncidentNotFound, StaleIncident    (here) a missing incident, a lost compare-and-set
    ├── AreaError (core.gazetteer)         an area naming no single division
    ├── UsageError (handlers.commands)     a command typed wrongly: the message is the reply
    ├── FetchError (jobs.fetch), CollectError (jobs.collect)
    ├── TipRefused (jobs.tips)             a tip's link the bot will not fetch
    └── LabelError (jobs.backtest)         a labels or groups file that cannot be used

Errors that were a `ValueError`/`LookupError`/`RuntimeError` before still are (they inherit
from both), so existing `except ValueError` keeps working. Translating a lower-layer error
keeps its cause (`raise ... from e`); a `from None` is left only where the cause would put a
secret (a token in a URL) into a traceback, and says so.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FieldProblem",
    "IncidentNotFound",
    "SettingsError",
    "StaleIncident",
    "StartupError",
    "YuqingError",
]

from dataclasses import dataclass


class YuqingError(Exception):
    """Base of every error this project raises on purpose."""


class IncidentNotFound(YuqingError, LookupError):
    def __init__(self, incident_id: int | None):
        self.incident_id = incident_id
        super().__init__(f"incident {incident_id} not found")


class StaleIncident(YuqingError, RuntimeError):
    """Someone else changed the incident between read and write."""


@dataclass(frozen=True)
class FieldProblem:
    """One bad field: where it is, and what is wrong, in both languages."""

    where: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.where}: {self.zh} / {self.en}"


class StartupError(YuqingError):
    """Stops start-up with a message for people, not a traceback."""

    title_zh = "启动失败"
    title_en = "cannot start"

    def __init__(self, source: str, problems: list[FieldProblem]):
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.title_zh} / {self.title_en}: {self.source}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ConfigError(StartupError):
    title_zh = "配置文件有误"
    title_en = "invalid configuration"


class SettingsError(StartupError):
    title_zh = "环境设置有误"
    title_en = "invalid settings"
