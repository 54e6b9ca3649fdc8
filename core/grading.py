"""Grading: sensitivity x impact -> score -> grade I–IV, with the reasons in words.

This is the one home of grading. Analysis supplies the sensitivity of a post and its
reasons; the story supplies impact (best source tier, number of distinct sources).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.grades import Grade

__all__ = ["TIER_FACTOR", "TIER_NAME", "Graded", "grade_story"]

TIER_FACTOR = {1: 3.0, 2: 2.0, 3: 1.5, 4: 1.0}
TIER_NAME = {1: "中央级媒体", 2: "省级媒体", 3: "市级媒体/平台", 4: "论坛/自媒体"}
MAX_SPREAD = 3.0


@dataclass(frozen=True)
class Graded:
    grade: Grade
    score: float
    reasons: tuple[str, ...]


def grade_story(
    sensitivity: float,
    sensitivity_reasons: tuple[str, ...],
    best_tier: int,
    n_sources: int,
    thresholds: Mapping[Grade, float],
) -> Graded:
    """Pure: combine sensitivity and impact into a grade with its reasons.

    >>> grade_story(9, ("涉及具名干部",), 4, 1, {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}).grade
    <Grade.III: 'III'>
    """
    tier = TIER_FACTOR.get(best_tier, 1.0)
    spread = min(MAX_SPREAD, 1.0 + 0.5 * max(0, n_sources - 1))
    impact = tier * spread
    score = round(sensitivity * impact, 2)
    reasons = list(sensitivity_reasons)
    reasons.append(f"来源级别：{TIER_NAME.get(best_tier, '其他')} ×{tier:g}")
    if n_sources > 1:
        reasons.append(f"{n_sources} 个来源转载 ×{spread:g}")
    grade = Grade.IV
    for g in Grade:  # most severe first
        if score >= thresholds[g]:
            grade = g
            break
    reasons.append(f"综合评分 {score:g}（{grade.value} 级阈值 {thresholds[grade]:g}）")
    return Graded(grade, score, tuple(reasons))
