"""Report charts: a PNG with Chinese labels, drawn by matplotlib (Agg) with Noto Sans CJK,
which the project installs from PyPI (`cvttf-notosanscjk-regular`), so labels never turn
into boxes whatever fonts the machine has."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.grades import Grade

if TYPE_CHECKING:
    from jobs.report import Report

__all__ = ["cjk_font", "render_report_chart"]

_lock = threading.Lock()
_font_name: str | None = None


def cjk_font() -> str:
    """Register the bundled CJK font with matplotlib once; return its family name."""
    global _font_name
    with _lock:
        if _font_name is None:
            import cvttf_NotoSansCJK_Regular
            from matplotlib import font_manager

            path = cvttf_NotoSansCJK_Regular.get_TTF_path()
            font_manager.fontManager.addfont(path)
            _font_name = font_manager.FontProperties(fname=path).get_name()
        return _font_name


def render_report_chart(report: Report, path: Path, title: str) -> Path:
    """Two panels: incidents by grade, and by category. Returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    # the font has CJK and Latin, not emoji: keep the title to what it can draw
    title = "".join(ch for ch in title if ord(ch) < 0x2000 or 0x3000 <= ord(ch) < 0xFFFF).strip()
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
        grades = [Grade(g) for g in report.by_grade]  # the palette of core.grades
        a.bar([g.caption for g in grades], [report.by_grade[g.value] for g in grades], color=[g.hex for g in grades])
        a.set_title("按等级")
        a.set_ylabel("事件数")
        cats = list(report.by_category.items())[:8] or [("无", 0)]
        b.barh([c for c, _ in cats][::-1], [n for _, n in cats][::-1], color="#4c72b0")
        b.set_title("按类别")
        b.set_xlabel("事件数")
        from matplotlib.ticker import MaxNLocator

        a.yaxis.set_major_locator(MaxNLocator(integer=True))
        b.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in (a, b):
            ax.spines[["top", "right"]].set_visible(False)
        fig.suptitle(title)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return path
