"""The incident service: the one home of the lifecycle.

Every change — a new incident from the pipeline, a claim, a note, a close — is one write
transaction that stores the new state, appends an audit event and queues the outbox rows
that tell people. Nothing is sent from here.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from core.clock import DEFAULT_TZ, Clock, parse_duration, to_iso
from core.cluster import (
    EVENT_CHARS,
    FOLLOW_UP_COPY,
    FOLLOW_UP_PHRASE,
    Candidate,
    Event,
    StoryIndex,
    event_of,
    event_text,
    fingerprint,
    from_hex,
    headline,
    to_hex,
)
from core.config import DEFAULT_CHAIN, Config, GradeRule, Playbook, Source
from core.deadlines import deadline_named, deadlines_for
from core.duty import Shift, day_label, overrides_in_force, shifts_from, shifts_of_day
from core.grades import Grade
from core.grading import SPREAD_WINDOW_HOURS, Reach, Reason, grade_story, reasons_from_json
from core.lifecycle import Action, Decision, Refusal, decide
from core.models import Disposition, Finding, Incident, Post, Role, State
from core.ports import Storage
from core.render import (
    TimelineOptions,
    contact_slip,
    fmt_span,
    fmt_time,
    level_notice,
    mute_notice,
    regrade_notice,
    reminders_text,
    render_notice,
    signoff_request,
    source_notice,
    timeline_text,
)
from core.routing import Router
from core.steps import split_step
from core.text import Segmenter, fold

__all__ = ["STORY_WINDOW", "Actor", "Analysed", "IncidentService", "IngestOutcome", "Outcome"]

STORY_WINDOW = timedelta(days=7)

# Actions whose notices a subscriber does not get one by one: their private chats hear of them
# in the status summary of the deadline sweep (grade I–II) instead. The card, grade changes,
# a 批示 and the closing (and reopening) still reach them as they happen.
SUMMARISED = frozenset({Action.CLAIM, Action.UNCLAIM, Action.ASSIGN, Action.NOTE, Action.JUDGE, Action.ESCALATE})


class Analysed(Protocol):
    """What `IncidentService.ingest` reads of a post's analysis (`jobs.analyse.Analysis`)."""

    @property
    def finding(self) -> Finding: ...
    @property
    def sensitivity(self) -> float: ...
    @property
    def sensitivity_reasons(self) -> tuple[Reason, ...]: ...
    @property
    def segmented(self) -> bool: ...  # it passed the prefilter and was analysed in full


@dataclass(frozen=True)
class Actor:
    """Who does something, and from where."""

    person_id: str
    name: str
    role: Role
    platform: str | None = None
    chat: str | None = None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    incident: Incident
    refusal: Refusal | None = None
    holder: str | None = None  # who holds it, when a claim lost


@dataclass(frozen=True)
class IngestOutcome:
    post_id: int | None  # None: already stored (duplicate)
    incident_id: int | None = None
    created: bool = False
    grade_rose: bool = False
    follow_up: str | None = None  # a post judged not relevant joined as a follow-up: why (core.cluster.FOLLOW_UP_*)


def playbook_step(text: str | None) -> int | None:
    """'完成 2' / '已完成第2步：…' / '第2步完成' -> 2: a note that ticks off a playbook step
    (`core.steps.split_step`); None for an ordinary note ('已完成 3 家单位走访')."""
    step = split_step(text)
    return step[0] if step else None


_DEADLINE_SLOTS = {"{首次回应}": "first_response", "{完整回应}": "full_response"}


def playbook_steps(pb: Playbook, rule: GradeRule | None = None) -> list[str]:
    """The playbook's steps for an incident of the grade whose rule is `rule`: a step's
    `{首次回应}` / `{完整回应}` says that grade's deadline ("5 小时内发布权威信息" for grade I,
    "24 小时内…" for III); a grade without that deadline drops the time ("发布权威信息")."""
    out: list[str] = []
    for step in pb.steps:
        for slot, name in _DEADLINE_SLOTS.items():
            if slot in step:
                span = getattr(rule, name, None) if rule is not None else None
                if span:
                    step = step.replace(slot, fmt_span(parse_duration(span)))
                else:
                    step = re.sub(re.escape(slot) + r"\s*内?\s*", "", step)
        out.append(step)
    return out


def playbook_text(incident_id: int, pb: Playbook, done: set[int] | None = None, rule: GradeRule | None = None) -> str:
    """The category's playbook as a checklist, the steps in `done` ticked, each step's deadline
    slot filled from the grade's `rule` (`playbook_steps`).

    :param done: step numbers (from 1) ticked off in notes (`playbook_step`).
    """
    lines = [f"📘 #{incident_id} 处置预案（{pb.category}）：{pb.principles}"]
    for n, step in enumerate(playbook_steps(pb, rule), 1):
        mark = "✅" if done and n in done else "⬜"
        lines.append(f"{mark} {n}. {step}")
    lines.append(f"完成一步后发送 /note {incident_id} 完成 步骤号，例如 /note {incident_id} 完成 1")
    return "\n".join(lines)


class IncidentService:
    def __init__(self, db, config: Config, router: Router, clock: Clock, tz=None, *, store: Storage):
        """`db`: the database handle, passed back to `store` (the storage seam, `storage.SQLITE`)."""
        self.tz = tz or DEFAULT_TZ
        self.db = db
        self.storage = store
        self.store = store.incidents
        self.outbox = store.outbox
        self.config = config
        self.router = router
        self.clock = clock
        self.on_queued = lambda: None  # set by the app: wake delivery after a commit that queued messages
        # recent stories, parsed once and indexed: an incident's story key, fingerprint and
        # entities never change
        self._stories = StoryIndex()
        self._stories_since = ""
        # a post the rules judged not relevant that is clearly the same story as an incident in
        # the window joins it (`_follow_up`); the analyst counts follow-ups of a tracked story
        self.follow_ups = True
        self._segmenter = Segmenter()

    # ------------------------------------------------------------------ reads
    def get(self, incident_id: int) -> Incident:
        """:raises core.errors.IncidentNotFound:"""
        return self.store.get_incident(self.db, incident_id)

    def name_of(self, person_id: str | None) -> str:
        """A person's name for display: the configured name, else the id, '—' for nobody."""
        if not person_id:
            return "—"
        p = self.config.person(person_id)
        return p.name if p else person_id

    # ------------------------------------------------------------------ actions
    def act(
        self,
        incident_id: int,
        action: Action,
        actor: Actor,
        *,
        target: str | None = None,
        text: str | None = None,
        disposition: Disposition | None = None,
        summary: str | None = None,
        announce: bool = True,
        unit: str | None = None,
        due: datetime | None = None,
        document: str | None = None,
    ) -> Outcome:
        """Apply one lifecycle action atomically: the new state, an audit event and the
        outbox rows (card edits, notices) in one transaction; a refusal changes nothing.
        `announce` False: the caller says it in the group itself (the deadline sweep's
        auto-escalation line); cards are still updated. A 转办 (TRANSFER) names the receiving
        `unit` and when its feedback is `due`; `text` is the note.

            out = service.act(12, Action.CLAIM, Actor("wangmin", "王敏", Role.STAFF, "telegram", "-100123"))
            if not out.ok: ...  # out.refusal says why (`core.lifecycle.Refusal`), out.holder who has it

        :param target: the person id an ASSIGN hands the incident to.
        :param text: the note, judgement or escalation reason; a REOPEN's reason.
        :param disposition: how a CLOSE closes it, with `summary`.
        :raises core.errors.IncidentNotFound: when there is no such incident.
        :raises core.errors.StaleIncident: when someone changed it between read and write.
        """
        now = self.clock()
        with self.storage.write_tx(self.db):
            inc = self.store.get_incident(self.db, incident_id)
            has_read = action is Action.READ and any(
                e.action == Action.READ.value and e.actor == actor.person_id
                for e in self.store.events_for(self.db, inc.id)
            )
            d: Decision = decide(
                inc,
                action,
                actor=actor.person_id,
                target=target,
                is_admin=actor.role is Role.ADMIN,
                max_level=len(self.config.chain(inc.grade, inc.category).steps),
                disposition=disposition,
                can_sign_off=actor.role in (Role.ADMIN, Role.LEADER),
                has_read=has_read,
            )
            if not d.ok:
                holder = self.name_of(inc.assignee) if d.refusal in (Refusal.TAKEN, Refusal.NOT_ASSIGNEE) else None
                return Outcome(False, inc, d.refusal, holder)
            assert d.to_state is not None, "an accepted decision names the state"
            fields: dict = {"state": d.to_state, "assignee": d.assignee}
            detail: dict = {}
            if action in (Action.CLAIM, Action.ASSIGN) and inc.claimed_at is None:
                fields["claimed_at"] = now
            if action is Action.ASSIGN:
                detail["target"] = target
            if action in (Action.NOTE, Action.JUDGE, Action.INSTRUCT):
                detail["text"] = text
            if action is Action.NOTE and (n := playbook_step(text)):
                pb = self.config.playbook(inc.category)
                if pb and 1 <= n <= len(pb.steps):  # the step's name, for timelines and the ledger
                    detail["step"] = [n, playbook_steps(pb, self.config.grades.get(inc.grade))[n - 1]]
            if action is Action.JUDGE:
                fields["judgement"] = text
            if action is Action.ESCALATE:
                fields["escalation_level"] = inc.escalation_level + 1
                fields["escalated_at"] = now
                detail["reason"] = text
                detail["level"] = inc.escalation_level + 1
            if action is Action.CLOSE:
                fields.update(disposition=disposition, summary=summary)
                if d.to_state is State.CLOSED:
                    fields["closed_at"] = now
                detail.update(disposition=disposition.value if disposition else None, summary=summary)
            if action is Action.SIGNOFF:
                fields["closed_at"] = now
                detail.update(disposition=inc.disposition.value if inc.disposition else None, summary=inc.summary)
            if action is Action.REOPEN:
                fields.update(closed_at=None, disposition=None, summary=None)
                if text:
                    detail["reason"] = text
            if action is Action.TRANSFER:
                assert unit and due
                fields.update(transfer_unit=unit, feedback_due_at=due)
                detail.update(unit=unit, due=to_iso(due), due_local=fmt_time(due, self.tz), text=text)
                detail["sent"] = bool(self.partner_for(unit))
            if action is Action.FEEDBACK:
                fields["feedback_due_at"] = None
                detail.update(unit=inc.transfer_unit, text=text)
            if action not in (Action.NOTE, Action.INSTRUCT, Action.READ):  # these change no field
                self.store.update_incident(self.db, inc.id, inc.version, now, **fields)
            self.store.add_event(
                self.db,
                inc.id,
                now,
                actor=actor.person_id,
                action=action.value,
                from_state=inc.state.value,
                to_state=d.to_state.value,
                detail=detail,
                platform=actor.platform,
                chat=actor.chat,
            )
            after = self.store.get_incident(self.db, inc.id)
            self._announce(
                after,
                None
                if action is Action.READ or not announce
                else self._notice(after, action, actor, target=target, text=text, before=inc),
                edit_card=action is not Action.NOTE,
                now=now,
                summarised=action in SUMMARISED,
            )
            if after.state is State.PENDING_SIGNOFF and action is Action.CLOSE:
                self._ask_signoff(after, actor, now)
            pb = self.config.playbook(after.category)
            if action in (Action.CLAIM, Action.ASSIGN) and pb and inc.claimed_at is None:
                rule = self.config.grades.get(after.grade)
                self._announce(after, playbook_text(after.id, pb, rule=rule), edit_card=False, now=now, summarised=True)
            if action is Action.ESCALATE:
                self._notify_level(after, after.escalation_level, text, now, skip=actor.person_id)
            if action is Action.ASSIGN and target and target != actor.person_id:
                person = self.config.person(target)
                if person:
                    self._private(person, after, f"👉 你被指派处置 #{after.id}：{after.title}", now)
            if action is Action.INSTRUCT and after.assignee and after.assignee != actor.person_id:
                person = self.config.person(after.assignee)
                if person:  # the assignee gets it privately too; unclaimed, the group is asked to claim
                    self._private(person, after, f"📌 {actor.name} 对 #{after.id} 批示：{text}\n请抓好落实。", now)
            if action is Action.TRANSFER:
                assert unit and due  # checked when the fields were set
                self._send_slip(after, unit, due, text, now, document)
        self.on_queued()
        return Outcome(True, after)

    # ------------------------------------------------------------------ 转办
    def partner_for(self, unit: str) -> tuple[list[tuple[str, str]], bool] | None:
        """A configured partner the unit's name matches: (its chats, facts only), or None for a
        free-text unit. A partner person (privately), an escalation step with chats (a partner
        department's group), or a team's group."""
        key = unit.strip().lstrip("@")
        for p in self.config.people:
            if p.role == Role.PARTNER and key in (p.id, p.name):
                chats = self.router.private_chats(p)
                return (chats, True) if chats else None
        for chain in [*self.config.escalation, DEFAULT_CHAIN]:
            for step in chain.steps:
                chats = [(pl, str(c)) for pl, c in step.chats.items() if pl in self.router.platforms]
                if step.name == key and chats:
                    return chats, step.facts_only
        for t in self.config.teams:
            if key in (t.id, t.name):
                chats = self.router.group_chats(t.id)
                return (chats, False) if chats else None
        return None

    def _send_slip(
        self, inc: Incident, unit, due: datetime, note: str | None, now: datetime, document: str | None = None
    ) -> None:
        """The 工作联系单: to the partner's chat when the unit is configured, else to the team's
        group for the staff to forward."""
        due_local = fmt_time(due, self.tz)
        partner = self.partner_for(unit)
        if partner:
            chats, facts_only = partner
            text = contact_slip(inc, unit, due_local, note, judgement=not facts_only)
        else:
            chats = self.router.group_chats(inc.team)
            text = f"请将以下工作联系单转交 {unit}：\n" + contact_slip(inc, unit, due_local, note)
        for platform, chat in chats:
            self.outbox.enqueue(
                self.db,
                now,
                platform=platform,
                chat=chat,
                kind=self.outbox.TEXT,
                payload={"text": text, **({"document": document} if document else {})},
            )

    # ------------------------------------------------------------------ duty rota (值班)
    def duty_shifts(self, at: datetime | None = None, n: int = 2) -> list[Shift]:
        """The shift at `at` (default now) and the ones after it; empty without a rota. The
        config's overrides, then those taken or assigned with /duty (the latest wins)."""
        duty = self.config.organization.duty
        if duty is None:
            return []
        overrides = overrides_in_force(duty, self.storage.people.duty_overrides(self.db), self.config.duty_person)
        return shifts_from(duty, overrides, at or self.clock(), self.tz, n)

    def on_duty(self, at: datetime | None = None):
        """The configured person on duty at `at` (default now), or None without a rota."""
        shifts = self.duty_shifts(at, 1)
        return self.config.person(shifts[0].person) if shifts else None

    def duty_change(self, day) -> tuple[str | None, bool]:
        """`day`'s override in force (a person id, or None: the rotation's turn) and whether it
        was taken or assigned with /duty (else it is the config's)."""
        duty = self.config.organization.duty
        if duty is None:
            return None, False
        stored = self.storage.people.duty_overrides(self.db)
        person = overrides_in_force(duty, stored, self.config.duty_person).get(day)
        return person, person is not None and stored.get(day) == person

    def duty_of_day(self, day) -> str | None:
        """The person id on duty when `day`'s shift begins (its handover)."""
        shifts = self._shifts_of_day(day)
        return shifts[0].person if shifts else None

    def _shifts_of_day(self, day) -> list[Shift]:
        duty = self.config.organization.duty
        if duty is None:
            return []
        overrides = overrides_in_force(duty, self.storage.people.duty_overrides(self.db), self.config.duty_person)
        return shifts_of_day(duty, overrides, day, self.tz)

    def set_duty(self, day, person_id: str, actor: Actor) -> None:
        """Put `person_id` on duty on `day` (an override, audited in the database), or with ''
        give the day back to the rotation (取消调班); every team's group is told."""
        now = self.clock()
        with self.storage.write_tx(self.db):
            before = self.duty_of_day(day)
            self.storage.people.set_duty_override(self.db, day, person_id, actor.person_id, now)
            after = self.duty_of_day(day)
            label = day_label(day, now.astimezone(self.tz).date())
            if not person_id:
                turn = self.duty_of_day(day)
                text = f"🗓 {actor.name} 取消调班：{label} 恢复轮值，值班员为 {self.name_of(turn) if turn else '—'}"
            elif person_id == actor.person_id:
                text = f"🗓 {actor.name} 接班：{label} 值班员为 {self.name_of(person_id)}"
            else:
                text = f"🗓 {actor.name} 调整值班：{label} 值班员为 {self.name_of(person_id)}"
            seen: list[tuple[str, str]] = []
            for team in self.config.teams:
                for target in self.router.group_chats(team.id):
                    if target not in seen:
                        seen.append(target)
                        self.outbox.enqueue(
                            self.db,
                            now,
                            platform=target[0],
                            chat=target[1],
                            kind=self.outbox.TEXT,
                            payload={"text": text},
                        )
            # privately: the one who now has the shift, and the one who no longer has it
            told: list[tuple[str | None, str]] = []
            if after and after != before:
                mine = [sh for sh in self._shifts_of_day(day) if sh.person == after]
                span = f"{fmt_time(mine[0].start, self.tz)} 至 {fmt_time(mine[-1].end, self.tz)}" if mine else ""
                told.append((after, f"🗓 {actor.name} 安排你 {label} 值班（{span}）"))
                told.append((before, f"{text}（原为 {self.name_of(before)}）" if before else text))
            for pid, message in told:
                person = self.config.person(pid) if pid and pid != actor.person_id else None
                for platform, chat in self.router.private_chats(person) if person else []:
                    self.outbox.enqueue(
                        self.db, now, platform=platform, chat=chat, kind=self.outbox.TEXT, payload={"text": message}
                    )
        self.on_queued()

    def _notice(
        self, inc: Incident, action: Action, actor: Actor, *, target=None, text=None, before: Incident | None = None
    ) -> str:
        step = None
        if action is Action.NOTE:
            n, pb = playbook_step(text), self.config.playbook(inc.category)
            if n and pb and 1 <= n <= len(pb.steps):
                step = (n, playbook_steps(pb, self.config.grades.get(inc.grade))[n - 1])
        level = None
        if action is Action.ESCALATE:
            level = self.config.chain(inc.grade, inc.category).steps[inc.escalation_level - 1].name
        return render_notice(
            inc,
            action,
            actor.name,
            text=text,
            target=self.name_of(target)
            if action is Action.ASSIGN
            else (fmt_time(inc.feedback_due_at, self.tz) if action is Action.TRANSFER else None),
            step=step,
            level=level,
            sent_back=before is not None and before.state is State.PENDING_SIGNOFF,
        )

    # ------------------------------------------------------------------ outbox helpers
    def _announce(
        self,
        inc: Incident,
        notice: str | None,
        *,
        edit_card: bool,
        now: datetime,
        internal: bool = True,
        reminder: bool = False,
        summarised: bool = False,
    ) -> None:
        """Edit the card wherever it is shown, and thread a notice under it in each of those
        chats — except internal notices in facts-only chats (partner departments), and
        `summarised` ones (claims, notes …) in subscribers' private chats (see `SUMMARISED`)."""
        targets = self.card_chats(inc)
        outside = (
            self.router.facts_only_chats(inc.team, self.config.chain(inc.grade, inc.category)) if internal else set()
        )
        if summarised:
            outside = outside | self.summary_chats(inc, targets)
        for platform, chat in targets:
            if edit_card:
                self._queue_card(inc, platform, chat, now)
            if notice and (platform, chat) not in outside:
                self._queue_notice(inc, platform, chat, notice, now, reminder=reminder)

    def _private(self, person, inc: Incident, notice: str | None, now: datetime) -> None:
        """Send a person the card privately (tracked, so later changes edit it) with a notice."""
        for platform, chat in self.router.private_chats(person):
            self._queue_card(inc, platform, chat, now)
            if notice:
                self._queue_notice(inc, platform, chat, notice, now)

    def _queue_card(self, inc: Incident, platform: str, chat: str, now: datetime) -> None:
        """The card of `inc` in one chat (tracked: later changes edit it), at its grade's priority."""
        self.outbox.enqueue(
            self.db,
            now,
            platform=platform,
            chat=chat,
            kind=self.outbox.CARD,
            incident_id=inc.id,
            priority=inc.grade.rank,
        )

    def _queue_notice(
        self, inc: Incident, platform: str, chat: str, text: str, now: datetime, *, reminder: bool = False
    ) -> None:
        """A notice about `inc` in one chat, at the incident's grade's priority (`reminder`:
        marked as one, for the reminder holds)."""
        self.outbox.enqueue(
            self.db,
            now,
            platform=platform,
            chat=chat,
            kind=self.outbox.NOTICE,
            incident_id=inc.id,
            payload={"text": text, **({"reminder": True} if reminder else {})},
            priority=inc.grade.rank,
        )

    def card_chats(self, inc: Incident) -> list[tuple[str, str]]:
        """Where `inc` is shown: its team's group chats, then every chat its card was sent to
        (on a platform this bot serves), each once."""
        return list(
            dict.fromkeys(
                self.router.group_chats(inc.team)
                + [t for t in self.outbox.chats_with_card(self.db, inc.id) if t[0] in self.router.platforms]
            )
        )

    def summary_chats(self, inc: Incident, shown: Iterable[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
        """The private chats that hear of `inc` by its card and status summaries rather than by
        every claim, note, playbook and reminder: its subscribers' (`subscriber_chats`), and
        those of the leaders the card was sent to (an escalation step, a 销号 request) — a
        leader follows the incident, the staff work it. Its assignee's own chats excepted.
        `shown`: `card_chats(inc)` when the caller has read it already."""
        out = self.subscriber_chats(inc)
        holding = set(self.card_chats(inc) if shown is None else shown)
        for person in self.router.people_with_role(Role.LEADER):
            if person.id != inc.assignee:
                out.update(c for c in self.router.private_chats(person) if c in holding)
        return out - set(self.router.group_chats(inc.team))

    def subscriber_chats(self, inc: Incident) -> set[tuple[str, str]]:
        """The private chats of the subscribers whose subscription covers `inc` (its assignee's
        own chats excepted): they get summaries instead of every claim and note."""
        out: set[tuple[str, str]] = set()
        for person in self.router.subscribers(inc.grade):
            if person.id != inc.assignee:
                out.update(self.router.private_chats(person))
        return out - set(self.router.group_chats(inc.team))

    def summarise(self, items: list[tuple[Incident, str, str]]) -> int:
        """Status summaries of the deadline sweep, `(incident, key, text)` each: its audit event
        (a reminder with `key`, so it happens once) and a notice under the card in every
        subscriber's private chat. The caller holds the write transaction. Returns how many
        messages were queued."""
        now, sent = self.clock(), 0
        for inc, key, text in items:
            self.store.add_event(self.db, inc.id, now, actor=None, action="reminder", detail={"key": key, "text": text})
            for platform, chat in sorted(self.summary_chats(inc)):
                self._queue_notice(inc, platform, chat, text, now)
                sent += 1
        return sent

    def _ask_signoff(self, inc: Incident, actor: Actor, now: datetime) -> None:
        """A grade I–II closing waits for 销号: every leader and admin is asked privately."""
        text = signoff_request(inc, actor.name)
        for role in (Role.LEADER, Role.ADMIN):
            for person in self.router.people_with_role(role, inc.team):
                if person.id != actor.person_id:
                    self._private(person, inc, text, now)

    def _notify_level(self, inc: Incident, level: int, reason: str | None, now: datetime, skip: str) -> None:
        step = self.config.chain(inc.grade, inc.category).steps[level - 1]
        people, chats = self.router.step_targets(step, inc.team)
        if step.facts_only:  # a partner department: no reason, no timeline
            text = level_notice(inc.id, step.name)
        else:
            text = level_notice(inc.id, step.name, reason, self._timeline(inc.id))
        full = step.facts_only or (step.card_from is not None and inc.grade.at_least(step.card_from))
        subscribed = set() if full else {p.id for p in self.router.subscribers(inc.grade)}
        for person in people:
            if person.id == skip:
                continue
            if full or person.id in subscribed:
                self._private(person, inc, text, now)
                continue
            for platform, chat in self.router.private_chats(person):  # the notice alone: no card
                self.outbox.enqueue(
                    self.db,
                    now,
                    platform=platform,
                    chat=chat,
                    kind=self.outbox.TEXT,
                    payload={"text": f"{text}\n发送 /show {inc.id} 查看详情"},
                    priority=inc.grade.rank,
                )
        for platform, chat in chats:
            self._queue_card(inc, platform, chat, now)
            self._queue_notice(inc, platform, chat, text, now)

    def _timeline(self, incident_id: int, last: int = 6) -> str:
        """The latest actions, for whoever an incident is escalated to."""
        options = TimelineOptions(skip=frozenset({"reminder", "post_added", "mute"}), last=last)
        return "处置经过：\n" + "\n".join(
            timeline_text(self.store.events_for(self.db, incident_id), self.name_of, self.tz, options)
        )

    def _alert_subscribers(self, inc: Incident, now: datetime, already: Grade | None = None) -> None:
        """Private cards for leaders whose subscription covers the grade (and did not cover `already`)."""
        for person in self.router.subscribers(inc.grade):
            if already is not None and person in self.router.subscribers(already):
                continue
            self._private(person, inc, None, now)

    def mute(self, incident_id: int, actor: Actor, until: datetime) -> Incident:
        """Silence reminders of one incident until `until` (audited, announced).

        :raises core.errors.IncidentNotFound:
        """
        now = self.clock()
        with self.storage.write_tx(self.db):
            inc = self.store.get_incident(self.db, incident_id)
            self.store.update_incident(self.db, inc.id, inc.version, now, muted_until=until)
            self.store.add_event(
                self.db,
                inc.id,
                now,
                actor=actor.person_id,
                action="mute",
                detail={"until": until.isoformat()},
                platform=actor.platform,
                chat=actor.chat,
            )
            after = self.store.get_incident(self.db, inc.id)
            self._announce(
                after,
                mute_notice(inc.id, actor.name, fmt_time(until, self.tz)),
                edit_card=False,
                now=now,
                summarised=True,
            )
        self.on_queued()
        return after

    def unmute(self, incident_id: int, actor: Actor) -> tuple[Incident, bool]:
        """Lift one incident's mute now (audited, announced). (incident, whether it was muted).

        :raises core.errors.IncidentNotFound:
        """
        now = self.clock()
        with self.storage.write_tx(self.db):
            inc = self.store.get_incident(self.db, incident_id)
            if inc.muted_until is None or inc.muted_until <= now:
                return inc, False
            self.store.update_incident(self.db, inc.id, inc.version, now, muted_until=None)
            self.store.add_event(
                self.db,
                inc.id,
                now,
                actor=actor.person_id,
                action="unmute",
                detail={"was_until": inc.muted_until.isoformat()},
                platform=actor.platform,
                chat=actor.chat,
            )
            after = self.store.get_incident(self.db, inc.id)
            self._announce(after, mute_notice(inc.id, actor.name, None), edit_card=False, now=now, summarised=True)
        self.on_queued()
        return after, True

    def mute_all(self, actor: Actor, until: datetime | None) -> None:
        """Hold (or, with None, release) the reminders of every grade III–IV incident until
        `until`: a planned event. Grade I–II are never held. Every team's group is told."""
        now = self.clock()
        with self.storage.write_tx(self.db):
            self.store.set_mute_all(self.db, until, actor.person_id, now)
            text = mute_notice(None, actor.name, fmt_time(until, self.tz) if until else None)
            seen = []
            for team in self.config.teams:
                for platform, chat in self.router.group_chats(team.id):
                    if (platform, chat) not in seen:
                        seen.append((platform, chat))
                        self.outbox.enqueue(
                            self.db, now, platform=platform, chat=chat, kind=self.outbox.TEXT, payload={"text": text}
                        )
        self.on_queued()

    def remind(self, inc: Incident, key: str, text: str, *, to_assignee: bool = True) -> None:
        """A deadline reminder: once per key (kept in the audit log), to the incident's chats
        and privately to its assignee (`remind_batch` with one item)."""
        self.remind_batch([(inc, key, text, to_assignee, True)])

    def remind_batch(self, items: list[tuple[Incident, str, str, bool, bool]]) -> int:
        """The reminders of one deadline sweep, `(incident, key, text, to_assignee, record)` each:
        every one is its own audit event (so it happens once; `record` False when the caller
        already wrote it), but each chat gets one message listing
        all of its reminders instead of one notice per incident (a group is rate limited:
        Telegram allows 20 messages a minute). A chat with a single reminder gets it as before,
        a notice threaded under the card. Returns how many messages were queued."""
        if not items:
            return 0
        now = self.clock()
        # per chat, its reminders: (incident, text, threaded under the incident's card there, line);
        # a chat that shows the card and is also someone's private chat (the assignee's, the
        # person on duty's) gets each reminder once, and all of a sweep's in one message.
        # `line` goes with the message: [incident, text, until, kept] — the deliverer leaves out
        # a reminder that is no longer true when it is sent (late: after a restart or an outage):
        # one of an incident closed (or waiting for 销号) since, or "还有 N 分钟" past `until`;
        # `kept`: a line that reports what was done (an auto-escalation) is always sent
        per_chat: dict[tuple[str, str], list[tuple[Incident, str, bool, list]]] = {}
        duty = self.on_duty(now) if self.config.organization.duty else None
        # the team's people's private chats: a reminder reaches one of them only while the
        # incident is theirs (its holder, or a person of an escalation step it reached) — not
        # someone who was sent the card as its holder before it was handed on
        team_private = {
            where: person.id
            for person in self.config.people
            if Role(person.role) in (Role.ADMIN, Role.STAFF, Role.LEADER)
            for where in self.router.private_chats(person)
        }
        with self.storage.write_tx(self.db):
            for inc, key, text, to_assignee, record in items:
                on_duty = duty if (duty and not inc.assignee and key.startswith(("claim:", "duty:"))) else None
                if on_duty:  # the claim reminder names the duty officer and reaches them privately
                    text += f"（值班员 {on_duty.name}）" if not key.startswith("duty:") else f"：{on_duty.name}"
                if record:
                    self.store.add_event(
                        self.db, inc.id, now, actor=None, action="reminder", detail={"key": key, "text": text}
                    )
                until = None
                if key.endswith(":pre"):  # "距…还有 N 分钟": true until that deadline
                    due = deadline_named(deadlines_for(inc, self.config.grades, self.tz), key.split(":")[0])
                    until = to_iso(due) if due else None
                line = [inc.id, text, until, key == "auto_escalate"]
                targets = self.card_chats(inc)
                chain = self.config.chain(inc.grade, inc.category)
                outside = self.router.facts_only_chats(inc.team, chain)
                outside = outside | self.summary_chats(
                    inc, targets
                )  # subscribers, leaders: the summary, not each reminder
                theirs = {inc.assignee} | {
                    p.id
                    for step in chain.steps[: inc.escalation_level]
                    for p in self.router.step_targets(step, inc.team)[0]
                }
                outside = outside | {where for where, pid in team_private.items() if pid not in theirs}
                told: set[tuple[str, str]] = set()
                for platform, chat in targets:
                    if (platform, chat) not in outside:
                        per_chat.setdefault((platform, chat), []).append((inc, text, True, line))
                        told.add((platform, chat))
                assignee = self.config.person(inc.assignee) if (to_assignee and inc.assignee) else None
                for person in (assignee, on_duty):
                    if person:
                        for where in self.router.private_chats(person):
                            if where not in told:
                                per_chat.setdefault(where, []).append((inc, text, False, line))
                                told.add(where)
            for (platform, chat), lines in per_chat.items():
                rank = min(inc.grade.rank for inc, _, _, _ in lines)
                lines.sort(key=lambda x: (x[0].grade.rank, x[0].id))
                text = reminders_text([(inc.id, said) for inc, said, _, _ in lines])
                payload = {"text": text, "reminder": True, "lines": [line for *_, line in lines]}
                threaded = len(lines) == 1 and lines[0][2]
                if len(lines) > 1:
                    payload["incidents"] = sorted({inc.id for inc, _, _, _ in lines})
                self.outbox.enqueue(
                    self.db,
                    now,
                    platform=platform,
                    chat=chat,
                    kind=self.outbox.NOTICE if threaded else self.outbox.TEXT,
                    incident_id=lines[0][0].id if threaded else None,
                    payload=payload,
                    priority=rank,
                )
        self.on_queued()
        return len(per_chat)

    def notify_admins(self, team: str | None, text: str) -> None:
        """A message for the team's admin chat (source health and the like), via the self.outbox."""
        now = self.clock()
        with self.storage.write_tx(self.db):
            for platform, chat in self.router.admin_chats(team):
                self.outbox.enqueue(
                    self.db, now, platform=platform, chat=chat, kind=self.outbox.TEXT, payload={"text": text}
                )
        self.on_queued()

    # ------------------------------------------------------------------ the pipeline's entry
    def ingest(self, post: Post, analysis: Analysed, source: Source | None, seg: str | None) -> IngestOutcome:
        """Store a post and, if relevant, open an incident or join the story's incident.
        One transaction: post, incident, link, events, self.outbox.

        :param analysis: what `jobs.analyse.Analyzer.analyse` found in the post.
        :param source: the configured source (None for one no longer configured).
        :param seg: not None indexes the post for search now (from its folded text); None queues
            it for the background indexer.
        :returns: the post id (None when it was stored before) and the incident it opened or joined.
        """
        out = self._ingest(post, analysis, source, seg)
        if out.incident_id is not None:
            self.on_queued()
        return out

    def _ingest(self, post: Post, analysis, source, seg: str | None) -> IngestOutcome:
        now = self.clock()
        f = analysis.finding
        thresholds = {g: r.threshold for g, r in self.config.grades.items()}
        with self.storage.write_tx(self.db):
            post_id = self.storage.posts.insert_post(self.db, post, f, seg, now)
            if post_id is None:
                return IngestOutcome(post_id)
            if not f.relevant:
                follow = self._follow_up(post, analysis, now) if self.follow_ups else None
                if follow is None:
                    return IngestOutcome(post_id)
                iid, why = follow
                out = self._join(iid, post_id, post, analysis, source, thresholds, now, follow_up=why)
                return replace(out, follow_up=why)
            event = event_of(f.tokens) if f.tokens else None
            head = headline(post.title)
            existing = self._story_of(f, now, event, head)
            tier = source.tier if source else 4
            if existing is None:
                iid = self.store.create_incident(
                    self.db,
                    story_key=f.story_key,
                    title=post.title,
                    url=post.url,
                    source_id=post.source_id,
                    team=source.team if source else None,
                    category=f.category,
                    grade=f.grade,
                    score=f.score,
                    sensitivity=analysis.sensitivity,
                    best_tier=tier,
                    reasons=f.reasons,
                    # the event's terms and the headline ride along with the matches, for the
                    # posts that follow (read back at start-up without folding every title again)
                    matched={
                        **f.matched,
                        **({"event": event.to_json()} if event and event.terms else {}),
                        **({"headline": head} if head else {}),
                    },
                    now=now,
                    simhash128=to_hex(f.fingerprint) if f.fingerprint is not None else None,
                )
                self.store.link_post(self.db, iid, post_id, now)
                self.store.add_event(
                    self.db,
                    iid,
                    now,
                    actor=None,
                    action="opened",
                    to_state=State.NEW.value,
                    detail={
                        "post_id": post_id,
                        "source": post.source_id,
                        "grade": f.grade.value,
                        "tip_by": post.tip_by,
                    },
                )
                # the new incident's team and grade are the ones just stored: it is read back
                # only for the subscribers' private cards (`_alert_subscribers`), when there are any
                for platform, chat in self.router.group_chats(source.team if source else None):
                    self.outbox.enqueue(
                        self.db,
                        now,
                        platform=platform,
                        chat=chat,
                        kind=self.outbox.CARD,
                        incident_id=iid,
                        payload={"first": True},
                        priority=f.grade.rank,
                    )
                subscribers = self.router.subscribers(f.grade)
                if subscribers:
                    inc = self.store.get_incident(self.db, iid)
                    for person in subscribers:
                        self._private(person, inc, None, now)
                return IngestOutcome(post_id, iid, created=True)
            return self._join(existing, post_id, post, analysis, source, thresholds, now)

    def _story_of(self, f, now, event: Event | None = None, head: str | None = None) -> int | None:
        """The recent incident this finding's story already has, if any (core.cluster decides).
        `head`: the post's `core.cluster.headline`, for the phrase rule."""
        stories = self._recent_stories(now - STORY_WINDOW)
        ents = [x for k in ("cadres", "units", "places") for x in f.matched.get(k, [])]
        return stories.choose(f.story_key, f.fingerprint, ents, event=event, headline=head)

    def _follow_up(self, post: Post, analysis, now) -> tuple[int, str] | None:
        """The incident in the window a post judged not relevant continues, and why: its headline
        shares a phrase and its lead a place or person with the incident's (FOLLOW_UP_PHRASE), or
        its text is a copy of the incident's (FOLLOW_UP_COPY). Only for posts that passed the
        prefilter and were analysed; the title and lead are segmented for its event only when the
        title or the lead points at an incident, and the fingerprint (no jieba) compared only when
        the event does too."""
        if not getattr(analysis, "segmented", False):
            return None
        stories = self._recent_stories(now - STORY_WINDOW)
        if not len(stories):
            return None
        f = analysis.finding
        # cheap gates first (no jieba): a piece of the headline, the title, or distinctive terms of
        # an incident in the lead
        head = headline(post.title)
        by_phrase = stories.has_phrase(head)
        if not (
            by_phrase
            or f.story_key in stories.keys
            or stories.mentions(f"{post.title}\n{(post.text or '')[:EVENT_CHARS]}")
        ):
            return None
        text = getattr(analysis, "text", "") or fold(f"{post.title}\n{post.text or ''}")  # as the analyser folded it
        event = event_of(self._segmenter.folded_tokens(event_text(text)))
        iid = stories.follow_up(head, event) if by_phrase else None
        if iid is not None:
            return iid, FOLLOW_UP_PHRASE
        if not stories.worth_a_fingerprint(f.story_key, event):
            return None
        iid = stories.copy_of(fingerprint(text), event)
        return (iid, FOLLOW_UP_COPY) if iid is not None else None

    def _recent_stories(self, since: datetime) -> StoryIndex:
        """Incidents opened since `since`, indexed. Kept between posts: only incidents
        numbered above the last one seen are read (also those another process opened). Read
        before this transaction creates anything, so only committed incidents are kept."""
        since_iso = to_iso(since)
        if since_iso < self._stories_since:  # the clock went back: read everything again
            self._stories.clear()
        self._stories_since = since_iso
        entities: dict[str, frozenset[str]] = {}  # the same few watch-list names recur: parse each once
        new: list[tuple[Candidate, str]] = []
        # tens of thousands of small objects at start-up: the collector would rescan the whole
        # heap (jieba's dictionary, the gazetteer) many times over, ten times the work itself
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._read_stories(since, entities, new)
            self._stories.extend(new)
        finally:
            if collecting:
                gc.enable()
        self._stories.expire(since_iso)
        return self._stories

    def _read_stories(
        self, since: datetime, entities: dict[str, frozenset[str]], new: list[tuple[Candidate, str]]
    ) -> None:
        for r in self.store.story_candidates(self.db, since, after_id=self._stories.last_id):
            ents = entities.get(r["matched"])
            event, head = None, None
            if ents is None:
                m = json.loads(r["matched"]) if r["matched"] else {}
                ents = frozenset(x for k in ("cadres", "units", "places") for x in m.get(k, []))
                event = Event.from_json(m.get("event"))
                head = m.get("headline")
                if event is None and head is None:  # no event terms: the parse can be shared with its twins
                    entities[r["matched"]] = ents
            fp = from_hex(r["simhash128"]) if r["simhash128"] else None  # `fingerprint` (m023)
            if head is None and r.get("title"):  # stored before the headline was kept
                head = headline(r["title"])
            new.append((Candidate(r["id"], r["story_key"], fp, ents, event, head), r["created_at"]))

    def _join(
        self, iid: int, post_id: int, post: Post, analysis, source, thresholds, now, follow_up: str | None = None
    ) -> IngestOutcome:
        tier = source.tier if source else 4
        row = self.store.get_story_row(self.db, iid)
        before = self.store.get_incident(self.db, iid)
        self.store.link_post(self.db, iid, post_id, now)
        n_sources = len(self.store.story_sources(self.db, iid))
        sens, sens_reasons = row["sensitivity"], None
        if analysis.sensitivity > sens:
            sens, sens_reasons = analysis.sensitivity, analysis.sensitivity_reasons
        if sens_reasons is None:
            # keep the reasons that produced the stored sensitivity (all but the impact ones);
            # rows stored before reasons were data hold words, read back by reasons_from_json
            sens_reasons = tuple(r for r in reasons_from_json(before.reasons) if not r.is_impact)
        best_tier = min(row["best_tier"], tier)
        replies, views, reposts, recent = self.store.story_reach(
            self.db, iid, now - timedelta(hours=SPREAD_WINDOW_HOURS)
        )
        g = grade_story(
            sens,
            sens_reasons,
            best_tier,
            n_sources,
            thresholds,
            Reach(replies=replies, views=views, reposts=reposts, recent_posts=recent),
        )
        # A grade never drops automatically: a story that grew does not become less important.
        grade = g.grade if g.grade.rank < before.grade.rank else before.grade
        self.store.update_incident(
            self.db,
            iid,
            before.version,
            now,
            post_count=before.post_count + 1,
            source_count=n_sources,
            best_tier=best_tier,
            sensitivity=sens,
            score=max(g.score, before.score),
            grade=grade,
            reasons=g.reasons if grade is g.grade else before.reasons,
        )
        self.store.add_event(
            self.db,
            iid,
            now,
            actor=None,
            action="post_added",
            detail={
                "post_id": post_id,
                "source": post.source_id,
                "sources": n_sources,
                **({"follow_up": follow_up} if follow_up else {}),
            },
        )
        after = self.store.get_incident(self.db, iid)
        rose = after.grade.rank < before.grade.rank
        if rose:
            self.store.add_event(
                self.db,
                iid,
                now,
                actor=None,
                action="regraded",
                from_state=before.state.value,
                to_state=after.state.value,
                detail={"from": before.grade.value, "to": after.grade.value},
            )
            self._announce(
                after,
                regrade_notice(iid, before.grade, after.grade, n_sources),
                edit_card=True,
                now=now,
            )
            self._alert_subscribers(after, now, already=before.grade)
        elif tier < row["best_tier"]:
            self._announce(
                after,
                source_notice(iid, source.name if source else post.source_id),
                edit_card=True,
                now=now,
                summarised=True,
            )
        else:
            self._announce(after, None, edit_card=True, now=now)
        return IngestOutcome(post_id, iid, created=False, grade_rose=rose)
