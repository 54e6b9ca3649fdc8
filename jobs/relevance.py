"""A second opinion on relevance: a small linear model trained on the analyst's labels.

The rules (`jobs.analyse`) decide relevance from watch-list terms, topic rules, officials and
the subject test; they explain themselves but generalise poorly to kinds of cadre story no
rule was written for (each newly labelled batch of inews posts found the rules at a recall of
about 0.5 before tuning on it). The model reads what the rules cannot enumerate: a logistic
regression over the same hashed character 1–3-grams as the tone model (`jobs.tone.features`:
the folded title and the first `body_chars` characters of the body, no jieba), trained on the
`tune` part of `config/labels/inews_train.jsonl` by `python -m bench.relevance_train`, which
chooses the regularisation and a threshold per stage (below) by cross-validation on that part
only and prints its figures. A one-vs-rest model over the same features proposes the category.

It only ever adds a post, and only one the rules came close to: a post in the team's area,
not about a foreign country, with a watch-list hit that passed the prefilter, which the lack
of a topic rule, the subject test or the lack of an identified official turned down
(`jobs.analyse.MODEL_STAGES`; never a post a rule's `none` words excluded: that is the team's
own word). Each of those stages has its own threshold, because the model is not equally right
after each: on the tune part (out of fold, at 0.5) 16 of the 23 posts it would add after the
subject test were labelled relevant, but only 4 of 14 after "no topic rule". Such a post is
relevant when the model's probability reaches its stage's threshold; its card says so in words
(`Verdict.reason`), its grade comes from its content as any post's does. A team switches it
off with `[watchlist] relevance_model = false`.

Weights: `jobs/relevance_model.npz` (float16, about 0.9 MB).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jobs.tone import features, logistic

__all__ = ["MODEL_PATH", "RelevanceModel", "Verdict", "default_model", "load_model"]

MODEL_PATH = Path(__file__).with_name("relevance_model.npz")


@dataclass(frozen=True)
class Verdict:
    probability: float
    category: str | None  # the category model's choice among the team's categories

    @property
    def reason(self) -> str:
        """The card's words for a post the model added (the rules found no rule or no subject)."""
        return f"相关性模型：与已标注的干部舆情相近（概率 {self.probability:.2f}）"


@dataclass(frozen=True)
class RelevanceModel:
    weights: np.ndarray  # float32, 2**bits: relevant or not
    bias: float
    thresholds: dict[str, float]  # per analysis stage (jobs.analyse.MODEL_STAGES); absent: never
    bits: int
    body_chars: int
    title_weight: float
    categories: tuple[str, ...]  # the category model's classes
    category_weights: np.ndarray  # float32, (len(categories), 2**bits)
    category_bias: np.ndarray  # float32, len(categories)

    def threshold_at(self, stage: str) -> float | None:
        """The probability from which the model adds a post the rules turned down at `stage`."""
        return self.thresholds.get(stage)

    def _features(self, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        return features(title, body, bits=self.bits, body_chars=self.body_chars, title_weight=self.title_weight)

    def probability(self, title: str, body: str = "") -> float:
        """Of "relevant", for the folded title and body (`core.text.fold`)."""
        idx, vals = self._features(title, body)
        return logistic(float(self.weights[idx] @ vals) + self.bias)

    def category(self, title: str, body: str, allowed: frozenset[str] | set[str]) -> str | None:
        """Among `allowed` (the team's categories) the likeliest for the folded title and body
        (None when the model knows none of them); asked only for a post the model adds."""
        idx, vals = self._features(title, body)
        scores = self.category_weights[:, idx] @ vals + self.category_bias
        for k in np.argsort(-scores):
            if self.categories[k] in allowed:
                return self.categories[k]
        return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=np.float64(self.bias),
            stages=np.array(list(self.thresholds)),
            thresholds=np.array(list(self.thresholds.values()), dtype=np.float64),
            bits=np.int64(self.bits),
            body_chars=np.int64(self.body_chars),
            title_weight=np.float64(self.title_weight),
            categories=np.array(self.categories),
            category_weights=self.category_weights.astype(np.float16),
            category_bias=self.category_bias.astype(np.float64),
        )


def load_model(path: Path = MODEL_PATH) -> RelevanceModel:
    with np.load(path) as z:
        bits = int(z["bits"])
        weights = z["weights"].astype(np.float32)
        cats = tuple(str(c) for c in z["categories"])
        cw = z["category_weights"].astype(np.float32)
        if weights.shape != (1 << bits,) or cw.shape != (len(cats), 1 << bits):
            raise ValueError(f"relevance model {path}: weights do not match {bits} bits")
        return RelevanceModel(
            weights,
            float(z["bias"]),
            {str(k): float(v) for k, v in zip(z["stages"], z["thresholds"])},
            bits,
            int(z["body_chars"]),
            float(z["title_weight"]),
            cats,
            cw,
            z["category_bias"].astype(np.float32),
        )


@functools.cache
def default_model() -> RelevanceModel:
    return load_model(MODEL_PATH)
