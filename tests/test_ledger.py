"""The 台账 (ledger) as an Excel workbook: `yuqing export ledger` and `/export ledger week`,
opened with openpyxl and its structure checked."""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import cli
from jobs.ledger import COLUMNS
from tests.conftest import EXAMPLE, HIGH, LOW, seed

HEADER = [
    "编号",
    "发现时间",
    "首发时间",
    "标题",
    "来源",
    "链接",
    "类别",
    "等级",
    "涉及对象",
    "研判",
    "领导批示",
    "认领人",
    "认领用时",
    "处置方式",
    "处置说明",
    "办结时间",
    "是否超时",
    "备注",
    "转办单位",
]


async def _history(h, clock):
    """#1 high grade, claimed after 10 minutes, assessed, noted and closed; #2 low grade, left
    open; #3 a hostile title (a formula, a control character) with a non-web link."""
    seed(h, *HIGH, source="provnews")
    seed(h, "转：" + HIGH[0], HIGH[1], source="forum")
    seed(h, *LOW, source="ycnews")
    seed(
        h,
        "=HYPERLINK(\"http://evil\")\x07张建国 公车",
        "张建国 公车 网友质疑",
        source="forum",
        url="javascript:alert(1)",
    )
    clock.advance(minutes=10)
    await h.say("liqiang", "/claim 1")
    await h.say("liqiang", "/judge 1 系公务用车，网民误读，热度可控")
    await h.say("liqiang", "/note 1 已联系交通局核实")
    clock.advance(hours=1)
    await h.say("liqiang", "/close 1 已澄清 系公务用车")
    await h.say("chenbuzhang", "/signoff 1")


def _sheet(path):
    wb = load_workbook(path)
    return wb["台账"]


def _rows(ws):
    header = [c.value for c in ws[1]]
    return header, [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


async def test_cli_ledger_workbook(make_app, clock, tmp_path):
    h = make_app()
    await _history(h, clock)
    n_incidents = h.count("incidents")
    # one more incident, found after the period: not in the ledger
    clock.now = datetime(2026, 12, 3, 2, 0, tzinfo=clock.now.tzinfo)
    seed(h, "市委组织部开展干部教育培训", "市委组织部 培训", source="ycnews")
    db = h.app.settings.db
    h.app.close()
    out = tmp_path / "ledger.xlsx"
    res = CliRunner().invoke(
        cli,
        ["export", "ledger", "--db", str(db), "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(out)],
        env={"YUQING_DATA_DIR": str(tmp_path / "data")},
    )
    assert res.exit_code == 0, res.output
    assert f"已导出台账 {n_incidents} 起事件" in res.stdout
    ws = _sheet(out)
    header, rows = _rows(ws)
    assert header == HEADER == [c for c, _ in COLUMNS]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:S{n_incidents + 1}"
    assert ws.column_dimensions["D"].width >= 30
    assert sorted(r["编号"] for r in rows) == list(range(1, n_incidents + 1))  # every incident of the period
    first = next(r for r in rows if r["编号"] == 1)
    # dates are real dates, in Shanghai time: found at 10:00 local on 2026-11-24
    assert isinstance(first["发现时间"], datetime) and first["发现时间"] == datetime(2026, 11, 24, 10, 0)
    assert isinstance(first["首发时间"], datetime)
    assert isinstance(first["办结时间"], datetime) and first["办结时间"] == datetime(2026, 11, 24, 11, 10)
    assert ws.cell(row=2, column=2).number_format == "yyyy-mm-dd hh:mm"
    assert first["认领用时"] == timedelta(minutes=10)
    assert first["认领人"] == "李强" and first["处置方式"] == "已澄清" and first["处置说明"] == "系公务用车"
    assert first["研判"] == "系公务用车，网民误读，热度可控"
    assert "已联系交通局核实" in first["备注"] and "研判" not in first["备注"]
    assert "张建国" in first["涉及对象"] and first["等级"].startswith("I ")
    assert first["来源"].startswith("省报融媒（样例）") and "2 个来源" in first["来源"]
    assert first["是否超时"] == "否"
    # the link is clickable
    link_cell = ws.cell(row=2, column=6)
    assert link_cell.hyperlink is not None and link_cell.hyperlink.target == first["链接"]
    assert first["链接"].startswith("https://")
    # the open low-grade incident has no closing data
    low = next(r for r in rows if r["标题"] == LOW[0])
    assert low["办结时间"] is None and low["处置方式"] is None and low["认领人"] is None
    # a hostile title stays text (no formula, no control character), a non-web link is not clickable
    hostile_row = next(i for i, r in enumerate(rows, 2) if "HYPERLINK" in (r["标题"] or ""))
    cell = ws.cell(row=hostile_row, column=4)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK") and "\x07" not in cell.value
    assert ws.cell(row=hostile_row, column=6).hyperlink is None
    # the configured zone, not a fixed one
    utc_out = tmp_path / "ledger-utc.xlsx"
    res = CliRunner().invoke(
        cli,
        ["export", "ledger", "--db", str(db), "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(utc_out)],
        env={"YUQING_DATA_DIR": str(tmp_path / "data"), "YUQING_TIMEZONE": "UTC"},
    )
    assert res.exit_code == 0, res.output
    _, utc_rows = _rows(_sheet(utc_out))
    assert next(r for r in utc_rows if r["编号"] == 1)["发现时间"] == datetime(2026, 11, 24, 2, 0)


async def test_overdue_column_follows_deadlines(make_app, clock, tmp_path):
    """是否超时 says which deadline was missed: an incident claimed after its claim deadline
    and closed after the full-response deadline; one still open past its claim deadline."""
    from jobs.ledger import ledger_rows

    h = make_app()
    seed(h, *HIGH, source="provnews")  # grade I: claim within 15 min, full response 24 h
    seed(h, *LOW, source="ycnews")
    clock.advance(hours=1)
    await h.say("liqiang", "/claim 1")
    clock.advance(hours=30)
    await h.say("liqiang", "/judge 1 热度可控")
    await h.say("liqiang", "/close 1 已回应 已发布通报")
    await h.say("chenbuzhang", "/signoff 1")
    app = h.app
    lo, hi = clock.now - timedelta(days=3), clock.now + timedelta(days=1)
    rows = {r.id: r for r in ledger_rows(app.db, app.config, lo, hi, app.tz, clock.now)}
    assert rows[1].overdue.startswith("是") and "认领超时" in rows[1].overdue and "办结超时" in rows[1].overdue
    assert h.incident(2).grade.value == "IV"  # claim by the next working morning: long past, 31 h on
    assert rows[2].overdue.startswith("是") and "认领超时" in rows[2].overdue


async def test_chat_export_sends_the_file(make_app, clock, tmp_path):
    h = make_app()
    await _history(h, clock)
    replies = await h.app.handle(
        __import__("handlers").Request(platform="console", chat="监测群", user_id="wangmin", text="/export ledger week")
    )
    assert len(replies) == 1 and replies[0].document, replies
    assert replies[0].document.endswith(".xlsx") and "舆情台账" in replies[0].text
    ws = _sheet(replies[0].document)
    header, rows = _rows(ws)
    assert header == HEADER and len(rows) == h.count("incidents")
    # the Chinese alias, the default period, and the console showing the file
    from bot.platforms.console import _reply_text

    again = await h.app.handle(
        __import__("handlers").Request(platform="console", chat="监测群", user_id="chenbuzhang", text="导出 台账")
    )
    assert again[0].document and "📎 文件：" in _reply_text(again)


async def test_chat_export_refusals(make_app, clock):
    h = make_app()
    await _history(h, clock)
    assert "未知的导出类型" in await h.say("wangmin", "/export cats")
    assert "请指明导出什么" in await h.say("wangmin", "/export")
    assert "无法识别的导出周期" in await h.say("wangmin", "/export ledger fortnight")
    assert "多余的参数" in await h.say("wangmin", "/export ledger week more")
    assert "无权使用 /export" in await h.say("hexiaoyu", "/export ledger week")  # an officer
    assert "/export ledger" in await h.say("wangmin", "/help")


def test_cli_defaults_and_bad_input(tmp_path, monkeypatch):
    """Without --from/--to/-o: the last 30 days, a file named after them in the current folder."""
    monkeypatch.chdir(tmp_path)
    env = {"YUQING_DATA_DIR": str(tmp_path / "data"), "YUQING_CONFIG": str(EXAMPLE)}
    db = tmp_path / "data" / "t.db"
    res = CliRunner().invoke(cli, ["export", "ledger", "--db", str(db)], env=env)
    assert res.exit_code == 0, res.output
    made = list(tmp_path.glob("舆情台账-*.xlsx"))
    assert len(made) == 1 and "已导出台账 0 起事件" in res.stdout
    header, rows = _rows(_sheet(made[0]))
    assert header == HEADER and rows == []
    bad = CliRunner().invoke(
        cli, ["export", "ledger", "--db", str(db), "--from", "2026-12-01", "--to", "2026-11-01"], env=env
    )
    assert bad.exit_code == 2 and "结束日期早于开始日期" in bad.output
    bad = CliRunner().invoke(cli, ["export", "ledger", "--db", str(db), "-o", "x.csv"], env=env)
    assert bad.exit_code == 2 and ".xlsx" in bad.output


async def test_telegram_sends_the_ledger_as_a_document(config_dir, tmp_path):
    """`/export ledger week` typed in the Telegram group comes back as an .xlsx document."""
    import io

    from tests.fake_telegram import FakeBotAPI
    from tests.test_telegram import GROUP, TG, telegram_config

    api = FakeBotAPI()
    t = TG(api, telegram_config(config_dir), tmp_path)
    await t.start(collect=False)
    try:
        seed(_H(t.app), *HIGH, source="provnews")
        t.say("wangmin", "/export ledger week")
        await t.until(lambda: api.documents)
        doc = api.documents[0]
        assert doc["chat"] == GROUP and isinstance(doc["bytes"], bytes)
        header, rows = _rows(load_workbook(io.BytesIO(doc["bytes"]))["台账"])
        assert header == HEADER and [r["标题"] for r in rows] == [HIGH[0]]
        assert any("舆情台账" in x for x in t.texts())
    finally:
        await t.stop()
        api.close()


class _H:
    """Enough of the test harness for `seed`."""

    def __init__(self, app):
        self.app = app


def test_database_file(tmp_path):
    """/export ledger reads through a second connection to the same file, off the event loop."""
    from storage import open_db
    from storage.db import database_file

    mem = open_db(memory=True)
    disk = open_db(tmp_path / "x.db")
    try:
        assert database_file(mem) is None
        assert database_file(disk) == str(tmp_path / "x.db")
    finally:
        mem.close()
        disk.close()
