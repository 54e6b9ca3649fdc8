"""日报 / 周报 / 月报 / 专报 as Word documents (issue 14.1): opened with python-docx and their
frame and content checked; `/report week docx` in chat, `yuqing report --format docx` on the
command line, the scheduled report with its file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn

from bot.cli import cli
from handlers import Request
from jobs.report_docs import TITLE_FONT
from tests.conftest import HIGH, LOW, seed

WORK = ("市委组织部发布干部任前公示", "根据干部任用条例，现将拟任职人选予以公示。")


async def _history(h, clock):
    """#1 grade I–II, claimed, assessed, closed; #2 low grade; more incidents last week."""
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    seed(h, *LOW, source="ycnews")
    clock.advance(minutes=10)
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/judge 1 系公务用车，网民误读，热度可控")
    clock.advance(hours=1)
    await h.say("liqiang", "/close 1 已澄清 系公务用车")
    await h.say("wangmin", "/signoff 1")  # grade I–II: a staff closing waits for 销号


async def _ask(h, text, who="liqiang"):
    return await h.app.handle(Request(platform="console", chat="监测群", user_id=who, text=text))


def _texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def _frame(doc, kind: str, number: int, year: int, org: str):
    """A4, the 报头 (org, kind, 期号, 编发), fonts named, page numbers, the 版记."""
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    texts = _texts(doc)
    assert texts[0] == org and texts[1] == f"网络舆情{kind}"
    assert f"{year}年第{number}期" in texts
    assert any(t.startswith("编发：") for t in texts)
    # the 报头 in red 小标宋, the body in 仿宋 and the headings in 黑体, named for East Asian text
    head_run = doc.paragraphs[1].runs[0]._r
    assert head_run.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == TITLE_FONT
    assert head_run.rPr.find(qn("w:color")).get(qn("w:val")) == "FF0000"
    assert doc.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert doc.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["Title"].element.rPr.rFonts.get(qn("w:eastAsia")) == TITLE_FONT
    table = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob.decode()
    assert TITLE_FONT in table and "黑体" in table and "FangSong" in table
    # page numbers: a PAGE field in the footer
    assert "PAGE" in "".join(t.text or "" for t in sec.footer._element.iter(qn("w:instrText")))
    # the 版记 at the foot
    assert any(t.startswith("报送：部领导") for t in texts[-4:])
    assert any(t.startswith("抄送：本部各科室") for t in texts[-4:])
    assert texts[-1].endswith("印发")
    return texts


async def test_week_docx_in_chat(make_app, clock):
    h = make_app()
    await _history(h, clock)
    org = h.app.config.organization.name
    # last week: one incident, so the period-on-period sentence has something to compare
    replies = await _ask(h, "/report week docx")
    assert len(replies) == 1 and replies[0].document and replies[0].document.endswith(".docx")
    assert "周报" in replies[0].text and "第1期" in replies[0].text
    doc = Document(replies[0].document)
    year = clock.now.year
    texts = _frame(doc, "周报", 1, year, org)
    for heading in ("一、总体情况", "二、重点舆情", "三、处置情况", "四、下步建议"):
        assert heading in texts
    assert doc.paragraphs[texts.index("一、总体情况")].style.name == "Heading 1"
    overall = texts[texts.index("一、总体情况") + 1]
    assert f"共监测发现网络舆情事件 {h.count('incidents')} 起" in overall and "较上期（0 起）增加" in overall
    # every grade I–III incident of the period, with its 研判 and status
    serious = [r[0] for r in h.app.db.execute("SELECT id FROM incidents WHERE grade IN ('I','II','III')")]
    assert serious
    for iid in serious:
        assert any(t.startswith("（") and f"#{iid} " in t for t in texts), iid
    body = "\n".join(texts)
    assert "研判：系公务用车，网民误读，热度可控" in body
    assert "当前状态：已办结（已澄清：系公务用车）" in body
    assert "来源与传播：首发于" in body
    # the chart is an inline picture
    assert len(doc.inline_shapes) == 1
    # the next weekly report is number 2; a daily report starts its own count
    again = await _ask(h, "/report week docx")
    assert "第2期" in again[0].text
    assert "第2期" in _texts(Document(again[0].document))[2]
    daily = await _ask(h, "/report today docx")
    assert "日报" in daily[0].text and "第1期" in daily[0].text
    rows = h.app.db.execute("SELECT kind, year, number FROM report_issues").fetchall()
    assert sorted(tuple(r) for r in rows) == sorted([("周报", year, 1), ("周报", year, 2), ("日报", year, 1)])


async def test_period_on_period_and_new_year(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")  # last week
    clock.advance(days=7)
    seed(h, *LOW, source="ycnews")
    seed(h, *WORK, source="ycnews")
    replies = await _ask(h, "/report week docx")
    texts = _texts(Document(replies[0].document))
    overall = texts[texts.index("一、总体情况") + 1]
    n = h.count("incidents") - 1
    assert f"共监测发现网络舆情事件 {n} 起，" in overall and "上期（1 起）" in overall, overall
    # III and above: none this week against one last week
    assert "III 级及以上 0 起，较上期（1 起）减少 1 起，下降 100%" in overall
    # a new year starts the count again
    clock.now = datetime(clock.now.year + 1, 1, 5, 2, 0, tzinfo=clock.now.tzinfo)
    nxt = await _ask(h, "/report week docx")
    assert f"{clock.now.year}年第1期" in nxt[0].text


async def test_special_report_docx(make_app, clock):
    h = make_app()
    await _history(h, clock)
    replies = await _ask(h, "/report 1 docx")
    assert replies[0].document
    doc = Document(replies[0].document)
    texts = _frame(doc, "专报", 1, clock.now.year, h.app.config.organization.name)
    for heading in ("一、基本情况", "二、传播情况", "三、研判", "四、处置情况", "五、下步建议"):
        assert heading in texts
    assert texts[texts.index("三、研判") + 1] == "系公务用车，网民误读，热度可控"
    # the spread lists the posts by publication time, with their sources
    spread = texts[texts.index("二、传播情况") + 1 : texts.index("三、研判")]
    assert "2 篇帖文" in spread[0]
    times = [t.split(" ", 2)[:2] for t in spread[1:]]
    assert times == sorted(times) and len(times) == 2
    # a 专报 has its own count
    assert "专报（2026年第2期）" in (await _ask(h, "/report 1 docx"))[0].text
    rows = h.app.db.execute("SELECT kind, number FROM report_issues").fetchall()
    assert [tuple(r) for r in rows] == [("专报", 1), ("专报", 2)]


async def test_spread_by_publication_time(make_app, clock):
    """A post collected later but published earlier comes first in the 专报's 传播情况."""
    from core.models import Post

    h = make_app()
    seed(h, *HIGH, source="provnews")
    clock.advance(hours=2)
    early = Post(
        source_id="forum",
        item_key="test:early",
        title="转：" + HIGH[0],
        text=HIGH[1],
        url="https://bbs.example/early.html",
        published_at=clock.now - timedelta(hours=5),
    )
    assert h.app.pipeline.ingest(early, h.app.config.source("forum")).incident_id == 1
    doc = Document((await _ask(h, "/report 1 docx"))[0].document)
    texts = _texts(doc)
    spread = texts[texts.index("二、传播情况") + 1 : texts.index("三、研判")]
    assert "bbs.example" not in spread[1] and spread[1].endswith("转：" + HIGH[0])
    assert "首发于" in spread[0]


async def test_bad_format_and_usage(make_app, clock):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    for line in ("/report week pdf", "/report week docx extra", "/report 1 xlsx"):
        out = await h.say("liqiang", line)
        assert "用法" in out and "docx" in out, (line, out)
    assert "未知的报告格式“pdf”" in await h.say("liqiang", "/report week pdf")
    assert h.count("report_issues") == 0
    out = await h.say("liqiang", "/report 99 docx")
    assert "#99" in out or "99" in out
    assert h.count("report_issues") == 0  # no number taken for nothing


async def test_cli_writes_docx(make_app, clock, tmp_path):
    h = make_app()
    await _history(h, clock)
    db = h.app.settings.db
    h.app.close()
    out = tmp_path / "周报.docx"
    env = {"YUQING_DATA_DIR": str(tmp_path / "data")}
    res = CliRunner().invoke(
        cli,
        ["report", "--db", str(db), "--period", "2026-11-23..2026-11-29", "--format", "docx", "-o", str(out)],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert "第1期" in res.output and out.exists()
    doc = Document(str(out))
    texts = _texts(doc)
    assert texts[1] == "网络舆情周报" and "二、重点舆情" in texts
    assert len(doc.inline_shapes) == 1
    res = CliRunner().invoke(
        cli,
        ["report", "--db", str(db), "--period", "1", "--format", "docx", "-o", str(tmp_path / "专报.docx")],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert "专报" in res.output and (tmp_path / "专报.docx").exists()
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--period", "week", "--format", "pdf"], env=env)
    assert res.exit_code != 0


async def test_scheduled_report_carries_the_document(make_app, clock):
    h = make_app()
    await _history(h, clock)
    clock.advance(days=7)
    await h.app._report_job("lastweek")
    row = h.app.db.execute("SELECT payload FROM outbox WHERE kind = 'text' ORDER BY id DESC LIMIT 1").fetchone()
    import json

    payload = json.loads(row[0])
    assert payload["document"].endswith(".docx") and Path(payload["document"]).exists()
    assert "周报" in payload["text"] and "第1期" in payload["text"]
    texts = _texts(Document(payload["document"]))
    assert any(t.startswith("（一）#1 ") for t in texts)
    out = await h.deliver()  # the console names the file after the text
    assert f"📎 文件：{payload['document']}" in out


async def test_scheduled_report_text_only_switch(make_app, clock, config_dir):
    from bot.config import load_config

    path = config_dir / "example.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('# scheduled_report = "text+file"', 'scheduled_report = "text"'),
        encoding="utf-8",
    )
    h = make_app(load_config(path))
    await _history(h, clock)
    await h.app._report_job("yesterday")
    import json

    rows = [json.loads(r[0]) for r in h.app.db.execute("SELECT payload FROM outbox WHERE kind = 'text'")]
    assert rows and all("document" not in p for p in rows)
    assert h.count("report_issues") == 0


async def test_foot_and_unit_from_config(make_app, clock, config_dir):
    from bot.config import load_config

    path = config_dir / "example.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('# report_unit = "云川市委组织部网络舆情监测室"', 'report_unit = "网络舆情监测室"')
    text = text.replace('# report_to = ["部领导"]', 'report_to = ["市委常委、组织部部长", "分管副部长"]')
    text = text.replace('# report_cc = ["本部各科室"]', 'report_cc = []')
    path.write_text(text, encoding="utf-8")
    h = make_app(load_config(path))
    seed(h, *HIGH, source="provnews")
    texts = _texts(Document((await _ask(h, "/report today docx"))[0].document))
    assert "编发：网络舆情监测室" in texts[3]
    assert texts[-2] == "报送：市委常委、组织部部长，分管副部长。"
    assert not any(t.startswith("抄送") for t in texts)
    assert texts[-1].startswith("网络舆情监测室") and texts[-1].endswith("印发")


def _doc_api():
    from tests.fake_telegram import FakeBotAPI

    return FakeBotAPI()


async def test_telegram_report_docx_and_scheduled_file(config_dir, tmp_path):
    """`/report week docx` typed in the Telegram group comes back as a document; the scheduled
    周报 goes out as its text and then the file."""
    import io

    from tests.test_ledger import _H
    from tests.test_telegram import GROUP, TG, telegram_config

    api = _doc_api()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(collect=False)
    try:
        seed(_H(t.app), *HIGH, source="provnews")
        t.say("wangmin", "/report week docx")
        await t.until(lambda: api.documents)
        doc = api.documents[0]
        assert doc["chat"] == GROUP and isinstance(doc["bytes"], bytes)
        assert _texts(Document(io.BytesIO(doc["bytes"])))[1] == "网络舆情周报"
        await t.app._report_job("week")
        await t.until(lambda: len(api.documents) >= 2)
        texts = _texts(Document(io.BytesIO(api.documents[-1]["bytes"])))
        assert "2026年第2期" in texts or any("第2期" in x for x in texts)
        assert any("第2期" in x and "周报" in x for x in t.texts())
    finally:
        await t.stop()
        api.close()
