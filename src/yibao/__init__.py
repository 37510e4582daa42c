"""yibao: run and evaluate a multilayered medical security system over one exact rules core."""

from __future__ import annotations

__version__ = "0.1.0"
