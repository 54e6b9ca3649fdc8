"""Reading the configuration file (TOML) against the schema in `core.config`.

`load_config(path)` parses and validates it; any problem raises `ConfigError` naming the
exact field (``sources[id=forum].tier``, ``people[1].id``) in Chinese and English.

`[watchlist] rules = ["rules/cadre-work.toml"]` reads rule packs: files (relative to the
config) holding `sensitive`, `negative` and `[[topics]]` an analyst maintains once for many
teams. Their terms and topics come after the config's own; a problem in one is named by the
pack's file and its own topic index (``rules/cadre-work.toml: topics[3].any``).
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
_TOPIC = re.compile(r"^watchlist\.topics\[(\d+)\]")
PACK_KEYS = frozenset({"sensitive", "negative", "topics"})


def _read_toml(path: Path, where: str, syntax_where: str, what: str = "文件") -> dict:
    """A TOML file's tables. A problem reading it is named `where`, one in its syntax
    `syntax_where`; `what` is the file in the Chinese message (配置文件, 文件)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), [FieldProblem(where, f"找不到{what}", "file not found")]) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            str(path), [FieldProblem(where, "这是一个目录，不是配置文件", "is a directory, not a file")]
        ) from exc
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError(
            str(path), [FieldProblem(where, f"无法读取{what}：{why}", f"cannot read the file: {why}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [FieldProblem(where, "文件须为 UTF-8 编码", "file must be UTF-8")]) from exc
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            str(path), [FieldProblem(syntax_where, f"TOML 语法错误：{e}", f"TOML syntax error: {e}")]
        ) from e


def _with_rule_packs(raw: dict, path: Path) -> tuple[dict, list[tuple[int, int, str]]]:
    """`raw` with the rule packs of `[watchlist] rules` read into its watch-list, and where
    each pack's topics went: (first index, count, the pack as written)."""
    given = raw.get("watchlist")
    packs = given.get("rules") if isinstance(given, dict) else None
    if not packs or not isinstance(given, dict):
        return raw, []
    if not isinstance(packs, list) or not all(isinstance(p, str) and p.strip() for p in packs):
        raise ConfigError(
            str(path),
            [FieldProblem("watchlist.rules", "须为规则文件路径的列表", "must be a list of rule-pack file paths")],
        )
    wl = dict(given)
    topics = list(wl.get("topics") or [])
    spans: list[tuple[int, int, str]] = []
    for i, name in enumerate(packs):
        where = f"watchlist.rules[{i}]"
        pack_path = Path(name) if Path(name).is_absolute() else path.parent / name
        pack = _read_toml(pack_path, f"{where} ({name})", f"{where} ({name})")
        unknown = sorted(set(pack) - PACK_KEYS)
        if unknown:
            raise ConfigError(
                str(pack_path),
                [
                    FieldProblem(
                        f"{name}: {k}",
                        "规则文件只能包含 sensitive、negative 和 [[topics]]",
                        "a rule pack holds only sensitive, negative and [[topics]]",
                    )
                    for k in unknown
                ],
            )
        for key in ("sensitive", "negative"):
            if key in pack:
                own = wl.get(key) or []
                if not isinstance(pack[key], list) or not isinstance(own, list):
                    raise ConfigError(
                        str(pack_path), [FieldProblem(f"{name}: {key}", "须为词语列表", "must be a list of terms")]
                    )
                wl[key] = [*own, *(t for t in pack[key] if t not in own)]
        if "topics" in pack:
            if not isinstance(pack["topics"], list):
                raise ConfigError(
                    str(pack_path),
                    [FieldProblem(f"{name}: topics", "须写成 [[topics]] 表", "must be [[topics]] tables")],
                )
            spans.append((len(topics), len(pack["topics"]), name))
            topics += pack["topics"]
    wl["topics"] = topics
    return {**raw, "watchlist": wl}, spans


def _in_pack(problem: FieldProblem, spans: list[tuple[int, int, str]]) -> FieldProblem:
    """`watchlist.topics[40].any` -> `rules/cadre-work.toml: topics[3].any` when topic 40 came
    from that pack."""
    m = _TOPIC.match(problem.where)
    if m:
        i = int(m.group(1))
        for start, count, name in spans:
            if start <= i < start + count:
                return replace(problem, where=f"{name}: topics[{i - start}]" + problem.where[m.end() :])
    return problem


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
    raw = _read_toml(path, "(file)", "(syntax)", "配置文件")
    raw, spans = _with_rule_packs(raw, path)
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
        raise ConfigError(str(path), [_in_pack(_by_id(p, raw), spans) for p in problems]) from e
    file_problems = []
    for s in cfg.sources:
        if s.kind == "rss" and not s.is_http and not cfg.resolve_path(s.url).exists():
            file_problems.append(
                FieldProblem(f"sources[id={s.id}].url", f"文件不存在：{s.url}", f"file not found: {s.url}")
            )
    if file_problems:
        raise ConfigError(str(path), file_problems)
    return cfg
