"""The WeCom callback server: a small aiohttp app that checks each request's signature,
decrypts it (wechatpy), refuses stale, replayed, oversized, slow and malformed ones, answers
at once and hands the decrypted message on (`dispatch`).

wechatpy signs over the timestamp but never compares it with the clock; `_fresh` does, and
the replay memory is kept only as long as that window. So a server clock more than MAX_SKEW
off refuses every genuine callback: after SKEW_ALARM such refusals in a row agreeing on the
offset, the admins are told once (`on_skew`), not only the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import xmltodict
from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException

from core.errors import FieldProblem, SettingsError
from core.logsafe import BoundedLog

__all__ = ["MAX_BODY", "MAX_SKEW", "CallbackServer"]

log = logging.getLogger(__package__)

MAX_SKEW = 300  # seconds a callback timestamp may be off (replays older than this are refused)
MAX_BODY = 256 * 1024  # bytes a callback body may have
# seconds a client has to send a request's headers, and then its body: WeCom sends a callback
# (a few KB) at once and gives up on our answer after 5 s; a trickle (slowloris) is cut off
READ_TIMEOUT = 10.0
SKEW_ALARM = 3  # signed callbacks refused in a row for the same clock offset: the clock is wrong


async def _answer_and_close(request: web.Request, status: int, text: str) -> web.Response:
    """Answer, then close the connection: the rest of a body is not read (aiohttp would go on
    reading what still trickles in for up to 10 s)."""
    resp = web.Response(status=status, text=text)
    resp.force_close()
    await resp.prepare(request)
    await resp.write_eof()
    request.protocol.force_close()  # the transport sends what it holds, then closes
    return resp


class CallbackServer:
    """Serves WeCom's callback URL (`path` on `listen`) until `stop` is awaited.

    :param crypto: wechatpy's `WeChatCrypto` for the app.
    :param dispatch: called with each accepted message (a dict of its XML), in the background.
    :param first_time: ``first_time(key, expires_at)``: False when the request was seen before.
    :param wall_clock: Unix seconds, for the timestamps' skew check.
    :param refusals: where refused requests are logged, at a bounded rate.
    :param on_skew: ``on_skew(offset)``, once when genuine callbacks keep being refused because
        this server's clock is `offset` seconds behind WeCom's (negative: ahead).
    :param read_timeout: seconds for a request's headers, and again for its body.
    """

    def __init__(
        self,
        *,
        crypto,
        listen: tuple[str, int],
        path: str,
        dispatch: Callable[[dict], Awaitable[None]],
        first_time: Callable[[str, float], bool],
        wall_clock: Callable[[], float],
        refusals: BoundedLog,
        on_skew: Callable[[float], None] = lambda offset: None,
        read_timeout: float = READ_TIMEOUT,
    ):
        self.crypto = crypto
        self.listen = listen
        self.path = path
        self.dispatch = dispatch
        self.first_time = first_time
        self.wall_clock = wall_clock
        self.refusals = refusals
        self.on_skew = on_skew
        self.read_timeout = read_timeout
        self._skews: list[float] = []  # offsets of the signed callbacks refused as stale, in a row
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Listen; a port that cannot be had stops the start-up with a clear message."""
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_get(self.path, self._verify)
        web_app.router.add_post(self.path, self._receive)
        # a connection that has not sent a whole request's headers by then is closed (aiohttp's
        # keep-alive timer also runs from the connection's start; its default is an hour)
        self._runner = web.AppRunner(web_app, access_log=None, keepalive_timeout=self.read_timeout)
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

    async def stop(self) -> None:
        """Stop listening; let the messages being handled finish (10 s), then cut them off."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
            for t in list(self._tasks):  # still running: cut off before the HTTP client closes
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every callback accepted so far has been handled (its replies and outbox
        rows written): a barrier for tests, instead of sleeping."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

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

        The memory of accepted requests is in the database (`Host.first_time`), kept until the
        timestamp could no longer pass the skew check: a request captured and replayed after a
        restart, or to another process on the same database, is refused as well."""
        now = self.wall_clock()
        if not timestamp.isdecimal() or len(timestamp) > 12 or abs(now - int(timestamp)) > MAX_SKEW:
            if timestamp.isdecimal() and len(timestamp) <= 12:
                self._skewed(int(timestamp) - now)
            return "stale timestamp"
        if self._skews:
            if len(self._skews) >= SKEW_ALARM:
                log.warning("wecom callbacks are accepted again: the server clock agrees with WeCom's")
            self._skews.clear()
        if not self.first_time("\x1f".join(key), int(timestamp) + MAX_SKEW + 60):
            return "replayed request"
        return None

    def _skewed(self, offset: float) -> None:
        """A genuine (signed) callback refused for its timestamp. Replays of old captures are
        as far off, but each by its own amount; live callbacks from WeCom all are off by what
        this clock is off: SKEW_ALARM in a row within a minute of each other raise the alarm."""
        if self._skews and abs(offset - self._skews[-1]) > 60:
            self._skews.clear()
        self._skews.append(offset)
        if len(self._skews) == SKEW_ALARM:
            log.error(
                "every WeCom callback is refused: this server's clock is %+.0f s off WeCom's (allowed: %d s); "
                "set the clock right (NTP)",
                -offset,
                MAX_SKEW,
            )
            self.on_skew(offset)

    def _refused(self, kind: str, msg: str, *args, source: str | None = None, level: int = logging.WARNING) -> None:
        self.refusals.log(level, kind, msg, *args, source=source)

    def _too_large(self, peer: str | None) -> None:
        self._refused(
            "too large", "wecom callback from %s refused: body larger than %d bytes", peer, MAX_BODY, source=peer
        )

    async def _receive(self, request: web.Request) -> web.Response:
        q = request.query
        sig, ts, nonce = q.get("msg_signature"), q.get("timestamp", ""), q.get("nonce")
        peer = request.remote
        if not (sig and ts and nonce):
            self._refused(
                "missing parameters", "wecom callback without signature parameters from %s", peer, source=peer
            )
            return web.Response(status=400, text="missing parameters")
        if request.content_length is not None and request.content_length > MAX_BODY:
            self._too_large(peer)
            return await _answer_and_close(request, 413, "body too large")
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.read()
        except TimeoutError:
            self._refused(
                "slow upload",
                "wecom callback from %s refused: body not complete within %g s",
                peer,
                self.read_timeout,
                source=peer,
            )
            return await _answer_and_close(request, 408, "request timeout")
        except web.HTTPRequestEntityTooLarge:  # a body not announced as too large, found so
            self._too_large(peer)
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

    async def _dispatch(self, msg: dict) -> None:
        try:
            await self.dispatch(msg)
        except Exception:
            log.exception("wecom: handling a callback message failed")
