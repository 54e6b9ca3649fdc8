"""Ticking off a playbook step in a note: the note is the step marker alone, or the marker,
a separator and a remark. Nothing is guessed: a note that merely starts with 完成 and a number
(`完成 3 家单位走访`, `完成2026年度考核材料报送`) is an ordinary note.

Markers: `完成 2`, `已完成 2`, `✅ 2` (then the end or punctuation: `完成 2：已电话联系`);
`完成第2步`, `完成 2 步`, `第2步完成`, `第 2 步已完成` (then the end, a space or punctuation).
Digits may be full-width (`完成 ２`).
"""

from __future__ import annotations

import re

__all__ = ["split_step"]

_N = "(?P<n>[0-9０-９]+)"
_DONE = "(?:已?完成|✓|✅)"
# what may separate the marker from the remark ('.' is not one: '完成 1.5 万字' is not step 1)
_PUNCT = re.escape("，,：:；;。！!？?、—～~-")
# after a bare number only punctuation (not before another number) or a line break separates
# ('完成 2 人笔录', '完成 1，2' are not steps)
_AFTER_NUMBER = rf"\s*(?:$|(?:[{_PUNCT}]+(?![0-9０-９])|\n)\s*(?P<remark>.*))"
# after 步 or 完成 a space separates too ('已完成第2步 交通局已说明情况')
_AFTER_WORD = rf"(?:$|(?:\s+|\s*[{_PUNCT}]+)\s*(?P<remark>.*))"
_FORMS = tuple(
    re.compile(rf"^\s*{form}$", re.DOTALL)
    for form in (
        rf"{_DONE}\s*第\s*{_N}\s*步{_AFTER_WORD}",  # 完成第2步
        rf"{_DONE}\s*{_N}\s*步{_AFTER_WORD}",  # 完成 2 步
        rf"第\s*{_N}\s*步\s*{_DONE}{_AFTER_WORD}",  # 第2步完成
        rf"{_DONE}\s*{_N}{_AFTER_NUMBER}",  # 完成 2
    )
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def split_step(text: str | None) -> tuple[int, str] | None:
    """'完成 2：已电话联系' -> (2, '已电话联系'); '完成第２步' -> (2, ''); None for a note that
    is not a step marker. The remark is the rest of the note exactly as typed.

    :raises ValueError: for a number of more digits than int() reads.
    """
    for form in _FORMS:
        m = form.match(text or "")
        if m:
            return int(m.group("n").translate(_FULL_WIDTH)), (m.group("remark") or "").strip()
    return None
