"""The 台账 (ledger): one row per incident of a period, as an Excel workbook (openpyxl).

Columns (in this order): 编号, 发现时间, 首发时间, 标题, 来源, 链接, 类别, 等级, 涉及对象, 研判,
认领人, 认领用时, 处置方式, 处置说明, 办结时间, 是否超时, 备注, 转办单位. The header row is frozen and
filtered; times are real Excel dates in the configured zone (Asia/Shanghai by default); the
link is clickable; 认领用时 is an Excel duration. `ledger_rows` reads (from storage),
`write_xlsx` writes (pure: no database, so it can run off the event loop).
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import overload
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.config import Config
from core.deadlines import OVERDUE_LABELS, deadlines_for, missed_deadlines
from core.models import Incident, State
from core.render import SYSTEM, SYSTEM_ID, describe_event, inert
from storage import incidents as store

__all__ = ["COLUMNS", "JUDGE_PREFIXES", "LedgerRow", "judgement_of", "ledger_rows", "overdue_text", "write_xlsx"]

# (header, column width in characters)
COLUMNS: list[tuple[str, int]] = [
    ("编号", 7),
    ("发现时间", 17),
    ("首发时间", 17),
    ("标题", 40),
    ("来源", 18),
    ("链接", 30),
    ("类别", 10),
    ("等级", 9),
    ("涉及对象", 18),
    ("研判", 30),
    ("领导批示", 30),
    ("认领人", 8),
    ("认领用时", 12),
    ("处置方式", 9),
    ("处置说明", 30),
    ("办结时间", 17),
    ("是否超时", 14),
    ("备注", 40),
    ("转办单位", 16),  # 转办 (/transfer): the receiving unit; the 转办 and its 反馈 are in 处置说明
]
# The 研判 column is the latest `/judge` event. A note that starts with one of these (how an
# assessment was written before /judge existed) counts only when there is no /judge event.
JUDGE_PREFIXES = ("研判",)

DATE_FORMAT = "yyyy-mm-dd hh:mm"
DURATION_FORMAT = '[h]"小时"mm"分"'
EXCEL_TEXT_MAX = 32_000  # Excel holds at most 32,767 characters in a cell
EXCEL_LINK_MAX = 2_000  # and follows links of at most ~2,080 characters
_SAFE_LINK = re.compile(r"^https?://[^\s\"<>]+$", re.I)
# the bidi marks `inert` leaves (ALM, LRM, RLM): in a cell they still reorder the text around them
_BIDI_MARKS = re.compile("[\u061c\u200e\u200f]")


@dataclass(frozen=True)
class LedgerRow:
    id: int
    found: datetime  # local, naive (Excel has no time zones)
    first_published: datetime | None
    title: str
    source: str
    url: str | None
    category: str
    grade: str
    involved: str
    judgement: str
    assignee: str
    claim_time: timedelta | None
    disposition: str
    summary: str
    closed: datetime | None
    overdue: str
    notes: str
    instructions: str = ""  # the leaders' 批示 (/instruct), one a line with who and when
    transfer_unit: str = ""

    def values(self) -> list:
        return [
            self.id,
            self.found,
            self.first_published,
            self.title,
            self.source,
            self.url,
            self.category,
            self.grade,
            self.involved,
            self.judgement,
            self.instructions,
            self.assignee,
            self.claim_time,
            self.disposition,
            self.summary,
            self.closed,
            self.overdue,
            self.notes,
            self.transfer_unit,
        ]


@overload
def _local(dt: datetime, tz: ZoneInfo) -> datetime: ...
@overload
def _local(dt: datetime | None, tz: ZoneInfo) -> datetime | None: ...
def _local(dt: datetime | None, tz: ZoneInfo) -> datetime | None:
    return dt.astimezone(tz).replace(tzinfo=None) if dt else None


def overdue_text(inc: Incident, config: Config, tz: ZoneInfo, now: datetime) -> str:
    """'否', or '是（认领超时、办结超时）': the deadlines of its grade it missed (core.deadlines).

    An open incident is judged now. A closed one is judged as it stood just before it was
    closed: the response deadlines that passed before closing, and the claim deadline if it
    was claimed only after it (or never, and closed after it)."""
    dl = deadlines_for(inc, config.grades, tz)
    if inc.state is State.CLOSED:
        at = inc.closed_at or now
        held = inc.assignee if inc.claimed_at is not None and inc.claimed_at <= dl.claim else None
        missed = missed_deadlines(replace(inc, state=State.CLAIMED if held else State.NEW, assignee=held), dl, at)
    else:
        missed = missed_deadlines(inc, dl, now)
    if not missed:
        return "否"
    return "是（" + "、".join(OVERDUE_LABELS[name] for name, _ in missed) + "）"


def judgement_of(text: str) -> str | None:
    """'研判：系误读' / '研判 系误读' -> '系误读'; None for a note that is not an assessment."""
    text = (text or "").strip()
    for p in JUDGE_PREFIXES:
        if text.startswith(p):
            return text[len(p) :].lstrip(" :：,，\u3000").strip()
    return None


def ledger_rows(
    db: Database, config: Config, start: datetime, end: datetime, tz: ZoneInfo, now: datetime
) -> list[LedgerRow]:
    """Every incident found in [start, end), oldest first."""
    incidents = store.incidents_between(db, start, end)
    notes = store.events_between(db, start, end, ("note", "judge", "instruct", "transfer", "feedback"))
    names = {p.id: p.name for p in config.people}
    rows = []
    for inc in incidents:
        judgement, legacy, remarks, instructions, referral = "", "", [], [], []
        for ev in notes.get(inc.id, []):
            text = (ev.detail.get("text") or "").strip()
            if ev.action == "transfer":
                due = f"，{ev.detail['due_local']}前反馈" if ev.detail.get("due_local") else ""
                referral.append(f"转办 {ev.detail.get('unit', '')}{due}" + (f"：{text}" if text else ""))
                continue
            if ev.action == "feedback":
                referral.append(f"{ev.detail.get('unit') or '承办单位'}反馈：{text}")
                continue
            if not text:
                continue
            if ev.action == "instruct":
                who = names.get(ev.actor, ev.actor) if ev.actor else SYSTEM
                instructions.append(f"{ev.at.astimezone(tz):%m-%d %H:%M} {who}：{text}")
                continue
            if ev.action == "judge":
                judgement = text
                continue
            if (found := judgement_of(text)) is not None:
                legacy = found
                continue
            who = names.get(ev.actor, ev.actor) if ev.actor and ev.actor != SYSTEM_ID else SYSTEM
            if ev.detail.get("step"):  # a ticked playbook step: its name, not "完成 1"
                what, rest = describe_event(ev, names)
                text = what + (f"：{rest}" if rest else "")
            remarks.append(f"{ev.at.astimezone(tz):%m-%d %H:%M} {who}：{text}")
        source = inc.source_name or inc.source_id or "—"
        if inc.source_count > 1:
            source += f" 等 {inc.source_count} 个来源"
        involved = [x for k in ("cadres", "units") for x in inc.matched.get(k, [])]
        rows.append(
            LedgerRow(
                id=inc.id,
                found=_local(inc.created_at, tz),
                first_published=_local(inc.published_at, tz),
                title=inc.title,
                source=source,
                url=inc.url,
                category=inc.category or "未分类",
                grade=inc.grade.caption,
                involved="、".join(dict.fromkeys(involved)),
                judgement=judgement or legacy,
                assignee=names.get(inc.assignee, inc.assignee) if inc.assignee else "",
                claim_time=(inc.claimed_at - inc.created_at) if inc.claimed_at else None,
                disposition=inc.disposition.value if inc.disposition and inc.state is State.CLOSED else "",
                summary="\n".join(
                    x for x in [(inc.summary or "") if inc.state is State.CLOSED else "", *referral] if x
                ),
                closed=_local(inc.closed_at, tz) if inc.state is State.CLOSED else None,
                overdue=overdue_text(inc, config, tz, now),
                notes="\n".join(remarks),
                instructions="\n".join(instructions),
                transfer_unit=inc.transfer_unit or "",
            )
        )
    return rows


def _text(value: str) -> str:
    """What a scraped string may be in a cell: no control characters openpyxl refuses, no bidi
    overrides, isolates or marks (a U+202E would show the title reversed in Excel; chat and the
    documents drop them too: `core.render.inert`), within Excel's length limit."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _BIDI_MARKS.sub("", inert(ILLEGAL_CHARACTERS_RE.sub("", value)))
    return value if len(value) <= EXCEL_TEXT_MAX else value[: EXCEL_TEXT_MAX - 1] + "…"


def write_xlsx(rows: list[LedgerRow], path: Path, *, org: str, title: str) -> Path:
    """Write the ledger workbook to `path` (its folder is created)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    wb.properties.title = title
    wb.properties.creator = org or "舆情哨兵"
    thin = Side(style="thin", color="999999")
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (name, width) in enumerate(COLUMNS, 1):
        c = ws.cell(row=1, column=col, value=name)
        c.font, c.fill, c.border = head_font, head_fill, border
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    col_of = {name: n for n, (name, _) in enumerate(COLUMNS, 1)}
    date_cols = {col_of["发现时间"], col_of["首发时间"], col_of["办结时间"]}
    link_col, duration_col = col_of["链接"], col_of["认领用时"]
    wrapped = {col_of[c] for c in ("标题", "涉及对象", "研判", "领导批示", "处置说明", "备注")}
    # Each column's cell style is made once, on a scratch sheet, and copied to its cells:
    # setting fonts and borders cell by cell costs openpyxl a style lookup each time.
    scratch = wb.create_sheet("_styles")
    protos = {}
    for col in range(1, len(COLUMNS) + 2):  # the last one: a clickable link
        c = scratch.cell(row=1, column=col)
        c.border = border
        c.alignment = Alignment(vertical="top", wrap_text=col in wrapped)
        if col in date_cols:
            c.number_format = DATE_FORMAT
        elif col == duration_col:
            c.number_format = DURATION_FORMAT
        elif col == len(COLUMNS) + 1:
            c.font = Font(color="0563C1", underline="single")
        protos[col] = c._style
    link_style = protos.pop(len(COLUMNS) + 1)
    wb.remove(scratch)
    for r, row in enumerate(rows, 2):
        for col, value in enumerate(row.values(), 1):
            if isinstance(value, str):
                value = _text(value)
            c = ws.cell(row=r, column=col, value=value if value != "" else None)
            if isinstance(value, str) and c.data_type == "f":
                c.data_type = "s"  # a title such as "=1+1" is text, never a formula
            if col == link_col and value and len(value) <= EXCEL_LINK_MAX and _SAFE_LINK.match(value):
                c.hyperlink = value
                c._style = copy(link_style)
            else:
                c._style = copy(protos[col])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(1, len(rows)) + 1}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.center.text = title
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path
