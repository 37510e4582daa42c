"""Self-contained HTML reports: charts rendered to inline SVG by matplotlib, no network.

Every report of yibao (policy lab, mutual aid, contracts) is built from these
pieces, so they look alike and open offline.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# Ten distinct hues (Okabe–Ito and Tableau's, no two alike), each with its own line style, so that
# series stay apart in colour, in grey print and for colour-blind readers.
PALETTE = (
    "#1b6ca8", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#2c3e50",
)  # fmt: skip
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1)))

# The same families in pages and charts: Noto Sans CJK (Debian's fonts-noto-cjk), Source Han Sans (the same
# design from Adobe), PingFang (macOS, iOS), Microsoft YaHei (Windows); Latin text keeps the system face.
FONT_STACK = (
    'system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Source Han Sans SC","PingFang SC",'
    '"Microsoft YaHei",sans-serif'
)
CHART_FONTS = ["DejaVu Sans", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "PingFang SC",
               "Microsoft YaHei"]  # fmt: skip

CSS = (
    "body{font-family:" + FONT_STACK + ";margin:0;color:#1d2733;background:#f6f8fa;line-height:1.45}"
    + """
header{background:#1b3a57;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:1rem 1.4rem;margin:1.2rem 0;min-width:0}
h2{font-size:1.15rem;margin:.2rem 0 .8rem;color:#1b3a57}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border-bottom:1px solid #e5e9ee;padding:.35rem .6rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums} th{background:#f0f3f6}
figure{margin:.5rem 0} figure svg{max-width:100%;height:auto} figcaption{font-size:.85rem;color:#566}
.note{font-size:.88rem;color:#445}
@media (max-width:600px){header{padding:1rem}main{padding:.5rem .6rem 2rem}section{padding:.8rem .7rem}
 header h1{font-size:1.25rem}table{font-size:.8rem}}
"""
)

_NUMBER = re.compile(r"^[−+\-~≈]?[\d,]*\.?\d+(\s?(%|pp|M|k|yuan|元|d))?$|^—$")


def use_chart_fonts() -> None:
    """Chinese labels in charts: matplotlib falls back glyph by glyph through the families it finds."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(CHART_FONTS[1:]):
        # matplotlib's font cache was made before a CJK font was installed (e.g. fonts-noto-cjk added later):
        # look for one on the system, as its cache would, rather than draw every character as a box
        for path in font_manager.findSystemFonts():
            if any(name in Path(path).name for name in ("NotoSansCJK", "SourceHanSans", "wqy-zenhei")):
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    # Families named in font.family (not through the generic "sans-serif") are the ones matplotlib falls back on.
    plt.rcParams["font.family"] = [f for f in CHART_FONTS if f in installed] or ["sans-serif"]
    plt.rcParams["axes.unicode_minus"] = False  # the minus sign exists in every CJK font
    plt.rcParams["svg.fonttype"] = "path"  # glyphs drawn as paths: the page needs no font for its charts


use_chart_fonts()


def series_style(i: int) -> dict[str, Any]:
    """The i-th series' colour and line style (matplotlib keyword arguments)."""
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINE_STYLES[i % len(LINE_STYLES)]}


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


def _cell(tag: str, value: object) -> str:
    text = str(value)
    numeric = ' class="num"' if _NUMBER.match(text.strip()) else ""
    return f"<{tag}{numeric}>{html.escape(text)}</{tag}>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table that scrolls inside its card on a narrow screen; numbers right-aligned, text left-aligned."""
    rows = [list(row) for row in rows]
    head = "".join(
        f'<th class="num">{html.escape(str(h))}</th>'
        if i > 0 and rows and all(_NUMBER.match(str(r[i]).strip()) for r in rows if i < len(r))
        else f"<th>{html.escape(str(h))}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join("<tr>" + "".join(_cell("td", cell) for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def paragraph(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def page(title: str, subtitle: str, sections: Iterable[Section], lang: str = "en") -> str:
    """A whole page; `lang` is "zh" or "en" (the page's language, for fonts and screen readers)."""
    parts = "".join(f"<section><h2>{html.escape(s.title)}</h2>{s.body_html}</section>" for s in sections)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{parts}</main></body></html>"
    )


def new_figure(width: float = 7.5, height: float = 3.6) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax
