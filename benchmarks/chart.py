"""A bar chart of every suite's overhead over bare Flask, as a self-contained SVG.

``write_chart(suites)`` takes what ``benchmarks/run.py`` collects, ``[(title, results)]``,
and writes ``docs/_generated/benchmarks.svg``: one group of horizontal bars per table,
one bar per variant other than bare Flask, its length the median µs it adds to a request.
Flask-Plug's bars and the peers' have different colours; every bar carries its value.

The SVG has no scripts, fonts or links. It paints its own background, light or dark as
the reader's ``prefers-color-scheme`` says, so it stays readable on either docs theme even
when the page's theme and the system's differ.
"""

from __future__ import annotations

import math
import typing as t
from html import escape
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from harness import Result

DOCS_CHART = Path(__file__).resolve().parent.parent / "docs" / "_generated" / "benchmarks.svg"
TITLE = "Per-request overhead over bare Flask"
AXIS = "µs added to each request (median; shorter is better)"

WIDTH = 900
MARGIN = 20
LABELS = 290  # the variant labels' column
VALUES = 64  # room right of the longest bar for its value
BAR = 14
ROW = 20
HEADING = 26  # a suite's title above its bars
GAP = 10  # between suites

STYLE = """
svg { color: #1f2328; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
.bg { fill: #ffffff; stroke: #d0d7de; }
text { fill: currentColor; font-size: 12px; }
.title { font-size: 17px; font-weight: 600; }
.suite { font-size: 12.5px; font-weight: 600; }
.muted { fill-opacity: 0.72; }
.grid { stroke: currentColor; stroke-opacity: 0.14; }
.zero { stroke: currentColor; stroke-opacity: 0.6; }
.ours { fill: #2f6fb3; }
.peer { fill: #d9822b; }
@media (prefers-color-scheme: dark) {
  svg { color: #e6edf3; }
  .bg { fill: #0d1117; stroke: #30363d; }
  .ours { fill: #5b9bdc; }
  .peer { fill: #f0a050; }
}
"""


def is_ours(label: str) -> bool:
    """Flask-Plug's variants are labelled ``flask-plug…``; every other one is a peer."""
    return label.lower().startswith("flask-plug")


def _ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values from ``low`` to ``high`` (both included in the range)."""
    raw = (high - low) / count or 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step / 2:
        ticks.append(round(value, 6))
        value += step
    return ticks


def _number(value: float) -> str:
    text = f"{value:+.1f}" if abs(value) < 100 else f"{value:+.0f}"
    return text.replace("-", "\N{MINUS SIGN}")


def render(suites: Iterable[tuple[str, Sequence[Result]]], *, baseline: str = "bare Flask") -> str:
    """The SVG text of the chart."""
    groups: list[tuple[str, list[tuple[str, float]]]] = []
    for title, results in suites:
        base = next((r.micros for r in results if r.label == baseline), None)
        if base is None:
            continue
        bars = [(r.label, r.micros - base) for r in results if r.label != baseline]
        if bars:
            groups.append((title, bars))
    if not groups:
        raise ValueError(f"no suite has a {baseline!r} row and another variant")

    values = [v for _, bars in groups for _, v in bars]
    smallest, largest = min(0.0, *values), max(0.0, *values)
    ticks = _ticks(smallest, largest)
    # The axis ends at a tick on the right, and just past the smallest value on the left
    # (a bar of -5 µs should not stretch the axis to the tick at -100).
    low = smallest - (ticks[-1] - smallest) * 0.02 if smallest < 0 else 0.0
    high = ticks[-1]
    ticks = [tick for tick in ticks if tick >= low]
    left, right = MARGIN + LABELS, WIDTH - MARGIN - VALUES

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    top = MARGIN + 58  # title and legend
    plot_height = sum(HEADING + ROW * len(bars) + GAP for _, bars in groups)
    height = top + plot_height + 52
    body: list[str] = []
    add = body.append

    # grid and tick labels
    for tick in ticks:
        cls = "zero" if tick == 0 else "grid"
        add(f'<line class="{cls}" x1="{x(tick):.1f}" x2="{x(tick):.1f}"'
            f' y1="{top - 4}" y2="{top + plot_height}"/>')  # fmt: skip
        add(f'<text class="muted" x="{x(tick):.1f}" y="{top + plot_height + 16}"'
            f' text-anchor="middle">{tick:g}</text>')  # fmt: skip
    add(f'<text x="{(left + right) / 2:.1f}" y="{top + plot_height + 38}"'
        f' text-anchor="middle">{escape(AXIS)}</text>')  # fmt: skip

    # the bars, suite by suite
    y = float(top)
    for title, bars in groups:
        add(f'<text class="suite" x="{MARGIN + 8}" y="{y + 17:.1f}">{escape(title)}</text>')
        y += HEADING
        for label, value in bars:
            cls = "ours" if is_ours(label) else "peer"
            start, end = sorted((x(0), x(value)))
            middle = y + ROW / 2
            add(f'<text x="{left - 8}" y="{middle + 4:.1f}" text-anchor="end">'
                f"{escape(label)}</text>")  # fmt: skip
            add(f'<rect class="{cls}" x="{start:.1f}" y="{middle - BAR / 2:.1f}"'
                f' width="{max(end - start, 1):.1f}" height="{BAR}" rx="2">'
                f"<title>{escape(label)}: {_number(value)} µs</title></rect>")  # fmt: skip
            add(f'<text x="{max(x(0), x(value)) + 5:.1f}" y="{middle + 4:.1f}">'
                f"{_number(value)}</text>")  # fmt: skip
            y += ROW
        y += GAP

    # title and legend
    head = [
        f'<text class="title" x="{MARGIN + 8}" y="{MARGIN + 22}">{escape(TITLE)}</text>',
        f'<rect class="ours" x="{MARGIN + 8}" y="{MARGIN + 36}" width="12" height="12" rx="2"/>',
        f'<text x="{MARGIN + 26}" y="{MARGIN + 46}">Flask-Plug</text>',
        f'<rect class="peer" x="{MARGIN + 108}" y="{MARGIN + 36}" width="12" height="12" rx="2"/>',
        f'<text x="{MARGIN + 126}" y="{MARGIN + 46}">peer extension</text>',
    ]

    description = "; ".join(
        f"{title}: " + ", ".join(f"{label} {_number(value)} µs" for label, value in bars)
        for title, bars in groups
    )
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}"'
        f' viewBox="0 0 {WIDTH} {height:.0f}" role="img"'
        ' aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(TITLE)}</title>',
        f'<desc id="chart-desc">Horizontal bars: microseconds each variant adds to a request'
        f" over bare Flask, median of interleaved rounds. {escape(description)}.</desc>",
        f"<style>{STYLE}</style>",
        f'<rect class="bg" x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1:.0f}"'
        ' rx="8"/>',
        *head,
        *body,
        "</svg>",
        "",
    ])  # fmt: skip


def write_chart(
    suites: Iterable[tuple[str, Sequence[Result]]],
    path: Path = DOCS_CHART,
    *,
    baseline: str = "bare Flask",
) -> Path:
    """Write the chart of ``suites`` (``[(title, results)]``) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(suites, baseline=baseline), encoding="utf-8")
    return path
