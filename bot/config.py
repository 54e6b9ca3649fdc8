"""Reading the configuration file (TOML) against the schema in `core.config`.

`load_config(path)` parses and validates it; any problem raises `ConfigError` naming the
exact field (``sources[id=forum].tier``, ``people[1].id``) in Chinese and English.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from bot.validation import problems_from
from core.config import Config, ConfigProblems
from core.errors import ConfigError, FieldProblem

__all__ = ["load_config"]


_INDEXED = re.compile(r"^(sources)\[(\d+)\]")


def _by_id(problem: FieldProblem, raw: dict) -> FieldProblem:
    """`sources[3].tier` -> `sources[id=forum].tier`: a source is found by its id, not by
    counting tables (kept as the index when the source has no usable id)."""
    m = _INDEXED.match(problem.where)
    if not m or problem.where == m.group(0) + ".id":  # a duplicate id: only the index tells which
        return problem
    items = raw.get(m.group(1))
    i = int(m.group(2))
    item = items[i] if isinstance(items, list) and i < len(items) else None
    sid = item.get("id") if isinstance(item, dict) else None
    if not isinstance(sid, str) or not sid.strip() or len(sid) > 64:
        return problem
    return replace(problem, where=f"{m.group(1)}[id={sid}]" + problem.where[m.end() :])


def load_config(path: Path | str) -> Config:
    """Read and validate the configuration file.

    :raises ConfigError: naming each bad field, in Chinese and English.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), [FieldProblem("(file)", "找不到配置文件", "file not found")]) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            str(path), [FieldProblem("(file)", "这是一个目录，不是配置文件", "is a directory, not a file")]
        ) from exc
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(
            str(path), [FieldProblem("(file)", f"无法读取配置文件：{why}", f"cannot read the file: {why}")]
        ) from exc
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
        raise ConfigError(str(path), [_by_id(p, raw) for p in problems]) from e
    file_problems = []
    for s in cfg.sources:
        if s.kind == "rss" and not s.is_http and not cfg.resolve_path(s.url).exists():
            file_problems.append(
                FieldProblem(f"sources[id={s.id}].url", f"文件不存在：{s.url}", f"file not found: {s.url}")
            )
    if file_problems:
        raise ConfigError(str(path), file_problems)
    return cfg
