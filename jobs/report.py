"""Period reports: counts by grade, category, status and source; open and overdue; mean time
to claim and to close. `build_report` computes (from storage), `render_report` formats (pure)."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import from_iso
from core.deadlines import OVERDUE_LABELS, deadlines_for, overdue_kind
from core.duty import shift_of_day
from core.grades import Grade
from core.health import source_health
from core.models import State
from core.render import timeline, timeline_line
from storage import incidents as store
from storage import people as people_store

__all__ = ["PERIODS", "Report", "build_report", "parse_period", "period_bounds", "render_report", "special_report"]

log = logging.getLogger(__name__)

PERIODS = {"today": "今日", "week": "本周", "month": "本月", "yesterday": "日报·昨日", "lastweek": "周报·上周"}


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
    closed_in_period: int = 0
    by_team: dict[str, int] = field(default_factory=dict)
    p90_claim: timedelta | None = None
    p90_close: timedelta | None = None
    claim_by_grade: dict[str, tuple[timedelta | None, timedelta | None]] = field(default_factory=dict)
    claim_by_person: dict[str, tuple[int, timedelta | None, timedelta | None]] = field(default_factory=dict)
    false_positive_rate: dict[str, tuple[int, int]] = field(default_factory=dict)  # category -> (误报, closed)
    sources: dict[str, int] = field(default_factory=dict)  # health -> count
    overdue_by_kind: dict[str, int] = field(default_factory=dict)  # claim|first|full -> count (most serious missed)
    duty_officer: str = ""  # a day's report (日报): who was on duty that day (值班员), with a rota


_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> str:
    """today | week | month | YYYY-MM-DD..YYYY-MM-DD (Chinese aliases too).

    :raises ValueError: for anything else, or a range that ends before it starts.
    """
    t = {"今日": "today", "今天": "today", "本周": "week", "周": "week", "本月": "month", "月": "month"}.get(text, text)
    t = t.lower()
    if t in PERIODS:
        return t
    m = _RANGE.match(t)
    if not m:
        raise ValueError(text)
    a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
    if b < a:
        raise ValueError(text)
    return t


def period_bounds(period: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of today / this week (from Monday) / this month / a date range, local time."""
    m = _RANGE.match(period)
    if m:
        a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        return (
            datetime(a.year, a.month, a.day, tzinfo=tz),
            datetime(b.year, b.month, b.day, tzinfo=tz) + timedelta(days=1),
        )
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "yesterday":
        return midnight - timedelta(days=1), midnight
    if period == "lastweek":
        monday = midnight - timedelta(days=local.weekday())
        return monday - timedelta(days=7), monday
    if period == "today":
        start = midnight
    elif period == "week":
        start = midnight - timedelta(days=local.weekday())
    elif period == "month":
        start = midnight.replace(day=1)
    else:
        raise ValueError(period)
    return start, now + timedelta(seconds=1)


def _p90(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _source_health(db: Database, config) -> dict[str, int]:
    rows = {r["id"]: r for r in db.query("SELECT * FROM sources")}
    out = {"正常": 0, "失败": 0, "停用": 0, "沉寂": 0}
    for s in config.sources:
        out[source_health(rows.get(s.id, {}), config.collection.break_after).bucket] += 1
    return out


def build_report(db: Database, config, period: str, now: datetime, tz: ZoneInfo) -> Report:
    start, end = period_bounds(period, now, tz)
    incs = store.incidents_between(db, start, end)
    claim_times = [i.claimed_at - i.created_at for i in incs if i.claimed_at]
    close_times = [i.closed_at - i.created_at for i in incs if i.closed_at and i.state is State.CLOSED]
    open_all = store.open_incidents(db)
    kinds = {i.id: overdue_kind(i, deadlines_for(i, config.grades, tz), now) for i in open_all}
    overdue = [iid for iid, k in kinds.items() if k]
    names = {s.id: s.name for s in config.sources}
    people = {p.id: p.name for p in config.people}
    by_person: dict[str, tuple[list, list]] = {}
    for i in incs:
        if i.assignee:
            claims, closes = by_person.setdefault(people.get(i.assignee, i.assignee), ([], []))
            if i.claimed_at:
                claims.append(i.claimed_at - i.created_at)
            if i.closed_at and i.state is State.CLOSED:
                closes.append(i.closed_at - i.created_at)
    fp: dict[str, tuple[int, int]] = {}
    for i in incs:
        if i.state is State.CLOSED and i.disposition:
            f, n = fp.get(i.category or "未分类", (0, 0))
            fp[i.category or "未分类"] = (f + (i.disposition.value == "误报"), n + 1)
    closed_in_period = db.execute(
        "SELECT COUNT(*) FROM incidents WHERE state='closed' AND closed_at >= ? AND closed_at < ?",
        [
            start.astimezone(UTC).isoformat(timespec="seconds"),
            end.astimezone(UTC).isoformat(timespec="seconds"),
        ],
    ).fetchone()[0]
    return Report(
        period=period,
        start=start,
        end=end,
        total=len(incs),
        by_grade={g.value: sum(1 for i in incs if i.grade is g) for g in Grade},
        by_category=dict(Counter(i.category or "未分类" for i in incs).most_common()),
        by_state={s.value: sum(1 for i in incs if i.state is s) for s in State},
        by_source=dict(Counter(names.get(i.source_id, i.source_id or "—") for i in incs).most_common()),
        by_disposition=dict(Counter(i.disposition.value for i in incs if i.disposition).most_common()),
        open_now=len(open_all),
        overdue_now=overdue,
        overdue_by_kind={k: n for k in OVERDUE_LABELS if (n := sum(1 for v in kinds.values() if v == k))},
        mean_claim=_mean(claim_times),
        mean_close=_mean(close_times),
        claimed=len(claim_times),
        closed=len(close_times),
        closed_in_period=closed_in_period,
        by_team=dict(Counter(config.team(i.team).name for i in incs).most_common()),
        p90_claim=_p90(claim_times),
        p90_close=_p90(close_times),
        claim_by_grade={
            g.value: (_mean(v), _p90(v))
            for g in Grade
            if (v := [i.claimed_at - i.created_at for i in incs if i.grade is g and i.claimed_at])
        },
        claim_by_person={name: (len(c), _mean(c), _mean(d)) for name, (c, d) in sorted(by_person.items())},
        false_positive_rate=fp,
        sources=_source_health(db, config),
        duty_officer=_duty_officer(db, config, start, end, tz, people),
    )


def _duty_officer(db: Database, config, start: datetime, end: datetime, tz: ZoneInfo, people: dict) -> str:
    """The day's duty officer (值班员) for a report of one day; '' for longer ones or without a rota."""
    duty = config.organization.duty
    if duty is None or end - start > timedelta(days=1):
        return ""
    overrides = {**duty.overrides, **people_store.duty_overrides(db)}
    shift = shift_of_day(duty, overrides, start.astimezone(tz).date(), tz)
    return people.get(shift.person, shift.person) if shift else ""


def _mean(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=mean(v.total_seconds() for v in values)) if values else None


def fmt_span(td: timedelta | None) -> str:
    if td is None:
        return "—"
    minutes = round(td.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{hours / 24:.1f} 天"


def render_report(r: Report, tz: ZoneInfo, org: str = "") -> str:
    state_label = {s.value: s.label for s in State}
    name = PERIODS.get(r.period, "专项时段")
    title = f"📊 {org}舆情{name}报告（{r.start.astimezone(tz):%m-%d %H:%M} 至 {r.end.astimezone(tz):%m-%d %H:%M}）"
    lines = [title] + ([f"值班员：{r.duty_officer}"] if r.duty_officer else [])
    lines.append(f"新增事件：{r.total} 起；期间办结：{r.closed_in_period} 起")
    lines.append("按等级：" + "，".join(f"{Grade(g).emoji}{g} {n}" for g, n in r.by_grade.items()))
    if r.by_category:
        lines.append("按类别：" + "，".join(f"{k} {v}" for k, v in r.by_category.items()))
    lines.append("按状态：" + "，".join(f"{state_label[k]} {v}" for k, v in r.by_state.items()))
    if r.by_source:
        lines.append("按来源：" + "，".join(f"{k} {v}" for k, v in r.by_source.items()))
    if r.by_disposition:
        lines.append("处置方式：" + "，".join(f"{k} {v}" for k, v in r.by_disposition.items()))
    overdue = f"当前未结：{r.open_now} 起；其中超时 {len(r.overdue_now)} 起"
    if r.overdue_now:  # which deadline each missed (the most serious one), then the first ten numbers
        overdue += "（" + "、".join(f"{OVERDUE_LABELS[k]} {n}" for k, n in r.overdue_by_kind.items()) + "）："
        overdue += "、".join(f"#{i}" for i in r.overdue_now[:10]) + ("等" if len(r.overdue_now) > 10 else "")
    lines.append(overdue)
    lines.append(
        f"平均认领用时：{fmt_span(r.mean_claim)}（{r.claimed} 起）；平均办结用时：{fmt_span(r.mean_close)}（{r.closed} 起）"
    )
    if r.claimed:
        lines.append(f"认领用时 P90：{fmt_span(r.p90_claim)}；办结用时 P90：{fmt_span(r.p90_close)}")
    if r.claim_by_grade:
        lines.append(
            "分等级认领用时（平均/P90）："
            + "，".join(f"{g} {fmt_span(m)}/{fmt_span(p)}" for g, (m, p) in r.claim_by_grade.items())
        )
    if r.claim_by_person:
        lines.append(
            "按人员（件数，平均认领，平均办结）："
            + "，".join(f"{n} {c} 起 {fmt_span(m)} {fmt_span(d)}" for n, (c, m, d) in r.claim_by_person.items())
        )
    if r.false_positive_rate:
        lines.append(
            "误报率（按类别）：" + "，".join(f"{k} {f}/{n}" for k, (f, n) in sorted(r.false_positive_rate.items()))
        )
    if len(r.by_team) > 1:
        lines.append("按团队：" + "，".join(f"{k} {v}" for k, v in r.by_team.items()))
    if r.sources:
        lines.append("来源覆盖：" + "，".join(f"{k} {v}" for k, v in r.sources.items() if v))
    return "\n".join(lines)


def special_report(db: Database, config, incident_id: int, tz: ZoneInfo, render_card) -> str:
    """专报 for one incident: the card, its posts and sources, the timeline of actions, the
    disposition and any lessons noted.

    :raises storage.incidents.IncidentNotFound:
    """
    from dataclasses import replace

    from core.render import card_text, fmt_time

    inc = store.get_incident(db, incident_id)
    card = render_card(inc)
    card = replace(card, fields=tuple(f for f in card.fields if f[0] != "研判"))  # said once, below
    lines = [f"📄 舆情专报 · #{inc.id}", card_text(card, with_commands=False)]
    names = {p.id: p.name for p in config.people}
    judged = [ev for ev in store.events_for(db, incident_id) if ev.action == "judge"]
    if judged:
        last = judged[-1]
        lines.append(
            f"研判意见：{last.detail.get('text') or ''}"
            f"（{names.get(last.actor, last.actor) if last.actor else '系统'} {fmt_time(last.at, tz)}）"
        )
    else:
        lines.append(f"研判意见：尚未研判（/judge {inc.id} 研判意见）")
    posts = store.posts_for(db, incident_id)
    sources = sorted({p["source_name"] or p["source_id"] for p in posts})
    lines.append(f"\n一、传播情况：{len(posts)} 篇帖文，{len(sources)} 个来源（{'、'.join(sources)}）")
    lines += [
        f"  · {fmt_time(from_iso(p['fetched_at']), tz)} {p['source_name'] or p['source_id']}：{p['title'][:50]}"
        for p in posts[:20]
    ]
    lines.append("二、处置过程：")
    lessons = []
    for entry in timeline(store.events_for(db, incident_id), names):
        if entry.action == "note" and entry.detail.startswith(("教训", "经验")):
            lessons.append(entry.detail)
        lines.append("  " + timeline_line(entry, tz))
    lines.append(
        f"三、处置结果：{inc.disposition.value if inc.disposition else '尚未办结'}"
        + (f"（{inc.summary}）" if inc.summary else "")
    )
    if lessons:
        lines.append("四、经验教训：" + "；".join(lessons))
    return "\n".join(lines)


def report_with_chart(
    db: Database, config, period: str, now: datetime, tz: ZoneInfo, out_dir
) -> tuple[str, str | None]:
    """The report text and, when charts can be drawn here, the path of its PNG."""
    from pathlib import Path

    r = build_report(db, config, period, now, tz)
    text = render_report(r, tz, config.organization.name)
    try:
        from jobs.charts import render_report_chart

        name = f"report-{re.sub(r'[^0-9A-Za-z]+', '-', period)}-{now.astimezone(tz):%Y%m%d-%H%M%S}.png"
        return text, str(render_report_chart(r, Path(out_dir) / "reports" / name, text.splitlines()[0]))
    except Exception:  # a chart is a bonus: the figures still go out without it
        log.exception("report chart could not be drawn")
        return text, None


def send_scheduled_report(service, period: str, tz: ZoneInfo, out_dir=None, prepared=None) -> str:
    """The 日报 / 周报: to every team's group and privately to everyone with a subscription.
    `prepared`: (text, image) or (text, image, document) already drawn (off the loop, see
    bot.app); else drawn here. A document's path travels in the payload as `document`."""
    from storage import outbox, write_tx
    from storage import people as people_store

    now = service.clock()
    document = None
    if prepared is not None:
        text, image, document = (*prepared, None)[:3]
    elif out_dir is not None:
        text, image = report_with_chart(service.db, service.config, period, now, tz, out_dir)
    else:
        text, image = (
            render_report(
                build_report(service.db, service.config, period, now, tz), tz, service.config.organization.name
            ),
            None,
        )
    targets = []
    for team in service.config.teams:
        targets += service.router.group_chats(team.id)
    for pid in people_store.subscriptions(service.db):
        person = service.config.person(pid)
        if person:
            targets += service.router.private_chats(person)
    with write_tx(service.db):
        for platform, chat in dict.fromkeys(targets):
            outbox.enqueue(
                service.db,
                now,
                platform=platform,
                chat=chat,
                kind=outbox.TEXT,
                payload={
                    "text": text,
                    **({"image": image} if image else {}),
                    **({"document": document} if document else {}),
                },
            )
    service.on_queued()
    return text
