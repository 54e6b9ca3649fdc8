"""Grading: sensitivity x impact -> score -> grade I–IV, with the reasons in words.

This is the one home of grading. Analysis supplies the sensitivity of a post and its
reasons; the story supplies impact (best source tier, number of distinct sources).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.grades import Grade

__all__ = ["TIER_FACTOR", "TIER_NAME", "Graded", "Reach", "grade_story", "is_impact_reason", "SPREAD_WINDOW_HOURS"]

TIER_FACTOR = {1: 3.0, 2: 2.0, 3: 1.5, 4: 1.0}
TIER_NAME = {1: "中央级媒体", 2: "省级媒体", 3: "市级媒体/平台", 4: "论坛/自媒体"}
MAX_SPREAD = 3.0


@dataclass(frozen=True)
class Graded:
    grade: Grade
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Reach:
    """How far a story has got: the highest engagement any of its posts shows, and how many
    of its posts appeared in the last few hours."""

    replies: int = 0
    views: int = 0
    reposts: int = 0
    recent_posts: int = 1


def _engagement(r: Reach) -> tuple[float, str | None]:
    detail = "、".join(f"{label} {n:,}" for label, n in (("阅读", r.views), ("回复", r.replies), ("转发", r.reposts)) if n)
    if r.views >= 10000 or r.replies >= 100 or r.reposts >= 100:
        return 1.5, f"高互动（{detail}）×1.5"
    if r.views >= 2000 or r.replies >= 20 or r.reposts >= 20:
        return 1.2, f"互动较多（{detail}）×1.2"
    return 1.0, None


def _speed(r: Reach) -> tuple[float, str | None]:
    if r.recent_posts >= 3:
        return 1.3, f"{SPREAD_WINDOW_HOURS} 小时内 {r.recent_posts} 篇，扩散较快 ×1.3"
    return 1.0, None


SPREAD_WINDOW_HOURS = 6


def is_impact_reason(reason: str) -> bool:
    """Impact lines are multipliers (×); sensitivity lines add (+)."""
    return "×" in reason or reason.startswith("综合评分")


def grade_story(
    sensitivity: float,
    sensitivity_reasons: tuple[str, ...],
    best_tier: int,
    n_sources: int,
    thresholds: Mapping[Grade, float],
    reach: Reach | None = None,
) -> Graded:
    """Pure: combine sensitivity and impact into a grade with its reasons.

    >>> grade_story(9, ("涉及具名干部",), 4, 1, {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}).grade
    <Grade.III: 'III'>
    """
    tier = TIER_FACTOR.get(best_tier, 1.0)
    spread = min(MAX_SPREAD, 1.0 + 0.5 * max(0, n_sources - 1))
    reach = reach or Reach()
    engagement, engagement_reason = _engagement(reach)
    speed, speed_reason = _speed(reach)
    impact = tier * spread * engagement * speed
    score = round(sensitivity * impact, 2)
    reasons = list(sensitivity_reasons)
    reasons.append(f"来源级别：{TIER_NAME.get(best_tier, '其他')} ×{tier:g}")
    if n_sources > 1:
        reasons.append(f"{n_sources} 个来源转载 ×{spread:g}")
    reasons += [r for r in (engagement_reason, speed_reason) if r]
    grade = Grade.IV
    for g in Grade:  # most severe first
        if score >= thresholds[g]:
            grade = g
            break
    reasons.append(f"综合评分 {score:g}（{grade.value} 级阈值 {thresholds[grade]:g}）")
    return Graded(grade, score, tuple(reasons))
