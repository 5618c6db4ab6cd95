"""Pictures of a sweep: the primary metric per trial (coloured by status), the best-so-far line, and the
parameters in parallel coordinates (coloured by the metric). HTML is one self-contained page of inline SVG
(no script, nothing fetched); PNG is drawn by matplotlib, an optional extra."""
from __future__ import annotations

import math
from html import escape
from pathlib import Path

from ._trials import SweepView, Trial, fmt, summary, table
from .exceptions import ValidationError

STATUS_COLOURS = {"Completed": "#1f77b4", "Failed": "#d62728", "Canceled": "#8c8c8c", "Running": "#ff7f0e"}
OTHER_STATUS = "#bcbd22"  # queued, preparing, finalizing...
# viridis at five stops: the metric's colour from low to high
_RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
_W, _H = 720, 260
_MARGIN = (16, 20, 40, 70)  # top, right, bottom, left
_STYLE = ("<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}svg{display:block;margin:4px 0 20px}"
          "text{font:11px system-ui,sans-serif;fill:#333}pre{font:12px ui-monospace,monospace}"
          "h2{font-size:15px;margin:16px 0 0}</style></head><body>")


def save(view: SweepView, path) -> Path:
    """Write the picture of `view` to `path` (.html or .png) -> the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(html(view), encoding="utf-8")
    elif suffix == ".png":
        png(view, path)
    else:
        raise ValidationError(f"{path}: a sweep is drawn as .html (self-contained) or .png, not "
                              f"{suffix or 'a file without extension'}")
    return path


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, OTHER_STATUS)


def metric_colour(t: float) -> str:
    """The colour of `t` in [0, 1] on the ramp."""
    t = min(max(t, 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(t), len(_RAMP) - 2)
    a, b = _RAMP[i], _RAMP[i + 1]
    return "#" + "".join(f"{round(x + (y - x) * (t - i)):02x}" for x, y in zip(a, b))


# -- scales -------------------------------------------------------------------------------------------------
def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Axis:
    """Maps a parameter's (or the metric's) values to [0, 1]: linear for numbers, evenly spaced for other values."""

    def __init__(self, values: list):
        present = [v for v in values if v is not None]
        self.numeric = bool(present) and all(_finite(v) for v in present)
        if self.numeric:
            self.low, self.high = min(present), max(present)
            self.labels = [(0.0, fmt(float(self.low))), (1.0, fmt(float(self.high)))]
        else:
            self.levels = sorted({str(v) for v in present})
            self.labels = [(self(v), v) for v in self.levels]

    def __call__(self, value) -> float | None:
        if value is None:
            return None
        if self.numeric:
            if not _finite(value):
                return None
            return 0.5 if self.high == self.low else (value - self.low) / (self.high - self.low)
        if len(self.levels) == 1:
            return 0.5
        return self.levels.index(str(value)) / (len(self.levels) - 1)


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values spanning [low, high] for an axis."""
    if high == low:
        return [low]
    step = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _metric_range(view: SweepView) -> tuple[float, float]:
    values = [t.metric for t in view.trials if _finite(t.metric)]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(low) * 0.05 or 1.0
    return low - pad, high + pad


# -- HTML / SVG ----------------------------------------------------------------------------------------------
def html(view: SweepView) -> str:
    """The page: a heading, the three panels as inline SVG, and the trials table."""
    title = f"Sweep {view.name}"
    lines = "\n".join(summary(view))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        _STYLE,
        f"<h1>{escape(title)}</h1>",
        f"<pre>{escape(lines)}</pre>",
        *(f"<h2>{escape(title)}</h2>\n{svg}" for title, svg in panels(view)),
        f"<pre>{escape(chr(10).join(table(view)))}</pre>",
        "</body></html>", ""])


def panels(view: SweepView) -> list[tuple[str, str]]:
    """The three pictures of a sweep, each (title, inline SVG)."""
    metric = view.primary_metric
    return [(f"{metric} per trial ({view.goal})", _metric_panel(view)),
            (f"Best {metric} so far", _best_panel(view)),
            (f"Parameters, coloured by {metric} (purple: low, yellow: high; best trial thickest; dashed: no metric)",
             _parallel_panel(view))]


def _svg(body: list[str], label: str, height: int = _H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
            f'viewBox="0 0 {_W} {height}" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>")


class _Frame:
    """The plotting area of a panel: x = trial number, y = the metric."""

    def __init__(self, view: SweepView):
        top, right, bottom, left = _MARGIN
        self.x0, self.x1, self.y0, self.y1 = left, _W - right, _H - bottom, top
        numbers = [t.number for t in view.trials] or [0]
        self.first, self.last = min(numbers), max(numbers)
        self.low, self.high = _metric_range(view)

    def x(self, number: int) -> float:
        span = self.last - self.first
        frac = 0.5 if span == 0 else (number - self.first) / span
        return round(self.x0 + 10 + frac * (self.x1 - self.x0 - 20), 2)

    def y(self, value: float) -> float:
        return round(self.y0 - (value - self.low) / (self.high - self.low) * (self.y0 - self.y1), 2)

    def axes(self, metric: str) -> list[str]:
        out = [f'<line x1="{self.x0}" y1="{self.y0}" x2="{self.x1}" y2="{self.y0}" stroke="#444"/>',
               f'<line x1="{self.x0}" y1="{self.y0}" x2="{self.x0}" y2="{self.y1}" stroke="#444"/>']
        for value in ticks(self.low, self.high):
            y = self.y(value)
            out.append(f'<line x1="{self.x0 - 4}" y1="{y}" x2="{self.x1}" y2="{y}" stroke="#eee"/>'
                       f'<text x="{self.x0 - 6}" y="{y + 4}" text-anchor="end">{fmt(value)}</text>')
        for number in ticks(self.first, self.last, min(10, max(1, self.last - self.first))):
            if float(number).is_integer():
                out.append(f'<text x="{self.x(int(number))}" y="{self.y0 + 16}" text-anchor="middle">'
                           f'{int(number)}</text>')
        out.append(f'<text x="{(self.x0 + self.x1) / 2}" y="{_H - 6}" text-anchor="middle">trial</text>'
                   f'<text transform="translate(14 {(self.y0 + self.y1) / 2}) rotate(-90)" '
                   f'text-anchor="middle">{escape(metric)}</text>')
        return out


def _tooltip(view: SweepView, trial: Trial) -> str:
    params = ", ".join(f"{k}={fmt(trial.params.get(k), 6)}" for k in view.parameters)
    return escape(f"trial {trial.number} ({trial.name}): {trial.status}, {view.primary_metric}="
                  f"{fmt(trial.metric, 6) or 'none'}; {params}")


def _metric_panel(view: SweepView) -> str:
    frame = _Frame(view)
    body = frame.axes(view.primary_metric)
    for trial in view.trials:
        colour = status_colour(trial.status)
        scored = _finite(trial.metric)
        y = frame.y(trial.metric) if scored else frame.y0 - 6  # no metric: a hollow mark on the axis
        fill = colour if scored else "none"
        body.append(f'<circle class="trial" data-trial="{trial.number}" data-status="{escape(trial.status)}" '
                    f'cx="{frame.x(trial.number)}" cy="{y}" r="5" fill="{fill}" stroke="{colour}">'
                    f"<title>{_tooltip(view, trial)}</title></circle>")
    statuses = sorted({t.status for t in view.trials})
    for i, status in enumerate(statuses):  # legend, top right
        x = frame.x1 - 100
        y = frame.y1 + 10 + 16 * i
        body.append(f'<circle cx="{x}" cy="{y}" r="5" fill="{status_colour(status)}"/>'
                    f'<text x="{x + 10}" y="{y + 4}">{escape(status)}</text>')
    return _svg(body, f"{view.primary_metric} per trial")


def _best_panel(view: SweepView) -> str:
    frame = _Frame(view)
    body = frame.axes(view.primary_metric)
    points, previous = [], None
    for number, best in view.best_so_far():
        x = frame.x(number)
        if previous is not None:
            points.append(f"{x},{frame.y(previous)}")  # a step: the best holds until the next improvement
        points.append(f"{x},{frame.y(best)}")
        previous = best
    if points:
        body.append(f'<polyline class="best-so-far" points="{" ".join(points)}" fill="none" stroke="#2ca02c" '
                    f'stroke-width="2"/>')
    else:
        body.append(f'<text x="{(frame.x0 + frame.x1) / 2}" y="{(frame.y0 + frame.y1) / 2}" '
                    'text-anchor="middle">no completed trial yet</text>')
    return _svg(body, f"best {view.primary_metric} so far")


def _parallel_axes(view: SweepView) -> tuple[list[str], list[_Axis]]:
    names = [*view.parameters, view.primary_metric]
    axes = [_Axis([t.params.get(k) for t in view.trials]) for k in view.parameters]
    axes.append(_Axis([t.metric if _finite(t.metric) else None for t in view.trials]))
    return names, axes


def _parallel_panel(view: SweepView) -> str:
    top, right, bottom, left = 30, 90, 30, 90  # room for the outer axes' names and labels
    names, axes = _parallel_axes(view)
    xs = [left + i * (_W - left - right) / max(1, len(names) - 1) for i in range(len(names))]

    def y(frac: float) -> float:
        return round(_H - bottom - frac * (_H - top - bottom), 2)

    body = []
    best = view.best()
    metric_axis = axes[-1]
    ordered = sorted(view.trials, key=lambda t: t is best)  # the best drawn last, on top
    for trial in ordered:
        values = [trial.params.get(k) for k in view.parameters] + [trial.metric if _finite(trial.metric) else None]
        points = [f"{round(x, 2)},{y(a(v))}" for x, a, v in zip(xs, axes, values) if a(v) is not None]
        scored = _finite(trial.metric)
        colour = metric_colour(metric_axis(trial.metric)) if scored else "#bbbbbb"
        style = 'stroke-width="3.5"' if trial is best else 'stroke-width="1.5" stroke-opacity="0.8"'
        dash = "" if scored else ' stroke-dasharray="4 3"'
        body.append(f'<polyline class="trial-line" data-trial="{trial.number}" points="{" ".join(points)}" '
                    f'fill="none" stroke="{colour}" {style}{dash}><title>{_tooltip(view, trial)}</title></polyline>')
    for x, name, axis in zip(xs, names, axes):
        body.append(f'<line x1="{round(x, 2)}" y1="{y(0)}" x2="{round(x, 2)}" y2="{y(1)}" stroke="#444"/>'
                    f'<text x="{round(x, 2)}" y="{top - 12}" text-anchor="middle">{escape(name)}</text>')
        for frac, label in axis.labels:
            body.append(f'<text x="{round(x + 5, 2)}" y="{y(frac) + 4}">{escape(str(label))}</text>')
    return _svg(body, "parameters in parallel coordinates")


# -- PNG -----------------------------------------------------------------------------------------------------
def png(view: SweepView, path: Path) -> None:
    """The same three panels through matplotlib (optional extra `plot`)."""
    try:  # optional extra: azureml_v2[plot]
        import matplotlib
    except ImportError:
        raise ValidationError(f"{path}: a PNG picture needs matplotlib: pip install 'azureml_v2[plot]' "
                              "(or save it as .html, which needs nothing)") from None
    matplotlib.use("Agg")  # no display needed, whatever the user's default backend
    import matplotlib.pyplot as plt  # optional extra, as above
    from matplotlib import cm, colors  # optional extra, as above

    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(9, 10), constrained_layout=True)
    ax2.sharey(ax1)
    fig.suptitle(f"Sweep {view.name} ({view.status})")
    low, high = _metric_range(view)
    for status in sorted({t.status for t in view.trials}):
        group = [t for t in view.trials if t.status == status]
        scored = [t for t in group if _finite(t.metric)]
        ax1.scatter([t.number for t in scored], [t.metric for t in scored], color=status_colour(status),
                    label=status, zorder=3)
        unscored = [t.number for t in group if not _finite(t.metric)]
        ax1.scatter(unscored, [low] * len(unscored), facecolors="none", edgecolors=status_colour(status), zorder=3)
    ax1.set(title=f"{view.primary_metric} per trial ({view.goal})", xlabel="trial", ylabel=view.primary_metric,
            ylim=(low, high))
    if view.trials:
        ax1.legend(loc="best")
    best = view.best_so_far()
    if best:
        ax2.step([n for n, _ in best], [v for _, v in best], where="post", color="#2ca02c", linewidth=2)
    ax2.set(title=f"best {view.primary_metric} so far", xlabel="trial", ylabel=view.primary_metric)
    names, axes = _parallel_axes(view)
    cmap, best_trial = matplotlib.colormaps["viridis"], view.best()
    for trial in view.trials:
        values = [trial.params.get(k) for k in view.parameters] + [trial.metric if _finite(trial.metric) else None]
        pts = [(i, a(v)) for i, (a, v) in enumerate(zip(axes, values)) if a(v) is not None]
        scored = _finite(trial.metric)
        ax3.plot([p[0] for p in pts], [p[1] for p in pts], color=cmap(axes[-1](trial.metric)) if scored else "#bbb",
                 linestyle="-" if scored else "--", linewidth=3 if trial is best_trial else 1.2)
    for i, axis in enumerate(axes):
        ax3.axvline(i, color="#444", linewidth=0.8)
        for frac, label in axis.labels:
            ax3.annotate(str(label), (i, frac), xytext=(4, 0), textcoords="offset points", fontsize=8, va="center")
    ax3.set(title=f"parameters (coloured by {view.primary_metric})", xticks=range(len(names)), yticks=[])
    ax3.set_xticklabels(names)
    metric_values = [t.metric for t in view.trials if _finite(t.metric)]
    if metric_values:
        norm = colors.Normalize(min(metric_values), max(metric_values))
        fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax3, label=view.primary_metric)
    fig.savefig(path, dpi=100)
    plt.close(fig)
