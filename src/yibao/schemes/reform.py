"""Reforms: overlay files that change a scheme's parameters or its layers.

```yaml
reform: si-threshold-halved
title: {en: ..., zh: ...}
description: ...
changes:
  - set: serious_illness.main.deductible     # layer.part.parameter (or catalogue.preselfpay_rate)
    values: {2024-01-01: {none: 7500, ...}}   # replaces values from the earliest date given on
  - add_points: serious_illness.main         # an adjustment of every band's rate
    when: {assistance_category: [none]}      # optional; everyone if absent
    points: {description: ..., unit: rate, reference: ..., values: {2024-01-01: 0.10}}
  - remove_layer: huiminbao
  - add_layer: {id: ..., kind: ..., ...}     # a whole layer, inline or `file: other.yaml`
    after: assistance                        # or before: ...; the end if neither
```
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from yibao.core.errors import SchemeError
from yibao.core.scheme import Names, Scheme
from yibao.schemes.loader import Node, RawScheme, description, key_text, names, read_yaml

PARAMETERS = ("deductible", "rate", "cap", "claim_cap")


@dataclass(frozen=True)
class Reform:
    name: str
    title: Names
    description: str
    changes: tuple[Node, ...]
    file: Path
    description_zh: str = ""

    @classmethod
    def read(cls, path: Path) -> Reform:
        top = Node(read_yaml(path), path)
        top.only("reform", "title", "description", "changes")
        desc = description(top.get("description", required=False))
        return cls(
            name=top.req("reform").text(),
            title=names(top.req("title")),
            description=desc.en,
            description_zh=desc.zh,
            changes=tuple(top.req("changes").list()),
            file=path,
        )

    def apply(self, raw: RawScheme) -> RawScheme:
        top = Node(copy.deepcopy(raw.top.value), raw.top.file, raw.top.path)
        layers = [Node(copy.deepcopy(n.value), n.file, n.path) for n in raw.layers]
        result = RawScheme(top, layers)
        for change in self.changes:
            _apply_change(change, result)
        return result


def _find_layer(raw: RawScheme, layer_id: str, at: Node) -> int:
    for i, node in enumerate(raw.layers):
        if node.mapping().get("id") == layer_id:
            return i
    ids = [n.mapping().get("id") for n in raw.layers]
    raise at.fail(f"a layer of the scheme {ids}")


def _find_part(layer: Node, part_id: str, at: Node) -> dict[str, Any]:
    for part in layer.mapping().get("parts", []):
        if isinstance(part, dict) and part.get("id") == part_id:
            return part
    ids = [p.get("id") for p in layer.mapping().get("parts", []) if isinstance(p, dict)]
    raise at.fail(f"a part of layer {layer.mapping().get('id')!r} {ids}")


def _merge_dated(existing: dict[str, Any] | None, change: Node) -> dict[str, Any]:
    """New dated values replace the old ones from the earliest new date on; other keys override."""
    change.only("values", "by", "description", "unit", "reference")
    new_values = change.req("values").mapping()
    if existing is None:
        return copy.deepcopy(change.mapping())
    merged = copy.deepcopy(existing)
    earliest = min(new_values)
    kept = {d: v for d, v in merged.get("values", {}).items() if d < earliest}
    merged["values"] = {**kept, **copy.deepcopy(new_values)}
    for key in ("by", "description", "unit", "reference"):
        if key in change.mapping():
            merged[key] = change.mapping()[key]
    return merged


def _apply_change(change: Node, raw: RawScheme) -> None:
    table = change.mapping()
    if "set" in table:
        change.only("set", "values", "by", "description", "unit", "reference")
        target = change.req("set")
        path = key_text(target.value).split(".")
        if path == ["catalogue", "preselfpay_rate"]:
            catalogue = raw.top.mapping()["catalogue"]
            catalogue["preselfpay_rate"] = _merge_dated(catalogue.get("preselfpay_rate"), _without(change, "set"))
            return
        if len(path) != 3 or path[2] not in PARAMETERS:
            raise target.fail(f"layer.part.parameter with parameter one of {list(PARAMETERS)}")
        layer = raw.layers[_find_layer(raw, path[0], target)]
        part = _find_part(layer, path[1], target)
        part[path[2]] = _merge_dated(part.get(path[2]), _without(change, "set"))
    elif "add_points" in table:
        change.only("add_points", "when", "points")
        target = change.req("add_points")
        path = key_text(target.value).split(".")
        if len(path) != 2:
            raise target.fail("layer.part")
        part = _find_part(raw.layers[_find_layer(raw, path[0], target)], path[1], target)
        adjustment: dict[str, Any] = {"points": copy.deepcopy(change.req("points").value)}
        if "when" in table:
            adjustment["when"] = copy.deepcopy(table["when"])
        part.setdefault("adjustments", []).append(adjustment)
    elif "remove_layer" in table:
        change.only("remove_layer")
        removed = key_text(table["remove_layer"])
        del raw.layers[_find_layer(raw, removed, change.req("remove_layer"))]
        _forget(raw, removed)
    elif "add_layer" in table:
        change.only("add_layer", "after", "before")
        spec = change.req("add_layer")
        if isinstance(spec.value, dict) and set(spec.value) == {"file"}:
            layer_file = change.file.parent / spec.req("file").text()
            node = Node(read_yaml(layer_file), layer_file)
        else:
            node = Node(copy.deepcopy(spec.value), spec.file, spec.path)
        position = len(raw.layers)
        if "after" in table:
            position = _find_layer(raw, key_text(table["after"]), change.req("after")) + 1
        elif "before" in table:
            position = _find_layer(raw, key_text(table["before"]), change.req("before"))
        raw.layers.insert(position, node)
    else:
        raise change.fail("a change with one of set, add_points, remove_layer, add_layer")


def _forget(raw: RawScheme, removed: str) -> None:
    """A removed layer pays nothing: the terms of later bases naming it (its payment, a part's, what it left
    beyond its cap) are dropped, as zeros would be (a base left with nothing to add stays an error)."""
    for layer in raw.layers:
        parts = layer.value.get("parts") if isinstance(layer.value, dict) else None
        for part in parts if isinstance(parts, list) else []:
            base = part.get("base") if isinstance(part, dict) else None
            if not isinstance(base, dict):
                continue
            for side in ("plus", "minus"):
                terms = base.get(side)
                if isinstance(terms, list):
                    base[side] = [t for t in terms if key_text(t).split(".", 1)[0] != removed]


def _without(node: Node, key: str) -> Node:
    return Node({k: v for k, v in node.mapping().items() if k != key}, node.file, node.path)


def apply_reforms(raw: RawScheme, reforms: list[Reform]) -> Scheme:
    for reform in reforms:
        raw = reform.apply(raw)
    try:
        scheme = raw.build()
    except SchemeError as exc:
        files = ", ".join(str(r.file) for r in reforms)
        raise SchemeError(f"after applying reform(s) {files}: {exc.message}", code=exc.code) from exc
    if reforms:
        scheme = replace(scheme, reforms=tuple(r.name for r in reforms))
    return scheme


