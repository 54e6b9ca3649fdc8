"""Reading the configuration file (TOML) against the schema in `core.config`.

`load_config(path)` parses and validates it; any problem raises `ConfigError` naming the
exact field (``sources[1].tier``) in Chinese and English.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from bot.validation import problems_from
from core.config import Config, ConfigProblems
from core.errors import ConfigError, FieldProblem

__all__ = ["load_config"]


def load_config(path: Path | str) -> Config:
    """Read and validate the configuration file.

    :raises ConfigError: naming each bad field, in Chinese and English.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), [FieldProblem("(file)", "找不到配置文件", "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [FieldProblem("(file)", "文件须为 UTF-8 编码", "file must be UTF-8")]) from exc
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            str(path), [FieldProblem("(syntax)", f"TOML 语法错误：{e}", f"TOML syntax error: {e}")]
        ) from e
    try:
        cfg = Config.model_validate({**raw, "base_dir": path.parent})
    except ValidationError as e:
        problems = []
        for err in e.errors():
            cross = err.get("ctx", {}).get("error")
            if isinstance(cross, ConfigProblems):
                problems += [FieldProblem(w, zh, en) for w, zh, en in cross.problems]
        if not problems:
            problems = problems_from(e)
        raise ConfigError(str(path), problems) from e
    file_problems = []
    for i, s in enumerate(cfg.sources):
        if s.kind == "rss" and not s.is_http and not cfg.resolve_path(s.url).exists():
            file_problems.append(FieldProblem(f"sources[{i}].url", f"文件不存在：{s.url}", f"file not found: {s.url}"))
    if file_problems:
        raise ConfigError(str(path), file_problems)
    return cfg
