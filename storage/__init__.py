"""What the bot remembers: SQLite through sqlite-utils. Schema, migrations and queries live here.

Everything else receives one `Database` from `open_db()` and calls the functions of the
submodules; nothing outside this package writes SQL. `SQLITE` is this package seen through
`core.ports.Storage`, the seam the incident service and the router are given.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from core.ports import IncidentStore, OutboxStore, PeopleStore, PostStore, Storage
from storage import incidents, outbox, people, posts
from storage.db import SCHEMA_MIGRATIONS, Checkpointer, open_db, write_tx

__all__ = ["SCHEMA_MIGRATIONS", "SQLITE", "Checkpointer", "SQLiteStorage", "open_db", "write_tx"]


class SQLiteStorage:
    """`core.ports.Storage` over SQLite: the submodules themselves (their functions take the
    `Database` first), so a test that patches `storage.incidents.update_incident` patches
    what the service calls. The return types let a type checker hold each module to its
    protocol."""

    @property
    def incidents(self) -> IncidentStore:
        return incidents

    @property
    def outbox(self) -> OutboxStore:
        return outbox

    @property
    def people(self) -> PeopleStore:
        return people

    @property
    def posts(self) -> PostStore:
        return posts

    def write_tx(self, db: Any) -> AbstractContextManager[Any]:
        return write_tx(db)


SQLITE: Storage = SQLiteStorage()
