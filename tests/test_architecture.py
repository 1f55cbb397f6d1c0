"""The house rules of docs/architecture.md, checked on the source: no import cycles among
imgconv's modules (function-level imports included), no module over 600 lines, no
function over 80, every declared dependency imported, no citation of a missing document."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "imgconv"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = p
    return mods


def _imports(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for m, p in mods.items():
        targets = {owner(t) for t in _imports(p) if t.startswith("imgconv")}
        graph[m] = {t for t in targets if t is not None and t != m}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_module_over_600_lines_and_no_function_over_80() -> None:
    big = []
    for p in _modules().values():
        src = p.read_text()
        if len(src.splitlines()) > 600:
            big.append(f"{p.name}: {len(src.splitlines())} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    big.append(f"{p.name}:{node.lineno} {node.name}: {n} lines")
    assert big == []


def test_every_declared_dependency_is_imported() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    imported = set().union(*(_imports(p) for p in _modules().values()))
    roots = {name.split(".")[0] for name in imported}
    module_of = {"opencv-python-headless": "cv2", "pillow": "PIL", "pyyaml": "yaml"}
    missing = []
    for dep in meta["dependencies"]:
        name = re.split(r"[<>=\[;~! ]", dep, maxsplit=1)[0].lower()
        if module_of.get(name, name.replace("-", "_")) not in roots:
            missing.append(name)
    assert missing == []


@pytest.mark.parametrize("folder", ["imgconv", "tests", "benchmarks"])
def test_citations_point_into_the_repository(folder: str) -> None:
    cited = []
    for p in sorted((ROOT / folder).rglob("*.py")):
        text = p.read_text()
        cited += [f"{p.name}: {m}" for m in re.findall(r"SPEC(?:\.md)? §\d", text)]
        for doc in re.findall(r"docs/[\w.-]+\.md", text):
            if not (ROOT / doc).exists():
                cited.append(f"{p.name}: {doc}")
    assert cited == []
