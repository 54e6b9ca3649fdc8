"""Smaller things found in issue 14's walk-through: each pinned by a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.grades import Grade
from core.models import Incident, State

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def _incident(**kw) -> Incident:
    base = dict(
        id=7,
        title="网友反映某局干部作风问题",
        url=None,
        source_id="forum",
        source_name="云川论坛",
        team="city",
        category="干部作风",
        grade=Grade.III,
        score=0.5,
        reasons=(),
        matched={},
        state=State.CLAIMED,
        assignee="liqiang",
        escalation_level=0,
        disposition=None,
        summary=None,
        post_count=1,
        source_count=1,
        created_at=T0,
        updated_at=T0,
        claimed_at=T0,
        escalated_at=None,
        closed_at=None,
        version=1,
    )
    base.update(kw)
    return Incident(**base)


def test_quiet_nudge_says_minutes_not_zero_hours():
    """A short quiet interval is said in minutes ("已 2 分钟"), never "已 0.0 小时"."""
    from core.config import GradeRule
    from core.deadlines import Deadlines, due_intents

    inc = _incident()
    rule = GradeRule(threshold=0, claim="1h", quiet_after="2m")
    dl = Deadlines(claim=T0 + timedelta(hours=1), first_response=None, full_response=None)
    now = T0 + timedelta(minutes=2, seconds=5)
    intents = due_intents(inc, dl, rule, now, done=set(), last_activity=T0, muted_until=None, tz=TZ)
    quiet = [i.text for i in intents if i.kind == "quiet"]
    assert quiet == ["💤 #7 已 2 分钟没有新的处置记录，请跟进并 /note 7 说明进展"]
