"""What the bot remembers: SQLite through sqlite-utils. Schema, migrations and queries live here.

Everything else receives one `Database` from `open_db()` and calls the functions of the
submodules; nothing outside this package writes SQL.
"""

from storage.db import open_db, write_tx, SCHEMA_MIGRATIONS

__all__ = ["open_db", "write_tx", "SCHEMA_MIGRATIONS"]
