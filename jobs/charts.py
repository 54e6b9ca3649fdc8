"""Report charts: a PNG with Chinese labels, drawn by matplotlib (Agg) in Noto Sans SC, the
Simplified-Chinese cut of Noto Sans CJK (说, 值, 骨 in mainland shapes), which the project
installs from PyPI (`pylopdf-fonts-zh-cn`, SIL OFL), so labels never turn into boxes or
Taiwan shapes whatever fonts the machine has. Without that package: the machine's Noto Sans
CJK SC (Debian's fonts-noto-cjk, a face of its TTC), else the older Traditional-Chinese
bundle, with a warning."""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.grades import Grade

if TYPE_CHECKING:
    from jobs.report import Report

__all__ = ["SC_FAMILIES", "chart_figure", "cjk_font", "render_report_chart"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_font_name: str | None = None

SC_FAMILIES = ("Noto Sans SC", "Noto Sans CJK SC")  # the Simplified-Chinese cuts, in order of preference
_SYSTEM_TTC = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)


def _find_font() -> tuple[str | None, str | None]:
    """(path of a font file to register, family to use), best first."""
    try:
        import pylopdf_fonts_zh_cn

        return str(pylopdf_fonts_zh_cn.sans_path()), None
    except ImportError:
        pass
    for path in _SYSTEM_TTC:
        if Path(path).exists():
            return path, "Noto Sans CJK SC"  # a collection: its SC face by family name
    try:
        import cvttf_NotoSansCJK_Regular

        log.warning("no Simplified-Chinese font found (pip install pylopdf-fonts-zh-cn): charts use Noto Sans CJK TC")
        return cvttf_NotoSansCJK_Regular.get_TTF_path(), None
    except ImportError:
        return None, None


def cjk_font() -> str:
    """Register the Simplified-Chinese font with matplotlib once; return its family name."""
    global _font_name
    with _lock:
        if _font_name is None:
            from matplotlib import font_manager

            path, family = _find_font()
            if path is None:
                log.warning("no CJK font found: chart labels may show as boxes")
                _font_name = "sans-serif"
            else:
                font_manager.fontManager.addfont(path)
                _font_name = family or font_manager.FontProperties(fname=path).get_name()
        return _font_name


def render_report_chart(report: Report, path: Path, title: str) -> Path:
    """Two panels: incidents by grade, and by category; a report of more than a day adds a
    third below them, the trend of new and closed incidents per day. Returns `path`.

    Drawn on a figure this process keeps for the next chart of its shape (emptied, limits and
    layout reset: the same pixels as a new figure's): a new figure's axes make their ticks anew
    — several artists each — and measure every label again, two fifths of the chart's time."""
    import matplotlib.pyplot as plt

    days = bool(getattr(report, "by_day", None))
    with _figures_lock, plt.rc_context({"font.family": cjk_font(), "axes.unicode_minus": False}):
        fig, axes = _kept_figure(days)
        _draw(fig, axes, report, title)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, pil_kwargs={"compress_level": 1})
    return path


_figures_lock = threading.Lock()
_figures: dict[bool, tuple[Any, list]] = {}  # with a trend panel or not -> (figure, its axes)


def _new_figure(days: bool) -> tuple[Any, list]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if days:
        fig = Figure(figsize=(10, 7.6), dpi=120)
        grid = fig.add_gridspec(2, 2, height_ratios=(1, 0.9))
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])]
    else:
        fig = Figure(figsize=(10, 4.2), dpi=120)
        grid = fig.add_gridspec(1, 2)
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])]
    FigureCanvasAgg(fig)
    return fig, axes


def _kept_figure(days: bool) -> tuple[Any, list]:
    """This process's figure of that shape, emptied of the last chart's bars, lines and legend,
    its data limits, autoscaling and margins as a new figure's (under `_figures_lock`)."""
    import matplotlib

    kept = _figures.get(days)
    if kept is None:
        kept = _figures[days] = _new_figure(days)
        return kept
    fig, axes = kept
    for ax in axes:
        for container in list(ax.containers):
            container.remove()
        for artist in [*ax.lines, *ax.patches]:
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.relim()
        ax.set_autoscale_on(True)
    rc = matplotlib.rcParams
    fig.subplots_adjust(  # where a new figure's layout starts from
        left=rc["figure.subplot.left"],
        right=rc["figure.subplot.right"],
        bottom=rc["figure.subplot.bottom"],
        top=rc["figure.subplot.top"],
        wspace=rc["figure.subplot.wspace"],
        hspace=rc["figure.subplot.hspace"],
    )
    return fig, axes


def _counts() -> Any:
    """Ticks of a count axis: whole numbers, four to six, in round steps (0, 10, 20 … or 0, 500, 1000 …).
    Each tick is several artists to lay out and draw: matplotlib's default of up to ten a panel
    cost about an eighth of the chart's time (issue 17.8)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10])


def chart_figure(report: Report, title: str) -> Any:
    """The chart on a new matplotlib figure (the caller may close it); see `render_report_chart`."""
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.family": cjk_font(), "axes.unicode_minus": False}):  # axes made in it too
        fig, axes = _new_figure(bool(getattr(report, "by_day", None)))
        _draw(fig, axes, report, title)
    return fig


def _draw(fig: Any, axes: list, report: Report, title: str) -> None:
    """The chart on empty axes (inside the CJK font's rc_context), laid out."""
    # the font has CJK and Latin, not emoji: keep the title to what it can draw
    title = "".join(ch for ch in title if ord(ch) < 0x2000 or 0x3000 <= ord(ch) < 0xFFFF).strip()
    days = getattr(report, "by_day", None) or {}
    a, b = axes[0], axes[1]
    c = axes[2] if len(axes) > 2 else None
    grades = [Grade(g) for g in report.by_grade]  # the palette of core.grades
    # bars at 0, 1, 2 … with their names as tick labels (what a categorical axis does, without the
    # categories it remembers from the last chart drawn on this figure)
    a.bar(range(len(grades)), [report.by_grade[g.value] for g in grades], color=[g.hex for g in grades])
    a.set_xticks(range(len(grades)), [g.caption for g in grades])
    # titles at y = 1 given, not left to matplotlib: placed automatically, each draw (the layout's
    # and the PNG's) measures the axes' top decorations to lift a title above them, and with
    # nothing above the axes (no top ticks, spine hidden) it puts it at 1 all the same —
    # the same pixels, about an eighth less time for the whole chart
    a.set_title("按等级", y=1.0)
    a.set_ylabel("事件数")
    from jobs.report import folded

    cats = (folded(report.by_category, 8) or [("无", 0)])[::-1]  # eight bars at most, every incident counted
    b.barh(range(len(cats)), [n for _, n in cats], color="#4c72b0")
    b.set_yticks(range(len(cats)), [name for name, _ in cats])
    b.set_title("按类别", y=1.0)
    b.set_xlabel("事件数")
    a.yaxis.set_major_locator(_counts())
    b.xaxis.set_major_locator(_counts())
    if c is not None:
        labels = [f"{date.fromisoformat(d):%m-%d}" for d in days]
        xs = range(len(labels))
        c.plot(xs, [n for n, _ in days.values()], marker="o", color="#d62728", label="新增", gid="trend-new")
        c.plot(xs, [n for _, n in days.values()], marker="s", color="#2ca02c", label="办结", gid="trend-closed")
        # at most eight dates under the trend: a week's every day, a month's every fourth
        step = -(-len(labels) // 8)
        c.set_xticks(list(xs)[::step], labels[::step])
        c.set_title("每日新增与办结", y=1.0)
        c.set_ylabel("事件数")
        c.yaxis.set_major_locator(_counts())
        c.set_ylim(bottom=0)
        c.legend(frameon=False)
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    # laid out once: without an engine left on the figure, savefig does not lay it out
    # (a whole draw without rendering) again before drawing it
    fig.set_layout_engine(None)
