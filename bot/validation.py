"""Turn pydantic validation errors into bilingual field problems."""

from __future__ import annotations

import re

from pydantic import ValidationError

from core.errors import FieldProblem

__all__ = ["problems_from"]

_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知字段（拼写错误？）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "string_type": "应为文本",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为表（table）",
    "model_type": "应为表（table）",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
}


# "中文 / English": the slash before the English half, with or without a space before it
# ("…（至少 item）/ an html source…"), never one inside a URL (`sqlite:///路径`)
_HALVES = re.compile(r"\s*/\s+(?=[A-Za-z`'\"(])")


def bilingual(text: str) -> tuple[str, str]:
    """Our validators' "中文 / English" as (zh, en); text without an English half is both."""
    parts = _HALVES.split(text, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (text, text)


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def problems_from(err: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        where = _where(loc)
        if prefix:
            where = f"{prefix}.{where}" if where != "(root)" else prefix
        msg = e.get("msg", "")
        if e["type"] == "value_error":
            # Our own validators write "中文 / English".
            zh, en = bilingual(str(e.get("ctx", {}).get("error", msg)))
            problems.append(FieldProblem(where, zh, en))
            continue
        zh = _ZH.get(e["type"], "取值无效")
        if e["type"] in ("literal_error", "enum") and "expected" in e.get("ctx", {}):
            zh += f"，可选：{e['ctx']['expected']}"
        problems.append(FieldProblem(where, zh, msg))
    return problems
