"""`/report month` on a generated database of 1,000,000 posts and 50,000 incidents (a month
of a busy city: incidents spread over the month, a third claimed, a fifth closed) — the worst
case for the report: every incident of the year in this month, 40,000 of them open. Next to
it, in the same run, the computation before issue 17.8 (an Incident object per row, kept in
tests/test_report_aggregates.py). The year database's rows are bench/bench_year.py."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent


def run(posts: int = 1_000_000, incidents: int = 50_000) -> list[tuple[str, str]]:
    from bench.bench_loop import seed_incidents
    from bot.config import load_config
    from jobs.charts import render_report_chart
    from jobs.report import build_report, render_report
    from storage import open_db

    tz = ZoneInfo("Asia/Shanghai")
    cfg = load_config(ROOT / "config" / "example.toml")
    now = datetime(2026, 11, 28, 12, tzinfo=tz).astimezone(UTC)
    start = datetime(2026, 11, 1, tzinfo=tz).astimezone(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "r.db")
        t0 = time.perf_counter()
        seed_incidents(db, cfg, incidents, posts, start=start, now=now)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = build_report(db, cfg, "month", now, tz)
        text = render_report(report, tz, cfg.organization.name)
        t_report = time.perf_counter() - t0
        t0 = time.perf_counter()
        render_report_chart(report, Path(tmp) / "c.png", text.splitlines()[0])
        t_chart = time.perf_counter() - t0
        from tests.test_report_aggregates import reference_report

        t0 = time.perf_counter()
        old = reference_report(db, cfg, "month", now, tz)
        old_text = render_report(old, tz, cfg.organization.name)
        t_old = time.perf_counter() - t0
        db.close()
    return [
        ("report: database", f"{posts:,} posts, {incidents:,} incidents (generated in {t_gen:.0f} s)"),
        (
            "report: /report month (figures + text), goal ≤ 0.5 s",
            f"{t_report:.2f} s for {report.total:,} incidents, {report.open_now:,} open "
            f"(before: {t_old:.2f} s; {'same text' if old_text == text else 'TEXT DIFFERS'})",
        ),
        ("report: chart PNG", f"{t_chart:.2f} s"),
    ]
