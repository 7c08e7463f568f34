"""Small server-rendered SVG charts for the dashboard: bars (stacked by series) and lines.

Why hand-written: chart libraries (pygal was tried) put a <style> and a <script> inside the SVG, which
the console's Content-Security-Policy (`style-src 'self'; script-src 'self'`) blocks when the SVG is
inline. Here colours are SVG presentation attributes, every bar and point carries a <title> (shown
on hover, read by screen readers), and the chart has role="img" with a title and a description.
The viewBox is narrow (360 units, 13-unit text) so labels stay legible on a 390 px phone.
"""
from __future__ import annotations

import hashlib
import math
from typing import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 18, 10, 24
PALETTE = ("#1f5fa8", "#d9822b", "#2e8540", "#8e44ad", "#b3261e", "#5f6b7a", "#0f7c86")

Format = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value == int(value) else f"{value:.1f}".replace(".", ",")


def day_label(day: str) -> str:
    """'2026-12-01' → '01/12'."""
    return f"{day[8:10]}/{day[5:7]}" if len(day) == 10 else day


def _nice_max(value: float, integer: bool = False) -> float:
    """A round top for the y axis: four grid steps of 1, 2, 2.5 or 5 × 10^k (whole steps for counts)."""
    if value <= 0:
        return 4.0 if integer else 1.0
    raw = value / 4
    exp = 10 ** math.floor(math.log10(raw))
    for m in ((1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)):
        step = m * exp
        if step >= raw and (not integer or step >= 1):
            return step * 4
    return 4.0  # pragma: no cover - integer counts below one per step


def _frame(title: str, desc: str, top: float, fmt: Format, labels: Sequence[str], x_of: Callable[[int], float]
           ) -> tuple[str, list[str]]:
    """The opening tag with accessible title/description, the grid with y labels and the thinned x labels."""
    cid = "chart-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:8]  # unique per page: titles differ
    parts = [f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{cid}-t {cid}-d" xmlns="http://www.w3.org/2000/svg" font-size="13" '
             f'font-family="system-ui, sans-serif">',
             f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>']
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5d9df" '
                     f'stroke-width="{1 if i else 1.5}"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#4a5563">{escape(fmt(value))}</text>')
    step = max(1, math.ceil(len(labels) / 5))
    for i, label in enumerate(labels):
        if i % step == 0 or (i == len(labels) - 1 and (len(labels) - 1) % step >= step / 2):
            parts.append(f'<text x="{x_of(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="#4a5563">'
                         f'{escape(day_label(label))}</text>')
    return cid, parts


def _legend(names: Sequence[str], force: bool = False) -> str:
    if len(names) < 2 and not (force and names):
        return ""
    items = "".join(f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"/></svg>{escape(name)}</li>' for i, name in enumerate(names))
    return f'<ul class="legend">{items}</ul>'


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              desc: str = "", fmt: Format = _plain, unit: str = "", legend: bool | None = None) -> Markup:
    """Stacked bars, one per label (day) that has a value; each series a colour, with a legend
    (by default only for two series or more)."""
    n = max(1, len(labels))
    totals = [sum(values[i] or 0 for _, values in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0), integer=all(float(t).is_integer() for t in totals))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    width = max(1.5, min(28.0, slot * 0.72))

    def x_of(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    cid, parts = _frame(title, desc, top, fmt, labels, x_of)
    for i, label in enumerate(labels):
        if not totals[i]:
            continue
        y = TOP + plot_h
        detail = ", ".join(f"{name} {fmt(values[i])}" for name, values in series if values[i])
        parts.append(f'<g class="bar" data-day="{escape(label)}"><title>{escape(day_label(label))}: '
                     f'{escape(fmt(totals[i]))}{escape(unit)}{" (" + escape(detail) + ")" if len(series) > 1 else ""}'
                     '</title>')
        for s, (_, values) in enumerate(series):
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            y -= h
            parts.append(f'<rect x="{x_of(i) - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    names = [name for name, _ in series]
    return Markup(f'<figure class="chart" id="{cid}">{"".join(parts)}'
                  f'{_legend(names, force=bool(legend))}</figure>' if legend is not False else
                  f'<figure class="chart" id="{cid}">{"".join(parts)}</figure>')


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               desc: str = "", fmt: Format = _plain, unit: str = "", top: float | None = None) -> Markup:
    """One line per series; a missing value (None) breaks the line; every point has its value as a title."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = top or _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(labels)

    def x_of(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_of(v: float) -> float:
        return TOP + plot_h - plot_h * min(v, top) / top

    cid, parts = _frame(title, desc, top, fmt, labels, x_of)
    for s, (name, vs) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((x_of(i), y_of(v)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                             'stroke-linejoin="round"/>')
        parts.append(f'<g class="points" data-series="{escape(name)}">')
        for i, v in enumerate(vs):
            if v is not None:
                parts.append(f'<circle class="point" cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="{3 if n <= 31 else 2}" '
                             f'fill="{colour}"><title>{escape(day_label(labels[i]))} · {escape(name)}: '
                             f'{escape(fmt(v))}{escape(unit)}</title></circle>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup(f'<figure class="chart" id="{cid}">{"".join(parts)}'
                  f'{_legend([name for name, _ in series])}</figure>')
