"""Alert delivery to Telegram: the real python-telegram-bot (with its AIORateLimiter at
Telegram's limits) talking HTTP to the fake Bot API from the tests, on 127.0.0.1.

1. latency: a grade I incident is stored -> its sendMessage reaches the server (p50/p99),
   with the scheduler's delivery sweep running as in production;
2. burst: 5,000 alerts stored at once (2% grade I–II, the rest III–IV): messages sent and
   alerts covered in the first minute (or --burst-seconds), and the books balanced (sent + digested + queued
   = all alerts, nothing lost, no card twice)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.platforms.telegram import TelegramPlatform  # noqa: E402
from bot.settings import Settings  # noqa: E402
from core.models import Post  # noqa: E402
from tests.fake_telegram import FakeBotAPI  # noqa: E402

GROUP = "-1001234567890"


def _config(tmp: Path):
    import shutil

    shutil.copytree(ROOT / "config", tmp / "config")
    p = tmp / "config" / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('# telegram = "-1001234567890"', f'telegram = "{GROUP}"'),
        encoding="utf-8",
    )
    return load_config(p)


async def _start(tmp: Path, api: FakeBotAPI, interval: float):
    cfg = _config(tmp)
    platform = TelegramPlatform(cfg, token="1:BENCH", base_url=api.base_url, poll_interval=0, poll_timeout=1)
    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        db=tmp / "data" / "b.db",
        collect_on_start=False,
        deliver_interval=interval,
    )
    app = App(settings, cfg, platforms={"telegram": platform})
    await platform.open(app.host)
    await app.start()
    for job in list(app.scheduler.get_jobs()):
        if job.id.startswith("collect:"):
            job.remove()
    return app, platform


_NEWS: list[tuple[str, str]] = []


def _post(i: int, high: bool) -> tuple[Post, str]:
    """A watched story wrapped around a real inews post, so that each is its own incident
    (clustering joins retitled copies of one text, not different texts)."""
    if not _NEWS:
        from bench.bench_pipeline import load_posts

        _NEWS.extend(p for p in load_posts(100_000) if len(p[1]) >= 100)
    title, text = _NEWS[i % len(_NEWS)]
    if high:
        return Post(
            "provnews", f"bench:{i}", f"网友实名举报张建国公车私用 {title[:30]}", f"网友愤怒质疑，青石镇。{text[:600]}"
        ), "provnews"
    return Post("forum", f"bench:{i}", f"青石镇干部吃拿卡要被投诉 {title[:30]}", f"村民投诉。{text[:600]}"), "forum"


async def latency(n: int = 20, interval: float = 0.2) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        api = FakeBotAPI()
        app, _platform = await _start(Path(tmp), api, interval)
        samples = []
        for i in range(n):
            post, src = _post(i, True)
            before = len(api.sent)
            t0 = time.perf_counter()
            app.pipeline.ingest(post, app.config.source(src))
            while len(api.sent) == before:
                await asyncio.sleep(0.002)
            samples.append(time.perf_counter() - t0)
        await app.stop()
        app.close()
        api.close()
    samples.sort()
    return [
        ("telegram: alerts measured (grade I, one group)", str(n)),
        ("telegram: stored -> sendMessage p50", f"{statistics.median(samples) * 1000:.0f} ms"),
        (
            "telegram: stored -> sendMessage p99",
            f"{samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000:.0f} ms",
        ),
        ("telegram: delivery", f"woken on commit; retry sweep every {interval:g} s"),
    ]


async def burst(n: int = 5000, seconds: float = 60.0) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        api = FakeBotAPI()
        app, _platform = await _start(Path(tmp), api, 0.5)
        t0 = time.perf_counter()
        for i in range(n):
            post, src = _post(i, i % 50 == 0)
            app.pipeline.ingest(post, app.config.source(src))
        t_store = time.perf_counter() - t0
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        sent_minute = len(api.sent)
        db = app.db
        states = dict(
            db.execute(
                "SELECT state, COUNT(*) FROM outbox WHERE json_extract(payload,'$.first')=1 GROUP BY state"
            ).fetchall()
        )
        cards = [m["text"].split("</b>")[0] for m in api.sent if m["parse_mode"] == "HTML"]
        incidents = db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
        await app.stop()
        app.close()
        api.close()
    alerts = sum(states.values())
    balanced = alerts == incidents and len(cards) == len(set(cards)) and "dead" not in states
    return [
        ("burst: posts stored", f"{n} in {t_store:.1f} s"),
        ("burst: incidents (alerts) they made", str(incidents)),
        (f"burst: messages sent in the first {seconds:g} s", str(sent_minute)),
        (
            f"burst: alerts covered in the first {seconds:g} s (cards + digest lines)",
            str(states.get("sent", 0) + states.get("digested", 0)),
        ),
        ("burst: grade I–II cards still queued (20/min group limit)", str(states.get("pending", 0))),
        ("burst: nothing lost, no card twice", "yes" if balanced else f"NO ({states})"),
    ]


def run(burst_seconds: float = 60.0) -> list[tuple[str, str]]:
    async def both():
        return await latency() + await burst(seconds=burst_seconds)

    return asyncio.run(both())
