"""What a partner department (市委宣传部网评办, the facts-only last step of the default chain)
may see: only incidents escalated to them, and only the facts — in every command."""

from __future__ import annotations

import re

import pytest

from bot.config import load_config
from tests.test_commands import snapshot

PARTNER = "xuanchuan"
NOTE = "同意按统一口径回应，先不对外表态"
REASON = "涉及领导干部，需分管领导把关口径"
SECRETS = ("统一口径", "把关口径", "处置记录", "处置预案")  # fragments of the above, and internal sections


@pytest.fixture
async def escalated(two):
    """#1 escalated up to the partner step with internal notes and reasons; #2 never escalated."""
    h = two
    await h.say("chenbuzhang", f"/note 1 {NOTE}")
    await h.say("liqiang", f"/escalate 1 {REASON}")
    await h.say("liqiang", "/escalate 1 转载量快速上升")
    await h.say("liqiang", "/escalate 1 需宣传部协助")
    assert h.incident(1).escalation_level == 3
    await h.deliver()
    return h


def same_but_number(a: str, b: str) -> bool:
    return re.sub(r"#\d+", "#N", a) == re.sub(r"#\d+", "#N", b)


async def test_partner_sees_the_facts_but_not_the_internal_notes(escalated):
    show = await escalated.say(PARTNER, "/show 1")
    assert "#1" in show and "网友实名举报" in show
    for secret in (*SECRETS, "转载量快速上升", "需宣传部协助", "/claim", "陈副部长"):
        assert secret not in show, secret


async def test_partner_cannot_see_incidents_not_escalated_to_them(escalated):
    before = snapshot(escalated)
    refused = await escalated.say(PARTNER, "/show 2")
    unknown = await escalated.say(PARTNER, "/show 999")
    assert "没有编号为 #2 的事件" in refused
    assert same_but_number(refused, unknown)  # refusal does not reveal that #2 exists
    assert snapshot(escalated) == before


async def test_partner_before_the_partner_step_is_reached(two):
    await two.say("liqiang", f"/escalate 1 {REASON}")  # 组长 only
    await two.say("liqiang", "/escalate 1 再升一级")  # 分管领导
    assert "没有编号为 #1 的事件" in await two.say(PARTNER, "/show 1")
    assert "#1" not in await two.say(PARTNER, "/list")


async def test_partner_list_search_report_only_show_what_is_theirs(escalated):
    listing = await escalated.say(PARTNER, "/list")
    assert "#1 " in listing and "#2 " not in listing
    assert "无权使用 /search" in await escalated.say(PARTNER, "/search 张建国")
    assert "无权使用 /report" in await escalated.say(PARTNER, "/report 1")
    assert "无权使用 /note" in await escalated.say(PARTNER, "/note 1 x")
    staff = await escalated.say("liqiang", "/list")
    assert "#1 " in staff and "#2 " in staff
    assert NOTE in await escalated.say("liqiang", "/show 1")  # the team still sees everything


async def test_partner_named_in_a_full_step_sees_the_timeline(config_dir, make_app):
    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8")
        + """
[[escalation]]
steps = [
  { name = "组长", roles = ["admin"] },
  { name = "宣传部（全程参与）", people = ["xuanchuan"] },
]
""",
        encoding="utf-8",
    )
    from tests.conftest import HIGH, seed

    h = make_app(load_config(p))
    seed(h, *HIGH)
    await h.say("liqiang", f"/note 1 {NOTE}")
    await h.say("liqiang", f"/escalate 1 {REASON}")
    assert "没有编号为 #1 的事件" in await h.say(PARTNER, "/show 1")
    await h.say("liqiang", "/escalate 1 请宣传部把关")
    show = await h.say(PARTNER, "/show 1")
    assert NOTE in show and REASON in show and "处置记录" in show


async def test_partner_chat_step_reached_by_chat(config_dir, make_app):
    """A step that names the partner department's chat: whoever writes from that chat."""
    from handlers import Request
    from tests.conftest import HIGH, seed

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8")
        + """
[[escalation]]
steps = [{ name = "网评办", chats = { console = "网评办群" }, facts_only = true }]
""",
        encoding="utf-8",
    )
    cfg = load_config(p)
    # the partner is no longer named by role in this chain: only their chat is
    h = make_app(cfg)
    seed(h, *HIGH)
    ask = Request(platform="console", chat="网评办群", user_id=PARTNER, text="/show 1")
    assert "没有编号为 #1 的事件" in (await h.app.handle(ask))[0].text
    await h.say("liqiang", f"/escalate 1 {REASON}")
    shown = (await h.app.handle(ask))[0].text
    assert "网友实名举报" in shown and not any(x in shown for x in SECRETS)
    elsewhere = Request(platform="console", chat="别的群", user_id=PARTNER, text="/show 1")
    assert "没有编号为 #1 的事件" in (await h.app.handle(elsewhere))[0].text


async def test_partner_on_telegram_sees_only_the_facts_of_what_reached_them(config_dir, tmp_path):
    """The same rules through the real Telegram adapter: the partner's private chat gets the
    escalated card; /show answers with facts only; buttons do not open the incident up."""
    from tests.conftest import HIGH, LOW, config_with_handles, seed
    from tests.fake_telegram import FakeBotAPI
    from tests.test_telegram import GROUP, IDS, TG

    api = FakeBotAPI()
    ids = {**IDS, PARTNER: 4001}
    cfg = config_with_handles(
        config_dir,
        "telegram",
        {pid: str(uid) for pid, uid in ids.items()},
        replace={'# telegram = "-1001234567890"': f'telegram = "{GROUP}"'},
    )
    t = TG(api, cfg, tmp_path)
    await t.start(collect=False)
    try:
        t.users[PARTNER] = api.user(4001, "网评办")
        h = type("H", (), {"app": t.app})()
        one = seed(h, *HIGH).incident_id
        two = seed(h, *LOW, source="ycnews").incident_id
        for reason in (REASON, "转载量快速上升", "需宣传部协助"):
            t.say("liqiang", f"/escalate {one} {reason}")
        t.say("chenbuzhang", f"/note {one} {NOTE}")
        await t.until(lambda: t.app.service.get(one).escalation_level == 3)
        await t.until(lambda: t.app.db.execute("SELECT COUNT(*) FROM events WHERE action='note'").fetchone()[0] == 1)
        mine = "4001"
        await t.until(lambda: any("已升级至协作部门" in m["text"] for m in api.chat_log(mine)))
        await t.until(
            lambda: (
                t.app.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0] == 0
            )
        )
        log_text = "\n".join(m["text"] for m in api.chat_log(mine))
        assert "已升级至协作部门" in log_text and not any(x in log_text for x in SECRETS)
        n = len(api.chat_log(mine))
        t.say(PARTNER, f"/show {one}", chat=mine)
        t.say(PARTNER, f"/show {two}", chat=mine)
        t.say(PARTNER, "/show 999", chat=mine)
        await t.until(lambda: len(api.chat_log(mine)) >= n + 3)
        shown, refused, unknown = [m["text"] for m in api.chat_log(mine)[n : n + 3]]
        assert "网友实名举报" in shown and not any(x in shown for x in SECRETS)
        assert same_but_number(refused, unknown) and "没有编号为" in refused
        card = next(m for m in api.chat_log(mine) if m["parse_mode"] == "HTML")
        api.press(mine, t.users[PARTNER], card["message_id"], f"c:{one}")
        await t.until(lambda: len(api.answers) >= 1)
        assert "无权使用 /claim" in api.answers[-1]["text"]
        assert t.app.service.get(one).assignee is None
    finally:
        await t.stop()
        api.close()


async def test_the_card_a_partner_receives_carries_no_internal_assessment(escalated, monkeypatch):
    """Cards are edited in every chat that shows them, a partner's included: the 研判 (an
    internal assessment) is on the team's card, never on the card a facts-only step receives."""
    h = escalated
    adapter = h.app.platforms["console"]
    shown: dict[str, list] = {}
    real_edit, real_send = adapter.edit, adapter.send

    async def edit(chat, message_id, message):
        shown.setdefault(chat, []).append(message.card)
        return await real_edit(chat, message_id, message)

    async def send(chat, message):
        if message.card is not None:
            shown.setdefault(chat, []).append(message.card)
        return await real_send(chat, message)

    monkeypatch.setattr(adapter, "edit", edit)
    monkeypatch.setattr(adapter, "send", send)
    judgement = "系公务用车，网民误读，建议不予回应"
    await h.say("liqiang", f"/judge 1 {judgement}")
    await h.deliver()
    partner = [chat for platform, chat in h.app.router.private_chats(h.app.config.person(PARTNER))]
    group = [chat for platform, chat in h.app.router.group_chats(h.incident(1).team)]
    assert partner and all(shown.get(c) for c in partner + group)
    for c in partner:
        assert all(judgement not in str(card) for card in shown[c])
    for c in group:
        assert ("研判", judgement) in shown[c][-1].fields
