"""A fake WeCom server: a real HTTP server on 127.0.0.1 with the group-robot webhook and the
app API (gettoken, message/send, media/upload, message/update_template_card).

It records what was sent, enforces WeCom's 20 messages a minute per robot (answering 45009
and counting the violation, as WeCom would), can throttle or fail on demand, can expire the
access token, and knows which users are in the app's visible range. `callback` builds a
request to the bot's callback the way WeCom does: encrypted and signed with wechatpy."""

from __future__ import annotations

import email.policy
import itertools
import json
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from wechatpy.enterprise.crypto import WeChatCrypto

CORP_ID = "ww0123456789abcdef"
SECRET = "app-secret-for-tests"
TOKEN = "callbacktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom shows it
AGENT_ID = 1000002
# the self-built app's settings, as Settings fields
APP = {
    "wecom_corp_id": CORP_ID,
    "wecom_agent_id": AGENT_ID,
    "wecom_secret": SECRET,
    "wecom_token": TOKEN,
    "wecom_aes_key": AES_KEY,
}


def app_env(**more) -> dict[str, str]:
    """The app's settings (and `more`) as environment variables."""
    return {f"YUQING_{k.upper()}": str(v) for k, v in {**APP, **more}.items()}


class FakeWeCom:
    def __init__(self, *, robot_keys=("key-city",), users=()):
        self.robot_keys = set(robot_keys)
        self.users = set(users)
        self.robot: list[dict] = []  # every accepted webhook body, with its key
        self.app: list[dict] = []  # every accepted message/send body
        self.updates: list[dict] = []  # update_template_card bodies
        self.uploads: list[bytes] = []
        self.upload_types: list[tuple[str, str]] = []  # ("robot" | "app", media type), as uploaded
        self.violations = 0  # robot messages beyond 20 a minute
        self.tokens_issued = 0
        self.gettoken_calls = 0  # every call, answered or refused
        self.faults: list[tuple[str, str]] = []  # (path suffix, "ok" | "500" | "45009" | "-1"), in order
        self.is_down = False
        self.slow = 0.0  # seconds every answer is held back after the call took effect
        self.string_errcodes = False  # '"errcode": "0"', as some gateways and emulators answer
        self._valid_tokens: set[str] = set()
        self._robot_times: dict[str, list[float]] = {}
        self._msgids = itertools.count(1)
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, payload) -> None:
                if api.slow:  # the work is done (a message recorded); the answer comes late
                    time.sleep(api.slow)
                if api.string_errcodes and isinstance(payload, dict) and "errcode" in payload:
                    payload = {**payload, "errcode": str(payload["errcode"])}
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _gone(self) -> bool:
                if api.is_down:  # as if the server went away: no answer at all
                    self.close_connection = True
                    return True
                return False

            def do_GET(self):
                if self._gone():
                    return
                url = urlsplit(self.path)
                self._answer(*api.dispatch(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, None, {}))

            def do_POST(self):
                if self._gone():
                    return
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                files = {}
                body = None
                if ctype.startswith("multipart/form-data"):
                    msg = BytesParser(policy=email.policy.HTTP).parsebytes(
                        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
                    )
                    for part in msg.iter_parts():
                        files[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
                else:
                    body = json.loads(raw or b"{}")
                self._answer(*api.dispatch(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, body, files))

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
        # shutdown() waits for serve_forever's next poll: 0.05 s, not the default 0.5 s each teardown
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    # ------------------------------------------------------------------ control
    def fail(self, path: str, kind: str, times: int = 1, *, after: int = 0) -> None:
        """The next `times` calls whose path ends with `path` fail: "500", "-1" (busy), "45009"
        or any other errcode, or answer "json:<any JSON>" instead; with `after`, only once that
        many such calls have succeeded. `string_errcodes`: errcodes are sent as strings."""
        self.faults += [(path, "ok")] * after + [(path, kind)] * times

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def expire_tokens(self) -> None:
        with self._lock:
            self._valid_tokens.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def markdown(self, key: str = "key-city") -> list[str]:
        return [b["markdown"]["content"] for b in self.robot if b["key"] == key and b["msgtype"] == "markdown"]

    def texts(self, key: str = "key-city") -> list[str]:
        return [b["text"]["content"] for b in self.robot if b["key"] == key and b["msgtype"] == "text"]

    def to_user(self, user: str, msgtype: str | None = None) -> list[dict]:
        return [b for b in self.app if b["touser"] == user and (msgtype is None or b["msgtype"] == msgtype)]

    def user_texts(self, user: str) -> list[str]:
        return [b["text"]["content"] for b in self.to_user(user, "text")]

    # ------------------------------------------------------------------ the API
    def dispatch(self, path: str, query: dict, body: dict | None, files: dict) -> tuple[int, object]:
        with self._lock:
            self.gettoken_calls += path == "/cgi-bin/gettoken"
            for i, (suffix, kind) in enumerate(self.faults):
                if path.endswith(suffix):
                    del self.faults[i]
                    if kind == "ok":
                        break
                    if kind == "500":
                        return 500, {"error": "internal"}
                    if kind.startswith("json:"):  # any JSON answer, as a broken gateway might give
                        return 200, json.loads(kind[5:])
                    return 200, {"errcode": int(kind), "errmsg": "injected"}
            if path == "/cgi-bin/gettoken":
                if query.get("corpid") != CORP_ID or query.get("corpsecret") != SECRET:
                    return 200, {"errcode": 40001, "errmsg": "invalid credential"}
                # as WeCom does: while a token is valid, gettoken returns that same token (a
                # second process or a restart does not invalidate the first one's); a new one
                # only once it has expired (developer.work.weixin.qq.com/document/path/91039)
                if self._valid_tokens:
                    return 200, {
                        "errcode": 0,
                        "errmsg": "ok",
                        "access_token": max(self._valid_tokens),
                        "expires_in": 7200,
                    }
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued:06d}"
                self._valid_tokens.add(token)
                return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
            if path == "/cgi-bin/webhook/send":
                key = query.get("key")
                if key not in self.robot_keys:
                    return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
                now = time.monotonic()
                times = [t for t in self._robot_times.get(key, []) if now - t < 60]
                if len(times) >= 20:
                    self.violations += 1
                    return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
                problem = _robot_problem(body)
                if problem:
                    return 200, {"errcode": 40058, "errmsg": problem}
                self._robot_times[key] = times + [now]
                self.robot.append({"key": key, **body})
                return 200, {"errcode": 0, "errmsg": "ok"}
            if path == "/cgi-bin/webhook/upload_media":  # the group robot's file upload
                if query.get("key") not in self.robot_keys:
                    return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
                if query.get("type") not in ("file", "voice") or "media" not in files:
                    return 200, {"errcode": 40004, "errmsg": "invalid media type"}
                self.uploads.append(files["media"])
                self.upload_types.append(("robot", query["type"]))
                return 200, {
                    "errcode": 0,
                    "errmsg": "ok",
                    "type": query["type"],
                    "media_id": f"rmedia{len(self.uploads)}",
                }
            if query.get("access_token") not in self._valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if path == "/cgi-bin/message/send":
                if body.get("agentid") != AGENT_ID:
                    return 200, {"errcode": 40056, "errmsg": "invalid agentid"}
                if body["touser"] not in self.users:
                    return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]}
                if body["msgtype"] == "text" and len(body["text"]["content"].encode()) > 2048:
                    return 200, {"errcode": 40058, "errmsg": "content exceed max length"}
                self.app.append(body)
                n = next(self._msgids)
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": f"msg{n}", "response_code": f"rc{n}"}
            if path == "/cgi-bin/media/upload":
                kind = query.get("type")
                if kind not in ("image", "voice", "video", "file") or "media" not in files:
                    return 200, {"errcode": 40004, "errmsg": "invalid media type"}
                self.uploads.append(files["media"])
                self.upload_types.append(("app", kind))
                return 200, {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": f"media{len(self.uploads)}"}
            if path == "/cgi-bin/message/update_template_card":
                self.updates.append(body)
                return 200, {"errcode": 0, "errmsg": "ok"}
            return 404, {"errcode": 404, "errmsg": "no such API"}

    # ------------------------------------------------------------------ callbacks, as WeCom sends them
    def callback_xml(
        self,
        user: str,
        *,
        text: str | None = None,
        event_key: str | None = None,
        msg_id: int | None = None,
        agent_id: int = AGENT_ID,
    ) -> str:
        ts = int(time.time())
        if event_key is not None:
            inner = (
                f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
                f"<EventKey><![CDATA[{event_key}]]></EventKey><TaskId><![CDATA[task]]></TaskId>"
                f"<CardType><![CDATA[button_interaction]]></CardType>"
                f"<ResponseCode><![CDATA[rc-{next(self._msgids)}]]></ResponseCode>"
            )
        else:
            inner = (
                f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
                f"<MsgId>{msg_id or next(self._msgids) + 7_000_000}</MsgId>"
            )
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime>{inner}<AgentID>{agent_id}</AgentID></xml>"
        )

    def encrypt(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> tuple[dict, str]:
        """(query parameters, body) of a callback POST carrying `xml`, signed like WeCom signs it."""
        ts = str(timestamp or int(time.time()))
        nonce = nonce or f"n{next(self._msgids)}"
        envelope = self.crypto.encrypt_message(xml, nonce, ts)
        import xmltodict

        sig = xmltodict.parse(envelope)["xml"]["MsgSignature"]
        # WeCom posts only the encrypted part; the signature travels in the query
        enc = xmltodict.parse(envelope)["xml"]["Encrypt"]
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        )
        return {"msg_signature": sig, "timestamp": ts, "nonce": nonce}, body


def _robot_problem(body: dict) -> str | None:
    kind = body.get("msgtype")
    if kind == "markdown" and len(body["markdown"]["content"].encode()) > 4096:
        return "markdown.content exceed max length 4096"
    if kind == "text" and len(body["text"]["content"].encode()) > 2048:
        return "text.content exceed max length 2048"
    if kind == "file" and not body.get("file", {}).get("media_id"):
        return "file.media_id missing"
    if kind not in ("markdown", "text", "image", "news", "template_card", "file"):
        return "invalid msgtype"
    return None
