"""Settings and configuration: the example is valid; every mistake names its field in
Chinese and English; a bad config stops start-up with that message, not a traceback."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from bot.settings import load_settings
from core.errors import ConfigError, SettingsError
from tests.conftest import EXAMPLE


def test_example_config_is_valid():
    cfg = load_config(EXAMPLE)
    assert cfg.organization.name == "云川市委组织部"
    assert {t.category for t in cfg.watchlist.topics} >= {
        "干部任用",
        "干部作风",
        "违纪违法",
        "招录考试",
        "基层党建",
        "政府回应",
    }
    assert all(cfg.resolve_path(s.url).exists() for s in cfg.sources)


def edit(config_dir, old, new, count=1):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new, count), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "old,new,where,zh",
    [
        ('tier = 2\n', 'tier = 9\n', "sources[id=provnews].tier", "数值太大"),
        ('tier = 2\n', 'tier = "high"\n', "sources[id=provnews].tier", "应为整数"),
        ('interval = "5m"', 'interval = "often"', "sources[id=forum].interval", "时长格式应为"),
        ('interval = "5m"', 'interval = "0m"', "sources[id=forum].interval", "时长须大于 0"),
        ('quiet_after = "1h"', 'quiet_after = "0s"', "grades.I.quiet_after", "时长须大于 0"),
        ('role = "officer"', 'role = "boss"', "people[4].role", "取值不在允许范围内"),
        ('name = "王敏"\n', '', "people[0].name", "缺少必填项"),
        ('id = "liqiang"', 'id = "wangmin"', "people[1].id", "重复的 id"),
        (
            'team = "city"\n\n[[sources]]\nid = "provnews"',
            'team = "district"\n\n[[sources]]\nid = "provnews"',
            "sources[id=ycnews].team",
            "没有名为 'district' 的团队",
        ),
        ('threshold = 14', 'threshold = 40', "grades", "I > II > III > IV"),
        ('url = "samples/forum.atom"', 'url = "samples/missing.atom"', "sources[id=forum].url", "文件不存在"),
        ('[organization]\n', '[organization]\ncolour = "red"\n', "organization.colour", "未知字段"),
        ('category = "招录考试"\nrole', 'category = "不存在的类别"\nrole', "playbooks[2].category", "没有类别"),
        ('[[teams]]', '[[teams]\n', "(syntax)", "TOML 语法错误"),
    ],
)
def test_bad_config_names_the_field(config_dir, old, new, where, zh):
    path = edit(config_dir, old, new)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    text = e.value.render()
    assert f"{where}:" in text, text
    assert zh in text
    assert " / " in text  # both languages


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="找不到配置文件 / file not found"):
        load_config(tmp_path / "nope.toml")


def test_bad_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("YUQING_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert "YUQING_TIMEZONE" in e.value.render() and "未知时区" in e.value.render()


def test_secrets_are_masked(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET")
    s = load_settings()
    assert "SECRET" not in repr(s)
    assert s.chosen_platform == "telegram"


def test_check_command_ok_and_bad(config_dir, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", "--config", str(config_dir / "example.toml"), "--db", str(tmp_path / "c.db")])
    assert ok.exit_code == 0, ok.output
    assert "配置有效 / configuration OK" in ok.output
    path = edit(config_dir, "tier = 2\n", "tier = 0\n")
    bad = runner.invoke(cli, ["check", "--config", str(path), "--db", str(tmp_path / "c.db")])
    assert bad.exit_code == 2
    assert "sources[id=provnews].tier: 数值太小" in bad.output
    assert "Traceback" not in bad.output


def test_run_with_bad_config_stops_with_message_not_traceback(config_dir, tmp_path):
    path = edit(config_dir, 'claim = "15m"', 'claim = "soon"')
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(path), "--db", str(tmp_path / "r.db")],
        capture_output=True,
        text=True,
        input="",
        timeout=60,
        env={"PATH": "", "YUQING_DATA_DIR": str(tmp_path / "data")},
    )
    assert proc.returncode == 2
    assert "配置文件有误 / invalid configuration" in proc.stderr
    assert re.search(r"grades\.I\.claim: 时长格式应为", proc.stderr)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("sub", ["run", "check", "report"])
def test_every_subcommand_has_help_and_common_options(sub):
    res = CliRunner().invoke(cli, [sub, "--help"])
    assert res.exit_code == 0
    assert "--db" in res.output and "--config" in res.output


def test_telegram_without_token_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    res = CliRunner().invoke(
        cli,
        ["run", "--platform", "telegram", "--db", str(tmp_path / "t.db")],
        env={"YUQING_DATA_DIR": str(tmp_path / "data")},
    )
    assert res.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN: 使用 Telegram 平台需要设置机器人令牌" in res.output


def test_wecom_without_keys_and_unknown_platforms_are_clear_errors(tmp_path):
    env = {"YUQING_DATA_DIR": str(tmp_path / "data")}
    res = CliRunner().invoke(cli, ["run", "--platform", "wecom", "--db", str(tmp_path / "t.db")], env=env)
    assert res.exit_code == 2
    assert "YUQING_WECOM_ROBOT_KEYS: 使用企业微信需要至少一个群机器人密钥或一个自建应用" in res.output
    res = CliRunner().invoke(cli, ["run", "--platform", "telegram,qq", "--db", str(tmp_path / "t.db")], env=env)
    assert res.exit_code == 2
    assert "YUQING_PLATFORM: 未知平台 qq" in res.output and "Traceback" not in res.output


def test_several_platforms_and_robot_keys_from_the_environment(monkeypatch):
    monkeypatch.setenv("YUQING_PLATFORM", "telegram, wecom")
    monkeypatch.setenv("YUQING_WECOM_ROBOT_KEYS", "city=k1,jiangbei=k2")
    s = load_settings()
    assert s.chosen_platforms == ("telegram", "wecom")
    assert {k: v.get_secret_value() for k, v in s.wecom_robot_keys.items()} == {"city": "k1", "jiangbei": "k2"}
    assert "k1" not in repr(s)
    monkeypatch.setenv("YUQING_WECOM_ROBOT_KEYS", '{"city": "k3"}')
    assert load_settings().wecom_robot_keys["city"].get_secret_value() == "k3"
    monkeypatch.setenv("YUQING_WECOM_ROBOT_KEYS", "city")
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert "YUQING_WECOM_ROBOT_KEYS" in e.value.render() and "团队=密钥" in e.value.render()


def test_check_validates_the_chosen_platforms_settings(config_dir, tmp_path):
    args = ["check", "--config", str(config_dir / "example.toml"), "--db", str(tmp_path / "c.db")]
    env = {
        "YUQING_DATA_DIR": str(tmp_path / "data"),
        "YUQING_PLATFORM": "wecom",
        "YUQING_WECOM_CORP_ID": "ww1",
        "YUQING_WECOM_SECRET": "s",
    }
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code == 2
    assert "YUQING_WECOM_TOKEN: 配置企业微信应用需要同时设置这一项" in res.output
    ok = CliRunner().invoke(
        cli,
        args,
        env={
            "YUQING_DATA_DIR": str(tmp_path / "data"),
            "YUQING_PLATFORM": "wecom",
            "YUQING_WECOM_ROBOT_KEYS": "city=k",
        },
    )
    assert ok.exit_code == 0, ok.output
    assert "平台 platform: wecom" in ok.output


def test_errors_share_one_base_and_keep_their_old_ones():
    from core.errors import IncidentNotFound, StaleIncident, StartupError, YuqingError
    from core.gazetteer import AreaError
    from core.platform import DeliveryError, MessageGone
    from handlers.commands import UsageError
    from jobs.backtest import LabelError
    from jobs.collect import CollectError
    from jobs.fetch import FetchError
    from jobs.tips import TipRefused
    from storage import incidents

    for cls in (StartupError, ConfigError, SettingsError, DeliveryError, MessageGone, UsageError, FetchError):
        assert issubclass(cls, YuqingError), cls
    for cls in (CollectError, TipRefused, IncidentNotFound, StaleIncident, AreaError, LabelError):
        assert issubclass(cls, YuqingError), cls
    assert issubclass(AreaError, ValueError) and issubclass(LabelError, ValueError)
    assert issubclass(IncidentNotFound, LookupError) and issubclass(StaleIncident, RuntimeError)
    assert incidents.IncidentNotFound is IncidentNotFound  # the old import path still names it


def test_a_config_error_keeps_its_cause(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[organization\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    assert e.value.__cause__ is not None


def test_check_refuses_a_platform_with_nowhere_to_post(config_dir, tmp_path):
    """TELEGRAM_BOT_TOKEN set, but no team has a Telegram chat and nobody a Telegram handle."""
    args = ["check", "--config", str(config_dir / "example.toml"), "--db", str(tmp_path / "c.db")]
    env = {"YUQING_DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": "123:T", "YUQING_PLATFORM": ""}
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code == 2, res.output
    assert "teams.chats.telegram: 使用Telegram平台，但没有任何团队设置Telegram群" in res.output
    assert "the bot cannot post anywhere" in res.output and "Traceback" not in res.output
    edit(config_dir, '# telegram = "-1001234567890"', 'telegram = "-1001234567890"')
    ok = CliRunner().invoke(cli, args, env=env)
    assert ok.exit_code == 0, ok.output


# ---------------------------------------------------------------- rule packs


def test_a_rule_pack_adds_its_terms_and_topics_after_the_configs_own(config_dir):
    wl = load_config(config_dir / "example.toml").watchlist
    own = load_config(edit(config_dir, 'rules = ["rules/cadre-work.toml"]\n', "")).watchlist
    pack = load_config(config_dir / "province.toml").watchlist
    assert wl.rules == ["rules/cadre-work.toml"] and own.rules == []
    assert wl.topics == [*own.topics, *pack.topics] and len(pack.topics) > 20
    assert wl.sensitive[: len(own.sensitive)] == own.sensitive
    assert set(wl.sensitive) == set(own.sensitive) | set(pack.sensitive)
    assert len(wl.negative) == len(set(wl.negative))  # a term both have is listed once


@pytest.mark.parametrize(
    "pack, where, zh",
    [
        (None, "watchlist.rules[0] (rules/mine.toml)", "找不到文件"),
        (
            '[[topics]]\ncategory = "违纪违法"\nany = ["受贿"]\n[[topics]]\ncategory = "干部作风"\n',
            "rules/mine.toml: topics[1]",
            "any 或 near",
        ),
        (
            '[[topics]]\ncategory = "违纪违法"\nany = ["受贿"]\nweight = 9\n',
            "rules/mine.toml: topics[0].weight",
            "数值太大",
        ),
        ('places = ["云川"]\n', "rules/mine.toml: places", "只能包含"),
        ("[[topics]\n", "watchlist.rules[0] (rules/mine.toml)", "TOML 语法错误"),
    ],
)
def test_a_bad_rule_pack_is_named_by_its_file_and_its_own_topic_index(config_dir, pack, where, zh):
    if pack is not None:
        (config_dir / "rules" / "mine.toml").write_text(pack, encoding="utf-8")
    path = edit(config_dir, 'rules = ["rules/cadre-work.toml"]', 'rules = ["rules/mine.toml"]')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    text = e.value.render()
    assert f"{where}:" in text, text
    assert zh in text, text


def test_the_province_profile_reads_the_cadre_work_pack():
    from tests.conftest import PROVINCE

    wl = load_config(PROVINCE).watchlist
    assert wl.rules == ["rules/cadre-work.toml"] and len(wl.topics) > 20 and "双开" in wl.sensitive
