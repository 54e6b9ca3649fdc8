"""The cyclic garbage collector and the event loop.

A full collection (generation 2) walks every tracked object of the process in one call that
holds the GIL: with the analyser built (jieba's dictionary, the officials tagger's tables, the
gazetteer's index — ~200,000 long-lived objects) one takes 100–150 ms on a busy machine, and
whichever thread triggers it, the asyncio loop waits that long. Building those tables is
exactly what triggers them (many allocations in a row), so:

* `paused()` — no cyclic collection while a large, acyclic table is being built (in any
  thread: the collector is per process; nested and concurrent pauses are counted);
* `freeze()` — once built, the long-lived objects are moved out of the collector's sight
  (`gc.freeze`): later full collections walk only what the bot allocates while it runs.
  Reference counting still frees them; only a reference cycle among objects alive at the
  moment of the freeze is never reclaimed.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["freeze", "paused"]

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection inside (the collector is switched back on when the last
    pause ends, if it was on when the first began)."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def freeze() -> int:
    """Move every object tracked now out of the collector's generations (`gc.freeze`); returns
    how many objects are frozen in all."""
    gc.freeze()
    return gc.get_freeze_count()
