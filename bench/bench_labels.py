"""Backtest quality against the analyst's labelled inews posts (config/labels): relevance
precision/recall/F1, category accuracy, grade exact and within one, same-story groups kept in
one incident, look-alike pairs merged — all labelled posts and the held-out part.

    python -m bench.bench_labels [--config config/province.toml]

The same figures as `yuqing backtest --inews --labels config/labels/inews_train.jsonl
--groups config/labels/inews_groups.json -q`, as benchmark rows."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "config" / "labels" / "inews_train.jsonl"
GROUPS = ROOT / "config" / "labels" / "inews_groups.json"
PROVINCE = ROOT / "config" / "province.toml"


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


# issue #13's goals, on the held-out part with config/province.toml
GOALS = {
    "relevance precision / recall / F1": " (goal: held-out P ≥ 0.90, R ≥ 0.85)",
    "grade exact": " (goal ≥ 0.70)",
    "grade within one": " (goal ≥ 0.95)",
    "same-story groups one incident": " (goal ≥ 0.95)",
    "look-alike pairs merged": " (goal ≤ 0.05)",
}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _goal(value: float | None, goal: float, *, at_most: bool = False) -> bool:
    if value is None:
        return False
    return value <= goal if at_most else value >= goal


def _share(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "— (0)"


def run(config: Path | None = PROVINCE) -> list[tuple[str, str]]:
    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest, inews_posts, load_groups, load_labels, score

    labels = load_labels(LABELS)
    groups, pairs = load_groups(GROUPS)
    items = list(inews_posts(labels))
    settings = load_settings(config=config) if config else load_settings()
    cfg = load_config(settings.config)
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-labels-") as tmp:
        bt = Backtest(settings, cfg, Path(tmp) / "bt.db")
        try:
            started = time.perf_counter()
            results = []
            for item in items:
                out = bt.run(item)
                results.append(
                    {
                        "id": out["id"],
                        "relevant": out["relevant"],
                        "category": out["category"],
                        "incident": out["incident"],
                    }
                )
            seconds = time.perf_counter() - started
            final = bt.final_grades()
        finally:
            bt.close()
    for r in results:
        r["grade"] = final.get(r["incident"]) if r["incident"] else None
    sc = score(results, labels, groups, pairs)
    name = settings.config.name
    rows = [(f"labels ({name}): posts / posts per second", f"{len(items)} / {len(items) / seconds:,.0f}")]
    ho = sc.held_out
    for title, fn, goal in (
        (
            "relevance precision / recall / F1",
            lambda p: f"{_fmt(p.precision)} / {_fmt(p.recall)} / {_fmt(p.f1)}",
            _goal(ho.precision, 0.90) and _goal(ho.recall, 0.85),
        ),
        ("category accuracy", lambda p: _share(p.cat_ok, p.cat_n), None),
        ("grade exact", lambda p: _share(p.grade_exact, p.grade_n), _goal(_rate(ho.grade_exact, ho.grade_n), 0.70)),
        (
            "grade within one",
            lambda p: _share(p.grade_within1, p.grade_n),
            _goal(_rate(ho.grade_within1, ho.grade_n), 0.95),
        ),
        (
            "same-story groups one incident",
            lambda p: _share(p.groups_one, p.groups_n),
            _goal(_rate(ho.groups_one, ho.groups_n), 0.95),
        ),
        (
            "look-alike pairs merged",
            lambda p: _share(p.pairs_merged, p.pairs_n),
            _goal(_rate(ho.pairs_merged, ho.pairs_n), 0.05, at_most=True),
        ),
    ):
        label = f"labels ({name}): {title} (all | held-out){GOALS.get(title, '')}"
        verdict = "" if goal is None else (" — met" if goal else " — NOT met")
        rows.append((label, f"{fn(sc.all)} | {fn(sc.held_out)}{verdict}"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.bench_labels", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", type=Path, default=PROVINCE, help="configuration file (default: config/province.toml)")
    args = ap.parse_args(argv)
    rows = run(args.config)
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
