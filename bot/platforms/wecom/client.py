"""The WeCom API client: access tokens, the app's message API, group-robot webhooks, and the
per-minute limits WeCom enforces (or punishes), kept on our side. WeCom's error codes become
`core.platform` delivery errors here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import uuid
from collections.abc import Callable

import httpx

from bot.platforms.ratelimit import Pacer
from core.platform import DeliveryError
from core.tls import tls_context

__all__ = ["APP_PER_USER_MINUTE", "ROBOT_PER_MINUTE", "ROBOT_PREFIX", "WeComClient", "WeComError"]

log = logging.getLogger(__package__)

ROBOT_PREFIX = "robot:"
ROBOT_PER_MINUTE = 20  # WeCom: 20 messages a minute per robot
APP_PER_USER_MINUTE = 30  # WeCom drops app messages beyond 30 a minute to one member
THROTTLED = {45009, 45033}  # api freq out of limit, too many concurrent calls
TOKEN_EXPIRED = {40014, 42001, 40001}
TOKEN_RETRY = 10.0  # seconds a failed gettoken is not tried again
# WeCom's global error codes (developer.work.weixin.qq.com/document/path/90313) that say this
# message can never be sent as it is: the group robot or the person is gone or out of the
# app's reach, the app may not call the API, or the message itself is refused. Retrying
# cannot help, so the outbox gives the row up at once and the admins are told (the app's
# `on_dead`). A code not named here is retried a bounded number of times (the outbox's
# MAX_ATTEMPTS) and then given up the same way: a wrong "transient" costs an hour, a wrong
# "permanent" an alert. Not here on purpose: -1 (系统繁忙, retry), 40007 (不合法的media_id: a
# retry uploads the file again), 60020 (访问ip不在白名单之中: fixed in the admin console
# while the retries run).
PERMANENT = {
    40003,  # 无效的UserID
    40004,  # 不合法的媒体文件类型
    40005,  # 不合法的type参数
    40006,  # 不合法的文件大小
    40008,  # 不合法的msgtype参数
    40009,  # 上传图片大小不是有效值
    40031,  # 不合法的UserID列表
    40033,  # 不合法的请求字符
    40035,  # 不合法的参数
    40050,  # chatid不存在
    40056,  # 不合法的agentid
    40058,  # 不合法的参数 (robots: content longer than the limit)
    40063,  # 参数为空
    44001,  # 多媒体文件为空
    44004,  # 文本消息content参数为空
    45001,  # 多媒体文件大小超过限制
    45002,  # 消息内容大小超过限制
    46004,  # 指定的用户不存在
    48002,  # API接口无权限调用
    48006,  # 接口权限被收回
    49008,  # 群已经解散
    50002,  # 成员不在权限范围
    50003,  # 应用已禁用
    60011,  # 指定的成员/部门/标签参数无权限
    60021,  # userid不在应用可见范围内
    60111,  # UserID不存在
    81013,  # UserID、部门ID、标签ID全部非法或无权限
    82001,  # 指定的成员/部门/标签全部为空
    82004,  # 不合法的消息内容
    86001,  # 参数 chatid 不合法
    86003,  # 参数 chatid 不存在
    93000,  # 机器人webhookurl不合法或者机器人已经被移除出群
    93004,  # 机器人被停用
    93008,  # 不在群里 (the robot was removed from its group)
    301002,  # 无权限操作指定的应用
}


class WeComError(DeliveryError):
    """WeCom answered with an error code (`code`)."""

    def __init__(self, message: str, code: int, **kw):
        super().__init__(message, **kw)
        self.code = code


class WeComClient:
    """HTTP to WeCom. Chats are ``robot:<name>`` (a group robot, by its key's name) or a WeCom
    user id (the self-built app). `open` before the first call, `close` after the last."""

    def __init__(
        self,
        *,
        api_base: str,
        corp_id: str | None,
        agent_id,
        secret: str | None,
        robot_keys: dict[str, str],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.api_base = api_base.rstrip("/")
        self.corp_id, self.agent_id, self.secret = corp_id, agent_id, secret
        self.robot_keys = robot_keys
        self.pacer = Pacer(clock)
        self.http: httpx.AsyncClient | None = None
        self.clock = clock
        self._token: tuple[str, float] | None = None  # (token, good until, by `clock`)
        self._token_failed: tuple[DeliveryError, float] | None = None  # (why, not asked again until)
        self._token_lock = asyncio.Lock()

    def open(self) -> None:
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(15.0), verify=tls_context())

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    async def _call(self, path: str, params: dict, payload: dict | None = None, files: dict | None = None) -> dict:
        """GET (no payload) or POST one WeCom API; network trouble and 5xx become DeliveryError."""
        assert self.http is not None, "open() first"
        try:
            if payload is None and files is None:
                r = await self.http.get(self.api_base + path, params=params)
            else:
                r = await self.http.post(self.api_base + path, params=params, json=payload, files=files)
        except httpx.ReadTimeout as e:  # the request went out whole: WeCom may have the message
            raise DeliveryError(f"WeCom did not answer in time: {e}", uncertain=True) from e
        except httpx.HTTPError as e:
            raise DeliveryError(f"WeCom unreachable: {type(e).__name__}: {e}") from e
        if r.status_code >= 500 or r.status_code == 429:
            raise DeliveryError(f"WeCom HTTP {r.status_code}", retry_after=60 if r.status_code == 429 else None)
        try:
            data = r.json()
        except ValueError:
            raise DeliveryError(f"WeCom answered HTTP {r.status_code} without JSON") from None
        if not isinstance(data, dict):
            raise DeliveryError(f"WeCom answered HTTP {r.status_code} with JSON that is no object: {r.text[:100]}")
        # an errcode is a number; some gateways send it as a string ("0" is success all the same)
        code = data.get("errcode", 0)
        try:
            data["errcode"] = int(code)
        except (TypeError, ValueError):
            raise DeliveryError(f"WeCom answered with errcode {str(code)[:40]!r}, which is no number") from None
        return data

    @staticmethod
    def _check(data: dict, what: str) -> dict:
        code = data.get("errcode", 0)
        if code == 0:
            return data
        msg = f"WeCom {what}: errcode {code} {data.get('errmsg', '')}".strip()
        if code in THROTTLED:
            raise WeComError(msg, code, retry_after=60)
        raise WeComError(msg, code, permanent=code in PERMANENT)

    async def access_token(self, *, stale: str | None = None) -> str:
        """The app's access token, cached until shortly before it expires. `stale` is a token
        WeCom has just refused (40014/42001): a new one is fetched unless another caller has
        already replaced it, so answers failing together fetch one token, not one each.
        A refused or failed gettoken is remembered for `TOKEN_RETRY` seconds: callers in that
        time get the same error without asking again (WeCom blocks callers who call gettoken
        too often: '不能频繁调用gettoken接口，否则会受到频率拦截').

        :raises DeliveryError: when WeCom refuses or cannot be reached."""
        async with self._token_lock:
            now = self.clock()
            if self._token and self._token[0] != stale and self._token[1] > now:
                return self._token[0]
            if self._token_failed and self._token_failed[1] > now:
                e = self._token_failed[0]
                raise DeliveryError(f"{e} (gettoken not asked again for a few seconds)", retry_after=e.retry_after)
            try:
                data = self._check(
                    await self._call("/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret}),
                    "gettoken",
                )
                token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
                if not isinstance(token, str) or not token or not isinstance(expires_in, int):
                    # (what it did answer stays out of the log: it may hold a token)
                    raise DeliveryError(f"WeCom gettoken answered without a usable token (fields: {sorted(data)})")
            except DeliveryError as e:
                self._token_failed = (e, self.clock() + TOKEN_RETRY)
                raise
            self._token_failed = None
            # refreshed 5 minutes early (at most half the validity), never cached past it
            self._token = (token, self.clock() + expires_in - min(300, expires_in // 2))
            return token

    async def app_call(
        self, path: str, payload: dict | None = None, files: dict | None = None, params: dict | None = None
    ) -> dict:
        """Call the app API with the cached access token, refreshed once when WeCom says it expired."""
        if not self.secret:
            raise DeliveryError("the WeCom app is not configured (YUQING_WECOM_SECRET …)", permanent=True)
        refused: str | None = None
        for attempt in (0, 1):
            token = await self.access_token(stale=refused)
            data = await self._call(path, {"access_token": token, **(params or {})}, payload, files)
            if data.get("errcode") in TOKEN_EXPIRED and attempt == 0:
                log.info("WeCom access token refused (errcode %s); fetching a new one", data.get("errcode"))
                refused = token
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
        data = await self.app_call("/cgi-bin/message/send", {"touser": user, "agentid": self.agent_id, **body})
        if data.get("invaliduser"):
            raise DeliveryError(f"WeCom user {user} is not in the app's visible range", permanent=True)
        return str(data.get("msgid") or uuid.uuid4().hex)

    async def send_all(self, chat: str, bodies: list[dict], progress: tuple | None) -> str:
        """Send the messages one text needs, within the per-minute limit (see `Pacer`)."""
        if chat.startswith(ROBOT_PREFIX):
            self._robot_key(chat)  # an unknown robot fails before anything is counted
            sent = await self.pacer.send(chat, ROBOT_PER_MINUTE, bodies, lambda b: self._robot_one(chat, b), progress)
        else:
            sent = await self.pacer.send(
                f"app:{chat}", APP_PER_USER_MINUTE, bodies, lambda b: self._app_one(chat, b), progress
            )
        return sent or uuid.uuid4().hex

    async def image_body(self, path: str, robot: bool) -> dict:
        """The message body of a PNG: inline for a robot, uploaded as media for the app."""
        with open(path, "rb") as fh:
            data = fh.read()
        if robot:
            return {
                "msgtype": "image",
                "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
            }
        up = await self.app_call(
            "/cgi-bin/media/upload", files={"media": ("chart.png", data, "image/png")}, params={"type": "image"}
        )
        return {"msgtype": "image", "image": {"media_id": up["media_id"]}}

    async def file_body(self, path: str, chat: str) -> dict:
        """The message body of a file (a report's .docx, the ledger's .xlsx): uploaded as a
        temporary media file, through the group robot's `upload_media` for a robot chat or the
        app's `media/upload` for a person, then sent as msgtype file."""
        import os

        with open(path, "rb") as fh:
            data = fh.read()
        media = {"media": (os.path.basename(path), data, "application/octet-stream")}
        if chat.startswith(ROBOT_PREFIX):
            up = self._check(
                await self._call(
                    "/cgi-bin/webhook/upload_media", {"key": self._robot_key(chat), "type": "file"}, files=media
                ),
                "robot upload_media",
            )
        else:
            up = await self.app_call("/cgi-bin/media/upload", files=media, params={"type": "file"})
        return {"msgtype": "file", "file": {"media_id": up["media_id"]}}

    async def relabel_button(self, user: str, response_code: str, label: str) -> None:
        """Rename the pressed button of a template card ('已认领'); a failure is only logged."""
        try:
            await self.app_call(
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
