"""Other feed readers' test feeds through our real collection path.

    python -m bench.feed_corpus_others [--gofeed DIR] [--miniflux DIR] [--tree DIR:FOLDER …]
                                       [--only SUBSTRING] [--show N]

DIR is a checkout or a bare git directory of github.com/mmcdole/gofeed (testdata/: RSS, Atom,
RDF and JSON Feed files, most with the parsed result gofeed expects in a .json beside them) or
github.com/miniflux/v2 (internal/reader/*/testdata, and the feeds written inline in
internal/reader/{rss,atom,rdf,json,parser}/*_test.go with the entry titles and URLs their
tests assert). The corpora are read from there, never copied into this repository.

Each file is served alone on 127.0.0.1 (no charset in the Content-Type: the bytes must speak
for themselves) to an `rss` source on a fresh database, and run by `Pipeline.run_source` —
fetch, decode, parse, analyse, store, as `yuqing scrape --once` does. Then the stored posts are
checked against the file itself (read independently with lxml, or json for a JSON Feed) and,
where given, the expected values: items lost, crashes (an exception that escaped the reader),
failures by reason, garbled titles (U+FFFD, Ã/Â mojibake, 锟斤拷, markup or entities left, control
characters), empty titles where the item has one, links absent where the item has one, dates
in the far future or past, duplicates, and titles/links/dates unlike the expected ones.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    name: str  # corpus/path (or corpus/file.go:Test…)
    body: bytes
    content_type: str = "application/xml"
    # expected values from the other reader's own tests: titles, links, UTC dates ("" = none)
    titles: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    dates: list[datetime] = field(default_factory=list)


# ----------------------------------------------------------------------------- reading corpora


class Tree:
    """A checkout or a bare git directory, read the same way."""

    def __init__(self, path: Path):
        self.path = path
        self.bare = not (path / ".git").exists() and (path / "HEAD").exists()

    def files(self, prefix: str) -> list[str]:
        if self.bare:
            out = subprocess.run(
                ["git", "--git-dir", str(self.path), "ls-tree", "-r", "--name-only", "HEAD", prefix],
                check=True,
                capture_output=True,
            ).stdout.decode()
            return sorted(out.split())
        base = self.path / prefix
        return sorted(str(p.relative_to(self.path)) for p in base.rglob("*") if p.is_file()) if base.exists() else []

    def read(self, name: str) -> bytes:
        if self.bare:
            return subprocess.run(
                ["git", "--git-dir", str(self.path), "show", f"HEAD:{name}"], check=True, capture_output=True
            ).stdout
        return (self.path / name).read_bytes()


def _go_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def gofeed_cases(tree: Tree) -> list[Case]:
    names = tree.files("testdata")
    have = set(names)
    cases = []
    for name in names:
        if name.endswith(".xml"):
            case = Case("gofeed/" + name, tree.read(name))
            want = name[:-4] + ".json"
            if want in have:
                try:
                    expected = json.loads(tree.read(want))
                except ValueError:
                    expected = {}
                for e in expected.get("items") or expected.get("entries") or []:
                    title = e.get("title")
                    case.titles.append(title if isinstance(title, str) else "")
                    link = e.get("link")
                    if not link and e.get("links"):
                        first = e["links"][0]
                        link = first.get("href") if isinstance(first, dict) else first
                    case.links.append(link if isinstance(link, str) else "")
                    for key in ("publishedParsed", "updatedParsed"):
                        dt = _go_time(e.get(key))
                        if dt:
                            case.dates.append(dt)
                            break
            cases.append(case)
        elif name.endswith(".json") and name[:-5] + ".xml" not in have and not name.endswith("_expected.json"):
            # a JSON Feed (or an invalid one): what an rss source does with it
            case = Case("gofeed/" + name, tree.read(name), "application/feed+json")
            exp = name[:-5] + "_expected.json"
            if exp in have:
                try:
                    expected = json.loads(tree.read(exp))
                except ValueError:
                    expected = {}
                for e in expected.get("items") or []:
                    case.titles.append(e.get("title") or "")
                    case.links.append(e.get("url") or "")
            cases.append(case)
    return cases


_GO_FUNC = re.compile(r"^func (Test\w+)\(", re.M)
_GO_DATA = re.compile(r"data :?= `(.*?)`", re.S)
_GO_WANT = re.compile(r'feed\.Entries\[(\d+)\]\.(Title|URL) != ("(?:[^"\\]|\\.)*"|`[^`]*`)')


def _go_string(lit: str) -> str:
    return lit[1:-1] if lit.startswith("`") else json.loads(lit)


def miniflux_cases(tree: Tree) -> list[Case]:
    cases = []
    for name in tree.files("internal/reader"):
        if "/testdata/" in name and name.endswith(".xml"):
            cases.append(Case("miniflux/" + name, tree.read(name)))
    for pkg in ("rss", "atom", "rdf", "json", "parser"):
        for name in tree.files(f"internal/reader/{pkg}"):
            if not name.endswith("_test.go"):
                continue
            src = tree.read(name).decode("utf-8", errors="replace")
            starts = [(m.start(), m.group(1)) for m in _GO_FUNC.finditer(src)] + [(len(src), "")]
            for (a, test), (b, _) in itertools.pairwise(starts):
                chunk = src[a:b]
                m = _GO_DATA.search(chunk)
                if not m:
                    continue
                data = m.group(1).strip()
                ctype = "application/feed+json" if data.startswith("{") else "application/xml"
                case = Case(f"miniflux/{name}:{test}", data.encode("utf-8"), ctype)
                for _idx, what, lit in _GO_WANT.findall(chunk):
                    try:
                        value = _go_string(lit)
                    except ValueError:
                        continue
                    (case.titles if what == "Title" else case.links).append(value)
                cases.append(case)
    return cases


_FEED_FILE = re.compile(r"\.(xml|rss|atom|rdf|json|feed)$", re.IGNORECASE)


def tree_cases(tree: Tree, under: str) -> list[Case]:
    """Every feed-like file (.xml .rss .atom .rdf .json) under `under`, without expected values:
    NetNewsWire's Modules/RSParser/Tests/RSParserTests/Resources (real sites' feeds), rome's
    src/test/resources."""
    label = tree.path.parent.name if tree.path.name == "repo" else tree.path.name
    cases = []
    for name in tree.files(under):
        if _FEED_FILE.search(name):
            body = tree.read(name)
            ctype = "application/json" if body.lstrip()[:1] in (b"{", b"[") else "application/xml"
            cases.append(Case(f"{label}/{name}", body, ctype))
    return cases


# ----------------------------------------------------------------------------- independent reading


@dataclass
class RefItem:
    title: str  # the item's title as text ("" for none)
    link: str  # the item's link as written ("" for none)


_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")


def as_text(s: str) -> str:
    return _WS.sub(" ", unescape(_TAG.sub(" ", s))).strip()


def title_text(raw: str) -> str:
    """A title as text: without its tags when it is HTML, as written when that leaves nothing
    (the text '</example>')."""
    return as_text(raw) or _WS.sub(" ", raw).strip()


def reference(case: Case) -> list[RefItem] | None:
    """The items of the file, read without feedparser: None when it is neither well-formed XML
    nor JSON (nothing to judge by)."""
    if case.content_type.endswith("json"):
        try:
            doc = json.loads(case.body)
        except ValueError:
            return None
        items = doc.get("items") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            return None
        out = []
        for it in items:
            if isinstance(it, dict):
                title = it.get("title") if isinstance(it.get("title"), str) else ""
                link = it.get("url") if isinstance(it.get("url"), str) else ""
                out.append(RefItem(_WS.sub(" ", title).strip(), link.strip()))
        return out
    from lxml import etree

    try:
        root = etree.fromstring(case.body.lstrip(), etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, ValueError):
        return None
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).localname not in ("item", "entry"):
            continue
        title, link, guid = "", "", ""
        for ch in el:
            if not isinstance(ch.tag, str):
                continue
            local = etree.QName(ch).localname
            if local == "title" and not title:
                # an Atom title of type xhtml is markup; the others are text (html: escaped markup)
                title = title_text("".join(ch.itertext()))
            elif local == "link" and not link:
                rel = ch.get("rel", "alternate")
                href = ch.get("href")
                if href is not None and rel == "alternate":
                    link = href.strip()
                elif href is None:
                    link = "".join(ch.itertext()).strip()
            elif local == "guid" and ch.get("isPermaLink", "true").lower() != "false":
                guid = "".join(ch.itertext()).strip()
        if not link and guid.lower().startswith(("http://", "https://")):
            link = guid
        out.append(RefItem(title, link))
    return out


# ----------------------------------------------------------------------------- serving and collecting


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self):
        hit = self.routes.get(self.path)
        if hit is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, ctype = hit
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _config(tmp: Path, urls: list[str]) -> Path:
    """bench_collect's config: a source `c0`, `c1` … per feed, no waits, retries or robots.txt."""
    from bench.bench_collect import _config as collect_config

    return collect_config(tmp, urls, 0, 0, "retries = 0\nrespect_robots = false\n", prefix="c")


async def collect(cases: list[Case], url: str, tmp: Path) -> list[tuple[object, list[dict], datetime]]:
    """Each case alone, on its own fresh database (a link two files share is stored once per
    database: one database for all would hide the second file's items)."""
    import logging

    from bot.app import App
    from bot.config import load_config
    from bot.settings import Settings

    logging.disable(logging.CRITICAL)
    cfg = load_config(_config(tmp, [f"{url}/{i}" for i in range(len(cases))]))
    out = []
    for i, _case in enumerate(cases):
        db = tmp / "data" / f"c{i}.db"
        app = App(Settings(_env_file=None, data_dir=tmp / "data", db=db), cfg, platforms={})
        app.attach_http(app.new_http_client())
        now = app.clock()
        try:
            try:
                run = await app.pipeline.run_source(f"c{i}", force=True)
            except Exception as e:  # what scrape --once does with it
                run = app.pipeline.record_crash(f"c{i}", e)
            rows = list(
                app.db.query(
                    "SELECT title, text, url, published_at FROM posts WHERE source_id=? ORDER BY id", [f"c{i}"]
                )
            )
        finally:
            await app.client.aclose()
            app.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        out.append((run, rows, now))
    return out


# ----------------------------------------------------------------------------- judging

_MOJIBAKE = re.compile(r"\ufffd|Ã[\x80-\xbf]|Â[\x80-\xbf ]|锟斤拷|â€")
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _utc(s: str | None) -> datetime | None:
    if not s:
        return None
    dt = datetime.fromisoformat(s)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def judge(case: Case, run, rows: list[dict], now: datetime) -> dict[str, list[str]]:
    """Defect class -> notes, for one file."""
    found: dict[str, list[str]] = defaultdict(list)
    err = run.error or ""
    if err.startswith(("读取失败", "处理失败")):
        found["crash"].append(err[:160])
    elif err:
        found["failure: " + re.sub(r"[:：（(].*", "", err)[:40]].append(err[:160])
    ref = reference(case)
    titles = [r["title"] for r in rows]
    links = [r["url"] for r in rows]
    for t in titles:
        if _MOJIBAKE.search(t):
            found["garbled title (mojibake)"].append(t[:80])
        elif _MARKUP.search(t) and not any(_MARKUP.search(x) for x in case.titles):
            found["markup/entity in title"].append(t[:80])
        elif _CONTROL.search(t):  # kept as scraped (the house rule), made inert when shown
            found["(info) control char kept in title"].append(repr(t[:80]))
    for r in rows:
        dt = _utc(r["published_at"])
        if dt and (dt > now + timedelta(days=1) or dt.year < 1990):
            found["implausible date"].append(r["published_at"])
    seen = Counter((r["title"], r["url"]) for r in rows)
    for k, n in seen.items():
        if n > 1:
            found["duplicate"].append(f"{k} x{n}")
    if ref is not None and not err:
        readable = [it for it in ref if it.title or it.link]
        if len(rows) < len({(it.title, it.link) for it in readable if it.title}):
            found["items lost"].append(f"{len(rows)} stored of {len(readable)} ({case.name})")
        untitled = [it for it in ref if not it.title]
        if untitled and len(rows) < len(ref):  # by design: an item without title or text is skipped
            found["(info) items with no title skipped"].append(f"{len(ref) - len(rows)} of {len(ref)}")
        for it in ref:
            if not it.title:
                continue
            if (
                it.title not in titles
                and as_text(it.title) not in titles
                and not any(it.title[:30] in t for t in titles)
            ):
                found["title missing/altered"].append(f"{it.title[:60]!r} not in {[t[:40] for t in titles][:3]}")
            gone = it.link.lower().startswith(("http://", "https://")) and it.link not in links
            if gone and not any(link and link.startswith(it.link.split("#")[0][:40]) for link in links):
                found["link absent/wrong"].append(f"{it.link[:80]} not in {links[:3]}")
    for t in case.titles:
        if t and title_text(t) not in titles and as_text(t) not in titles and not err:
            found["≠ expected title"].append(f"{t[:60]!r} vs {[x[:40] for x in titles][:3]}")
    body = case.body.decode("utf-8", "replace")
    for link in case.links:
        if link and link.startswith("http") and link not in links and link in body and not err and rows:
            found["≠ expected link"].append(f"{link[:70]} vs {links[:3]}")
    if case.dates and not err and rows:
        stored = {_utc(r["published_at"]) for r in rows}
        for d in case.dates:
            if d.year >= 1990 and d <= now + timedelta(days=1) and d not in stored:
                found["≠ expected date"].append(f"{d.isoformat()} vs {sorted(str(s) for s in stored)[:2]}")
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.feed_corpus_others", description=__doc__.split("\n\n")[0])
    ap.add_argument("--gofeed", type=Path, help="mmcdole/gofeed checkout or bare git dir")
    ap.add_argument("--miniflux", type=Path, help="miniflux/v2 checkout or bare git dir")
    ap.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="DIR:FOLDER",
        help="any other corpus: every .xml/.rss/.atom/.rdf/.json under FOLDER of DIR (repeatable)",
    )
    ap.add_argument("--only", default="", help="only files whose name contains this")
    ap.add_argument("--show", type=int, default=3, help="examples shown per class")
    args = ap.parse_args(argv)
    cases: list[Case] = []
    if args.gofeed:
        cases += gofeed_cases(Tree(args.gofeed))
    if args.miniflux:
        cases += miniflux_cases(Tree(args.miniflux))
    for spec in args.tree:
        path, _, under = spec.partition(":")
        cases += tree_cases(Tree(Path(path)), under or ".")
    cases = [c for c in cases if args.only in c.name]
    if not cases:
        ap.error("no feeds: give --gofeed, --miniflux or --tree")
    _Handler.routes = {f"/{i}": (c.body, c.content_type) for i, c in enumerate(cases)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(collect(cases, url, Path(tmp)))
    server.shutdown()
    classes: dict[str, list[str]] = defaultdict(list)
    per_corpus: Counter = Counter()
    stored = 0
    for case, (run, rows, now) in zip(cases, results, strict=True):
        stored += len(rows)
        per_corpus[case.name.split("/")[0]] += 1
        for cls, notes in judge(case, run, rows, now).items():
            classes[cls].append(f"{case.name}: {notes[0]}" + (f" (+{len(notes) - 1})" if len(notes) > 1 else ""))
    print(
        f"files: {len(cases)} ({', '.join(f'{k} {v}' for k, v in sorted(per_corpus.items()))}); items stored: {stored}"
    )
    print(f"{'class':<44} {'files':>5}")
    print("-" * 50)
    for cls in sorted(classes, key=lambda c: (c.startswith("failure"), c)):
        print(f"{cls:<44} {len(classes[cls]):>5}")
        for note in classes[cls][: args.show]:
            print(f"    {note[:230]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
