"""Checks run from outside the team: feedparser's own test corpus, hostile command lines and
hostile scraped content. Each test reproduces a defect those checks found.

tests/data/feedparser/ holds feeds copied from feedparser 6.0.11's test suite
(https://github.com/kurtmckee/feedparser, BSD-2-Clause, see tests/data/feedparser/LICENSE)."""

from __future__ import annotations

from pathlib import Path

from tests.test_collect import collect, titles  # noqa: F401 - fixture

DATA = Path(__file__).parent / "data" / "feedparser"


async def test_unlabelled_shift_jis_feed_is_not_stored_with_replacement_characters(collect, http_server):  # noqa: F811
    # feedparser's tests/illformed/chardet/shiftjis.xml: no charset anywhere. Shift_JIS was taken
    # for a single-byte code page (and dropped as a candidate), and a UTF-8 decoding full of
    # U+FFFD beat GB18030's clean decoding by a hair: stored as 'DrecomRSS�ɋL�����e…'.
    body = (DATA / "shiftjis.xml").read_bytes()
    http_server.routes["/sjis"] = (200, {"Content-Type": "application/xml"}, body)
    run, h = await collect("rss", "/sjis")
    assert run.error is None
    assert titles(h) == [body.decode("shift_jis").split("<title>")[1].split("</title>")[0]]
    assert titles(h) == ["DrecomRSSに記事投稿が反映されない…"]
    texts = [r["text"] for r in h.app.db.query("SELECT text FROM posts")]
    assert texts and all("\ufffd" not in t for t in texts)
