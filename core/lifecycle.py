"""The incident lifecycle as a pure table: which action may move which state where.

new -> claimed -> escalated -> closed, plus reopen, unclaim, assign and notes; a 转办 (transfer)
waits in awaiting_feedback (待反馈, still open) until the unit's feedback. The incident
service (`core.incidents`) is the only caller that applies these decisions to storage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from core.grades import Grade
from core.models import Disposition, Incident, State

__all__ = ["MAJOR", "Action", "Decision", "Refusal", "decide", "needs_judgement", "needs_signoff"]

# Grades whose closing needs a recorded 研判 (and, see `needs_signoff`, a leader's sign-off).
MAJOR = (Grade.I, Grade.II)


def needs_judgement(inc: Incident, disposition: Disposition | None) -> bool:
    """A grade I–II incident is closed only with an assessment on record — except as a false
    positive (误报), where there is nothing to assess."""
    return inc.grade in MAJOR and not inc.judgement and disposition is not Disposition.FALSE_POSITIVE


def needs_signoff(inc: Incident, disposition: Disposition | None, can_sign_off: bool) -> bool:
    """Closing a grade I–II incident waits for a leader's or an admin's 销号 — unless one of
    them closes it, or it is a false positive (误报)."""
    return inc.grade in MAJOR and not can_sign_off and disposition is not Disposition.FALSE_POSITIVE


class Action(str, Enum):
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    ASSIGN = "assign"
    NOTE = "note"
    ESCALATE = "escalate"
    CLOSE = "close"
    REOPEN = "reopen"
    JUDGE = "judge"  # 研判: the analyst's assessment; the state stays
    SIGNOFF = "signoff"  # 销号: a leader (or admin) confirms a grade I–II closing
    INSTRUCT = "instruct"  # 批示: a leader's (or admin's) instruction; the state stays
    READ = "read"  # 已阅: a read receipt, once per person; the state stays
    TRANSFER = "transfer"  # 转办: referred to a unit; waits for its feedback (待反馈)
    FEEDBACK = "feedback"  # 反馈: the unit's reply is recorded; handling continues


class Refusal(str, Enum):
    """Why an action cannot be applied; handlers turn these into Chinese replies."""

    CLOSED = "closed"  # the incident is closed; reopen first
    NOT_CLOSED = "not_closed"  # reopen on an open incident
    TAKEN = "taken"  # someone else already claimed it
    ALREADY_YOURS = "already_yours"
    NOT_ASSIGNED = "not_assigned"  # unclaim with nobody assigned
    NOT_ASSIGNEE = "not_assignee"  # unclaim someone else's without admin rights
    TOP_LEVEL = "top_level"  # cannot escalate past the last level
    NEEDS_JUDGEMENT = "needs_judgement"  # grade I–II: close only after a 研判 (/judge)
    PENDING = "pending"  # waiting for sign-off: sign off (/signoff) or send back (/reopen)
    NOT_PENDING = "not_pending"  # /signoff of an incident nobody asked to close
    NOT_SIGNER = "not_signer"  # only a leader or an admin signs off
    NOT_LEADER = "not_leader"  # only a leader or an admin gives a 批示
    ALREADY_READ = "already_read"  # 已阅 a second time by the same person
    NOT_AWAITING = "not_awaiting"  # /feedback on an incident not waiting for one (not 转办)


@dataclass(frozen=True)
class Decision:
    """The outcome of `decide`: either the new state and assignee, or a refusal."""

    ok: bool
    to_state: State | None = None
    assignee: str | None = None
    refusal: Refusal | None = None

    @classmethod
    def refuse(cls, why: Refusal) -> Decision:
        return cls(ok=False, refusal=why)


def decide(
    inc: Incident,
    action: Action,
    *,
    actor: str,
    target: str | None = None,
    is_admin: bool = False,
    max_level: int = 3,
    disposition: Disposition | None = None,
    can_sign_off: bool = False,
    has_read: bool = False,
) -> Decision:
    """Pure: given the incident and who does what, say what the new state is.
    `can_sign_off`: the actor is a leader or an admin (销号, 批示); `has_read`: the actor
    already recorded 已阅 on this incident."""
    s = inc.state
    if action is Action.NOTE:
        return Decision(True, s, inc.assignee)
    if action is Action.READ:  # a closed incident may still be read
        return Decision.refuse(Refusal.ALREADY_READ) if has_read else Decision(True, s, inc.assignee)
    if action is Action.REOPEN:
        if s is State.PENDING_SIGNOFF:  # sent back: handling continues where it was
            return Decision(True, _open_state(inc), inc.assignee)
        if s is not State.CLOSED:
            return Decision.refuse(Refusal.NOT_CLOSED)
        if inc.escalation_level > 0:
            return Decision(True, State.ESCALATED, inc.assignee)
        return Decision(True, State.CLAIMED if inc.assignee else State.NEW, inc.assignee)
    if s is State.CLOSED:
        return Decision.refuse(Refusal.CLOSED)
    if action is Action.JUDGE:
        return Decision(True, s, inc.assignee)
    if action is Action.INSTRUCT:
        return Decision(True, s, inc.assignee) if can_sign_off else Decision.refuse(Refusal.NOT_LEADER)
    if action is Action.SIGNOFF:
        if s is not State.PENDING_SIGNOFF:
            return Decision.refuse(Refusal.NOT_PENDING)
        if not can_sign_off:
            return Decision.refuse(Refusal.NOT_SIGNER)
        return Decision(True, State.CLOSED, inc.assignee or actor)
    if action is Action.FEEDBACK:
        if s is not State.AWAITING_FEEDBACK:
            return Decision.refuse(Refusal.NOT_AWAITING)
        return Decision(True, _open_state(inc), inc.assignee)
    if s is State.PENDING_SIGNOFF:
        if action is Action.CLOSE and can_sign_off:  # a leader closes it, with the disposition they give
            return Decision(True, State.CLOSED, inc.assignee or actor)
        return Decision.refuse(Refusal.PENDING)
    if action is Action.TRANSFER:  # again while waiting: a new unit or due date
        return Decision(True, State.AWAITING_FEEDBACK, inc.assignee or actor)
    if s is State.AWAITING_FEEDBACK and action in (Action.CLAIM, Action.UNCLAIM, Action.ASSIGN, Action.ESCALATE):
        d = decide(
            replace(inc, state=_open_state(inc)),
            action,
            actor=actor,
            target=target,
            is_admin=is_admin,
            max_level=max_level,
        )
        return replace(d, to_state=State.AWAITING_FEEDBACK) if d.ok else d  # still waiting for the unit
    if action is Action.CLAIM:
        if inc.assignee == actor:
            return Decision.refuse(Refusal.ALREADY_YOURS)
        if inc.assignee:
            return Decision.refuse(Refusal.TAKEN)
        return Decision(True, State.ESCALATED if s is State.ESCALATED else State.CLAIMED, actor)
    if action is Action.UNCLAIM:
        if not inc.assignee:
            return Decision.refuse(Refusal.NOT_ASSIGNED)
        if inc.assignee != actor and not is_admin:
            return Decision.refuse(Refusal.NOT_ASSIGNEE)
        return Decision(True, State.ESCALATED if s is State.ESCALATED else State.NEW, None)
    if action is Action.ASSIGN:
        assert target is not None
        if inc.assignee == target:
            return Decision.refuse(Refusal.ALREADY_YOURS)
        return Decision(True, State.ESCALATED if s is State.ESCALATED else State.CLAIMED, target)
    if action is Action.ESCALATE:
        if inc.escalation_level >= max_level:
            return Decision.refuse(Refusal.TOP_LEVEL)
        return Decision(True, State.ESCALATED, inc.assignee)
    if action is Action.CLOSE:
        if needs_judgement(inc, disposition):
            return Decision.refuse(Refusal.NEEDS_JUDGEMENT)
        if needs_signoff(inc, disposition, can_sign_off):
            return Decision(True, State.PENDING_SIGNOFF, inc.assignee or actor)
        return Decision(True, State.CLOSED, inc.assignee or actor)
    raise AssertionError(f"unhandled action {action}")


def _open_state(inc: Incident) -> State:
    """Where an incident goes back to when it is handled again."""
    if inc.escalation_level > 0:
        return State.ESCALATED
    return State.CLAIMED if inc.assignee else State.NEW
