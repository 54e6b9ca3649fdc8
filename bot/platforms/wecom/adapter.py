"""`WeComPlatform`: the settings checked once, the outbox side (`send`/`edit`) and the
adapter's life (`open` -> `serve` -> `close`), composed of the client, the callback server
and the dispatcher."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from wechatpy.enterprise.crypto import WeChatCrypto

from bot.platforms.ratelimit import Pacer
from bot.platforms.wecom.callback import MAX_SKEW, READ_TIMEOUT, CallbackServer
from bot.platforms.wecom.client import ROBOT_PREFIX, WeComClient, WeComError
from bot.platforms.wecom.dispatch import Dispatcher
from bot.platforms.wecom.render import TEXT_BYTES, card_markdown, template_card, utf8_bytes
from core.errors import FieldProblem, SettingsError
from core.logsafe import BoundedLog
from core.platform import DeliveryError, Outgoing, text_parts
from handlers.base import Host

__all__ = ["WeComPlatform"]

log = logging.getLogger(__package__)

# WeCom codes refusing what a message says, not whom it is for (40008 不合法的msgtype参数, 40035
# and 40058 不合法的参数, 45002 消息内容大小超过限制, 82004 不合法的消息内容): a template card
# refused so goes out as markdown
CARD_REFUSED = {40008, 40035, 40058, 45002, 82004}


def skew_notice(offset: float) -> str:
    """What the admins are told when every callback is refused because this server's clock is
    `offset` seconds behind WeCom's (negative: ahead)."""
    minutes = max(1, round(abs(offset) / 60))
    way = "慢" if offset > 0 else "快"
    return (
        f"⚠️ 企业微信消息全部被拒收：本机时钟比企业微信{way}约 {minutes} 分钟（允许相差 {MAX_SKEW // 60} 分钟），"
        "企业微信里发来的命令和按钮目前都不会被处理（群机器人提醒照常发出）。请校准服务器时间（启用 NTP 时间同步）；"
        "时钟校准后自动恢复。"
    )


class WeComPlatform:
    """Adapter: robots for the groups, the app for people; `serve` runs the callback server."""

    name = "wecom"
    max_length = TEXT_BYTES // 3  # characters: what a digest may use so it fits one message
    digest_after = 4  # robots take 20 messages a minute: bursts of III–IV become digests
    digests_per_minute = 3
    text_limit = (TEXT_BYTES, utf8_bytes)  # texts are split by UTF-8 bytes (core.platform.text_parts)

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
        host, _, port = s.wecom_listen.rpartition(":")
        self.listen = (host or "0.0.0.0", int(port))
        self.path = s.wecom_callback_path
        self.client = WeComClient(
            api_base=s.wecom_api_base,
            corp_id=self.corp_id,
            agent_id=self.agent_id,
            secret=self.secret,
            robot_keys=self.robot_keys,
            clock=clock,
        )
        self.wall_clock = wall_clock  # Unix seconds: callback timestamps and the replay memory's expiry
        # refusals of callback requests (strangers, garbage, floods): a few per kind a minute, then a summary
        self.refusals = BoundedLog(log, "wecom callback", clock=clock)
        self.read_timeout = READ_TIMEOUT  # seconds for a callback's headers, then its body (tests shorten it)
        self.host: Host | None = None
        self.server: CallbackServer | None = None
        self._stop = asyncio.Event()

    @property
    def pacer(self) -> Pacer:
        """The per-minute limits (`bot.platforms.ratelimit.Pacer`)."""
        return self.client.pacer

    @property
    def port(self) -> int | None:
        """The callback server's port once it listens."""
        return self.server.port if self.server is not None else None

    def _now(self) -> float:
        """Unix seconds, read through `wall_clock` at each call (tests move it)."""
        return self.wall_clock()

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
                bodies.append(await self.client.image_body(message.image, robot))
            if message.document:  # /report week docx, /export ledger: the file itself
                bodies.append(await self.client.file_body(message.document, chat))
        progress = (chat, message.text, message.image, message.document) if len(bodies) > 1 else None
        try:
            return await self.client.send_all(chat, bodies, progress)
        except WeComError as e:
            if message.card is None or bodies[0]["msgtype"] != "template_card" or e.code not in CARD_REFUSED:
                raise
            # WeCom refused the template card itself (a field it will not take): the card still
            # goes out, as markdown with the commands to send instead of buttons
            log.warning("wecom: template card to %s refused (%s); sent as markdown instead", chat, e)
            text = card_markdown(message.card, TEXT_BYTES)
            return await self.client.send_all(chat, [{"msgtype": "markdown", "markdown": {"content": text}}], None)

    async def edit(self, chat: str, message_id: str, message: Outgoing) -> None:
        """WeCom cannot edit a sent message; every change that matters also comes as a notice."""
        log.debug("wecom: card %s in %s not edited (WeCom cannot edit messages)", message_id, chat)

    # ------------------------------------------------------------------ life
    async def open(self, host: Host) -> None:
        """Create the HTTP client; check the app's secret (gettoken) when an app is configured."""
        self.host = host
        host.forget_expired(self.wall_clock())
        self.client.open()
        if self.secret:
            try:
                await self.client.access_token()
            except DeliveryError as e:
                log.error("WeCom app: cannot get an access token (%s); commands will get no answers until it works", e)

    async def serve(self, host: Host) -> None:
        """Run the callback server (when an app is configured) until stopped."""
        if self.crypto is not None:
            dispatcher = Dispatcher(
                host=host,
                agent_id=self.agent_id,
                send=self.send,
                relabel=self.client.relabel_button,
                wall_clock=self._now,
            )
            self.server = CallbackServer(
                crypto=self.crypto,
                listen=self.listen,
                path=self.path,
                dispatch=dispatcher.on_message,
                first_time=lambda key, expires_at: host.first_time(
                    "wecom:callback", key, now=self.wall_clock(), expires_at=expires_at
                ),
                wall_clock=self._now,
                refusals=self.refusals,
                on_skew=lambda offset: host.warn_admins(skew_notice(offset)),
                read_timeout=self.read_timeout,
            )
            await self.server.start()
        else:
            log.warning("WeCom: no app configured, so no commands are received (robots only post)")
        try:
            await self._stop.wait()
        finally:
            self.refusals.flush()
            if self.server is not None:
                await self.server.stop()

    async def idle(self) -> None:
        """Wait until the callbacks accepted so far have been handled (a barrier for tests)."""
        if self.server is not None:
            await self.server.idle()

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        await self.client.close()
