"""The import rules of the architecture, read from the source (AST), with one walker: dependencies point inward
(the rules core imports only itself; the engines only the core, the tables and themselves), services import no
HTTP, web or CLI code, `ops` imports neither `mutual_aid` nor `contracts`, and `yibao` has no import cycle.

Every import counts: at the top of a module and inside a function (an import deferred into a function still ties
the two modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HTTP_PACKAGES = ("fastapi", "starlette", "uvicorn", "httpx", "yibao.http", "yibao.web", "yibao.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every name `path` imports, at any depth of its code: `from a.b import c` gives a.b and a.b.c."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted((SRC / "yibao").rglob("*.py"))}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offences(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items() if _within(module, package)
        for target in targets if any(_within(target, f) for f in forbidden)
    )


def _graph() -> dict[str, set[str]]:
    """yibao module -> the yibao modules it imports. A name inside a module counts as the module; a package's
    __init__ is left out of its own submodules' imports (importing yibao.x.y runs yibao.x, but the code of
    yibao.x.y does not depend on it)."""
    graph: dict[str, set[str]] = {}
    for module, targets in MODULES.items():
        edges = graph.setdefault(module, set())
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module and not _within(module, target):
                edges.add(target)
    return graph


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
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


def test_the_walk_sees_imports() -> None:
    """The checks below are about real modules: the HTTP layer is seen importing FastAPI and the services, and a
    late import inside a function is seen."""
    assert "yibao.http.app" in MODULES
    assert any(_within(t, "fastapi") for t in MODULES["yibao.http.app"])
    assert _offences("yibao.http", ("yibao.mutual_aid",))
    assert "yibao.schemes" in _graph()["yibao.ops.claims"]  # imported inside scheme_named()


def test_the_finder_sees_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("service", ["yibao.ops", "yibao.mutual_aid", "yibao.contracts"])
def test_services_import_no_http(service: str) -> None:
    assert _offences(service, HTTP_PACKAGES) == []


def test_ops_imports_neither_mutual_aid_nor_contracts() -> None:
    assert _offences("yibao.ops", ("yibao.mutual_aid", "yibao.contracts")) == []


@pytest.mark.parametrize(
    ("inner", "allowed"),
    [
        ("yibao.core", ("yibao.core",)),  # the rules core: nothing of yibao but itself
        ("yibao.engine", ("yibao.engine", "yibao.core", "yibao.tables")),  # engines: no DB, web or CLI
    ],
)
def test_inner_layers_import_only_what_they_may(inner: str, allowed: tuple[str, ...]) -> None:
    outside = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items() if _within(module, inner)
        for target in targets if not any(_within(target, a) for a in allowed)
    )
    assert outside == []


def test_core_imports_no_store_web_or_cli_library() -> None:
    assert _offences("yibao.core", ("sqlalchemy", "fastapi", "starlette", "typer", "uvicorn", "jinja2")) == []


def test_no_import_cycle() -> None:
    found = _cycle(_graph())
    assert found is None, "import cycle: " + " -> ".join(found or [])
