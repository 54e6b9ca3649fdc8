"""An incident's row is derivable from its events: replaying the append-only `events` table
rebuilds everything the lifecycle wrote (state, assignee, grade, escalation, the times that
start and stop the deadlines, disposition, summary, judgement, mute, version), after any
sequence of lifecycle operations, refused ones included."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import from_iso
from core.incidents import Actor
from core.lifecycle import Action
from core.models import Disposition, Role
from tests.conftest import HIGH, LOW, _migrated_copy, seed

ACTORS = {
    "liqiang": Actor("liqiang", "李强", Role.STAFF),
    "zhoulan": Actor("zhoulan", "周岚", Role.STAFF),
    "wangmin": Actor("wangmin", "王敏", Role.LEADER),
    "admin": Actor("wangmin", "王敏", Role.ADMIN),
}
# actions that change the row (NOTE, INSTRUCT and READ only add an event; reminders, notes,
# 批示 and read receipts leave the row alone)
ROW_CHANGING = {a.value for a in Action if a not in (Action.NOTE, Action.INSTRUCT, Action.READ)} | {
    "mute",
    "unmute",
    "post_added",
}

op = st.one_of(
    st.tuples(st.just("act"), st.sampled_from(list(Action)), st.sampled_from(list(ACTORS)), st.data()),
    st.tuples(st.just("mute"), st.integers(1, 48), st.sampled_from(list(ACTORS)), st.none()),
    st.tuples(st.just("unmute"), st.none(), st.sampled_from(list(ACTORS)), st.none()),
    st.tuples(st.just("join"), st.none(), st.none(), st.none()),
)


def rebuild(events: list[dict]) -> dict:
    """The incident's lifecycle fields, from its events alone."""
    s: dict = {
        "state": None,
        "assignee": None,
        "grade": None,
        "escalation_level": 0,
        "escalated_at": None,
        "claimed_at": None,
        "closed_at": None,
        "disposition": None,
        "summary": None,
        "judgement": None,
        "muted_until": None,
        "transfer_unit": None,
        "feedback_due_at": None,
        "updated_at": None,
        "version": 1,
    }
    for ev in events:
        a, d, at = ev["action"], json.loads(ev["detail"]), ev["at"]
        if ev["to_state"] is not None:
            s["state"] = ev["to_state"]
        if a == "opened":
            s["grade"], s["updated_at"] = d["grade"], at
        elif a == "regraded":
            s["grade"] = d["to"]
        elif a in ("claim", "unclaim", "assign"):
            s["assignee"] = {"claim": ev["actor"], "unclaim": None, "assign": d.get("target")}[a]
            if a != "unclaim" and s["claimed_at"] is None:
                s["claimed_at"] = at
        elif a == "escalate":
            s["escalation_level"], s["escalated_at"] = d["level"], at
        elif a == "judge":
            s["judgement"] = d["text"]
        elif a == "close":
            s["disposition"], s["summary"] = d["disposition"], d["summary"]
            if ev["to_state"] == "closed":
                s["closed_at"] = at
            if s["assignee"] is None:  # closing unclaimed: the closer becomes responsible
                s["assignee"] = ev["actor"]
        elif a == "signoff":
            s["closed_at"] = at
            if s["assignee"] is None:
                s["assignee"] = ev["actor"]
        elif a == "reopen":
            s["closed_at"] = s["disposition"] = s["summary"] = None
        elif a == "transfer":  # 转办: the unit and the feedback due date; the sender holds it if nobody did
            s["transfer_unit"], s["feedback_due_at"] = d["unit"], d["due"]
            if s["assignee"] is None:
                s["assignee"] = ev["actor"]
        elif a == "feedback":
            s["feedback_due_at"] = None
        elif a == "mute":
            s["muted_until"] = d["until"]
        elif a == "unmute":
            s["muted_until"] = None
        if a in ROW_CHANGING:
            s["version"] += 1
            s["updated_at"] = at
    return s


def stored(h, iid: int) -> dict:
    inc = h.incident(iid)
    v = lambda x: x.value if hasattr(x, "value") else x  # noqa: E731
    return {
        "state": inc.state.value,
        "assignee": inc.assignee,
        "grade": inc.grade.value,
        "escalation_level": inc.escalation_level,
        "escalated_at": inc.escalated_at,
        "claimed_at": inc.claimed_at,
        "closed_at": inc.closed_at,
        "disposition": v(inc.disposition),
        "summary": inc.summary,
        "judgement": inc.judgement,
        "muted_until": inc.muted_until,
        "transfer_unit": inc.transfer_unit,
        "feedback_due_at": inc.feedback_due_at,
        "updated_at": inc.updated_at,
        "version": inc.version,
    }


def as_times(s: dict) -> dict:
    return {k: (from_iso(x) if k.endswith(("_at", "_until")) and isinstance(x, str) else x) for k, x in s.items()}


def apply(h, iid: int, step, n: int) -> None:
    kind, what, who, data = step
    svc = h.app.service
    actor = ACTORS[who] if who else None
    if kind == "act":
        kw: dict = {}
        if what is Action.ASSIGN:
            kw["target"] = data.draw(st.sampled_from(["liqiang", "zhoulan"]))
        if what in (Action.NOTE, Action.JUDGE, Action.ESCALATE, Action.REOPEN, Action.TRANSFER, Action.FEEDBACK):
            kw["text"] = f"第{n}步"
        if what is Action.TRANSFER:
            kw["unit"] = data.draw(st.sampled_from(["市交通运输局", "市委宣传部网评办"]))
            kw["due"] = h.app.clock() + timedelta(hours=data.draw(st.integers(1, 72)))
        if what is Action.CLOSE:
            kw["disposition"] = data.draw(st.sampled_from(list(Disposition)))
            kw["summary"] = data.draw(st.sampled_from([None, f"小结{n}"]))
        svc.act(iid, what, actor, **kw)  # refused or not: a refusal must leave no trace either
    elif kind == "mute":
        svc.mute(iid, actor, h.app.clock() + timedelta(hours=what))
    elif kind == "unmute":
        svc.unmute(iid, actor)
    else:  # another post of the same story: joins, may raise the grade
        seed(h, f"转{n}：" + LOW[0], LOW[1], source=["forum", "provnews", "ycnews"][n % 3])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=14), start_high=st.booleans())
def test_the_whole_incident_row_is_rebuilt_from_its_events(make_app, tmp_path, clock, steps, start_high):
    path = tmp_path / f"{uuid.uuid4().hex}.db"  # a fresh database per example: a copy of the migrated template
    _migrated_copy(path)
    h = make_app(db_path=path)
    first = seed(h, *(HIGH if start_high else LOW))
    iid = first.incident_id
    for n, step in enumerate(steps, 1):
        clock.advance(minutes=7)  # every step at its own time, so a wrong timestamp shows
        apply(h, iid, step, n)
        events = list(h.app.db.query("SELECT * FROM events WHERE incident_id = ? ORDER BY id", [iid]))
        assert as_times(rebuild(events)) == as_times(stored(h, iid)), f"after step {n}: {step[:3]}"


def test_rebuild_reads_a_known_history():
    at = [f"2026-11-24T0{i}:00:00+00:00" for i in range(8)]
    ev = lambda i, action, to, actor=None, **d: {  # noqa: E731
        "action": action,
        "to_state": to,
        "actor": actor,
        "at": at[i],
        "detail": json.dumps(d),
    }
    s = rebuild(
        [
            ev(0, "opened", "new", grade="III"),
            ev(1, "claim", "claimed", "liqiang"),
            ev(2, "escalate", "escalated", "liqiang", level=1, reason="x"),
            ev(3, "note", "escalated", "liqiang", text="n"),
            ev(4, "close", "closed", "liqiang", disposition="已澄清", summary=None),
        ]
    )
    assert s["state"] == "closed" and s["assignee"] == "liqiang" and s["escalation_level"] == 1
    assert (s["claimed_at"], s["escalated_at"], s["closed_at"], s["updated_at"]) == (at[1], at[2], at[4], at[4])
    assert s["version"] == 4  # opened at 1, three row changes; the note changed nothing
    assert isinstance(datetime.fromisoformat(s["closed_at"]), datetime)
