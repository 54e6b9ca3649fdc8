"""The casebook (警示教材): past incidents compiled into one document — a contents page, then
per incident the story, its sources, grade and reasons, the timeline of actions, the
disposition and the lessons noted (`/note N 教训: …`). Markdown or DOCX (python-docx)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import from_iso
from core.grades import Grade
from core.models import Incident
from core.render import ACTION_NAMES
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


def write_markdown(cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo) -> None:
    out = [f"# {org}舆情案例汇编（警示教材）", "", f"收录 {start} 至 {end} 的事件 {len(cases)} 起。", "", "## 目录", ""]
    out += [f"{n}. [{_title(c)}](#case-{c.incident.id})" for n, c in enumerate(cases, 1)]
    for c in cases:
        i = c.incident
        out += ["", f'<a id="case-{i.id}"></a>', f"## {_title(c)}", "",
                f"- 类别：{i.category or '未分类'}；发现时间：{i.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
                f"- 定级理由：{'；'.join(i.reasons)}",
                f"- 处置结果：{i.disposition.value if i.disposition else '尚未办结'}" + (f"（{i.summary}）" if i.summary else ""),
                "", "### 事件经过", ""]
        out += [f"- {from_iso(p['fetched_at']).astimezone(tz):%m-%d %H:%M} {p['source_name'] or p['source_id']}："
                f"[{p['title']}]({p['url']})" if p["url"] else f"- {p['title']}" for p in c.posts]
        out += ["", "### 处置过程", ""]
        out += [f"- {when.astimezone(tz):%m-%d %H:%M} {who} {what}" + (f"：{detail}" if detail else "")
                for when, who, what, detail in c.timeline]
        out += ["", "### 经验教训", ""]
        out += [f"- {x}" for x in c.lessons] or ["- （未记录）"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_docx(cases: list[Case], path: Path, *, org: str, start: date, end: date, tz: ZoneInfo) -> None:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    doc.add_heading(f"{org}舆情案例汇编（警示教材）", level=0)
    doc.add_paragraph(f"收录 {start} 至 {end} 的事件 {len(cases)} 起。")
    doc.add_heading("目录", level=1)
    for n, c in enumerate(cases, 1):
        doc.add_paragraph(f"{n}. {_title(c)}")
    for c in cases:
        i = c.incident
        doc.add_page_break()
        doc.add_heading(_title(c), level=1)
        doc.add_paragraph(f"类别：{i.category or '未分类'}；发现时间：{i.created_at.astimezone(tz):%Y-%m-%d %H:%M}")
        doc.add_paragraph(f"定级理由：{'；'.join(i.reasons)}")
        doc.add_paragraph(f"处置结果：{i.disposition.value if i.disposition else '尚未办结'}"
                          + (f"（{i.summary}）" if i.summary else ""))
        doc.add_heading("事件经过", level=2)
        for p in c.posts:
            doc.add_paragraph(f"{from_iso(p['fetched_at']).astimezone(tz):%m-%d %H:%M} "
                              f"{p['source_name'] or p['source_id']}：{p['title']}  {p['url'] or ''}", style="List Bullet")
        doc.add_heading("处置过程", level=2)
        for when, who, what, detail in c.timeline:
            doc.add_paragraph(f"{when.astimezone(tz):%m-%d %H:%M} {who} {what}" + (f"：{detail}" if detail else ""),
                              style="List Bullet")
        doc.add_heading("经验教训", level=2)
        for x in c.lessons or ["（未记录）"]:
            doc.add_paragraph(x, style="List Bullet")
    doc.save(str(path))
