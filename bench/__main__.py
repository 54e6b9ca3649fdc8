"""Run every benchmark and print one table.

python -m bench [--posts N]

The year-scale database (bench/yeardb.py) is built once and cached in ~/.cache/yuqing-bench;
YUQING_BENCH_SCALE=0.02 makes a small one for a quick run.
"""

from __future__ import annotations

import argparse
import sys

from bench import (
    bench_backtest,
    bench_casebook,
    bench_cluster,
    bench_collect,
    bench_collectors,
    bench_delivery,
    bench_labels,
    bench_loop,
    bench_pgyear,
    bench_pipeline,
    bench_report,
    bench_retention,
    bench_search,
    bench_startup,
    bench_sweep,
    bench_tone,
    bench_wecom,
    bench_year,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--posts", type=int, default=3000, help="posts from the inews train split (default 3000)")
    ap.add_argument("--burst-seconds", type=float, default=60.0, help="how long to watch the 5,000-alert burst")
    ap.add_argument(
        "--only",
        choices=[
            "pipeline",
            "search",
            "tone",
            "collect",
            "collectors",
            "report",
            "casebook",
            "delivery",
            "wecom",
            "loop",
            "cluster",
            "sweep",
            "year",
            "startup",
            "labels",
            "backtest",
            "retention",
            "pgyear",
        ],
        default=None,
    )
    args = ap.parse_args(argv)
    rows = []
    if args.only in (None, "pipeline"):
        rows += bench_pipeline.run(args.posts)
    if args.only in (None, "search"):
        rows += bench_search.run(args.posts)
    if args.only in (None, "cluster"):
        rows += bench_cluster.run()
    if args.only in (None, "labels"):
        rows += bench_labels.run() + bench_labels.battery()
    if args.only in (None, "backtest"):
        rows += bench_backtest.run()
    if args.only in (None, "tone"):
        rows += bench_tone.run()
    if args.only in (None, "collect"):
        rows += bench_collect.run()
    if args.only in (None, "collectors"):
        rows += bench_collectors.run()
    if args.only in (None, "report"):
        rows += bench_report.run()
    if args.only in (None, "year", "report"):
        rows += bench_year.run()
    if args.only in (None, "year", "startup"):
        rows += bench_startup.run()
    if args.only in (None, "pgyear"):
        rows += bench_pgyear.run()
    if args.only in (None, "retention"):
        rows += bench_retention.run()
    if args.only in (None, "casebook"):
        rows += bench_casebook.run()
    if args.only in (None, "delivery"):
        rows += bench_delivery.run(args.burst_seconds)
    if args.only in (None, "wecom"):
        rows += bench_wecom.run(args.burst_seconds)
    if args.only in (None, "loop"):
        rows += bench_loop.run()
    if args.only in (None, "sweep"):
        rows += bench_sweep.run()
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark'.ljust(width)}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
