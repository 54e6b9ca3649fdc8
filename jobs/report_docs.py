"""Report documents: the 日报 / 周报 / 月报 and the 专报 of one incident as DOCX files laid out
like a government document (GB/T 9704 proportions where practical).

The frame: A4 and the styles of `jobs.casebook.apply_document_style` (margins, 仿宋 三号 body,
黑体 / 楷体 headings, page numbers); a red 报头 with the department's name and the kind of
report, the 期号 (numbered per kind and year, kept in `report_issues`), the 编发 unit and the
date over a red rule; the title in 方正小标宋简体 — listed in the font table with 黑体 as its
alternative, so a machine without it shows 黑体 — and the 版记 at the foot (报送, 抄送, the
unit and the date between two rules).

The content of a period report: 一、总体情况 (the figures in sentences, with the change from
the previous period of the same length, and the chart), 二、重点舆情 (every grade I–III
incident found in the period: what happened, sources and spread, 研判, what was done, status),
三、处置情况, 四、下步建议 (rules over open and overdue items). A 专报: 一、基本情况,
二、传播情况 (posts by publication time), 三、研判, 四、处置情况, 五、下步建议.

Building a document reads a lot and draws a chart, so it runs off the event loop
(`jobs.offload.read_only`, a worker process with a read-only connection); the 期号 is taken
before, in a short write transaction on the caller's connection, and given back if the
document could not be made.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import parse_iso
from core.config import Config
from core.deadlines import deadlines_for, overdue_kind
from core.grades import Grade
from core.grading import reason_words
from core.models import Incident, State
from core.render import SYSTEM_EVENTS, TimelineEntry, by_publication, timeline
from jobs.casebook import _FONT_TABLE, _Body, apply_document_style
from jobs.ledger import judgement_of
from jobs.report import PERIODS, Report, build_report, fmt_span, folded
from storage import incidents as store

__all__ = [
    "KINDS",
    "TITLE_FONT",
    "DocResult",
    "build_contact_docx",
    "build_period_docx",
    "build_special_docx",
    "make_report_docx",
    "period_kind",
    "previous_bounds",
    "write_report_docx",
]

log = logging.getLogger(__name__)

KINDS = ("日报", "周报", "月报", "专报")
TITLE_FONT = "方正小标宋简体"  # the 小标宋 of Chinese official documents; 黑体 where it is missing
_RED = "FF0000"
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_CN_NUM = "一二三四五六七八九十"


@dataclass(frozen=True)
class DocResult:
    kind: str
    year: int
    number: int
    path: str
    summary: str  # one line for the chat


def period_kind(period: str) -> str:
    """日报 for a day, 周报 for a week, 月报 for a month (a date range by its length)."""
    if period in ("today", "yesterday"):
        return "日报"
    if period in ("week", "lastweek"):
        return "周报"
    if period == "month":
        return "月报"
    m = _RANGE.match(period)
    if m:
        days = (date.fromisoformat(m.group(2)) - date.fromisoformat(m.group(1))).days + 1
        return "日报" if days <= 1 else "周报" if days <= 7 else "月报"
    raise ValueError(period)


def previous_bounds(period: str, start: datetime, end: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The period before, of the same length: this week so far -> last week to the same moment;
    this month so far -> last month to the same day and hour; today so far -> yesterday to the
    same moment; a whole day or a range -> the one before."""
    if period == "month":
        local = start.astimezone(tz)
        prev_start = (local - timedelta(days=1)).replace(day=1)
        return prev_start, min(prev_start + (end - start), start)
    if period in ("week", "lastweek"):
        return start - timedelta(days=7), end - timedelta(days=7)
    if period == "today":  # today so far -> yesterday to the same moment, not the hours before midnight
        return start - timedelta(days=1), end - timedelta(days=1)
    return start - (end - start), start


# ---------------------------------------------------------------------------- words


def _change(now: int, before: int) -> str:
    if now == before:
        return f"与上期（{before} 起）持平"
    word = "增加" if now > before else "减少"
    pct = f"，{'上升' if now > before else '下降'} {abs(now - before) / before:.0%}" if before else ""
    return f"较上期（{before} 起）{word} {abs(now - before)} 起{pct}"


def _local_day(dt: datetime, tz: ZoneInfo) -> str:
    d = dt.astimezone(tz)
    return f"{d.year}年{d.month}月{d.day}日"


def _span_words(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a, b = start.astimezone(tz), (end - timedelta(seconds=1)).astimezone(tz)
    if a.date() == b.date():
        return _local_day(a, tz)
    return (
        f"{_local_day(a, tz)}至{b.month}月{b.day}日"
        if a.year == b.year
        else f"{_local_day(a, tz)}至{_local_day(b, tz)}"
    )


def _state_words(inc: Incident) -> str:
    if inc.state is State.CLOSED:
        return "已办结" + (
            f"（{inc.disposition.value}" + (f"：{inc.summary}" if inc.summary else "") + "）" if inc.disposition else ""
        )
    if inc.state is State.AWAITING_FEEDBACK:
        return f"已转办{inc.transfer_unit or ''}，待反馈"
    if inc.state is State.ESCALATED and not inc.assignee:  # escalated (by the sweep) with nobody on it
        return "已升级，待认领"
    return {State.NEW: "待认领", State.CLAIMED: "处置中", State.ESCALATED: "已升级处置中"}.get(
        inc.state, inc.state.label
    )


@dataclass
class _Story:
    incident: Incident
    posts: list[dict]
    timeline: list[TimelineEntry]
    judgement: str
    actions: list[TimelineEntry]  # what people did (not discovery, new posts, regrading)
    instructions: list[TimelineEntry] = field(default_factory=list)  # leaders' 批示 (/instruct)

    def instruction_text(self, tz: ZoneInfo) -> str:
        """The 领导批示 paragraph: every 批示, who and when."""
        return "；".join(f"{e.who}（{e.at.astimezone(tz):%m-%d %H:%M}）批示：{e.detail}" for e in self.instructions)


def _story(db: Database, inc: Incident, names: dict[str, str], sources: dict[str, str] | None = None) -> _Story:
    judgement, legacy = "", ""
    steps = timeline(store.events_for(db, inc.id), names, sources=sources)
    for e in steps:
        if e.action == "judge":  # /judge; before it existed, a note starting with 研判
            judgement = e.detail.strip()
        elif e.action == "note" and (found := judgement_of(e.detail)) is not None:
            legacy = found
    actions = [e for e in steps if e.action not in SYSTEM_EVENTS]
    instructions = [e for e in steps if e.action == "instruct"]
    return _Story(inc, by_publication(store.posts_for(db, inc.id)), steps, judgement or legacy, actions, instructions)


def _post_at(p: dict) -> datetime:
    return parse_iso(p["published_at"] or p["fetched_at"])


def _md_hm(dt: datetime, tz: ZoneInfo) -> str:
    d = dt.astimezone(tz)
    return f"{d.month}月{d.day}日{d:%H:%M}"


def _what_happened(s: _Story, tz: ZoneInfo) -> str:
    i = s.incident
    involved = [x for k in ("cadres", "units") for x in i.matched.get(k, [])]
    text = f"{_md_hm(i.created_at, tz)}监测发现“{i.title}”，属{i.category or '未分类'}类舆情"
    if involved:
        text += f"，涉及{'、'.join(dict.fromkeys(involved))}"
    return (
        text
        + f"，定为 {i.grade.value} 级（{i.grade.label}）"
        + (f"，依据：{reason_words(i.reasons)}" if i.reasons else "")
        + "。"
    )


def _spread(s: _Story, tz: ZoneInfo) -> str:
    if not s.posts:
        return "暂无关联帖文。"
    sources = list(dict.fromkeys(p["source_name"] or p["source_id"] for p in s.posts))
    first = s.posts[0]
    return (
        f"首发于{_md_hm(_post_at(first), tz)}（{first['source_name'] or first['source_id']}），"
        f"共 {len(s.posts)} 篇帖文、{len(sources)} 个来源（{'、'.join(sources[:8])}{'等' if len(sources) > 8 else ''}）。"
    )


def _done(s: _Story, tz: ZoneInfo, limit: int = 8) -> str:
    steps = [
        f"{when.astimezone(tz):%m-%d %H:%M} {who}{what}" + (f"（{detail[:40]}）" if detail else "")
        for when, who, what, detail in s.actions
        if what
    ]
    if not steps:
        return "尚无处置记录。"
    more = f"等 {len(steps)} 项" if len(steps) > limit else ""
    return "；".join(steps[:limit]) + more + "。"


# ---------------------------------------------------------------------------- the document frame


class _Doc:
    def __init__(self, title: str):
        from docx import Document
        from docx.oxml.ns import qn

        self.qn = qn
        self.doc = Document()
        apply_document_style(self.doc)
        self._title_font()
        self.doc.core_properties.title = title
        self.b = _Body(self.doc)

    def _title_font(self) -> None:
        """The Title style in 方正小标宋简体, listed in the font table with 黑体 as alternative."""
        from lxml import etree

        qn = self.qn
        rfonts = self.doc.styles["Title"].element.rPr.get_or_add_rFonts()
        rfonts.set(qn("w:eastAsia"), TITLE_FONT)
        part = next((p for p in self.doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None)
        if part is None:
            return
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        root = etree.fromstring(part.blob)
        f = etree.SubElement(root, w + "font")
        f.set(w + "name", TITLE_FONT)
        for tag, val in (
            ("altName", "黑体"),
            ("panose1", _FONT_TABLE["黑体"][1]),
            ("charset", "86"),
            ("family", "roman"),
            ("pitch", "variable"),
        ):
            etree.SubElement(f, w + tag).set(w + "val", val)
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    # paragraphs
    _PPR_ORDER = ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "pBdr", "tabs", "spacing", "ind", "jc")

    def para(self, style=None, *, center=False, indent=True, border=None, tab_right=False, line_auto=False):
        """A paragraph; body text gets a first-line indent of two characters. `border`:
        side -> (colour, eighths of a point); `line_auto`: single spacing (large type, pictures)
        instead of the fixed 28 pt lines of the body."""
        p = self.b.para(style, center=center)
        indent = indent and not center
        if not (indent or border or tab_right or line_auto):
            return p
        qn, sub = self.qn, self.b.sub
        ppr = p.find(qn("w:pPr"))
        if ppr is None:
            ppr = sub(p, qn("w:pPr"))
            p.insert(0, ppr)
        if border:
            bdr = sub(ppr, qn("w:pBdr"))
            for side, (colour, size) in border.items():
                e = sub(bdr, qn(f"w:{side}"))
                e.set(qn("w:val"), "single")
                e.set(qn("w:sz"), str(size))
                e.set(qn("w:space"), "1")
                e.set(qn("w:color"), colour)
        if tab_right:
            t = sub(sub(ppr, qn("w:tabs")), qn("w:tab"))
            t.set(qn("w:val"), "right")
            t.set(qn("w:pos"), "8845")  # the text width: 210 - 28 - 26 mm in twentieths of a point
        if line_auto:
            sp = sub(ppr, qn("w:spacing"))
            sp.set(qn("w:line"), "240")
            sp.set(qn("w:lineRule"), "auto")
        if indent:
            ind = sub(ppr, qn("w:ind"))
            ind.set(qn("w:firstLineChars"), "200")
            ind.set(qn("w:firstLine"), "640")
        # the schema fixes the order of a paragraph's properties
        order = {qn("w:" + n): i for i, n in enumerate(self._PPR_ORDER)}
        children = sorted(ppr, key=lambda e: order.get(e.tag, len(order)))
        for e in children:
            ppr.append(e)
        return p

    def run(
        self,
        p,
        text: str,
        *,
        east: str | None = None,
        size: float | None = None,
        colour: str | None = None,
        bold: bool = False,
        tab: bool = False,
    ):
        qn, sub = self.qn, self.b.sub
        r = sub(p, qn("w:r"))
        if east or size or colour or bold:
            rpr = sub(r, qn("w:rPr"))
            if east:
                f = sub(rpr, qn("w:rFonts"))
                f.set(qn("w:eastAsia"), east)
            if bold:
                sub(rpr, qn("w:b"))
            if colour:
                sub(rpr, qn("w:color")).set(qn("w:val"), colour)
            if size:
                sub(rpr, qn("w:sz")).set(qn("w:val"), str(int(size * 2)))
                sub(rpr, qn("w:szCs")).set(qn("w:val"), str(int(size * 2)))
        if tab:
            sub(r, qn("w:tab"))
        t = sub(r, qn("w:t"))
        from jobs.casebook import _clean

        t.text = _clean(text)
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        return r

    def text(self, text: str, **kw):
        p = self.para(**kw)
        self.run(p, text)
        return p

    def labelled(self, label: str, text: str):
        """A body paragraph opening with a bold label (基本情况：…)."""
        p = self.para()
        self.run(p, label, bold=True)
        self.run(p, text)
        return p

    def heading(self, text: str, level: int = 1):
        return self.b.text(text, "Heading1" if level == 1 else "Heading2")

    # the frame
    def masthead(self, org: str, kind: str, year: int, number: int, unit: str, day: str) -> None:
        p = self.para(center=True, indent=False, line_auto=True)
        self.run(p, f"{org}", east=TITLE_FONT, size=26, colour=_RED)
        p = self.para(center=True, indent=False, line_auto=True)
        self.run(p, f"网络舆情{kind}", east=TITLE_FONT, size=36, colour=_RED)
        p = self.para(center=True, indent=False)
        self.run(p, f"{year}年第{number}期")
        p = self.para(indent=False, tab_right=True, border={"bottom": (_RED, 24)})
        self.run(p, f"编发：{unit}")
        self.run(p, day, tab=True)
        self.para(indent=False)

    def title(self, text: str) -> None:
        self.b.text(text, "Title")

    def picture(self, path: Path) -> None:
        from docx.enum.text import (
            WD_ALIGN_PARAGRAPH,
            WD_LINE_SPACING,
        )
        from docx.shared import Mm

        self.doc.add_picture(str(path), width=Mm(150))
        pf = self.doc.paragraphs[-1].paragraph_format
        pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE

    def foot(self, to: list[str], cc: list[str], unit: str, day: str) -> None:
        """The 版记: 报送 and 抄送, then the unit and the date, between black rules."""
        self.para(indent=False)
        p = self.para(indent=False, border={"top": ("000000", 8)})
        self.run(p, "报送：" + ("，".join(to) or "—") + "。", size=14)
        if cc:
            p = self.para(indent=False)
            self.run(p, "抄送：" + "，".join(cc) + "。", size=14)
        p = self.para(indent=False, tab_right=True, border={"bottom": ("000000", 8)})
        self.run(p, unit, size=14)
        self.run(p, f"{day}印发", size=14, tab=True)

    def save(self, path: Path) -> Path:
        self.b.finish()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.doc.save(str(path))
        return path


def _unit(config) -> str:
    org = config.organization
    return org.report_unit or org.name


# ---------------------------------------------------------------------------- period reports


def _suggestions(r: Report, prev_total: int, open_all: list[Incident], overdue: list[int], config) -> list[str]:
    out = []
    if overdue:
        ids = "、".join(f"#{i}" for i in overdue[:8]) + ("等" if len(overdue) > 8 else "")
        out.append(
            f"对已超过处置时限的 {len(overdue)} 起事件（{ids}），督促责任人立即处置，按时限要求发布权威信息、作出回应。"
        )
    serious = [i for i in open_all if i.grade.at_least(Grade.II)]
    if serious:
        ids = "、".join(f"#{i.id}" for i in serious[:8]) + ("等" if len(serious) > 8 else "")
        out.append(
            f"对尚未办结的 {len(serious)} 起 I–II 级事件（{ids}），持续跟踪研判，加强与相关部门的会商联动，防止舆情升级。"
        )
    unclaimed = [i for i in open_all if not i.assignee]  # also one escalated (by hand or by the sweep) unclaimed
    if unclaimed:
        out.append(f"尚有 {len(unclaimed)} 起事件无人认领，请值班人员及时认领、明确责任人。")
    if prev_total and r.total > prev_total and (r.total - prev_total) / prev_total >= 0.2:
        out.append(
            f"本期舆情数量较上期上升 {(r.total - prev_total) / prev_total:.0%}，建议加强监测频次和重点时段值守。"
        )
    top = next(((c, n) for c, n in r.by_category.items() if c != "未分类"), None)
    if top and r.total >= 3 and top[1] * 2 >= r.total:
        out.append(f"{top[0]}类舆情占比较高（{top[1]} 起），建议开展相关领域风险排查，做好正面引导。")
    noisy = [c for c, (f, n) in r.false_positive_rate.items() if n >= 3 and f / n >= 0.3]
    if noisy:
        out.append(f"{'、'.join(noisy)}类误报较多，建议调整监测词表和规则。")
    if r.sources.get("失败"):
        out.append(f"{r.sources['失败']} 个监测来源连续抓取失败，建议及时检修，避免漏报。")
    if not out:
        out.append("继续做好日常监测，落实 24 小时值班和信息报送制度。")
    return out


def build_period_docx(
    db: Database,
    config: Config,
    period: str,
    now: datetime,
    tz: ZoneInfo,
    number: int,
    path: Path,
    *,
    chart: bool = True,
) -> DocResult:
    """The 日报 / 周报 / 月报 of `period`, issue `number`, written to `path`. Reads only."""
    kind = period_kind(period)
    org, unit = config.organization.name, _unit(config)
    r = build_report(db, config, period, now, tz)
    p_start, p_end = previous_bounds(period, r.start, r.end, tz)
    prev = store.incidents_between(db, p_start, p_end)
    prev_by_grade = {g.value: sum(1 for i in prev if i.grade is g) for g in Grade}
    names = {p.id: p.name for p in config.people}
    open_all = store.open_incidents(db)
    day = _local_day(now, tz)
    span = _span_words(r.start, r.end, tz)
    title = f"{org}网络舆情{kind}（{span}）"
    d = _Doc(title)
    d.masthead(org, kind, now.astimezone(tz).year, number, unit, day)
    d.title(f"{span}网络舆情{'监测情况' if kind == '日报' else '综述'}")
    if r.duty_officer:
        d.labelled("值班员：", r.duty_officer)

    d.heading("一、总体情况")
    grades = "，".join(f"{g} 级 {n} 起" for g, n in r.by_grade.items() if n) or "无分级事件"
    serious_now = sum(r.by_grade.get(g, 0) for g in ("I", "II", "III"))
    serious_before = sum(prev_by_grade.get(g, 0) for g in ("I", "II", "III"))
    d.text(
        f"{span}，共监测发现网络舆情事件 {r.total} 起，{_change(r.total, len(prev))}。其中{grades}；"
        f"III 级及以上 {serious_now} 起，{_change(serious_now, serious_before)}。"
    )
    if r.by_category:
        d.text(
            "从类别看，"
            + "，".join(f"{c} {n} 起" for c, n in folded(r.by_category, 7))  # six named, the rest as 其他
            + "。"
            + ("从来源看，主要来自" + "、".join(list(r.by_source)[:5]) + "。" if r.by_source else "")
        )
    d.text(
        f"期间办结 {r.closed_in_period} 起；目前尚未办结 {r.open_now} 起，其中超过处置时限 {len(r.overdue_now)} 起。"
        f"平均认领用时 {fmt_span(r.mean_claim)}，平均办结用时 {fmt_span(r.mean_close)}。"
    )
    image = None
    if chart:
        try:
            from jobs.charts import render_report_chart

            image = render_report_chart(r, path.with_suffix(".png"), f"{org}舆情{PERIODS.get(period, kind)}（{span}）")
            d.picture(image)
        except Exception:  # a chart is a bonus: the document goes out without it
            log.exception("report chart could not be drawn for the document")

    d.heading("二、重点舆情")
    serious = [i for i in store.incidents_between(db, r.start, r.end) if i.grade.at_least(Grade.III)]
    serious.sort(key=lambda i: (list(Grade).index(i.grade), i.id))
    if not serious:
        d.text("本期未发现 III 级及以上舆情。")
    for n, inc in enumerate(serious, 1):
        s = _story(db, inc, names, {x.id: x.name for x in config.sources})
        d.heading(f"（{_cn(n)}）#{inc.id} {inc.title}【{inc.grade.value} 级 {inc.grade.label}】", 2)
        d.labelled("基本情况：", _what_happened(s, tz))
        d.labelled("来源与传播：", _spread(s, tz))
        if s.judgement:
            d.labelled("研判：", s.judgement)
        if s.instructions:
            d.labelled("领导批示：", s.instruction_text(tz))
        d.labelled("处置经过：", _done(s, tz))
        d.labelled(
            "当前状态：",
            _state_words(inc) + (f"，责任人{names.get(inc.assignee, inc.assignee)}" if inc.assignee else "") + "。",
        )

    d.heading("三、处置情况")
    disp = "，".join(f"{k} {v} 起" for k, v in r.by_disposition.items())
    d.text(
        f"本期新发现事件中已认领 {r.claimed} 起、已办结 {r.closed} 起"
        + (f"，处置方式为：{disp}" if disp else "")
        + "。"
        + (f"认领用时 P90 为 {fmt_span(r.p90_claim)}，办结用时 P90 为 {fmt_span(r.p90_close)}。" if r.claimed else "")
    )
    if r.claim_by_person:
        d.text(
            "按责任人看，"
            + "；".join(f"{who}处置 {c} 起，平均认领 {fmt_span(m)}" for who, (c, m, _) in r.claim_by_person.items())
            + "。"
        )
    if r.overdue_by_kind:
        from core.deadlines import OVERDUE_LABELS

        d.text("超时情况：" + "，".join(f"{OVERDUE_LABELS[k]} {v} 起" for k, v in r.overdue_by_kind.items()) + "。")

    d.heading("四、下步建议")
    overdue = [i for i in open_all if overdue_kind(i, deadlines_for(i, config.grades, tz), now)]
    for n, line in enumerate(_suggestions(r, len(prev), open_all, [i.id for i in overdue], config), 1):
        d.text(f"{n}. {line}")
    d.foot(config.organization.report_to, config.organization.report_cc, unit, day)
    d.save(path)
    if image is not None:
        Path(image).unlink(missing_ok=True)
    year = now.astimezone(tz).year
    return DocResult(
        kind,
        year,
        number,
        str(path),
        f"📎 {org}网络舆情{kind}（{year}年第{number}期，{span}）：新增 {r.total} 起，"
        f"III 级及以上 {serious_now} 起，已生成 Word 文件 {path.name}",
    )


def _cn(n: int) -> str:
    if n <= 10:
        return _CN_NUM[n - 1]
    if n < 20:
        return "十" + _CN_NUM[n - 11]
    return str(n)


# ---------------------------------------------------------------------------- 专报


def build_special_docx(
    db: Database, config: Config, incident_id: int, now: datetime, tz: ZoneInfo, number: int, path: Path
) -> DocResult:
    """The 专报 of one incident, issue `number`. :raises storage.incidents.IncidentNotFound:"""
    inc = store.get_incident(db, incident_id)
    names = {p.id: p.name for p in config.people}
    s = _story(db, inc, names, {x.id: x.name for x in config.sources})
    org, unit = config.organization.name, _unit(config)
    day = _local_day(now, tz)
    d = _Doc(f"{org}网络舆情专报 #{inc.id}")
    d.masthead(org, "专报", now.astimezone(tz).year, number, unit, day)
    d.title(f"关于“{inc.title}”舆情的专报")
    d.heading("一、基本情况")
    d.text(_what_happened(s, tz))
    d.heading("二、传播情况")
    d.text(_spread(s, tz))
    for p in s.posts[:30]:
        para = d.para()
        d.run(para, f"{_post_at(p).astimezone(tz):%m-%d %H:%M} {p['source_name'] or p['source_id']}：")
        d.b.link(para, p["url"], p["title"] or p["url"] or "")
    if len(s.posts) > 30:
        d.text(f"（另有 {len(s.posts) - 30} 篇略）")
    d.heading("三、研判")
    d.text(s.judgement or "尚未作出研判。")
    d.heading("四、处置情况")
    if s.instructions:
        d.labelled("领导批示：", s.instruction_text(tz))
    for when, who, what, detail in s.timeline:
        d.text(f"{when.astimezone(tz):%m-%d %H:%M} {who}{what}" + (f"：{detail}" if detail else ""))
    d.text(
        f"当前状态：{_state_words(inc)}"
        + (f"，责任人{names.get(inc.assignee, inc.assignee)}" if inc.assignee else "")
        + "。"
    )
    d.heading("五、下步建议")
    tips = []
    if inc.state is not State.CLOSED:
        if overdue_kind(inc, deadlines_for(inc, config.grades, tz), now):
            tips.append("该事件已超过处置时限，督促责任人立即处置，尽快发布权威信息、回应社会关切。")
        if not inc.assignee:
            tips.append("尽快明确责任人，认领后组织核实。")
        if not s.judgement:
            tips.append("尽快组织研判，明确事件性质和风险等级。")
        tips.append("持续跟踪传播态势，发现新情况及时续报。")
    else:
        tips.append("做好后续跟踪回访，防止舆情反弹；总结处置经验，纳入案例汇编。")
    for n, line in enumerate(tips, 1):
        d.text(f"{n}. {line}")
    d.foot(config.organization.report_to, config.organization.report_cc, unit, day)
    d.save(path)
    year = now.astimezone(tz).year
    return DocResult(
        "专报",
        year,
        number,
        str(path),
        f"📎 {org}网络舆情专报（{year}年第{number}期）：#{inc.id} {inc.title[:30]}，已生成 Word 文件 {path.name}",
    )


# ---------------------------------------------------------------------------- 工作联系单 (转办)


def build_contact_docx(
    config,
    inc: Incident,
    unit: str,
    due: str,
    note: str | None,
    now: datetime,
    tz: ZoneInfo,
    path: Path,
    *,
    judgement: bool = True,
) -> Path:
    """The 工作联系单 of a 转办 as a document in the same frame: to whom, the facts, what is
    asked, by when (`due`, local), the sender. Pure (no database): run it off the loop.
    `judgement` False for a facts-only partner (no internal 研判)."""
    org, sender = config.organization.name, _unit(config)
    day = _local_day(now, tz)
    d = _Doc(f"{org}工作联系单 #{inc.id}")
    d.title("工作联系单")
    d.labelled("致：", unit)
    d.labelled("事由：", f"关于“{inc.title}”网络舆情（{inc.grade.caption}，编号 #{inc.id}）")
    src = inc.source_name or inc.source_id
    facts = f"{_local_day(inc.published_at or inc.created_at, tz)}，{src or '网络'}出现上述舆情"
    if inc.category:
        facts += f"，类别为{inc.category}"
    d.labelled("基本情况：", facts + "。")
    if inc.url:
        para = d.para()
        d.run(para, "链接：", bold=True)
        d.b.link(para, inc.url, inc.url)
    if judgement and inc.judgement:
        d.labelled("研判意见：", inc.judgement)
    d.labelled("请协助事项：", note or "请核实有关情况并妥善处置。")
    d.labelled("反馈时限：", f"请于 {due} 前将办理情况反馈{sender}。")
    d.foot([unit], [], sender, day)
    return d.save(path)


# ---------------------------------------------------------------------------- numbering + building


def _file_name(kind: str, year: int, number: int, target, now: datetime, tz: ZoneInfo) -> str:
    what = f"事件{target}" if isinstance(target, int) else re.sub(r"[^0-9A-Za-z]+", "-", target)
    return f"舆情{kind}-{year}年第{number}期-{what}-{now.astimezone(tz):%Y%m%d-%H%M%S}.docx"


def _build(db: Database, config, target, now: datetime, tz: ZoneInfo, number: int, path: Path) -> DocResult:
    if isinstance(target, int):
        return build_special_docx(db, config, target, now, tz, number, path)
    return build_period_docx(db, config, target, now, tz, number, path)


def _reserve(db: Database, kind: str, year: int, target, now: datetime) -> int:
    from storage import write_tx
    from storage.reports import reserve_issue

    with write_tx(db):
        return reserve_issue(db, kind, year, str(target), now)


def _release(db: Database, kind: str, year: int, number: int) -> None:
    from storage import write_tx
    from storage.reports import release_issue

    with write_tx(db):
        release_issue(db, kind, year, number)


def write_report_docx(
    db: Database,
    config: Config,
    target: int | str,
    now: datetime,
    tz: ZoneInfo,
    path: Path | None = None,
    out_dir: Path | None = None,
) -> DocResult:
    """Number and write a report document here (the command line). `target`: a period or an
    incident number. :raises storage.incidents.IncidentNotFound:"""
    if isinstance(target, int):
        store.get_incident(db, target)  # no number taken for an incident that does not exist
    kind = "专报" if isinstance(target, int) else period_kind(target)
    year = now.astimezone(tz).year
    number = _reserve(db, kind, year, target, now)
    try:
        path = path or Path(out_dir or ".") / _file_name(kind, year, number, target, now, tz)
        return _build(db, config, target, now, tz, number, Path(path))
    except BaseException:
        _release(db, kind, year, number)
        raise


async def make_report_docx(
    db: Database, config: Config, target: int | str, now: datetime, tz: ZoneInfo, out_dir: Path
) -> DocResult:
    """Number the document on `db` (a short write transaction on the caller's thread), then
    build it in the reader process. The number is given back if the document fails."""
    from jobs import offload

    if isinstance(target, int):
        store.get_incident(db, target)
    kind = "专报" if isinstance(target, int) else period_kind(target)
    year = now.astimezone(tz).year
    number = _reserve(db, kind, year, target, now)
    path = Path(out_dir) / "reports" / _file_name(kind, year, number, target, now, tz)
    try:
        return await offload.read_only(db, _build, config, target, now, tz, number, path)
    except BaseException:
        _release(db, kind, year, number)
        raise


async def with_document(
    db: Database, config: Config, period: str, now: datetime, tz: ZoneInfo, out_dir: Path, prepared: tuple
) -> tuple:
    """The scheduled 日报 / 周报's (text, image) plus its document, when the configuration asks
    for it (`organization.scheduled_report = "text+file"`, the default): (text, image, path).
    A document that cannot be made leaves the text to go out alone."""
    if config.organization.scheduled_report != "text+file":
        return prepared
    text, image = prepared[:2]
    try:
        res = await make_report_docx(db, config, period, now, tz, Path(out_dir))
    except Exception:
        log.exception("the scheduled %s document could not be made; sending the text only", period)
        return prepared
    return f"{text}\n{res.summary}", image, res.path
