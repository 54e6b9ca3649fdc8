"""Who may do what. One table; every command checks it before doing anything."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from core.config import DEFAULT_CHAIN, Config, Person
from core.models import Incident, Role
from core.routing import Router

__all__ = ["ALLOWED", "TEAM_ROLES", "View", "allowed", "roles_for", "view_of"]

_VIEW = {Role.ADMIN, Role.STAFF, Role.LEADER}
TEAM_ROLES = frozenset(_VIEW)  # who sees every incident in full (`view_of`)
_WORK = {Role.ADMIN, Role.STAFF}

ALLOWED: dict[str, set[Role] | None] = {
    "help": None,  # None: everyone, registered or not
    "start": None,
    "list": _VIEW | {Role.PARTNER},  # a partner's list holds only what was escalated to them
    "show": _VIEW | {Role.PARTNER},
    "mine": _WORK,
    "claim": _WORK,
    "unclaim": _WORK,
    "assign": _WORK,
    "note": _VIEW,
    "judge": _WORK,
    "escalate": _VIEW,
    "close": _WORK,
    "reopen": _WORK | {Role.LEADER},  # a leader sends a closing back instead of signing it off
    "signoff": {Role.ADMIN, Role.LEADER},
    "search": _VIEW,
    "report": _VIEW,
    "subscribe": _VIEW,
    "unsubscribe": _VIEW,
    "sources": _WORK,
    "tip": _WORK | {Role.OFFICER},
    "mute": _WORK,
    "unmute": _WORK,
    "export": _VIEW,
    "instruct": {Role.ADMIN, Role.LEADER},  # 批示 (core.lifecycle refuses anyone else too)
    "read": {Role.ADMIN, Role.LEADER},  # 已阅: a leader's read receipt
    "duty": _VIEW,  # who is on duty; staff take shifts for themselves, leaders and admins assign any
    "transfer": _WORK,
    "feedback": _WORK,
}


def allowed(command: str, role: Role | None) -> bool:
    roles = ALLOWED.get(command, set())
    if roles is None:
        return True
    return role is not None and role in roles


def roles_for(command: str) -> str:
    roles = ALLOWED.get(command) or set()
    return "、".join(r.label for r in Role if r in roles)


class View(Enum):
    """How much of one incident someone may see."""

    NONE = 0  # not at all: answered as if it did not exist
    FACTS = 1  # the card and its posts: what a facts-only escalation step receives
    FULL = 2  # everything, with the team's internal notes and reasons


def view_of(
    config: Config,
    router: Router,
    person: Person | None,
    role: Role | None,
    inc: Incident,
    platform: str | None = None,
    chat: str | None = None,
    transfers: Sequence[str] = (),
) -> View:
    """The team (admin, staff, leader) sees everything. A partner sees an incident only once
    it has been escalated to a chain step that reaches them (by person, role or the chat they
    write from — the same targets `Router.step_targets` notifies), and only the facts when
    that step is facts-only; and the facts of an incident transferred to them (/transfer: the
    工作联系单 went to them) — now or by an earlier /transfer (`transfers`: every unit it was
    ever transferred to, from the audit; a later transfer does not take back the facts
    already sent). Everyone else sees nothing."""
    if role in _VIEW:
        return View.FULL
    if role is not Role.PARTNER or person is None:
        return View.NONE
    units = [u for u in (inc.transfer_unit, *transfers) if u]
    best = View.FACTS if any(_transferred_to(config, person, u, platform, chat) for u in units) else View.NONE
    steps = config.chain(inc.grade, inc.category).steps
    for step in steps[: max(0, inc.escalation_level)]:
        people, chats = router.step_targets(step, inc.team)
        if any(p.id == person.id for p in people) or (platform, chat) in chats:
            best = max(best, View.FACTS if step.facts_only else View.FULL, key=lambda v: v.value)
    return best


def _transferred_to(config: Config, person: Person, unit: str, platform: str | None, chat: str | None) -> bool:
    """Is this transfer (转办) unit this partner: the partner by id or name, or an escalation
    step by name whose chats include the one they write from — where
    `IncidentService.partner_for` sends the 工作联系单."""
    key = unit.strip().lstrip("@")
    if key in (person.id, person.name):
        return True
    return any(
        step.name == key and any((pl, str(c)) == (platform, chat) for pl, c in step.chats.items())
        for chain in [*config.escalation, DEFAULT_CHAIN]
        for step in chain.steps
    )
