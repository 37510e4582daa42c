"""Self-contained HTML reports: charts rendered to inline SVG by matplotlib, no network.

Every report of yibao (policy lab, mutual aid, contracts) is built from these
pieces, so they look alike and open offline.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PALETTE = ("#1b6ca8", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4a017", "#2c3e50")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#1b3a57;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:1rem 1.4rem;margin:1.2rem 0}
h2{font-size:1.15rem;margin:.2rem 0 .8rem;color:#1b3a57}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border-bottom:1px solid #e5e9ee;padding:.35rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#f0f3f6}
figure{margin:.5rem 0} figure svg{max-width:100%;height:auto} figcaption{font-size:.85rem;color:#566}
.note{font-size:.88rem;color:#445}
"""


@dataclass(frozen=True)
class Section:
    title: str
    body_html: str


def svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG text (the figure is closed)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure(fig: Any, caption: str) -> str:
    return f'<figure class="chart">{svg(fig)}<figcaption>{html.escape(caption)}</figcaption></figure>'


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def paragraph(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def page(title: str, subtitle: str, sections: Iterable[Section]) -> str:
    parts = "".join(f"<section><h2>{html.escape(s.title)}</h2>{s.body_html}</section>" for s in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{parts}</main></body></html>"
    )


def new_figure(width: float = 7.5, height: float = 3.6) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax
