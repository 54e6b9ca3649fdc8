"""`yuqing backtest`: the live analysis over a file, one JSON line per post, bad lines skipped."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import cli

LINES = [
    {
        "id": "a1",
        "title": "网友实名举报市交通运输局局长张建国公车私用",
        "text": "青石镇水库钓鱼，网友愤怒质疑。",
        "url": "https://bbs.example/1",
        "source": "forum",
        "published": "2026-10-03T08:00:00+08:00",
    },
    {
        "id": "a2",
        "title": "转：网友实名举报市交通运输局局长张建国公车私用",
        "text": "省报跟进报道。",
        "url": "https://paper.example/2?utm_source=x",
        "source": "provnews",
        "published": "2026-10-03T12:00:00+08:00",
    },
    {"id": "a3", "title": "云川美食节开幕", "text": "好吃。", "url": None, "source": "nowhere", "published": None},
    {
        "id": "a4",
        "title": "市委组织部发布干部任前公示",
        "text": "拟任职人选公示。",
        "url": "https://news.example/4",
        "source": "ycnews",
        "published": "2026-10-04T09:00:00+08:00",
    },
    {
        "id": "a5",
        "title": "again",
        "text": "same url as a1",
        "url": "https://bbs.example/1",
        "source": "forum",
        "published": "2026-10-04T10:00:00+08:00",
    },
]


def test_backtest_outputs_one_line_per_post(tmp_path):
    src = tmp_path / "posts.jsonl"
    src.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in LINES) + "\n{broken\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["backtest", str(src)], env={"YUQING_DATA_DIR": str(tmp_path / "data")})
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4", "a5"]
    by = {r["id"]: r for r in rows}
    assert set(by["a1"]) == {"id", "relevant", "category", "grade", "incident", "reasons", "matched", "follow_up"}
    assert (
        by["a1"]["relevant"] and by["a1"]["category"] == "干部作风" and by["a1"]["grade"] == "II"
    )  # a named official, a specific allegation
    assert by["a1"]["matched"]["cadres"] == ["张建国"]
    assert by["a2"]["incident"] == by["a1"]["incident"]  # one story
    assert by["a2"]["grade"] == "I"  # a provincial paper picked it up
    assert by["a3"] == {
        "id": "a3",
        "relevant": False,
        "category": None,
        "grade": None,
        "incident": None,
        "reasons": [],
        "matched": {},
        "follow_up": False,
    }
    assert by["a4"]["grade"] == "IV" and by["a4"]["incident"] != by["a1"]["incident"]
    assert by["a5"]["incident"] == by["a1"]["incident"]  # the same URL is the same post
    assert "第 6 行无法解析" in res.stderr
    assert "事件 incidents 2" in res.stderr and "I 1，II 0，III 0，IV 1" in res.stderr


def test_a_published_time_without_zone_is_local_time_like_a_scraped_one():
    """One rule for times that name no zone: the organisation's local time (core.clock)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from jobs.backtest import parse_line
    from jobs.collect import parse_time

    line = json.dumps({"id": "n1", "title": "t", "published": "2026-10-03 08:00:00"})
    published = parse_line(line)["published"]
    assert published == datetime(2026, 10, 3, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert published == parse_time("2026-10-03 08:00:00")
    assert parse_line(line, ZoneInfo("UTC"))["published"].utcoffset().total_seconds() == 0
