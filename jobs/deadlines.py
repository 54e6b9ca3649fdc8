"""The deadline sweep: reminders before and at each deadline, auto-escalation of unclaimed
incidents, nudges for claimed ones gone quiet, the end of a mute. Runs every minute; each
reminder happens once (its key is written to the audit log with it)."""

from __future__ import annotations

import logging

from core.deadlines import deadlines_for, due_intents
from core.incidents import Actor, IncidentService
from core.lifecycle import Action
from core.models import Role
from storage import incidents as store

__all__ = ["sweep", "SYSTEM"]

log = logging.getLogger(__name__)

SYSTEM = Actor("system", "系统", Role.ADMIN)
_HUMAN = {"claim", "unclaim", "assign", "note", "escalate", "close", "reopen", "judge", "signoff",
          "unmute"}


def sweep(service: IncidentService, tz) -> int:
    """Act on every due intent of every open incident. Returns how many were acted on."""
    now = service.clock()
    n = 0
    hold = store.get_mute_all(service.db)
    for inc in store.open_incidents(service.db):
        events = store.events_for(service.db, inc.id)
        done = {e.detail.get("key") for e in events if e.action == "reminder"}
        last_activity = max((e.at for e in events if e.action in _HUMAN), default=inc.claimed_at or inc.created_at)
        rule = service.config.grades[inc.grade]
        dl = deadlines_for(inc, service.config.grades, tz)
        for intent in due_intents(inc, dl, rule, now, done=done, last_activity=last_activity,
                                  muted_until=inc.muted_until, tz=tz, hold_until=hold):
            n += 1
            if intent.kind == "auto_escalate":
                service.remind(inc, intent.key, f"⏫ #{inc.id} {intent.text}", to_assignee=False)
                out = service.act(inc.id, Action.ESCALATE, SYSTEM, text=intent.text)
                if not out.ok:
                    log.info("auto-escalation of #%s not possible: %s", inc.id, out.refusal)
                inc = service.get(inc.id)
            else:
                service.remind(inc, intent.key, intent.text, to_assignee=intent.kind != "unmuted")
    return n
