"""`/report month` on a generated database of 1,000,000 posts and 50,000 incidents (a month
of a busy city: incidents spread over the month, a third claimed, a fifth closed)."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent


def run(posts: int = 1_000_000, incidents: int = 50_000) -> list[tuple[str, str]]:
    from bot.config import load_config
    from core.clock import to_iso
    from jobs.charts import render_report_chart
    from jobs.report import build_report, render_report
    from storage import open_db

    tz = ZoneInfo("Asia/Shanghai")
    cfg = load_config(ROOT / "config" / "example.toml")
    now = datetime(2026, 11, 28, 12, tzinfo=tz).astimezone(timezone.utc)
    start = datetime(2026, 11, 1, tzinfo=tz).astimezone(timezone.utc)
    span = (now - start).total_seconds()
    rnd = random.Random(7)
    sources = [s.id for s in cfg.sources]
    cats = cfg.watchlist.categories
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "r.db")
        t0 = time.perf_counter()
        conn = db.conn
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO posts (source_id, item_key, title, fetched_at, relevant, indexed) VALUES (?,?,?,?,?,1)",
            ((sources[i % 3], f"k{i}", f"帖文{i}", to_iso(start + timedelta(seconds=rnd.random() * span)), int(i < incidents))
             for i in range(posts)))
        rows = []
        for i in range(incidents):
            created = start + timedelta(seconds=rnd.random() * span)
            state, claimed, closed, disp, who = "new", None, None, None, None
            r = rnd.random()
            if r < 0.55:
                claimed = created + timedelta(minutes=rnd.expovariate(1 / 40))
                who = rnd.choice(["liqiang", "zhoulan", "wangmin"])
                state = "claimed"
                if r < 0.2:
                    closed, state = claimed + timedelta(hours=rnd.expovariate(1 / 10)), "closed"
                    disp = rnd.choice(["已回应", "已澄清", "已转办", "不实", "无需处置", "误报"])
            rows.append((f"s{i}", f"事件{i}", sources[i % 3], "city", rnd.choice(cats), rnd.choice(["I", "II", "III", "IV", "IV", "III"]),
                         "[]", "{}", state, who, disp, to_iso(created), to_iso(created), to_iso(claimed), to_iso(closed)))
        conn.executemany(
            """INSERT INTO incidents (story_key, title, source_id, team, category, grade, reasons, matched, state, assignee,
                   disposition, created_at, updated_at, claimed_at, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
        conn.execute("COMMIT")
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = build_report(db, cfg, "month", now, tz)
        text = render_report(report, tz, cfg.organization.name)
        t_report = time.perf_counter() - t0
        t0 = time.perf_counter()
        render_report_chart(report, Path(tmp) / "c.png", text.splitlines()[0])
        t_chart = time.perf_counter() - t0
        db.close()
    return [("report: database", f"{posts:,} posts, {incidents:,} incidents (generated in {t_gen:.0f} s)"),
            ("report: /report month (figures + text)", f"{t_report:.2f} s for {report.total:,} incidents"),
            ("report: chart PNG", f"{t_chart:.2f} s")]
