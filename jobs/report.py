"""Period reports: counts by grade, category, status and source; open and overdue; mean time
to claim and to close. `build_report` computes (from storage), `render_report` formats (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.deadlines import deadlines_for, is_overdue
from core.grades import Grade
from core.models import State
from storage import incidents as store

__all__ = ["PERIODS", "Report", "period_bounds", "build_report", "render_report"]

PERIODS = {"today": "今日", "week": "本周", "month": "本月"}


@dataclass(frozen=True)
class Report:
    period: str
    start: datetime
    end: datetime
    total: int
    by_grade: dict[str, int]
    by_category: dict[str, int]
    by_state: dict[str, int]
    by_source: dict[str, int]
    by_disposition: dict[str, int]
    open_now: int
    overdue_now: list[int]
    mean_claim: timedelta | None
    mean_close: timedelta | None
    claimed: int
    closed: int


def period_bounds(period: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of today / this week (from Monday) / this month, in local time."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        start = midnight
    elif period == "week":
        start = midnight - timedelta(days=local.weekday())
    elif period == "month":
        start = midnight.replace(day=1)
    else:
        raise ValueError(period)
    return start, now + timedelta(seconds=1)


def build_report(db: Database, config, period: str, now: datetime, tz: ZoneInfo) -> Report:
    start, end = period_bounds(period, now, tz)
    incs = store.incidents_between(db, start, end)
    claim_times = [i.claimed_at - i.created_at for i in incs if i.claimed_at]
    close_times = [i.closed_at - i.created_at for i in incs if i.closed_at and i.state is State.CLOSED]
    open_all = store.open_incidents(db)
    overdue = [i.id for i in open_all if is_overdue(i, deadlines_for(i, config.grades, tz), now)]
    names = {s.id: s.name for s in config.sources}
    return Report(
        period=period, start=start, end=end, total=len(incs),
        by_grade={g.value: sum(1 for i in incs if i.grade is g) for g in Grade},
        by_category=dict(Counter(i.category or "未分类" for i in incs).most_common()),
        by_state={s.value: sum(1 for i in incs if i.state is s) for s in State},
        by_source=dict(Counter(names.get(i.source_id, i.source_id or "—") for i in incs).most_common()),
        by_disposition=dict(Counter(i.disposition.value for i in incs if i.disposition).most_common()),
        open_now=len(open_all), overdue_now=overdue,
        mean_claim=_mean(claim_times), mean_close=_mean(close_times),
        claimed=len(claim_times), closed=len(close_times),
    )


def _mean(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=mean(v.total_seconds() for v in values)) if values else None


def fmt_span(td: timedelta | None) -> str:
    if td is None:
        return "—"
    minutes = int(round(td.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{hours / 24:.1f} 天"


def render_report(r: Report, tz: ZoneInfo, org: str = "") -> str:
    state_label = {s.value: s.label for s in State}
    title = f"📊 {org}舆情{PERIODS[r.period]}报告（{r.start.astimezone(tz):%m-%d %H:%M} 至 {r.end.astimezone(tz):%m-%d %H:%M}）"
    lines = [title, f"新增事件：{r.total} 起"]
    lines.append("按等级：" + "，".join(f"{Grade(g).emoji}{g} {n}" for g, n in r.by_grade.items()))
    if r.by_category:
        lines.append("按类别：" + "，".join(f"{k} {v}" for k, v in r.by_category.items()))
    lines.append("按状态：" + "，".join(f"{state_label[k]} {v}" for k, v in r.by_state.items()))
    if r.by_source:
        lines.append("按来源：" + "，".join(f"{k} {v}" for k, v in r.by_source.items()))
    if r.by_disposition:
        lines.append("处置方式：" + "，".join(f"{k} {v}" for k, v in r.by_disposition.items()))
    lines.append(f"当前未结：{r.open_now} 起；其中超时 {len(r.overdue_now)} 起"
                 + (f"（{'、'.join('#' + str(i) for i in r.overdue_now[:10])}）" if r.overdue_now else ""))
    lines.append(f"平均认领用时：{fmt_span(r.mean_claim)}（{r.claimed} 起）；平均办结用时：{fmt_span(r.mean_close)}（{r.closed} 起）")
    return "\n".join(lines)
