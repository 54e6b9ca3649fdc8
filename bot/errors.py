"""Errors raised at start-up. Each names the bad field in Chinese and English."""

from __future__ import annotations

__all__ = ["ConfigError", "FieldProblem", "SettingsError", "StartupError"]

from dataclasses import dataclass

from core.errors import YuqingError


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
