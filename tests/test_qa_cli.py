"""Outside-QA defects of the command line, the configuration and the console (qa_report #7,
#8, #13, #18, #19): a clear bilingual message and exit status 2 instead of a traceback, a
console card that keeps its links and commands, valid TOML in the documented examples."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from core.clock import MAX_DURATION, DurationTooLong, parse_duration
from core.errors import ConfigError
from jobs.backtest import parse_line

ROOT = Path(__file__).resolve().parent.parent


def _invoke(args: list[str], tmp_path: Path, **env: str):
    return CliRunner().invoke(cli, args, env={"YUQING_DATA_DIR": str(tmp_path / "data"), **env})


def _no_traceback(res) -> None:
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


# --- #7: durations beyond a sane bound ------------------------------------------------------


@pytest.mark.parametrize("text", ["99999999999d", "9" * 400 + "s", "3651d", "87601h", "5256001m"])
def test_a_duration_beyond_the_bound_is_refused(text):
    with pytest.raises(DurationTooLong):
        parse_duration(text)


def test_durations_up_to_the_bound_still_parse():
    assert parse_duration("3650d") == MAX_DURATION
    assert parse_duration("15m") == timedelta(minutes=15)
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('interval = "10m"', 'interval = "99999999999d"', "sources[id=ycnews].interval"),
        ('claim = "15m"', 'claim = "99999999999d"', "claim"),
        ('[organization]\n', '[organization]\nsubscriber_summary = "99999999999h"\n', "subscriber_summary"),
        (
            '[organization]\n',
            '[organization]\nduty = { rotation = ["wangmin"], start = 2026-01-05, shift = "99999999999d" }\n',
            "shift",
        ),
    ],
)
def test_a_huge_duration_in_the_config_is_a_config_error(config_dir, tmp_path, old, new, where):
    path = config_dir / "example.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "时长过长" in str(err.value) and where in str(err.value)
    res = _invoke(["check", "--config", str(path), "--db", str(tmp_path / "c.db")], tmp_path)
    _no_traceback(res)
    assert "时长过长" in res.output and "duration too long" in res.output


def test_posts_days_beyond_a_century_is_a_config_error(config_dir):
    path = config_dir / "example.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[retention]\nposts_days = 99999999999\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="posts_days 最多"):
        load_config(path)


# --- #7: the configuration file and the proxy -------------------------------------------------


def test_config_pointing_at_a_directory_is_a_clear_error(tmp_path):
    res = _invoke(["check", "--config", str(tmp_path), "--db", str(tmp_path / "c.db")], tmp_path)
    _no_traceback(res)
    assert "是一个目录" in res.output and "directory" in res.output


@pytest.mark.parametrize("proxy", ["notaurl", "ftp://proxy:21", "http://", "http://[::1", "http://h:99999"])
@pytest.mark.parametrize("command", [["check"], ["run", "--no-collect"], ["scrape", "--once"], ["collect", "--once"]])
def test_an_invalid_proxy_is_caught_before_starting(tmp_path, proxy, command):
    res = _invoke([*command, "--db", str(tmp_path / "c.db")], tmp_path, YUQING_HTTP_PROXY=proxy)
    _no_traceback(res)
    assert "YUQING_HTTP_PROXY: 代理地址无效" in res.output
    assert not (tmp_path / "c.db").exists()  # nothing started


def test_the_proxy_message_does_not_repeat_its_password(tmp_path):
    res = _invoke(["check", "--db", str(tmp_path / "c.db")], tmp_path, YUQING_HTTP_PROXY="gopher://u:s3cret@h:1")
    _no_traceback(res)
    assert "s3cret" not in res.output


def test_a_valid_proxy_passes_the_check(tmp_path):
    res = _invoke(["check", "--db", str(tmp_path / "c.db")], tmp_path, YUQING_HTTP_PROXY="http://127.0.0.1:3128")
    assert res.exit_code == 0, res.output


# --- #7: prune and export bounds ----------------------------------------------------------------


@pytest.mark.parametrize("days", ["99999999999", "36501"])
def test_prune_with_huge_days_is_refused(tmp_path, days):
    res = _invoke(["prune", "--dry-run", "--days", days, "--db", str(tmp_path / "c.db")], tmp_path)
    _no_traceback(res)
    assert "最多 36500 天" in res.output


def test_prune_at_the_bound_works(tmp_path):
    res = _invoke(["prune", "--dry-run", "--days", "36500", "--db", str(tmp_path / "c.db")], tmp_path)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("kind", ["ledger", "casebook"])
@pytest.mark.parametrize("args", [["--from", "0001-01-01"], ["--to", "9999-12-31"], ["--from", "1899-12-31"]])
def test_export_with_an_out_of_range_date_is_refused(tmp_path, kind, args):
    out = tmp_path / ("x.xlsx" if kind == "ledger" else "x.docx")
    res = _invoke(["export", kind, *args, "-o", str(out), "--db", str(tmp_path / "c.db")], tmp_path)
    _no_traceback(res)
    assert "日期须在 1900-01-01 至 2999-12-31 之间" in res.output
    assert not out.exists()


@pytest.mark.parametrize("kind", ["ledger", "casebook"])
def test_export_at_the_bounds_works(tmp_path, kind):
    out = tmp_path / ("x.xlsx" if kind == "ledger" else "x.docx")
    res = _invoke(
        ["export", kind, "--from", "1900-01-01", "--to", "2999-12-31", "-o", str(out), "--db", str(tmp_path / "c.db")],
        tmp_path,
    )
    assert res.exit_code == 0, res.output
    assert out.exists()


# --- #7: backtest lines with unusable numbers -------------------------------------------------

_TITLE = "南湖区教育局局长违纪被查"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ('"views": 1e400', "views 应为整数"),
        ('"views": -1e400', "views 应为整数"),
        ('"views": NaN', "views 应为整数"),
        ('"replies": -5', "replies 应在 0 到"),
        ('"reposts": 100000000000000000000000000', "reposts 应在 0 到"),
        ('"published": "0001-01-01T00:00:00"', "published 超出范围"),
        ('"published": "9999-12-31T23:59:59-14:00"', "published 超出范围"),
    ],
)
def test_parse_line_refuses_unusable_numbers_with_a_reason(fields, said):
    with pytest.raises(ValueError, match=said):
        parse_line(f'{{"id": "a", "title": "{_TITLE}", {fields}}}')


@pytest.mark.parametrize(
    ("line", "said"),
    [("[" * 100_000 + "]" * 100_000, "嵌套过深"), ('{"id": 1, "views": ' + "9" * 5000 + "}", "不是可用的 JSON")],
)
def test_parse_line_refuses_unusable_json_with_a_reason(line, said):
    with pytest.raises(ValueError, match=said):
        parse_line(line)


def test_parse_line_keeps_good_counts():
    item = parse_line(json.dumps({"id": "a", "title": _TITLE, "views": 12, "replies": "3", "reposts": 0}))
    assert (item["views"], item["replies"], item["reposts"]) == (12, 3, 0)


def test_backtest_reports_and_skips_bad_lines_and_runs_the_rest(tmp_path):
    lines = [
        f'{{"id": "a", "title": "{_TITLE}", "views": 1e400}}',
        f'{{"id": "b", "title": "{_TITLE}", "views": NaN}}',
        f'{{"id": "c", "title": "{_TITLE}", "replies": -5}}',
        json.dumps({"id": "d", "title": _TITLE, "views": 12}, ensure_ascii=False),
    ]
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = _invoke(["backtest", str(posts), "--db", str(tmp_path / "bt.db")], tmp_path)
    assert res.exit_code == 0, res.output
    assert res.exception is None, repr(res.exception)
    for n in (1, 2, 3):
        assert f"第 {n} 行无法解析，已跳过" in res.output
    assert re.search(r"帖文 posts 1（跳过 skipped 3）", res.output), res.output
    assert '"id": "d"' in res.output


# --- #8: a console card with a huge title -----------------------------------------------------


@pytest.mark.parametrize("huge", ["title", "reasons", "excerpt"])
async def test_a_console_card_with_a_huge_text_keeps_everything_after_it(huge):
    import io

    from bot.platforms.console import ConsolePlatform
    from core.lifecycle import Action
    from core.platform import Outgoing
    from core.render import Button, Card

    title = "南湖区教育局局长违纪被查" + ("超长标题" * 5000 if huge == "title" else "")
    reasons = "可识别的干部违纪被查" + ("理" * 9000 if huge == "reasons" else "")
    card = Card(
        header="🔴 I 特别重大 · #4 · 违纪违法",
        title=title,
        url="http://news.example/a.html",
        fields=(
            ("来源", "云川新闻网 · 11-23 08:12"),
            ("定级理由", reasons),
            ("状态", "待认领"),
            ("时限", "认领 11-23 08:27"),
        ),
        buttons=(Button("认领", Action.CLAIM, 4), Button("误报", Action.CLOSE, 4, "误报")),
        excerpt=(("局长违纪" * (3000 if huge == "excerpt" else 1), True),),
    )
    out = io.StringIO()
    console = ConsolePlatform(load_config(ROOT / "config" / "example.toml"), out=out)
    await console.send("team", Outgoing(card=card))
    text = out.getvalue()
    body = text.split("\n", 2)[2]
    assert len(body) <= ConsolePlatform.max_length + 100  # the card, plus the closing rule
    for kept in (
        "南湖区教育局局长",
        "http://news.example/a.html",
        "来源：云川新闻网",
        "定级理由：可识别的干部",
        "状态：待认领",
        "时限：认领 11-23 08:27",
        "[认领] /claim 4",
        "/close 4 误报",
    ):
        assert kept in text, kept
    assert "…" in text


# --- #13: the documented TOML examples are valid TOML -----------------------------------------

_COMMENTED_TOML = re.compile(r"^#\s?((\[\[?[\w.]+\]\]?)|([\w\"-][\w.\"-]* = .*))$")
_PROSE = ("score = sensitivity x impact",)  # comment lines that only look like a key


def _commented_examples(lines: list[str]) -> list[list[int]]:
    """Runs of consecutive commented-out lines that read as TOML (keys or table headers)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, line in enumerate(lines):
        if _COMMENTED_TOML.match(line) and not any(p in line for p in _PROSE):
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    return runs


def test_every_commented_example_of_the_example_config_loads_when_uncommented(config_dir):
    path = config_dir / "example.toml"
    lines = path.read_text(encoding="utf-8").split("\n")
    runs = _commented_examples(lines)
    assert any(lines[r[0]] == "# [organization.duty]" for r in runs)
    for run in runs:
        edited = list(lines)
        for i in run:
            edited[i] = _COMMENTED_TOML.match(lines[i]).group(1)  # type: ignore[union-attr]
        path.write_text("\n".join(edited), encoding="utf-8")
        cfg = load_config(path)  # a ConfigError (TOML syntax included) fails the test, naming the run
        if lines[run[0]] == "# [organization.duty]":
            duty = cfg.organization.duty
            assert duty is not None and duty.rotation == ["zhoulan", "liqiang"]
            assert duty.handover == "08:30" and duty.escalate_after == "15m"
            assert [str(d) for d in duty.overrides] == ["2026-11-28"]


def test_every_toml_block_of_the_readme_parses():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert blocks
    for block in blocks:
        tomllib.loads(block)


def test_the_readme_duty_rota_example_loads_as_a_config(config_dir):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Duty rota (值班)", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    path = config_dir / "example.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + block, encoding="utf-8")
    duty = load_config(path).organization.duty
    assert duty is not None and duty.rotation == ["zhoulan", "liqiang"] and duty.shift == "1d"


# --- #19: config messages -----------------------------------------------------------------------


def _edited(config_dir: Path, old: str, new: str) -> Path:
    path = config_dir / "example.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "zh", "en"),
    [
        ('area = "361000"', 'area = "火星市"', "找不到行政区划 '火星市'", "no division named '火星市'"),
        ('area = "361000"', 'area = "999999"', "没有代码为 999999 的行政区划", "no division with code 999999"),
        (
            'kind = "rss"\nurl = "samples/forum.atom"',
            'kind = "html"\nurl = "http://forum.example/"',
            "html 来源需要 selectors",
            "an html source needs",
        ),
    ],
)
def test_a_bilingual_config_error_is_said_once_in_each_language(config_dir, old, new, zh, en):
    with pytest.raises(ConfigError) as err:
        load_config(_edited(config_dir, old, new))
    text = str(err.value)
    assert text.count(zh) == 1 and text.count(en) == 1, text
    problem = next(p for p in err.value.problems if zh in p.zh)
    assert en not in problem.zh and zh not in problem.en


@pytest.mark.parametrize("url", ["ftp://x/y.xml", "file:///tmp/feed.xml", "FTP://x/y.xml", "gopher://h/1"])
def test_an_unsupported_url_scheme_is_named_not_called_a_missing_file(config_dir, url):
    with pytest.raises(ConfigError) as err:
        load_config(_edited(config_dir, 'url = "samples/forum.atom"', f'url = "{url}"'))
    text = str(err.value)
    assert "sources[id=forum].url" in text and "不支持" in text and "not supported" in text
    assert "文件不存在" not in text


def test_http_urls_in_any_case_and_file_paths_still_load(config_dir):
    cfg = load_config(_edited(config_dir, 'url = "samples/forum.atom"', 'url = "HTTPS://forum.example/feed"'))
    forum = next(s for s in cfg.sources if s.id == "forum")
    assert forum.is_http
    assert not next(s for s in cfg.sources if s.id == "ycnews").is_http


# --- #18: the ledger workbook drops bidi and format controls ----------------------------------


def test_the_ledger_xlsx_strips_bidi_controls_from_scraped_text(tmp_path):
    from datetime import datetime

    from openpyxl import load_workbook

    from jobs.ledger import LedgerRow, write_xlsx

    marks = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c\x1b\r"
    row = LedgerRow(
        id=1,
        found=datetime(2026, 11, 23, 8, 12),
        first_published=None,
        title=f"张建国{marks}公车私用",
        source="云川论坛\u202e",
        url="http://news.example/a.html",
        category="干部作风",
        grade="II",
        involved="\u202e张建国",
        judgement="属实\u2067待核",
        assignee="李强",
        claim_time=None,
        disposition="",
        summary="已回应\u202d",
        closed=None,
        overdue="",
        notes="第一行\u202e\n第二行",
        instructions="王敏：\u200f核实",
    )
    out = write_xlsx([row], tmp_path / "l.xlsx", org="云川市委组织部", title="台账")
    ws = load_workbook(out).active
    cells = [c.value for c in ws[2] if isinstance(c.value, str)]
    assert "张建国公车私用" in cells and "第一行\n第二行" in cells and "云川论坛" in cells
    for value in cells:
        assert not set(value) & set(marks), repr(value)


# --- #19: script and style text is dropped from scraped titles --------------------------------

_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;张建国 公车私用</title><link>http://x.example/1</link>
<description>&lt;p&gt;正文&lt;script type="text/javascript"&gt;steal()&lt;/script&gt;青石镇&lt;/p&gt;</description></item>
<item><title><![CDATA[<script>alert(2)</script>张建国<style>p{color:red}</style> 公车私用]]></title>
<link>http://x.example/2</link></item>
<item><title>&lt;SCRIPT type="a"&gt;alert(3)&lt;/SCRIPT &gt;张建国&lt;b&gt;违纪&lt;/b&gt;</title><link>http://x.example/3</link></item>
</channel></rss>"""


def test_feed_titles_and_text_drop_script_and_style_content():
    from jobs.collect import parse_feed

    posts = parse_feed("s", _FEED.encode(), {})
    titles = [p.title for p in posts]
    # (an inline tag leaves no space: 张建国<b>违纪</b> reads 张建国违纪, as a browser shows it)
    assert titles == ["张建国 公车私用", "张建国 公车私用", "张建国违纪"], titles
    assert "steal" not in posts[0].text and "正文" in posts[0].text and "青石镇" in posts[0].text
    for p in posts:
        assert "alert" not in p.title and "color" not in p.title


def test_html_titles_drop_script_and_style_content():
    from core.config import Selectors, Source
    from jobs.collect import parse_html

    source = Source(
        id="h",
        name="H",
        kind="html",
        url="http://x.example/",
        selectors=Selectors(item="li", title="a", link="a", text="p"),
    )
    page = (
        '<ul><li><a href="/1">张建国<script>alert(1)</script>公车私用<style>a{}</style></a>'
        "<p>正文<script>steal()</script>青石镇</p></li></ul>"
    )
    (post,) = parse_html(source, page, "http://x.example/")
    assert post.title == "张建国 公车私用" and "steal" not in post.text and "青石镇" in post.text


@pytest.mark.parametrize("value", ["1e400", "inf", "99999999999"])
@pytest.mark.parametrize("key", ["min_interval", "jitter"])
def test_a_huge_politeness_interval_is_a_config_error(config_dir, key, value):
    path = config_dir / "example.toml"
    text = path.read_text(encoding="utf-8")
    assert "\n[collection]" not in text
    path.write_text(text + f"\n[collection]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"collection.{key}: 数值太大"):
        load_config(path)
