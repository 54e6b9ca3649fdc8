"""Period reports: counts by grade, category, status and source; open and overdue; mean time
to claim and to close. `build_report` computes (from storage), `render_report` formats (pure)."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from core.clock import from_iso, parse_duration, parse_iso
from core.config import Config
from core.deadlines import OVERDUE_LABELS, deadlines_for
from core.duty import overrides_in_force, shifts_of_day
from core.grades import Grade
from core.health import BUCKETS, source_health
from core.incidents import IncidentService
from core.models import Incident, State
from core.render import Card, fmt_span, timeline, timeline_line
from storage import incidents as store
from storage import people as people_store
from storage import reports as reports_store

__all__ = [
    "PERIODS",
    "BackwardsPeriod",
    "Report",
    "build_report",
    "folded",
    "parse_period",
    "period_bounds",
    "render_report",
    "special_report",
]

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
    # the trend of a period longer than a day: local date (ISO) -> (new, closed) that day
    by_day: dict[str, tuple[int, int]] = field(default_factory=dict)
    duty_officer: str = ""  # a day's report (日报): who was on duty that day (值班员), with a rota


_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_TO = re.compile(r"\s*(?:\.\.|~|至|到|—|–)\s*")  # between a range's dates, as typed
_ALIASES = {
    "今日": "today",
    "今天": "today",
    "本周": "week",
    "周": "week",
    "本月": "month",
    "月": "month",
    "昨天": "yesterday",
    "昨日": "yesterday",
    "上周": "lastweek",
}


class BackwardsPeriod(ValueError):
    """A date range that ends before it starts (2026-11-30..2026-11-01)."""

    def __init__(self, text: str, start: date, end: date):
        super().__init__(text)
        self.start, self.end = start, end


def parse_period(text: str) -> str:
    """today | week | month | yesterday | lastweek | YYYY-MM-DD..YYYY-MM-DD (Chinese words too;
    a range as an input method types it: full-width digits, 至 or ～ between; one date alone is
    that day). Returns the canonical name or `YYYY-MM-DD..YYYY-MM-DD`.

    :raises ValueError: for anything else, or a range that ends before it starts.
    """
    t = unicodedata.normalize("NFKC", text).strip()
    t = _ALIASES.get(t, t).lower()
    if t in PERIODS:
        return t
    parts = _TO.split(t)
    if len(parts) == 1:
        parts = [t, t]
    if len(parts) != 2 or not all(_DAY.match(p) for p in parts):
        raise ValueError(text)
    a, b = (date(*map(int, p.split("-"))) for p in parts)
    if b < a:
        raise BackwardsPeriod(text, a, b)
    return f"{a.isoformat()}..{b.isoformat()}"


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


def _source_health(db: Database, config) -> dict[str, int]:
    rows = reports_store.source_health_rows(db)
    out = dict.fromkeys(BUCKETS, 0)
    for s in config.sources:
        out[source_health(rows.get(s.id, {}), config.collection.break_after).bucket] += 1
    return out


def _ranked(groups: list[tuple], key, where=None) -> dict:
    """Counts of `key(row)` over the period's groups (storage.reports.period_groups), most
    common first, ties in the order the keys first appear (as Counter.most_common over the
    incidents by id)."""
    counts: dict = {}
    first: dict = {}
    for row in groups:
        if where is not None and not where(row):
            continue
        k = key(row)
        counts[k] = counts.get(k, 0) + row[6]
        first[k] = min(first.get(k, row[7]), row[7])
    return dict(Counter({k: counts[k] for k in sorted(counts, key=first.__getitem__)}).most_common())


@dataclass(frozen=True)
class _Dated:
    """What the claim deadline is worked out from (an open incident's grade and opening)."""

    grade: Grade
    created_at: datetime
    state: State = State.NEW  # only the claim deadline is asked of it: no 转办 feedback
    feedback_due_at: datetime | None = None


def _overdue(db: Database, config, now: datetime, tz: ZoneInfo) -> tuple[int, list[int], dict[str, int]]:
    """(open incidents, the overdue ones by id, how many under each kind): the rule of
    core.deadlines.missed_deadlines / overdue_kind, as creation-time limits per grade for SQL.
    A claim deadline that is not a fixed time after creation (the next working day) is worked
    out here, with deadlines_for, for the few unclaimed incidents that missed nothing more serious."""
    limits, ask = {}, []
    for g, rule in config.grades.items():
        full = now - parse_duration(rule.full_response) if rule.full_response else None
        first = now - parse_duration(rule.first_response) if rule.first_response else None
        claim = None
        if rule.claim == "next_workday":
            ask.append(g.value)
        else:
            claim = now - parse_duration(rule.claim)
        limits[g.value] = (full, first, claim)
    n_open, rows = reports_store.open_overdue(db, limits, tuple(ask), now)
    overdue: list[int] = []
    kinds: Counter[str] = Counter()
    for iid, kind, grade, created in rows:
        if kind is None:
            probe = _Dated(Grade(grade), parse_iso(created))
            if now <= deadlines_for(probe, config.grades, tz).claim:
                continue
            kind = "claim"
        overdue.append(iid)
        kinds[kind] += 1
    return n_open, overdue, {k: kinds[k] for k in OVERDUE_LABELS if kinds[k]}


def build_report(db: Database, config: Config, period: str, now: datetime, tz: ZoneInfo) -> Report:
    """The figures of `period`, read as SQL aggregates (storage.reports): no Incident is built.
    Spans are whole seconds (stored times have no fraction) and stay ints until the figures."""
    start, end = period_bounds(period, now, tz)
    groups = reports_store.period_groups(db, start, end)
    spans = reports_store.period_spans(db, start, end)
    opened, closed = reports_store.period_times(db, start, end)
    claim_times = [c for _, _, c, _, _ in spans if c is not None]
    close_times = [d for _, _, _, d, _ in spans if d is not None]
    n_open, overdue, overdue_by_kind = _overdue(db, config, now, tz)
    names = {s.id: s.name for s in config.sources}
    people = {p.id: p.name for p in config.people}
    by_person: dict[str, tuple[list, list]] = {}
    held: Counter[str] = Counter()  # 件数: every incident a person holds, also one closed or transferred unclaimed
    by_grade_claims: dict[str, list] = {}
    for grade, assignee, c, d, taken in spans:
        if assignee:  # a person's claim time is their own taking of it (period_spans), not the first claim
            name = people.get(assignee, assignee)
            held[name] += 1
            claims, closes = by_person.setdefault(name, ([], []))
            if taken is not None:
                claims.append(taken)
            if d is not None:
                closes.append(d)
        if c is not None:
            by_grade_claims.setdefault(grade, []).append(c)
    by_grade = {g.value: 0 for g in Grade}
    by_state = {s.value: 0 for s in State}
    fp: dict[str, tuple[int, int]] = {}
    for grade, category, state, _src, disposition, _team, n, _first in sorted(groups, key=lambda r: r[7]):
        by_grade[grade] = by_grade.get(grade, 0) + n
        by_state[state] = by_state.get(state, 0) + n
        if state == State.CLOSED.value and disposition:
            f, m = fp.get(category or "未分类", (0, 0))
            fp[category or "未分类"] = (f + n * (disposition == "误报"), m + n)
    return Report(
        period=period,
        start=start,
        end=end,
        total=sum(r[6] for r in groups),
        by_grade={g.value: by_grade[g.value] for g in Grade},
        by_category=_ranked(groups, lambda r: r[1] or "未分类"),
        by_state={s.value: by_state[s.value] for s in State},
        by_source=_ranked(groups, lambda r: names.get(r[3], r[3] or "—")),
        by_disposition=_ranked(groups, lambda r: r[4], where=lambda r: r[4]),
        open_now=n_open,
        overdue_now=overdue,
        overdue_by_kind=overdue_by_kind,
        mean_claim=_mean_s(claim_times),
        mean_close=_mean_s(close_times),
        claimed=len(claim_times),
        closed=len(close_times),
        closed_in_period=len(closed),  # the trend's closings are those of the period: one read
        by_team=_ranked(groups, lambda r: config.team(r[5]).name),
        p90_claim=_p90_s(claim_times),
        p90_close=_p90_s(close_times),
        claim_by_grade={g.value: (_mean_s(v), _p90_s(v)) for g in Grade if (v := by_grade_claims.get(g.value))},
        claim_by_person={name: (held[name], _mean_s(c), _mean_s(d)) for name, (c, d) in sorted(by_person.items())},
        false_positive_rate=fp,
        sources=_source_health(db, config),
        by_day=_by_day(start, min(end, now), tz, [parse_iso(t) for t in opened], [parse_iso(t) for t in closed]),
        duty_officer=_duty_officer(db, config, start, end, tz, people),
    )


def _duty_officer(db: Database, config, start: datetime, end: datetime, tz: ZoneInfo, people: dict) -> str:
    """The day's duty officers (值班员: everyone with a shift of that duty day, in turn) for a
    report of one day; '' for longer ones or without a rota."""
    duty = config.organization.duty
    if duty is None or end - start > timedelta(days=1):
        return ""
    overrides = overrides_in_force(duty, people_store.duty_overrides(db), config.duty_person)
    shifts = shifts_of_day(duty, overrides, start.astimezone(tz).date(), tz)
    return "、".join(dict.fromkeys(people.get(s.person, s.person) for s in shifts))


def folded(counts: dict[str, int], most: int, rest: str = "其他") -> list[tuple[str, int]]:
    """At most `most` (name, count) pairs that still add up to every count: past `most`, the
    first `most - 1` and the rest as one (其他) — for a chart's bars or a sentence."""
    items = list(counts.items())
    if len(items) <= most:
        return items
    return items[: most - 1] + [(rest, sum(n for _, n in items[most - 1 :]))]


def _mean_s(seconds: list[int]) -> timedelta | None:
    """The mean of whole seconds: an exact sum and one rounding, as statistics.mean gives."""
    return timedelta(seconds=sum(seconds) / len(seconds)) if seconds else None


def _p90_s(seconds: list[int]) -> timedelta | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return timedelta(seconds=ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)])


def _by_day(
    start: datetime, end: datetime, tz: ZoneInfo, created: list[datetime], closed: list[datetime]
) -> dict[str, tuple[int, int]]:
    """New and closed incidents per local day of [start, end); empty for a day or less."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()
    if last <= first:
        return {}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    new = Counter(t.astimezone(tz).date() for t in created)
    done = Counter(t.astimezone(tz).date() for t in closed)
    return {d.isoformat(): (new[d], done[d]) for d in days}


def render_report(r: Report, tz: ZoneInfo, org: str = "") -> str:
    state_label = {s.value: s.label for s in State}
    name = PERIODS.get(r.period, "专项时段")
    m = _RANGE.match(r.period)
    span = (  # a range of whole days by its dates, with their years
        f"{m.group(1)} 至 {m.group(2)}"
        if m
        else f"{r.start.astimezone(tz):%m-%d %H:%M} 至 {r.end.astimezone(tz):%m-%d %H:%M}"
    )
    title = f"📊 {org}舆情{name}报告（{span}）"
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


def special_report(
    db: Database, config: Config, incident_id: int, tz: ZoneInfo, render_card: Callable[[Incident], Card]
) -> str:
    """专报 for one incident: the card, its posts and sources, the timeline of actions, the
    disposition and any lessons noted.

    :raises storage.incidents.IncidentNotFound:
    """
    from dataclasses import replace

    from core.render import by_publication, card_text, fmt_time, source_label
    from jobs.casebook import lesson_of

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
    posts = by_publication(store.posts_for(db, incident_id))  # as it spread, like the docx 专报
    sources = sorted({p["source_name"] or source_label(p["source_id"]) for p in posts})
    lines.append(f"\n一、传播情况：{len(posts)} 篇帖文，{len(sources)} 个来源（{'、'.join(sources)}）")
    lines += [
        f"  · {fmt_time(from_iso(p['published_at'] or p['fetched_at']), tz)} "
        f"{p['source_name'] or source_label(p['source_id'])}：{p['title'][:50]}"
        for p in posts[:20]
    ]
    lines.append("二、处置过程：")
    lessons = []
    for entry in timeline(store.events_for(db, incident_id), names, sources={s.id: s.name for s in config.sources}):
        if entry.action == "note" and lesson_of(entry.detail) is not None:  # as the casebook reads them
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
    db: Database, config: Config, period: str, now: datetime, tz: ZoneInfo, out_dir: str | Path
) -> tuple[str, str | None]:
    """The report text and, when charts can be drawn here, the path of its PNG."""
    from pathlib import Path

    r = build_report(db, config, period, now, tz)
    text = render_report(r, tz, config.organization.name)
    try:
        from jobs.charts import render_report_chart
        from jobs.outfiles import fresh_path

        # its own name: two reports drawn in the same second each send their own chart
        stem = f"report-{re.sub(r'[^0-9A-Za-z]+', '-', period)}-{now.astimezone(tz):%Y%m%d-%H%M%S}"
        path = fresh_path(Path(out_dir) / "reports", stem, ".png")
        return text, str(render_report_chart(r, path, text.splitlines()[0]))
    except Exception:  # a chart is a bonus: the figures still go out without it
        log.exception("report chart could not be drawn")
        return text, None


def send_scheduled_report(
    service: IncidentService,
    period: str,
    tz: ZoneInfo,
    out_dir: str | Path | None = None,
    prepared: tuple[str, str | None] | tuple[str, str | None, str | None] | None = None,
) -> str:
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
