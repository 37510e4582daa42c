"""Schemes and reforms as data: built-in ones by name, others by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yibao.core.errors import SchemeError
from yibao.core.scheme import Scheme
from yibao.schemes.loader import RawScheme
from yibao.schemes.reform import Reform, apply_reforms

BUILTIN_DIR = Path(__file__).parent / "builtin"
REFORMS_DIR = Path(__file__).parent / "reforms"


@dataclass(frozen=True)
class SchemeInfo:
    name: str
    title: str
    path: Path


def builtin_schemes() -> list[SchemeInfo]:
    infos = []
    for path in sorted(BUILTIN_DIR.glob("*/scheme.yaml")):
        raw = RawScheme.read(path)
        infos.append(SchemeInfo(raw.top.req("scheme").text(), raw.top.req("title").req("en").text(), path.parent))
    return infos


def builtin_reforms() -> list[Reform]:
    return [Reform.read(p) for p in sorted(REFORMS_DIR.glob("*.yaml"))]


def scheme_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.exists():
        return path
    candidate = BUILTIN_DIR / str(name_or_path)
    if candidate.is_dir():
        return candidate
    known = [info.name for info in builtin_schemes()]
    raise SchemeError(
        f"no scheme file or built-in scheme named {str(name_or_path)!r} (built-in: {known})",
        code="scheme.not_found",
    )


def reform_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.exists():
        return path
    candidate = REFORMS_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    known = [r.name for r in builtin_reforms()]
    raise SchemeError(
        f"no reform file or built-in reform named {str(name_or_path)!r} (built-in: {known})",
        code="scheme.not_found",
    )


def load_scheme(name_or_path: str | Path, reforms: list[str | Path] | tuple[str | Path, ...] = ()) -> Scheme:
    """A built-in scheme by name (e.g. 'reference-city') or a scheme file/folder, with reforms applied."""
    raw = RawScheme.read(scheme_path(name_or_path))
    return apply_reforms(raw, [Reform.read(reform_path(r)) for r in reforms])


__all__ = ["SchemeInfo", "builtin_reforms", "builtin_schemes", "load_scheme", "reform_path", "scheme_path"]
