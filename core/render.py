"""Pure rendering, the one home of what the bot shows: incident -> card (text blocks +
buttons), the event timeline (cards' notices, /show, reports, the casebook and documents), the
group notices of lifecycle events, digests. Adapters translate cards into console text,
Telegram HTML or WeCom markdown; nothing here knows a platform."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from core.clock import from_iso
from core.excerpt import segments
from core.grades import Grade
from core.grading import Reason
from core.lifecycle import Action
from core.models import Event, Incident, State
from core.steps import split_step

__all__ = [
    "ACTION_NAMES",
    "FOLLOW_UP_WORDS",
    "SYSTEM",
    "SYSTEM_EVENTS",
    "SYSTEM_ID",
    "TIP_SOURCE_ID",
    "TIP_SOURCE_NAME",
    "Button",
    "Card",
    "RenderContext",
    "TimelineEntry",
    "TimelineOptions",
    "by_publication",
    "card_text",
    "contact_slip",
    "describe_event",
    "fmt_span",
    "fmt_time",
    "inert",
    "level_notice",
    "mute_notice",
    "plain_reasons",
    "regrade_notice",
    "reminders_text",
    "render_card",
    "render_digest",
    "render_notice",
    "safe_url",
    "short_line",
    "shrink_card",
    "signoff_request",
    "source_label",
    "source_notice",
    "split_text",
    "status_summary",
    "timeline",
    "timeline_line",
    "timeline_text",
]

# What each audit event is called in Chinese (timelines, /show, reports, the casebook).

ACTION_NAMES = {
    "opened": "发现",
    "post_added": "新增帖文",
    "regraded": "等级调整",
    "claim": "认领",
    "unclaim": "取消认领",
    "assign": "指派",
    "note": "备注",
    "escalate": "升级",
    "close": "关闭",
    "reopen": "重新打开",
    "mute": "静音",
    "judge": "研判",
    "signoff": "销号",
    "unmute": "取消静音",
    "reminder": "提醒",
    "instruct": "领导批示",
    "read": "已阅",
    "transfer": "转办",
    "feedback": "反馈",
}


@dataclass(frozen=True)
class Button:
    label: str
    action: Action
    incident_id: int
    arg: str | None = None

    @property
    def command(self) -> str:
        """The text command the button stands for (used where buttons cannot be shown)."""
        base = f"/{self.action.value} {self.incident_id}"
        hint = {
            Action.NOTE: " 内容",
            Action.ESCALATE: " [原因]",
            Action.CLOSE: " 处置 [说明]",
            Action.INSTRUCT: " 批示内容",
        }.get(self.action, "")
        return base + (f" {self.arg}" if self.arg else hint)


@dataclass(frozen=True)
class Card:
    """A neutral card: header line, linked title, the excerpt, labelled fields, buttons.

    `excerpt` is the post's sentence(s) around the matched terms as (piece, marked) pairs:
    platforms with bold set the marked pieces (the matched words) in bold; every piece is
    scraped text, escaped like any other."""

    header: str
    title: str
    url: str | None
    fields: tuple[tuple[str, str], ...]
    buttons: tuple[Button, ...] = ()
    footer: str | None = None
    excerpt: tuple[tuple[str, bool], ...] = ()

    @property
    def excerpt_text(self) -> str:
        return "".join(piece for piece, _ in self.excerpt)


@dataclass(frozen=True)
class RenderContext:
    tz: ZoneInfo
    now: datetime
    names: dict[str, str] = field(default_factory=dict)
    deadline: tuple[str, datetime] | None = None
    overdue: bool = False
    facts_only: bool = False  # for a facts-only chat (a partner department): no internal assessment
    leader: bool = False  # a leader's private chat: 已阅 and 批示 instead of the team's buttons
    instructions: tuple[tuple[str, datetime, str], ...] = ()  # the latest 批示: (who, when, text)
    readers: tuple[str, ...] = ()  # who recorded 已阅 (names), shown on grade I–II cards


# C0 and C1 control characters (but tab and newline), DEL, and the bidirectional embedding,
# override and isolate controls: in scraped (or typed) text they only do harm when shown — an
# ESC sequence rewrites the operator's terminal, a carriage return overprints the line, U+202E
# shows "张建国" for the stored "国建张" and turns the rest of the line around.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str | None) -> str:
    """`text` for showing: without control characters and bidi overrides (stored text keeps them)."""
    return _UNSAFE.sub("", text or "")


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) link with a host, else None: scraped `javascript:`,
    `data:` or relative links are never rendered as links on any platform."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or _UNSAFE.search(url)
        or "\t" in url
        or "\n" in url
    ):
        return None
    return url


def fmt_time(dt: datetime | None, tz: ZoneInfo, *, with_date: bool = True) -> str:
    if dt is None:
        return "—"
    local = dt.astimezone(tz)
    return local.strftime("%m-%d %H:%M" if with_date else "%H:%M")


def fmt_span(td: timedelta | None) -> str:
    """A duration as people say it: "40 分钟", "1 小时 5 分钟", "2.5 天" (never "0.0 小时")."""
    if td is None:
        return "—"
    minutes = round(td.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{hours / 24:.1f} 天"


def _buttons(inc: Incident, leader: bool = False) -> tuple[Button, ...]:
    i = inc.id
    if leader:  # a leader reads and instructs; claiming and closing are the team's
        if inc.state is State.CLOSED:
            return (Button("已阅", Action.READ, i),)
        return (Button("已阅", Action.READ, i), Button("批示", Action.INSTRUCT, i))
    if inc.state is State.CLOSED:
        return (Button("重新打开", Action.REOPEN, i), Button("备注", Action.NOTE, i))
    if inc.state is State.PENDING_SIGNOFF:  # a leader signs off with /signoff; the team may only note
        return (Button("备注", Action.NOTE, i),)
    out = []
    if not inc.assignee:
        out.append(Button("认领", Action.CLAIM, i))
    out += [Button("备注", Action.NOTE, i), Button("升级", Action.ESCALATE, i), Button("关闭", Action.CLOSE, i)]
    return tuple(out)


TIP_SOURCE_ID = "tip"  # the source of what people hand in with /tip (jobs.tips.TIP_SOURCE)
TIP_SOURCE_NAME = "人工线索"


def source_label(source_id: str | None, sources: Mapping[str, str] | None = None) -> str:
    """A source as users know it: its configured name (`sources`: id -> name), 人工线索 for
    tips, else the id (a source no longer configured); '—' for none."""
    if not source_id:
        return "—"
    if sources and sources.get(source_id):
        return sources[source_id]
    return TIP_SOURCE_NAME if source_id == TIP_SOURCE_ID else source_id


def render_card(inc: Incident, ctx: RenderContext) -> Card:
    """The alert card for an incident, as it stands now."""
    header = f"{inc.grade.badge} · #{inc.id} · {inc.category or '未分类'}"
    fields: list[tuple[str, str]] = []
    if not ctx.facts_only:  # a leader's 批示 first: it is what the team acts on
        fields += [(f"📌 批示（{who} {fmt_time(at, ctx.tz)}）", text) for who, at, text in ctx.instructions[-2:]]
    src = inc.source_name or source_label(inc.source_id)
    if inc.tip_by and not ctx.facts_only:  # who handed the tip in (not for a partner department)
        src += f"（{ctx.names.get(inc.tip_by, inc.tip_by)}）"
    if inc.source_count > 1:
        src += f" 等 {inc.source_count} 个来源"
    fields.append(("来源", f"{src} · {fmt_time(inc.published_at or inc.created_at, ctx.tz)}"))
    who = []
    for kind in ("cadres", "units"):
        who += inc.matched.get(kind, [])
    if who:
        fields.append(("涉及", "、".join(who)))
    officials = _officials(inc.matched)
    if officials:
        fields.append(("干部", officials))
    places = inc.matched.get("places", [])
    if places:
        fields.append(("地点", "、".join(places)))
    words, score = plain_reasons(inc.reasons)
    fields.append(("定级理由", words))
    if score:
        fields.append(("评分", score))
    state = inc.state.label
    if inc.assignee and not ctx.facts_only:  # who in the team holds it (not for a partner department)
        state += f" · {ctx.names.get(inc.assignee, inc.assignee)}"
    if inc.escalation_level:
        state += f" · 升级第 {inc.escalation_level} 级"
    if inc.state is State.AWAITING_FEEDBACK and inc.transfer_unit:
        state += f" · 转办 {inc.transfer_unit}"
    if inc.state in (State.CLOSED, State.PENDING_SIGNOFF) and inc.disposition:
        state += f" · {inc.disposition.value}"
        if inc.summary:
            state += f"（{inc.summary}）"
    fields.append(("状态", state))
    if inc.state is State.PENDING_SIGNOFF and not ctx.facts_only:
        fields.append(("待销号", f"请领导 /signoff {inc.id} 销号，或 /reopen {inc.id} 原因 退回"))
    if inc.judgement and not ctx.facts_only:
        fields.append(("研判", inc.judgement))
    if ctx.readers and inc.grade in (Grade.I, Grade.II) and not ctx.facts_only:
        fields.append(("已阅", "、".join(ctx.readers)))
    if ctx.deadline:
        label, when = ctx.deadline
        mark = " ⚠️已超时" if ctx.overdue else ""
        fields.append((label, fmt_time(when, ctx.tz) + mark))
    return Card(
        header=inert(header),
        title=inert(inc.title),
        url=safe_url(inc.url),
        fields=tuple((label, inert(value)) for label, value in fields),
        buttons=_buttons(inc, ctx.leader),
        excerpt=_excerpt(inc.matched),
    )


def _officials(matched: Mapping) -> str:
    """Identified officials with their rank: 曲靖市副市长黄太文（厅局级）."""
    labels = matched.get("officials", [])
    ranks = matched.get("official_ranks", [])
    out = []
    for i, label in enumerate(labels):
        rank = ranks[i] if i < len(ranks) and isinstance(ranks[i], str) else ""
        out.append(f"{label}（{rank}级）" if rank else label)
    return "、".join(out)


def _excerpt(matched: Mapping) -> tuple[tuple[str, bool], ...]:
    """The stored excerpt (`matched["excerpt"]`, with `excerpt_marks` "start-end") as pieces."""
    text = (matched.get("excerpt") or [""])[0]
    if not isinstance(text, str) or not text:
        return ()
    marks = []
    for m in matched.get("excerpt_marks", []):
        try:
            a, b = (int(x) for x in str(m).split("-"))
        except ValueError:
            continue
        marks.append((a, b))
    return tuple((inert(piece), marked) for piece, marked in segments(text, marks) if inert(piece))


_POINTS = re.compile(r"\s*(?:[+×]\d+(?:\.\d+)?)$")


def plain_reasons(reasons: Iterable[Reason | str]) -> tuple[str, str]:
    """A grade's reasons in plain words (no points, weights or thresholds: 内容定级 II（重大）：
    可识别的干部…；来源级别：省级媒体) and, apart, the score line for those who want it
    (综合评分 45.6（I 级阈值 24）). Reasons stored as words alone are shown as they are."""
    words, score = [], ""
    for r in reasons:
        r = Reason.from_json(r) if not isinstance(r, Reason) else r
        if r.factor == "score":
            score = r.words
        elif r.factor == "signals":
            continue  # the sum of the signals' points: a number, not a reason
        elif r.factor == "content":
            words.append(r.words.split("；")[0])
        else:
            words.append(_POINTS.sub("", r.words))
    return "；".join(w for w in words if w), score


def card_text(card: Card, *, with_commands: bool = True) -> str:
    """Plain-text form of a card (console; any platform without rich text)."""
    lines = [card.header, card.title]
    if card.url:
        lines.append(card.url)
    if card.excerpt:
        lines.append(f"摘要：{card.excerpt_text}")
    lines += [f"{label}：{value}" for label, value in card.fields]
    if card.footer:
        lines.append(card.footer)
    if with_commands and card.buttons:
        lines.append("操作：" + " · ".join(f"[{b.label}] {b.command}" for b in card.buttons))
    return "\n".join(lines)


def reminders_text(lines: Sequence[tuple[int, str]]) -> str:
    """A chat's reminders of one sweep, (incident id, line) each: a lone one as it is, more as one
    message (`⏰ 时限提醒（N 起事件）` and a line each)."""
    if len(lines) == 1:
        return lines[0][1]
    n = len({iid for iid, _ in lines})
    return f"⏰ 时限提醒（{n} 起事件）\n" + "\n".join(text for _, text in lines)


def short_line(inc: Incident, names: dict[str, str] | None = None, *, facts_only: bool = False) -> str:
    """One line per incident, for /list, /mine and reports (`facts_only`: for a partner
    department, without who in the team holds it)."""
    names = names or {}
    who = f" · {names.get(inc.assignee, inc.assignee)}" if inc.assignee and not facts_only else ""
    return inert(f"{inc.grade.emoji} #{inc.id} [{inc.grade.value}] {inc.title[:40]} · {inc.state.label}{who}")


def split_text(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Split a long reply into chunks of at most `limit` (measured by `size`: characters by
    default, or e.g. UTF-8 bytes), at line breaks where possible."""

    def head(line: str) -> int:
        """The longest prefix of `line` that fits, in characters (at least one)."""
        lo, hi = 1, len(line)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if size(line[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return lo

    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while size(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            n = head(line)
            chunks.append(line[:n])
            line = line[n:]
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def shrink_card(card: Card, fits: Callable[[Card], bool]) -> Card:
    """Cut the longest text (title or a field value) with "…" until `fits(card)` is true.
    Cutting plain text before any markup is added keeps the platform's tags intact."""
    for _ in range(64):
        if fits(card):
            return card
        sizes = [("title", -1, len(card.title)), ("excerpt", -1, len(card.excerpt_text))]
        sizes += [("field", i, len(v)) for i, (_, v) in enumerate(card.fields)]
        kind, idx, size = max(sizes, key=lambda x: x[2])
        keep = max(10, size * 2 // 3)
        if kind == "title":
            card = replace(card, title=card.title[:keep] + "…")
        elif kind == "excerpt":
            card = replace(card, excerpt=_cut_pieces(card.excerpt, keep))
        else:
            fields = list(card.fields)
            label, value = fields[idx]
            fields[idx] = (label, value[:keep] + "…")
            card = replace(card, fields=tuple(fields))
    return card


def _cut_pieces(pieces: tuple[tuple[str, bool], ...], keep: int) -> tuple[tuple[str, bool], ...]:
    out, n = [], 0
    for piece, marked in pieces:
        if n + len(piece) >= keep:
            if keep > n:
                out.append((piece[: keep - n], marked))
            break
        out.append((piece, marked))
        n += len(piece)
    return (*out, ("…", False))


def render_digest(incidents: list[Incident], limit: int, *, total: int | None = None) -> list[tuple[str, list[int]]]:
    """A burst of grade III–IV alerts as digest messages of at most `limit` characters, every
    incident named in one of them (none is only counted): [(text, incident ids in it)], in order.
    `total`: how many the burst has in all, when only some of them are rendered now."""
    total = len(incidents) if total is None else total
    first = f"📋 合并推送：新增 {total} 起较大/一般事件（发送 /show 编号 查看详情，/claim 编号 认领）"
    more = "📋 合并推送（续）"
    out: list[tuple[str, list[int]]] = []
    lines = [first]
    ids: list[int] = []
    for inc in incidents:
        src = inc.source_name or inc.source_id or "—"
        line = inert(
            f"{inc.grade.emoji} #{inc.id} [{inc.grade.value}] {inc.title[:60]} · {inc.category or '未分类'} · {src}"
        )
        line = line[: max(1, limit - len(more) - 1)]
        if ids and len("\n".join(lines + [line])) > limit:
            out.append(("\n".join(lines), ids))
            lines, ids = [more], []
        lines.append(line)
        ids.append(inc.id)
    if ids:
        out.append(("\n".join(lines), ids))
    return out


# ---------------------------------------------------------------------------- the timeline

SYSTEM = "系统"  # who did what nobody did (discovery, new posts, regrading, reminders)
SYSTEM_ID = "system"  # the actor id of what the bot does by itself (auto-escalation): shown as SYSTEM
SYSTEM_EVENTS = frozenset({"opened", "post_added", "regraded", "reminder"})
# why a post the rules judged not relevant joined an incident (core.cluster.FOLLOW_UP_*)
FOLLOW_UP_WORDS = {"copy": "同一事件后续报道：转载", "phrase": "同一事件后续报道：标题语句相同"}


@dataclass(frozen=True)
class TimelineOptions:
    """What a caller leaves out of an incident's timeline.

    :param skip: actions left out (by default reminders).
    :param people_only: leave out what the system did (discovery, new posts, regrading).
    :param last: only the latest `last` entries.
    """

    skip: frozenset[str] = frozenset({"reminder"})
    people_only: bool = False
    last: int | None = None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str
    what: str
    detail: str
    action: str

    def __iter__(self):  # (when, who, what, detail), as documents lay it out
        return iter((self.at, self.who, self.what, self.detail))


NameOf = Callable[[str | None], str] | Mapping[str, str]


def _namer(names: NameOf) -> Callable[[str | None], str]:
    if callable(names):
        named = names
    else:
        table = names

        def named(pid: str | None) -> str:
            return table.get(pid, pid) if pid else "—"

    return lambda pid: SYSTEM if pid == SYSTEM_ID else named(pid)


def describe_event(ev: Event, names: NameOf, sources: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(what, detail) for one audit event, saying to whom, to which level and to what where it
    matters. `sources`: source id -> configured name (`source_label`)."""
    name_of = _namer(names)
    d = ev.detail
    what = ACTION_NAMES.get(ev.action, ev.action)
    detail = d.get("text") or d.get("reason") or ""
    if ev.action == "opened" and d.get("tip_by"):  # opened from a tip: who handed it in
        detail = f"来源 {source_label(d.get('source') or TIP_SOURCE_ID, sources)}（{name_of(d['tip_by'])}）"
    elif ev.action == "assign" and d.get("target"):
        what = f"指派给 {name_of(d['target'])}"
    elif ev.action == "escalate" and d.get("level"):
        what = f"升级（第 {d['level']} 级）"
    elif ev.action == "regraded" and d.get("from") and d.get("to"):
        detail = f"{d['from']} → {d['to']}"
    elif ev.action == "post_added" and d.get("source"):
        detail = f"来源 {source_label(d['source'], sources)}"
        if d.get("follow_up") in FOLLOW_UP_WORDS:  # a post the rules judged not relevant, joined as a follow-up
            detail += f"（{FOLLOW_UP_WORDS[d['follow_up']]}）"
    elif ev.action == "note" and d.get("step") and (marked := split_step(detail)) and marked[0] == d["step"][0]:
        # (a step recorded by an older, looser reading of a note that is no marker stays a note)
        n, words = d["step"]
        what = f"完成预案第 {n} 步「{words}」"
        detail = marked[1]  # the marker is said by `what`: the remark, as typed
    elif ev.action == "close":
        detail = (d.get("disposition") or "") + (f"（{d['summary']}）" if d.get("summary") else "")
        if ev.to_state == State.PENDING_SIGNOFF.value:
            what = "申请关闭（待销号）"
    elif ev.action == "transfer" and d.get("unit"):
        what = f"转办至 {d['unit']}"
        detail = "，".join(
            x for x in (f"{d['due_local']}前反馈" if d.get("due_local") else "", d.get("text") or "") if x
        )
    return what, detail


def timeline(
    events: Iterable[Event],
    names: NameOf,
    options: TimelineOptions = TimelineOptions(),
    sources: Mapping[str, str] | None = None,
) -> list[TimelineEntry]:
    """An incident's audit events as timeline entries, in order, less what `options` leave out.
    `names`: person id -> name (a mapping or a function); `sources`: source id -> name."""
    name_of = _namer(names)
    out = []
    for ev in events:
        if ev.action in options.skip or (options.people_only and ev.action in SYSTEM_EVENTS):
            continue
        what, detail = describe_event(ev, name_of, sources)
        out.append(TimelineEntry(ev.at, name_of(ev.actor) if ev.actor else SYSTEM, what, detail, ev.action))
    return out[-options.last :] if options.last else out


def timeline_line(entry: TimelineEntry, tz: ZoneInfo) -> str:
    """ "05-01 09:30 李强 认领：说明"."""
    return f"{fmt_time(entry.at, tz)} {entry.who} {entry.what}" + (f"：{entry.detail}" if entry.detail else "")


def timeline_text(
    events: Iterable[Event],
    names: NameOf,
    tz: ZoneInfo,
    options: TimelineOptions = TimelineOptions(),
    indent: str = "  ",
    sources: Mapping[str, str] | None = None,
) -> list[str]:
    """The timeline as indented plain-text lines (notices, /show, the 专报)."""
    return [indent + timeline_line(e, tz) for e in timeline(events, names, options, sources)]


def by_publication(posts: list[dict]) -> list[dict]:
    """A story's posts as it spread: by publication time, collection time where a post has none."""
    return sorted(posts, key=lambda p: (from_iso(p["published_at"] or p["fetched_at"]), p["id"]))


# ---------------------------------------------------------------------------- notices


def render_notice(
    inc: Incident,
    action: Action,
    who: str,
    *,
    text: str | None = None,
    target: str | None = None,
    step: tuple[int, str] | None = None,
    level: str | None = None,
    sent_back: bool = False,
) -> str:
    """The group notice for a lifecycle action on `inc` (as it is after the action).

    :param who: the actor's name; `target`: the assignee's name (assign).
    :param step: (number, text) of the playbook step a note completes.
    :param level: the escalation step's name (escalate).
    :param sent_back: a reopen that sends a closing back (it waited for 销号).
    """
    i = inc.id
    if action is Action.CLAIM:
        return f"✋ #{i} 已由 {who} 认领"
    if action is Action.UNCLAIM:
        return f"↩️ #{i} {who} 取消了认领，现待认领"
    if action is Action.ASSIGN:
        return f"👉 #{i} 由 {who} 指派给 {target}"
    if action is Action.NOTE:
        if step:
            n, words = step
            marked = split_step(text)
            return f"☑️ #{i} {who} 完成预案第 {n} 步「{words}」" + (
                "" if marked and marked[0] == n and not marked[1] else f"：{text}"
            )
        return f"📝 #{i} {who}：{text}"
    if action is Action.JUDGE:
        return f"🧭 #{i} {who} 研判：{text}"
    if action is Action.INSTRUCT:
        ask = "" if inc.assignee or inc.state is State.CLOSED else f"\n目前无人认领，请尽快认领落实（/claim {i}）"
        return f"📌 #{i} {who} 批示：{text}{ask}"
    if action is Action.ESCALATE:
        return f"⏫ #{i} 由 {who} 升级至{level}" + (f"：{text}" if text else "")
    if action is Action.CLOSE:
        extra = f"（{inc.summary}）" if inc.summary else ""
        disposition = inc.disposition.value if inc.disposition else "—"
        if inc.state is State.PENDING_SIGNOFF:
            return (
                f"📮 #{i} {who} 申请关闭，处置：{disposition}{extra}；{inc.grade.badge}事件须领导销号（/signoff {i}）"
            )
        return f"✅ #{i} 由 {who} 关闭，处置：{disposition}{extra}"
    if action is Action.SIGNOFF:
        extra = f"（{inc.summary}）" if inc.summary else ""
        return f"✅ #{i} 由 {who} 销号关闭，处置：{inc.disposition.value if inc.disposition else '—'}{extra}"
    if action is Action.REOPEN:
        return f"🔁 #{i} 由 {who} {'退回（未予销号）' if sent_back else '重新打开'}" + (f"：{text}" if text else "")
    if action is Action.TRANSFER:
        return f"📨 #{i} 由 {who} 转办至 {inc.transfer_unit}，{target}前反馈" + (f"：{text}" if text else "")
    if action is Action.FEEDBACK:
        return f"📬 #{i} {who} 记录{inc.transfer_unit or '承办单位'}反馈：{text}"
    raise AssertionError(action)


def contact_slip(inc: Incident, unit: str, due: str, note: str | None, *, judgement: bool = True) -> str:
    """The 工作联系单 of a 转办: the facts for the receiving unit, what is asked, by when.
    `due` in local time; `judgement` False for a facts-only partner (no internal 研判)."""
    lines = [
        "📨 工作联系单",
        f"致：{unit}",
        f"事由：{inc.grade.badge}舆情 #{inc.id}「{inert(inc.title)}」",
    ]
    if safe_url(inc.url):
        lines.append(f"链接：{safe_url(inc.url)}")
    src = inc.source_name or inc.source_id
    if src:
        lines.append(f"来源：{src}")
    if inc.category:
        lines.append(f"类别：{inc.category}")
    if judgement and inc.judgement:
        lines.append(f"研判：{inert(inc.judgement)}")
    if note:
        lines.append(f"请协助：{inert(note)}")
    lines.append(f"请于 {due} 前反馈办理情况。")
    return "\n".join(lines)


def regrade_notice(incident_id: int, before: Grade, after: Grade, n_sources: int) -> str:
    """The notice when a story's grade rises."""
    return f"⬆️ #{incident_id} 等级上调：{before.badge} → {after.badge}（{n_sources} 个来源）"


def source_notice(incident_id: int, source: str) -> str:
    """The notice when a higher-tier source picks a story up."""
    return f"📰 #{incident_id} 有更高级别来源转载：{source}"


def signoff_request(inc: Incident, who: str) -> str:
    """What leaders and admins are asked privately when a grade I–II closing waits for 销号."""
    extra = f"（{inc.summary}）" if inc.summary else ""
    disposition = inc.disposition.value if inc.disposition else "—"
    return (
        f"🔏 #{inc.id} {who} 申请关闭，处置：{disposition}{extra}，请销号确认：\n"
        f"发送 /signoff {inc.id} 销号，或 /reopen {inc.id} 原因 退回继续处置。"
    )


def level_notice(incident_id: int, level: str, reason: str | None = None, timeline: str | None = None) -> str:
    """What an escalation step is told (a facts-only step gets neither reason nor timeline)."""
    text = f"⏫ #{incident_id} 已升级至{level}，请关注" + (f"：{reason}" if reason else "")
    return text + (f"\n{timeline}" if timeline else "")


def mute_notice(incident_id: int | None, who: str, until: str | None) -> str:
    """Muting or unmuting (`until` None) one incident's reminders, or (`incident_id` None) all
    grade III–IV reminders of the group; `until` in local time."""
    if incident_id is None:
        if until is None:
            return f"🔔 {who} 取消了全组静音，恢复全部提醒"
        return (
            f"🔕 {who} 开启全组静音至 {until}：III、IV 级事件暂停提醒（到期后补发），"
            f"I、II 级事件照常提醒。发送 /unmute all 提前结束"
        )
    if until is None:
        return f"🔔 #{incident_id} {who} 取消了静音，恢复提醒"
    return f"🔕 #{incident_id} {who} 静音了提醒，至 {until}"


def status_summary(
    inc: Incident,
    events: Iterable[Event],
    names: NameOf,
    hours: str,
    deadline: tuple[str, datetime] | None,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> str | None:
    """A subscriber's status summary of `inc` over an interval (`hours`, e.g. "2 小时"): what
    people did in `events` (the interval's), the latest of it and the next deadline (one already
    past at `now` is named as missed, not as the next). None when nobody did anything in the
    interval."""
    named = _namer(names)

    def name_of(pid: str | None) -> str:
        return SYSTEM if pid == "system" else named(pid)  # the sweep's auto-escalation

    done = [e for e in events if e.actor and e.action in _SUMMARISED]
    if not done:
        return None
    parts: list[str] = []
    for e in done:
        if e.action == "claim":
            parts.append(f"认领 {name_of(e.actor)}")
        elif e.action == "assign" and e.detail.get("target"):
            parts.append(f"指派给 {name_of(e.detail['target'])}")
        elif e.action == "unclaim":
            parts.append(f"{name_of(e.actor)} 取消认领")
    for action, word in (("note", "备注"), ("judge", "研判"), ("escalate", "升级")):
        n = sum(1 for e in done if e.action == action)
        if n:
            parts.append(f"{word} {n} 条" if action != "escalate" else f"升级 {n} 次")
    last = done[-1]
    what, detail = describe_event(last, name_of)
    parts.append(f"最新：{name_of(last.actor)} {what}" + (f"「{detail[:60]}」" if detail else ""))
    if deadline:
        missed = now is not None and deadline[1] < now
        parts.append(f"{'已超过' if missed else '下一时限 '}{deadline[0]} {fmt_time(deadline[1], tz)}")
    parts.append(f"现状：{inc.state.label}")
    return inert(f"📋 #{inc.id} 状态小结（过去 {hours}）：" + "；".join(parts))


# what a subscriber's summary reports instead of notifying each (the rest reaches them as it happens)
_SUMMARISED = frozenset({"claim", "unclaim", "assign", "note", "judge", "escalate"})
