"""Commands: parse a line, check the caller's role, call the incident service, reply in Chinese.

The registry `COMMANDS` is an explicit list. Wrong input never changes anything and always
gets a short reply that names the right usage.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx

from core.clock import from_iso, parse_duration
from core.config import Config, Person
from core.duty import day_label, day_of
from core.errors import YuqingError
from core.grades import Grade
from core.health import SourceHealth, source_health
from core.incidents import Actor, Outcome, playbook_step, playbook_text
from core.lifecycle import Action, Refusal
from core.models import Disposition, Incident, Post, Role, State
from core.render import TimelineOptions, card_text, fmt_time, short_line, timeline_text
from core.search import MAX_QUERY_CHARS, highlight, parse_query, snippet
from handlers.base import Deps, Reply, Request
from handlers.parsing import (
    ARG_PUNCT,
    ID,
    MAX_ID,
    NEXT_NOT_NUMBER,
    Line,
    looks_numeric,
    mentions_only,
    parse_number,
    shorten,
    split_args,
    split_command,
    strip_ends,
    strip_format,
    strip_format_map,
)
from handlers.permissions import TEAM_ROLES, View, allowed, roles_for, view_of
from jobs import offload
from jobs.collect import item_key
from jobs.outfiles import fresh_path
from jobs.pipeline import index_off_loop
from jobs.report import (
    BackwardsPeriod,
    build_report,
    parse_period,
    render_report,
    report_with_chart,
    special_report,
)
from jobs.tips import TIP_SOURCE, TipRefused, fetch_tip
from storage import incidents as store
from storage import people as people_store
from storage import posts as post_store
from storage import write_tx

__all__ = ["COMMANDS", "Command", "handle", "parse"]

log = logging.getLogger(__name__)

DISPOSITIONS = "、".join(d.value for d in Disposition)
# /search segments at most this many waiting posts itself (a second or two of jieba, off the loop)
SEARCH_INDEX_LIMIT = 1000
# the longest free text a command takes (longer is refused with its length, never cut)
NOTE_LIMIT = 2000  # a note, a 研判, a unit's 反馈
REASON_LIMIT = 1000  # an escalation or reopening reason, a close summary, a 批示, a 转办 note


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[[Call], Awaitable[list[Reply]]]
    aliases: tuple[str, ...] = ()  # Chinese words that work like the command, e.g. 认领 12


@dataclass
class Call:
    """One parsed command being handled."""

    deps: Deps
    req: Request
    name: str
    args: list[str]
    rest: str  # everything after the command name, as typed
    person: Person | None
    role: Role | None

    @property
    def me(self) -> Person:
        """The caller. Only /help and /start run for someone unregistered (`handlers.permissions`),
        so every other command has one.

        :raises RuntimeError: when a command that needs a caller runs without one.
        """
        if self.person is None:
            raise RuntimeError(f"/{self.name} ran without a registered caller")
        return self.person

    @property
    def actor(self) -> Actor:
        me = self.me
        return Actor(me.id, me.name, me.role, self.req.platform, self.req.chat)


class UsageError(YuqingError):
    """Wrong input; the message is the reply."""


def parse(text: str, *, private: bool = True) -> tuple[str, str] | None:
    """'/claim@yuqing_bot 12' -> ('claim', '12'); '认领 12' -> ('claim', '12').
    None when the text is not a command. The arguments are returned as typed.

    A Chinese alias counts when it is the whole message or is followed by an argument. In a
    group, where people also just talk, an alias of a command that takes an incident number
    counts only when a number follows ('关闭 12 已澄清', not '关闭窗口的事').
    """
    line = parse_line(text, private=private)
    return (line.name, line.rest) if line else None


def parse_line(text: str, *, private: bool = True) -> Line | None:
    """Like `parse`, with whom the command is addressed to ('/list@some_bot')."""
    text = strip_ends(text or "")
    if head := _HEAD.match(text):  # the command word (or alias) is read without invisible characters
        text = strip_format(head.group(), variants=False) + text[head.end() :]
    line = split_command(text)
    if line:
        return line
    m = _ALIAS.match(text.lstrip("/／"))
    if not m:
        return None
    name, rest = _ALIASES[m.group(1)], (m.group(2) or "").strip()
    if not private and rest and not _group_argument(name, rest):
        return None
    if not private and not rest and name in _NUMBER_IN_GROUP:
        return None
    return Line(name, rest, None)


def _group_argument(name: str, rest: str) -> bool:
    """In a group, does `rest` look like this command's argument (not just talk)?"""
    usage = _BY_NAME[name].usage.split(" ")
    if usage[1:] == ["编号"]:  # a number and nothing else: 认领 12
        return looks_numeric(rest)
    if usage[1:2] == ["编号"]:  # a number, then more: 关闭 12 已澄清
        return bool(_NUMBER.match(rest))
    pattern = _GROUP_ARGS.get(name)
    return bool(pattern and pattern.match(rest))


def who_is(deps: Deps, req: Request) -> Person | None:
    """The configured person behind a chat user, by registration or by configured handle."""
    pid = people_store.person_for_identity(deps.db, req.platform, req.user_id)
    if pid:
        return deps.config.person(pid)
    if req.platform == "console":
        return deps.config.person(req.user_id)
    return deps.config.person_by_handle(req.platform, req.user_id) or (
        deps.config.person_by_handle(req.platform, req.user_name) if req.user_name else None
    )


_HEAD = re.compile(r"\S+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


async def handle(deps: Deps, req: Request) -> list[Reply]:
    """Handle one message. Non-commands get nothing back, except in a private chat.

    The one error path for every command on every platform: whatever goes wrong is answered
    with a short Chinese reply (the usage, "not found", "changed meanwhile" or "出错了"), the
    traceback goes to the log, and the command's transaction is rolled back.
    """
    if req.text and _LONE_SURROGATE.search(req.text):
        # undecodable bytes (a console on a non-UTF-8 terminal) or a '\\ud800' escape: not
        # characters, and nothing can store them; shown as U+FFFD, like any other bad byte
        req = dataclasses.replace(req, text=_LONE_SURROGATE.sub("\ufffd", req.text))
    try:
        replies = await _handle(deps, req)
    except Exception:
        log.exception(
            "command from %s/%s in %s failed: %r", req.platform, req.user_id, req.chat, shorten(req.text or "", 200)
        )
        return [Reply("出错了，已记录；请稍后重试。")]
    if req.attachment and (replies or _ours(req)):
        # a picture captioned with a command: nothing keeps the picture, and the answer (or, in
        # the group, where the change is announced to all, a word to the sender) says so
        what = _ATTACHMENTS.get(req.attachment, "附件")
        log.info("%s/%s: the %s that came with a command was not kept", req.platform, req.user_id, req.attachment)
        note = f"（所附{what}未保存，只读取了说明文字；如需留存，请在备注中用文字描述{what}内容。）"
        if not replies:
            return [Reply(note)]
        return [dataclasses.replace(replies[0], text=f"{replies[0].text}\n{note}"), *replies[1:]]
    return replies


def _ours(req: Request) -> bool:
    """Is the request one of this bot's commands (whatever became of it)?"""
    line = parse_line(req.text, private=req.private or req.platform == "console")
    return line is not None and line.name in _BY_NAME and not _elsewhere(req, line)


def _elsewhere(req: Request, line: Line) -> bool:
    """'/list@other_bot': addressed to another bot, where the platform tells our name."""
    return bool(
        line.addressee is not None
        and req.bot_username
        and line.addressee.lstrip("@").lower() != req.bot_username.lstrip("@").lower()
    )


_ATTACHMENTS = {"image": "图片", "video": "视频", "audio": "语音", "file": "文件"}


async def _handle(deps: Deps, req: Request) -> list[Reply]:
    one_to_one = req.private or req.platform == "console"  # the console is one person typing
    line = parse_line(req.text, private=one_to_one)
    if line is None and _pinged(req, one_to_one):
        line = Line("help", "", None)  # someone just @-mentioned the bot: what it can do
    if line is None:
        if one_to_one:
            if (req.text or "").strip()[:1] in ("/", "／"):
                return [
                    Reply(
                        f"无法识别的命令“{shorten((req.text or '').strip(), 20)}”。命令是 / 加英文命令名，"
                        "例如 /list、/claim 12。发送 /help 查看全部命令。"
                    )
                ]
            return [Reply("命令以 / 开头，例如 /list。发送 /help 查看全部命令。")]
        return []
    name, rest = line.name, line.rest
    if _elsewhere(req, line):
        log.info(
            "ignored /%s@%r in %s/%s: addressed to another bot",
            name,
            shorten(line.addressee or "", 40),
            req.platform,
            req.chat,
        )
        if one_to_one:
            return [
                Reply(
                    f"这条命令是发给 @{shorten(line.addressee or '', 40)} 的，本机器人不处理。"
                    f"请直接发送 /{shorten(name, 20)}。"
                )
            ]
        return []
    cmd = _BY_NAME.get(name)
    if cmd is None:
        guess = difflib.get_close_matches(name, list(_BY_NAME), n=1)
        if not guess and not one_to_one:
            log.info(
                "ignored /%s in %s/%s: not ours (perhaps another bot's)", shorten(name, 40), req.platform, req.chat
            )
            return []
        hint = f"你是不是想用 /{guess[0]}？" if guess else ""
        return [Reply(f"未知命令 /{shorten(name, 20)}。{hint}发送 /help 查看可用命令。")]
    person = who_is(deps, req)
    role = Role(person.role) if person else None
    if not allowed(name, role):
        log.info("refused /%s for %s/%s (role %s)", name, req.platform, req.user_id, role)
        if person is None or role is None:
            return [Reply("你还没有登记为本群成员，无法使用此命令。请联系管理员在配置中添加你。")]
        return [Reply(f"{person.name}，你的角色（{role.label}）无权使用 /{name}；此命令限{roles_for(name)}使用。")]
    call = Call(deps, req, name, split_args(rest), rest, person, role)
    try:
        return await cmd.run(call)
    except UsageError as e:
        return [Reply(str(e))]
    except store.IncidentNotFound as e:
        return [Reply(_not_found(e.incident_id))]
    except store.StaleIncident:
        log.info("/%s by %s: the incident changed meanwhile", name, req.user_id)
        return [Reply("事件刚被他人更新，请重试。")]


def _pinged(req: Request, one_to_one: bool) -> bool:
    """The message only @-mentions the bot: by its name where the platform gives one
    (Telegram's getMe), else any mention in a one-to-one chat (WeCom's app, where the
    only one to mention is the bot)."""
    names = mentions_only(req.text)
    if names is None:
        return False
    if req.bot_username:
        me = req.bot_username.lstrip("@").lower()
        return any(n.lower() == me for n in names)  # mentions_only read them from the stripped text
    return one_to_one


def _not_found(incident_id) -> str:
    return f"没有编号为 #{shorten(str(incident_id), 12)} 的事件。发送 /list 查看待处置事件。"


# ---------------------------------------------------------------------------- argument helpers


def _incident_id(call: Call, usage: str, index: int = 0) -> int:
    """The incident number from the arguments, or from the card being replied to."""
    if len(call.args) > index:
        token = call.args[index]
        n = parse_number(token)
        if n is not None:
            return n
        if looks_numeric(token):  # digits, but too many to be a number we issued
            raise UsageError(f"“{shorten(token)}”不是有效的事件编号（编号是 1 到 {MAX_ID} 之间的整数）。用法：{usage}")
        if call.req.reply_to_incident is not None and index == 0:
            return call.req.reply_to_incident
        raise UsageError(f"“{shorten(token)}”不是有效的事件编号。用法：{usage}")
    if call.req.reply_to_incident is not None:
        return call.req.reply_to_incident
    raise UsageError(f"请提供事件编号。用法：{usage}")


def _after_id(call: Call) -> list[str]:
    """Arguments after the incident number (none consumed when replying to a card without one)."""
    if call.args and looks_numeric(call.args[0]):
        return call.args[1:]
    return call.args


_LEADING_ID = re.compile(rf"^{ID}(?:[{re.escape(ARG_PUNCT)}]+{NEXT_NOT_NUMBER}|(?=\s|$))\s*")


def _text_after_id(call: Call) -> str:
    """The free text after the incident number, exactly as typed."""
    rest = call.rest
    # the number is read without invisible characters (U+200B …); the text after it is as typed
    clean, where = strip_format_map(rest, variants=False)
    m = _LEADING_ID.match(clean)
    if not m:
        return strip_ends(rest)
    return strip_ends(rest[where[m.end()] :]) if m.end() < len(clean) else ""


def _text_after_number(call: Call) -> str:
    """The free text of a command that may act on the card replied to: after the number when
    one was typed, else all of it (as typed)."""
    return _text_after_id(call) if (call.args and looks_numeric(call.args[0])) else call.rest


_EXAMPLE_NUMBER = re.compile(r"(例如 /[a-z]+ )12(?=\s)")


def _for_incident(usage: str, iid: int) -> str:
    """`usage` with its example for this incident (when the number is known — typed, or the card
    replied to or pressed — the example says what to send for it: /reopen 4 …, not /reopen 12)."""
    return _EXAMPLE_NUMBER.sub(rf"\g<1>{iid}", usage, count=1)


def _no_more(extra: list[str], usage: str) -> None:
    """Refuse arguments a command does not take, rather than guess what they meant."""
    if extra:
        said = usage if usage.startswith("用法：") else f"用法：{usage}"  # /report, /export say it themselves
        raise UsageError(f"多余的参数“{shorten(' '.join(extra))}”。{said}")


def _within(text: str, limit: int, what: str, usage: str) -> str:
    """Free text of at most `limit` characters; longer is refused with its length, never cut."""
    if len(text) > limit:
        raise UsageError(f"{what}过长（{len(text)} 字，最多 {limit} 字），请精简后重发。用法：{usage}")
    return text


def _id_only(call: Call, usage: str) -> int:
    """An incident number (or the card replied to) and nothing else."""
    iid = _incident_id(call, usage)
    _no_more(_after_id(call), usage)
    return iid


def _id_and_arg(call: Call, usage: str, missing: str) -> tuple[int, str]:
    """The incident number (or the card replied to) and exactly one argument after it."""
    iid = _incident_id(call, usage)
    rest = _after_id(call)
    if not rest:
        raise UsageError(f"{missing}。用法：{usage}")
    _no_more(rest[1:], usage)
    return iid, rest[0]


def _view(call: Call, inc, transfers: dict[int, list[str]] | None = None) -> View:
    """How much of `inc` the caller may see. A partner's view reads the units the incident was
    ever transferred to from the audit (`transfers`: looked up here unless given for many)."""
    units: list[str] = []
    if call.role is Role.PARTNER:
        if transfers is None:
            transfers = store.transfer_units(call.deps.db, [inc.id])
        units = transfers.get(inc.id, [])
    return view_of(
        call.deps.config, call.deps.router, call.person, call.role, inc, call.req.platform, call.req.chat, units
    )


def _visible(call: Call, iid: int, need: View = View.FACTS):
    """The incident and how much of it the caller may see; an incident they may not see is
    answered exactly like one that does not exist."""
    inc = call.deps.service.get(iid)
    view = _view(call, inc)
    if view.value < need.value:
        log.info("/%s: %s may not see #%s", call.name, call.person.id if call.person else call.req.user_id, iid)
        raise store.IncidentNotFound(iid)
    return inc, view


def _done(call: Call, inc, text: str) -> list[Reply]:
    """Changes are announced through the outbox in the incident's chats; answer the sender
    directly only when the command came from somewhere else (a private chat)."""
    if (call.req.platform, call.req.chat) in call.deps.router.group_chats(inc.team):
        return []
    return [Reply(text)]


def closed_text(i: Incident) -> str:
    """Why nothing can be done to a closed incident, and how to go on (commands and buttons)."""
    return f"#{i.id} 已关闭（{i.disposition.value if i.disposition else '—'}），不能再执行此操作。如需继续处置，请先 /reopen {i.id}。"


def pending_text(i: Incident) -> str:
    """Why an incident waiting for 销号 cannot be closed again, and who goes on (commands and buttons)."""
    return (
        f"#{i.id} 已申请关闭（{i.disposition.value if i.disposition else '—'}），正待领导销号。"
        f"领导或管理员可 /signoff {i.id} 销号，或 /reopen {i.id} 原因 退回继续处置。"
    )


def _result(call: Call, out: Outcome) -> list[Reply]:
    deps = call.deps
    if out.ok:
        return _done(call, out.incident, f"已完成：#{out.incident.id} 现为{out.incident.state.label}。")
    i = out.incident
    why = out.refusal
    if why is Refusal.CLOSED:
        return [Reply(closed_text(i))]
    if why is Refusal.NOT_CLOSED:
        return [Reply(f"#{i.id} 尚未关闭（{i.state.label}），无需重新打开。")]
    if why is Refusal.TAKEN:
        return [
            Reply(
                f"#{i.id} 已由 {out.holder} 认领。如需接手，请 {out.holder} 先 /unclaim {i.id}，或由管理员 /assign {i.id} @你。"
            )
        ]
    if why is Refusal.ALREADY_YOURS:
        return [
            Reply(
                f"#{i.id} 已经由{'你' if i.assignee == call.me.id else deps.service.name_of(i.assignee)}负责，无需重复操作。"
            )
        ]
    if why is Refusal.NOT_ASSIGNED:
        return [Reply(f"#{i.id} 目前没有人认领，无需取消。")]
    if why is Refusal.NOT_ASSIGNEE:
        return [Reply(f"#{i.id} 由 {out.holder} 认领，只有本人或管理员可以取消认领。")]
    if why is Refusal.TOP_LEVEL:
        return [Reply(f"#{i.id} 已升级到最高一级，不能继续升级。")]
    if why is Refusal.PENDING:
        return [Reply(pending_text(i))]
    if why is Refusal.NOT_PENDING:
        return [
            Reply(f"#{i.id} 目前{i.state.label}，没有待销号的关闭申请。须先由处置人 /close {i.id} 处置方式 申请关闭。")
        ]
    if why is Refusal.NOT_SIGNER:
        return [Reply(f"#{i.id} 须由领导或管理员销号。")]
    if why is Refusal.NOT_LEADER:
        return [Reply(f"只有领导或管理员可以对 #{i.id} 作出批示。")]
    if why is Refusal.ALREADY_READ:
        return [Reply(f"你已阅过 #{i.id}。")]
    if why is Refusal.NOT_AWAITING:
        return [Reply(f"#{i.id} 目前{i.state.label}，没有待反馈的转办。先 /transfer {i.id} 单位 期限 转办。")]
    if why is Refusal.NEEDS_JUDGEMENT:
        return [
            Reply(
                f"#{i.id} 是{i.grade.badge}事件，关闭前须先记录研判意见。"
                f"请先发送 /judge {i.id} 研判意见（或“研判 {i.id} …”），再关闭。"
            )
        ]
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
        lines.append(f"（你是 {call.person.name}，角色：{call.person.role.label}。回复告警卡片时可省略编号。）")
    return [Reply("\n".join(lines))]


async def cmd_start(call: Call) -> list[Reply]:
    if call.person is None:
        return [Reply("你好！你还没有登记为舆情监测成员，请联系管理员在配置中添加你的账号。")]
    with write_tx(call.deps.db):
        people_store.register_identity(call.deps.db, call.req.platform, call.req.user_id, call.me.id, call.deps.clock())
    return [Reply(f"你好，{call.person.name}（{call.person.role.label}）。发送 /help 查看可用命令。")]


LIST_PAGE = 20
_LIST_USAGE = "/list [等级] [状态] [页码]，例如 /list 2、/list III、/list 待认领、/list II 待认领 2"
_OPEN = (State.NEW, State.CLAIMED, State.ESCALATED, State.AWAITING_FEEDBACK, State.PENDING_SIGNOFF)
_STATE_WORDS = {s.label: s for s in _OPEN}


async def cmd_list(call: Call) -> list[Reply]:
    grade: Grade | None = None
    state: State | None = None
    page = None
    for arg in call.args:
        n = parse_number(arg, hash_allowed=False)
        if n is not None and page is None and n >= 1:
            page = n
            continue
        if arg in _STATE_WORDS and state is None:
            state = _STATE_WORDS[arg]
            continue
        try:
            g = Grade.parse(arg) if not looks_numeric(arg) else None
        except ValueError:
            g = None
        if g is not None and grade is None:
            grade = g
            continue
        raise UsageError(f"无法识别的参数“{shorten(arg)}”。用法：{_LIST_USAGE}")
    page = page or 1
    deps = call.deps
    states = (state,) if state else _OPEN
    views: dict[int, View] = {}  # a partner's view of each incident listed (the team's: full)
    if call.role in TEAM_ROLES:  # the team sees every incident: count and page in SQL
        total = store.count_incidents(deps.db, states=states, grade=grade)
        shown = store.list_incidents(
            deps.db, states=states, grade=grade, limit=LIST_PAGE, offset=(page - 1) * LIST_PAGE
        )
    else:  # a partner: only what was escalated or transferred to them, decided per incident
        transfers = store.transfer_units(deps.db) if call.role is Role.PARTNER else {}
        seen = []
        for i in store.list_incidents(deps.db, states=states, grade=grade, limit=1_000_000):
            if (v := _view(call, i, transfers)) is not View.NONE:
                seen.append(i)
                views[i.id] = v
        total, shown = len(seen), seen[(page - 1) * LIST_PAGE : page * LIST_PAGE]
    what = "、".join(x for x in (grade.badge if grade else "", state.label if state else "") if x)
    if not total:
        hold = _hold_line(deps)
        return [Reply((hold + "\n" if hold else "") + f"目前没有{what + '的' if what else '待处置的'}事件。")]
    pages = (total + LIST_PAGE - 1) // LIST_PAGE
    if page > pages:
        raise UsageError(f"只有 {pages} 页（共 {total} 起）。用法：{_LIST_USAGE}")
    names = {p.id: p.name for p in deps.config.people}
    head = f"{what + '的' if what else '待处置'}事件 {total} 起（按等级排序）"
    hold = _hold_line(deps)
    if hold:
        head = hold + "\n" + head
    if pages > 1:
        head += f"，第 {page}/{pages} 页"
    lines = [head + "："] + [short_line(i, names, facts_only=views.get(i.id) is View.FACTS) for i in shown]
    if page < pages:
        filters = " ".join(x for x in (grade.value if grade else "", state.label if state else "") if x)
        lines.append(
            f"……还有 {total - page * LIST_PAGE} 起，发送 /list {filters + ' ' if filters else ''}{page + 1} 查看下一页。"
        )
    return [Reply("\n".join(lines))]


async def cmd_mine(call: Call) -> list[Reply]:
    _no_more(call.args, "/mine")
    incs = store.list_incidents(
        call.deps.db, states=(State.CLAIMED, State.ESCALATED, State.AWAITING_FEEDBACK), assignee=call.me.id
    )
    if not incs:
        return [Reply("你目前没有负责中的事件。发送 /list 查看待认领事件。")]
    names = {p.id: p.name for p in call.deps.config.people}
    return [Reply(f"你负责的事件 {len(incs)} 起：\n" + "\n".join(short_line(i, names) for i in incs))]


async def cmd_show(call: Call) -> list[Reply]:
    iid = _id_only(call, "/show 编号，例如 /show 12")
    deps = call.deps
    inc, view = _visible(call, iid)
    # in a private chat the card is the asker's own (a leader's offers 已阅 and 批示)
    where = (call.req.platform, call.req.chat) if call.req.private else None
    if view is not View.FULL:
        # what a facts-only escalation step receives: the card (rendered for facts only: no
        # 研判, 批示, 已阅, 销号 line or names of the team's people) and the posts, no internal
        # notes, escalation reasons, playbook or timeline
        card = deps.render_card(inc, where, facts_only=True)
        lines = [card_text(card, with_commands=False)]
        posts = store.posts_for(deps.db, iid)
        if posts:
            lines.append(f"\n📰 相关帖文 {len(posts)} 篇：")
            lines += [f"  · {p['source_name'] or p['source_id']}：{p['title'][:40]}" for p in posts[:10]]
        return [Reply("\n".join(lines))]
    lines = [card_text(deps.render_card(inc, where))]
    pb = deps.config.playbook(inc.category)
    events = store.events_for(deps.db, iid)
    if pb:
        steps = (playbook_step(ev.detail.get("text")) for ev in events if ev.action == "note")
        done = {n for n in steps if n is not None}
        rule = deps.config.grades.get(inc.grade)
        lines.append(f"\n{playbook_text(iid, pb, done, rule)}（负责：{Role(pb.role).label}）")
    posts = store.posts_for(deps.db, iid)
    if len(posts) > 1:
        lines.append(f"\n📰 相关帖文 {len(posts)} 篇：")
        lines += [f"  · {p['source_name'] or p['source_id']}：{p['title'][:40]}" for p in posts[:10]]
    lines.append("\n🕒 处置记录：")
    lines += timeline_text(
        events, deps.service.name_of, deps.tz, TimelineOptions(skip=frozenset()), sources=_source_names(deps)
    )
    return [Reply("\n".join(lines))]


async def _simple(call: Call, action: Action, usage: str) -> list[Reply]:
    iid = _id_only(call, usage)
    return _result(call, call.deps.service.act(iid, action, call.actor))


async def cmd_claim(call: Call) -> list[Reply]:
    return await _simple(call, Action.CLAIM, "/claim 编号，例如 /claim 12")


async def cmd_unclaim(call: Call) -> list[Reply]:
    return await _simple(call, Action.UNCLAIM, "/unclaim 编号")


_REOPEN_USAGE = "/reopen 编号 原因，例如 /reopen 12 当事人再次发帖，热度回升"


async def cmd_reopen(call: Call) -> list[Reply]:
    """Reopen a closed incident, or send a closing back that waits for sign-off; always with a reason."""
    iid = _incident_id(call, _REOPEN_USAGE)
    reason = _text_after_number(call)
    inc = call.deps.service.get(iid)
    if inc.state not in (State.CLOSED, State.PENDING_SIGNOFF):
        return [Reply(f"#{inc.id} 尚未关闭（{inc.state.label}），无需重新打开。")]
    if not reason:
        raise UsageError(f"请说明重新打开的原因。用法：{_for_incident(_REOPEN_USAGE, iid)}")
    _within(reason, REASON_LIMIT, "原因", _REOPEN_USAGE)
    return _result(call, call.deps.service.act(iid, Action.REOPEN, call.actor, text=reason))


async def cmd_signoff(call: Call) -> list[Reply]:
    """销号: a leader or an admin confirms a grade I–II closing."""
    return await _simple(call, Action.SIGNOFF, "/signoff 编号，例如 /signoff 12")


async def cmd_assign(call: Call) -> list[Reply]:
    usage = "/assign 编号 @姓名，例如 /assign 12 @李强"
    iid, who = _id_and_arg(call, usage, "请指明指派给谁")
    who = who.lstrip("@＠")
    target = call.deps.config.person(who) if who else None
    if target is None:
        raise UsageError(f"找不到成员“{shorten(who)}”。用法：{usage}")
    if target.role not in (Role.ADMIN.value, Role.STAFF.value):
        raise UsageError(f"{target.name} 的角色是{Role(target.role).label}，只能指派给监测人员或管理员。")
    return _result(call, call.deps.service.act(iid, Action.ASSIGN, call.actor, target=target.id))


async def cmd_note(call: Call) -> list[Reply]:
    usage = "/note 编号 内容，例如 /note 12 已联系交通局核实"
    iid = _incident_id(call, usage)
    text = _text_after_id(call)
    if not text:
        raise UsageError(f"备注内容不能为空。用法：{_for_incident(usage, iid)}")
    try:
        step = playbook_step(text)
    except ValueError as exc:  # digits beyond what int() reads
        raise UsageError(f"步骤号过大。用法：/note {iid} 完成 步骤号") from exc
    if step is not None:
        inc = call.deps.service.get(iid)
        pb = call.deps.config.playbook(inc.category)
        if pb and not 1 <= step <= len(pb.steps):
            raise UsageError(
                f"#{iid} 的处置预案共 {len(pb.steps)} 步，没有第 {shorten(str(step), 12)} 步。"
                f"用法：/note {iid} 完成 步骤号（1–{len(pb.steps)}）"
            )
    _within(text, NOTE_LIMIT, "备注", usage)
    return _result(call, call.deps.service.act(iid, Action.NOTE, call.actor, text=text))


JUDGE_LIMIT = NOTE_LIMIT
_JUDGE_USAGE = "/judge 编号 研判意见，例如 /judge 12 系个人情绪化表达，传播有限，暂不升级"


async def cmd_judge(call: Call) -> list[Reply]:
    """研判: the analyst's assessment, an audited event shown on the card and in the documents."""
    iid = _incident_id(call, _JUDGE_USAGE)
    text = _text_after_number(call)
    if not text:
        raise UsageError(f"研判意见不能为空。用法：{_for_incident(_JUDGE_USAGE, iid)}")
    _within(text, JUDGE_LIMIT, "研判意见", _JUDGE_USAGE)
    _visible(call, iid, need=View.FULL)
    return _result(call, call.deps.service.act(iid, Action.JUDGE, call.actor, text=text))


INSTRUCT_LIMIT = REASON_LIMIT
_INSTRUCT_USAGE = "/instruct 编号 批示内容，例如 /instruct 12 请网信办会同属地核实，今日内回应"


async def cmd_instruct(call: Call) -> list[Reply]:
    """批示: a leader's instruction, an audited event shown on the card, sent to the assignee
    (or, unclaimed, to the group with a request to claim) and kept in the documents."""
    iid = _incident_id(call, _INSTRUCT_USAGE)
    text = _text_after_number(call)
    if not text:
        raise UsageError(f"批示内容不能为空。用法：{_for_incident(_INSTRUCT_USAGE, iid)}")
    _within(text, INSTRUCT_LIMIT, "批示", _INSTRUCT_USAGE)
    _visible(call, iid, need=View.FULL)
    out = call.deps.service.act(iid, Action.INSTRUCT, call.actor, text=text)
    if out.ok:
        return _done(call, out.incident, f"📌 已批示 #{iid}，已通知处置人员。")
    return _result(call, out)


async def cmd_read(call: Call) -> list[Reply]:
    """已阅: a leader's read receipt, once per person and incident (the 已阅 button)."""
    iid = _id_only(call, "/read 编号，例如 /read 12")
    _visible(call, iid, need=View.FULL)
    out = call.deps.service.act(iid, Action.READ, call.actor)
    if out.ok:
        return [Reply(f"✅ 已阅 #{iid}。")]
    return _result(call, out)


async def cmd_escalate(call: Call) -> list[Reply]:
    usage = "/escalate 编号 [原因]，例如 /escalate 12 转载量快速上升"
    iid = _incident_id(call, usage)
    reason = _within(_text_after_id(call), REASON_LIMIT, "升级原因", usage) or None
    return _result(call, call.deps.service.act(iid, Action.ESCALATE, call.actor, text=reason))


_CLOSE_USAGE = "/close 编号 处置方式 [说明]，例如 /close 12 已澄清 经核实系正常公务"


def _split_disposition(text: str) -> tuple[Disposition, str | None] | None:
    """'已回应，考试中心已发布说明' -> (已回应, '考试中心已发布说明'): a disposition, then the
    end, a space or punctuation, then the summary as typed."""
    for d in sorted(Disposition, key=lambda x: -len(x.value)):
        for word in (d.value, d.name.lower()):
            if text[: len(word)].lower() != word:
                continue
            tail = text[len(word) :]
            while tail and not strip_format(tail[0]):  # '已回应\u200b，…': invisible characters are not read
                tail = tail[1:]
            if tail and not (tail[0].isspace() or unicodedata.category(tail[0]).startswith("P")):
                continue
            summary = strip_ends(tail.lstrip().lstrip(_SEPARATORS))
            return d, summary or None
    return None


_SEPARATORS = ",，.。:：;；、!！?？-—~～ \u3000"


async def cmd_close(call: Call) -> list[Reply]:
    iid = _incident_id(call, _CLOSE_USAGE)
    text = _text_after_number(call)
    if not text:
        raise UsageError(f"请注明处置方式（{DISPOSITIONS}）。用法：{_for_incident(_CLOSE_USAGE, iid)}")
    found = _split_disposition(text)
    if found is None:
        word = text.split()[0]
        raise UsageError(f"未知的处置方式“{shorten(word)}”。可选：{DISPOSITIONS}。用法：{_CLOSE_USAGE}")
    disposition, summary = found
    if summary:
        _within(summary, REASON_LIMIT, "处置说明", _CLOSE_USAGE)
    return _result(call, call.deps.service.act(iid, Action.CLOSE, call.actor, disposition=disposition, summary=summary))


def _source_names(deps: Deps) -> dict[str, str]:
    """Source id -> the name users know it by (the configured sources, and tips)."""
    return {TIP_SOURCE.id: TIP_SOURCE.name, **{s.id: s.name for s in deps.config.sources}}


async def cmd_search(call: Call) -> list[Reply]:
    if not call.rest:
        raise UsageError("请提供搜索词。用法：/search 关键词，例如 /search 张建国 公车")
    if len(call.rest) > MAX_QUERY_CHARS:
        raise UsageError(
            f"搜索词太长（{len(call.rest)} 字），请控制在 {MAX_QUERY_CHARS} 字以内，例如 /search 张建国 公车"
        )
    query = parse_query(call.rest)
    if not query:
        raise UsageError(
            f"“{shorten(call.rest, 40)}”中没有可搜索的文字或数字。用法：/search 关键词，例如 /search 张建国 公车"
        )
    deps = call.deps
    # search what has been collected so far, up to a bound (the background indexer does the rest)
    waiting = await index_off_loop(deps.db, limit=SEARCH_INDEX_LIMIT)
    later = f"\n（另有 {waiting} 条新帖尚在建立索引，稍后再搜可查到更多）" if waiting else ""
    full = call.role in (Role.ADMIN, Role.STAFF, Role.LEADER)
    rows = post_store.search_posts(deps.db, query, limit=10 if full else 100)
    if not full:  # only posts of incidents this caller may see

        def visible(r) -> bool:
            if not r["incident_id"]:
                return False
            try:
                return _view(call, deps.service.get(r["incident_id"])) is not View.NONE
            except store.IncidentNotFound:
                return False

        rows = [r for r in rows if visible(r)][:10]
    words = shorten(call.rest, 40)
    if not rows:
        return [Reply(f"没有找到与“{words}”相关的帖文。{later}")]
    lines = [f"与“{words}”相关的帖文（前 {len(rows)} 条）："]
    sources = _source_names(deps)
    for r in rows:
        tag = f"#{r['incident_id']} " if r["incident_id"] else ""
        title = highlight(r["title"][:50], query.words)
        line = f"· {tag}{title}（{sources.get(r['source_id'], r['source_id'])}）"
        if "【" not in title or title.count("【") < len(query.words):
            part = snippet(r["text"] or "", query.words)
            if part:
                line += f"\n  {part}"
        lines.append(line)
    return [Reply("\n".join(lines) + later)]


_REPORT_USAGE = (
    "用法：/report [today|yesterday|week|lastweek|month|起始日..结束日|编号] [docx]，例如 /report week、"
    "/report 昨天、/report 2026-11-01..2026-11-30（或 2026-11-01至2026-11-30）、/report 12（专报）；加 docx 得到 Word 文档，"
    "如 /report week docx、/report 12 docx"
)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_REPORT_FORMATS = ("docx", "word", "文档", "文件")


def _looks_like_format(word: str) -> bool:
    """pdf, xlsx, txt…: a file format asked for (not a second period or number)."""
    if not re.fullmatch(r"[A-Za-z]{2,6}", word):
        return False
    try:
        parse_period(word)
    except ValueError:
        return True
    return False


async def _report_document(call: Call, target) -> Reply:
    """The report (a period, or an incident's 专报) as a Word document: the 期号 taken on the
    app's connection, the document built in the reader process."""
    import tempfile
    from pathlib import Path

    from jobs.report_docs import make_report_docx

    deps = call.deps
    out_dir = Path(deps.data_dir if deps.data_dir is not None else tempfile.gettempdir())
    res = await make_report_docx(deps.db, deps.config, target, deps.clock(), deps.tz, out_dir)
    log.info("/report %s docx by %s: %s %d-%d -> %s", target, call.me.id, res.kind, res.year, res.number, res.path)
    return Reply(f"{res.summary}（服务器路径：{res.path}）。", document=res.path)


def _period(arg: str, what: str, usage: str) -> str:
    """A report or export period as typed (today, week, 2026-11-01..2026-11-30), checked.

    :raises UsageError: unknown, or a range outside 2000-01-01..2999-12-31.
    """
    try:
        period = parse_period(arg)
    except BackwardsPeriod as exc:
        a, b = exc.start.isoformat(), exc.end.isoformat()
        raise UsageError(f"起始日 {a} 晚于结束日 {b}，请写作 {b}..{a}。{usage}") from exc
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"无法识别的{what}周期“{shorten(arg)}”。{usage}") from exc
    m = _RANGE.match(period)
    if m and not all(date(2000, 1, 1) <= date.fromisoformat(d) <= date(2999, 12, 31) for d in m.groups()):
        raise UsageError(f"{what}周期须在 2000-01-01 至 2999-12-31 之间。{usage}")
    return period


async def cmd_report(call: Call) -> list[Reply]:
    usage = _REPORT_USAGE
    args = list(call.args)
    as_doc = bool(args) and args[-1].lower() in _REPORT_FORMATS
    if as_doc:
        args.pop()
    elif len(args) == 2 and _looks_like_format(args[1]):
        raise UsageError(f"未知的报告格式“{shorten(args[1])}”，目前支持：docx（Word 文档）。{usage}")
    _no_more(args[1:], usage)
    arg = args[0] if args else "today"
    deps = call.deps
    if looks_numeric(arg):
        iid = parse_number(arg)
        if iid is None:
            raise UsageError(f"“{shorten(arg)}”不是有效的事件编号（编号是 1 到 {MAX_ID} 之间的整数）。{usage}")
        _visible(call, iid, need=View.FULL)  # a 专报 holds the whole timeline
        if as_doc:
            return [await _report_document(call, iid)]
        return [Reply(special_report(deps.db, deps.config, iid, deps.tz, deps.render_card))]
    period = _period(arg, "报告", usage)
    if as_doc:
        return [await _report_document(call, period)]
    if deps.data_dir is None:
        r = await offload.read_only(deps.db, build_report, deps.config, period, deps.clock(), deps.tz)
        return [Reply(render_report(r, deps.tz, deps.config.organization.name))]
    text, image = await offload.read_only(
        deps.db, report_with_chart, deps.config, period, deps.clock(), deps.tz, deps.data_dir
    )
    return [Reply(text, image=image)]


async def cmd_subscribe(call: Call) -> list[Reply]:
    usage = "/subscribe [I|II|III|IV]，例如 /subscribe II 表示接收 II 级及以上"
    _no_more(call.args[1:], usage)
    try:
        grade = Grade.parse(call.args[0]) if call.args else Grade.II
    except ValueError as exc:
        raise UsageError(f"未知等级“{shorten(call.args[0])}”。用法：{usage}") from exc
    with write_tx(call.deps.db):
        people_store.subscribe(call.deps.db, call.me.id, grade.value, call.deps.clock())
        if call.req.platform != "console":
            people_store.register_identity(
                call.deps.db, call.req.platform, call.req.user_id, call.me.id, call.deps.clock()
            )
    levels = "、".join(g.badge for g in Grade if g.at_least(grade))
    return [Reply(f"已订阅：{levels} 事件将私信推送给你。发送 /unsubscribe 取消。")]


async def cmd_unsubscribe(call: Call) -> list[Reply]:
    _no_more(call.args, "/unsubscribe")
    with write_tx(call.deps.db):
        had = people_store.unsubscribe(call.deps.db, call.me.id)
    return [Reply("已取消订阅。" if had else "你目前没有订阅。发送 /subscribe II 订阅 II 级及以上事件。")]


def source_status(row: dict, config: Config) -> str:
    health = source_health(row, config.collection.break_after)
    failures = row.get("consecutive_failures")
    return {
        SourceHealth.DEACTIVATED: "⛔ 已停用",
        SourceHealth.FAILING: f"⚠️ 连续失败 {failures} 次",
        SourceHealth.FLAKY: f"🟡 失败 {failures} 次",
        SourceHealth.RESUMED: "⏳ 已恢复，待重新抓取",
        SourceHealth.SILENT: "🔇 长时间无更新",
        SourceHealth.NOT_RUN: "⏳ 尚未抓取",
        SourceHealth.OK: "✅ 正常",
    }[health]


async def cmd_sources(call: Call) -> list[Reply]:
    _no_more(call.args, "/sources")
    deps = call.deps
    rows = {r["id"]: r for r in post_store.source_rows(deps.db)}
    if not deps.config.sources:
        return [Reply("配置中没有来源。")]
    lines = [f"来源 {len(deps.config.sources)} 个："]
    hold = _hold_line(deps)
    if hold:
        lines.insert(0, hold)
    for s in deps.config.sources:
        r = rows.get(s.id, {})
        last_ok = fmt_time(from_iso(r.get("last_ok_at")), deps.tz) if r.get("last_ok_at") else "—"
        line = f"{source_status(r, deps.config)} {s.name}（{s.kind}，{s.interval}）最近成功 {last_ok}，累计 {r.get('items_total', 0)} 条"
        if r.get("last_error"):
            line += f"\n    最近错误：{r['last_error'][:80]}"
        elif r.get("last_warning"):  # the last run worked in part (a search query failed, items capped)
            line += f"\n    ⚠️ {r['last_warning'][:120]}"
        lines.append(line)
    return [Reply("\n".join(lines))]


async def cmd_tip(call: Call) -> list[Reply]:
    usage = "/tip 链接 [备注]，例如 /tip https://bbs.example.com/thread-1.html 村民反映办事难"
    if not call.args:
        raise UsageError(f"请附上链接。用法：{usage}")
    url = call.args[0]
    note = _within(call.rest[len(url) :].strip(), NOTE_LIMIT, "备注", usage)  # refused before the page is fetched
    deps = call.deps
    try:
        page = await fetch_tip(url, deps.http(), deps.resolve)
    except TipRefused as e:
        log.info("tip refused for %s: %s", call.me.id, e)
        return [Reply(f"无法处理这条线索：{e}")]
    except (httpx.InvalidURL, ValueError, UnicodeError) as e:
        log.info("tip refused for %s: bad address %r: %s", call.me.id, shorten(url, 200), e)
        raise UsageError(f"“{shorten(url, 60)}”不是有效的链接。用法：{usage}") from e
    post = Post(
        source_id=TIP_SOURCE.id,
        item_key=item_key(TIP_SOURCE.id, page.url, None, page.title),
        title=page.title,
        text=page.text,
        url=page.url,
        published_at=deps.clock(),
        tip_by=call.me.id,
    )
    out = deps.pipeline.ingest(post, TIP_SOURCE)
    iid, verb = out.incident_id, ("已生成事件" if out.created else "已并入事件")
    if iid is None and out.post_id is None:  # stored before: its incident, if it has one, gets the note
        iid = post_store.incident_of_item(deps.db, post.item_key)
        verb = "这条线索已经收录过了，属于事件"
    if iid is not None:
        if note:
            deps.service.act(iid, Action.NOTE, call.actor, text=f"线索备注：{note}")
            log.info("tip %s by %s: note added to #%s", post.item_key, call.me.id, iid)
        inc = deps.service.get(iid)
        kept = f"\n你的备注已记入事件 #{inc.id} 的处置记录。" if note else ""
        if out.post_id is None:
            return [Reply(f"{verb} #{inc.id}（{inc.grade.badge}）：{page.title}{kept}")]
        return [Reply(f"已收到线索，{verb} #{inc.id}（{inc.grade.badge}）：{inc.title}，谢谢！{kept}")]
    kept = _keep_tip_note(call, post, note) if note else ""
    if out.post_id is None:
        return [Reply(f"这条线索已经收录过了：{page.title}\n未生成事件，可用 /search 查找。{kept}")]
    return [Reply(f"已收到线索并存档：{page.title}\n未命中关注清单，暂不生成事件；可用 /search 查找。{kept}")]


def _keep_tip_note(call: Call, post: Post, note: str) -> str:
    """A tip's note for a post that belongs to no incident: kept with the stored post (who,
    when, text); what the sender is told about it."""
    deps = call.deps
    with write_tx(deps.db):
        post_id = post_store.add_post_note(deps.db, post.item_key, by=call.me.id, text=note, now=deps.clock())
    if post_id is None:  # the post was pruned (retention) since: there is nothing to keep it with
        log.warning("tip %s by %s: post no longer stored, note not kept: %r", post.item_key, call.me.id, note)
        return "\n这条帖文已按保留期限清理，备注未能保存，请改用 /note 记入相关事件。"
    log.info("tip %s by %s: note kept with post %s", post.item_key, call.me.id, post_id)
    return "\n你的备注已随帖文存档。"


_ALL = ("all", "全部", "全组")


def _hold_line(deps: Deps) -> str | None:
    """The group-wide hold, when one is on: for /list and /sources."""
    until = store.get_mute_all(deps.db)
    if until is None or until <= deps.clock():
        return None
    return f"🔕 全组静音中，至 {fmt_time(until, deps.tz)}：III、IV 级提醒暂停（到期补发），I、II 级照常。/unmute all 提前结束"


async def cmd_mute(call: Call) -> list[Reply]:
    usage = (
        "/mute 编号 时长，例如 /mute 12 2h；/mute all 2h 全组静音（计划内活动，I、II 级照常提醒）（支持 30m、2h、1d）"
    )
    if call.args and call.args[0].lower() in _ALL:
        if len(call.args) < 2:
            raise UsageError(f"请注明静音多久。用法：{usage}")
        _no_more(call.args[2:], usage)
        iid, raw = None, call.args[1]
    else:
        iid, raw = _id_and_arg(call, usage, "请注明静音多久")
    try:
        span = parse_duration(raw) if len(raw) <= 20 else None
    except ValueError as exc:
        raise UsageError(f"“{shorten(raw)}”不是有效的时长。用法：{usage}") from exc
    except OverflowError:
        span = None
    if span is None or span > timedelta(days=7):
        raise UsageError(f"最多静音 7 天。用法：{usage}")
    if span <= timedelta(0):
        raise UsageError(f"静音时长须大于 0。用法：{usage}")
    if iid is None:
        until = call.deps.clock() + span
        call.deps.service.mute_all(call.actor, until)
        log.info("/mute all by %s until %s", call.me.id, until)
        if _in_a_group(call):  # the group is told through the outbox
            return []
        return [Reply(f"已开启全组静音，至 {fmt_time(until, call.deps.tz)}（I、II 级事件照常提醒）。")]
    if (closed := call.deps.service.get(iid)).state is State.CLOSED:
        log.info("/mute %s by %s refused: closed", iid, call.me.id)
        return [
            Reply(f"#{iid} 已关闭（{closed.disposition.value if closed.disposition else '—'}），不再提醒，无需静音。")
        ]
    inc = call.deps.service.mute(iid, call.actor, call.deps.clock() + span)
    return _done(call, inc, f"已静音 #{iid} 的提醒，至 {fmt_time(inc.muted_until, call.deps.tz)}。")


def _in_a_group(call: Call) -> bool:
    """The command came from a monitoring group, where the group-wide hold is announced."""
    return (call.req.platform, call.req.chat) in [
        c for t in call.deps.config.teams for c in call.deps.router.group_chats(t.id)
    ]


async def cmd_unmute(call: Call) -> list[Reply]:
    usage = "/unmute 编号，例如 /unmute 12；/unmute all 结束全组静音"
    deps = call.deps
    if call.args and call.args[0].lower() in _ALL:
        _no_more(call.args[1:], usage)
        if _hold_line(deps) is None:
            return [Reply("目前没有全组静音。")]
        deps.service.mute_all(call.actor, None)
        log.info("/unmute all by %s", call.me.id)
        if _in_a_group(call):  # the group is told through the outbox (🔔 … 取消了全组静音)
            return []
        return [Reply("已结束全组静音，恢复全部提醒。")]
    iid = _id_only(call, usage)
    inc, was = deps.service.unmute(iid, call.actor)
    if not was:
        return [Reply(f"#{iid} 目前没有静音。")]
    return _done(call, inc, f"已取消 #{iid} 的静音，恢复提醒。")


_EXPORT_USAGE = (
    "用法：/export ledger [today|week|month|lastweek|起始日..结束日]，例如 /export ledger week"
    "（舆情台账，Excel 文件；默认本周）"
)
_EXPORT_KINDS = {"ledger": "ledger", "台账": "ledger"}


async def cmd_export(call: Call) -> list[Reply]:
    """/export ledger week: the 台账 of a period as an .xlsx file sent back to the caller."""
    import asyncio
    import tempfile

    from jobs.ledger import ledger_rows, write_xlsx
    from jobs.report import period_bounds
    from storage import open_db
    from storage.db import database_file

    usage = _EXPORT_USAGE
    if not call.args:
        raise UsageError(f"请指明导出什么。{usage}")
    kind = _EXPORT_KINDS.get(call.args[0].lower())
    if kind is None:
        raise UsageError(f"未知的导出类型“{shorten(call.args[0])}”，目前可导出：ledger（台账）。{usage}")
    _no_more(call.args[2:], usage)
    arg = call.args[1] if len(call.args) > 1 else "week"
    period = _period(arg, "导出", usage)
    deps = call.deps
    now = deps.clock()
    lo, hi = period_bounds(period, now, deps.tz)
    first, last = lo.astimezone(deps.tz).date(), (hi - timedelta(seconds=1)).astimezone(deps.tz).date()
    org = deps.config.organization.name
    out_dir = Path(deps.data_dir if deps.data_dir is not None else tempfile.gettempdir()) / "exports"
    # a name of its own, even for two exports in the same second (the reply sends the file later)
    file = fresh_path(out_dir, f"舆情台账-{first:%Y%m%d}-{last:%Y%m%d}-{now.astimezone(deps.tz):%H%M%S}", ".xlsx")
    title = f"{org}网络舆情台账（{first} 至 {last}）"
    db_file = database_file(deps.db)

    def work(rows=None):
        """Read (through a connection of its own) and write the workbook, off the event loop."""
        if rows is None:
            own = open_db(db_file, migrate=False)
            try:
                rows = ledger_rows(own, deps.config, lo, hi, deps.tz, now)
            finally:
                own.close()
        return len(rows), write_xlsx(rows, file, org=org, title=title)

    try:
        if db_file:
            count, path = await asyncio.to_thread(work)
        else:  # an in-memory database has no second connection: read here, write off the loop
            count, path = await asyncio.to_thread(work, ledger_rows(deps.db, deps.config, lo, hi, deps.tz, now))
    except BaseException:
        file.unlink(missing_ok=True)  # the name reserved for it
        raise
    log.info("/export ledger %s by %s: %d rows -> %s", period, call.me.id, count, path)
    return [
        Reply(
            f"📎 舆情台账（{first} 至 {last}）：{count} 起事件，已生成 Excel 文件 {path.name}（服务器路径：{path}）。",
            document=str(path),
        )
    ]


# ---------------------------------------------------------------------------- duty rota, 转办

_DUTY_USAGE = (
    "/duty 查看值班；/duty 2026-11-27 接班；/duty 2026-11-27 @姓名 安排（领导、管理员）；/duty 2026-11-27 轮值 取消调班"
)
_SWAP_WORDS = ("swap", "换班", "接班")
_CLEAR_WORDS = ("轮值", "取消", "恢复", "clear", "reset")
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")
_CLOCK = re.compile(r"^\d{1,2}\s*(?:[:：]\d|[点时])")  # a time of day typed after the date


def _day(word: str, today: date) -> date | None:
    """'2026-11-27', '11-27', '11月27日', 今天, 明天 -> a date; None when it is not one. A
    month-day without a year is the nearest such date to today (last, this or next year)."""
    if word in ("今天", "today"):
        return today
    if word in ("明天", "tomorrow"):
        return today + timedelta(days=1)
    m = _DATE.match(word)
    if not m:
        return None
    month, day = int(m.group(2)), int(m.group(3))
    years = [int(m.group(1))] if m.group(1) else [today.year - 1, today.year, today.year + 1]
    days = []
    for year in years:
        try:
            days.append(date(year, month, day))
        except ValueError:  # 02-29 of a common year, 11-31
            continue
    # without a year, the nearest such day: 11-23 typed on 11-24 is yesterday (refused as past),
    # not a shift a year ahead; 01-02 typed on 12-28 is next year's
    return min(days, key=lambda d: abs(d - today)) if days else None


def _shift_line(deps: Deps, shift) -> str:
    name = deps.service.name_of(shift.person)
    span = f"{fmt_time(shift.start, deps.tz)} 至 {fmt_time(shift.end, deps.tz)}"
    return f"{name}（{span}{'，调班' if shift.override else ''}）"


async def cmd_duty(call: Call) -> list[Reply]:
    """值班: who is on duty now and next; take a shift, or (leaders, admins) assign one."""
    deps = call.deps
    duty = deps.config.organization.duty
    if duty is None:
        return [Reply("尚未配置值班表（配置文件 organization.duty）。")]
    args = list(call.args)
    if args and args[0].lower() in _SWAP_WORDS:
        args = args[1:]
    if not args:
        now_shift, *later = deps.service.duty_shifts(deps.clock(), 2)
        lines = [f"当前值班：{_shift_line(deps, now_shift)}"]
        if later:
            lines.append(f"下一班：{_shift_line(deps, later[0])}")
        return [Reply("\n".join(lines))]
    now = deps.clock()
    today = day_of(now, duty, deps.tz)  # the duty day on now: before the handover, yesterday's
    day = _day(args[0], now.astimezone(deps.tz).date())  # 今天 and 明天 as the calendar says
    if day is None:
        raise UsageError(f"“{shorten(args[0])}”不是有效的日期。用法：{_DUTY_USAGE}")
    if day < today:
        raise UsageError(f"{day:%Y-%m-%d} 已经过去，不能再调班。用法：{_DUTY_USAGE}")
    if day > today + timedelta(days=366):
        raise UsageError(f"最多安排一年内的值班。用法：{_DUTY_USAGE}")
    _no_more(args[2:], _DUTY_USAGE)
    if len(args) > 1 and args[1].lower() in _CLEAR_WORDS:
        return _clear_duty(call, day, today)
    person = call.me
    if len(args) > 1:
        named = deps.config.person(args[1].lstrip("@＠"))  # ＠ as a Chinese input method types it, like /assign
        if named is None and _CLOCK.match(args[1]):  # "/duty 11-27 20:00-08:00": no shift by the hour
            raise UsageError(f"值班按天安排，每天 {duty.handover} 交班，不能指定时刻或时段。用法：{_DUTY_USAGE}")
        if named is None:
            raise UsageError(f"配置中没有成员“{shorten(args[1])}”。用法：{_DUTY_USAGE}")
        person = named
    if deps.config.duty_person(person.id) is None:
        raise UsageError(f"{person.name}（{Role(person.role).label}）不能值班。")
    if person.id != call.me.id and call.role not in (Role.ADMIN, Role.LEADER):
        return [Reply(f"{call.me.name}，监测人员只能为自己接班；安排他人值班须由领导或管理员操作。")]
    deps.service.set_duty(day, person.id, call.actor)
    log.info("/duty %s -> %s by %s", day, person.id, call.me.id)
    if (call.req.platform, call.req.chat) in [c for t in deps.config.teams for c in deps.router.group_chats(t.id)]:
        return []
    return [Reply(f"已安排：{day_label(day, today)} 值班员为 {person.name}。")]


def _clear_duty(call: Call, day: date, today: date) -> list[Reply]:
    """/duty DAY 轮值: give the day back to the rotation — leaders and admins any day, staff a
    shift that is theirs."""
    deps = call.deps
    person, by_command = deps.service.duty_change(day)
    label = day_label(day, today)
    if person is None:
        turn = deps.service.duty_of_day(day)
        return [Reply(f"{label} 没有调班，值班员为 {deps.service.name_of(turn) if turn else '—'}（轮值）。")]
    if call.role not in (Role.ADMIN, Role.LEADER) and not (by_command and person == call.me.id):
        return [Reply(f"{call.me.name}，监测人员只能取消自己接的班；其他调班须由领导或管理员取消。")]
    deps.service.set_duty(day, "", call.actor)
    log.info("/duty %s cleared by %s", day, call.me.id)
    if (call.req.platform, call.req.chat) in [c for t in deps.config.teams for c in deps.router.group_chats(t.id)]:
        return []
    turn = deps.service.duty_of_day(day)
    return [Reply(f"已恢复轮值：{label} 值班员为 {deps.service.name_of(turn) if turn else '—'}。")]


_TRANSFER_USAGE = "/transfer 编号 单位 期限 [说明]，例如 /transfer 12 市交通运输局 3d 请核实并反馈处置情况"
FEEDBACK_DUE_HOUR = 18  # a due date without a time means that day's end of work


def _due(word: str, now: datetime, tz) -> datetime | None:
    """'3d', '48h' (from now) or a date ('2026-11-30', '11-30': that day at 18:00 local)."""
    try:
        span = parse_duration(word) if len(word) <= 20 else None
    except (ValueError, OverflowError):
        span = None
    if span is not None:
        return now + span if timedelta(0) < span <= timedelta(days=180) else None
    day = _day(word, now.astimezone(tz).date())
    if day is None:
        return None
    when = datetime.combine(day, time(FEEDBACK_DUE_HOUR), tzinfo=tz)
    return when if now < when <= now + timedelta(days=180) else None


async def cmd_transfer(call: Call) -> list[Reply]:
    """转办: refer the incident to a unit with a due date; it waits for the feedback (待反馈)."""
    iid = _incident_id(call, _TRANSFER_USAGE)
    rest = _after_id(call)
    if len(rest) < 2:
        raise UsageError(f"请写明承办单位和反馈期限。用法：{_for_incident(_TRANSFER_USAGE, iid)}")
    unit, raw = rest[0], rest[1]
    if len(unit) > 60:
        raise UsageError(f"单位名称过长。用法：{_TRANSFER_USAGE}")
    due = _due(raw, call.deps.clock(), call.deps.tz)
    if due is None:
        raise UsageError(
            f"“{shorten(raw)}”不是有效的反馈期限（如 3d、48h 或 2026-11-30，180 天以内）。用法：{_TRANSFER_USAGE}"
        )
    text = _text_after_number(call)
    parts = text.split(None, 2)
    note = _within(parts[2].strip() if len(parts) > 2 else "", REASON_LIMIT, "转办说明", _TRANSFER_USAGE) or None
    inc, _ = _visible(call, iid, need=View.FULL)
    document = await _contact_document(call, inc, unit, due, note)
    return _result(
        call, call.deps.service.act(iid, Action.TRANSFER, call.actor, unit=unit, due=due, text=note, document=document)
    )


async def _contact_document(call: Call, inc, unit: str, due: datetime, note: str | None) -> str | None:
    """The 工作联系单 as a Word file (built off the loop); None when it cannot be made — the
    message goes out alone."""
    import tempfile

    from jobs.report_docs import build_contact_docx

    deps = call.deps
    partner = deps.service.partner_for(unit)
    now = deps.clock()
    out_dir = Path(deps.data_dir if deps.data_dir is not None else tempfile.gettempdir())
    try:
        path = fresh_path(out_dir / "reports", f"工作联系单-{inc.id}-{now.astimezone(deps.tz):%Y%m%d-%H%M%S}", ".docx")
    except OSError:
        log.exception("no file for the 工作联系单 of #%s; sending the message only", inc.id)
        return None
    try:
        done = await offload.cpu(
            build_contact_docx,
            deps.config,
            inc,
            unit,
            fmt_time(due, deps.tz),
            note,
            now,
            deps.tz,
            path,
            judgement=not (partner and partner[1]),
        )
    except Exception:
        log.exception("the 工作联系单 of #%s could not be made; sending the message only", inc.id)
        path.unlink(missing_ok=True)
        return None
    return str(done)


_FEEDBACK_USAGE = "/feedback 编号 反馈内容，例如 /feedback 12 交通局已核实并在官网发布说明"


async def cmd_feedback(call: Call) -> list[Reply]:
    """反馈: the receiving unit's reply to a 转办; handling continues (or /close 已转办)."""
    iid = _incident_id(call, _FEEDBACK_USAGE)
    text = _text_after_number(call)
    if not text:
        raise UsageError(f"反馈内容不能为空。用法：{_for_incident(_FEEDBACK_USAGE, iid)}")
    _within(text, NOTE_LIMIT, "反馈内容", _FEEDBACK_USAGE)
    _visible(call, iid, need=View.FULL)
    return _result(call, call.deps.service.act(iid, Action.FEEDBACK, call.actor, text=text))


COMMANDS: list[Command] = [
    Command("help", "/help", "查看帮助", cmd_help, aliases=("帮助",)),
    Command("start", "/start", "登记（私聊）", cmd_start),
    Command("list", "/list [等级] [状态] [页码]", "待处置事件（每页 20 起）", cmd_list, aliases=("列表", "待办")),
    Command("show", "/show 编号", "事件详情、预案与处置记录", cmd_show, aliases=("详情", "查看")),
    Command("mine", "/mine", "我负责的事件", cmd_mine, aliases=("我的",)),
    Command("claim", "/claim 编号", "认领", cmd_claim, aliases=("认领",)),
    Command("unclaim", "/unclaim 编号", "取消认领", cmd_unclaim, aliases=("取消认领",)),
    Command("assign", "/assign 编号 @姓名", "指派", cmd_assign, aliases=("指派",)),
    Command("note", "/note 编号 内容", "添加备注", cmd_note, aliases=("备注",)),
    Command("judge", "/judge 编号 研判意见", "研判（I、II 级事件关闭前必须有）", cmd_judge, aliases=("研判",)),
    Command("escalate", "/escalate 编号 [原因]", "升级", cmd_escalate, aliases=("升级",)),
    Command("close", "/close 编号 处置方式 [说明]", f"关闭（{DISPOSITIONS}）", cmd_close, aliases=("关闭",)),
    Command("signoff", "/signoff 编号", "销号：确认关闭 I、II 级事件（领导、管理员）", cmd_signoff, aliases=("销号",)),
    Command(
        "reopen",
        "/reopen 编号 原因",
        "重新打开，或退回待销号的关闭申请（须说明原因）",
        cmd_reopen,
        aliases=("重新打开", "重开"),
    ),
    Command("search", "/search 关键词", "全文搜索帖文", cmd_search, aliases=("搜索",)),
    Command(
        "report",
        "/report [today|week|month|起..止|编号] [docx]",
        "统计报告；带编号为单个事件的专报；加 docx 得到 Word 文档",
        cmd_report,
        aliases=("报告",),
    ),
    Command(
        "subscribe", "/subscribe [I|II|III|IV]", "订阅私信推送（默认 II 级及以上）", cmd_subscribe, aliases=("订阅",)
    ),
    Command("unsubscribe", "/unsubscribe", "取消订阅", cmd_unsubscribe, aliases=("取消订阅",)),
    Command("sources", "/sources", "来源状态", cmd_sources, aliases=("来源",)),
    Command("tip", "/tip 链接 [备注]", "报送线索", cmd_tip, aliases=("线索", "报送")),
    Command(
        "mute",
        "/mute 编号 时长",
        "暂停某事件的提醒（如 2h）；/mute all 2h 全组静音（I、II 级照常）",
        cmd_mute,
        aliases=("静音",),
    ),
    Command("unmute", "/unmute 编号", "取消静音；/unmute all 结束全组静音", cmd_unmute, aliases=("取消静音",)),
    Command("export", "/export ledger [周期]", "导出舆情台账（Excel 文件，默认本周）", cmd_export, aliases=("导出",)),
    Command("instruct", "/instruct 编号 批示内容", "领导批示（领导、管理员）", cmd_instruct, aliases=("批示",)),
    Command("read", "/read 编号", "已阅：阅知回执（领导、管理员；私聊卡片上的按钮）", cmd_read, aliases=("已阅",)),
    Command(
        "duty",
        "/duty [日期 [@姓名]]",
        "值班：现在和下一班的值班员；/duty 2026-11-27 接班，领导、管理员可 /duty 2026-11-27 @姓名 安排，"
        "/duty 2026-11-27 轮值 取消调班",
        cmd_duty,
        aliases=("值班",),
    ),
    Command(
        "transfer",
        "/transfer 编号 单位 期限 [说明]",
        "转办：发工作联系单，事件待反馈至期限（期限如 3d、48h 或 2026-11-30）",
        cmd_transfer,
        aliases=("转办",),
    ),
    Command("feedback", "/feedback 编号 反馈内容", "记录承办单位的反馈（转办后）", cmd_feedback, aliases=("反馈",)),
]
_BY_NAME = {c.name: c for c in COMMANDS}
_ALIASES = {a: c.name for c in COMMANDS for a in c.aliases}
# longest alternatives first, so 取消订阅 is not read as something shorter
_ALIAS = re.compile(
    "^(" + "|".join(sorted(map(re.escape, _ALIASES), key=len, reverse=True)) + r")(?:$|(?=[\s#＃0-9０-９])\s*(.*))$",
    re.DOTALL,
)
_NUMBER = re.compile(rf"^{ID}(?:\s|$)")
# aliases that are everyday words in a group ("已阅" acknowledges any message): a command
# there only with the incident number
_NUMBER_IN_GROUP = frozenset({"read"})
# arguments a Chinese word takes in a group (commands with an incident number need the number;
# the others, not listed, count only as the whole message)
_GROUP_ARGS = {
    "list": re.compile(r"^(?:[0-9０-９]+|I{1,3}|IV|待认领|处置中|已升级|待反馈|待销号)(?:\s|$)", re.I),
    "duty": re.compile(r"^(?:swap|换班|接班|今天|明天|\d{1,4}[-/.年])", re.I),
    "report": re.compile(r"^(?:today|yesterday|week|lastweek|month|\d)", re.I),
    "subscribe": re.compile(r"^(?:I|II|III|IV)$", re.I),
    "tip": re.compile(r"^https?://", re.I),
    "search": re.compile(r"^\S{2,}"),
    "export": re.compile(r"^(?:ledger|台账)(?:\s|$)", re.I),
}
