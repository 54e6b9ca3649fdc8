"""The casebook done properly: defaults without --from/--to/-o, A4 and a government-document
style, a real table of contents (TOC field), fonts named for Chinese text, clickable links,
误报 and open incidents left out unless asked, "指派给 whom" — and a DOCX whose cost grows
linearly with the number of incidents."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Mm

from bot.cli import cli
from core.grades import Grade
from core.models import Disposition, Incident, State
from jobs.casebook import Case, write_docx
from tests.conftest import EXAMPLE, HIGH, LOW, seed

TZ = ZoneInfo("Asia/Shanghai")
FALSE_ALARM = ("赵明远同志调研乡村振兴工作", "赵明远 到 青石镇 调研")


async def _history(h):
    """#1 closed (assigned by 王敏 to 李强, a lesson noted); #2 left open; #3 closed as 误报;
    #4 closed, with a hostile title and a non-web link."""
    seed(h, *HIGH, source="provnews", url="https://news.example/a?id=1&x=2")
    seed(h, *LOW, source="ycnews")
    seed(h, *FALSE_ALARM, source="ycnews")
    seed(h, "刘海燕\x01 被指插手\x0b工程", "刘海燕 插手 工程招标", source="forum", url="javascript:alert(1)")
    ids = [r["id"] for r in h.app.db.query("SELECT id FROM incidents ORDER BY id")]
    assert len(ids) == 4, ids
    await h.say("wangmin", "/assign 1 @liqiang")
    await h.say("liqiang", "/note 1 教训: 公车使用登记应当公开")
    await h.say("liqiang", "/judge 1 系公务用车，网民误读")
    await h.say("liqiang", "/close 1 已澄清 系公务用车")
    await h.say("chenbuzhang", "/signoff 1")
    await h.say("liqiang", "/close 3 误报")
    # (an allegation that a watched cadre meddled in a tender: grade II, judged and signed off)
    await h.say("liqiang", "/judge 4 举报内容经核实不实")
    await h.say("liqiang", "/close 4 不实 已核实")
    await h.say("chenbuzhang", "/signoff 4")
    path = h.app.settings.db
    h.app.close()
    return path


def _export(tmp_path, db, *extra):
    return CliRunner().invoke(
        cli,
        ["export", "casebook", "--db", str(db), "--from", "2026-11-01", "--to", "2026-11-30", *extra],
        env={"YUQING_DATA_DIR": str(tmp_path / "data")},
    )


def _heads(doc):
    """The texts of the paragraphs styled "Heading 1". Compared by the style's id, looked up
    once: python-docx's `paragraph.style` finds the styles part by scanning every relationship
    of the document (800 hyperlinks in the 400-case casebook) for every paragraph."""
    heading = doc.styles["Heading 1"].style_id
    return [p.text for p in doc.paragraphs if p._p.style == heading]


async def test_docx_layout_toc_fonts_links(make_app, tmp_path):
    db = await _history(make_app())
    out = tmp_path / "case.docx"
    res = _export(tmp_path, db, "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "已导出 2 起事件" in res.stdout and "未收录误报、未办结事件" in res.stdout
    doc = Document(str(out))
    # A4, GB/T 9704 margins
    sec = doc.sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(1) and abs(sec.page_height - Mm(297)) < Mm(1)
    assert abs(sec.top_margin - Mm(37)) < Mm(1) and abs(sec.left_margin - Mm(28)) < Mm(1)
    # only closed, non-误报 incidents by default
    heads = _heads(doc)
    assert len(heads) == 2 and heads[0].startswith("#1 [") and heads[1].startswith("#4 ")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert FALSE_ALARM[0] not in text and LOW[0] not in text
    # a real table of contents: a TOC field, pre-filled with links to bookmarks at the headings
    body = doc.element.body
    instr = " ".join(e.text for e in body.iter(qn("w:instrText")))
    assert "TOC" in instr and "\\o" in instr
    kinds = [e.get(qn("w:fldCharType")) for e in body.iter(qn("w:fldChar"))]
    assert kinds.count("begin") == kinds.count("end") == 1 and "separate" in kinds
    anchors = [h.get(qn("w:anchor")) for h in body.iter(qn("w:hyperlink")) if h.get(qn("w:anchor"))]
    marks = {b.get(qn("w:name")) for b in body.iter(qn("w:bookmarkStart"))}
    assert anchors == ["_Case1", "_Case4"] and set(anchors) <= marks
    assert doc.settings.element.find(qn("w:updateFields")) is not None
    # fonts named for Chinese text, no theme fonts
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋" and normal.get(qn("w:ascii")) == "Times New Roman"
    assert normal.get(qn("w:eastAsiaTheme")) is None
    assert doc.styles["Title"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["Heading 2"].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体"
    font_table = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob
    assert "仿宋".encode() in font_table and b"FangSong" in font_table and b"SimHei" in font_table
    # page numbers in the footer
    footer = sec.footer._element
    assert any("PAGE" in (e.text or "") for e in footer.iter(qn("w:instrText")))
    # clickable links: hyperlink relationships to the posts' addresses
    links = {r.target_ref for r in doc.part.rels.values() if r.reltype == RT.HYPERLINK}
    assert "https://news.example/a?id=1&x=2" in links
    rids = {h.get(qn("r:id")) for h in body.iter(qn("w:hyperlink")) if h.get(qn("r:id"))}
    assert rids and all(doc.part.rels[r].reltype == RT.HYPERLINK for r in rids)
    assert not any(t.startswith("javascript:") for t in links)  # not a web address: plain text
    assert heads[1].startswith("#4 ") and "刘海燕" in heads[1]
    # "指派" says to whom
    assert "王敏 指派给 李强" in text and "公车使用登记应当公开" in text
    assert "研判：系公务用车，网民误读" in text


async def test_include_flags(make_app, tmp_path):
    db = await _history(make_app())
    out = tmp_path / "all.docx"
    res = _export(tmp_path, db, "--include-open", "--include-false-positives", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "已导出 4 起事件" in res.stdout and "未收录" not in res.stdout
    assert [h.split()[0] for h in _heads(Document(str(out)))] == ["#1", "#2", "#3", "#4"]
    res = _export(tmp_path, db, "--include-false-positives", "--format", "md", "-o", str(tmp_path / "fp.md"))
    md = (tmp_path / "fp.md").read_text(encoding="utf-8")
    assert res.exit_code == 0 and '<a id="case-3">' in md and '<a id="case-2">' not in md


def test_defaults_last_year_into_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        cli,
        ["export", "casebook", "--db", str(tmp_path / "data" / "t.db")],
        env={"YUQING_DATA_DIR": str(tmp_path / "data"), "YUQING_CONFIG": str(EXAMPLE)},
    )
    assert res.exit_code == 0, res.output
    today = datetime.now(TZ).date()
    made = list(tmp_path.glob("舆情案例汇编-*.docx"))
    assert len(made) == 1, res.output
    _, first, last = made[0].stem.split("-")
    first, last = datetime.strptime(first, "%Y%m%d").date(), datetime.strptime(last, "%Y%m%d").date()
    assert last in (today, today - timedelta(days=1)) and 364 <= (last - first).days <= 366  # (midnight race)
    assert "收录" in "\n".join(p.text for p in Document(str(made[0])).paragraphs)


# ---------------------------------------------------------------------------- linear cost


def _cases(n: int) -> list[Case]:
    """n closed incidents, each with three posts (two linked) and four timeline entries."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(1, n + 1):
        at = t0 + timedelta(hours=i)
        inc = Incident(
            id=i,
            title=f"事件{i} 网友反映某局干部作风问题",
            url=f"https://bbs.example/t-{i}.html",
            source_id="forum",
            source_name="云川论坛",
            team="city",
            category="干部作风",
            grade=Grade.III,
            score=0.5,
            reasons=("命中：干部作风",),
            matched={},
            state=State.CLOSED,
            assignee="liqiang",
            escalation_level=0,
            disposition=Disposition.CLARIFIED,
            summary="已核实",
            post_count=3,
            source_count=2,
            created_at=at,
            updated_at=at,
            claimed_at=at,
            escalated_at=None,
            closed_at=at,
            version=3,
        )
        posts = [
            {
                "id": 3 * i + k,
                "title": f"帖文{i}-{k}",
                "url": f"https://bbs.example/t-{i}-{k}.html" if k < 2 else None,
                "source_id": "forum",
                "source_name": "云川论坛",
                "published_at": None,
                "fetched_at": at.isoformat(),
            }
            for k in range(3)
        ]
        timeline = [
            (at, "系统", "发现", ""),
            (at, "王敏", "指派给 李强", ""),
            (at, "李强", "备注", "已联系"),
            (at, "李强", "关闭", "已澄清（已核实）"),
        ]
        out.append(Case(inc, posts, timeline, ["登记应当公开"]))
    return out


def _work(monkeypatch, tmp_path, n: int) -> int:
    """Children scanned by python-docx's searches (the quadratic part before) and relationships
    scanned for new links, while writing a casebook of n incidents: a deterministic cost."""
    from docx.opc.rel import Relationships
    from docx.oxml.xmlchemy import BaseOxmlElement

    cost = [0]
    find, matching = BaseOxmlElement.first_child_found_in, Relationships._get_matching

    def counted_find(self, *tags):
        cost[0] += len(self)
        return find(self, *tags)

    def counted_matching(self, *a, **kw):
        cost[0] += len(self)
        return matching(self, *a, **kw)

    with monkeypatch.context() as m:
        m.setattr(BaseOxmlElement, "first_child_found_in", counted_find)
        m.setattr(Relationships, "_get_matching", counted_matching)
        write_docx(
            _cases(n),
            tmp_path / f"c{n}.docx",
            org="云川市委组织部",
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            tz=TZ,
        )
    return cost[0]


def test_docx_cost_grows_linearly(monkeypatch, tmp_path):
    small, large = _work(monkeypatch, tmp_path, 200), _work(monkeypatch, tmp_path, 400)
    # twice the incidents, at most about twice the work (it was four times: quadratic)
    assert large <= 2.2 * small + 200, (small, large)
    doc = Document(str(tmp_path / "c400.docx"))
    assert len(_heads(doc)) == 400
    assert sum(1 for r in doc.part.rels.values() if r.reltype == RT.HYPERLINK) == 400 * 2


def test_text_xml_cannot_hold_is_dropped_not_fatal(tmp_path):
    """Scraped titles with control characters or a lone surrogate: the rest of the text is kept."""
    from dataclasses import replace

    case = _cases(1)[0]
    bad = replace(
        case,
        incident=replace(case.incident, title="刘海燕\x01被指\x0b插手\ud800工程"),
        posts=[{**case.posts[0], "title": "帖\x02文", "url": "https://x.example/a b"}],
    )
    write_docx([bad], tmp_path / "h.docx", org="云川", start=date(2026, 1, 1), end=date(2026, 1, 2), tz=TZ)
    doc = Document(str(tmp_path / "h.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "刘海燕被指插手工程" in _heads(doc)[0] and "帖文" in text
    assert not [r for r in doc.part.rels.values() if r.reltype == RT.HYPERLINK]  # "a b" is no address


def test_progress_reports_every_case(tmp_path):
    seen = []

    def progress(items):
        for it in items:
            seen.append(it.incident.id)
            yield it

    write_docx(
        _cases(5),
        tmp_path / "p.docx",
        org="云川",
        start=date(2026, 1, 1),
        end=date(2026, 1, 2),
        tz=TZ,
        progress=progress,
    )
    assert seen == [1, 2, 3, 4, 5]


async def test_unwritable_output_is_a_clear_message(make_app, tmp_path):
    db = await _history(make_app())
    (tmp_path / "plain-file").write_text("x")
    for kind in ("casebook", "ledger"):
        res = CliRunner().invoke(
            cli,
            [
                "export",
                kind,
                "--db",
                str(db),
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "-o",
                str(tmp_path / "plain-file" / f"out.{'docx' if kind == 'casebook' else 'xlsx'}"),
            ],
            env={"YUQING_DATA_DIR": str(tmp_path / "data")},
        )
        assert res.exit_code == 1 and "无法写入" in res.output and "Traceback" not in res.output, res.output
