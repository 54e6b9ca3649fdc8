"""The house's rooms, checked by reading every module's imports with `ast`.

- No package-level import cycle among the project's packages (`bot`, `bot.platforms`, `core`,
  `handlers`, `jobs`, `storage`); `bot.platforms` is its own room, and imports inside one room
  do not count.
- No chat platform library is imported outside `bot/platforms/`.

Every import counts, including ones inside functions and under `TYPE_CHECKING`: a lazy import
hides a cycle from the interpreter, not from the next reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "bot.platforms", "core", "handlers", "jobs", "storage")
PLATFORM_LIBRARIES = ("telegram", "wechatpy", "wxpy")
PLATFORMS_DIR = "bot/platforms"


@dataclass(frozen=True)
class Import:
    """One imported module name, where it was written and the line that wrote it."""

    module: str  # the importing module, dotted
    target: str  # the imported module, dotted and absolute
    path: str  # relative to the project root
    lineno: int
    line: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.line.strip()}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> list[Path]:
    files: list[Path] = []
    for top in {p.split(".")[0] for p in PACKAGES}:
        files.extend(sorted((ROOT / top).rglob("*.py")))
    return files


def imports_of(path: Path) -> list[Import]:
    """Every module `path` imports (absolute names; relative imports resolved)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    module = module_name(path)
    is_package = path.name == "__init__.py"
    rel = str(path.relative_to(ROOT))
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=rel)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import name` may import the submodule `pkg.name`: count both, the
            # room is what matters and a submodule lives in the same or a deeper room.
            targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names if alias.name != "*"]
        else:
            continue
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        found.extend(Import(module, t, rel, node.lineno, line) for t in targets)
    return found


def room(module: str, rooms: Iterable[str] = PACKAGES) -> str | None:
    """The deepest listed package `module` belongs to, or None (outside the project)."""
    best = None
    for r in rooms:
        if (module == r or module.startswith(r + ".")) and (best is None or len(r) > len(best)):
            best = r
    return best


def package_edges(imports: Iterable[Import], rooms: Iterable[str] = PACKAGES) -> dict[tuple[str, str], list[Import]]:
    """Room -> room edges (within-room imports dropped), each with the lines that make it."""
    rooms = tuple(rooms)
    edges: dict[tuple[str, str], list[Import]] = {}
    for imp in imports:
        src, dst = room(imp.module, rooms), room(imp.target, rooms)
        if src is None or dst is None or src == dst:
            continue
        lines = edges.setdefault((src, dst), [])
        if not any((i.path, i.lineno) == (imp.path, imp.lineno) for i in lines):
            lines.append(imp)  # one entry per import statement
    return edges


def find_cycles(edges: Mapping[tuple[str, str], object]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def cycle_report(edges: Mapping[tuple[str, str], list[Import]]) -> str:
    """Every edge inside a cycle, with the import lines that make it; empty when acyclic."""
    out = []
    for comp in find_cycles(edges):
        out.append("cycle: " + " <-> ".join(comp))
        members = set(comp)
        for (a, b), imps in sorted(edges.items()):
            if a in members and b in members:
                out.append(f"  {a} -> {b}")
                out.extend(f"    {imp}" for imp in imps)
    return "\n".join(out)


def platform_imports_outside_adapters(imports: Iterable[Import]) -> list[Import]:
    bad = []
    for imp in imports:
        top = imp.target.split(".")[0]
        if top in PLATFORM_LIBRARIES and not imp.path.startswith(PLATFORMS_DIR + "/"):
            bad.append(imp)
    return bad


def all_imports() -> list[Import]:
    return [imp for path in project_modules() for imp in imports_of(path)]


# --- the rules, applied to the project ---------------------------------------------------------


def test_no_package_level_import_cycle():
    report = cycle_report(package_edges(all_imports()))
    assert not report, "package-level import cycles:\n" + report


def test_no_platform_library_outside_the_adapters():
    bad = platform_imports_outside_adapters(all_imports())
    assert not bad, "chat platform libraries imported outside bot/platforms/:\n" + "\n".join(map(str, bad))


def test_the_scan_sees_the_project():
    """Guards the two tests above against passing because they read nothing."""
    imports = all_imports()
    modules = {imp.module for imp in imports}
    for pkg in PACKAGES:
        assert any(room(m) == pkg for m in modules), f"no module of {pkg} scanned"
    assert any(imp.target.split(".")[0] == "telegram" for imp in imports), "the Telegram adapter's import not seen"
    assert package_edges(imports), "no edges between packages at all"


# --- the rules, checked on synthetic graphs ----------------------------------------------------


def _imp(module: str, target: str, path: str | None = None) -> Import:
    path = path or module.replace(".", "/") + ".py"
    return Import(module, target, path, 1, f"import {target}")


def test_the_cycle_rule_finds_a_cycle_and_names_its_lines():
    imports = [
        _imp("core.a", "storage.db"),
        _imp("storage.db", "core.models"),
        _imp("handlers.x", "core.a"),
        _imp("core.a", "core.b"),  # within one room: not an edge
        _imp("jobs.y", "httpx"),  # outside the project: not an edge
    ]
    edges = package_edges(imports)
    assert set(edges) == {("core", "storage"), ("storage", "core"), ("handlers", "core")}
    assert find_cycles(edges) == [["core", "storage"]]
    report = cycle_report(edges)
    assert "core <-> storage" in report
    assert "core/a.py:1: import storage.db" in report
    assert "storage/db.py:1: import core.models" in report
    assert "handlers" not in report


def test_the_cycle_rule_passes_an_acyclic_graph():
    imports = [
        _imp("bot.app", "handlers.commands"),
        _imp("handlers.commands", "core.incidents"),
        _imp("bot.app", "storage.db"),
        _imp("storage.db", "core.models"),
        _imp("core.a", "core.b"),
    ]
    assert find_cycles(package_edges(imports)) == []
    assert cycle_report(package_edges(imports)) == ""


def test_bot_platforms_is_its_own_room():
    # bot.platforms -> handlers -> jobs -> bot is a cycle only because bot.platforms is not bot
    imports = [
        _imp("bot.platforms.telegram", "handlers.base"),
        _imp("handlers.base", "jobs.deliver"),
        _imp("jobs.deliver", "bot.config"),
    ]
    edges = package_edges(imports)
    assert ("bot.platforms", "handlers") in edges
    assert find_cycles(edges) == []
    edges = package_edges([*imports, _imp("bot.platforms.telegram", "bot.platforms.ratelimit")])
    assert find_cycles(edges) == []  # within bot.platforms: not an edge
    edges = package_edges([*imports, _imp("bot.app", "bot.platforms.console")])
    assert find_cycles(edges) == [["bot", "bot.platforms", "handlers", "jobs"]]


def test_relative_imports_are_resolved(tmp_path, monkeypatch):
    pkg = tmp_path / "core"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .models import X\n", encoding="utf-8")
    (pkg / "a.py").write_text("from ..storage import db\nfrom . import b\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    init = {i.target for i in imports_of(pkg / "__init__.py")}
    a = {i.target for i in imports_of(pkg / "a.py")}
    assert "core.models" in init
    assert {"storage", "storage.db", "core", "core.b"} <= a


def test_the_platform_rule():
    imports = [
        _imp("bot.platforms.telegram", "telegram.error"),
        _imp("bot.platforms.wxpy", "wxpy"),
        _imp("handlers.commands", "telegram"),
        _imp("jobs.deliver", "wechatpy.enterprise"),
        _imp("core.x", "telegramish"),  # a different library whose name merely starts alike
    ]
    bad = platform_imports_outside_adapters(imports)
    assert [str(b) for b in bad] == [
        "handlers/commands.py:1: import telegram",
        "jobs/deliver.py:1: import wechatpy.enterprise",
    ]
