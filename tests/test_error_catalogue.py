"""The one error catalogue: every code the source raises is in it, each with a status and zh/en messages, and
docs/operations.md shows it as it is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from yibao.core.errors import CATALOGUE, catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
# functions that take a code as a positional argument: (name, index of the code)
POSITIONAL = {"fail": 3, "SynthError": 1, "error_response": 1}


def _codes_raised() -> tuple[dict[str, list[str]], list[str]]:
    """Every literal code in the source (keyword `code=`, a class's `code = ...`, a parameter `code`'s default,
    the code argument of `POSITIONAL` calls, the values of a `*_CODES` table) and every code computed at a
    raise site (which the catalogue cannot check: a defect)."""
    found: dict[str, list[str]] = {}
    computed: list[str] = []

    def add(node: ast.expr, where: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, []).append(where)
        elif isinstance(node, ast.JoinedStr | ast.BinOp):
            computed.append(where)

    for path in sorted((ROOT / "src" / "yibao").rglob("*.py")):
        rel = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        add(keyword.value, where)
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in POSITIONAL and len(node.args) > POSITIONAL[name]:
                    add(node.args[POSITIONAL[name]], where)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "code" for t in item.targets):
                        add(item.value, f"{rel}:{item.lineno}")
            elif isinstance(node, ast.FunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + node.args.kw_defaults
                for arg, default in zip(args, defaults, strict=True):
                    if arg.arg == "code" and default is not None:
                        add(default, where)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "").endswith("_CODES") for t in node.targets):
                if isinstance(node.value, ast.Dict):
                    for value in node.value.values:
                        add(value, where)
    return found, computed


def test_every_raised_code_is_in_the_catalogue() -> None:
    found, computed = _codes_raised()
    assert len(found) > 100  # the walk sees the source's codes
    assert "claim.not_found" in found and "request.invalid" in found
    assert computed == [], f"codes computed at raise sites (name them): {computed}"
    missing = {code: where[0] for code, where in found.items() if code not in CATALOGUE}
    assert missing == {}, f"codes raised but not in yibao.core.errors.CATALOGUE: {missing}"


def test_every_entry_has_a_status_and_messages_in_both_languages() -> None:
    for code, kind in CATALOGUE.items():
        assert CODE.match(code), code
        assert 400 <= kind.status < 600, code
        assert kind.en and kind.en[0].isupper() and kind.en.isascii(), code
        assert re.search(r"[\u4e00-\u9fff]", kind.zh), code


def test_the_operations_doc_shows_the_catalogue_as_it_is() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert catalogue_markdown() in doc, "docs/operations.md is stale: run `yibao errors --write docs/operations.md`"
