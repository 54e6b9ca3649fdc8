"""Opt-in CPU accounting per test (YUQING_TEST_CPU=DIR): each test process writes, per test
item, the CPU it used in setup+call+teardown (this process's user+sys, all threads) and in the
child processes it waited for (RUSAGE_CHILDREN), to DIR/<worker>.tsv; the terminal summary of
the controlling process prints the 40 dearest. Session fixtures are charged to the first test
that asks for them. Each row also counts the calls and CPU inside a few known costs (schema
migrations, Analyzer construction, TOML parsing). Usage:

    rm -rf /tmp/cpu && YUQING_TEST_CPU=/tmp/cpu .venv/bin/python -m pytest -q -n 2 -p tests.cpu_profile

Processes a test starts but does not wait for (a daemonised PostgreSQL server) are not counted."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

_DIR = os.environ.get("YUQING_TEST_CPU")
_rows: list[tuple[float, float, float, str, str]] = []
# CPU spent inside some known-expensive calls during the current test: name -> [calls, seconds]
_inside: dict[str, list[float]] = {}


def _count(owner, attr: str, name: str) -> None:
    """Wrap owner.attr to add its calls and CPU to `_inside[name]` (outermost calls only)."""
    real = getattr(owner, attr)
    depth = [0]

    def wrapper(*a, **kw):
        if depth[0]:
            return real(*a, **kw)
        depth[0] += 1
        t = time.process_time()
        try:
            return real(*a, **kw)
        finally:
            depth[0] -= 1
            slot = _inside.setdefault(name, [0, 0.0])
            slot[0] += 1
            slot[1] += time.process_time() - t

    setattr(owner, attr, wrapper)


def pytest_configure(config):
    if not _DIR:
        return
    import bot.config
    from jobs.analyse import Analyzer
    from storage.db import SCHEMA_MIGRATIONS

    _count(type(SCHEMA_MIGRATIONS), "apply", "migrate")
    _count(Analyzer, "__init__", "analyzer")
    _count(bot.config, "_read_toml", "toml")


def _children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _inside.clear()
    p0, c0, w0 = time.process_time(), _children(), time.perf_counter()
    yield
    inside = " ".join(f"{k}={int(n)}/{s:.2f}" for k, (n, s) in sorted(_inside.items()))
    _rows.append((time.process_time() - p0, _children() - c0, time.perf_counter() - w0, item.nodeid, inside))


def pytest_sessionfinish(session):
    if not _DIR:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    total = time.process_time() + _children()
    lines = [f"{p:.3f}\t{c:.3f}\t{w:.3f}\t{n}\t{i}" for p, c, w, n, i in _rows]
    lines.append(f"{time.process_time():.3f}\t{_children():.3f}\t{total:.3f}\t<{worker} process total>\t")
    (folder / f"{worker}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter):
    if not _DIR or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rows = []
    for f in sorted(Path(_DIR).glob("*.tsv")):
        for line in f.read_text(encoding="utf-8").splitlines():
            p, c, w, n, *_ = line.split("\t")
            rows.append((float(p), float(c), float(w), n, f.stem))
    tests = [r for r in rows if not r[3].startswith("<")]
    totals = [r for r in rows if r[3].startswith("<")]
    terminalreporter.write_sep("=", "CPU per test (own + children, seconds)")
    for p, c, w, n, wk in sorted(tests, key=lambda r: -(r[0] + r[1]))[:40]:
        terminalreporter.write_line(f"{p + c:7.2f} {p:7.2f} {c:7.2f} wall {w:6.2f} {wk:5} {n}")
    terminalreporter.write_line(
        f"sum over tests: {sum(r[0] + r[1] for r in tests):.1f} s "
        f"(own {sum(r[0] for r in tests):.1f}, children {sum(r[1] for r in tests):.1f})"
    )
    for p, c, w, n, _ in totals:
        terminalreporter.write_line(f"{n}: own {p:.1f} children {c:.1f} total {w:.1f}")
