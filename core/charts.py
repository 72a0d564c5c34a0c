"""Small PNG charts rendered offline (matplotlib's Agg canvas, its bundled DejaVu Sans font, no network).

The briefing's chart: open needs by department, the units already committed and those still uncovered,
as horizontal stacked bars. Labels come from a template (``prompts/<lang>/chart/briefing_labels.j2``), so
the chart speaks the community's language like every other sentence of the bot. The same data gives the
same bytes (no timestamp or version in the PNG), and nothing is drawn when there is nothing open.

matplotlib is imported on first use only: the hub and the bots start without it."""

from __future__ import annotations

import io
import threading
from typing import Any

from core.areas import department_names

__all__ = ["BRIEFING_CHART_NAME", "briefing_chart", "department_names", "parse_labels"]

BRIEFING_CHART_NAME = "briefing.png"
TOP = 10  # departments drawn at most
WIDTH_IN, DPI = 8.0, 100
COMMITTED, UNCOVERED, INK, GRID = "#3b8b5a", "#e07b39", "#333333", "#dddddd"

_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def parse_labels(text: str) -> dict[str, str]:
    """``key: label`` lines (a rendered labels template) as a dict."""
    labels = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            labels[key.strip()] = value.strip()
    return labels


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def briefing_chart(rows: list[dict[str, Any]], labels: dict[str, str], title: str | None = None) -> bytes | None:
    """A PNG of open needs by department (``rows``: department, committed, uncovered units, biggest
    first), or None when there is nothing to draw. ``labels``: committed, uncovered, axis, unknown."""
    rows = [r for r in rows if int(r.get("committed") or 0) + int(r.get("uncovered") or 0) > 0][:TOP]
    if not rows:
        return None
    with _lock:
        return _draw(rows, labels, title)


def _draw(rows: list[dict[str, Any]], labels: dict[str, str], title: str | None) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display, ever
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = department_names()
    unknown = labels.get("unknown", "?")

    def name(code: str | None) -> str:
        if not code or code == "?":
            return unknown
        return f"{code} {_shorten(names[code], 22)}" if code in names else code

    rows = list(reversed(rows))  # the biggest at the top
    ys = list(range(len(rows)))
    committed = [int(r.get("committed") or 0) for r in rows]
    uncovered = [int(r.get("uncovered") or 0) for r in rows]
    height_in = 1.6 + 0.42 * len(rows)
    style = {"font.family": "DejaVu Sans", "font.size": 10,
             "axes.edgecolor": GRID, "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
             "text.color": INK, "path.simplify": True}
    with rc_context(style):
        fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.barh(ys, committed, color=COMMITTED, label=labels.get("committed", "committed"), height=0.65)
        ax.barh(ys, uncovered, left=committed, color=UNCOVERED, label=labels.get("uncovered", "uncovered"),
                height=0.65)
        top = max(c + u for c, u in zip(committed, uncovered)) or 1
        for y, c, u in zip(ys, committed, uncovered):
            ax.text(c + u + top * 0.01, y, f"{u:,}".replace(",", "\u202f") if u else "✓",
                    va="center", ha="left", fontsize=9)
        ax.set_yticks(ys, [name(r.get("department")) for r in rows])
        ax.set_xlim(0, top * 1.12)
        ax.set_xlabel(labels.get("axis", ""))
        ax.xaxis.grid(True, color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        # The legend above the bars, under the title: never over a bar whatever their lengths.
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, frameon=False, fontsize=9,
                  borderaxespad=0.2, handlelength=1.2)
        if title:
            fig.suptitle(_shorten(title, 80), x=0.02, ha="left", fontsize=12, fontweight="bold")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
