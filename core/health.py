"""A source's health, classified once from its run-state row (`storage.posts.source_rows`):
`/sources` shows it per source and the report counts sources per bucket."""

from __future__ import annotations

from enum import Enum

__all__ = ["SourceHealth", "source_health"]


class SourceHealth(Enum):
    DEACTIVATED = "deactivated"  # switched off after `collection.deactivate_after` failures
    FAILING = "failing"  # at least `collection.break_after` failures in a row
    FLAKY = "flaky"  # failed lately, fewer times than that
    SILENT = "silent"  # no new post for longer than its expected period (reported)
    NOT_RUN = "not_run"  # never fetched yet
    OK = "ok"

    @property
    def bucket(self) -> str:
        """The report's four buckets: 停用, 失败, 沉寂, 正常 (a flaky or not-yet-run source is 正常)."""
        return {"deactivated": "停用", "failing": "失败", "silent": "沉寂"}.get(self.value, "正常")


def source_health(row: dict, break_after: int) -> SourceHealth:
    """The health of one source from its row (an empty dict: never seen). Checked in order:
    switched off, failing, failing a little, silent, not run yet, fine."""
    failures = row.get("consecutive_failures") or 0
    if row.get("deactivated"):
        return SourceHealth.DEACTIVATED
    if failures >= break_after:
        return SourceHealth.FAILING
    if failures:
        return SourceHealth.FLAKY
    if row.get("silent_reported"):
        return SourceHealth.SILENT
    if not row.get("last_run_at"):
        return SourceHealth.NOT_RUN
    return SourceHealth.OK
