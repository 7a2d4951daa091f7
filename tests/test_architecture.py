"""The import graph of bioformats_ext, read with ``ast`` (function-level imports count too).

Proves the layering docs/architecture.md describes: no import cycles between modules or between
packages, ``index/`` builds on ``bgzf/``, ``io/`` and ``errors`` only, format internals never
reach up into ``align/``, ``commands/`` or ``cli``, and every package stays in its layer.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "bioformats_ext"
ROOT = "bioformats_ext"

# Layers, bottom first: a package may import its own layer's modules only if that creates no
# cycle (checked separately) and anything below. Top-level modules count as packages.
LAYERS = [
    {"errors", "regions", "sniff", "codec", "_gc", "reader_base", "examples", "_lazy"},
    {"io", "compression"},
    {"bgzf", "twobit"},
    {"index"},
    {"bgzf2", "coindex"},
    {"bam", "bbi"},
    {"tabix", "bigwig", "tables"},
    {"vcf", "bigbed"},
    {"dask"},
    {"align", "commands", "cli", "__init__"},
]
ADAPTERS = {"align", "commands", "cli", "__init__"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # ``if TYPE_CHECKING:`` imports never run
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports the submodule when there is one
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # ``import a.b.c`` binds a module
                target = target.rpartition(".")[0]
            if target.startswith(ROOT) and target != name:
                out.add(target)
    return out


@functools.lru_cache(maxsize=None)
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        src = _package(module)
        packages.setdefault(src, set())
        for target in targets:
            if _package(target) != src:
                packages[src].add(_package(target))
    return packages


def test_the_checker_sees_function_level_imports():
    graph = _graph()
    # TabixWriter's constructor reaches bam.header at module level; IndexedOutput imports the
    # BGZF2 writer inside a method: both must be edges.
    assert "bioformats_ext.bam.header" in graph["bioformats_ext.tabix.writer"]
    assert "bioformats_ext.bgzf2" in graph["bioformats_ext.coindex.output"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_cycles():
    assert _cycles(_graph()) == []


def test_no_package_cycles():
    assert _cycles(_package_graph(_graph())) == []


def test_index_builds_only_on_bgzf_io_errors():
    allowed = {"index", "bgzf", "io", "errors", "_lazy"}  # _lazy: stdlib-only lazy exports
    bad = {(m, t) for m, targets in _graph().items() if _package(m) == "index"
           for t in targets if _package(t) not in allowed}
    assert bad == set()


def test_format_internals_never_import_adapters():
    bad = {(m, t) for m, targets in _graph().items() if _package(m) not in ADAPTERS
           for t in targets if _package(t) in ADAPTERS}
    assert bad == set()


def test_every_package_has_a_layer_and_imports_only_downwards():
    layer = {pkg: i for i, members in enumerate(LAYERS) for pkg in members}
    packages = _package_graph(_graph())
    missing = set(packages) - set(layer)
    assert not missing, f"packages without a layer in this test: {sorted(missing)}"
    upward = {(src, dst) for src, targets in packages.items() for dst in targets
              if layer[dst] > layer[src]}
    assert upward == set()


@pytest.mark.parametrize("shipped", ["loopback"])
def test_test_only_code_is_not_shipped(shipped):
    assert not list(PKG.rglob(f"{shipped}.py"))
