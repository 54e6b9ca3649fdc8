"""A source's health, classified once from its run-state row (`storage.posts.source_rows`):
`/sources` shows it per source and the report counts sources per bucket, one bucket per state,
so the two always agree (a source never read, or failing now and then, is not 正常)."""

from __future__ import annotations

from enum import Enum

__all__ = ["BUCKETS", "SourceHealth", "source_health"]


class SourceHealth(Enum):
    DEACTIVATED = "deactivated"  # switched off after `collection.deactivate_after` failures
    FAILING = "failing"  # at least `collection.break_after` failures in a row
    FLAKY = "flaky"  # failed lately, fewer times than that
    RESUMED = "resumed"  # switched back on by a restart, not read since (its last run failed)
    SILENT = "silent"  # no new post for longer than its expected period (reported)
    NOT_RUN = "not_run"  # never fetched yet
    OK = "ok"

    @property
    def bucket(self) -> str:
        """The report's bucket for this state (`BUCKETS`)."""
        return _BUCKET[self]


_BUCKET = {
    SourceHealth.OK: "正常",
    SourceHealth.FLAKY: "偶发失败",
    SourceHealth.FAILING: "失败",
    SourceHealth.SILENT: "沉寂",
    SourceHealth.DEACTIVATED: "停用",
    SourceHealth.NOT_RUN: "未抓取",
    SourceHealth.RESUMED: "待重新抓取",
}
# The report's source-coverage buckets, in the order it lists them (empty ones left out).
BUCKETS: tuple[str, ...] = tuple(_BUCKET.values())


def source_health(row: dict, break_after: int) -> SourceHealth:
    """The health of one source from its row (an empty dict: never seen). Checked in order:
    switched off, failing, failing a little, resumed and not read since, silent, not run yet,
    fine. A resumed source is known by its row: a restart starts its failures anew
    (`storage.posts.resume_sources`) but keeps its last error, which only a successful run
    clears — so no failures and an error means it has not been read since; it is not 正常."""
    failures = row.get("consecutive_failures") or 0
    if row.get("deactivated"):
        return SourceHealth.DEACTIVATED
    if failures >= break_after:
        return SourceHealth.FAILING
    if failures:
        return SourceHealth.FLAKY
    if row.get("last_error") and row.get("last_run_at"):
        return SourceHealth.RESUMED
    if row.get("silent_reported"):
        return SourceHealth.SILENT
    if not row.get("last_run_at"):
        return SourceHealth.NOT_RUN
    return SourceHealth.OK
