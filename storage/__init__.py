"""What the bot remembers: SQLite through sqlite-utils. Schema, migrations and queries live here.

Everything else receives one `Database` from `open_db()` and calls the functions of the
submodules; nothing outside this package writes SQL.
"""

from storage.db import SCHEMA_MIGRATIONS, open_db, write_tx

__all__ = ["SCHEMA_MIGRATIONS", "open_db", "write_tx"]
