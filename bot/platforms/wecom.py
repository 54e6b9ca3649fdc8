"""WeCom (企业微信): group robots post to the team's groups, a self-built app takes commands.

Two WeCom interfaces, because neither does everything:

* a **group robot** (群机器人) webhook posts alert cards, notices, digests and report charts
  to a group. It can only post: it cannot edit a message or receive one. Chats are addressed
  as ``robot:<name>``, the name being a key of ``YUQING_WECOM_ROBOT_KEYS`` (usually the team id);
* a **self-built app** (自建应用) receives what people send it, through an encrypted callback
  to a small aiohttp server that `serve` runs, and answers through the app message API. Its
  private cards are template cards with buttons. Chats are addressed by WeCom user id.

Translates only, like every adapter: cards -> markdown / template cards, callbacks ->
`handlers.Request`, WeCom error codes -> `core.platform` delivery errors. The callback's
signature check and AES decryption are wechatpy's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

import aiohttp
import httpx
import xmltodict
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.errors import FieldProblem, SettingsError
from bot.logsafe import BoundedLog
from bot.platforms.ratelimit import Pacer
from core.lifecycle import Action
from core.models import Disposition
from core.platform import DeliveryError, Outgoing, text_parts
from core.render import Card, shrink_card
from handlers import Request
from storage.incidents import IncidentNotFound
from storage.replay import first_time, prune_seen

__all__ = ["ROBOT_PREFIX", "WeComPlatform", "card_markdown", "template_card"]

log = logging.getLogger(__name__)

ROBOT_PREFIX = "robot:"
MARKDOWN_BYTES = 4096  # robot markdown content
TEXT_BYTES = 2048  # robot and app text content
ROBOT_PER_MINUTE = 20  # WeCom: 20 messages a minute per robot
APP_PER_USER_MINUTE = 30  # WeCom drops app messages beyond 30 a minute to one member
MAX_SKEW = 300  # seconds a callback timestamp may be off (replays older than this are refused)
MAX_BODY = 256 * 1024  # bytes a callback body may have
MSG_MEMORY = 3600  # seconds a MsgId is remembered (WeCom retries an unanswered callback within ~15 s)
THROTTLED = {45009, 45033}  # api freq out of limit, too many concurrent calls
TOKEN_EXPIRED = {40014, 42001, 40001}
# bad key/user/agent/parameter, API not permitted for this app: retrying cannot help
PERMANENT = {93000, 93004, 40058, 40003, 40056, 48002, 81013, 301002}
BUTTONS = {
    "c": Action.CLAIM,
    "u": Action.UNCLAIM,
    "n": Action.NOTE,
    "e": Action.ESCALATE,
    "x": Action.CLOSE,
    "r": Action.REOPEN,
}
BUTTON_CODE = {a: c for c, a in BUTTONS.items()}
DISPOSITIONS = "、".join(d.value for d in Disposition)


def _bytes(s: str) -> int:
    return len(s.encode("utf-8"))


def _md(text: str) -> str:
    """Scraped text made inert in WeCom markdown: no links, bold, code, tags or headings."""
    table = str.maketrans({"[": "［", "]": "］", "*": "＊", "`": "｀", "<": "＜", ">": "＞", "\n": " "})
    return (text or "").translate(table)


def _url(url: str) -> str:
    """An http(s) link made inert in markdown and HTML: spaces, brackets, quotes and angle
    brackets percent-encoded (what is already encoded stays as it is)."""
    return quote(url, safe=":/?#@!$&'*+,;=%~[]")


def _commands_hint(card: Card) -> str | None:
    if not card.buttons:
        return None
    iid = card.buttons[0].incident_id
    extra = {Action.NOTE: " 内容", Action.CLOSE: " 处置方式"}
    words = "、".join(f"「{b.label} {iid}{extra.get(b.action, '')}」" for b in card.buttons)
    return f"在「舆情哨兵」应用中发送 {words}"


def _markdown(card: Card) -> str:
    colour = "warning" if card.header.startswith(("🔴", "🟠")) else "info"
    title = f"[{_md(card.title)}]({_url(card.url)})" if card.url else f"**{_md(card.title)}**"
    lines = [f'### <font color="{colour}">{_md(card.header)}</font>', title]
    lines += [f"> **{_md(label)}**：{_md(value)}" for label, value in card.fields]
    if card.footer:
        lines.append(f'<font color="comment">{_md(card.footer)}</font>')
    hint = _commands_hint(card)
    if hint:
        lines.append(f'<font color="comment">{_md(hint)}</font>')
    return "\n".join(lines)


def card_markdown(card: Card, limit: int = MARKDOWN_BYTES) -> str:
    """The card as robot markdown within `limit` UTF-8 bytes, every scraped string made inert."""
    return _markdown(shrink_card(card, lambda c: _bytes(_markdown(c)) <= limit))


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def template_card(card: Card, task_id: str) -> dict:
    """A button_interaction template card for the app's private messages (WeCom's field limits)."""
    body = {
        "card_type": "button_interaction",
        "source": {"desc": "舆情哨兵"},
        "main_title": {"title": _cut(card.header, 26), "desc": _cut(card.footer or "", 30)},
        "sub_title_text": _cut(card.title, 112),
        "horizontal_content_list": [{"keyname": _cut(k, 5), "value": _cut(v, 26)} for k, v in card.fields[:6]],
        "task_id": task_id,
        "button_list": [
            {
                "text": _cut(b.label, 10),
                "style": 1 if b.action == Action.CLAIM else 2,
                "key": f"{BUTTON_CODE.get(b.action, 'n')}:{b.incident_id}",
            }
            for b in card.buttons[:6]
        ],
    }
    if card.url:
        body["card_action"] = {"type": 1, "url": _url(card.url)}
    return body


class WeComPlatform:
    """Adapter: robots for the groups, the app for people; `serve` runs the callback server."""

    name = "wecom"
    max_length = TEXT_BYTES // 3  # characters: what a digest may use so it fits one message
    digest_after = 4  # robots take 20 messages a minute: bursts of III–IV become digests
    digests_per_minute = 3
    text_limit = (TEXT_BYTES, _bytes)  # texts are split by UTF-8 bytes (core.platform.text_parts)

    def __init__(
        self,
        config,
        *,
        settings,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        s = settings
        self.config = config
        self.robot_keys = {k: v.get_secret_value() for k, v in s.wecom_robot_keys.items()}
        self.corp_id, self.agent_id = s.wecom_corp_id, s.wecom_agent_id
        self.secret = s.wecom_secret.get_secret_value() if s.wecom_secret else None
        token = s.wecom_token.get_secret_value() if s.wecom_token else None
        aes = s.wecom_aes_key.get_secret_value() if s.wecom_aes_key else None
        app_fields = {
            "YUQING_WECOM_CORP_ID": self.corp_id,
            "YUQING_WECOM_AGENT_ID": self.agent_id,
            "YUQING_WECOM_SECRET": self.secret,
            "YUQING_WECOM_TOKEN": token,
            "YUQING_WECOM_AES_KEY": aes,
        }
        given = [k for k, v in app_fields.items() if v]
        problems = []
        if given and len(given) < len(app_fields):
            problems += [
                FieldProblem(k, "配置企业微信应用需要同时设置这一项", "the WeCom app needs this too")
                for k, v in app_fields.items()
                if not v
            ]
        if not given and not self.robot_keys:
            problems.append(
                FieldProblem(
                    "YUQING_WECOM_ROBOT_KEYS",
                    "使用企业微信需要至少一个群机器人密钥或一个自建应用",
                    "the wecom platform needs a group robot key or a self-built app",
                )
            )
        self.crypto = None
        if aes and not problems:
            try:
                self.crypto = WeChatCrypto(token, aes, self.corp_id)
            except Exception:
                problems.append(
                    FieldProblem(
                        "YUQING_WECOM_AES_KEY",
                        "EncodingAESKey 应为 43 位字母数字",
                        "EncodingAESKey must be the 43 characters WeCom shows",
                    )
                )
        teams = {t.id for t in config.teams}
        named = {
            t.id: t.chats["wecom"][len(ROBOT_PREFIX) :]
            for t in config.teams
            if str(t.chats.get("wecom", "")).startswith(ROBOT_PREFIX)
        }
        problems += [
            FieldProblem(
                "YUQING_WECOM_ROBOT_KEYS",
                f"团队 {team} 的群 robot:{name} 没有对应的机器人密钥",
                f"team {team} posts to robot:{name}, which has no key",
            )
            for team, name in named.items()
            if name not in self.robot_keys
        ]
        if problems:
            raise SettingsError("wecom", problems)
        unknown = sorted(set(self.robot_keys) - teams - set(named.values()))
        if unknown:
            log.warning("robot keys %s belong to no team and no team's robot: chat", unknown)
        # the team's group, unless the config names one: its own robot
        self.team_chats = {t: f"{ROBOT_PREFIX}{t}" for t in self.robot_keys if t in teams}
        self.api_base = s.wecom_api_base.rstrip("/")
        host, _, port = s.wecom_listen.rpartition(":")
        self.listen = (host or "0.0.0.0", int(port))
        self.path = s.wecom_callback_path
        self.pacer = Pacer(clock)
        self.http: httpx.AsyncClient | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        self.wall_clock = wall_clock  # Unix seconds: callback timestamps and the replay memory's expiry
        # refusals of callback requests (strangers, garbage, floods): a few per kind a minute, then a summary
        self.refusals = BoundedLog(log, "wecom callback", clock=clock)
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.app = None
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ HTTP to WeCom
    async def _call(self, path: str, params: dict, payload: dict | None = None, files=None) -> dict:
        """GET (no payload) or POST one WeCom API; network trouble and 5xx become DeliveryError."""
        assert self.http is not None, "open() first"
        try:
            if payload is None and files is None:
                r = await self.http.get(self.api_base + path, params=params)
            else:
                r = await self.http.post(self.api_base + path, params=params, json=payload, files=files)
        except httpx.HTTPError as e:
            raise DeliveryError(f"WeCom unreachable: {type(e).__name__}: {e}") from e
        if r.status_code >= 500 or r.status_code == 429:
            raise DeliveryError(f"WeCom HTTP {r.status_code}", retry_after=60 if r.status_code == 429 else None)
        try:
            data = r.json()
        except ValueError:
            raise DeliveryError(f"WeCom answered HTTP {r.status_code} without JSON") from None
        return data

    @staticmethod
    def _check(data: dict, what: str) -> dict:
        code = data.get("errcode", 0)
        if code == 0:
            return data
        msg = f"WeCom {what}: errcode {code} {data.get('errmsg', '')}".strip()
        if code in THROTTLED:
            raise DeliveryError(msg, retry_after=60)
        raise DeliveryError(msg, permanent=code in PERMANENT)

    async def _access_token(self, *, fresh: bool = False) -> str:
        async with self._token_lock:
            if self._token and not fresh and self._token[1] > time.monotonic():
                return self._token[0]
            data = self._check(
                await self._call("/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}), "gettoken"
            )
            self._token = (data["access_token"], time.monotonic() + int(data.get("expires_in", 7200)) - 300)
            return self._token[0]

    async def _app_call(self, path: str, payload: dict | None = None, files=None, params: dict | None = None) -> dict:
        """Call the app API with the cached access token, refreshed once when WeCom says it expired."""
        if not self.secret:
            raise DeliveryError("the WeCom app is not configured (YUQING_WECOM_SECRET …)", permanent=True)
        for attempt in (0, 1):
            token = await self._access_token(fresh=attempt == 1)
            data = await self._call(path, {"access_token": token, **(params or {})}, payload, files)
            if data.get("errcode") in TOKEN_EXPIRED and attempt == 0:
                log.info("WeCom access token expired; fetching a new one")
                continue
            return self._check(data, path.rsplit("/", 1)[-1])
        raise AssertionError("unreachable")

    def _robot_key(self, chat: str) -> str:
        name = chat[len(ROBOT_PREFIX) :]
        key = self.robot_keys.get(name)
        if not key:
            raise DeliveryError(f"no robot key named {name!r} in YUQING_WECOM_ROBOT_KEYS", permanent=True)
        return key

    async def _robot_one(self, chat: str, body: dict) -> str:
        self._check(await self._call("/cgi-bin/webhook/send", {"key": self._robot_key(chat)}, body), "robot send")
        return f"{chat}:{uuid.uuid4().hex[:12]}"  # robots return no message id

    async def _app_one(self, user: str, body: dict) -> str:
        data = await self._app_call("/cgi-bin/message/send", {"touser": user, "agentid": self.agent_id, **body})
        if data.get("invaliduser"):
            raise DeliveryError(f"WeCom user {user} is not in the app's visible range", permanent=True)
        return str(data.get("msgid") or uuid.uuid4().hex)

    async def _send_all(self, chat: str, bodies: list[dict], progress: tuple | None) -> str:
        """Send the messages one text needs, within the per-minute limit (see `Pacer`)."""
        if chat.startswith(ROBOT_PREFIX):
            self._robot_key(chat)  # an unknown robot fails before anything is counted
            sent = await self.pacer.send(chat, ROBOT_PER_MINUTE, bodies, lambda b: self._robot_one(chat, b), progress)
        else:
            sent = await self.pacer.send(
                f"app:{chat}", APP_PER_USER_MINUTE, bodies, lambda b: self._app_one(chat, b), progress
            )
        return sent or uuid.uuid4().hex

    async def _image_body(self, path: str, robot: bool) -> dict:
        with open(path, "rb") as fh:
            data = fh.read()
        if robot:
            return {
                "msgtype": "image",
                "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
            }
        up = await self._app_call(
            "/cgi-bin/media/upload", files={"media": ("chart.png", data, "image/png")}, params={"type": "image"}
        )
        return {"msgtype": "image", "image": {"media_id": up["media_id"]}}

    # ------------------------------------------------------------------ outbox side
    async def send(self, chat: str, message: Outgoing) -> str:
        robot = chat.startswith(ROBOT_PREFIX)
        if message.card is not None:
            if robot:
                bodies = [{"msgtype": "markdown", "markdown": {"content": card_markdown(message.card)}}]
            elif message.card.buttons:
                task = f"yq{message.card.buttons[0].incident_id}-{uuid.uuid4().hex[:16]}"
                bodies = [{"msgtype": "template_card", "template_card": template_card(message.card, task)}]
            else:
                text = card_markdown(message.card, TEXT_BYTES)
                bodies = [{"msgtype": "markdown", "markdown": {"content": text}}]
        else:
            bodies = [{"msgtype": "text", "text": {"content": chunk}} for chunk in text_parts(self, message.text or "")]
            if message.image:
                bodies.append(await self._image_body(message.image, robot))
        progress = (chat, message.text, message.image) if len(bodies) > 1 else None
        return await self._send_all(chat, bodies, progress)

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        """WeCom cannot edit a sent message; every change that matters also comes as a notice."""
        log.debug("wecom: card %s in %s not edited (WeCom cannot edit messages)", message_id, chat)

    # ------------------------------------------------------------------ callback side
    async def _verify(self, request: web.Request) -> web.Response:
        """WeCom's URL check when the callback is saved: echo the decrypted echostr."""
        q = request.query
        try:
            echo = self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except KeyError:
            self._refused(
                "missing parameters",
                "wecom callback URL check without its parameters from %s",
                request.remote,
                source=request.remote,
            )
            return web.Response(status=400, text="missing parameters")
        except InvalidSignatureException:
            self._refused(
                "bad signature",
                "wecom callback URL check with a bad signature from %s",
                request.remote,
                source=request.remote,
            )
            return web.Response(status=403, text="bad signature")
        except Exception as e:
            self._refused(
                "undecryptable", "wecom callback URL check could not be decrypted: %s", e, source=request.remote
            )
            return web.Response(status=400, text="bad echostr")
        return web.Response(text=echo.decode() if isinstance(echo, bytes) else echo)

    def _fresh(self, key: tuple, timestamp: str) -> str | None:
        """None when this request may be processed; otherwise why not (stale or replayed).

        The memory of accepted requests is in the database (`storage.replay`), kept until the
        timestamp could no longer pass the skew check: a request captured and replayed after a
        restart, or to another process on the same database, is refused as well."""
        now = self.wall_clock()
        if not timestamp.isdecimal() or len(timestamp) > 12 or abs(now - int(timestamp)) > MAX_SKEW:
            return "stale timestamp"
        if not first_time(
            self.app.db, "wecom:callback", "\x1f".join(key), now=now, expires_at=int(timestamp) + MAX_SKEW + 60
        ):
            return "replayed request"
        return None

    def _refused(self, kind: str, msg: str, *args, source: str | None = None, level: int = logging.WARNING) -> None:
        self.refusals.log(level, kind, msg, *args, source=source)

    async def _receive(self, request: web.Request) -> web.Response:
        q = request.query
        sig, ts, nonce = q.get("msg_signature"), q.get("timestamp", ""), q.get("nonce")
        peer = request.remote
        if not (sig and ts and nonce):
            self._refused(
                "missing parameters", "wecom callback without signature parameters from %s", peer, source=peer
            )
            return web.Response(status=400, text="missing parameters")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._refused(
                "too large", "wecom callback from %s refused: body larger than %d bytes", peer, MAX_BODY, source=peer
            )
            raise
        except (ConnectionError, asyncio.IncompleteReadError, aiohttp.ClientPayloadError) as e:
            # the caller went away mid-body: nothing to answer, nothing went wrong here
            self._refused(
                "dropped upload",
                "wecom callback from %s dropped before its body was complete (%s)",
                peer,
                type(e).__name__,
                source=peer,
                level=logging.INFO,
            )
            return web.Response(status=400, text="incomplete body")
        try:
            xml = self.crypto.decrypt_message(body, sig, ts, nonce)
        except InvalidSignatureException:
            self._refused("bad signature", "wecom callback with a bad signature from %s refused", peer, source=peer)
            return web.Response(status=403, text="bad signature")
        except Exception as e:  # malformed XML, missing Encrypt, wrong corp id, bad padding
            self._refused(
                "undecryptable",
                "wecom callback from %s refused: cannot decrypt (%s: %s)",
                peer,
                type(e).__name__,
                e,
                source=peer,
            )
            return web.Response(status=400, text="malformed message")
        why = self._fresh((sig, ts, nonce), ts)
        if why:
            self._refused(why, "wecom callback from %s refused: %s", peer, why, source=peer)
            return web.Response(status=409 if why.startswith("replayed") else 403, text=why)
        try:
            msg = xmltodict.parse(xml)["xml"]
            if not isinstance(msg, dict):
                raise ValueError("empty <xml>")
        except Exception as e:
            self._refused(
                "malformed message", "wecom callback refused: decrypted message is not valid XML (%s)", e, source=peer
            )
            return web.Response(status=400, text="malformed message")
        # answer at once (WeCom retries after 5 s); the command runs in the background
        task = asyncio.create_task(self._dispatch(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="")

    async def idle(self) -> None:
        """Wait until every callback accepted so far has been handled (its replies and outbox
        rows written): a barrier for tests, instead of sleeping."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _dispatch(self, msg: dict) -> None:
        try:
            await self.on_message(msg)
        except Exception:
            log.exception("wecom: handling a callback message failed")

    async def on_message(self, msg: dict) -> None:
        """One decrypted callback message: a text command or a template-card button."""
        msg_id = msg.get("MsgId") or f"{msg.get('FromUserName')}:{msg.get('CreateTime')}:{msg.get('EventKey')}"
        now = self.wall_clock()
        if not first_time(self.app.db, "wecom:msg", str(msg_id), now=now, expires_at=now + MSG_MEMORY):
            log.info("wecom message %s already handled", msg_id)
            return
        if str(msg.get("AgentID", self.agent_id)) != str(self.agent_id):
            log.warning("wecom message for agent %s ignored (we are %s)", msg.get("AgentID"), self.agent_id)
            return
        user = msg.get("FromUserName")
        if not user:
            return
        kind, event = msg.get("MsgType"), msg.get("Event")
        if kind == "text":
            await self._run(user, (msg.get("Content") or "").strip())
        elif kind == "event" and event == "template_card_event":
            await self._button(user, msg.get("EventKey") or "", msg.get("ResponseCode"))
        elif kind == "event":
            log.debug("wecom event %s from %s ignored", event, user)
        else:
            await self._reply(user, "目前只能处理文字命令，例如「认领 12」或 /claim 12。发送「帮助」查看全部命令。")

    def _request(self, user: str, text: str) -> Request:
        from handlers.commands import who_is

        req = Request(platform="wecom", chat=user, user_id=user, text=text, private=True)
        if who_is(self.app.deps, req) is None:
            log.warning("wecom message from unknown user %s (not in any person's handles.wecom)", user)
        return req

    async def _run(self, user: str, text: str) -> list:
        replies = await self.app.handle(self._request(user, text))
        for reply in replies:
            await self._reply(user, reply.text, reply.image)
        return replies

    async def _button(self, user: str, key: str, response_code: str | None) -> None:
        code, _, rest = key.partition(":")
        if code not in BUTTONS or not rest.isdecimal():
            await self._reply(user, "无法识别的按钮。")
            return
        iid = int(rest)
        if code == "n":
            await self._reply(user, f"请发送「备注 {iid} 内容」添加备注。")
            return
        if code == "x":
            await self._reply(user, f"请发送「关闭 {iid} 处置方式 [说明]」，处置方式：{DISPOSITIONS}。")
            return
        try:
            before = self.app.service.get(iid)
        except IncidentNotFound:
            await self._reply(user, f"没有编号为 #{iid} 的事件。")
            return
        await self._run(user, f"/{BUTTONS[code].value} {iid}")
        after = self.app.service.get(iid)
        if response_code and (after.state, after.assignee, after.escalation_level) != (
            before.state,
            before.assignee,
            before.escalation_level,
        ):
            label = {"c": "已认领", "u": "已取消认领", "e": "已升级", "r": "已重新打开"}[code]
            try:
                await self._app_call(
                    "/cgi-bin/message/update_template_card",
                    {
                        "userids": [user],
                        "agentid": self.agent_id,
                        "response_code": response_code,
                        "button": {"replace_name": label},
                    },
                )
            except DeliveryError as e:
                log.info("wecom: could not update the pressed card: %s", e)

    async def _reply(self, user: str, text: str, image: str | None = None) -> None:
        """Answer a person directly (not through the outbox: the answer is for now or never)."""
        for attempt in range(3):
            try:
                await self.send(user, Outgoing(text=text, image=image))
                return
            except DeliveryError as e:
                if e.permanent or attempt == 2:
                    log.error("wecom: could not answer %s: %s", user, e)
                    return
                await asyncio.sleep(min(e.retry_after or 1.0, 30))

    # ------------------------------------------------------------------ life
    async def open(self, app) -> None:
        """Create the HTTP client; check the app's secret (gettoken) when an app is configured."""
        self.app = app
        prune_seen(app.db, self.wall_clock())
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(15.0))
        if self.secret:
            try:
                await self._access_token()
            except DeliveryError as e:
                log.error("WeCom app: cannot get an access token (%s); commands will get no answers until it works", e)

    async def serve(self, app) -> None:
        """Run the callback server (when an app is configured) until stopped."""
        if self.crypto is not None:
            web_app = web.Application(client_max_size=MAX_BODY)
            web_app.router.add_get(self.path, self._verify)
            web_app.router.add_post(self.path, self._receive)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.listen[0], self.listen[1])
            try:
                await site.start()
            except OSError as e:
                await self._runner.cleanup()
                self._runner = None
                raise SettingsError(
                    "wecom",
                    [
                        FieldProblem(
                            "YUQING_WECOM_LISTEN",
                            f"无法在 {self.listen[0]}:{self.listen[1]} 上监听（{e.strerror}）",
                            f"cannot listen on {self.listen[0]}:{self.listen[1]} ({e.strerror})",
                        )
                    ],
                ) from None
            self.port = self._runner.addresses[0][1]
            log.info("WeCom callback listening on %s:%s%s", self.listen[0], self.port, self.path)
        else:
            log.warning("WeCom: no app configured, so no commands are received (robots only post)")
        try:
            await self._stop.wait()
        finally:
            self.refusals.flush()
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
                for t in list(self._tasks):  # still running: cut off before the HTTP client closes
                    t.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None
