"""The casebook DOCX at scale: 1,000 and 4,000 generated closed incidents (three posts, two
of them linked, and five audit events each), read from a real SQLite database and written as
DOCX. Goal: linear, ≤ 15 s per 1,000 incidents (it was quadratic: 2,006 incidents 47 s,
3,964 118 s, 8,064 931 s).

    python -m bench --only casebook
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
GOAL_PER_1000 = 15.0


def _fill(db, n: int, sources: list[str], start: datetime) -> None:
    from core.clock import to_iso

    conn = db.conn
    conn.execute("BEGIN")
    post_id = 0
    for i in range(1, n + 1):
        at = start + timedelta(minutes=30 * i)
        conn.execute(
            """INSERT INTO incidents (id, story_key, title, url, source_id, team, category, grade, reasons, matched,
                   state, assignee, disposition, summary, created_at, updated_at, claimed_at, closed_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                i,
                f"s{i}",
                f"网友反映某局干部作风问题之{i}",
                f"https://bbs.example/t-{i}.html",
                sources[i % len(sources)],
                "city",
                "干部作风",
                ("I", "II", "III", "IV")[i % 4],
                json.dumps(["命中：干部作风"], ensure_ascii=False),
                "{}",
                "closed",
                "liqiang",
                "已澄清",
                "经核实系正常公务",
                to_iso(at),
                to_iso(at),
                to_iso(at + timedelta(minutes=9)),
                to_iso(at + timedelta(hours=5)),
            ],
        )
        for k in range(3):
            post_id += 1
            conn.execute(
                """INSERT INTO posts (id, source_id, item_key, title, url, fetched_at, published_at, relevant, indexed)
                   VALUES (?,?,?,?,?,?,?,1,1)""",
                [
                    post_id,
                    sources[(i + k) % len(sources)],
                    f"k{post_id}",
                    f"帖文{i}-{k} 网友质疑某局干部",
                    f"https://bbs.example/t-{i}-{k}.html" if k < 2 else None,
                    to_iso(at + timedelta(minutes=k)),
                    to_iso(at + timedelta(minutes=k - 5)),
                ],
            )
            conn.execute(
                "INSERT INTO incident_posts (incident_id, post_id, added_at) VALUES (?,?,?)", [i, post_id, to_iso(at)]
            )
        for m, (actor, action, detail) in enumerate(
            (
                (None, "opened", {}),
                ("wangmin", "assign", {"target": "liqiang"}),
                ("liqiang", "note", {"text": "已联系相关单位核实"}),
                ("liqiang", "note", {"text": "教训: 登记应当公开"}),
                ("liqiang", "close", {"disposition": "已澄清", "summary": "经核实系正常公务"}),
            )
        ):
            conn.execute(
                "INSERT INTO events (incident_id, at, actor, action, detail) VALUES (?,?,?,?,?)",
                [i, to_iso(at + timedelta(minutes=m)), actor, action, json.dumps(detail, ensure_ascii=False)],
            )
    conn.execute("COMMIT")


def run(sizes: tuple[int, ...] = (1_000, 4_000)) -> list[tuple[str, str]]:
    from bot.config import load_config
    from jobs.casebook import collect_cases, write_docx
    from storage import open_db

    tz = ZoneInfo("Asia/Shanghai")
    cfg = load_config(ROOT / "config" / "example.toml")
    sources = [s.id for s in cfg.sources]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows, totals = [], []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "c.db")
            for s in sources:  # the sources the posts name
                src = cfg.source(s)
                db.execute(
                    "INSERT OR IGNORE INTO sources (id, name, kind, url) VALUES (?,?,?,?)",
                    [s, src.name, src.kind, str(src.url)],
                )
            _fill(db, n, sources, start)
            t0 = time.perf_counter()
            cases = collect_cases(db, cfg, date(2025, 12, 31), date(2026, 12, 31), tz)
            t_read = time.perf_counter() - t0
            t0 = time.perf_counter()
            write_docx(
                cases,
                Path(tmp) / "c.docx",
                org=cfg.organization.name,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                tz=tz,
            )
            t_docx = time.perf_counter() - t0
            size = (Path(tmp) / "c.docx").stat().st_size
            db.close()
        total = t_read + t_docx
        totals.append(total)
        goal = GOAL_PER_1000 * n / 1000
        rows.append(
            (
                f"casebook: DOCX, {n:,} incidents",
                f"{total:.1f} s (read {t_read:.1f} s + write {t_docx:.1f} s; {size / 1e6:.1f} MB; "
                f"{len(cases):,} cases) — goal ≤ {goal:.0f} s ({GOAL_PER_1000:.0f} s per 1,000), "
                f"{'met' if total <= goal else 'NOT met'}",
            )
        )
    if len(sizes) >= 2:
        k = sizes[-1] / sizes[0]
        rows.append(
            (
                "casebook: growth",
                f"{totals[-1] / totals[0]:.1f}× the time for {k:.0f}× the incidents "
                f"(linear ≈ {k:.0f}×; quadratic ≈ {k * k:.0f}×)",
            )
        )
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}  {value}")
