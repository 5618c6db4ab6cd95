"""A sweep's trials as a user reads them: the live table while it runs, the table `azml job show` prints and the
numbers the picture draws. Plain data in, text out; reading the workspace is the job operations' part."""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field

from ._contract import TERMINAL_STATUSES


@dataclass
class Trial:
    """One trial of a sweep: its number (from 0), job name, status, parameters and primary metric (the last value
    it logged; None before the first)."""
    number: int
    name: str
    status: str
    params: dict = field(default_factory=dict)
    metric: float | None = None
    early_terminated: bool = False  # canceled by the sweep's early termination policy
    error: str | None = None  # why it failed, as its job records it

    @property
    def label(self) -> str:
        """The status as the table shows it."""
        return f"{self.status} (early termination)" if self.early_terminated else self.status


@dataclass
class SweepView:
    """A sweep and its trials (ordered by number) at one moment."""
    name: str
    status: str
    goal: str  # "minimize" or "maximize"
    primary_metric: str
    parameters: list[str]
    trials: list[Trial]
    best_name: str | None = None  # the sweep's best_child_run_id, when the service recorded one

    def best(self) -> Trial | None:
        """The sweep's recorded best trial, else the best completed trial so far."""
        named = [t for t in self.trials if t.name == self.best_name]
        if named:
            return named[0]
        scored = [t for t in self.trials if t.status == "Completed" and _finite(t.metric)]
        if not scored:
            return None
        return (min if self.goal == "minimize" else max)(scored, key=lambda t: t.metric)

    def best_so_far(self) -> list[tuple[int, float]]:
        """(trial number, best metric of the completed trials up to it) for each completed trial with a metric."""
        points, best = [], None
        for trial in self.trials:
            if trial.status != "Completed" or not _finite(trial.metric):
                continue
            if best is None or (trial.metric < best if self.goal == "minimize" else trial.metric > best):
                best = trial.metric
            points.append((trial.number, best))
        return points


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def fmt(value, digits: int = 4) -> str:
    """A parameter or metric as a table cell: numbers to `digits` significant digits."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def trial_line(view: SweepView, trial: Trial) -> str:
    """One state change of a trial, for logs: `trial 3  Completed  rmse=54.21  lr=0.03 ...`."""
    metric = f"  {view.primary_metric}={fmt(trial.metric, 6)}" if trial.metric is not None else ""
    params = " ".join(f"{k}={fmt(trial.params.get(k))}" for k in view.parameters)
    error = f"  ({trial.error.splitlines()[-1]})" if trial.error and trial.error.strip() else ""
    return f"trial {trial.number:<3} {trial.label:<10}{metric}  {params}{error}".rstrip()


def cells(view: SweepView) -> tuple[list[str], list[list[str]]]:
    """The table's header and one row of cells per trial."""
    columns = ["Trial", *view.parameters, view.primary_metric, "Status"]
    return columns, [[str(t.number), *(fmt(t.params.get(k)) for k in view.parameters), fmt(t.metric, 6), t.label]
                     for t in view.trials]


def table(view: SweepView) -> list[str]:
    """The trials as aligned text rows under a header (no trailing spaces)."""
    return aligned(*cells(view))


def aligned(columns: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of cells as aligned text under a header and a rule (no trailing spaces)."""
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return lines


def summary(view: SweepView) -> list[str]:
    """The counts by status and the best trial, under the table."""
    counts: dict[str, int] = {}
    for trial in view.trials:
        counts[trial.status] = counts.get(trial.status, 0) + 1
    lines = [f"Status: {view.status}  ({len(view.trials)} trials: "
             + ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) + ")" if view.trials
             else f"Status: {view.status}  (no trials)"]
    best = view.best()
    if best is not None:
        params = ", ".join(f"{k}={fmt(best.params.get(k), 6)}" for k in view.parameters)
        lines.append(f"Best trial: {best.name} (trial {best.number})  {view.primary_metric}={fmt(best.metric, 6)}"
                     f"  {params}")
    elif any(t.status == "Completed" for t in view.trials):
        lines.append(f"Warning: no trial logged the primary metric {view.primary_metric!r}, so there is no best "
                     f"trial: log it from the training script (mlflow.log_metric({view.primary_metric!r}, value))")
    return lines


class LiveTable:
    """Shows a running sweep: on a terminal, a table redrawn in place; elsewhere (CI logs), one plain line per
    trial state change. `finish` ends with the full table and the best trial."""

    def __init__(self, out, terminal: bool | None = None):
        self.out = out
        self.terminal = _is_terminal(out) if terminal is None else terminal
        self.seen: dict[int, tuple[str, bool]] = {}
        self.drawn: list[str] = []  # the last redraw

    def update(self, view) -> None:
        if self.terminal:
            self._redraw(self._table(view) + [f"Status: {view.status}"])
        else:
            self._write_changes(view)
        self.out.flush()

    def finish(self, view) -> None:
        lines = self._final(view)
        if self.terminal:
            self._redraw(lines)
        else:
            self.update(view)
            self.out.write("\n" + "\n".join(lines) + "\n")
        self.out.flush()

    # what a subclass (the live pipeline) shows instead
    def _table(self, view: SweepView) -> list[str]:
        return table(view)

    def _final(self, view: SweepView) -> list[str]:
        return table(view) + summary(view) if view.trials else summary(view)

    def _write_changes(self, view: SweepView) -> None:
        for trial in view.trials:
            state = (trial.status, trial.metric is not None and trial.status in TERMINAL_STATUSES)
            if self.seen.get(trial.number) != state:
                self.seen[trial.number] = state
                self.out.write(trial_line(view, trial) + "\n")

    def _redraw(self, lines: list[str]) -> None:
        width = shutil.get_terminal_size().columns
        lines = [line[:width - 1] for line in lines]  # a wrapped line would break the cursor arithmetic
        if lines == self.drawn:
            return
        erase = f"\x1b[{len(self.drawn)}F\x1b[J" if self.drawn else ""
        self.out.write(erase + "\n".join(lines) + "\n")
        self.out.flush()
        self.drawn = lines


def _is_terminal(out) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
