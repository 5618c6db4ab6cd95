"""Azure ML's early termination policies (bandit, median stopping, truncation selection) for local sweeps.

The rules, as Azure ML documents them (learn.microsoft.com/python/api/azureml-train-core/
azureml.train.hyperdrive.banditpolicy, .medianstoppingpolicy and .truncationselectionpolicy; the v2 SDK's
azure.ai.ml.sweep.BanditPolicy takes the same parameters):
- every logged value of the primary metric is one interval; a policy applies at each multiple of
  evaluation_interval that is at least delay_evaluation;
- bandit: a trial is cancelled when its best value so far is outside the slack of the best trial at that
  interval; to maximize, below best / (1 + slack_factor) or best - slack_amount (the docs' example: best 0.8,
  slack_factor 0.2 -> below 0.8 / 1.2 = 0.667; slack_amount 0.2 -> below 0.6); minimizing mirrors it;
- median stopping: cancelled at interval N when its best value up to N is worse than the median of the
  trials' running averages over intervals 1..N;
- truncation selection: at each interval the lowest truncation_percentage % of the trials, ranked by their
  value at that interval, are cancelled; a young trial is ranked against the older trials' values at the
  same interval, not their later ones.

This module is stateless: each running trial is judged at its latest evaluation interval N against every
trial (running or finished) that reported at least N values, each cut to its first N values.
"""
from __future__ import annotations

import math
import statistics

from ...exceptions import Problem, ValidationError


def should_stop(policy: dict | None, goal: str, reports: dict[int, list[float]], finished: set[int]) -> set[int]:
    """The running trials to cancel now. `reports[n]` holds trial n's primary-metric values in the order
    logged; trials in `finished` are compared with but never cancelled."""
    if not policy:
        return set()
    rule = _RULES.get(policy.get("policyType"))
    if rule is None:
        raise ValidationError([Problem(f"unknown policyType {policy.get('policyType')!r}: expected one of "
                                       + ", ".join(_RULES), "early_termination")])
    minimize = str(goal).lower() == "minimize"
    worst = math.inf if minimize else -math.inf  # a NaN or infinite report counts as the worst value
    reports = {n: [v if isinstance(v, (int, float)) and math.isfinite(v) else worst for v in values]
               for n, values in reports.items()}
    interval = max(int(policy.get("evaluationInterval") or 1), 1)
    delay = int(policy.get("delayEvaluation") or 0)
    stop = set()
    for n, values in reports.items():
        at = len(values) - len(values) % interval
        if n in finished or at < max(delay, 1):
            continue
        peers = {j: other[:at] for j, other in reports.items() if len(other) >= at}
        if rule(policy, minimize, n, peers):
            stop.add(n)
    return stop


def _best(values: list[float], minimize: bool) -> float:
    return min(values) if minimize else max(values)


def _worse(value: float, limit: float, minimize: bool) -> bool:
    return value > limit if minimize else value < limit


def _bandit(policy: dict, minimize: bool, n: int, peers: dict[int, list[float]]) -> bool:
    best = _best([_best(values, minimize) for values in peers.values()], minimize)
    factor, amount = policy.get("slackFactor"), policy.get("slackAmount") or 0
    if factor:  # the REST default of the unused slack is 0
        limit = best * (1 + factor) if minimize else best / (1 + factor)
    else:
        limit = best + amount if minimize else best - amount
    return _worse(_best(peers[n], minimize), limit, minimize)


def _median_stopping(policy: dict, minimize: bool, n: int, peers: dict[int, list[float]]) -> bool:
    median = statistics.median(statistics.fmean(values) for values in peers.values())
    return _worse(_best(peers[n], minimize), median, minimize)


def _truncation_selection(policy: dict, minimize: bool, n: int, peers: dict[int, list[float]]) -> bool:
    # the lowest X % of k trials are the floor(k * X / 100) worst ones (a trial is in the lowest 20 % of 5
    # trials when it is the worst, not of 4), so a trial alone at an interval is never cancelled;
    # ties go against the later trial
    count = len(peers) * int(policy.get("truncationPercentage") or 0) // 100
    sign = 1 if minimize else -1
    worst_first = sorted(peers, key=lambda j: (sign * peers[j][-1], j), reverse=True)
    return n in worst_first[:count]


_RULES = {"Bandit": _bandit, "MedianStopping": _median_stopping, "TruncationSelection": _truncation_selection}
