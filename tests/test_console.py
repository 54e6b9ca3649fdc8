"""The console platform driven by a script, exactly as the README shows:
printf '/list\\n/claim 1\\n' | yuqing run --platform console --db /tmp/t.db"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_console(tmp_path, script: str, *extra: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("YUQING_", "TELEGRAM_"))},
        "YUQING_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--platform", "console", "--db", str(tmp_path / "t.db"), *extra],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_scripted_session_then_restart_without_realert(tmp_path):
    first = run_console(
        tmp_path,
        "\n".join(
            [
                "/list",
                "/claim 1",
                "/note 1 已联系市交通运输局核实",
                "/escalate 1 省级媒体已转载",
                "/close 1 已澄清 经核实为公务用车正常使用",
                "/report",
                "",
            ]
        ),
    )
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Traceback" not in first.stderr
    # alerts from the bundled sources come first (each as the start-up collection finds it)
    # (a story first seen at grade II and raised to I by a later post: its card is updated in place)
    assert re.search(r"^🔴 I |卡片已更新：🔴 I ", out[: out.index("王敏> /list")], flags=re.M)
    for line in [
        "✋ #1 已由 王敏 认领",
        "📝 #1 王敏：已联系市交通运输局核实",
        "⏫ #1 由 王敏 升级至组长：省级媒体已转载",
        "✅ #1 由 王敏 关闭，处置：已澄清（经核实为公务用车正常使用）",
    ]:
        assert line in out, line
    report = out[out.index("王敏> /report") :]
    n = len(re.findall(r"^【监测群】\n─+\n", out, flags=re.M))
    assert f"新增事件：{n} 起" in report
    assert "已关闭 1" in report and "已澄清 1" in report and "平均认领用时" in report

    second = run_console(tmp_path, "/list\n")
    assert second.returncode == 0, second.stderr
    assert "────" not in second.stdout  # no card printed again
    assert f"待处置事件 {n - 1} 起" in second.stdout


def test_as_switches_identity_and_bad_lines_are_explained(tmp_path):
    res = run_console(
        tmp_path, "/as 何晓雨\n/claim 1\n/as 不存在\n/as\n/as 李强\n/claim 1\n/assign 1 @周岚\n", "--no-collect"
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "你现在是 何晓雨（信息员）" in out
    assert "无权使用 /claim" in out
    assert "找不到成员“不存在”" in out
    assert "找不到成员“”" not in out and "\n用法：/as 姓名" in out  # /as alone: the usage
    assert "没有编号为 #1 的事件" in out  # nothing collected with --no-collect
