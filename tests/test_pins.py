"""The dependency ranges in pyproject.toml admit only versions the code can run on."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _requirement(name: str) -> Requirement:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return next(r for r in map(Requirement, deps) if r.name == name)


def test_sqlite_utils_range_starts_where_sqlite_utils_migrations_exists():
    """storage/db.py imports sqlite_utils.migrations, which came with sqlite-utils 4.0 (the 3.x
    wheels, up to 3.39.1, have no such module)."""
    import sqlite_utils.migrations  # noqa: F401  (what storage/db.py needs)

    spec = _requirement("sqlite-utils").specifier
    for without_migrations in ("3.38", "3.39", "3.39.1"):
        assert not spec.contains(without_migrations), without_migrations
    assert spec.contains("4.0")
    assert spec.contains(importlib.metadata.version("sqlite-utils"))
