"""The domain core: incidents, grades, rendering. Imports no chat platform and no storage driver."""

import sys


def _import_jieba_without_pkg_resources() -> None:
    """jieba (0.42) opens its dictionary through `pkg_resources` when it can import it — 12 MB
    of the bot's memory (issue 17.9) and 0.15 s of start-up for opening two files. Imported
    while `pkg_resources` is hidden, jieba takes its own fallback (`open` beside its module):
    the same files. Anything importing `pkg_resources` later still gets it."""
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        return
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # `import` raises ImportError
    try:
        import jieba  # noqa: F401
    except ImportError:
        pass  # not installed here: whoever needs it says so
    finally:
        del sys.modules["pkg_resources"]


_import_jieba_without_pkg_resources()
