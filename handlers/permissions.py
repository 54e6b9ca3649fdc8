"""Who may do what. One table; every command checks it before doing anything."""

from __future__ import annotations

from core.models import Role

__all__ = ["ALLOWED", "allowed", "roles_for"]

_VIEW = {Role.ADMIN, Role.STAFF, Role.LEADER}
_WORK = {Role.ADMIN, Role.STAFF}

ALLOWED: dict[str, set[Role] | None] = {
    "help": None,  # None: everyone, registered or not
    "start": None,
    "list": _VIEW,
    "show": _VIEW | {Role.PARTNER},
    "mine": _WORK,
    "claim": _WORK,
    "unclaim": _WORK,
    "assign": _WORK,
    "note": _VIEW,
    "escalate": _VIEW,
    "close": _WORK,
    "reopen": _WORK,
    "search": _VIEW,
    "report": _VIEW,
    "subscribe": _VIEW,
    "unsubscribe": _VIEW,
    "sources": _WORK,
    "tip": _WORK | {Role.OFFICER},
    "mute": _WORK,
}


def allowed(command: str, role: Role | None) -> bool:
    roles = ALLOWED.get(command, set())
    if roles is None:
        return True
    return role is not None and role in roles


def roles_for(command: str) -> str:
    roles = ALLOWED.get(command) or set()
    return "、".join(r.label for r in Role if r in roles)
