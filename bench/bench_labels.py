"""Backtest quality against the analyst's labelled inews posts (config/labels): relevance
precision/recall/F1, category accuracy, grade exact and within one, same-story groups kept in
one incident, look-alike pairs merged — all labelled posts, the held-out part and the fresh
part (labelled after the tuning passes, without seeing the bot's output; the held-out part's
errors were looked at while tuning, so `fresh` is the untouched estimate).

    python -m bench.bench_labels [--config config/province.toml] [--errors tune|held-out|fresh|all]
    python -m bench.bench_labels --stages tune [--config FILE]

`--errors PART` also lists that part's errors, one line each — missed and false alerts,
wrong categories and grades (with the reasons), same-story groups split — to tune rules on
`tune` and look at `held-out` and `fresh` last. Tuning on `fresh`'s errors spends it.

`--stages tune` runs the analyser alone over the tune part and says, for each relevant post
it misses, which stage dropped it (`jobs.analyse.DROP_STAGES`: no watch-list term, the
prefilter, the area, a rule's `none` words, no topic rule, the subject test, no official or
body for the rule), with counts per stage for the misses and for the posts rightly dropped.
It reads the tune part only (no other part's text is even rebuilt): the stage of a held-out
or fresh miss is a look at its errors.

The same figures as `yuqing backtest --inews --labels config/labels/inews_train.jsonl
--groups config/labels/inews_groups.json -q`, as benchmark rows."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "config" / "labels" / "inews_train.jsonl"
GROUPS = ROOT / "config" / "labels" / "inews_groups.json"
PROVINCE = ROOT / "config" / "province.toml"
# headlines of today's news an analyst wrote while tuning the rule pack (2026-11-27), with the
# analyst's labels: a tuned-on check that the pack reads current vocabulary, not a held-out one
BATTERY = ROOT / "config" / "labels" / "analyst_battery.jsonl"
BATTERY_LABELS = ROOT / "config" / "labels" / "analyst_battery_labels.jsonl"
# (name, posts, labels, groups or None): the analysts' batteries of today's wording
# (config/labels/README.md); tuned on, so they check today's wording — except the untouched
# one, an estimate as long as nobody reads its errors
LATER_BATTERIES = (  # (n, note): config/labels/analyst_battery{n}.jsonl, its labels and groups
    (2, "second analyst, 150 posts written blind, tuned on since"),
    (3, "third analyst, 150 posts written blind, tuned on since"),
    (4, "fourth analyst, 150 long scraped articles written blind, tuned on since"),
    (5, "fifth analyst, 150 posts of stories over time written blind, tuned on since"),
    # untouched: scored, never tuned on, its errors not read (labels `split` fresh)
    (6, "sixth analyst, one day's feed of 200 posts written blind, UNTOUCHED"),
)
UNTOUCHED_BATTERIES = frozenset({6})
BATTERIES = (
    ("100 headlines of today, tuned on", BATTERY, BATTERY_LABELS, None),
    *(
        (
            note,
            ROOT / "config" / "labels" / f"analyst_battery{n}.jsonl",
            ROOT / "config" / "labels" / f"analyst_battery{n}_labels.jsonl",
            ROOT / "config" / "labels" / f"analyst_battery{n}_groups.json",
        )
        for n, note in LATER_BATTERIES
    ),
)


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


# issue #13's goals, on the held-out part with config/province.toml (and checked on fresh too)
GOALS = {
    "relevance precision / recall / F1": " (goal: P ≥ 0.90, R ≥ 0.85)",
    "grade exact": " (goal ≥ 0.70)",
    "grade within one": " (goal ≥ 0.95)",
    "same-story groups one incident": " (goal ≥ 0.95)",
    "look-alike pairs merged": " (goal ≤ 0.05)",
}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _goal(value: float | None, goal: float, *, at_most: bool = False) -> bool | None:
    """Whether `value` meets `goal`; None when there is nothing to measure (no groups, …)."""
    if value is None:
        return None
    return value <= goal if at_most else value >= goal


def _both(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _share(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "— (0)"


def _backtest(config: Path | None, items: list[dict]) -> tuple[str, list[dict], float]:
    """`items` run through a backtest of `config` in a temporary database: (the config file's
    name, one result per item with its incident's final grade, seconds the posts took)."""
    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest

    settings = load_settings(config=config) if config else load_settings()
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-labels-") as tmp:
        bt = Backtest(settings, load_config(settings.config), Path(tmp) / "bt.db")
        try:
            started = time.perf_counter()
            results = []
            for item in items:
                out = bt.run(item)  # a follow-up of a tracked story counts as an alert (jobs.backtest)
                results.append(
                    {
                        "id": out["id"],
                        "relevant": out["relevant"],
                        "category": out["category"],
                        "incident": out["incident"],
                        "title": item["title"],
                        "reasons": out["reasons"],
                    }
                )
            seconds = time.perf_counter() - started
            final = bt.final_grades()
        finally:
            bt.close()
    for r in results:
        r["grade"] = final.get(r["incident"]) if r["incident"] else None
    return settings.config.name, results, seconds


def run(config: Path | None = PROVINCE, errors: str | None = None) -> list[tuple[str, str]]:
    from jobs.backtest import inews_posts, load_groups, load_labels, score

    labels = load_labels(LABELS)
    groups, pairs = load_groups(GROUPS)
    items = list(inews_posts(labels))
    name, results, seconds = _backtest(config, items)
    sc = score(results, labels, groups, pairs)
    if errors:
        print_errors(results, labels, groups, errors)
    rows = [(f"labels ({name}): posts / posts per second", f"{len(items)} / {len(items) / seconds:,.0f}")]
    return rows + score_rows(sc, name)


def battery(config: Path | None = PROVINCE) -> list[tuple[str, str]]:
    """The analysts' batteries of today's wording (`BATTERIES`): the same scoring, all posts
    (each was tuned on as a whole), with its same-story groups where it has them."""
    from jobs.backtest import load_groups, load_labels, parse_line, score

    rows = []
    for note, posts, label_file, group_file in BATTERIES:
        labels = load_labels(label_file)
        groups, pairs = load_groups(group_file) if group_file else ([], [])
        items = [parse_line(line) for line in posts.read_text(encoding="utf-8").splitlines() if line.strip()]
        config_name, results, _ = _backtest(config, items)
        p = score(results, labels, groups, pairs).all
        name = f"battery ({config_name}, {note})"
        rows += [
            (f"{name}: relevance precision / recall", f"{_fmt(p.precision)} / {_fmt(p.recall)}"),
            (
                f"{name}: category accuracy / grade exact / within one",
                " / ".join(
                    (_share(p.cat_ok, p.cat_n), _share(p.grade_exact, p.grade_n), _share(p.grade_within1, p.grade_n))
                ),
            ),
        ]
        if group_file:
            rows.append(
                (
                    f"{name}: same-story groups one incident / look-alike pairs merged",
                    f"{_share(p.groups_one, p.groups_n)} / {_share(p.pairs_merged, p.pairs_n)}",
                )
            )
    return rows


def stages(config: Path | None = PROVINCE, part: str = "tune", *, out=None) -> dict[str, Counter]:
    """Per stage of `jobs.analyse.DROP_STAGES`, how many of `part`'s relevant posts it drops
    (`"missed"`) and how many of its not relevant posts (`"dropped"`); prints one line per
    miss and the counts. Only the tune part: stages are for tuning."""
    from bot.config import load_config
    from bot.settings import load_settings
    from core.config import Source
    from core.models import Post
    from jobs.analyse import DROP_STAGES, Analyzer
    from jobs.backtest import inews_posts, load_labels

    if part != "tune":
        raise ValueError("--stages reads the tune part only")
    out = out or sys.stdout
    labels = {k: v for k, v in load_labels(LABELS).items() if v.part == part}
    settings = load_settings(config=config) if config else load_settings()
    cfg = load_config(settings.config)
    analyzer = Analyzer(cfg)
    source = cfg.source("inews") or Source(id="inews", name="inews", url="backtest", tier=4)  # as the backtest
    counts: dict[str, Counter] = {"missed": Counter(), "dropped": Counter()}
    for item in inews_posts(labels):
        post = Post(source_id=source.id, item_key=f"backtest:{item['id']}", title=item["title"], text=item["text"])
        analysis = analyzer.analyse(post, source)
        if analysis.finding.relevant:
            continue
        lab = labels[item["id"]]
        stage = analysis.dropped or "?"
        counts["missed" if lab.relevant else "dropped"][stage] += 1
        if lab.relevant:
            print(f"{stage:11} {item['id']}  {item['title'][:50]}", file=out)
    n_rel = sum(1 for v in labels.values() if v.relevant)
    print(f"stages ({part}: {len(labels)} posts, {n_rel} relevant)   missed / rightly dropped", file=out)
    for stage in (*DROP_STAGES, "?"):
        m, d = counts["missed"][stage], counts["dropped"][stage]
        if m or d or stage != "?":
            print(f"  {stage:11} {m:4} / {d:4}", file=out)
    return counts


def score_rows(sc, name: str) -> list[tuple[str, str]]:
    """One row per figure: `all | held-out | fresh` (fresh only when the run holds fresh labels),
    then the goal's verdict on held-out (as before) and on fresh."""
    parts = [("held-out", sc.held_out)] + ([("fresh", sc.fresh)] if sc.fresh.labelled else [])
    rows = []
    for title, fn, goal in (
        (
            "relevance precision / recall / F1",
            lambda p: f"{_fmt(p.precision)} / {_fmt(p.recall)} / {_fmt(p.f1)}",
            lambda p: _both(_goal(p.precision, 0.90), _goal(p.recall, 0.85)),
        ),
        ("category accuracy", lambda p: _share(p.cat_ok, p.cat_n), None),
        (
            "grade exact",
            lambda p: _share(p.grade_exact, p.grade_n),
            lambda p: _goal(_rate(p.grade_exact, p.grade_n), 0.70),
        ),
        (
            "grade within one",
            lambda p: _share(p.grade_within1, p.grade_n),
            lambda p: _goal(_rate(p.grade_within1, p.grade_n), 0.95),
        ),
        (
            "same-story groups one incident",
            lambda p: _share(p.groups_one, p.groups_n),
            lambda p: _goal(_rate(p.groups_one, p.groups_n), 0.95),
        ),
        (
            "look-alike pairs merged",
            lambda p: _share(p.pairs_merged, p.pairs_n),
            lambda p: _goal(_rate(p.pairs_merged, p.pairs_n), 0.05, at_most=True),
        ),
    ):
        heads = " | ".join(["all"] + [k for k, _ in parts])
        label = f"labels ({name}): {title} ({heads}){GOALS.get(title, '')}"
        values = " | ".join(fn(p) for p in [sc.all] + [p for _, p in parts])
        verdict = ""
        if goal is not None:
            words = {True: "met", False: "NOT met", None: "nothing to measure"}
            verdict = " —" + ";".join(f" {k} {words[goal(p)]}" for k, p in parts)
        rows.append((label, values + verdict))
    return rows


def print_errors(results: list[dict], labels, groups, part: str) -> None:
    """One line per error of `part` ("tune", "held-out", "fresh" or "all")."""

    def wanted(keys) -> bool:
        return part == "all" or all(labels[k].part == part for k in keys)

    by_id = {r["id"]: r for r in results}
    for r in results:
        lab = labels.get(r["id"])
        if lab is None or not wanted([r["id"]]):
            continue
        head = f"{r['id']}  {r['title'][:50]}"
        if r["relevant"] != lab.relevant:
            kind = "missed" if lab.relevant else "false alert"
            got = f" -> {r['category']} {r['grade']}" if r["relevant"] else ""
            print(f"{kind:12} {head}{got}  call: {lab.call or '-'}")
        elif lab.relevant and lab.category and r["category"] != lab.category:
            print(f"{'category':12} {head}  {lab.category} -> {r['category']}")
        elif lab.relevant and lab.grade and r["grade"] and r["grade"] != lab.grade:
            print(f"{'grade':12} {head}  {lab.grade} -> {r['grade']}  {' | '.join(r['reasons'][:2])}")
    for g in groups:
        if all(k in by_id and labels[k].relevant for k in g) and wanted(g):
            incidents = [by_id[k]["incident"] for k in g]
            if len(set(incidents)) != 1 or None in incidents:
                print(f"{'group split':12} " + "; ".join(f"{k}→{by_id[k]['incident']}" for k in g))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.bench_labels", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", type=Path, default=PROVINCE, help="configuration file (default: config/province.toml)")
    ap.add_argument("--errors", choices=("tune", "held-out", "fresh", "all"), help="also list this part's errors")
    ap.add_argument(
        "--stages",
        choices=("tune",),
        help="only say which analysis stage drops each missed post of the tune part, with counts per stage",
    )
    args = ap.parse_args(argv)
    if args.stages:
        stages(args.config, args.stages)
        return 0
    rows = run(args.config, args.errors) + battery(args.config)
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
