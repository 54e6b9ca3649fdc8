"""Smaller things found in issue 14's walk-through: each pinned by a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.grades import Grade
from core.models import Incident, State

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def _incident(**kw) -> Incident:
    base = dict(
        id=7,
        title="网友反映某局干部作风问题",
        url=None,
        source_id="forum",
        source_name="云川论坛",
        team="city",
        category="干部作风",
        grade=Grade.III,
        score=0.5,
        reasons=(),
        matched={},
        state=State.CLAIMED,
        assignee="liqiang",
        escalation_level=0,
        disposition=None,
        summary=None,
        post_count=1,
        source_count=1,
        created_at=T0,
        updated_at=T0,
        claimed_at=T0,
        escalated_at=None,
        closed_at=None,
        version=1,
    )
    base.update(kw)
    return Incident(**base)


def test_quiet_nudge_says_minutes_not_zero_hours():
    """A short quiet interval is said in minutes ("已 2 分钟"), never "已 0.0 小时"."""
    from core.config import GradeRule
    from core.deadlines import Deadlines, due_intents

    inc = _incident()
    rule = GradeRule(threshold=0, claim="1h", quiet_after="2m")
    dl = Deadlines(claim=T0 + timedelta(hours=1), first_response=None, full_response=None)
    now = T0 + timedelta(minutes=2, seconds=5)
    intents = due_intents(inc, dl, rule, now, done=set(), last_activity=T0, muted_until=None, tz=TZ)
    quiet = [i.text for i in intents if i.kind == "quiet"]
    assert quiet == ["💤 #7 已 2 分钟没有新的处置记录，请跟进并 /note 7 说明进展"]


async def tick(h, **kw):
    from jobs.deadlines import sweep

    h.app.clock.advance(**kw)
    sweep(h.app.service, h.app.tz)
    return await h.deliver()


async def test_auto_escalation_is_one_group_line_and_the_timeline_says_系统(make_app, clock):
    from tests.conftest import HIGH, seed

    h = make_app()
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")  # grade I
    await h.deliver()
    out = await tick(h, minutes=16)
    group = [line for line in out.splitlines() if line.startswith("【监测群】") and ("⏰" in line or "⏫" in line)]
    assert group == ["【监测群】  ↳ ⏫ #1 超过认领时限（10:15）无人认领，自动升级至组长"]
    assert "【私聊 → 王敏】" in out  # grade I: the 组长 gets the card
    assert "⏰" not in await tick(h, minutes=5)  # the folded overdue reminder was recorded: not said later
    shown = await h.say("wangmin", "/show 1")
    assert "system" not in shown and "系统 升级（第 1 级）" in shown
    await h.say("wangmin", "/claim 1")
    mine = await h.say("wangmin", "/mine")
    assert "王敏" in mine and "wangmin" not in mine


async def test_grade_iv_escalation_tells_the_组长_without_the_full_card(make_app, clock):
    from tests.conftest import seed

    h = make_app()
    seed(h, "市委组织部发布干部任前公示", "拟任职人选公示。", source="ycnews")
    assert h.incident(1).grade is Grade.IV
    await h.deliver()
    await h.say("liqiang", "/escalate 1 请组长看一下")
    out = await h.deliver()
    private = out[out.index("【私聊 → 王敏】") :]
    assert "已升级至组长" in private and "/show 1" in private
    assert "定级理由" not in private  # no card


async def test_grade_iv_escalation_gives_a_subscriber_the_card(make_app, clock):
    from tests.conftest import seed

    h = make_app()
    assert "已订阅" in await h.say("wangmin", "/subscribe IV")
    seed(h, "市委组织部发布干部任前公示", "拟任职人选公示。", source="ycnews")
    await h.deliver()
    await h.say("liqiang", "/escalate 1 请组长看一下")
    out = await h.deliver()
    assert "【私聊 → 王敏】" in out and "/show 1 查看详情" not in out


async def test_playbook_steps_follow_the_grade_and_ticks_name_the_step(make_app, clock):
    from tests.conftest import HIGH, seed

    h = make_app()
    seed(h, *HIGH, source="provnews")  # 干部作风, grade II: first response 5h
    assert h.incident(1).grade is Grade.II
    await h.say("liqiang", "/claim 1")
    out = await h.deliver()
    assert "⬜ 3. 5 小时内发布权威信息" in out
    await h.say("liqiang", "/note 1 完成 1")
    assert "完成预案第 1 步「核实事实与涉及单位」" in await h.deliver()
    shown = await h.say("liqiang", "/show 1")
    assert "李强 完成预案第 1 步「核实事实与涉及单位」" in shown and "完成 1" not in shown.replace("/note 1 完成 1", "")
    assert "✅ 1. 核实事实与涉及单位" in shown

    from core.config import Playbook
    from core.incidents import playbook_steps

    pb = h.app.config.playbook("干部作风")
    grades = h.app.config.grades
    assert playbook_steps(pb, grades[Grade.III])[2] == "24 小时内发布权威信息"
    assert playbook_steps(pb, grades[Grade.IV])[2] == "发布权威信息"  # no first-response deadline
    assert playbook_steps(Playbook(category="x", steps=["{完整回应}内办结"]), grades[Grade.I]) == ["24 小时内办结"]


def test_ledger_remarks_name_the_ticked_step(tmp_path):
    from core.models import Event
    from core.render import describe_event

    ev = Event(
        id=1,
        incident_id=7,
        at=T0,
        actor="liqiang",
        action="note",
        from_state=None,
        to_state=None,
        detail={"text": "完成 2：已电话联系", "step": [2, "联系涉及单位说明情况"]},
    )
    assert describe_event(ev, {"liqiang": "李强"}) == ("完成预案第 2 步「联系涉及单位说明情况」", "已电话联系")
    # a step recorded by an older, looser reading: a note, as typed (QA 2)
    ev = Event(**{**ev.__dict__, "detail": {"text": "已完成 3 家单位走访", "step": [3, "发布权威信息"]}})
    assert describe_event(ev, {"liqiang": "李强"}) == ("备注", "已完成 3 家单位走访")


async def test_private_cards_offer_only_what_the_reader_may_do(make_app, clock):
    from tests.conftest import HIGH, seed

    h = make_app()
    seed(h, *HIGH, source="provnews")
    inc = h.incident(1)
    render = h.app.render

    def offered(where):
        return {b.action.value for b in render(inc, where).buttons}

    assert offered(("console", "监测群")) == {"claim", "note", "escalate", "close"}  # the team's group
    assert offered(("console", "@liqiang")) == {"claim", "note", "escalate", "close"}  # staff
    leader = offered(("console", "@chenbuzhang"))
    assert leader == {"read", "instruct"}  # 已阅 and 批示, never 认领/关闭 (issue 14.5)
    assert offered(("console", "@xuanchuan")) == set()  # a partner acts on nothing


def test_telegram_base_url_is_documented_as_the_code_reads_it():
    """README and .env.example agree: the server's address, `/bot` optional (the bot appends it)."""
    import re

    from bot.config import load_config
    from bot.platforms.telegram import TelegramPlatform
    from tests.conftest import EXAMPLE, ROOT

    cfg = load_config(EXAMPLE)
    urls = set()
    for base in ("http://127.0.0.1:8081", "http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot/"):
        bot = TelegramPlatform(cfg, token="123456:TEST", base_url=base).application.bot
        urls.add((bot.base_url, bot.base_file_url))
    assert urls == {("http://127.0.0.1:8081/bot123456:TEST", "http://127.0.0.1:8081/file/bot123456:TEST")}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    for text in (readme, env):
        said = re.search(r"TELEGRAM_BASE_URL=(\S+)|e\.g\. (http://\S+)", text[text.index("Self-hosted Bot API") :])
        assert said and not (said.group(1) or said.group(2)).rstrip("`").endswith("/bot"), said
        assert "trailing /bot" in text.replace("`", "")


class _Terminal:
    """A terminal as far as the console can tell: it records what is written."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return True


async def test_console_output_and_log_lines_keep_the_prompt_intact(config):
    import logging

    from bot.platforms.console import PROMPT, AboveThePrompt, ConsolePlatform
    from core.platform import Outgoing

    term = _Terminal()
    console = ConsolePlatform(config, out=term)
    PROMPT.prompt = "王敏> "
    try:
        await console.send("监测群", Outgoing(text="⏰ #1 已超过认领时限"))
        handler = logging.StreamHandler(AboveThePrompt(term))
        handler.emit(logging.LogRecord("x", logging.WARNING, "f", 1, "source down", None, None))
    finally:
        PROMPT.prompt = None
    # each: clear the prompt line, print, draw the prompt again
    assert term.text == "\r\x1b[K【监测群】⏰ #1 已超过认领时限\n王敏> \r\x1b[Ksource down\n王敏> "
    plain = _Terminal()
    await ConsolePlatform(config, out=plain).send("监测群", Outgoing(text="x"))  # no prompt waiting
    assert plain.text == "【监测群】x\n"


def test_chart_uses_a_simplified_chinese_face_and_draws_the_trend(make_app, clock):
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from jobs.charts import SC_FAMILIES, chart_figure, cjk_font
    from jobs.report import build_report
    from tests.conftest import HIGH, seed

    h = make_app()
    seed(h, *HIGH, source="provnews")
    clock.advance(days=2)
    report = build_report(h.app.db, h.app.config, "month", clock(), h.app.tz)
    assert len(report.by_day) >= 3 and sum(n for n, _ in report.by_day.values()) == 1
    family = cjk_font()
    assert family in SC_FAMILIES  # not the Traditional-Chinese (TC) cut
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    face = next(f for f in font_manager.fontManager.ttflist if f.fname == path and f.name == family)
    assert face.name.endswith("SC")
    fig = chart_figure(report, "本月舆情")
    try:
        lines = {line.get_gid(): list(line.get_ydata()) for ax in fig.axes for line in ax.get_lines()}
        assert set(lines) == {"trend-new", "trend-closed"}
        assert len(lines["trend-new"]) == len(report.by_day) and sum(lines["trend-new"]) == 1
        assert fig.axes[0].title.get_fontname() in SC_FAMILIES
    finally:
        plt.close(fig)
    today = build_report(h.app.db, h.app.config, "today", clock(), h.app.tz)
    assert today.by_day == {}  # a day: no trend panel
