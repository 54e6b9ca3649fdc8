"""The outbox: messages to send, written in the same transaction as the change that caused them.

Rows are delivered in priority order (grade I first) but strictly first-in-first-out per
incident and chat, so a card always goes out before the replies threaded under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from core.clock import to_iso
from storage.db import dialect, insert_id, json_dumps, json_loads
from storage.db import rows as _rows

__all__ = [
    "CARD",
    "NOTICE",
    "TEXT",
    "URGENT_CARD_RANK",
    "OutboxRow",
    "begin",
    "card_waiting",
    "chats_with_card",
    "due",
    "enqueue",
    "hold",
    "incident_for_message",
    "mark_dead",
    "mark_digested",
    "mark_retry",
    "mark_sent",
    "mark_superseded",
    "max_id",
    "message_id_for",
    "new_low_grade_cards",
    "newer_card_pending",
    "release_uncertain",
    "remember_message",
    "save_progress",
    "unbegin",
]

# kinds
CARD, NOTICE, TEXT = "card", "notice", "text"
# cards of grades I–II (priority 1–2) go before every notice and text, of whatever priority
URGENT_CARD_RANK = 2


@dataclass(frozen=True)
class OutboxRow:
    id: int
    platform: str
    chat: str
    kind: str
    incident_id: int | None
    payload: dict
    priority: int
    attempts: int
    created_at: str = ""  # ISO-8601 UTC, when it was queued


def enqueue(
    db: Database,
    now: datetime,
    *,
    platform: str,
    chat: str,
    kind: str,
    incident_id: int | None = None,
    payload: dict | None = None,
    priority: int = 5,
) -> int:
    """Queue a message for delivery, in the caller's transaction; returns the row id.

        enqueue(db, now, platform="telegram", chat="-100123", kind=CARD, incident_id=12, priority=1)

    :param kind: `CARD` (sent once, edited afterwards), `NOTICE` (threaded under the card) or another kind the deliverer knows.
    :param incident_id: the incident the message is about, if any.
    :param payload: JSON-serialisable extras (a notice's text, `first`, a report's image ...).
    :param priority: lower goes first (a grade's rank).
    """
    return insert_id(
        db,
        """INSERT INTO outbox (created_at, platform, chat, kind, incident_id, payload, priority)
           VALUES (?,?,?,?,?,?,?)""",
        [to_iso(now), platform, str(chat), kind, incident_id, json_dumps(payload or {}), priority],
    )


def max_id(db: Database) -> int:
    """The newest row's id (0: empty)."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]


def due(db: Database, platforms: list[str], now: datetime, limit: int = 50) -> list[OutboxRow]:
    """Pending rows whose time has come, each the oldest pending one of its incident and chat.
    Cards of grades I–II first (a new alert never queues behind a backlog of notices, issue
    17.3), then by priority, then in order; a notice still follows its own card (the NOT
    EXISTS: only the oldest pending row of an incident and chat is ever due)."""
    if not platforms:
        return []
    marks = ",".join("?" * len(platforms))
    sql = f"""
        SELECT o.* FROM outbox o
        WHERE o.state = 'pending' AND o.platform IN ({marks})
          AND (o.not_before IS NULL OR o.not_before <= ?)
          AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.state IN ('pending', 'sending') AND o.incident_id IS NOT NULL AND p.incident_id = o.incident_id
                AND p.platform = o.platform AND p.chat = o.chat AND p.id < o.id)
        ORDER BY CASE WHEN o.kind = 'card' AND o.priority <= ? THEN 0 ELSE 1 END, o.priority, o.id
        LIMIT ?"""
    return [
        OutboxRow(
            r["id"],
            r["platform"],
            r["chat"],
            r["kind"],
            r["incident_id"],
            json_loads(r["payload"], {}),
            r["priority"],
            r["attempts"],
            r["created_at"],
        )
        for r in _rows(db, sql, [*platforms, to_iso(now), URGENT_CARD_RANK, limit])
    ]


def card_waiting(db: Database, platforms: list[str], now: datetime, after_id: int) -> bool:
    """A grade I–II card queued after row `after_id` is due now, first of its incident and chat
    (sending the rest of a batch of notices would make it wait: the deliverer goes back to
    fetch it first)."""
    if not platforms:
        return False
    marks = ",".join("?" * len(platforms))
    return (
        db.execute(
            f"""SELECT 1 FROM outbox o WHERE o.state = 'pending' AND o.platform IN ({marks}) AND o.priority <= ?
            AND o.id > ? AND o.kind = 'card' AND (o.not_before IS NULL OR o.not_before <= ?)
            AND NOT EXISTS (
                SELECT 1 FROM outbox p
                WHERE p.state IN ('pending', 'sending') AND p.incident_id = o.incident_id
                  AND p.platform = o.platform AND p.chat = o.chat AND p.id < o.id)
            LIMIT 1""",
            [*platforms, URGENT_CARD_RANK, after_id, to_iso(now)],
        ).fetchone()
        is not None
    )


def mark_sent(db: Database, row_id: int, now: datetime, message_id: str | None) -> None:
    """The row went out: record the platform's message id (None when it has none)."""
    db.execute(
        "UPDATE outbox SET state='sent', sent_at=?, message_id=?, attempts=attempts+1 WHERE id=?",
        [to_iso(now), message_id, row_id],
    )


def newer_card_pending(db: Database, row: OutboxRow) -> bool:
    """A later card row for the same incident and chat makes this one redundant: cards are
    rendered fresh at send time, so only the last edit needs sending."""
    return (
        db.execute(
            """SELECT 1 FROM outbox WHERE state='pending' AND kind='card' AND incident_id=? AND platform=?
           AND chat=? AND id > ? LIMIT 1""",
            [row.incident_id, row.platform, row.chat, row.id],
        ).fetchone()
        is not None
    )


def mark_superseded(db: Database, row_id: int, now: datetime) -> None:
    """A newer card edit for the same chat is pending: this one need not be sent."""
    db.execute("UPDATE outbox SET state='superseded', sent_at=? WHERE id=?", [to_iso(now), row_id])


def mark_retry(db: Database, row_id: int, not_before: datetime, error: str, *, count: bool = True) -> None:
    """Try again at `not_before`; `count=False` when only waiting (rate limit), not failing."""
    db.execute(
        "UPDATE outbox SET state='pending', attempts=attempts+?, not_before=?, last_error=? WHERE id=?",
        [1 if count else 0, to_iso(not_before), error[:500], row_id],
    )


def mark_dead(db: Database, row_id: int, error: str) -> None:
    """A permanent failure: the row is never tried again (`error` is kept, cut to 500 characters)."""
    db.execute("UPDATE outbox SET state='dead', attempts=attempts+1, last_error=? WHERE id=?", [error[:500], row_id])


def message_id_for(db: Database, incident_id: int | None, platform: str, chat: str) -> str | None:
    """The platform's id of `incident_id`'s card in this chat; None when there is none (or no incident)."""
    row = db.execute(
        "SELECT message_id FROM messages WHERE incident_id=? AND platform=? AND chat=?",
        [incident_id, platform, str(chat)],
    ).fetchone()
    return row[0] if row else None


def remember_message(db: Database, incident_id: int, platform: str, chat: str, message_id: str, now: datetime) -> None:
    """Record (or replace) the platform's message id of an incident's card in a chat: later changes edit it."""
    db.execute(
        """INSERT INTO messages (incident_id, platform, chat, message_id, created_at, updated_at) VALUES (?,?,?,?,?,?)
           ON CONFLICT(incident_id, platform, chat) DO UPDATE SET message_id=excluded.message_id,
               updated_at=excluded.updated_at""",
        [incident_id, platform, str(chat), str(message_id), to_iso(now), to_iso(now)],
    )


def chats_with_card(db: Database, incident_id: int) -> list[tuple[str, str]]:
    """Every (platform, chat) showing the incident's card, in the order they were sent."""
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT platform, chat FROM messages WHERE incident_id=? ORDER BY created_at", [incident_id]
        ).fetchall()
    ]


def incident_for_message(db: Database, platform: str, chat: str, message_id: str) -> int | None:
    """Which incident a card (or a notice under it) in a chat belongs to; None when the message
    names several (a digest; cards sharing an id, as a Bot API mock may answer every send with
    the same id): which one a reply to it means is not known."""
    args = [platform, str(chat), str(message_id)]
    for sql in (
        "SELECT DISTINCT incident_id FROM messages WHERE platform=? AND chat=? AND message_id=? LIMIT 2",
        "SELECT DISTINCT incident_id FROM outbox WHERE platform=? AND chat=? AND message_id=?"
        " AND incident_id IS NOT NULL LIMIT 2",
    ):
        rows = db.execute(sql, args).fetchall()
        if rows:
            return rows[0][0] if len(rows) == 1 else None
    return None


def new_low_grade_cards(db: Database, platform: str, now: datetime, min_rank: int = 3) -> dict[str, list[OutboxRow]]:
    """Pending first alerts (the card of a new incident, no message sent yet for it in that
    chat) of grade III–IV, by chat: the candidates for a digest. Cards caused by later
    changes are never digested."""
    rows = _rows(
        db,  # `first` is read from the payload below (JSON in SQL differs between engines)
        """SELECT o.* FROM outbox o
           WHERE o.state='pending' AND o.platform=? AND o.kind='card' AND o.priority >= ?
             AND (o.not_before IS NULL OR o.not_before <= ?)
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.incident_id=o.incident_id AND m.platform=o.platform
                             AND m.chat=o.chat)
           ORDER BY o.id""",
        [platform, min_rank, to_iso(now)],
    )
    out: dict[str, list[OutboxRow]] = {}
    for r in rows:
        payload = json_loads(r["payload"], {})
        if payload.get("first") not in (1, True):  # as json_extract(payload, '$.first') = 1
            continue
        out.setdefault(r["chat"], []).append(
            OutboxRow(
                r["id"],
                r["platform"],
                r["chat"],
                r["kind"],
                r["incident_id"],
                payload,
                r["priority"],
                r["attempts"],
                r["created_at"],
            )
        )
    return out


def mark_digested(db: Database, row_ids: list[int], now: datetime, message_id: str | None) -> None:
    """These first cards went out as lines of one digest; later changes send a full card."""
    marks = ",".join("?" * len(row_ids))
    db.execute(
        f"UPDATE outbox SET state='digested', sent_at=?, message_id=? WHERE id IN ({marks})",
        [to_iso(now), message_id, *row_ids],
    )


def hold(db: Database, row_ids: list[int], until: datetime) -> None:
    """Keep these rows back until `until` (digests wait for the next minute)."""
    marks = ",".join("?" * len(row_ids))
    db.execute(f"UPDATE outbox SET not_before=? WHERE id IN ({marks})", [to_iso(until), *row_ids])


def begin(db: Database, row_ids: list[int], now: datetime) -> None:
    """Record that these rows are about to be sent (committed before the platform is called):
    a row found in 'sending' later was cut off mid-send, and may or may not have arrived."""
    marks = ",".join("?" * len(row_ids))
    db.execute(f"UPDATE outbox SET state='sending', sent_at=? WHERE id IN ({marks})", [to_iso(now), *row_ids])


def release_uncertain(db: Database, platforms: list[str]) -> list[int]:
    """Rows of these platforms left in 'sending' by a process that died mid-send go back to
    'pending', marked `uncertain` in their payload (they may already be in the chat)."""
    if not platforms:
        return []
    marks = ",".join("?" * len(platforms))
    ids = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM outbox WHERE state='sending' AND platform IN ({marks})", list(platforms)
        ).fetchall()
    ]
    if ids:
        idm = ",".join("?" * len(ids))
        db.execute(f"UPDATE outbox SET state='pending', sent_at=NULL, {_count_uncertain(db)} WHERE id IN ({idm})", ids)
    return ids


def _count_uncertain(db: Database) -> str:
    """SET clause: payload.uncertain += 1 (JSON functions differ between the engines)."""
    if dialect(db) == "postgresql":
        return (
            "payload=jsonb_set(CAST(payload AS jsonb), '{uncertain}', "
            "to_jsonb(COALESCE(CAST(CAST(payload AS jsonb) ->> 'uncertain' AS integer), 0) + 1))::text"
        )
    return "payload=json_set(payload, '$.uncertain', COALESCE(json_extract(payload, '$.uncertain'), 0) + 1)"


def save_progress(db: Database, row_id: int, parts_done: int, first_id: str | None) -> None:
    """A text sent as several messages: how many parts went out, and the first one's id."""
    if dialect(db) == "postgresql":
        sql = (
            "UPDATE outbox SET payload=jsonb_set(jsonb_set(CAST(payload AS jsonb), '{parts_done}', "
            "to_jsonb(CAST(? AS integer))), '{first_id}', COALESCE(to_jsonb(CAST(? AS text)), 'null'::jsonb))::text "
            "WHERE id=?"
        )
    else:
        sql = "UPDATE outbox SET payload=json_set(payload, '$.parts_done', ?, '$.first_id', ?) WHERE id=?"
    db.execute(sql, [parts_done, first_id, row_id])


def unbegin(db: Database, row_ids: list[int], *, uncertain: bool = False) -> None:
    """Back to 'pending' after a send that failed (or, `uncertain`, was cut off)."""
    marks = ",".join("?" * len(row_ids))
    extra = f", {_count_uncertain(db)}" if uncertain else ""
    db.execute(
        f"UPDATE outbox SET state='pending', sent_at=NULL{extra} WHERE state='sending' AND id IN ({marks})", row_ids
    )
