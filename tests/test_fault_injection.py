"""Fault injection (issue 12, "Done when"): the real `yuqing run --platform telegram` process
against the fake Bot API, local feeds on 127.0.0.1 that grow between runs, killed with
SIGKILL at random moments of collection and delivery and restarted each time.

Asserts: no post, incident or alert lost; `PRAGMA integrity_check` ok; every incident named
in the chat. Prints the duplicates per kill (quoted in the README's delivery guarantee).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.fake_telegram import FakeBotAPI
from tests.test_telegram import GROUP, telegram_config

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("YUQING_FAULT_KILLS", "7"))

PLACES = ["江北区", "南湖区", "青石镇", "白沙乡", "云川", "江北区东街", "南湖区北苑", "青石镇河口"]
ISSUES = [
    ("卫生院工作人员态度恶劣被投诉", "看病排队三小时，工作人员态度恶劣，打热线投诉也没人理，群众很不满。"),
    ("社区台账形式主义引居民吐槽", "社区天天要居民拍照签字填台账，形式主义太严重，居民纷纷吐槽。"),
    ("办事窗口推诿扯皮群众跑断腿", "办个证明跑了五趟，窗口互相推诿，群众跑断腿，对作风很失望。"),
    ("村两委换届选举计票引质疑", "换届选举计票过程不公开，村民质疑有内定，要求公开计票录像。"),
    ("小区物业乱收费业主维权", "物业突然上调收费，业主集体维权，质疑收费依据，街道至今敷衍。"),
    ("学校食堂饭菜质量差家长不满", "孩子说食堂饭菜经常变质，家长多次反映无果，十分愤怒。"),
]


WORDS = [
    "群众",
    "反映",
    "问题",
    "部门",
    "回复",
    "热线",
    "材料",
    "现场",
    "视频",
    "照片",
    "家长",
    "老人",
    "孩子",
    "费用",
    "补贴",
    "道路",
    "水管",
    "路灯",
    "停车",
    "垃圾",
    "噪音",
    "排队",
    "窗口",
    "手续",
    "证明",
    "公示",
    "名单",
    "工程",
    "质量",
    "安全",
    "消防",
    "医保",
    "社保",
    "学位",
    "校车",
    "菜市场",
    "公交",
    "拆迁",
    "补偿",
    "合同",
]


CADRES = [("张建国", "市交通运输局局长"), ("刘海燕", "江北区副区长"), ("赵明远", "市人社局考试中心主任")]


def items(n: int) -> list[tuple[str, str, str, str]]:
    """The first `n` stories: (feed, guid, title, summary); different text each, so that each
    is an incident of its own."""
    out = []
    for k in range(n):
        issue, text = ISSUES[k % len(ISSUES)]
        place = PLACES[(k // len(ISSUES)) % len(PLACES)]
        r = random.Random(k)
        filler = "，".join("".join(r.sample(WORDS, 3)) for _ in range(8))
        feed = f"f{k % 4}"
        if k % 2:  # every other story is grade I–II: a card of its own at once, never digested
            cadre, post = CADRES[k // 2 % len(CADRES)]
            title = f"网友实名举报{post}{cadre}{''.join(r.sample(WORDS, 2))}违纪（{k}）"
            text = f"本人实名举报{post}{cadre}，{filler}，群众十分愤怒，质疑有黑幕。"
        else:
            title, text = f"{place}{''.join(r.sample(WORDS, 2))}{issue}（{k}）", f"{place}网友反映：{text}{filler}。"
        out.append((feed, f"https://bbs.fault.example/thread-{k}.html", title, text))
    return out


class Feeds:
    """Four RSS feeds on 127.0.0.1 whose items grow as `visible` grows; a little slow, so
    that kills land inside collection too."""

    def __init__(self):
        self.visible = 0
        self.hits = 0
        feeds = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                feeds.hits += 1
                name = self.path.strip("/")
                time.sleep(random.uniform(0.02, 0.2))
                entries = "".join(
                    f"<item><title>{escape(t)}</title><link>{g}</link><guid>{g}</guid>"
                    f"<description>{escape(s)}</description></item>"
                    for f, g, t, s in items(feeds.visible)
                    if f == name
                )
                body = (
                    f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{name}</title>'
                    f"<link>https://bbs.fault.example/</link>{entries}</channel></rss>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the process was killed mid-request

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # a client killed mid-request is expected here
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(config_dir: Path, feeds: Feeds) -> Path:
    telegram_config(config_dir)  # the group chat and people's Telegram ids
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    text = re.sub(r"\[\[sources\]\]\n(?:[a-z_]+ = [^\n]*\n)+", "", text)
    for i in range(4):
        text += (
            f'\n[[sources]]\nid = "f{i}"\nname = "故障论坛{i}"\nkind = "rss"\nurl = "{feeds.url}/f{i}"\n'
            f'tier = 4\ninterval = "30m"\nteam = "city"\n'
        )
    # all four feeds are on one host: a short politeness interval keeps each run's collection
    # to about a second, so that kills land in collection and delivery alike
    text += "\n[collection]\nmin_interval = 0.3\njitter = 0.2\n"
    p.write_text(text, encoding="utf-8")
    return p


def start(env: dict, log: Path) -> subprocess.Popen:
    fh = open(log, "ab")
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "run", "--platform", "telegram"],
        cwd=ROOT,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )


def query(db: Path, sql: str, params=()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def named(api: FakeBotAPI) -> str:
    return "\n".join(m["text"] for m in api.chat_log(GROUP))


def wait_until(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)  # ~1.5 min: 8 runs of the real process
def test_sigkill_during_collection_and_delivery_loses_nothing(config_dir, tmp_path):
    rng = random.Random(int(os.environ.get("YUQING_FAULT_SEED", time.time_ns() % 10**6)))
    api = FakeBotAPI()
    api.latency = lambda: rng.uniform(0.05, 0.3)  # a network's round trip, after the message is in the chat
    feeds = Feeds()
    cfg = write_config(config_dir, feeds)
    db = tmp_path / "data" / "fault.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        YUQING_DATA_DIR=str(tmp_path / "data"),
        YUQING_DB=str(db),
        YUQING_CONFIG=str(cfg),
        TELEGRAM_BOT_TOKEN="123456:FAULT",
        TELEGRAM_BASE_URL=api.base_url,
        YUQING_DELIVER_INTERVAL="0.2",
        YUQING_LOG_LEVEL="INFO",
    )
    log = tmp_path / "run.log"
    per_kill = 6
    try:
        kills = 0
        t0 = time.monotonic()
        for cycle in range(KILLS):
            feeds.visible = per_kill * (cycle + 1)  # new stories for this run to collect and alert
            hits, sent = feeds.hits, len(api.sent)
            proc = start(env, log)
            # kill at a random moment: of collection (even runs: after its first feed request)
            # or of delivery (odd runs: after the first message it sent)
            wait_until(
                lambda: feeds.hits > hits or len(api.sent) > sent or proc.poll() is not None,
                60,
                "the run to start collecting",
            )
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-3000:]
            if cycle % 2:
                try:
                    wait_until(lambda: len(api.sent) > sent, 30, "a message")
                except AssertionError:
                    pass
                time.sleep(rng.uniform(0.0, 0.8))
            else:
                time.sleep(rng.uniform(0.0, 1.2))
            proc.send_signal(signal.SIGKILL)
            print(
                f"kill {cycle + 1} at {time.monotonic() - t0:.1f}s: {len(api.sent) - sent} message(s) sent by this run"
            )
            proc.wait(timeout=30)  # the previous process is dead before the next starts
            kills += 1
        # the last run: not killed; everything collected must reach the chat
        feeds.visible = per_kill * KILLS
        proc = start(env, log)
        try:

            def settled():
                if not db.exists():
                    return False
                try:
                    ids = [r[0] for r in query(db, "SELECT id FROM incidents")]
                    left = query(db, "SELECT COUNT(*) FROM outbox WHERE state IN ('pending','sending')")[0][0]
                    stored = query(db, "SELECT COUNT(*) FROM posts WHERE source_id LIKE 'f%'")[0][0]
                except sqlite3.OperationalError:
                    return False
                text = named(api)
                return stored == feeds.visible and left == 0 and ids and all(f"#{i} " in text for i in ids)

            wait_until(settled, 150, "every incident named in the chat")
            print(f"settled at {time.monotonic() - t0:.1f}s")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        # no post lost
        keys = {r[0] for r in query(db, "SELECT url FROM posts")}
        assert {g for _, g, _, _ in items(feeds.visible)} <= keys
        # no incident lost: every relevant post belongs to an incident that exists
        orphans = query(
            db,
            """SELECT COUNT(*) FROM posts p WHERE p.relevant=1 AND NOT EXISTS
                               (SELECT 1 FROM incident_posts ip JOIN incidents i ON i.id=ip.incident_id
                                WHERE ip.post_id=p.id)""",
        )[0][0]
        assert orphans == 0
        ids = [r[0] for r in query(db, "SELECT id FROM incidents ORDER BY id")]
        assert len(ids) >= KILLS
        # no alert lost: nothing pending, sending or dead; every incident named in the group
        stuck = query(
            db, "SELECT id, kind, attempts, state, last_error FROM outbox WHERE state IN ('pending','sending','dead')"
        )
        assert not stuck, (
            stuck,
            log.read_text(encoding="utf-8", errors="replace")[-4000:],
        )  # (why, for a rare failure)
        text = named(api)
        assert all(f"#{i} " in text for i in ids)
        assert query(db, "PRAGMA integrity_check")[0][0] == "ok"

        # duplicates: a card posted (not edited) again, or a digest repeating lines of an earlier
        # one (a digest cut off by a kill is sent again, with any alerts queued since)
        cards: dict[int, int] = {}
        digested: set[int] = set()
        dup_digests = dup_lines = 0
        for m in api.chat_log(GROUP):
            if m["parse_mode"] == "HTML":
                found = re.search(r"· #(\d+) ·", m["text"])
                if found:
                    cards[int(found.group(1))] = cards.get(int(found.group(1)), 0) + 1
            elif m["text"].startswith("📋"):
                lines = {int(i) for i in re.findall(r" #(\d+) \[", m["text"])}
                dup_lines += len(lines & digested)
                dup_digests += bool(lines & digested)
                digested |= lines
        dup_cards = sum(n - 1 for n in cards.values() if n > 1)
        # a kill can repeat at most the one card in flight
        assert dup_cards <= kills
        resent = log.read_text(encoding="utf-8", errors="replace").count("were being sent when the bot last stopped")
        print(
            f"\nfault injection: {kills} SIGKILLs, {len(ids)} incidents, {len(api.sent)} messages; repeated: "
            f"{dup_cards} card(s) + {dup_digests} digest message(s) = {(dup_cards + dup_digests) / kills:.2f} "
            f"messages per kill ({dup_lines} digest line(s)); {resent} restart(s) found a send cut off"
        )
    finally:
        feeds.close()
        api.close()
