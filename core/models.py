"""Plain data the whole app passes around: posts, findings, incidents, events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from core.grades import Grade
from core.grading import Reason

__all__ = ["Disposition", "Event", "Finding", "Incident", "Post", "Role", "State"]


class State(str, Enum):
    NEW = "new"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    PENDING_SIGNOFF = "pending_signoff"  # grade I–II closed by staff: waits for a leader's 销号
    AWAITING_FEEDBACK = "awaiting_feedback"  # 转办: open, waiting for the receiving unit's reply
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "new": "待认领",
            "claimed": "处置中",
            "escalated": "已升级",
            "pending_signoff": "待销号",
            "awaiting_feedback": "待反馈",
            "closed": "已关闭",
        }[self.value]


class Disposition(str, Enum):
    RESPONDED = "已回应"
    CLARIFIED = "已澄清"
    REFERRED = "已转办"
    UNFOUNDED = "不实"
    NO_ACTION = "无需处置"
    FALSE_POSITIVE = "误报"

    @classmethod
    def parse(cls, text: str) -> Disposition:
        """:raises ValueError: for anything not in the list."""
        for d in cls:
            if text.strip() in (d.value, d.name.lower()):
                return d
        raise ValueError(text)


class Role(str, Enum):
    ADMIN = "admin"
    STAFF = "staff"
    LEADER = "leader"
    OFFICER = "officer"
    PARTNER = "partner"

    @property
    def label(self) -> str:
        return {"admin": "管理员", "staff": "监测人员", "leader": "领导", "officer": "信息员", "partner": "协作部门"}[
            self.value
        ]


@dataclass(frozen=True)
class Post:
    """One item collected from a source, before analysis."""

    source_id: str
    item_key: str
    title: str
    text: str = ""
    url: str | None = None
    published_at: datetime | None = None
    replies: int | None = None
    views: int | None = None
    reposts: int | None = None
    tip_by: str | None = None


@dataclass(frozen=True)
class Finding:
    """What analysis made of one post."""

    relevant: bool
    category: str | None = None
    grade: Grade | None = None
    score: float = 0.0
    reasons: tuple[Reason, ...] = ()  # core.grading.Reason: data; words only when shown
    matched: dict[str, list[str]] = field(default_factory=dict)
    tokens: tuple[str, ...] = ()
    story_key: str = ""
    fingerprint: int | None = None  # SimHash of the text, for clustering


@dataclass(frozen=True)
class Incident:
    id: int
    title: str
    url: str | None
    source_id: str | None
    source_name: str | None
    team: str | None
    category: str | None
    grade: Grade
    score: float
    reasons: tuple[Reason, ...]  # core.grading.Reason
    matched: dict[str, list[str]]
    state: State
    assignee: str | None
    escalation_level: int
    disposition: Disposition | None
    summary: str | None
    post_count: int
    source_count: int
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    version: int
    published_at: datetime | None = None
    muted_until: datetime | None = None
    judgement: str | None = None  # the latest 研判 (/judge), kept with its audit event
    transfer_unit: str | None = None  # 转办: the receiving unit (/transfer)
    feedback_due_at: datetime | None = None  # 转办: when its feedback is due
    tip_by: str | None = None  # who handed in the tip (/tip) the incident was opened from


@dataclass(frozen=True)
class Event:
    id: int
    incident_id: int
    at: datetime
    actor: str | None
    action: str
    from_state: str | None
    to_state: str | None
    detail: dict
