"""`/report month` on the year database (bench/yeardb.py; issue 17.8 and 17.9): time and
memory in-process, from the CLI (`yuqing report`) and as a chat command with its chart (the
console platform of a real App), each next to the same measurement of the computation before
issue 17.8 (an Incident object per row; kept in tests/test_report_aggregates.py), in the same run.

Each measurement runs in its own process, so that its peak resident memory (VmHWM) is its own:
the RSS before the report (interpreter, imports, database open) and the peak during it.

Goals: ≤ 0.5 s; no rise in RSS (peak − before); the bot under 300 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 0.5
GOAL_MB = 300
LATER = 5  # /report month asked this many times after the first (the median is shown)


def _mem() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) / 1024
    return out.get("VmRSS", 0.0), out.get("VmHWM", 0.0)


def _children_mem() -> tuple[float, float]:
    """(RSS, peak RSS) in MB summed over this process's children (the report worker process)."""
    rss = peak = 0.0
    for pid in _children():
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        for line in status:
            k, _, v = line.partition(":")
            if k == "VmRSS":
                rss += int(v.split()[0]) / 1024
            elif k == "VmHWM":
                peak += int(v.split()[0]) / 1024
    return rss, peak


def _children() -> list[str]:
    """The pids of this process's children (over all its threads)."""
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    return pids


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's children (the report worker):
    what a report costs there, whatever else the machine is doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in _children():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _reset_peak() -> None:
    """Start the peak anew from the current RSS (Linux ≥ 4.0: writing 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _use_reference() -> None:
    """Make the report's computation the one before issue 17.8, here and in the report worker
    process (spawned: it imports this module again as its main module, and reads the flag)."""
    import jobs.report
    from tests.test_report_aggregates import reference_report

    os.environ["YUQING_BENCH_OLD_REPORT"] = "1"
    jobs.report.build_report = reference_report


if os.environ.get("YUQING_BENCH_OLD_REPORT") and __name__ == "__mp_main__":
    _use_reference()


def probe(mode: str, db_path: str, config_path: str, now_iso: str) -> dict:
    """One measurement, in this process: `inproc` / `inproc-old` (build + render) or `chat` /
    `chat-old` (/report month from the console group of a started App, chart included)."""
    import asyncio
    import tempfile
    from zoneinfo import ZoneInfo

    from bot.config import load_config

    now = datetime.fromisoformat(now_iso)
    cfg = load_config(Path(config_path))
    if mode.endswith("-old"):
        _use_reference()
    import jobs.report as rep

    if mode.startswith("inproc"):
        from storage import open_db

        tz = ZoneInfo("Asia/Shanghai")
        db = open_db(db_path)
        db.execute("SELECT COUNT(*) FROM sources").fetchone()
        before, _ = _mem()
        _reset_peak()
        t0 = time.perf_counter()
        r = rep.build_report(db, cfg, "month", now, tz)
        text = rep.render_report(r, tz, cfg.organization.name)
        first = time.perf_counter() - t0  # a fresh process: the file's pages not yet read
        t0 = time.perf_counter()
        r = rep.build_report(db, cfg, "month", now, tz)
        text = rep.render_report(r, tz, cfg.organization.name)
        took = time.perf_counter() - t0
        after, peak = _mem()
        from jobs.charts import render_report_chart

        with tempfile.TemporaryDirectory() as tmp:
            render_report_chart(r, Path(tmp) / "warm.png", text.splitlines()[0])  # imports, fonts
            t0 = time.perf_counter()
            render_report_chart(r, Path(tmp) / "c.png", text.splitlines()[0])
            chart = time.perf_counter() - t0
        db.close()
        return {
            "s": took,
            "first": first,
            "before": before,
            "peak": peak,
            "after": after,
            "incidents": r.total,
            "text": text,
            "chart": chart,
        }

    from bench.bench_loop import Heartbeat, ask
    from bot.app import App
    from bot.platforms.console import ConsolePlatform
    from bot.settings import Settings

    async def go() -> dict:
        with tempfile.TemporaryDirectory(prefix="yuqing-year-") as tmp:
            settings = Settings(
                _env_file=None, data_dir=Path(tmp), db=Path(db_path), config=Path(config_path), collect_on_start=False
            )
            import io

            app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=io.StringIO())}, clock=lambda: now)
            try:
                await ask(app, "/help")  # a started bot has answered something before
                before, _ = _mem()
                _reset_peak()
                t0 = time.perf_counter()
                async with Heartbeat() as hb:
                    reply = await ask(app, "/report month")  # the first: starts the report worker process
                    first = time.perf_counter() - t0
                    later, cpu = [], []
                    for _ in range(LATER):  # the median of a few: one call is at the mercy of the machine's load
                        cpu0, t0 = _children_cpu(), time.perf_counter()
                        reply = await ask(app, "/report month")
                        later.append(time.perf_counter() - t0)
                        cpu.append(_children_cpu() - cpu0)
                    took = sorted(later)[len(later) // 2]
                after, peak = _mem()
                worker, worker_peak = _children_mem()
                await app.stop()
            finally:
                app.close()
        return {
            "s": took,
            "first": first,
            "before": before,
            "peak": peak,
            "after": after,
            "worker": worker,
            "worker_peak": worker_peak,
            "stall": hb.worst,
            "text": reply,
            "later": later,
            "worker_cpu": sorted(cpu)[len(cpu) // 2],
        }

    return asyncio.run(go())


def _run_probe(mode: str, y) -> dict:
    if mode.startswith("chat"):  # a running App writes (sweep, outbox): on a copy, the cache stays as built
        from bench.yeardb import CACHE, working_copy

        with tempfile.TemporaryDirectory(prefix="yuqing-year-", dir=CACHE) as tmp:
            db = Path(tmp) / "year.db"
            working_copy(y, db)
            return _probe_process(mode, db, y)
    return _probe_process(mode, y.db, y)


def _probe_process(mode: str, db: Path, y) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_year", "probe", mode, str(db), str(y.config), y.now.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"probe {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_cli(y, old: bool) -> dict:
    """`yuqing report --period month` as a user runs it: wall time and the process's peak RSS."""
    code = (
        "import atexit, sys; sys.argv = ['yuqing'] + sys.argv[1:]\n"
        "from bench.bench_year import _mem; atexit.register(lambda: print('VmHWM', _mem()[1], file=sys.stderr))\n"
        + ("from bench.bench_year import _use_reference; _use_reference()\n" if old else "")
        + "from bot.cli import cli; cli()"
    )
    args = [sys.executable, "-c", code, "report", "--db", str(y.db), "--config", str(y.config), "--period", "month"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if out.returncode:
        raise RuntimeError(f"yuqing report failed:\n{out.stderr[-3000:]}")
    peak = [float(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("VmHWM ")]
    return {"s": took, "peak": peak[-1] if peak else None, "text": out.stdout}


def _spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}–{max(xs):.2f} s"


def _load() -> str:
    """The machine's 1-minute load average now (timings on a shared machine are read against it)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _mb(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f} MB"


def run() -> list[tuple[str, str]]:
    from bench.yeardb import year_db

    y = year_db()
    rows = [("year database", f"{y.describe()}; {y.db.stat().st_size / 2**20:,.0f} MB, {y.db}")]
    new, old = _run_probe("inproc", y), _run_probe("inproc-old", y)
    same = "same text" if new["text"] == old["text"] else "TEXT DIFFERS"
    verdict = "ok" if new["s"] <= GOAL_S else "OVER"
    rows.append(
        (
            f"year: /report month in-process ({new['incidents']:,} incidents this month), goal ≤ {GOAL_S} s",
            f"{new['s']:.2f} s, the process's first {new['first']:.2f} s ({verdict}; before: {old['s']:.2f} s / "
            f"first {old['first']:.2f} s, {old['s'] / max(new['s'], 1e-9):.0f}× slower; {same})",
        )
    )
    rows.append(("year: its chart PNG alone (matplotlib, warm)", f"{new['chart']:.2f} s"))
    rows.append(
        (
            "year: /report month in-process, RSS before → peak (goal: no rise)",
            f"{_mb(new['before'])} → {_mb(new['peak'])} (+{new['peak'] - new['before']:.0f} MB; "
            f"before: {_mb(old['before'])} → {_mb(old['peak'])}, +{old['peak'] - old['before']:.0f} MB)",
        )
    )
    try:
        cli_new, cli_old = _run_cli(y, False), _run_cli(y, True)
        rows.append(
            (
                "year: `yuqing report --period month` (whole process: start, read, print), peak RSS",
                f"{cli_new['s']:.2f} s, {_mb(cli_new['peak'])} (before: {cli_old['s']:.2f} s, {_mb(cli_old['peak'])})",
            )
        )
    except RuntimeError as e:
        rows.append(("year: `yuqing report --period month`", f"failed: {e}"))
    chat, chat_old = _run_probe("chat", y), _run_probe("chat-old", y)
    verdict = "ok" if chat["s"] <= GOAL_S else "OVER"
    rows.append(
        (
            f"year: /report month as a chat command with its chart (App, console), goal ≤ {GOAL_S} s",
            f"{chat['s']:.2f} s, median of {LATER} ({verdict}; {_spread(chat['later'])}; the report worker's CPU "
            f"{chat['worker_cpu']:.2f} s a call; the bot's first, starting its report worker process: "
            f"{chat['first']:.2f} s; loop held ≤ {chat['stall'] * 1000:.0f} ms; before: {chat_old['s']:.2f} s, "
            f"worker CPU {chat_old['worker_cpu']:.2f} s, first {chat_old['first']:.2f} s; load {_load()})",
        )
    )
    verdict = "ok" if chat["peak"] < GOAL_MB and chat["worker_peak"] < GOAL_MB else "OVER"
    rows.append(
        (
            f"year: RSS during two /report month + chart: the bot before → peak; its report worker peak (goal < {GOAL_MB} MB)",
            f"{_mb(chat['before'])} → {_mb(chat['peak'])}; worker {_mb(chat['worker_peak'])} ({verdict}; before: "
            f"{_mb(chat_old['before'])} → {_mb(chat_old['peak'])}; worker {_mb(chat_old['worker_peak'])})",
        )
    )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        res = probe(*sys.argv[2:6])
        print(json.dumps(res, ensure_ascii=False))
    else:
        for name, value in run():
            print(f"{name}: {value}")
