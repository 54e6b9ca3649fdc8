"""The deadline sweep: reminders before and at each deadline, auto-escalation of unclaimed
incidents, nudges for claimed ones gone quiet, the end of a mute, and the subscribers' status
summaries of grade I–II incidents (`core.deadlines.summary_due`). Runs every minute; each
reminder happens once (its key is written to the audit log with it).

At a year's scale (issue 17.3) the sweep reads only the incidents with something due: each open
incident carries `next_due_at` (storage: m016), the earliest time it may need the sweep,
worked out here after each look at it and reset by any change to it. The reminders of one
sweep go out as one message per chat (each still its own audit event), so a rate-limited
group is not buried under one notice per incident."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from zoneinfo import ZoneInfo

from core.clock import parse_duration
from core.deadlines import deadlines_for, due_intents, next_deadline, next_due, next_summary, summary_due
from core.incidents import Actor, IncidentService
from core.lifecycle import Action
from core.models import Role, State
from core.render import SYSTEM as SYSTEM_NAME
from core.render import SYSTEM_ID, fmt_time, short_line, status_summary
from storage import incidents as store
from storage import write_tx

__all__ = ["CHUNK", "SYSTEM", "handover", "sweep", "sweep_async"]

log = logging.getLogger(__name__)

SYSTEM = Actor(SYSTEM_ID, SYSTEM_NAME, Role.ADMIN)
_HUMAN = frozenset(
    {
        "claim",
        "unclaim",
        "assign",
        "note",
        "escalate",
        "close",
        "reopen",
        "judge",
        "signoff",
        "unmute",
        "transfer",
        "feedback",
    }
)
_WAITING = (State.NEW, State.ESCALATED, State.AWAITING_FEEDBACK)  # open and possibly nobody's
CHUNK = 100  # incidents read (with their events) at a time; the async sweep yields between chunks


def sweep(service: IncidentService, tz: ZoneInfo) -> int:
    """Act on every due intent of every open incident that has one. Returns how many were acted on."""
    run = _Sweep(service, tz)
    while run.chunk():
        pass
    return run.finish() + handover(service)


async def sweep_async(service: IncidentService, tz: ZoneInfo) -> int:
    """`sweep` in bounded chunks, giving the event loop a turn between them (the database
    connection belongs to the loop's thread, so the work stays on it)."""
    run = _Sweep(service, tz)
    while run.chunk():
        await asyncio.sleep(0)
    return run.finish() + handover(service)


HANDOVER_LIST = 10  # incidents named in a handover note; the rest counted


def handover(service: IncidentService) -> int:
    """With a rota: when a new shift is on duty (its handover, or a /duty change of the shift on
    now), the person taking over is told privately what waits unclaimed — the claim reminders
    and the duty notices of those went to whoever was on duty before. Once a shift (the shift's
    start and person in `sweep_state`); the very first look only records the shift. Returns 1
    when a note was queued."""
    shifts = service.duty_shifts(service.clock(), 1)
    if not shifts:
        return 0
    shift, db = shifts[0], service.db
    key = f"{shift.start.isoformat()}|{shift.person}"
    with write_tx(db):
        seen = store.sweep_value(db, "duty_shift")
        if seen == key:
            return 0
        store.set_sweep_value(db, "duty_shift", key)
        person = service.config.person(shift.person)
        if seen is None or person is None:
            return 0
        n = store.count_incidents(db, states=_WAITING, unclaimed=True)
        if not n:
            return 0
        waiting = store.list_incidents(db, states=_WAITING, unclaimed=True, limit=HANDOVER_LIST)
        span = f"{fmt_time(shift.start, service.tz)} 至 {fmt_time(shift.end, service.tz)}"
        text = "\n".join(
            [f"🗓 交班：你现在值班（{span}）。无人认领的事件 {n} 起：", *(short_line(i) for i in waiting)]
            + ([f"……等 {n} 起，发送 /list 查看" if n > len(waiting) else "请及时认领处理（/claim 编号）。"])
        )
        for platform, chat in service.router.private_chats(person):
            service.outbox.enqueue(
                db, service.clock(), platform=platform, chat=chat, kind=service.outbox.TEXT, payload={"text": text}
            )
    log.info("duty handover to %s: %d unclaimed incident(s) named", shift.person, n)
    service.on_queued()
    return 1


def _rules_fingerprint(service: IncidentService, tz) -> str:
    return hashlib.sha256(
        repr(
            (
                sorted((g.value, repr(r)) for g, r in service.config.grades.items()),
                str(tz),
                repr(service.config.organization.duty),
            )
        ).encode()
    ).hexdigest()


# the grade rules' fingerprint each service's sweep last saw (`_check_rules`)
_RULES_SEEN: weakref.WeakKeyDictionary[IncidentService, str] = weakref.WeakKeyDictionary()


def _check_rules(service: IncidentService, tz) -> None:
    """Stored next times were worked out with the grade rules of the time: new rules (a config
    change) send every open incident through the next sweep once."""
    fp = _rules_fingerprint(service, tz)
    if _RULES_SEEN.get(service) == fp:
        return
    db = service.db
    with write_tx(db):
        seen = store.rules_fingerprint(db)
        if seen != fp:
            n = store.mark_all_due(db)
            store.set_rules_fingerprint(db, fp)
            if seen is not None:
                log.info("grade rules changed: the deadline sweep looks at all %d open incidents again", n)
    _RULES_SEEN[service] = fp


class _Sweep:
    def __init__(self, service: IncidentService, tz):
        _check_rules(service, tz)
        self.service, self.tz = service, tz
        self.now = service.clock()
        self.cursor: tuple[str, int] = ("", 0)
        self.reminders: list[tuple] = []  # (incident, key, text, to_assignee, record)
        self.next: list[tuple] = []  # (incident id, next due, version, last event id)
        self.acted = 0
        self.hold = store.get_mute_all(service.db)  # /mute all: grade III-IV wait until then
        # subscribers' status summaries of grade I–II incidents: (incident, key, text)
        self.summaries: list[tuple] = []
        self.every = parse_duration(service.config.organization.subscriber_summary)
        duty = service.config.organization.duty  # with a rota the on-duty person hears first
        self.duty_grace = parse_duration(duty.escalate_after) if duty else None

    def chunk(self) -> bool:
        """Look at the next CHUNK due incidents; False when there are no more."""
        service, tz, now = self.service, self.tz, self.now
        rows = store.due_for_sweep(service.db, now, CHUNK, self.cursor)
        if not rows:
            return False
        self.cursor = (rows[-1][1], rows[-1][0].id)
        facts = store.sweep_facts(service.db, [inc.id for inc, _ in rows], _HUMAN)
        for inc, _ in rows:
            done, last_human, last_event = facts[inc.id]
            last_activity = last_human or inc.claimed_at or inc.created_at
            rule = service.config.grades[inc.grade]
            dl = deadlines_for(inc, service.config.grades, tz)
            changed = False
            intents = due_intents(
                inc,
                dl,
                rule,
                now,
                done=done,
                last_activity=last_activity,
                muted_until=inc.muted_until,
                tz=tz,
                hold_until=self.hold,
                duty_grace=self.duty_grace,
            )
            # an auto-escalation says it all in one group line (the escalation notice): the
            # claim-overdue reminder is recorded with it, and posted only if escalating fails
            folded = (
                [i for i in intents if i.key == "claim:due"] if any(i.kind == "auto_escalate" for i in intents) else []
            )
            for intent in intents:
                if intent in folded:
                    continue
                self.acted += 1
                if intent.kind == "auto_escalate":
                    text = f"⏫ #{inc.id} {intent.text}"
                    with write_tx(service.db):  # recorded before acting: never escalated twice
                        self.acted += len(folded)
                        for key, said in [*((f.key, f.text) for f in folded), (intent.key, text)]:
                            store.add_event(
                                service.db,
                                inc.id,
                                now,
                                actor=None,
                                action="reminder",
                                detail={"key": key, "text": said},
                            )
                    # the group hears of it in this sweep's reminder message, one line for it
                    out = service.act(inc.id, Action.ESCALATE, SYSTEM, text=intent.text, announce=False)
                    if out.ok and out.incident is not None:
                        after = out.incident
                        level = service.config.chain(after.grade, after.category).steps[after.escalation_level - 1]
                        self.reminders.append((inc, intent.key, f"{text}至{level.name}", False, False))
                    else:  # not escalated: say the deadline was missed
                        log.info("auto-escalation of #%s not possible: %s", inc.id, out.refusal)
                        self.reminders += [(inc, f.key, f.text, False, False) for f in folded]
                        self.reminders.append((inc, intent.key, text, False, False))
                    inc, changed = service.get(inc.id), True
                    last_event = store.last_event_id(service.db, inc.id)
                else:
                    self.reminders.append((inc, intent.key, intent.text, intent.kind != "unmuted", True))
            if changed:
                rule = service.config.grades[inc.grade]
                dl = deadlines_for(inc, service.config.grades, tz)
            self._summary(inc, dl, last_activity, done)
            when = next_due(
                inc,
                dl,
                rule,
                now,
                last_activity=last_activity,
                muted_until=inc.muted_until,
                hold_until=self.hold,
                duty_grace=self.duty_grace,
            )
            summary_at = next_summary(inc, now, self.every)
            if summary_at is not None and (when is None or summary_at < when):
                when = summary_at
            self.next.append((inc.id, when, inc.version, last_event))
        return len(rows) == CHUNK

    def _summary(self, inc, dl, last_activity, done: set[str]) -> None:
        """The subscribers' status summary of `inc` when one is due and anyone did anything in
        its window (read from this incident's events only: the cost follows what is due)."""
        service, now = self.service, self.now
        due = summary_due(inc, now, self.every, last_activity=last_activity, done=done)
        if due is None or not service.summary_chats(inc):
            return
        key, start, end = due
        events = [e for e in store.events_for(service.db, inc.id) if start <= e.at < end]
        minutes = int(self.every.total_seconds() // 60)
        span = f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"
        text = status_summary(inc, events, service.name_of, span, next_deadline(inc, dl, now), self.tz, now)
        if text:
            self.acted += 1
            self.summaries.append((inc, key, text))

    def finish(self) -> int:
        """One transaction: every reminder's audit event, one message per chat, the next times."""
        service = self.service
        with write_tx(service.db):
            queued = service.remind_batch(self.reminders)
            queued += service.summarise(self.summaries)
            for iid, when, version, last_event in self.next:
                store.set_next_due(service.db, iid, when, version=version, last_event_id=last_event)
        if self.reminders:
            log.info(
                "deadline sweep: %d reminder(s) in %d message(s); %d incident(s) looked at",
                len(self.reminders),
                queued,
                len(self.next),
            )
        return self.acted
