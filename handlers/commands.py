"""Commands: parse a line, check the caller's role, call the incident service, reply in Chinese.

The registry `COMMANDS` is an explicit list. Wrong input never changes anything and always
gets a short reply that names the right usage.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from core.grades import Grade
from core.incidents import Actor, Outcome, playbook_step, playbook_text
from core.lifecycle import Action, Refusal
from core.models import Disposition, Post, Role, State
from core.clock import from_iso, parse_duration
from core.render import ACTION_NAMES, card_text, fmt_time, short_line
from core.text import normalize
from handlers.base import Deps, Reply, Request
from handlers.permissions import allowed, roles_for
from jobs.collect import item_key
from jobs import offload
from jobs.pipeline import index_off_loop
from jobs.tips import TIP_SOURCE, TipRefused, fetch_tip
from jobs.report import build_report, parse_period, render_report, report_with_chart, special_report
from storage import incidents as store
from storage import people as people_store
from storage import posts as post_store
from storage import write_tx

__all__ = ["Command", "COMMANDS", "handle", "parse"]

log = logging.getLogger(__name__)

DISPOSITIONS = "、".join(d.value for d in Disposition)
# /search segments at most this many waiting posts itself (a second or two of jieba, off the loop)
SEARCH_INDEX_LIMIT = 1000


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[["Call"], Awaitable[list[Reply]]]
    aliases: tuple[str, ...] = ()   # Chinese words that work like the command, e.g. 认领 12


@dataclass
class Call:
    """One parsed command being handled."""

    deps: Deps
    req: Request
    name: str
    args: list[str]
    rest: str            # everything after the command name, as typed
    person: object | None
    role: Role | None

    @property
    def actor(self) -> Actor:
        return Actor(self.person.id, self.person.name, self.role, self.req.platform, self.req.chat)


class UsageError(Exception):
    """Wrong input; the message is the reply."""


_CMD = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


def parse(text: str, *, private: bool = True) -> tuple[str, str] | None:
    """'/claim@yuqing_bot 12' -> ('claim', '12'); '认领 12' -> ('claim', '12').
    None when the text is not a command.

    A Chinese alias counts when it is the whole message or is followed by an argument. In a
    group, where people also just talk, an alias of a command that takes an incident number
    counts only when a number follows ('关闭 12 已澄清', not '关闭窗口的事').
    """
    text = normalize(text) if text else ""
    m = _CMD.match(text)
    if m:
        return m.group(1).lower(), (m.group(2) or "").strip()
    m = _ALIAS.match(text.lstrip("/"))
    if not m:
        return None
    name, rest = _ALIASES[m.group(1)], (m.group(2) or "").strip()
    if not private and rest and not _group_argument(name, rest):
        return None
    return name, rest


def _group_argument(name: str, rest: str) -> bool:
    """In a group, does `rest` look like this command's argument (not just talk)?"""
    usage = _BY_NAME[name].usage.split(" ")
    if usage[1:] == ["编号"]:              # a number and nothing else: 认领 12
        return bool(_NUMBER.fullmatch(rest.strip()))
    if usage[1:2] == ["编号"]:             # a number, then more: 关闭 12 已澄清
        return bool(_NUMBER.match(rest))
    pattern = _GROUP_ARGS.get(name)
    return bool(pattern and pattern.match(rest))


def who_is(deps: Deps, req: Request):
    """The configured person behind a chat user, by registration or by configured handle."""
    pid = people_store.person_for_identity(deps.db, req.platform, req.user_id)
    if pid:
        return deps.config.person(pid)
    if req.platform == "console":
        return deps.config.person(req.user_id)
    return deps.config.person_by_handle(req.platform, req.user_id) or (
        deps.config.person_by_handle(req.platform, req.user_name) if req.user_name else None)


async def handle(deps: Deps, req: Request) -> list[Reply]:
    """Handle one message. Non-commands get nothing back, except in a private chat."""
    one_to_one = req.private or req.platform == "console"   # the console is one person typing
    parsed = parse(req.text, private=one_to_one)
    if parsed is None:
        if one_to_one:
            return [Reply("命令以 / 开头，例如 /list。发送 /help 查看全部命令。")]
        return []
    name, rest = parsed
    cmd = _BY_NAME.get(name)
    if cmd is None:
        guess = difflib.get_close_matches(name, list(_BY_NAME), n=1)
        if not guess and not one_to_one:
            log.info("ignored /%s in %s/%s: not ours (perhaps another bot's)", name, req.platform, req.chat)
            return []
        hint = f"你是不是想用 /{guess[0]}？" if guess else ""
        return [Reply(f"未知命令 /{name}。{hint}发送 /help 查看可用命令。")]
    person = who_is(deps, req)
    role = Role(person.role) if person else None
    if not allowed(name, role):
        log.info("refused /%s for %s/%s (role %s)", name, req.platform, req.user_id, role)
        if person is None:
            return [Reply("你还没有登记为本群成员，无法使用此命令。请联系管理员在配置中添加你。")]
        return [Reply(f"{person.name}，你的角色（{role.label}）无权使用 /{name}；此命令限{roles_for(name)}使用。")]
    call = Call(deps, req, name, rest.split(), rest, person, role)
    try:
        return await cmd.run(call)
    except UsageError as e:
        return [Reply(str(e))]
    except store.IncidentNotFound as e:
        return [Reply(f"没有编号为 #{e.incident_id} 的事件。发送 /list 查看待处置事件。")]


# ---------------------------------------------------------------------------- argument helpers

def _incident_id(call: Call, usage: str, index: int = 0) -> int:
    """The incident number from the arguments, or from the card being replied to."""
    if len(call.args) > index:
        raw = call.args[index].lstrip("#＃")
        if raw.isdecimal():
            return int(raw)
        if call.req.reply_to_incident is not None and index == 0:
            return call.req.reply_to_incident
        raise UsageError(f"“{call.args[index]}”不是有效的事件编号。用法：{usage}")
    if call.req.reply_to_incident is not None:
        return call.req.reply_to_incident
    raise UsageError(f"请提供事件编号。用法：{usage}")


def _after_id(call: Call) -> list[str]:
    """Arguments after the incident number (none consumed when replying to a card without one)."""
    if call.args and call.args[0].lstrip("#＃").isdecimal():
        return call.args[1:]
    return call.args


def _text_after_id(call: Call) -> str:
    rest = call.rest
    m = re.match(r"^[#＃]?\d+\s*", rest)
    return (rest[m.end():] if m else rest).strip()


def _id_and_arg(call: Call, usage: str, missing: str) -> tuple[int, str]:
    """The incident number (or the card replied to) and the first argument after it, required."""
    iid = _incident_id(call, usage)
    rest = _after_id(call)
    if not rest:
        raise UsageError(f"{missing}。用法：{usage}")
    return iid, rest[0]


def _done(call: Call, inc, text: str) -> list[Reply]:
    """Changes are announced through the outbox in the incident's chats; answer the sender
    directly only when the command came from somewhere else (a private chat)."""
    if (call.req.platform, call.req.chat) in call.deps.router.group_chats(inc.team):
        return []
    return [Reply(text)]


def _result(call: Call, out: Outcome) -> list[Reply]:
    deps = call.deps
    if out.ok:
        return _done(call, out.incident, f"已完成：#{out.incident.id} 现为{out.incident.state.label}。")
    i = out.incident
    why = out.refusal
    if why is Refusal.CLOSED:
        return [Reply(f"#{i.id} 已关闭（{i.disposition.value if i.disposition else '—'}），不能再执行此操作。如需继续处置，请先 /reopen {i.id}。")]
    if why is Refusal.NOT_CLOSED:
        return [Reply(f"#{i.id} 尚未关闭（{i.state.label}），无需重新打开。")]
    if why is Refusal.TAKEN:
        return [Reply(f"#{i.id} 已由 {out.holder} 认领。如需接手，请 {out.holder} 先 /unclaim {i.id}，或由管理员 /assign {i.id} @你。")]
    if why is Refusal.ALREADY_YOURS:
        return [Reply(f"#{i.id} 已经由{'你' if i.assignee == call.person.id else deps.service.name_of(i.assignee)}负责，无需重复操作。")]
    if why is Refusal.NOT_ASSIGNED:
        return [Reply(f"#{i.id} 目前没有人认领，无需取消。")]
    if why is Refusal.NOT_ASSIGNEE:
        return [Reply(f"#{i.id} 由 {out.holder} 认领，只有本人或管理员可以取消认领。")]
    if why is Refusal.TOP_LEVEL:
        return [Reply(f"#{i.id} 已升级到最高一级，不能继续升级。")]
    raise AssertionError(why)


# ---------------------------------------------------------------------------- commands

async def cmd_help(call: Call) -> list[Reply]:
    lines = ["舆情哨兵 · 可用命令："]
    for c in COMMANDS:
        if allowed(c.name, call.role) and c.name != "start":
            alias = f" 或 {c.usage.replace('/' + c.name, c.aliases[0], 1)}" if c.aliases else ""
            lines.append(f"{c.usage}{alias} — {c.summary}")
    if call.person is None:
        lines.append("你还没有登记，只能查看帮助。请联系管理员。")
    else:
        lines.append(f"（你是 {call.person.name}，角色：{call.role.label}。回复告警卡片时可省略编号。）")
    return [Reply("\n".join(lines))]


async def cmd_start(call: Call) -> list[Reply]:
    if call.person is None:
        return [Reply("你好！你还没有登记为舆情监测成员，请联系管理员在配置中添加你的账号。")]
    with write_tx(call.deps.db):
        people_store.register_identity(call.deps.db, call.req.platform, call.req.user_id, call.person.id,
                                       call.deps.clock())
    return [Reply(f"你好，{call.person.name}（{call.role.label}）。发送 /help 查看可用命令。")]


async def cmd_list(call: Call) -> list[Reply]:
    incs = store.list_incidents(call.deps.db, states=(State.NEW, State.CLAIMED, State.ESCALATED), limit=30)
    if not incs:
        return [Reply("目前没有待处置的事件。")]
    names = {p.id: p.name for p in call.deps.config.people}
    return [Reply(f"待处置事件 {len(incs)} 起（按等级排序）：\n" + "\n".join(short_line(i, names) for i in incs))]


async def cmd_mine(call: Call) -> list[Reply]:
    incs = store.list_incidents(call.deps.db, states=(State.CLAIMED, State.ESCALATED), assignee=call.person.id)
    if not incs:
        return [Reply("你目前没有负责中的事件。发送 /list 查看待认领事件。")]
    return [Reply(f"你负责的事件 {len(incs)} 起：\n" + "\n".join(short_line(i) for i in incs))]


async def cmd_show(call: Call) -> list[Reply]:
    iid = _incident_id(call, "/show 编号，例如 /show 12")
    deps = call.deps
    inc = deps.service.get(iid)
    card = deps.render_card(inc)
    lines = [card_text(card)]
    pb = deps.config.playbook(inc.category)
    events = store.events_for(deps.db, iid)
    if pb:
        done = {playbook_step(ev.detail.get("text")) for ev in events if ev.action == "note"} - {None}
        lines.append(f"\n{playbook_text(iid, pb, done)}（负责：{Role(pb.role).label}）")
    posts = store.posts_for(deps.db, iid)
    if len(posts) > 1:
        lines.append(f"\n📰 相关帖文 {len(posts)} 篇：")
        lines += [f"  · {p['source_name'] or p['source_id']}：{p['title'][:40]}" for p in posts[:10]]
    lines.append("\n🕒 处置记录：")
    for ev in events:
        lines.append("  " + _event_line(deps, ev))
    return [Reply("\n".join(lines))]



def _event_line(deps: Deps, ev) -> str:
    who = deps.service.name_of(ev.actor) if ev.actor else "系统"
    d = ev.detail
    extra = d.get("text") or d.get("reason") or ""
    if ev.action == "close":
        extra = d.get("disposition", "") + (f"（{d['summary']}）" if d.get("summary") else "")
    elif ev.action == "assign":
        extra = "→ " + deps.service.name_of(d.get("target"))
    elif ev.action == "regraded":
        extra = f"{d.get('from')} → {d.get('to')}"
    elif ev.action == "post_added":
        extra = f"来源 {d.get('source')}"
    return f"{fmt_time(ev.at, deps.tz)} {who} {ACTION_NAMES.get(ev.action, ev.action)}" + (f"：{extra}" if extra else "")


async def _simple(call: Call, action: Action, usage: str) -> list[Reply]:
    iid = _incident_id(call, usage)
    return _result(call, call.deps.service.act(iid, action, call.actor))


async def cmd_claim(call: Call) -> list[Reply]:
    return await _simple(call, Action.CLAIM, "/claim 编号，例如 /claim 12")


async def cmd_unclaim(call: Call) -> list[Reply]:
    return await _simple(call, Action.UNCLAIM, "/unclaim 编号")


async def cmd_reopen(call: Call) -> list[Reply]:
    return await _simple(call, Action.REOPEN, "/reopen 编号")


async def cmd_assign(call: Call) -> list[Reply]:
    usage = "/assign 编号 @姓名，例如 /assign 12 @李强"
    iid, who = _id_and_arg(call, usage, "请指明指派给谁")
    target = call.deps.config.person(who)
    if target is None:
        raise UsageError(f"找不到成员“{who.lstrip('@')}”。用法：{usage}")
    if target.role not in (Role.ADMIN.value, Role.STAFF.value):
        raise UsageError(f"{target.name} 的角色是{Role(target.role).label}，只能指派给监测人员或管理员。")
    return _result(call, call.deps.service.act(iid, Action.ASSIGN, call.actor, target=target.id))


async def cmd_note(call: Call) -> list[Reply]:
    usage = "/note 编号 内容，例如 /note 12 已联系交通局核实"
    iid = _incident_id(call, usage)
    text = _text_after_id(call)
    if not text:
        raise UsageError(f"备注内容不能为空。用法：{usage}")
    return _result(call, call.deps.service.act(iid, Action.NOTE, call.actor, text=text[:2000]))


async def cmd_escalate(call: Call) -> list[Reply]:
    iid = _incident_id(call, "/escalate 编号 [原因]，例如 /escalate 12 转载量快速上升")
    reason = _text_after_id(call) or None
    return _result(call, call.deps.service.act(iid, Action.ESCALATE, call.actor, text=reason))


async def cmd_close(call: Call) -> list[Reply]:
    usage = f"/close 编号 处置方式 [说明]，处置方式可选：{DISPOSITIONS}"
    iid, word = _id_and_arg(call, usage, "请注明处置方式")
    try:
        disposition = Disposition.parse(word)
    except ValueError:
        raise UsageError(f"未知的处置方式“{word}”。可选：{DISPOSITIONS}。用法：{usage}") from None
    summary = _text_after_id(call)[len(word):].strip() or None
    return _result(call, call.deps.service.act(iid, Action.CLOSE, call.actor, disposition=disposition,
                                               summary=summary[:1000] if summary else None))


async def cmd_search(call: Call) -> list[Reply]:
    if not call.rest:
        raise UsageError("请提供搜索词。用法：/search 关键词，例如 /search 张建国 公车")
    # search what has been collected so far, up to a bound (the background indexer does the rest)
    waiting = await index_off_loop(call.deps.db, call.deps.segmenter, limit=SEARCH_INDEX_LIMIT)
    later = f"\n（另有 {waiting} 条新帖尚在建立索引，稍后再搜可查到更多）" if waiting else ""
    q = call.deps.segmenter.query(call.rest)
    rows = post_store.search_posts(call.deps.db, q, limit=10) if q else []
    if not rows:
        return [Reply(f"没有找到与“{call.rest}”相关的帖文。{later}")]
    lines = [f"与“{call.rest}”相关的帖文（前 {len(rows)} 条）："]
    for r in rows:
        tag = f"#{r['incident_id']} " if r["incident_id"] else ""
        lines.append(f"· {tag}{r['title'][:50]}（{r['source_id']}）")
    return [Reply("\n".join(lines) + later)]


async def cmd_report(call: Call) -> list[Reply]:
    usage = "用法：/report [today|week|month|起始日..结束日|编号]，例如 /report week、/report 2026-11-01..2026-11-30、/report 12（专报）"
    arg = call.args[0] if call.args else "today"
    deps = call.deps
    if arg.lstrip("#＃").isdecimal():
        return [Reply(special_report(deps.db, deps.config, int(arg.lstrip("#＃")), deps.tz, deps.render_card))]
    try:
        period = parse_period(arg)
    except ValueError:
        raise UsageError(f"无法识别的报告周期“{arg}”。{usage}") from None
    if deps.data_dir is None:
        r = await offload.read_only(deps.db, build_report, deps.config, period, deps.clock(), deps.tz)
        return [Reply(render_report(r, deps.tz, deps.config.organization.name))]
    text, image = await offload.read_only(deps.db, report_with_chart, deps.config, period, deps.clock(), deps.tz,
                                          deps.data_dir)
    return [Reply(text, image=image)]


async def cmd_subscribe(call: Call) -> list[Reply]:
    usage = "/subscribe [I|II|III|IV]，例如 /subscribe II 表示接收 II 级及以上"
    try:
        grade = Grade.parse(call.args[0]) if call.args else Grade.II
    except ValueError:
        raise UsageError(f"未知等级“{call.args[0]}”。用法：{usage}") from None
    with write_tx(call.deps.db):
        people_store.subscribe(call.deps.db, call.person.id, grade.value, call.deps.clock())
        if call.req.platform != "console":
            people_store.register_identity(call.deps.db, call.req.platform, call.req.user_id, call.person.id,
                                           call.deps.clock())
    levels = "、".join(g.badge for g in Grade if g.at_least(grade))
    return [Reply(f"已订阅：{levels} 事件将私信推送给你。发送 /unsubscribe 取消。")]


async def cmd_unsubscribe(call: Call) -> list[Reply]:
    with write_tx(call.deps.db):
        had = people_store.unsubscribe(call.deps.db, call.person.id)
    return [Reply("已取消订阅。" if had else "你目前没有订阅。发送 /subscribe II 订阅 II 级及以上事件。")]


def source_status(row: dict, config) -> str:
    if row.get("deactivated"):
        return "⛔ 已停用"
    if row.get("consecutive_failures", 0) >= config.collection.break_after:
        return f"⚠️ 连续失败 {row['consecutive_failures']} 次"
    if row.get("consecutive_failures"):
        return f"🟡 失败 {row['consecutive_failures']} 次"
    if row.get("silent_reported"):
        return "🔇 长时间无更新"
    if not row.get("last_run_at"):
        return "⏳ 尚未抓取"
    return "✅ 正常"


async def cmd_sources(call: Call) -> list[Reply]:
    deps = call.deps
    rows = {r["id"]: r for r in post_store.source_rows(deps.db)}
    if not deps.config.sources:
        return [Reply("配置中没有来源。")]
    lines = [f"来源 {len(deps.config.sources)} 个："]
    for s in deps.config.sources:
        r = rows.get(s.id, {})
        last_ok = fmt_time(from_iso(r.get("last_ok_at")), deps.tz) if r.get("last_ok_at") else "—"
        line = f"{source_status(r, deps.config)} {s.name}（{s.kind}，{s.interval}）最近成功 {last_ok}，累计 {r.get('items_total', 0)} 条"
        if r.get("last_error"):
            line += f"\n    最近错误：{r['last_error'][:80]}"
        lines.append(line)
    return [Reply("\n".join(lines))]


async def cmd_tip(call: Call) -> list[Reply]:
    usage = "/tip 链接 [备注]，例如 /tip https://bbs.example.com/thread-1.html 村民反映办事难"
    if not call.args:
        raise UsageError(f"请附上链接。用法：{usage}")
    url, note = call.args[0], call.rest[len(call.args[0]):].strip()
    deps = call.deps
    try:
        page = await fetch_tip(url, deps.http(), deps.resolve)
    except TipRefused as e:
        log.info("tip refused for %s: %s", call.person.id, e)
        return [Reply(f"无法处理这条线索：{e}")]
    post = Post(source_id=TIP_SOURCE.id, item_key=item_key(TIP_SOURCE.id, page.url, None, page.title),
                title=page.title, text=page.text, url=page.url, published_at=deps.clock(), tip_by=call.person.id)
    out = deps.pipeline.ingest(post, TIP_SOURCE)
    if out.incident_id is None:
        if out.post_id is None:
            return [Reply(f"这条线索已经收录过了：{page.title}")]
        return [Reply(f"已收到线索并存档：{page.title}\n未命中关注清单，暂不生成事件；可用 /search 查找。")]
    if note:
        deps.service.act(out.incident_id, Action.NOTE, call.actor, text=f"线索备注：{note}")
    inc = deps.service.get(out.incident_id)
    verb = "已生成事件" if out.created else "已并入事件"
    return [Reply(f"已收到线索，{verb} #{inc.id}（{inc.grade.badge}）：{inc.title}，谢谢！")]


async def cmd_mute(call: Call) -> list[Reply]:
    usage = "/mute 编号 时长，例如 /mute 12 2h（支持 30m、2h、1d）"
    iid, raw = _id_and_arg(call, usage, "请注明静音多久")
    try:
        span = parse_duration(raw)
    except ValueError:
        raise UsageError(f"“{raw}”不是有效的时长。用法：{usage}") from None
    if span > timedelta(days=7):
        raise UsageError("最多静音 7 天。")
    inc = call.deps.service.mute(iid, call.actor, call.deps.clock() + span)
    return _done(call, inc, f"已静音 #{iid} 的提醒，至 {fmt_time(inc.muted_until, call.deps.tz)}。")


COMMANDS: list[Command] = [
    Command("help", "/help", "查看帮助", cmd_help, aliases=("帮助",)),
    Command("start", "/start", "登记（私聊）", cmd_start),
    Command("list", "/list", "待处置事件", cmd_list, aliases=("列表", "待办")),
    Command("show", "/show 编号", "事件详情、预案与处置记录", cmd_show, aliases=("详情", "查看")),
    Command("mine", "/mine", "我负责的事件", cmd_mine, aliases=("我的",)),
    Command("claim", "/claim 编号", "认领", cmd_claim, aliases=("认领",)),
    Command("unclaim", "/unclaim 编号", "取消认领", cmd_unclaim, aliases=("取消认领",)),
    Command("assign", "/assign 编号 @姓名", "指派", cmd_assign, aliases=("指派",)),
    Command("note", "/note 编号 内容", "添加备注", cmd_note, aliases=("备注",)),
    Command("escalate", "/escalate 编号 [原因]", "升级", cmd_escalate, aliases=("升级",)),
    Command("close", "/close 编号 处置方式 [说明]", f"关闭（{DISPOSITIONS}）", cmd_close, aliases=("关闭",)),
    Command("reopen", "/reopen 编号", "重新打开", cmd_reopen, aliases=("重新打开", "重开")),
    Command("search", "/search 关键词", "全文搜索帖文", cmd_search, aliases=("搜索",)),
    Command("report", "/report [today|week|month|起..止|编号]", "统计报告；带编号为单个事件的专报", cmd_report, aliases=("报告",)),
    Command("subscribe", "/subscribe [I|II|III|IV]", "订阅私信推送（默认 II 级及以上）", cmd_subscribe, aliases=("订阅",)),
    Command("unsubscribe", "/unsubscribe", "取消订阅", cmd_unsubscribe, aliases=("取消订阅",)),
    Command("sources", "/sources", "来源状态", cmd_sources, aliases=("来源",)),
    Command("tip", "/tip 链接 [备注]", "报送线索", cmd_tip, aliases=("线索", "报送")),
    Command("mute", "/mute 编号 时长", "暂停某事件的提醒（如 2h）", cmd_mute, aliases=("静音",)),
]
_BY_NAME = {c.name: c for c in COMMANDS}
_ALIASES = {a: c.name for c in COMMANDS for a in c.aliases}
# longest alternatives first, so 取消订阅 is not read as something shorter
_ALIAS = re.compile("^(" + "|".join(sorted(map(re.escape, _ALIASES), key=len, reverse=True)) + r")(?:$|(?=[\s#＃\d])\s*(.*))$",
                    re.DOTALL)
_NUMBER = re.compile(r"^[#＃]?\d+(?:\s|$)")
# arguments a Chinese word takes in a group (commands with an incident number need the number;
# the others, not listed, count only as the whole message)
_GROUP_ARGS = {
    "report": re.compile(r"^(?:today|yesterday|week|lastweek|month|\d)", re.I),
    "subscribe": re.compile(r"^(?:I|II|III|IV)$", re.I),
    "tip": re.compile(r"^https?://", re.I),
    "search": re.compile(r"^\S{2,}"),
}
