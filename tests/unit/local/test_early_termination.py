"""Early termination policies against Azure ML's documented arithmetic (bandit, median stopping, truncation)."""
from __future__ import annotations

import math

import pytest

from azureml_v2 import ValidationError
from azureml_v2.local.executors.early_termination import should_stop


def bandit(factor=None, amount=None, interval=1, delay=0):
    return {"policyType": "Bandit", "slackFactor": factor, "slackAmount": amount,
            "evaluationInterval": interval, "delayEvaluation": delay}


# Azure's example: the best trial has 0.8 after the interval; slack_factor 0.2 allows down to 0.8 / 1.2 = 0.667,
# slack_amount 0.2 down to 0.6. Trial 0 (finished) is the best; trials 1 and 2 run.
@pytest.mark.parametrize("policy, goal, best, values, stopped", [
    (bandit(factor=0.2), "maximize", 0.8, (0.66, 0.67), {1}),
    (bandit(amount=0.2), "maximize", 0.8, (0.59, 0.61), {1}),
    (bandit(factor=0.2, amount=0), "maximize", 0.8, (0.66, 0.67), {1}),  # the REST default of the unused slack
    (bandit(factor=0.2), "minimize", 0.5, (0.61, 0.59), {1}),  # 0.5 * 1.2 = 0.6
    (bandit(amount=0.1), "minimize", 0.5, (0.61, 0.59), {1}),
    (bandit(amount=0.1), "Minimize", 0.5, (0.5, 0.55), set()),
])
def test_bandit_slack(policy, goal, best, values, stopped):
    reports = {0: [best] * 10, 1: [values[0]] * 10, 2: [values[1]] * 10}
    assert should_stop(policy, goal, reports, finished={0}) == stopped


def test_bandit_judges_a_trial_by_its_best_value_so_far():
    reports = {0: [0.8], 1: [0.7, 0.1]}
    assert should_stop(bandit(factor=0.2), "maximize", reports, finished={0}) == set()


def test_a_young_trial_is_compared_with_the_others_values_at_the_same_interval():
    reports = {0: [0.5, 0.9], 1: [0.6]}  # at interval 1 the best is 0.6, not trial 0's later 0.9
    assert should_stop(bandit(factor=0.1), "maximize", reports, finished={0}) == set()
    reports[1].append(0.6)
    assert should_stop(bandit(factor=0.1), "maximize", reports, finished={0}) == {1}


# interval 2, delay 5: the policy applies at intervals 6, 8, ...; a trial is judged at its latest one
@pytest.mark.parametrize("interval, delay, count, stopped", [
    (2, 5, 4, False), (2, 5, 5, False), (2, 5, 6, True), (2, 5, 7, True),
    (3, 0, 2, False), (3, 0, 3, True),
    (1, 0, 1, True), (None, None, 1, True), (0, 0, 1, True),  # unset or 0: every report
    (1, 4, 3, False), (1, 4, 4, True),
])
def test_interval_and_delay(interval, delay, count, stopped):
    reports = {0: [1.0] * 10, 1: [0.1] * count}
    assert should_stop(bandit(amount=0.1, interval=interval, delay=delay), "maximize", reports, {0}) == \
        ({1} if stopped else set())


# median stopping: cancelled when the best value up to interval N is worse than the median of every trial's
# running average over 1..N. First row, at interval 3: averages 0.4, 0.5, 0.2833, 0.2; median 0.3417.
@pytest.mark.parametrize("goal, reports, finished, stopped", [
    ("maximize", {0: [0.2, 0.4, 0.6], 1: [0.5] * 3, 2: [0.1, 0.3, 0.45], 3: [0.1, 0.2, 0.3]}, {0, 1}, {3}),
    # best so far counts, not the latest value: trial 2's 0.45 beats the median although it now reports 0.01
    ("maximize", {0: [0.2, 0.4, 0.6], 1: [0.5] * 3, 2: [0.1, 0.45, 0.01], 3: [0.1, 0.2, 0.25]}, {0, 1}, {3}),
    ("minimize", {0: [0.8, 0.6, 0.4], 1: [0.5] * 3, 2: [0.9, 0.7, 0.55], 3: [0.9, 0.8, 0.7]}, {0, 1}, {3}),
    ("maximize", {0: [0.3], 1: [0.2]}, set(), {1}),
    ("maximize", {0: [0.3]}, set(), set()),  # alone, a trial's best is never below its own average
])
def test_median_stopping(goal, reports, finished, stopped):
    policy = {"policyType": "MedianStopping", "evaluationInterval": 1, "delayEvaluation": 0}
    assert should_stop(policy, goal, reports, finished) == stopped


# truncation: the floor(k * X / 100) worst of the k trials at the interval are cancelled (never a finished one)
@pytest.mark.parametrize("percentage, values, goal, finished, stopped", [
    (20, [0.5, 0.4, 0.3, 0.2, 0.1], "maximize", set(), {4}),
    (20, [0.5, 0.4, 0.3, 0.2], "maximize", set(), set()),  # the worst of 4 is not in the lowest 20 %
    (25, [0.5, 0.4, 0.3, 0.2], "maximize", set(), {3}),
    (30, [0.1 * i for i in range(10)], "maximize", set(), {0, 1, 2}),
    (30, [0.1 * i for i in range(10)], "minimize", set(), {7, 8, 9}),
    (20, [0.5, 0.4, 0.3, 0.2, 0.1], "maximize", {4}, set()),  # the lowest one already finished
    (99, [0.1], "maximize", set(), set()),  # a trial alone at an interval
    (50, [0.3, 0.3, 0.3, 0.3], "maximize", set(), {2, 3}),  # ties go against the later trials
])
def test_truncation_selection(percentage, values, goal, finished, stopped):
    policy = {"policyType": "TruncationSelection", "truncationPercentage": percentage,
              "evaluationInterval": 1, "delayEvaluation": 0}
    assert should_stop(policy, goal, {n: [v] for n, v in enumerate(values)}, finished) == stopped


def test_truncation_ranks_by_the_value_at_the_interval():
    policy = {"policyType": "TruncationSelection", "truncationPercentage": 50, "evaluationInterval": 2}
    reports = {0: [0.9, 0.1], 1: [0.1, 0.5], 2: [0.5, 0.6, 0.0]}  # trial 2 is judged at interval 2
    assert should_stop(policy, "maximize", reports, set()) == {0}


def test_no_policy_or_no_reports_stops_nothing():
    assert should_stop(None, "maximize", {0: [0.1], 1: [0.9]}, set()) == set()
    assert should_stop(bandit(factor=0.1), "maximize", {0: [], 1: [0.9]}, set()) == set()


def test_a_nan_report_counts_as_the_worst_value():
    reports = {0: [0.5], 1: [math.nan], 2: [0.4]}
    assert should_stop(bandit(amount=0.2), "maximize", reports, finished={0}) == {1}
    assert should_stop(bandit(amount=0.2), "minimize", reports, finished={0}) == {1}


def test_an_unknown_policy_is_a_validation_error():
    with pytest.raises(ValidationError, match="early_termination: unknown policyType 'Hyperband'"):
        should_stop({"policyType": "Hyperband"}, "maximize", {0: [1.0]}, set())
