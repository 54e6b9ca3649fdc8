"""The README and .env.example stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import cli
from bot.settings import Settings
from handlers import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme():
    for c in COMMANDS:
        assert f"`/{c.name}" in README, c.name


def test_every_cli_subcommand_is_in_the_readme():
    for name in cli.commands:
        assert f"`yuqing {name}" in README, name


def test_env_example_lists_every_setting():
    names = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    for field, info in Settings.model_fields.items():
        candidates = {"YUQING_" + field.upper()}
        if info.validation_alias is not None:
            candidates |= set(info.validation_alias.choices)
        assert candidates & names, field


def test_quick_start_has_exactly_two_setup_commands():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]


def test_nothing_outside_bot_imports_a_chat_platform():
    for room in ("core", "handlers", "jobs", "storage"):
        for path in (ROOT / room).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import)\s+(telegram|wechatpy|wxpy|bot\.platforms)", text, re.M), path
