"""What the bot remembers: SQLite through sqlite-utils. Schema, migrations and queries live here.

Everything else receives one `Database` from `open_db()` and calls the functions of the
submodules; nothing outside this package writes SQL. `SQLITE` is this package seen through
`core.ports.Storage`, the seam the incident service and the router are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from storage import incidents, outbox, people, posts
from storage.db import SCHEMA_MIGRATIONS, open_db, write_tx

__all__ = ["SCHEMA_MIGRATIONS", "SQLITE", "SQLiteStorage", "open_db", "write_tx"]


@dataclass(frozen=True)
class SQLiteStorage:
    """`core.ports.Storage` over SQLite: the submodules themselves (their functions take the
    `Database` first), so a test that patches `storage.incidents.update_incident` patches
    what the service calls."""

    incidents: ModuleType = incidents
    outbox: ModuleType = outbox
    people: ModuleType = people
    posts: ModuleType = posts

    @staticmethod
    def write_tx(db):
        return write_tx(db)


SQLITE = SQLiteStorage()
