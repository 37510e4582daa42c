"""yibao: run and evaluate a multilayered medical security system over one exact rules core.

For notebooks: `yibao.settle(scheme, persons, claims)` and `yibao.explain_claim(...)` (see yibao.api);
they are loaded on first use so that `import yibao.core` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["explain_claim", "settle"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from yibao import api

        return getattr(api, name)
    raise AttributeError(f"module 'yibao' has no attribute {name!r}")
