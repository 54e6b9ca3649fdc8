"""Checks run from outside the team: feedparser's own test corpus, hostile command lines and
hostile scraped content. Each test reproduces a defect those checks found.

tests/data/feedparser/ holds feeds copied from feedparser 6.0.11's test suite
(https://github.com/kurtmckee/feedparser, BSD-2-Clause, see tests/data/feedparser/LICENSE)."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.mark.parametrize("label,codec,title", [("ibm1140", "cp1140", "Crème brûlée à 1 € : café"),
                                               ("ebcdic-cp-be", "cp500", "Ærø [x] {y} ¦ü"),
                                               (None, "cp037", "Zürich ¬ öffentlich")])
async def test_ebcdic_feeds_are_read_not_lost_as_not_well_formed(collect, http_server, label, codec, title):  # noqa: F811
    # feedparser's tests/encoding/x80_*.xml: 21 EBCDIC feeds (cp037, cp500, ibm1140, ebcdic-cp-*)
    # were each this source's "feed not parseable: not well-formed". XML 1.0 appendix F: the
    # first four bytes say EBCDIC; the declaration, read as cp037, names the code page.
    decl = f'<?xml version="1.0" encoding="{label}"?>' if label else '<?xml version="1.0"?>'
    doc = (f'{decl}\n<rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
           f'<link>https://news.example/e/1</link><description>{title}.</description></item></channel></rss>\n')
    http_server.routes["/e"] = (200, {"Content-Type": "application/xml"}, doc.encode(codec))
    run, h = await collect("rss", "/e")
    assert run.error is None, (label, run.error)
    assert titles(h) == [title]


def test_chinese_punctuation_after_the_command_word_or_the_number_is_a_separator(tmp_path):
    # Hostile-lines run: '/claim 4。', '/close 4，…', '/mute 4，2h' were refused ("“4，”不是有效的事件编号"),
    # and '/list，' '/close，4 …' were told "命令以 / 开头" although they do start with '/'.
    import json
    import sqlite3

    from tests.test_console import run_console

    script = ["/list，", "/claim 4。", "/note 4，已核实：情况属实，（待复核）", "/mute 4，2h",
              "/escalate 4： 涉及领导干部，需把关口径。", "/close，4 已回应，已发布说明。", "/claim4", ""]
    res = run_console(tmp_path, "\n".join(script))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    out = res.stdout
    assert "命令以 / 开头" not in out and "不是有效的事件编号" not in out
    assert "待处置事件" in out.split("王敏> /list，")[1].split("王敏> ")[0]
    assert "无法识别的命令“/claim4”" in out
    db = sqlite3.connect(tmp_path / "t.db")
    events = [(a, json.loads(d)) for a, d in db.execute(
        "SELECT action, detail FROM events WHERE incident_id = 4 AND actor IS NOT NULL ORDER BY id")]
    assert [a for a, _ in events] == ["claim", "note", "mute", "escalate", "close"]
    assert events[1][1]["text"] == "已核实：情况属实，（待复核）"          # the rest stays as typed
    assert events[3][1]["reason"] == "涉及领导干部，需把关口径。"
    assert events[4][1]["disposition"] == "已回应" and events[4][1]["summary"] == "已发布说明。"
    assert db.execute("SELECT count(*) FROM incidents WHERE id = 4 AND muted_until IS NOT NULL").fetchone()[0] == 1
