"""Incidents, their posts and their append-only events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from core.clock import from_iso, parse_iso, to_iso
from core.errors import IncidentNotFound, StaleIncident
from core.grades import Grade
from core.grading import Reason, reasons_from_json, reasons_to_json
from core.models import Disposition, Event, Incident, State
from storage.db import dialect, insert_id, json_dumps, json_loads
from storage.db import rows as _rows

__all__ = [
    "IncidentNotFound",
    "StaleIncident",
    "add_event",
    "count_incidents",
    "create_incident",
    "due_for_sweep",
    "events_between",
    "events_for",
    "events_of",
    "final_grades",
    "get_incident",
    "get_mute_all",
    "get_story_row",
    "incident_states",
    "incidents_between",
    "last_event_id",
    "link_post",
    "list_incidents",
    "mark_all_due",
    "posts_for",
    "rules_fingerprint",
    "set_mute_all",
    "set_next_due",
    "set_rules_fingerprint",
    "set_sweep_value",
    "story_candidates",
    "story_reach",
    "story_sources",
    "sweep_facts",
    "sweep_value",
    "update_incident",
]


_SELECT = """SELECT i.*, s.name AS source_name,
    (SELECT MIN(p.published_at) FROM incident_posts ip JOIN posts p ON p.id = ip.post_id
      WHERE ip.incident_id = i.id) AS published_at,
    CASE WHEN i.source_id = 'tip' THEN (SELECT p.tip_by FROM posts p WHERE p.id =
      (SELECT MIN(ip.post_id) FROM incident_posts ip WHERE ip.incident_id = i.id)) END AS tip_by
    FROM incidents i LEFT JOIN sources s ON s.id = i.source_id"""


def _row_to_incident(r: dict) -> Incident:
    return Incident(
        id=r["id"],
        title=r["title"],
        url=r["url"],
        source_id=r["source_id"],
        source_name=r.get("source_name"),
        team=r["team"],
        category=r["category"],
        grade=Grade(r["grade"]),
        score=r["score"],
        reasons=reasons_from_json(json_loads(r["reasons"], [])),  # old rows: words alone
        matched=json_loads(r["matched"], {}),
        state=State(r["state"]),
        assignee=r["assignee"],
        escalation_level=r["escalation_level"],
        disposition=Disposition(r["disposition"]) if r["disposition"] else None,
        summary=r["summary"],
        post_count=r["post_count"],
        source_count=r["source_count"],
        created_at=parse_iso(r["created_at"]),
        updated_at=parse_iso(r["updated_at"]),
        claimed_at=from_iso(r["claimed_at"]),
        escalated_at=from_iso(r["escalated_at"]),
        closed_at=from_iso(r["closed_at"]),
        version=r["version"],
        published_at=from_iso(r.get("published_at")),
        muted_until=from_iso(r.get("muted_until")),
        judgement=r.get("judgement"),
        transfer_unit=r.get("transfer_unit"),
        feedback_due_at=from_iso(r.get("feedback_due_at")),
        tip_by=r.get("tip_by"),
    )


def get_incident(db: Database, incident_id: int) -> Incident:
    """:raises IncidentNotFound:

    Inside a write transaction on PostgreSQL the row is locked (FOR UPDATE) until it ends: a
    second writer reads the incident only after the first committed, as BEGIN IMMEDIATE
    serialises writers on SQLite, so a racing claim is refused (TAKEN), not lost (stale)."""
    lock = " FOR UPDATE OF i" if dialect(db) == "postgresql" and db.conn.in_transaction else ""
    rows = _rows(db, _SELECT + " WHERE i.id = ?" + lock, [incident_id])
    if not rows:
        raise IncidentNotFound(incident_id)
    return _row_to_incident(rows[0])


def incident_states(db: Database, incident_ids: list[int]) -> dict[int, State]:
    """The state of each of these incidents (those that exist)."""
    if not incident_ids:
        return {}
    marks = ",".join("?" * len(incident_ids))
    rows = db.execute(f"SELECT id, state FROM incidents WHERE id IN ({marks})", list(incident_ids)).fetchall()
    return {int(i): State(state) for i, state in rows}


def get_story_row(db: Database, incident_id: int) -> dict:
    """The incident's raw row (sensitivity, best tier, fingerprints: what re-grading and clustering read).

    :raises StopIteration: when there is no such incident.
    """
    return next(iter(_rows(db, "SELECT * FROM incidents WHERE id = ?", [incident_id])))


def story_candidates(db: Database, since: datetime, *, after_id: int = 0) -> list[dict]:
    """Incidents opened since `since` (and numbered above `after_id`), oldest first: what a new
    post may join."""
    return _rows(
        db,
        "SELECT id, created_at, story_key, title, fingerprint, simhash128, matched FROM incidents "
        "WHERE created_at >= ? AND id > ? "
        "ORDER BY id",
        [to_iso(since), after_id],
    )


def create_incident(
    db: Database,
    *,
    story_key: str,
    title: str,
    url: str | None,
    source_id: str,
    team: str | None,
    category: str | None,
    grade: Grade,
    score: float,
    sensitivity: float,
    best_tier: int,
    reasons: Iterable[Reason | str],
    matched: dict,
    now: datetime,
    fingerprint: int | None = None,
    simhash128: str | None = None,
) -> int:
    return insert_id(
        db,
        """INSERT INTO incidents (story_key, title, url, source_id, team, category, grade, score, sensitivity,
               best_tier, reasons, matched, state, created_at, updated_at, fingerprint, simhash128)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'new',?,?,?,?)""",
        [
            story_key,
            title,
            url,
            source_id,
            team,
            category,
            grade.value,
            score,
            sensitivity,
            best_tier,
            json_dumps(reasons_to_json(reasons)),
            json_dumps(matched),
            to_iso(now),
            to_iso(now),
            fingerprint,
            simhash128,
        ],
    )


# The columns `update_incident` may set; the keys of its `**fields` become SQL, so they come
# from this list only (id, version, created_at, updated_at and next_due_at are the store's own).
UPDATABLE = frozenset(
    {
        "title",
        "url",
        "team",
        "category",
        "grade",
        "score",
        "sensitivity",
        "best_tier",
        "reasons",
        "matched",
        "state",
        "assignee",
        "escalation_level",
        "disposition",
        "summary",
        "judgement",
        "post_count",
        "source_count",
        "claimed_at",
        "escalated_at",
        "closed_at",
        "muted_until",
        "transfer_unit",
        "feedback_due_at",
    }
)


def update_incident(db: Database, incident_id: int, expected_version: int, now: datetime, **fields: Any) -> None:
    """Compare-and-set update: raises StaleIncident when the version moved on.

    :raises ValueError: for a field that is not one of `UPDATABLE` (nothing is written).
    """
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        raise ValueError(f"incidents has no updatable column {', '.join(unknown)}")
    conv = {}
    for k, v in fields.items():
        if isinstance(v, (State, Grade, Disposition)):
            v = v.value
        elif isinstance(v, datetime):
            v = to_iso(v)
        elif k == "reasons":
            v = json_dumps(reasons_to_json(v))
        elif isinstance(v, (list, tuple, dict)):
            v = json_dumps(list(v) if isinstance(v, tuple) else v)
        conv[k] = v
    conv["updated_at"] = to_iso(now)
    sets = ", ".join(f"{k} = ?" for k in conv)
    cur = db.execute(  # any change may move a deadline: the sweep works its next time out again
        f"UPDATE incidents SET {sets}, version = version + 1, next_due_at = '' WHERE id = ? AND version = ?",
        [*conv.values(), incident_id, expected_version],
    )
    if cur.rowcount != 1:
        raise StaleIncident(incident_id)


def link_post(db: Database, incident_id: int, post_id: int, now: datetime) -> None:
    """Attach a post to an incident's story; attaching it twice is a no-op."""
    db.execute(
        "INSERT INTO incident_posts (incident_id, post_id, added_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        [incident_id, post_id, to_iso(now)],
    )


def story_sources(db: Database, incident_id: int) -> list[str]:
    """The distinct source ids of the posts in an incident's story."""
    return [
        r[0]
        for r in db.execute(
            """SELECT DISTINCT p.source_id FROM incident_posts ip JOIN posts p ON p.id = ip.post_id
           WHERE ip.incident_id = ?""",
            [incident_id],
        ).fetchall()
    ]


def add_event(
    db: Database,
    incident_id: int,
    now: datetime,
    *,
    actor: str | None,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict | None = None,
    platform: str | None = None,
    chat: str | None = None,
) -> int:
    """Append an audit event (the table refuses UPDATE and DELETE); returns its id.

        add_event(db, 12, now, actor="wangmin", action="claim", from_state="new", to_state="claimed")

    Any event but a reminder also clears the incident's `next_due_at`, so the deadline sweep
    looks at it again.

    :param actor: the person id, or None for the system.
    :param action: a `core.lifecycle.Action` value or a system event (`post_added`, `regraded`, `reminder` ...).
    :param detail: JSON-serialisable facts of the event (note text, disposition, target ...).
    :param platform: where it was done from, with `chat`.
    """
    event_id = insert_id(
        db,
        """INSERT INTO events (incident_id, at, actor, action, from_state, to_state, detail, platform, chat)
           VALUES (?,?,?,?,?,?,?,?,?)""",
        [incident_id, to_iso(now), actor, action, from_state, to_state, json_dumps(detail or {}), platform, chat],
    )
    if action != "reminder":  # human activity resets quiet nudges: the sweep looks at it again
        db.execute("UPDATE incidents SET next_due_at = '' WHERE id = ? AND next_due_at != ''", [incident_id])
    return event_id


def last_event_id(db: Database, incident_id: int) -> int:
    """The id of an incident's latest event (0: none)."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM events WHERE incident_id = ?", [incident_id]).fetchone()[0]


def _event(r: dict) -> Event:
    return Event(
        r["id"],
        r["incident_id"],
        parse_iso(r["at"]),
        r["actor"],
        r["action"],
        r["from_state"],
        r["to_state"],
        json_loads(r["detail"], {}),
    )


def events_for(db: Database, incident_id: int) -> list[Event]:
    """An incident's events, oldest first."""
    return [_event(r) for r in _rows(db, "SELECT * FROM events WHERE incident_id = ? ORDER BY id", [incident_id])]


def events_of(db: Database, incident_id: int, actions: tuple[str, ...]) -> list[Event]:
    """An incident's events of the given actions, in order (the card's 批示 and 已阅)."""
    marks = ",".join("?" * len(actions))
    sql = f"SELECT * FROM events WHERE incident_id = ? AND action IN ({marks}) ORDER BY id"
    return [_event(r) for r in _rows(db, sql, [incident_id, *actions])]


def transfer_units(db: Database, incident_ids: list[int] | None = None) -> dict[int, list[str]]:
    """Every unit each incident was ever transferred (转办) to, in order, from the audit: a later
    /transfer replaces `incidents.transfer_unit` but not the earlier units' right to see the
    facts they were sent. All incidents when `incident_ids` is None."""
    sql = "SELECT incident_id, detail FROM events WHERE action = 'transfer'"
    args: list = []
    if incident_ids is not None:
        if not incident_ids:
            return {}
        sql += f" AND incident_id IN ({','.join('?' * len(incident_ids))})"
        args = list(incident_ids)
    out: dict[int, list[str]] = {}
    for r in _rows(db, sql + " ORDER BY id", args):
        unit = json_loads(r["detail"], {}).get("unit")
        if isinstance(unit, str) and unit and unit not in out.setdefault(r["incident_id"], []):
            out[r["incident_id"]].append(unit)
    return out


def posts_for(db: Database, incident_id: int) -> list[dict]:
    """An incident's posts (id, title, url, source id and name, published and fetched times), oldest first."""
    return [
        dict(r)
        for r in _rows(
            db,
            """SELECT p.id, p.title, p.url, p.source_id, s.name AS source_name, p.published_at, p.fetched_at
           FROM incident_posts ip JOIN posts p ON p.id = ip.post_id LEFT JOIN sources s ON s.id = p.source_id
           WHERE ip.incident_id = ? ORDER BY p.id""",
            [incident_id],
        )
    ]


def _list_where(
    states: tuple[State, ...] | None, assignee: str | None, grade: Grade | None, unclaimed: bool = False
) -> tuple[str, list]:
    where: list[str] = ["(i.assignee IS NULL OR i.assignee = '')"] if unclaimed else []
    params: list = []
    if states:
        where.append(f"i.state IN ({','.join('?' * len(states))})")
        params += [s.value for s in states]
    if assignee:
        where.append("i.assignee = ?")
        params.append(assignee)
    if grade is not None:
        where.append("i.grade = ?")
        params.append(grade.value)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def list_incidents(
    db: Database,
    *,
    states: tuple[State, ...] | None = None,
    assignee: str | None = None,
    grade: Grade | None = None,
    limit: int = 20,
    offset: int = 0,
    unclaimed: bool = False,
) -> list[Incident]:
    """Incidents for `/list` and `/mine`: most severe first, then newest.

    :param states: only these states (all when None or empty).
    :param assignee: only those held by this person id.
    :param grade: only this grade.
    :param limit: at most this many, after skipping `offset` (a page of /list).
    :param unclaimed: only those nobody holds.
    """
    where, params = _list_where(states, assignee, grade, unclaimed)
    sql = _SELECT + where
    sql += " ORDER BY CASE i.grade WHEN 'I' THEN 1 WHEN 'II' THEN 2 WHEN 'III' THEN 3 ELSE 4 END, i.id DESC"
    return [_row_to_incident(dict(r)) for r in _rows(db, sql + " LIMIT ? OFFSET ?", [*params, limit, offset])]


def count_incidents(
    db: Database,
    *,
    states: tuple[State, ...] | None = None,
    assignee: str | None = None,
    grade: Grade | None = None,
    unclaimed: bool = False,
) -> int:
    """How many incidents `list_incidents` would list without a limit."""
    where, params = _list_where(states, assignee, grade, unclaimed)
    return db.execute("SELECT COUNT(*) FROM incidents i" + where, params).fetchone()[0]


def incidents_between(db: Database, start: datetime, end: datetime) -> list[Incident]:
    """Incidents created in [start, end)."""
    return [
        _row_to_incident(dict(r))
        for r in _rows(
            db, _SELECT + " WHERE i.created_at >= ? AND i.created_at < ? ORDER BY i.id", [to_iso(start), to_iso(end)]
        )
    ]


def open_incidents(db: Database) -> list[Incident]:
    """Every incident not closed, by number."""
    return [_row_to_incident(dict(r)) for r in _rows(db, _SELECT + " WHERE i.state != 'closed' ORDER BY i.id")]


def due_for_sweep(
    db: Database, now: datetime, limit: int, after: tuple[str, int] = ("", 0)
) -> list[tuple[Incident, str]]:
    """Open incidents whose `next_due_at` has come ('' = not worked out yet), in (next_due_at, id)
    order after the cursor `after`: a range read of the partial index `incidents_open_next_due`,
    so the cost follows the number due, not the number open."""
    hint = "" if dialect(db) == "postgresql" else " INDEXED BY incidents_open_next_due"  # SQLite's planner hint
    ids = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM incidents{hint} WHERE state != 'closed' AND next_due_at <= ? "
            "AND (next_due_at, id) > (?, ?) ORDER BY next_due_at, id LIMIT ?",
            [to_iso(now), after[0], after[1], limit],
        ).fetchall()
    ]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: dict(r)
        for r in _rows(
            db, _SELECT.replace("SELECT i.*", "SELECT i.*, i.next_due_at AS _nd", 1) + f" WHERE i.id IN ({marks})", ids
        )
    }
    out = []
    for i in ids:
        inc = _row_to_incident(rows[i])
        out.append((inc, rows[i]["_nd"]))
    return out


def set_next_due(db: Database, incident_id: int, when: datetime | None, *, version: int, last_event_id: int) -> bool:
    """When the sweep must look at this incident again (None: nothing left to remind of) —
    unless it changed since the sweep read it (version, or a new non-reminder event): then it
    stays '' and the next sweep works it out afresh."""
    cur = db.execute(
        """UPDATE incidents SET next_due_at = ? WHERE id = ? AND version = ? AND NOT EXISTS (
               SELECT 1 FROM events WHERE incident_id = ? AND id > ? AND action != 'reminder')""",
        [
            "9999-12-31T00:00:00+00:00" if when is None else to_iso(when),
            incident_id,
            version,
            incident_id,
            last_event_id,
        ],
    )
    return cur.rowcount == 1


def mark_all_due(db: Database) -> int:
    """Every open incident is looked at again by the next sweep (the grade rules changed)."""
    return db.execute("UPDATE incidents SET next_due_at = '' WHERE state != 'closed'").rowcount


def sweep_facts(
    db: Database, incident_ids: list[int], human: frozenset[str] | set[str]
) -> dict[int, tuple[set[str], datetime | None, int]]:
    """What the deadline sweep needs of each incident's events, in one query per chunk (keys read
    in SQL, no JSON decoded in Python): (reminder keys given, time of the last human action or
    None, id of the last event)."""
    out: dict[int, tuple[set[str], datetime | None, int]] = {}
    if not incident_ids:
        return out
    keys: dict[int, set[str]] = {i: set() for i in incident_ids}
    last_human: dict[int, str] = {}
    last_id: dict[int, int] = {}
    marks = ",".join("?" * len(incident_ids))
    key_of = "CAST(detail AS jsonb) ->> 'key'" if dialect(db) == "postgresql" else "json_extract(detail, '$.key')"
    for iid, eid, action, at, key in db.execute(
        f"""SELECT incident_id, id, action, at,
                       CASE WHEN action = 'reminder' THEN {key_of} END
                FROM events WHERE incident_id IN ({marks}) ORDER BY incident_id, id""",
        list(incident_ids),
    ):
        last_id[iid] = eid
        if key is not None:
            keys[iid].add(key)
        elif action in human and (iid not in last_human or at > last_human[iid]):
            last_human[iid] = at
    for i in incident_ids:
        out[i] = (keys[i], from_iso(last_human.get(i)), last_id.get(i, 0))
    return out


def story_reach(db: Database, incident_id: int, since: datetime) -> tuple[int, int, int, int]:
    """(max replies, max views, max reposts, posts fetched since `since`) over a story's posts."""
    row = db.execute(
        """SELECT COALESCE(MAX(p.replies), 0), COALESCE(MAX(p.views), 0), COALESCE(MAX(p.reposts), 0),
                  SUM(CASE WHEN p.fetched_at >= ? THEN 1 ELSE 0 END)
           FROM incident_posts ip JOIN posts p ON p.id = ip.post_id WHERE ip.incident_id = ?""",
        [to_iso(since), incident_id],
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3] or 0)


def events_between(db: Database, start: datetime, end: datetime, actions: tuple[str, ...]) -> dict[int, list[Event]]:
    """The events of the given kinds of every incident created in [start, end), by incident,
    in order: one query for a whole ledger instead of one per incident."""
    out: dict[int, list[Event]] = {}
    if not actions:
        return out
    rows = _rows(
        db,
        f"""SELECT e.* FROM events e JOIN incidents i ON i.id = e.incident_id
            WHERE i.created_at >= ? AND i.created_at < ? AND e.action IN ({','.join('?' * len(actions))})
            ORDER BY e.incident_id, e.id""",
        [to_iso(start), to_iso(end), *actions],
    )
    for r in rows:
        out.setdefault(r["incident_id"], []).append(_event(r))
    return out


def get_mute_all(db: Database) -> datetime | None:
    """Until when `/mute all` holds grade III–IV reminders (None: not set)."""
    row = db.execute("SELECT until FROM mute_all WHERE id = 1").fetchone()
    return from_iso(row[0]) if row else None


def set_mute_all(db: Database, until: datetime | None, by: str | None, now: datetime) -> None:
    """Set (or, with None, lift) the group-wide hold. The sweep's stored next times assumed the
    old hold, so every open incident is looked at again by the next sweep."""
    if until is None:
        db.execute("DELETE FROM mute_all WHERE id = 1")
    else:
        db.execute(
            "INSERT INTO mute_all (id, until, by, at) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET until = excluded.until, by = excluded.by, at = excluded.at",
            [to_iso(until), by, to_iso(now)],
        )
    mark_all_due(db)


def sweep_value(db: Database, key: str) -> str | None:
    """A value the deadline sweep keeps between runs (`sweep_state`), or None."""
    row = db.execute("SELECT value FROM sweep_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_sweep_value(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO sweep_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def rules_fingerprint(db: Database) -> str | None:
    """The fingerprint of the grade rules the stored `next_due_at` times were worked out with."""
    row = db.execute("SELECT value FROM sweep_state WHERE key = 'rules'").fetchone()
    return row[0] if row else None


def set_rules_fingerprint(db: Database, fingerprint: str) -> None:
    db.execute(
        "INSERT INTO sweep_state (key, value) VALUES ('rules', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [fingerprint],
    )


def final_grades(db: Database) -> dict[int, str]:
    """Every incident's id and current grade (its value: "I" … "IV")."""
    return {iid: grade for iid, grade in db.execute("SELECT id, grade FROM incidents")}
