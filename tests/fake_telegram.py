"""A fake Telegram Bot API: a real HTTP server on 127.0.0.1 that the real python-telegram-bot
talks to through `base_url`. It records every call, serves injected updates to getUpdates,
keeps the messages of each chat (so edits and replies can be checked), and injects faults."""

from __future__ import annotations

import email.policy
import itertools
import json
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

BOT = {
    "id": 999,
    "is_bot": True,
    "first_name": "舆情哨兵",
    "username": "yuqing_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class Raw:
    """A response body that is not the Bot API's JSON (a proxy's HTML error page)."""

    def __init__(self, body: str, content_type: str = "text/html"):
        self.body, self.content_type = body, content_type


GATEWAY_PAGE = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n<center><h1>{code} {phrase}"
    "</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
)
# how emulators answer a method they do not implement
MISSING = {
    # tg-mock (Go): a Telegram-shaped 404
    "404": (404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}),
    # telegram-test-api (Node): HTTP 500 with its own JSON, no `ok` or `description`
    "500": (500, {"message": "API method is not supported. Are you sure you're using Telegram Bot API correctly?"}),
    # small hand-written mocks: HTTP 200 with ok=false
    "200": (200, {"ok": False, "error_code": 400, "description": "Bad Request: method not supported"}),
}


class FakeBotAPI:
    """Switches that make it answer like other Bot API emulators instead of Telegram:
    `unsupported` + `missing_style`, `bot_info`, `answer_style`, `ignore_offset`, the fault kinds
    of `fail`, and the update shapes of `message(thread=...)`, `press(inaccessible=...)`, `raw`."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.messages: dict[tuple[str, int], dict] = {}  # (chat, message_id) -> {"text", "markup", "reply_to"}
        self.sent: list[dict] = []  # every successful sendMessage, in order
        self.answers: list[dict] = []
        self.photos: list[dict] = []
        self.documents: list[dict] = []  # every sendDocument: {"chat", "bytes"}
        self.faults: list[tuple[str, tuple]] = []  # (method or "*", (kind, arg))
        self.kicked: set[str] = set()  # chats that removed the bot: every call to them is refused
        self.migrated: dict[str, int] = {}  # group chat id -> its supergroup's id (see `migrate`)
        self.unsupported: set[str] = set()  # methods answered as an emulator without them does
        self.missing_style = "404"  # which emulator's way (MISSING)
        self.bot_info: dict = dict(BOT)  # what getMe answers (emulators answer fewer fields)
        # how a sent or edited message is answered: "telegram"; "ms" (telegram-test-api: `date`
        # in milliseconds, no `from`, the chat as a private one); "bare" (only message_id and
        # chat id); "null" (edits answered with result null, as telegram-test-api does); "noid"
        # (every send and edit answered `true`)
        self.answer_style = "telegram"
        # getUpdates hands out each update once whatever the offset (telegram-test-api marks
        # updates read)
        self.ignore_offset = False
        # sendMessage replying to a message that is not there (a user's message deleted, by them
        # or a clean-up bot) is refused unless allow_sending_without_reply, as Telegram does
        self.strict_replies = False
        self.user_messages: set[tuple[str, int]] = set()  # users' messages still in their chats
        self.redeliver = False  # getUpdates answers every update every time (a mock that ignores offset)
        self.long_poll = True  # False: getUpdates answers at once, whatever `timeout` asks (telegram-test-api)
        self.polls = 0  # getUpdates calls answered
        self._handed_out: set[int] = set()
        self._updates: list[dict] = []
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                if api.is_down:  # a kept-alive connection to a server that went away: drop it
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                method = self.path.rsplit("/", 1)[-1]
                params = {}
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):  # uploads (sendPhoto)
                    msg = BytesParser(policy=email.policy.HTTP).parsebytes(
                        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
                    )
                    for part in msg.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        data = part.get_payload(decode=True)
                        params[name] = data if part.get_filename() else data.decode()
                    pairs = [(k, v) for k, v in params.items() if isinstance(v, str)]
                else:
                    pairs = parse_qsl(raw.decode(), keep_blank_values=True)
                for k, v in pairs:
                    try:
                        params[k] = json.loads(v)
                    except ValueError:
                        params[k] = v
                status, payload = api.dispatch(method, params)
                if api.latency and method == "sendMessage":  # recorded, then answered late
                    time.sleep(api.latency() if callable(api.latency) else api.latency)
                if isinstance(payload, Raw):  # a proxy's or an emulator's own page, not JSON
                    data, ctype = payload.body.encode(), payload.content_type
                else:
                    data, ctype = json.dumps(payload, ensure_ascii=False).encode(), "application/json"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (shutdown during a long poll)

            def log_message(self, *a):
                pass

        self._handler = Handler
        self.is_down = False
        # seconds (or a function giving them) between recording a sendMessage and answering it:
        # the window in which a killed client has sent a message without learning its id
        self.latency: float | None = None
        self.allowed_updates: set[str] | None = None  # the kinds of update getUpdates was asked for
        self._serve(0)
        self.base_url = f"http://127.0.0.1:{self.port}/bot"

    def _serve(self, port: int):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # shutdown() waits for serve_forever's next poll: 0.05 s, not the default 0.5 s each teardown
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def down(self):
        """Stop listening: connections are refused until `up()`."""
        self.is_down = True
        with self._cond:
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def up(self):
        self.is_down = False
        self._serve(self.port)

    def close(self):
        self.down()

    # ------------------------------------------------------------------ faults
    def fail(self, method: str, kind: str, arg=None, times: int = 1):
        """kind: '429' (arg = retry_after), '403' (arg = the reason), 'entities' (a formatted text
        refused), '500', 'slow' (arg = seconds), '502html'/'504html' (a proxy's HTML page, nothing
        done), 'too_old' (a
        callback query answered too late), 'okfalse' (HTTP 200 with ok=false), 'revoked' (404 Not Found: the token was revoked)."""
        self.faults += [(method, (kind, arg))] * times

    def _fault(self, method):
        for i, (m, f) in enumerate(self.faults):
            if m in (method, "*"):
                del self.faults[i]
                return f
        return None

    # ------------------------------------------------------------------ API
    def dispatch(self, method: str, p: dict):
        if method != "getUpdates":
            self.calls.append((method, p))
            if str(p.get("chat_id")) in self.kicked:
                return 403, {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was kicked from the supergroup chat",
                }
            moved = self.migrated.get(str(p.get("chat_id")))
            if moved is not None:  # as Telegram answers any call to a group that became a supergroup
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": moved},
                }
            if method in self.unsupported:
                return MISSING[self.missing_style]
            fault = self._fault(method)
            if fault:
                kind, arg = fault
                if kind == "429":
                    return 429, {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {arg}",
                        "parameters": {"retry_after": arg},
                    }
                if kind == "403":  # the bot was removed from the group, or a person blocked it
                    return 403, {"ok": False, "error_code": 403, "description": f"Forbidden: {arg or 'bot was kicked'}"}
                if kind == "entities" and p.get("parse_mode"):  # Telegram refusing the formatting
                    return self._bad("can't parse entities: unsupported URL protocol")
                if kind == "500":
                    return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                if kind == "slow":
                    time.sleep(arg)
                if kind in ("502html", "504html"):
                    code = int(kind[:3])
                    phrase = "Bad Gateway" if code == 502 else "Gateway Time-out"
                    return code, Raw(GATEWAY_PAGE.format(code=code, phrase=phrase))
                if kind == "too_old":
                    return self._bad("query is too old and response timeout expired or query ID is invalid")
                if kind == "okfalse":
                    return 200, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                if kind == "revoked":  # how Telegram answers every method once the token is revoked
                    return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        fn = getattr(self, "api_" + method, None)
        if fn is None:
            return 200, {"ok": True, "result": True}
        return fn(p)

    def _ok(self, result):
        return 200, {"ok": True, "result": result}

    def _bad(self, text):
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: " + text}

    def api_getMe(self, p):
        return self._ok(self.bot_info)

    def api_getUpdates(self, p):
        self.polls += 1
        offset = int(p.get("offset") or 0)
        deadline = time.monotonic() + (min(float(p.get("timeout") or 0), 1.0) if self.long_poll else 0.0)
        if self.redeliver:
            with self._cond:
                if not self._updates:
                    self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
                return self._ok(list(self._updates))
        if self.ignore_offset:
            with self._cond:
                while True:
                    ready = [u for u in self._updates if id(u) not in self._handed_out]
                    if ready or time.monotonic() >= deadline:
                        self._handed_out.update(id(u) for u in ready)
                        return self._ok(ready)
                    self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
        if "allowed_updates" in p:  # as Telegram: kept for later calls; [] is every kind
            self.allowed_updates = set(p["allowed_updates"] or ()) or None
        with self._cond:
            while True:
                ready = [u for u in self._updates if u["update_id"] >= offset and self._wanted(u)]
                if ready or time.monotonic() >= deadline:
                    return self._ok(ready)
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))

    def _wanted(self, update: dict) -> bool:
        """Telegram never delivers an update of a kind the bot did not ask for (allowed_updates)."""
        return self.allowed_updates is None or any(k in self.allowed_updates for k in update if k != "update_id")

    def _chat(self, chat_id):
        cid = int(chat_id)
        return {"id": cid, "type": "private" if cid > 0 else "supergroup", **({} if cid > 0 else {"title": "监测群"})}

    def api_sendMessage(self, p):
        chat = str(p["chat_id"])
        reply = p.get("reply_parameters") or {}
        if (
            self.strict_replies
            and reply.get("message_id")
            and (chat, int(reply["message_id"])) not in self.messages
            and (chat, int(reply["message_id"])) not in self.user_messages
            and not reply.get("allow_sending_without_reply")
        ):
            return self._bad("message to be replied not found")
        with self._lock:
            mid = next(self._message_ids)
            reply_to = (p.get("reply_parameters") or {}).get("message_id")
            rec = {
                "chat": chat,
                "message_id": mid,
                "text": p["text"],
                "markup": p.get("reply_markup"),
                "reply_to": reply_to,
                "parse_mode": p.get("parse_mode"),
                "thread": p.get("message_thread_id"),
            }
            self.messages[(chat, mid)] = rec
            self.sent.append(rec)
        answer = {"message_id": mid, "date": int(time.time()), "chat": self._chat(chat), "from": BOT, "text": p["text"]}
        if p.get("message_thread_id"):  # as Telegram: a message sent into a forum topic says so
            answer.update(message_thread_id=p["message_thread_id"], is_topic_message=True)
        return self._ok(self._styled(answer))

    def _styled(self, answer: dict):
        """A message as the emulator chosen by `answer_style` answers it."""
        if self.answer_style == "ms":
            chat = answer["chat"]
            return {
                **{k: v for k, v in answer.items() if k != "from"},
                "date": int(time.time() * 1000),
                "chat": {"id": chat["id"], "first_name": "Bot", "type": "private"},
            }
        if self.answer_style == "noid":  # a mock answering every send with `true`
            return True
        if self.answer_style == "bare":
            return {"message_id": answer["message_id"], "chat": {"id": answer["chat"]["id"]}}
        return answer

    def api_sendPhoto(self, p):
        chat = str(p["chat_id"])
        photo = p.get("photo")
        with self._lock:
            mid = next(self._message_ids)
            self.photos.append({"chat": chat, "message_id": mid, "bytes": photo if isinstance(photo, bytes) else b""})
        return self._ok(
            {
                "message_id": mid,
                "date": int(time.time()),
                "chat": self._chat(chat),
                "from": BOT,
                "photo": [{"file_id": f"f{mid}", "file_unique_id": f"u{mid}", "width": 10, "height": 10}],
            }
        )

    def api_sendDocument(self, p):
        with self._lock:
            mid = next(self._message_ids)
            self.documents.append({"chat": str(p["chat_id"]), "bytes": p.get("document")})
        return self._ok(
            {
                "message_id": mid,
                "date": int(time.time()),
                "chat": self._chat(p["chat_id"]),
                "from": BOT,
                "document": {"file_id": f"d{mid}", "file_unique_id": f"u{mid}"},
            }
        )

    def api_editMessageText(self, p):
        key = (str(p["chat_id"]), int(p["message_id"]))
        rec = self.messages.get(key)
        if rec is None:
            return self._bad("message to edit not found")
        if rec["text"] == p["text"] and rec["markup"] == p.get("reply_markup"):
            return self._bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        rec.update(text=p["text"], markup=p.get("reply_markup"), edits=rec.get("edits", 0) + 1)
        if self.answer_style == "null":
            return self._ok(None)
        return self._ok(
            self._styled(
                {"message_id": key[1], "date": int(time.time()), "chat": self._chat(key[0]), "text": p["text"]}
            )
        )

    def api_editMessageReplyMarkup(self, p):
        key = (str(p["chat_id"]), int(p["message_id"]))
        rec = self.messages.get(key)
        if rec is None:
            return self._bad("message to edit not found")
        rec["markup"] = p.get("reply_markup")
        if self.answer_style == "null":
            return self._ok(None)
        return self._ok(
            self._styled(
                {"message_id": key[1], "date": int(time.time()), "chat": self._chat(key[0]), "text": rec["text"]}
            )
        )

    def api_answerCallbackQuery(self, p):
        self.answers.append(p)
        return self._ok(True)

    # ------------------------------------------------------------------ injecting updates
    def raw(self, update: dict) -> int:
        """Any update as it is (shapes our helpers do not make); its update_id is given here."""
        self._push(update)
        return update["update_id"]

    def restart_update_ids(self) -> None:
        """An emulator restarted: update ids count from 1 again (updates already handed out stay so)."""
        self._update_ids = itertools.count(1)

    def _push(self, update: dict):
        with self._cond:
            update["update_id"] = next(self._update_ids)
            self.last_update = update
            self._updates.append(update)
            self._cond.notify_all()

    def migrate(self, old, new, *, service: bool = False) -> None:
        """Group `old` becomes supergroup `new`: calls naming `old` are refused with its new id;
        `service` also sends the group's service message (migrate_to_chat_id) as Telegram does."""
        self.migrated[str(old)] = int(new)
        if service:
            msg = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(old), "type": "group", "title": "监测群"},
                "from": {"id": 1, "is_bot": False, "first_name": "群主"},
                "migrate_to_chat_id": int(new),
            }
            self._push({"message": msg})

    def user(self, uid: int, first_name: str, username: str | None = None) -> dict:
        return {"id": uid, "is_bot": False, "first_name": first_name, **({"username": username} if username else {})}

    def message(
        self,
        chat_id,
        user: dict,
        text: str,
        reply_to: int | None = None,
        forwarded_from: dict | None = None,
        attach: str | None = None,
        thread: int | None = None,
        deleted: bool = False,
    ) -> int:
        """A user sends `text` in a chat (with a proper bot_command entity), optionally replying,
        or forwards it (`forwarded_from`: the user who first wrote it); with `attach` ("photo",
        "document"), `text` is the caption of a photo or a file; with `thread`, in that forum
        topic (as Telegram sends it: is_topic_message, and a message that replies to nothing
        replies to the topic's first message, the service message that created it); `deleted`:
        gone from the chat by the time the bot answers (a clean-up bot deletes commands)."""
        with self._lock:
            mid = next(self._message_ids)
            if not deleted:
                self.user_messages.add((str(chat_id), mid))
        msg = {"message_id": mid, "date": int(time.time()), "chat": self._chat(chat_id), "from": user}
        if thread is not None:
            msg.update(message_thread_id=thread, is_topic_message=True)
            if reply_to is None:
                msg["reply_to_message"] = {
                    "message_id": thread,
                    "date": int(time.time()) - 86400,
                    "chat": self._chat(chat_id),
                    "from": user,
                    "message_thread_id": thread,
                    "forum_topic_created": {"name": "舆情处置", "icon_color": 7322096},
                    "is_topic_message": True,
                }
        if forwarded_from is not None:
            msg["forward_origin"] = {"type": "user", "date": int(time.time()) - 3600, "sender_user": forwarded_from}
        self._put_text(msg, text, attach)
        if reply_to is not None:
            orig = self.messages[(str(chat_id), reply_to)]
            msg["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": BOT,
                "text": orig["text"],
            }
        self._push({"message": msg})
        return mid

    def edit(self, chat_id, user: dict, message_id: int, text: str, attach: str | None = None) -> None:
        """A user edits their message `message_id` (or its caption, `attach`) to `text`
        (Telegram sends an edited_message)."""
        msg = {
            "message_id": message_id,
            "date": int(time.time()) - 60,
            "edit_date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": user,
        }
        self._put_text(msg, text, attach)
        self._push({"edited_message": msg})

    @staticmethod
    def _put_text(msg: dict, text: str, attach: str | None) -> None:
        """`text` as the message's text, or as the caption of a photo or a document."""
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else None
        )
        if attach == "photo":
            msg["photo"] = [
                {"file_id": f"ph{w}", "file_unique_id": f"u{w}", "width": w, "height": w, "file_size": w * 40}
                for w in (90, 320, 1280)
            ]
        elif attach == "document":
            msg["document"] = {"file_id": "doc1", "file_unique_id": "udoc1", "file_name": "截图.pdf"}
        elif attach is not None:
            raise ValueError(f"no such attachment in the fake: {attach}")
        key = "caption" if attach else "text"
        if text or not attach:  # a photo sent without a caption has none
            msg[key] = text
        if entities:
            msg[f"{key}_entities" if attach else "entities"] = entities

    def press(self, chat_id, user: dict, message_id: int, data: str, message: str = "full") -> None:
        """A user presses an inline button (callback data exactly as the bot sent it). `message`:
        "full"; "inaccessible" (Telegram's InaccessibleMessage for an old message: chat,
        message_id and date 0); "none" (no message at all, as some emulators send it)."""
        rec = self.messages[(str(chat_id), message_id)]
        query: dict = {"id": str(next(self._update_ids)) + "cb", "from": user, "chat_instance": "ci", "data": data}
        if message == "full":
            query["message"] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": BOT,
                "text": rec["text"],
            }
        elif message == "inaccessible":
            query["message"] = {"message_id": message_id, "date": 0, "chat": self._chat(chat_id)}
        elif message != "none":
            raise ValueError(f"no such callback message in the fake: {message}")
        self._push({"callback_query": query})

    # ------------------------------------------------------------------ reading the transcript
    def chat_log(self, chat) -> list[dict]:
        return [m for m in self.sent if m["chat"] == str(chat)]

    def buttons(self, chat, message_id) -> list[tuple[str, str]]:
        markup = self.messages[(str(chat), message_id)]["markup"] or {"inline_keyboard": []}
        return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]
