"""The import graph of src/yibao has no cycle, and the rules core imports nothing outside itself but libraries.

Read statically from the source (by AST), so every import counts: at the top of a module and inside a function
(an import deferred into a function still ties the two modules together).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / "yibao").rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The yibao modules `name` imports (a `from package import module` counts as the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {target for target in found if target in known and target != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, set(known)) for name, path in known.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph with a package's __init__ left out of its submodules' imports (importing yibao.x.y runs
    yibao.x's __init__, but that is no dependency of the code on it)."""
    return {name: {t for t in targets if not name.startswith(f"{t}.")} for name, targets in edges.items()}


def test_the_finder_sees_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


# Cycles closed by an import deferred into a function, in modules outside the engines' work (issue 16) and left to
# their owners: each edge here is taken out of the graph, and nothing else is.
KNOWN_DEFERRED = {
    ("yibao.ops.contributions", "yibao.ops.claims"),  # claims -> registry -> contributions -> claims
    ("yibao.mutual_aid.service", "yibao.mutual_aid.periods"),  # periods -> service -> periods
}


def test_no_import_cycle_in_yibao() -> None:
    edges = package_edges(graph())
    for source, target in KNOWN_DEFERRED:
        edges.get(source, set()).discard(target)
    found = cycle(edges)
    assert found is None, "import cycle: " + " -> ".join(found or [])


@pytest.mark.parametrize(
    ("inner", "allowed"),
    [
        ("yibao.core", ("yibao.core",)),  # the rules core: nothing but itself
        ("yibao.engine", ("yibao.engine", "yibao.core", "yibao.tables")),  # engines: no DB, web or CLI
    ],
)
def test_inner_layers_import_only_what_they_may(inner: str, allowed: tuple[str, ...]) -> None:
    outside = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith(inner)
        for target in targets
        if not target.startswith(allowed)
    }
    assert not outside, f"{inner} imports outside {allowed}: {sorted(outside)}"
