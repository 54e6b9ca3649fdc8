"""Registered chat identities, leaders' subscriptions and the duty rota's overrides."""

from __future__ import annotations

from datetime import date, datetime

from sqlite_utils import Database

from core.clock import to_iso

__all__ = [
    "duty_overrides",
    "identities_of",
    "person_for_identity",
    "register_identity",
    "set_duty_override",
    "subscribe",
    "subscriptions",
    "unsubscribe",
]


def register_identity(db: Database, platform: str, user_id: str, person_id: str, now: datetime) -> None:
    """Link a chat user to a configured person (`/start`); a user registered again is re-linked."""
    db.execute(
        """INSERT INTO identities (platform, user_id, person_id, registered_at) VALUES (?,?,?,?)
           ON CONFLICT(platform, user_id) DO UPDATE SET person_id=excluded.person_id""",
        [platform, str(user_id), person_id, to_iso(now)],
    )


def person_for_identity(db: Database, platform: str, user_id: str) -> str | None:
    """The person id registered for a chat user, or None."""
    row = db.execute(
        "SELECT person_id FROM identities WHERE platform=? AND user_id=?", [platform, str(user_id)]
    ).fetchone()
    return row[0] if row else None


def identities_of(db: Database, person_id: str) -> dict[str, str]:
    """A person's registered chat users: platform -> user id."""
    return {r[0]: r[1] for r in db.execute("SELECT platform, user_id FROM identities WHERE person_id=?", [person_id])}


def subscribe(db: Database, person_id: str, min_grade: str, now: datetime) -> None:
    """Send this person privately every incident of `min_grade` (a `Grade` value) or above; replaces an earlier subscription."""
    db.execute(
        """INSERT INTO subscriptions (person_id, min_grade, created_at) VALUES (?,?,?)
           ON CONFLICT(person_id) DO UPDATE SET min_grade=excluded.min_grade""",
        [person_id, min_grade, to_iso(now)],
    )


def unsubscribe(db: Database, person_id: str) -> bool:
    """Stop a person's subscription; False when there was none."""
    return db.execute("DELETE FROM subscriptions WHERE person_id=?", [person_id]).rowcount > 0


def subscriptions(db: Database) -> dict[str, str]:
    """Every subscription: person id -> minimum grade value."""
    return {r[0]: r[1] for r in db.execute("SELECT person_id, min_grade FROM subscriptions")}


def set_duty_override(db: Database, day: date, person_id: str, by: str | None, now: datetime) -> None:
    """Record who is on duty on `day` (/duty): a new row, the old ones stay as the audit."""
    db.execute(
        "INSERT INTO duty_overrides (day, person_id, by, at) VALUES (?,?,?,?)",
        [day.isoformat(), person_id, by, to_iso(now)],
    )


def duty_overrides(db: Database) -> dict[date, str]:
    """Day -> person id: the latest override of each day."""
    rows = db.execute(
        "SELECT day, person_id FROM duty_overrides WHERE id IN (SELECT MAX(id) FROM duty_overrides GROUP BY day)"
    )
    return {date.fromisoformat(r[0]): r[1] for r in rows}
