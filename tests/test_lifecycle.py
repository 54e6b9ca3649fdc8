"""The lifecycle table: every allowed and every forbidden transition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.grades import Grade
from core.lifecycle import Action, Refusal, decide
from core.models import Incident, State

T0 = datetime(2026, 11, 24, tzinfo=UTC)


def inc(state: State, assignee: str | None = None, level: int = 0) -> Incident:
    return Incident(
        id=1,
        title="t",
        url=None,
        source_id="s",
        source_name="S",
        team="city",
        category="干部作风",
        grade=Grade.III,
        score=9,
        reasons=(),
        matched={},
        state=state,
        assignee=assignee,
        escalation_level=level,
        disposition=None,
        summary=None,
        post_count=1,
        source_count=1,
        created_at=T0,
        updated_at=T0,
        claimed_at=None,
        escalated_at=None,
        closed_at=None,
        version=1,
    )


ALLOWED = [
    # (state, assignee, level, action, actor, target, admin) -> (to_state, assignee)
    (State.NEW, None, 0, Action.CLAIM, "a", None, False, State.CLAIMED, "a"),
    (State.ESCALATED, None, 1, Action.CLAIM, "a", None, False, State.ESCALATED, "a"),
    (State.CLAIMED, "a", 0, Action.UNCLAIM, "a", None, False, State.NEW, None),
    (State.CLAIMED, "a", 0, Action.UNCLAIM, "boss", None, True, State.NEW, None),
    (State.ESCALATED, "a", 1, Action.UNCLAIM, "a", None, False, State.ESCALATED, None),
    (State.NEW, None, 0, Action.ASSIGN, "boss", "b", True, State.CLAIMED, "b"),
    (State.CLAIMED, "a", 0, Action.ASSIGN, "boss", "b", True, State.CLAIMED, "b"),
    (State.ESCALATED, "a", 1, Action.ASSIGN, "boss", "b", True, State.ESCALATED, "b"),
    (State.NEW, None, 0, Action.NOTE, "a", None, False, State.NEW, None),
    (State.CLAIMED, "a", 0, Action.NOTE, "b", None, False, State.CLAIMED, "a"),
    (State.ESCALATED, "a", 1, Action.NOTE, "b", None, False, State.ESCALATED, "a"),
    (State.CLOSED, "a", 0, Action.NOTE, "a", None, False, State.CLOSED, "a"),
    (State.NEW, None, 0, Action.ESCALATE, "a", None, False, State.ESCALATED, None),
    (State.CLAIMED, "a", 0, Action.ESCALATE, "a", None, False, State.ESCALATED, "a"),
    (State.ESCALATED, "a", 1, Action.ESCALATE, "a", None, False, State.ESCALATED, "a"),
    (State.NEW, None, 0, Action.CLOSE, "a", None, False, State.CLOSED, "a"),
    (State.CLAIMED, "b", 0, Action.CLOSE, "a", None, False, State.CLOSED, "b"),
    (State.ESCALATED, "a", 2, Action.CLOSE, "a", None, False, State.CLOSED, "a"),
    (State.CLOSED, "a", 0, Action.REOPEN, "a", None, False, State.CLAIMED, "a"),
    (State.CLOSED, None, 0, Action.REOPEN, "a", None, False, State.NEW, None),
    (State.CLOSED, "a", 2, Action.REOPEN, "a", None, False, State.ESCALATED, "a"),
    (State.NEW, None, 0, Action.JUDGE, "a", None, False, State.NEW, None),
    (State.CLAIMED, "a", 0, Action.JUDGE, "b", None, False, State.CLAIMED, "a"),
    (State.ESCALATED, "a", 1, Action.JUDGE, "a", None, False, State.ESCALATED, "a"),
    (State.PENDING_SIGNOFF, "a", 0, Action.NOTE, "b", None, False, State.PENDING_SIGNOFF, "a"),
    (State.PENDING_SIGNOFF, "a", 0, Action.JUDGE, "a", None, False, State.PENDING_SIGNOFF, "a"),
    (State.PENDING_SIGNOFF, "a", 0, Action.REOPEN, "boss", None, False, State.CLAIMED, "a"),
    # 转办 (transfer): waits in 待反馈 until the unit's feedback; handling goes on meanwhile
    (State.NEW, None, 0, Action.TRANSFER, "a", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.CLAIMED, "b", 0, Action.TRANSFER, "a", None, False, State.AWAITING_FEEDBACK, "b"),
    (State.ESCALATED, "a", 1, Action.TRANSFER, "a", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.TRANSFER, "a", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.FEEDBACK, "b", None, False, State.CLAIMED, "a"),
    (State.AWAITING_FEEDBACK, "a", 1, Action.FEEDBACK, "a", None, False, State.ESCALATED, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.NOTE, "b", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.JUDGE, "b", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.CLOSE, "a", None, False, State.CLOSED, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.ASSIGN, "boss", "b", True, State.AWAITING_FEEDBACK, "b"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.UNCLAIM, "a", None, False, State.AWAITING_FEEDBACK, None),
    (State.AWAITING_FEEDBACK, None, 0, Action.CLAIM, "a", None, False, State.AWAITING_FEEDBACK, "a"),
    (State.AWAITING_FEEDBACK, "a", 0, Action.ESCALATE, "a", None, False, State.AWAITING_FEEDBACK, "a"),
] + [  # 已阅: in every state, the state stays (once per person: see test_read_once_instruct_by_leaders)
    (state, "a", 0, Action.READ, "boss", None, False, state, "a") for state in State
]


@pytest.mark.parametrize("state,assignee,level,action,actor,target,admin,to_state,to_assignee", ALLOWED)
def test_allowed(state, assignee, level, action, actor, target, admin, to_state, to_assignee):
    d = decide(inc(state, assignee, level), action, actor=actor, target=target, is_admin=admin)
    assert d.ok, d
    assert (d.to_state, d.assignee) == (to_state, to_assignee)


FORBIDDEN = (
    [
        (State.CLAIMED, "b", 0, Action.CLAIM, "a", None, False, Refusal.TAKEN),
        (State.ESCALATED, "b", 1, Action.CLAIM, "a", None, False, Refusal.TAKEN),
        (State.CLAIMED, "a", 0, Action.CLAIM, "a", None, False, Refusal.ALREADY_YOURS),
        (State.NEW, None, 0, Action.UNCLAIM, "a", None, False, Refusal.NOT_ASSIGNED),
        (State.CLAIMED, "b", 0, Action.UNCLAIM, "a", None, False, Refusal.NOT_ASSIGNEE),
        (State.CLAIMED, "b", 0, Action.ASSIGN, "boss", "b", True, Refusal.ALREADY_YOURS),
        (State.ESCALATED, "a", 3, Action.ESCALATE, "a", None, False, Refusal.TOP_LEVEL),
        (State.NEW, None, 0, Action.REOPEN, "a", None, False, Refusal.NOT_CLOSED),
        (State.CLAIMED, "a", 0, Action.REOPEN, "a", None, False, Refusal.NOT_CLOSED),
        (State.ESCALATED, "a", 1, Action.REOPEN, "a", None, False, Refusal.NOT_CLOSED),
        (State.NEW, None, 0, Action.SIGNOFF, "boss", None, True, Refusal.NOT_PENDING),
        (State.CLAIMED, "a", 0, Action.SIGNOFF, "boss", None, True, Refusal.NOT_PENDING),
        (State.ESCALATED, "a", 1, Action.SIGNOFF, "boss", None, True, Refusal.NOT_PENDING),
        (State.PENDING_SIGNOFF, "a", 0, Action.SIGNOFF, "a", None, False, Refusal.NOT_SIGNER),
        (State.AWAITING_FEEDBACK, "a", 0, Action.REOPEN, "a", None, False, Refusal.NOT_CLOSED),
        (State.AWAITING_FEEDBACK, "a", 0, Action.SIGNOFF, "boss", None, True, Refusal.NOT_PENDING),
        (State.AWAITING_FEEDBACK, "a", 0, Action.CLAIM, "a", None, False, Refusal.ALREADY_YOURS),
    ]
    + [
        (state, "a", 0, Action.FEEDBACK, "a", None, False, Refusal.NOT_AWAITING)
        for state in (State.NEW, State.CLAIMED, State.ESCALATED, State.PENDING_SIGNOFF)
    ]
    + [
        (State.PENDING_SIGNOFF, "a", 0, action, "a", "b", True, Refusal.PENDING)
        for action in (
            Action.CLAIM,
            Action.UNCLAIM,
            Action.ASSIGN,
            Action.ESCALATE,
            Action.CLOSE,
            Action.TRANSFER,
        )
    ]
    + [
        (State.CLOSED, "a", 0, action, "a", "b", True, Refusal.CLOSED)
        for action in (
            Action.CLAIM,
            Action.UNCLAIM,
            Action.ASSIGN,
            Action.ESCALATE,
            Action.CLOSE,
            Action.JUDGE,
            Action.SIGNOFF,
            Action.INSTRUCT,
            Action.TRANSFER,
            Action.FEEDBACK,
        )
    ]
    + [  # 批示 is a leader's (or an admin's): `can_sign_off` is not given here
        (state, "a", 0, Action.INSTRUCT, "a", None, False, Refusal.NOT_LEADER)
        for state in (State.NEW, State.CLAIMED, State.ESCALATED, State.PENDING_SIGNOFF, State.AWAITING_FEEDBACK)
    ]
)


@pytest.mark.parametrize("state,assignee,level,action,actor,target,admin,why", FORBIDDEN)
def test_forbidden(state, assignee, level, action, actor, target, admin, why):
    d = decide(inc(state, assignee, level), action, actor=actor, target=target, is_admin=admin)
    assert not d.ok
    assert d.refusal is why


def test_every_state_action_pair_is_covered():
    covered = {(row[0], row[3]) for row in ALLOWED} | {(row[0], row[3]) for row in FORBIDDEN}
    missing = [(s, a) for s in State for a in Action if (s, a) not in covered]
    assert missing == []


def test_read_once_instruct_by_leaders():
    for state in (State.NEW, State.CLAIMED, State.ESCALATED, State.PENDING_SIGNOFF, State.AWAITING_FEEDBACK):
        d = decide(inc(state, "a"), Action.INSTRUCT, actor="boss", can_sign_off=True)
        assert d.ok and (d.to_state, d.assignee) == (state, "a")
    for state in State:
        d = decide(inc(state, "a"), Action.READ, actor="boss", has_read=True)
        assert not d.ok and d.refusal is Refusal.ALREADY_READ
