"""Report documents' issue numbers (期号): one sequence per kind (日报, 周报, 月报, 专报) and year."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

__all__ = ["last_issue", "release_issue", "reserve_issue"]


def reserve_issue(db: Database, kind: str, year: int, period: str, now: datetime) -> int:
    """The next number of `kind` in `year`, recorded. Call inside `write_tx`."""
    n = db.execute(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM report_issues WHERE kind = ? AND year = ?", [kind, year]
    ).fetchone()[0]
    db.execute(
        "INSERT INTO report_issues (kind, year, number, period, created_at) VALUES (?, ?, ?, ?, ?)",
        [kind, year, n, period, now.astimezone(UTC).isoformat(timespec="seconds")],
    )
    return n


def release_issue(db: Database, kind: str, year: int, number: int) -> None:
    """Give back a number whose document could not be made, if no later one was taken. In `write_tx`."""
    db.execute(
        """DELETE FROM report_issues WHERE kind = ? AND year = ? AND number = ?
                  AND number = (SELECT MAX(number) FROM report_issues WHERE kind = ? AND year = ?)""",
        [kind, year, number, kind, year],
    )


def last_issue(db: Database, kind: str, year: int) -> int:
    return db.execute(
        "SELECT COALESCE(MAX(number), 0) FROM report_issues WHERE kind = ? AND year = ?", [kind, year]
    ).fetchone()[0]
