"""WeCom delivery and commands: the real adapter talking HTTP to the fake WeCom server from
the tests, on 127.0.0.1, and callbacks encrypted and signed with wechatpy as WeCom does.

1. latency: a grade I incident is stored -> its markdown reaches the robot webhook (p50/p99);
2. command round trip: an encrypted `认领 N` posted to the callback -> the ✋ notice reaches
   the robot (p50/p99): verify, decrypt, handle, outbox, deliver;
3. burst: 5,000 alerts stored at once (2% grade I–II): robot messages in the first minute
   (WeCom allows 20), alerts covered, 45009 answers provoked (should be 0), and the books
   balanced (nothing lost, no card twice)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_delivery import _post  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.platforms.ratelimit import RateLimiter  # noqa: E402
from bot.platforms.wecom import WeComPlatform  # noqa: E402
from bot.settings import Settings  # noqa: E402
from core.clock import system_clock  # noqa: E402
from core.incidents import STORY_WINDOW  # noqa: E402
from tests.fake_wecom import APP, FakeWeCom  # noqa: E402


def _config(tmp: Path):
    import shutil

    shutil.copytree(ROOT / "config", tmp / "config")
    p = tmp / "config" / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('id = "liqiang"\n', 'id = "liqiang"\nhandles = { wecom = "LiQiang" }\n'),
        encoding="utf-8",
    )
    return load_config(p)


class Jumps:
    """The system clock, moved a story window ahead at each `jump()`, so that every measured
    alert starts a new incident instead of joining the last one's story."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return system_clock() + self.offset

    def jump(self) -> None:
        self.offset += STORY_WINDOW + timedelta(days=1)


async def _start(tmp: Path, fake: FakeWeCom, interval: float, clock=system_clock):
    cfg = _config(tmp)
    settings = Settings(
        _env_file=None,
        data_dir=tmp / "data",
        db=tmp / "data" / "b.db",
        collect_on_start=False,
        deliver_interval=interval,
        platform="wecom",
        **APP,
        wecom_robot_keys={"city": "key-city"},
        wecom_listen="127.0.0.1:0",
        wecom_api_base=fake.base_url,
    )
    platform = WeComPlatform(cfg, settings=settings)
    app = App(settings, cfg, platforms={"wecom": platform}, clock=clock)
    await platform.open(app.host)
    await app.start()
    for job in list(app.scheduler.get_jobs()):
        if job.id.startswith("collect:"):
            job.remove()
    task = asyncio.create_task(platform.serve(app.host))
    while not platform.port:
        await asyncio.sleep(0.01)
    return app, platform, task


async def _stop(app, platform, task):
    platform.stop()
    await task
    await app.stop()
    await platform.close()
    app.close()


def _pct(samples: list[float], q: float) -> str:
    samples = sorted(samples)
    return f"{samples[min(len(samples) - 1, int(len(samples) * q))] * 1000:.0f} ms"


async def latency(n: int = 20, interval: float = 0.2) -> list[tuple[str, str]]:
    """The robot's minute window is reset between samples (on both sides): the limit is what
    `burst` measures, not this."""
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeWeCom(users=["LiQiang"])
        clock = Jumps()
        app, platform, task = await _start(Path(tmp), fake, interval, clock)
        alerts, commands = [], []
        async with httpx.AsyncClient() as http:
            for i in range(n):
                clock.jump()
                platform.pacer.limiter = RateLimiter()
                fake._robot_times.clear()
                post, src = _post(i, True)
                before = len(fake.robot)
                t0 = time.perf_counter()
                out = app.pipeline.ingest(post, app.config.source(src))
                while len(fake.robot) == before:
                    await asyncio.sleep(0.002)
                alerts.append(time.perf_counter() - t0)
                want = f"✋ #{out.incident_id} 已由 李强 认领"
                params, body = fake.encrypt(fake.callback_xml("LiQiang", text=f"认领 {out.incident_id}"))
                t0 = time.perf_counter()
                r = await http.post(
                    f"http://127.0.0.1:{platform.port}/wecom/callback", params=params, content=body.encode()
                )
                assert r.status_code == 200, r.text
                while want not in fake.texts():
                    await asyncio.sleep(0.002)
                commands.append(time.perf_counter() - t0)
        await _stop(app, platform, task)
        fake.close()
    return [
        ("wecom: stored -> robot webhook p50 / p99", f"{_pct(alerts, 0.5)} / {_pct(alerts, 0.99)}"),
        ("wecom: encrypted 认领 N -> notice at the robot p50 / p99", f"{_pct(commands, 0.5)} / {_pct(commands, 0.99)}"),
        ("wecom: samples", f"{len(alerts)} alerts, {len(commands)} commands"),
    ]


async def burst(n: int = 5000, seconds: float = 60.0) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeWeCom()
        app, platform, task = await _start(Path(tmp), fake, 0.5)
        t0 = time.perf_counter()
        for i in range(n):
            post, src = _post(i, i % 50 == 0)
            app.pipeline.ingest(post, app.config.source(src))
        t_store = time.perf_counter() - t0
        await asyncio.sleep(seconds)
        sent = len(fake.robot)
        states = dict(
            app.db.execute(
                "SELECT state, COUNT(*) FROM outbox WHERE json_extract(payload,'$.first')=1 GROUP BY state"
            ).fetchall()
        )
        cards = [c.split("\n")[0] for c in fake.markdown()]
        incidents = app.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
        await _stop(app, platform, task)
        fake.close()
    balanced = sum(states.values()) == incidents and len(cards) == len(set(cards)) and "dead" not in states
    return [
        ("wecom burst: posts stored", f"{n} in {t_store:.1f} s"),
        ("wecom burst: incidents (alerts) they made", str(incidents)),
        (f"wecom burst: robot messages in the first {seconds:g} s (WeCom allows 20/min)", str(sent)),
        (
            f"wecom burst: alerts covered in the first {seconds:g} s (cards + digest lines)",
            str(states.get("sent", 0) + states.get("digested", 0)),
        ),
        ("wecom burst: 45009 answers provoked", str(fake.violations)),
        ("wecom burst: nothing lost, no card twice", "yes" if balanced else f"NO ({states})"),
    ]


def run(burst_seconds: float = 60.0) -> list[tuple[str, str]]:
    async def both():
        return await latency() + await burst(seconds=burst_seconds)

    return asyncio.run(both())
