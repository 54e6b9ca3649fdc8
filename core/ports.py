"""What the domain needs from storage, as protocols: the incident service and the router
reach the database only through these, so `core` imports no `storage` and can be exercised
without SQLite.

`storage.SQLITE` implements `Storage` (its members are the `storage` submodules themselves,
whose functions take the database handle first); `bot.app.App` and `jobs.backtest` inject it::

    from storage import SQLITE, open_db

    db = open_db(path)
    service = IncidentService(db, config, Router(config, ["console"], db, store=SQLITE), clock, store=SQLITE)

The handle (`db`) is opaque here: core passes it back to the store and never looks inside.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from core.grades import Grade
from core.models import Event, Finding, Incident, Post

__all__ = ["IncidentStore", "OutboxStore", "PeopleStore", "PostStore", "Storage"]


class IncidentStore(Protocol):
    """Incidents, their posts and their append-only events (`storage.incidents`)."""

    def get_incident(self, db: Any, incident_id: int) -> Incident:
        """:raises core.errors.IncidentNotFound:"""
        ...

    def get_story_row(self, db: Any, incident_id: int) -> dict: ...

    def story_candidates(self, db: Any, since: datetime, *, after_id: int = 0) -> list[dict]: ...

    def create_incident(
        self,
        db: Any,
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
        reasons: Any,
        matched: Any,
        now: datetime,
        fingerprint: int | None = None,
        simhash128: str | None = None,
    ) -> int: ...

    def update_incident(self, db: Any, incident_id: int, expected_version: int, now: datetime, **fields: Any) -> None:
        """Compare-and-set. :raises core.errors.StaleIncident: :raises ValueError: unknown field"""
        ...

    def link_post(self, db: Any, incident_id: int, post_id: int, now: datetime) -> None: ...

    def story_sources(self, db: Any, incident_id: int) -> list[str]: ...

    def story_reach(self, db: Any, incident_id: int, since: datetime) -> tuple[int, int, int, int]: ...

    def add_event(
        self,
        db: Any,
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
    ) -> int: ...

    def events_for(self, db: Any, incident_id: int) -> list[Event]: ...

    def events_of(self, db: Any, incident_id: int, actions: tuple[str, ...]) -> list[Event]: ...

    def set_mute_all(self, db: Any, until: datetime | None, by: str | None, now: datetime) -> None: ...


class OutboxStore(Protocol):
    """Messages to send, written in the transaction of the change (`storage.outbox`)."""

    CARD: str
    NOTICE: str
    TEXT: str

    def enqueue(
        self,
        db: Any,
        now: datetime,
        *,
        platform: str,
        chat: str,
        kind: str,
        incident_id: int | None = None,
        payload: dict | None = None,
        priority: int = 5,
    ) -> int: ...

    def chats_with_card(self, db: Any, incident_id: int) -> list[tuple[str, str]]: ...


class PeopleStore(Protocol):
    """Registered chat identities and grade subscriptions (`storage.people`)."""

    def identities_of(self, db: Any, person_id: str) -> dict[str, str]: ...

    def subscriptions(self, db: Any) -> dict[str, str]: ...

    def duty_overrides(self, db: Any) -> dict[date, str]: ...

    def set_duty_override(self, db: Any, day: date, person_id: str, by: str | None, now: datetime) -> None: ...


class PostStore(Protocol):
    """Collected posts (`storage.posts`)."""

    def insert_post(self, db: Any, post: Post, finding: Finding, seg: str | None, now: datetime) -> int | None: ...


class Storage(Protocol):
    """Everything the incident service and the router need from the database."""

    @property
    def incidents(self) -> IncidentStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def people(self) -> PeopleStore: ...

    @property
    def posts(self) -> PostStore: ...

    def write_tx(self, db: Any) -> AbstractContextManager[Any]:
        """One write transaction (nested calls become savepoints)."""
        ...
