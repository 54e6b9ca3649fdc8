"""The casebook (警示教材): past incidents compiled into one document — a contents page, then
per incident the story, its sources, grade and reasons, the timeline of actions, the
disposition and the lessons noted (`/note N 教训: …`). Markdown or DOCX (python-docx)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import from_iso
from core.grades import Grade
from core.models import Incident
from core.render import ACTION_NAMES, inert, safe_url
from storage import incidents as store

__all__ = ["Case", "collect_cases", "write_markdown", "write_docx"]

LESSON_PREFIXES = ("教训", "经验", "lesson")


@dataclass(frozen=True)
class Case:
    incident: Incident
    posts: list[dict]
    timeline: list[tuple[datetime, str, str, str]]   # when, who, what, detail
    lessons: list[str]


def collect_cases(db: Database, config, start: date, end: date, tz: ZoneInfo, grade: Grade | None = None,
                  progress: Callable[[Iterable], Iterable] = lambda it: it) -> list[Case]:
    """Incidents found between `start` and `end` (inclusive, local dates), at `grade` or above."""
    lo = datetime(start.year, start.month, start.day, tzinfo=tz)
    hi = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    names = {p.id: p.name for p in config.people}
    incidents = [i for i in store.incidents_between(db, lo, hi) if grade is None or i.grade.at_least(grade)]
    cases = []
    for inc in progress(incidents):
        timeline, lessons = [], []
        for ev in store.events_for(db, inc.id):
            if ev.action == "reminder":
                continue
            d = ev.detail
            text = d.get("text") or d.get("reason") or ""
            if ev.action == "close":
                text = d.get("disposition", "") + (f"（{d['summary']}）" if d.get("summary") else "")
            if ev.action == "note" and text.lower().startswith(LESSON_PREFIXES):
                lessons.append(text.split(":", 1)[-1].split("：", 1)[-1].strip())
            timeline.append((ev.at, names.get(ev.actor, ev.actor) if ev.actor else "系统",
                             ACTION_NAMES.get(ev.action, ev.action), text))
        cases.append(Case(inc, store.posts_for(db, inc.id), timeline, lessons))
    return cases


def _title(case: Case) -> str:
    i = case.incident
    return f"#{i.id} [{i.grade.value} {i.grade.label}] {i.title}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>])")


def _md(text: str) -> str:
    """Scraped text as markdown text: its brackets, stars and angle brackets are not markup."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def write_markdown(cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo) -> None:
    out = [f"# {org}舆情案例汇编（警示教材）", "", f"收录 {start} 至 {end} 的事件 {len(cases)} 起。", "", "## 目录", ""]
    out += [f"{n}. [{_md(_title(c))}](#case-{c.incident.id})" for n, c in enumerate(cases, 1)]
    for c in cases:
        i = c.incident
        out += ["", f'<a id="case-{i.id}"></a>', f"## {_md(_title(c))}", "",
                f"- 类别：{i.category or '未分类'}；发现时间：{i.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
                f"- 定级理由：{'；'.join(i.reasons)}",
                f"- 处置结果：{i.disposition.value if i.disposition else '尚未办结'}" + (f"（{_md(i.summary)}）" if i.summary else ""),
                "", "### 事件经过", ""]
        out += [f"- {from_iso(p['fetched_at']).astimezone(tz):%m-%d %H:%M} {p['source_name'] or p['source_id']}："
                f"[{_md(p['title'])}]({safe_url(p['url']).replace(' ', '%20').replace(')', '%29').replace('(', '%28')})"
                if safe_url(p["url"]) else f"- {_md(p['title'])}" for p in c.posts]
        out += ["", "### 处置过程", ""]
        out += [f"- {when.astimezone(tz):%m-%d %H:%M} {who} {what}" + (f"：{_md(detail)}" if detail else "")
                for when, who, what, detail in c.timeline]
        out += ["", "### 经验教训", ""]
        out += [f"- {_md(x)}" for x in c.lessons] or ["- （未记录）"]
    path.write_text(inert("\n".join(out)) + "\n", encoding="utf-8")


def _paragraph(doc, text: str, **kw):
    """Word refuses control characters (ValueError from lxml): a title scraped or a note typed
    with ESC or NUL in it would stop the whole export. Shown text is inert (core.render.inert)."""
    return doc.add_paragraph(inert(text), **kw)


def _heading(doc, text: str, **kw):
    return doc.add_heading(inert(text), **kw)


def write_docx(cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo) -> None:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    _heading(doc, f"{org}舆情案例汇编（警示教材）", level=0)
    _paragraph(doc, f"收录 {start} 至 {end} 的事件 {len(cases)} 起。")
    _heading(doc, "目录", level=1)
    for n, c in enumerate(cases, 1):
        _paragraph(doc, f"{n}. {_title(c)}")
    for c in cases:
        i = c.incident
        doc.add_page_break()
        _heading(doc, _title(c), level=1)
        _paragraph(doc, f"类别：{i.category or '未分类'}；发现时间：{i.created_at.astimezone(tz):%Y-%m-%d %H:%M}")
        _paragraph(doc, f"定级理由：{'；'.join(i.reasons)}")
        _paragraph(doc, f"处置结果：{i.disposition.value if i.disposition else '尚未办结'}"
                          + (f"（{i.summary}）" if i.summary else ""))
        _heading(doc, "事件经过", level=2)
        for p in c.posts:
            _paragraph(doc, f"{from_iso(p['fetched_at']).astimezone(tz):%m-%d %H:%M} "
                              f"{p['source_name'] or p['source_id']}：{p['title']}  {p['url'] or ''}", style="List Bullet")
        _heading(doc, "处置过程", level=2)
        for when, who, what, detail in c.timeline:
            _paragraph(doc, f"{when.astimezone(tz):%m-%d %H:%M} {who} {what}" + (f"：{detail}" if detail else ""),
                              style="List Bullet")
        _heading(doc, "经验教训", level=2)
        for x in c.lessons or ["（未记录）"]:
            _paragraph(doc, x, style="List Bullet")
    doc.save(str(path))
