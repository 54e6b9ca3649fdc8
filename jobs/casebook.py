"""The casebook (警示教材): past incidents compiled into one document — a table of contents,
then per incident the story, its sources (linked), grade and reasons, the timeline of actions,
the disposition and the lessons noted (`/note N 教训: …`). Markdown or DOCX.

By default only closed incidents that were not false positives are compiled (a casebook
teaches from finished cases); `include_open` / `include_false_positives` add the others.

The DOCX is laid out like a government document (GB/T 9704 proportions where practical): A4,
margins 37/35/28/26 mm, the title in 黑体, headings in 黑体 and 楷体, the body in 仿宋 三号 —
each named for East Asian text (`w:eastAsia`) and listed in the font table with its English
name, the GB2312 character set and its family, so a machine without the font substitutes a
Chinese one of the same kind — page numbers in the footer, a real Word table of contents (a
TOC field, pre-filled with links to every case so it works before Word updates it) and
clickable links (hyperlink relationships).

The document body is built with lxml directly, appending to a cached body element:
python-docx's `add_paragraph` searches the body for its section properties on every call
(quadratic in the number of paragraphs), and its relationship helpers scan every
relationship for every new link. Both are avoided, so the time grows linearly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import parse_iso
from core.config import Config
from core.grades import Grade
from core.grading import reason_words
from core.models import Disposition, Incident, State
from core.render import TimelineEntry, by_publication, inert, safe_url, timeline, timeline_line
from jobs.ledger import judgement_of
from storage import incidents as store

if TYPE_CHECKING:
    from docx.document import Document

__all__ = ["FONTS", "Case", "apply_document_style", "collect_cases", "lesson_of", "write_docx", "write_markdown"]

LESSON_PREFIXES = ("教训", "经验", "lesson")

# role -> (East Asian font, Latin font, size in points). Names that exist on every Chinese
# Windows; the font table adds their English names and kind for other machines.
FONTS = {
    "title": ("黑体", "Times New Roman", 22),
    "h1": ("黑体", "Times New Roman", 16),
    "h2": ("楷体", "Times New Roman", 16),
    "body": ("仿宋", "Times New Roman", 16),
}
# East Asian font -> (English name, panose, family): for the font table
_FONT_TABLE = {
    "黑体": ("SimHei", "02010609060101010101", "modern"),
    "仿宋": ("FangSong", "02010609060101010101", "modern"),
    "楷体": ("KaiTi", "02010609060101010101", "modern"),
}

Progress = Callable[[Iterable], Iterable]


@dataclass(frozen=True)
class Case:
    incident: Incident
    posts: list[dict]
    timeline: list[TimelineEntry]  # when, who, what, detail (core.render.timeline)
    lessons: list[str]
    judgement: str = ""  # the latest /judge (研判); else the last note starting with 研判
    instructions: tuple[str, ...] = ()  # the leaders' 批示 (/instruct): "王书记（11-26 09:30）：…"

    def __post_init__(self) -> None:  # entries given as (when, who, what, detail) tuples
        self.timeline[:] = [e if isinstance(e, TimelineEntry) else TimelineEntry(*e, action="") for e in self.timeline]


def _included(inc: Incident, include_open: bool, include_false_positives: bool) -> bool:
    if inc.state is not State.CLOSED and not include_open:
        return False
    return not (inc.disposition is Disposition.FALSE_POSITIVE and not include_false_positives)


def lesson_of(text: str) -> str | None:
    """'教训: 10:30 前发布' / '经验：要快：5 小时内' -> the text after the marker and its one
    separator, colons inside it kept; None for a note that is not a lesson."""
    text = (text or "").strip()
    if not text.lower().startswith(LESSON_PREFIXES):
        return None
    marker = next(p for p in LESSON_PREFIXES if text.lower().startswith(p))
    return re.sub(r"^\s*[:：,，]?", "", text[len(marker) :], count=1).strip()


def collect_cases(
    db: Database,
    config: Config,
    start: date,
    end: date,
    tz: ZoneInfo,
    grade: Grade | None = None,
    progress: Progress = lambda it: it,
    *,
    include_open: bool = False,
    include_false_positives: bool = False,
) -> list[Case]:
    """Incidents found between `start` and `end` (inclusive, local dates), at `grade` or above;
    closed and not false positives unless asked."""
    lo = datetime(start.year, start.month, start.day, tzinfo=tz)
    hi = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    names = {p.id: p.name for p in config.people}
    sources = {s.id: s.name for s in config.sources}
    incidents = [
        i
        for i in store.incidents_between(db, lo, hi)
        if (grade is None or i.grade.at_least(grade)) and _included(i, include_open, include_false_positives)
    ]
    cases = []
    for inc in progress(incidents):
        lessons, judgement, legacy, instructions = [], "", "", []
        steps = timeline(store.events_for(db, inc.id), names, sources=sources)
        for e in steps:
            if e.action == "instruct":
                instructions.append(f"{e.who}（{e.at.astimezone(tz):%m-%d %H:%M}）：{e.detail}")
            if e.action == "note" and (lesson := lesson_of(e.detail)) is not None:
                lessons.append(lesson)
            if e.action == "judge":
                judgement = e.detail.strip()
            elif e.action == "note" and (found := judgement_of(e.detail)) is not None:
                legacy = found
        cases.append(
            Case(
                inc,
                by_publication(store.posts_for(db, inc.id)),
                steps,
                lessons,
                judgement or legacy,
                tuple(instructions),
            )
        )
    return cases


def _title(case: Case) -> str:
    i = case.incident
    return f"#{i.id} [{i.grade.caption}] {i.title}"


def _post_time(p: dict, tz: ZoneInfo) -> str:
    return f"{parse_iso(p['published_at'] or p['fetched_at']).astimezone(tz):%m-%d %H:%M}"


def _facts(c: Case, tz: ZoneInfo) -> list[str]:
    i = c.incident
    return [
        f"类别：{i.category or '未分类'}；发现时间：{i.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
        f"定级理由：{reason_words(i.reasons) or '—'}",
        *([f"研判：{c.judgement}"] if c.judgement else []),
        *([f"领导批示：{'；'.join(c.instructions)}"] if c.instructions else []),
        f"处置结果：{i.disposition.value if i.disposition else '尚未办结'}" + (f"（{i.summary}）" if i.summary else ""),
    ]


def _scope(n: int, start: date, end: date) -> str:
    return f"收录 {start} 至 {end} 的事件 {n} 起。"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>])")


_MD_BLOCK = re.compile(r"^(\s*)(?:([#>+\-=|~])|(\d+)([.)]))")  # what starts a heading, quote, list…


def _md(text: str) -> str:
    """Scraped or typed text as markdown text: its brackets, stars and angle brackets are not
    markup, and a text of several lines stays inside its list item (each line after a hard
    break, indented, a heading's # or a list's - or 1. at its start escaped; blank lines dropped)."""
    lines = [x for x in _MD_SPECIAL.sub(r"\\\1", text or "").splitlines() if x.strip()]
    lines[1:] = [
        _MD_BLOCK.sub(lambda m: m[1] + (f"\\{m[2]}" if m[2] else f"{m[3]}\\{m[4]}"), x.strip()) for x in lines[1:]
    ]
    return "\\\n  ".join(lines)


def _md_url(url: str | None) -> str | None:
    """An http(s) link fit for markdown's (…), or None."""
    safe = safe_url(url)
    return safe.replace(" ", "%20").replace(")", "%29").replace("(", "%28") if safe else None


def write_markdown(
    cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo, progress: Progress = lambda it: it
) -> None:
    out = [f"# {org}舆情案例汇编（警示教材）", "", _scope(len(cases), start, end), "", "## 目录", ""]
    out += [f"{n}. [{_md(_title(c))}](#case-{c.incident.id})" for n, c in enumerate(cases, 1)]
    for c in progress(cases):
        i = c.incident
        out += ["", f'<a id="case-{i.id}"></a>', f"## {_md(_title(c))}", ""]
        out += [f"- {_md(x)}" for x in _facts(c, tz)]
        out += ["", "### 事件经过", ""]
        out += [
            f"- {_post_time(p, tz)} {p['source_name'] or p['source_id']}：[{_md(p['title'])}]({_md_url(p['url'])})"
            if _md_url(p["url"])
            else f"- {_md(p['title'])}"
            for p in c.posts
        ]
        out += ["", "### 处置过程", ""]
        out += ["- " + timeline_line(replace(e, detail=_md(e.detail)), tz) for e in c.timeline]
        out += ["", "### 经验教训", ""]
        out += [f"- {_md(x)}" for x in c.lessons] or ["- （未记录）"]
    path.write_text(inert("\n".join(out)) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- DOCX

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SAFE_LINK = re.compile(r"^https?://[^\s\"<>\\^`{|}]+$", re.I)
# CT_Settings elements that come after w:updateFields (schema order matters to Word)
_AFTER_UPDATE_FIELDS = (
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)


def _clean(text) -> str:
    """Scraped text as XML allows it (no control characters or lone surrogates) and shown
    inert (no bidi overrides: core.render.inert)."""
    return _XML_BAD.sub("", inert(str(text or "")))


class _Body:
    """Appends paragraphs, runs, links and fields to a document body in O(1) each.

    The section properties (`w:sectPr`, which must stay last) are taken out while building
    and put back by `finish`. Hyperlink relationships get ids of their own (`rIdL1`, …),
    one per distinct address."""

    def __init__(self, doc):
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.oxml.ns import qn
        from lxml import etree

        self.qn, self.sub, self.rt_link = qn, etree.SubElement, RT.HYPERLINK
        self.body = doc.element.body
        self.sect = self.body.sectPr
        if self.sect is not None:
            self.body.remove(self.sect)
        self.rels = doc.part.rels
        self.links: dict[str, str] = {}
        self.bookmarks = 0
        self.T, self.R, self.P = qn("w:t"), qn("w:r"), qn("w:p")
        self.VAL, self.SPACE = qn("w:val"), "{http://www.w3.org/XML/1998/namespace}space"

    def finish(self) -> None:
        if self.sect is not None:
            self.body.append(self.sect)
            self.sect = None

    def para(self, style: str | None = None, *, page_break: bool = False, center: bool = False):
        p = self.sub(self.body, self.P)
        if style or page_break or center:
            ppr = self.sub(p, self.qn("w:pPr"))
            if style:
                self.sub(ppr, self.qn("w:pStyle")).set(self.VAL, style)
            if page_break:
                self.sub(ppr, self.qn("w:pageBreakBefore"))
            if center:
                self.sub(ppr, self.qn("w:jc")).set(self.VAL, "center")
        return p

    def run(self, parent, text: str, *, link: bool = False):
        r = self.sub(parent, self.R)
        if link:
            rpr = self.sub(r, self.qn("w:rPr"))
            self.sub(rpr, self.qn("w:color")).set(self.VAL, "0563C1")
            self.sub(rpr, self.qn("w:u")).set(self.VAL, "single")
        t = self.sub(r, self.T)
        t.text = _clean(text)
        t.set(self.SPACE, "preserve")
        return r

    def text(self, text: str, style: str | None = None, **kw):
        p = self.para(style, **kw)
        self.run(p, text)
        return p

    def link(self, p, url: str, text: str) -> None:
        """A clickable link to `url`; plain text when the address is not a web address."""
        if not (url and len(url) <= 2000 and _SAFE_LINK.match(url)):
            self.run(p, text)
            return
        rid = self.links.get(url)
        if rid is None:
            rid = self.links[url] = f"rIdL{len(self.links) + 1}"
            self.rels.add_relationship(self.rt_link, url, rid, is_external=True)
        h = self.sub(p, self.qn("w:hyperlink"))
        h.set(self.qn("r:id"), rid)
        self.run(h, text, link=True)

    def anchor(self, p, name: str, text: str) -> None:
        """A link to a bookmark inside the document."""
        h = self.sub(p, self.qn("w:hyperlink"))
        h.set(self.qn("w:anchor"), name)
        h.set(self.qn("w:history"), "1")
        self.run(h, text, link=False)

    def bookmark(self, p, name: str, text: str) -> None:
        """`text` in `p`, marked as the bookmark `name`."""
        self.bookmarks += 1
        start = self.sub(p, self.qn("w:bookmarkStart"))
        start.set(self.qn("w:id"), str(self.bookmarks))
        start.set(self.qn("w:name"), name)
        self.run(p, text)
        self.sub(p, self.qn("w:bookmarkEnd")).set(self.qn("w:id"), str(self.bookmarks))

    def field(self, p, kind: str, instruction: str) -> None:
        """One part of a complex field: `begin` (with its instruction), `separate` or `end`."""
        r = self.sub(p, self.R)
        self.sub(r, self.qn("w:fldChar")).set(self.qn("w:fldCharType"), kind)
        if kind == "begin":
            r = self.sub(p, self.R)
            it = self.sub(r, self.qn("w:instrText"))
            it.text = instruction
            it.set(self.SPACE, "preserve")


def _set_fonts(style, role: str, *, bold: bool = False) -> None:
    """The style's fonts by name (no theme fonts), size and colour (black)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    east, latin, size = FONTS[role]
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    color = style.element.rPr.find(qn("w:color"))
    for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
        color.attrib.pop(qn(attr), None)
    rfonts = style.element.rPr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:cs", latin), ("w:eastAsia", east)):
        rfonts.set(qn(attr), name)


def _font_table(doc) -> None:
    """List the Chinese fonts with their English names, GB2312 charset and family."""
    from lxml import etree

    part = next((p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None)
    if part is None:
        return
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    root = etree.fromstring(part.blob)
    for name, (alt, panose, family) in _FONT_TABLE.items():
        f = etree.SubElement(root, w + "font")
        f.set(w + "name", name)
        for tag, val in (
            ("altName", alt),
            ("panose1", panose),
            ("charset", "86"),
            ("family", family),
            ("pitch", "variable"),
        ):
            etree.SubElement(f, w + tag).set(w + "val", val)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def apply_document_style(doc: Document) -> None:
    """A4, GB/T 9704 margins, government-document styles, page numbers, fields updated on open."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    sec.footer_distance = Mm(20)
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:  # no theme fonts underneath ours
        for rfonts in defaults.iter(qn("w:rFonts")):
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                rfonts.attrib.pop(qn(attr), None)
    normal = doc.styles["Normal"]
    _set_fonts(normal, "body")
    pf = normal.paragraph_format
    pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
    pf.space_before, pf.space_after = Pt(0), Pt(0)
    title = doc.styles["Title"]
    _set_fonts(title, "title")
    ppr = title.element.pPr
    if ppr is not None and ppr.find(qn("w:pBdr")) is not None:
        ppr.remove(ppr.find(qn("w:pBdr")))
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing_rule, title.paragraph_format.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(36)
    title.paragraph_format.space_after = Pt(28)
    for name, role in (("Heading 1", "h1"), ("Heading 2", "h2"), ("TOC Heading", "h1")):
        st = doc.styles[name]
        _set_fonts(st, role)
        st.paragraph_format.space_before, st.paragraph_format.space_after = Pt(14), Pt(7)
        st.paragraph_format.line_spacing_rule, st.paragraph_format.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
    doc.styles["TOC Heading"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font_table(doc)
    # page number in the footer: — 1 —
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("— ")
    for kind, instr in (("begin", " PAGE "), ("separate", None), ("end", None)):
        r = fp.add_run()
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), kind)
        r._r.append(fc)
        if instr:
            r2 = fp.add_run()
            it = OxmlElement("w:instrText")
            it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            it.text = instr
            r2._r.append(it)
        if kind == "separate":
            fp.add_run("1")
    fp.add_run(" —")
    # ask Word to update the contents (page numbers) when the file is opened
    settings = doc.settings.element
    upd = OxmlElement("w:updateFields")
    upd.set(qn("w:val"), "true")
    after = next((c for c in settings if c.tag in {qn("w:" + t) for t in _AFTER_UPDATE_FIELDS}), None)
    if after is not None:
        after.addprevious(upd)
    else:
        settings.append(upd)


def write_docx(
    cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo, progress: Progress = lambda it: it
) -> None:
    from docx import Document

    doc = Document()
    apply_document_style(doc)
    doc.core_properties.title = f"{org}舆情案例汇编（警示教材）"
    b = _Body(doc)
    b.text(f"{org}舆情案例汇编（警示教材）", "Title")
    b.text(_scope(len(cases), start, end), center=True)
    # the table of contents: a TOC field over the case headings, pre-filled with links to them
    b.text("目  录", "TOCHeading", page_break=True)
    p = b.para()
    b.field(p, "begin", ' TOC \\o "1-1" \\h \\z \\u ')
    b.field(p, "separate", "")
    for c in cases:
        b.anchor(b.para(), f"_Case{c.incident.id}", _title(c))
    b.field(b.para(), "end", "")
    for c in progress(cases):
        i = c.incident
        b.bookmark(b.para("Heading1", page_break=True), f"_Case{i.id}", _title(c))
        for line in _facts(c, tz):
            b.text(line)
        b.text("事件经过", "Heading2")
        for post in c.posts:
            p = b.para("ListBullet")
            b.run(p, f"{_post_time(post, tz)} {post['source_name'] or post['source_id']}：")
            b.link(p, post["url"], post["title"] or post["url"] or "")
        b.text("处置过程", "Heading2")
        for e in c.timeline:
            b.text(timeline_line(e, tz), "ListBullet")
        b.text("经验教训", "Heading2")
        for x in c.lessons or ["（未记录）"]:
            b.text(x, "ListBullet")
    b.finish()
    doc.save(str(path))
