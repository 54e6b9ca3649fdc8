"""What reports read: the figures of a period as SQL aggregates (issue 17.8: a month of a
year's database is read without building an Incident per row or decoding JSON it never uses),
and report documents' issue numbers (期号): one sequence per kind (日报, 周报, 月报, 专报) and year."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from core.clock import to_iso
from storage.db import dialect
from storage.db import rows as _rows

__all__ = [
    "closed_between",
    "last_issue",
    "open_overdue",
    "period_groups",
    "period_spans",
    "release_issue",
    "reserve_issue",
    "source_health_rows",
]


def period_groups(db: Database, start: datetime, end: datetime) -> list[tuple]:
    """Incidents created in [start, end), counted per (grade, category, state, source_id,
    disposition, team): rows of those six, the count, and the lowest id of the group (so that a
    caller can list keys in the order they first appear)."""
    return db.execute(
        """SELECT grade, category, state, source_id, disposition, team, COUNT(*), MIN(id)
           FROM incidents WHERE created_at >= ? AND created_at < ?
           GROUP BY grade, category, state, source_id, disposition, team""",
        [to_iso(start), to_iso(end)],
    ).fetchall()


def period_spans(
    db: Database, start: datetime, end: datetime
) -> list[tuple[str, str | None, int | None, int | None, int | None]]:
    """For incidents created in [start, end) that were claimed, held or closed: (grade,
    assignee, seconds to claim or None, seconds to close or None — only for closed ones,
    seconds to the assignee's own taking of it or None).

    The claim is the incident's first, by whoever; the assignee's taking is the first audit
    event in which the present holder claimed it or was assigned it (None when they hold it
    without either: closed or transferred unclaimed). Someone who took it over after an
    /unclaim is timed from the opening to their own claim, not credited with the first."""
    claimed, closed, created, taken = (
        _epoch(db, c) for c in ("i.claimed_at", "i.closed_at", "i.created_at", "MIN(e.at)")
    )
    target = (
        "CAST(e.detail AS jsonb) ->> 'target'" if dialect(db) == "postgresql" else "json_extract(e.detail, '$.target')"
    )
    return db.execute(
        f"""SELECT i.grade, i.assignee,
                  CASE WHEN i.claimed_at IS NOT NULL THEN {claimed} - {created} END,
                  CASE WHEN i.closed_at IS NOT NULL AND i.state = 'closed'
                       THEN {closed} - {created} END,
                  CASE WHEN i.assignee IS NOT NULL AND i.assignee != '' THEN
                       (SELECT {taken} FROM events e WHERE e.incident_id = i.id
                          AND ((e.action = 'claim' AND e.actor = i.assignee)
                               OR (e.action = 'assign' AND {target} = i.assignee))) - {created} END
           FROM incidents i
           WHERE i.created_at >= ? AND i.created_at < ?
             AND (i.assignee IS NOT NULL OR i.claimed_at IS NOT NULL
                  OR (i.closed_at IS NOT NULL AND i.state = 'closed'))
           ORDER BY i.id""",
        [to_iso(start), to_iso(end)],
    ).fetchall()


def _epoch(db: Database, column: str) -> str:
    """Whole Unix seconds of an ISO time column (SQLite's unixepoch; PostgreSQL has none)."""
    if dialect(db) == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM CAST({column} AS timestamptz))) AS BIGINT)"
    return f"unixepoch({column})"


def closed_between(db: Database, start: datetime, end: datetime) -> int:
    return db.execute(
        "SELECT COUNT(*) FROM incidents WHERE state='closed' AND closed_at >= ? AND closed_at < ?",
        [to_iso(start), to_iso(end)],
    ).fetchone()[0]


def period_times(db: Database, start: datetime, end: datetime) -> tuple[list[str], list[str]]:
    """When the incidents opened in [start, end) were opened, and when those closed in it were
    closed (ISO strings, UTC): the report's per-day trend."""
    span = [to_iso(start), to_iso(end)]
    opened = [
        r[0] for r in db.execute("SELECT created_at FROM incidents WHERE created_at >= ? AND created_at < ?", span)
    ]
    # `state || ''`: not by the index on state (a lookup of each of the year's closed incidents,
    # ~30 ms on the year database) but a scan of the report's covering index (~12 ms)
    closed = [
        r[0]
        for r in db.execute(
            "SELECT closed_at FROM incidents WHERE state || '' = 'closed' AND closed_at >= ? AND closed_at < ?", span
        )
    ]
    return opened, closed


def open_overdue(
    db: Database,
    limits: dict[str, tuple[datetime | None, datetime | None, datetime | None]],
    ask: tuple[str, ...],
    now: datetime,
) -> tuple[int, list[tuple[int, str | None, str, str]]]:
    """Open incidents (not closed): how many, and those that may be overdue.

    `limits` maps a grade to the creation times before which an open incident of that grade has
    missed its full response, its first response, its claim (when unclaimed); None: no such
    deadline. An incident waiting for a 转办's feedback past its `feedback_due_at` (before `now`)
    has missed 'feedback', which ranks between first response and claim. or (claim) one that is not a fixed time after creation — those of the grades in
    `ask` that are unclaimed and have missed nothing more serious are returned with kind None,
    for the caller to decide. Rows: (id, 'full' | 'first' | 'claim' | None, grade, created_at),
    by id."""
    cases: list[str] = []
    params: list = []
    feedback = "WHEN grade = ? AND state = 'awaiting_feedback' AND feedback_due_at < ? THEN 'feedback'"
    for grade, (full, first, claim) in limits.items():
        for kind, before, extra in (
            ("full", full, ""),
            ("first", first, ""),
            ("claim", claim, " AND (assignee IS NULL OR assignee = '')"),
        ):
            if kind == "claim":  # the order of the CASE is the order of seriousness
                cases.append(feedback)
                params += [grade, to_iso(now)]
            if before is not None:
                cases.append(f"WHEN grade = ? AND created_at < ?{extra} THEN '{kind}'")
                params += [grade, to_iso(before)]
    kind = f"CASE {' '.join(cases)} END" if cases else "NULL"
    marks = ",".join("?" * len(ask))
    rows = db.execute(
        f"""SELECT id, kind, grade, created_at FROM (
                SELECT id, {kind} AS kind, grade, created_at, assignee FROM incidents WHERE state != 'closed') AS o
            WHERE kind IS NOT NULL OR ((assignee IS NULL OR assignee = '') AND grade IN ({marks or "NULL"}))
            ORDER BY id""",
        [*params, *ask],
    ).fetchall()
    n_open = db.execute("SELECT COUNT(*) FROM incidents WHERE state != 'closed'").fetchone()[0]
    return n_open, rows


def source_health_rows(db: Database) -> dict[str, dict]:
    """source id -> the columns its health is judged by (`core.health.source_health`)."""
    cols = "deactivated, consecutive_failures, silent_reported, last_run_at, last_error"
    return {r["id"]: r for r in _rows(db, f"SELECT id, {cols} FROM sources")}


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
