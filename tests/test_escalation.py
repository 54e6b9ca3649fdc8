"""Escalation chains: per grade/category, steps reaching people, partner chats and the parent
team's group; partners get the facts, not the internal notes."""

from __future__ import annotations

import pytest

from bot.config import load_config
from tests.conftest import seed

TEAMS = """
[[teams]]
id = "qingshi"
name = "青石镇舆情信息组"
parent = "city"
[teams.chats]
console = "青石镇群"
"""

CHAINS = """
[[escalation]]
grades = ["III", "IV"]
steps = [
  { name = "镇党委书记", people = ["wangmin"] },
  { name = "市委组织部", parent_team = true },
  { name = "市纪委监委", chats = { console = "纪委监委对接群" }, facts_only = true },
]
"""


@pytest.fixture
def township(config_dir, make_app):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    text = text.replace(
        "# ---------------------------------------------------------------- people and roles",
        TEAMS + "\n# ---- people and roles",
    )
    text = text.replace(
        'id = "forum"\nname = "云川论坛（样例）"\nkind = "rss"\nurl = "samples/forum.atom"\ntier = 4\ninterval = "5m"\nteam = "city"',
        'id = "forum"\nname = "云川论坛（样例）"\nkind = "rss"\nurl = "samples/forum.atom"\ntier = 4\ninterval = "5m"\nteam = "qingshi"',
    )
    text += CHAINS
    p.write_text(text, encoding="utf-8")
    return make_app(load_config(p))


async def test_chain_steps_reach_the_parent_team_and_partners_get_only_facts(township):
    h = township
    seed(h, "青石镇干部吃拿卡要被投诉", "村民投诉办事推诿。")  # forum belongs to the township team
    out = await h.deliver()
    assert "【青石镇群】" in out and "【监测群】" not in out  # the team's own group
    await h.say("liqiang", "/escalate 1 村民聚集", chat="青石镇群")
    out = await h.deliver()
    assert "⏫ #1 由 李强 升级至镇党委书记：村民聚集" in out and "【私聊 → 王敏】" in out
    await h.say("liqiang", "/escalate 1 需要市里协调", chat="青石镇群")
    out = await h.deliver()
    assert "【监测群】" in out and "升级至市委组织部" in out  # the parent team's group gets the card
    await h.say("liqiang", "/escalate 1 涉嫌违纪", chat="青石镇群")
    out = await h.deliver()
    assert "【纪委监委对接群】" in out and "已升级至市纪委监委，请关注" in out
    assert "涉嫌违纪" not in [line for line in out.splitlines() if line.startswith("【纪委监委对接群】")][-1]
    await h.say("liqiang", "/note 1 内部意见：先核实当事人身份", chat="青石镇群")
    out = await h.deliver()
    assert "内部意见" in out and not any("内部意见" in line for line in out.splitlines() if "纪委监委" in line)
    assert "不能继续升级" in await h.say("liqiang", "/escalate 1", chat="青石镇群")  # three steps, no more


def test_unknown_person_in_a_chain_is_a_config_error(config_dir):
    from core.errors import ConfigError

    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8") + '\n[[escalation]]\nsteps = [{ name = "x", people = ["nobody"] }]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"escalation\[0\]\.steps\[0\]\.people"):
        load_config(p)


def test_topic_rules_belong_to_a_team(config_dir):
    from core.models import Post
    from jobs.analyse import Analyzer

    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8").replace(
        "# ---------------------------------------------------------------- people and roles",
        TEAMS + "\n# ---- people and roles",
    )
    text = text.replace(
        "# ---------------------------------------------------------------- grades",
        """
[[watchlist.topics]]
category = "镇村事务"
weight = 5
any = ["低保"]
team = "qingshi"

# ---- grades""",
    )
    text = text.replace(
        'url = "samples/forum.atom"\ntier = 4\ninterval = "5m"\nteam = "city"',
        'url = "samples/forum.atom"\ntier = 4\ninterval = "5m"\nteam = "qingshi"',
    )
    p.write_text(text, encoding="utf-8")
    cfg = load_config(p)
    a = Analyzer(cfg)
    post = Post("x", "k", "青石镇低保评定引争议", "")
    assert a.analyse(post, cfg.source("forum")).finding.category == "镇村事务"  # the town's source
    assert a.analyse(post, cfg.source("ycnews")).finding.category != "镇村事务"  # a city source
