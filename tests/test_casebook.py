"""`yuqing export casebook`: a DOCX (opened and checked) or Markdown with a contents page and,
per incident, story, sources, grade and reasons, timeline, disposition and lessons."""

from __future__ import annotations

from click.testing import CliRunner
from docx import Document

from bot.cli import cli
from tests.conftest import HIGH, LOW, seed


async def _history(make_app):
    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    seed(h, *LOW, source="ycnews")
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/note 1 教训: 公车使用登记应当公开")
    await h.say("liqiang", "/judge 1 系公务用车，网民误读")
    await h.say("liqiang", "/close 1 已澄清 系公务用车")
    await h.say("chenbuzhang", "/signoff 1")
    path = h.app.settings.db
    h.app.close()
    return path


def _export(tmp_path, db, *extra):
    return CliRunner().invoke(
        cli,
        ["export", "casebook", "--db", str(db), "--from", "2026-11-01", "--to", "2026-11-30", *extra],
        env={"YUQING_DATA_DIR": str(tmp_path / "data")},
    )


async def test_docx_has_contents_and_a_section_per_incident(make_app, tmp_path):
    db = await _history(make_app)
    out = tmp_path / "case.docx"
    res = _export(tmp_path, db, "--include-open", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "已导出 2 起事件" in res.stdout
    doc = Document(str(out))
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == ("Title", "云川市委组织部舆情案例汇编（警示教材）")
    assert any(p.style.name == "TOC Heading" and p.text.replace(" ", "") == "目录" for p in doc.paragraphs)
    incident_heads = [t for s, t in headings if s == "Heading 1" and t.startswith("#")]
    assert len(incident_heads) == 2 and incident_heads[0].startswith("#1 [I 特别重大]")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "处置结果：已澄清（系公务用车）" in text and "公车使用登记应当公开" in text
    assert "省报融媒（样例）" in text and "云川论坛（样例）" in text and "李强 认领" in text


async def test_markdown_grade_filter_and_bad_input(make_app, tmp_path):
    db = await _history(make_app)
    out = tmp_path / "case.md"
    res = _export(tmp_path, db, "--format", "md", "--grade", "II", "-o", str(out))
    assert res.exit_code == 0, res.output
    md = out.read_text(encoding="utf-8")
    assert md.count('<a id="case-') == 1 and "## 目录" in md and "### 经验教训" in md
    bad = _export(tmp_path, db, "--grade", "V", "-o", str(out))
    assert bad.exit_code == 2 and "未知等级" in bad.output
    empty = CliRunner().invoke(
        cli,
        ["export", "casebook", "--db", str(db), "--from", "2026-12-01", "--to", "2026-11-01", "-o", str(out)],
        env={"YUQING_DATA_DIR": str(tmp_path / "data")},
    )
    assert empty.exit_code == 2 and "结束日期早于开始日期" in empty.output
