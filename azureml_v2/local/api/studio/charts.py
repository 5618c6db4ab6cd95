"""Metric charts of the studio: lines over steps, several series (metrics, runs) overlaid, as inline SVG.

A series of any length is drawn from at most MAX_DRAWN of its own points: each of BUCKETS step ranges keeps its
first, lowest, highest and last point, so spikes survive and every drawn point is a logged one. The drawn points go
along as JSON; the page's script shows the exact logged value nearest the pointer.
"""
from __future__ import annotations

import json
import math
from html import escape
from bisect import bisect_left
from operator import itemgetter

from ...._plot import ticks
from ...._trials import fmt

BUCKETS = 300
MAX_DRAWN = 4 * BUCKETS
PALETTE = ("#1f77b4", "#d95f02", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")
_W, _H = 760, 280
_TOP, _RIGHT, _BOTTOM, _LEFT = 16, 20, 40, 70


def downsample(points: list[tuple[int, float]], buckets: int = BUCKETS) -> list[tuple[int, float]]:
    """At most 4 x `buckets` of `points` (step, value), in step order: per bucket of steps its first, lowest,
    highest and last point; NaN and infinite values are left out (a line cannot draw them)."""
    points = sorted((p for p in points if math.isfinite(p[1])), key=itemgetter(0))
    if len(points) <= 4 * buckets:
        return points
    steps, values = [p[0] for p in points], [p[1] for p in points]
    first, width = steps[0], (steps[-1] - steps[0]) / buckets
    edges = [0] + [bisect_left(steps, first + width * b) for b in range(1, buckets)] + [len(steps)]
    kept: list[tuple[int, float]] = []
    for lo, hi in zip(edges, edges[1:]):
        if lo == hi:
            continue
        chunk = values[lo:hi]
        chosen = sorted({lo, lo + chunk.index(min(chunk)), lo + chunk.index(max(chunk)), hi - 1})
        kept += [points[i] for i in chosen]
    return kept


def line_chart(title: str, series: list[tuple[str, list[tuple[int, float]]]], *, xlabel: str = "step") -> str:
    """An SVG figure of `series` (label, points) overlaid, each downsampled, with a legend."""
    drawn = [(label, downsample(points)) for label, points in series]
    values = [v for _, points in drawn for _, v in points]
    steps = [s for _, points in drawn for s, _ in points]
    if not values:
        return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
                '<p class="empty">no finite values logged yet</p></figure>')
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(low) * 0.05 or 1.0
    low, high = low - pad, high + pad
    first, last = min(steps), max(steps)
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _H - _BOTTOM, _TOP

    def x(step: float) -> float:
        return round(x0 + (0.5 if last == first else (step - first) / (last - first)) * (x1 - x0), 1)

    def y(value: float) -> float:
        return round(y0 - (value - low) / (high - low) * (y0 - y1), 1)

    body = [f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/>',
            f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/>']
    for value in ticks(low, high):
        body.append(f'<line class="grid" x1="{x0}" y1="{y(value)}" x2="{x1}" y2="{y(value)}"/>'
                    f'<text x="{x0 - 6}" y="{y(value) + 4}" text-anchor="end">{fmt(value)}</text>')
    for step in ticks(first, last, 8):
        body.append(f'<text x="{x(step)}" y="{y0 + 16}" text-anchor="middle">{fmt(step)}</text>')
    body.append(f'<text x="{(x0 + x1) / 2}" y="{_H - 6}" text-anchor="middle">{escape(xlabel)}</text>')
    data = []
    for i, (label, points) in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{x(s)},{y(v)}" for s, v in points)
        body.append(f'<polyline class="series" data-series="{i}" points="{coords}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.5"><title>{escape(label)}</title></polyline>')
        if len(points) == 1:
            body.append(f'<circle cx="{x(points[0][0])}" cy="{y(points[0][1])}" r="3" fill="{colour}"/>')
        data.append({"label": label, "colour": colour, "points": [[s, v, x(s), y(v)] for s, v in points]})
    legend = "".join(f'<li><span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>'
                     f"{escape(label)} <small>({len(points)} points)</small></li>"
                     for i, (label, points) in enumerate(series))
    figure_data = escape(json.dumps(data, separators=(",", ":")))
    return (f'<figure class="chart" data-points="{figure_data}"><figcaption>{escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">{"".join(body)}'
            f'<g class="hover" visibility="hidden"><circle r="4"/><text class="hover-text" x="0" y="0"></text></g>'
            f'</svg><ul class="legend">{legend}</ul><output class="readout" aria-live="polite"></output></figure>')
