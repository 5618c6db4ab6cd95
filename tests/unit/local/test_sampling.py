"""Trial parameters: grid order, seeded reproducibility, Azure ML's distributions, bayesian use of history."""
from __future__ import annotations

import itertools
import json
import math
import random
import statistics
import sys

import pytest

from azureml_v2 import ValidationError
from azureml_v2.local.executors.sampling import TrialSampler

RANDOM = {"samplingAlgorithmType": "Random", "seed": 7}
SOBOL = {"samplingAlgorithmType": "Random", "rule": "Sobol", "seed": 7}
GRID = {"samplingAlgorithmType": "Grid"}
SPACE = {"lr": ["loguniform", [-6, -1]], "kind": ["choice", [["a", "b", {"x": [1]}]]], "n": ["randint", [5]],
         "m": ["qnormal", [0, 2, 0.5]]}


def test_grid_is_the_cartesian_product_in_sorted_name_order():
    values = {"b": [1, 2, 3], "a": ["x", {"deep": [1]}], "c": [0.5, None]}
    sampler = TrialSampler({k: ["choice", [v]] for k, v in values.items()}, GRID, "Minimize")
    expected = [dict(zip(("a", "b", "c"), combo)) for combo in itertools.product(values["a"], values["b"], values["c"])]
    assert sampler.size() == 12
    assert [sampler.params(n, []) for n in range(12)] == expected
    assert sampler.params(12, []) is None and sampler.params(50, []) is None


def test_only_grid_has_a_size():
    assert TrialSampler(SPACE, RANDOM, "Minimize").size() is None


@pytest.mark.parametrize("algorithm", [RANDOM, SOBOL, GRID], ids=["random", "sobol", "grid"])
def test_params_depend_only_on_seed_and_trial_number(algorithm):
    space = SPACE if algorithm is not GRID else {"a": ["choice", [list(range(5))]], "b": ["choice", [[1, 2, 3, 4]]]}
    in_order = [TrialSampler(space, algorithm, "Minimize").params(n, []) for n in range(20)]
    shuffled, history = list(range(20)), []
    random.Random(1).shuffle(shuffled)
    sampler = TrialSampler(space, algorithm, "Maximize")
    for n in shuffled:  # any order, any history: what a concurrent sweep resumed after a crash sees
        params = sampler.params(n, history)
        assert params == in_order[n]
        history.append((n, params, random.random()))
    assert len({json.dumps(p, sort_keys=True) for p in in_order}) == 20


@pytest.mark.parametrize("algorithm", [RANDOM, SOBOL], ids=["random", "sobol"])
def test_the_seed_changes_the_sequence(algorithm):
    first = [TrialSampler(SPACE, algorithm, "Minimize").params(n, []) for n in range(5)]
    other = [TrialSampler(SPACE, {**algorithm, "seed": 8}, "Minimize").params(n, []) for n in range(5)]
    assert first != other


def test_without_a_seed_the_sequence_is_still_fixed():
    unseeded = {"samplingAlgorithmType": "Random"}
    assert TrialSampler(SPACE, unseeded, "Minimize").params(3, []) == TrialSampler(SPACE, unseeded, "x").params(3, [])


def test_sobol_points_stratify_the_interval():
    # the first 2**m points of a Sobol sequence put one point in each of 2**m equal cells
    sampler = TrialSampler({"x": ["uniform", [0, 16]], "y": ["uniform", [0, 16]]}, SOBOL, "Minimize")
    points = [sampler.params(n, []) for n in range(16)]
    assert sorted(int(p["x"]) for p in points) == list(range(16))
    assert sorted(int(p["y"]) for p in points) == list(range(16))


def _q_multiple(value, q):
    return math.isclose(value / q, round(value / q), abs_tol=1e-9)


# (distribution, check of one value, check of the sample) per Azure ML's definitions
CASES = {
    "choice": (["choice", [[1, "two", [3]]]], lambda v: v in (1, "two", [3]), lambda vs: len(set(map(str, vs))) == 3),
    "randint": (["randint", [4]], lambda v: type(v) is int and 0 <= v < 4, lambda vs: set(vs) == {0, 1, 2, 3}),
    "uniform": (["uniform", [-2, 3]], lambda v: type(v) is float and -2 <= v <= 3,
                lambda vs: abs(statistics.fmean(vs) - 0.5) < 0.2),
    "loguniform": (["loguniform", [-3, 2]], lambda v: type(v) is float and math.exp(-3) <= v <= math.exp(2),
                   lambda vs: abs(statistics.fmean(map(math.log, vs)) + 0.5) < 0.2),
    "normal": (["normal", [10, 2]], lambda v: type(v) is float,
               lambda vs: abs(statistics.fmean(vs) - 10) < 0.2 and abs(statistics.stdev(vs) - 2) < 0.2),
    "lognormal": (["lognormal", [0, 1]], lambda v: type(v) is float and v > 0,
                  lambda vs: abs(statistics.fmean(map(math.log, vs))) < 0.1),
    "quniform": (["quniform", [0, 10, 2]], lambda v: type(v) is int and v % 2 == 0 and 0 <= v <= 10,
                 lambda vs: set(vs) == {0, 2, 4, 6, 8, 10}),
    "quniform float q": (["quniform", [0, 1, 0.1]], lambda v: type(v) is float and v == round(v, 1) and 0 <= v <= 1,
                         lambda vs: len(set(vs)) == 11),
    "qloguniform": (["qloguniform", [0, 3, 5]], lambda v: type(v) is int and v % 5 == 0 and 0 <= v <= 20,
                    lambda vs: {0, 5, 20} <= set(vs)),
    "qnormal": (["qnormal", [0, 1, 0.25]], lambda v: type(v) is float and _q_multiple(v, 0.25),
                lambda vs: abs(statistics.fmean(vs)) < 0.1),
    "qlognormal": (["qlognormal", [1, 0.5, 1]], lambda v: type(v) is int and v >= 0,
                   lambda vs: 2 <= statistics.median(vs) <= 3),  # median of exp(N(1, .5)) is e
}


@pytest.mark.parametrize("algorithm", [RANDOM, SOBOL], ids=["random", "sobol"])
@pytest.mark.parametrize("case", CASES)
def test_every_distribution_follows_azure_semantics(case, algorithm):
    dist, value_ok, sample_ok = CASES[case]
    sampler = TrialSampler({"p": dist}, algorithm, "Minimize")
    values = [sampler.params(n, [])["p"] for n in range(1000)]
    assert all(value_ok(v) for v in values), [v for v in values if not value_ok(v)][:5]
    assert sample_ok(values)
    json.dumps(values, allow_nan=False)


@pytest.mark.parametrize("case", CASES)
def test_bayesian_values_obey_the_distribution(case):
    dist, value_ok, _ = CASES[case]
    sampler = TrialSampler({"p": dist}, {"samplingAlgorithmType": "Bayesian", "seed": 1}, "Minimize")
    history = []
    for n in range(15):
        params = sampler.params(n, history)
        assert value_ok(params["p"]), params
        history.append((n, params, random.Random(n).random()))


def _best_after(sampler, f, trials=30):
    history = []
    for n in range(trials):
        params = sampler.params(n, history)
        history.append((n, params, f(params["x"])))
    return history


@pytest.mark.parametrize("goal, f", [("Minimize", lambda x: (x - 2) ** 2), ("Maximize", lambda x: -(x - 2) ** 2)])
def test_bayesian_samples_good_regions_more_than_random(goal, f):
    space = {"x": ["uniform", [-10, 10]]}
    near = {}
    for kind in ("Bayesian", "Random"):  # after TPE's 10 random start-up trials, over 5 seeds
        histories = [_best_after(TrialSampler(space, {"samplingAlgorithmType": kind, "seed": seed}, goal), f)
                     for seed in range(5)]
        near[kind] = statistics.fmean(abs(params["x"] - 2) < 1
                                      for history in histories for _, params, _ in history[10:])
    assert near["Bayesian"] > 0.3 and near["Bayesian"] > 3 * near["Random"], near  # random: 10 % expected


@pytest.mark.parametrize("goal, worst", [("Minimize", max), ("Maximize", min)])
def test_bayesian_treats_failed_trials_as_worst(goal, worst):
    sampler = TrialSampler({"x": ["uniform", [-10, 10]]}, {"samplingAlgorithmType": "Bayesian", "seed": 3}, goal)
    history = _best_after(sampler, lambda x: x, trials=15)
    failed = [(n, params, None if n in (3, 12) else value) for n, params, value in history]
    as_worst = [(n, params, worst(v for m, _, v in history if m not in (3, 12)) if n in (3, 12) else value)
                for n, params, value in history]
    ignored = [trial for trial in failed if trial[2] is not None]
    assert sampler.params(15, failed) == sampler.params(15, as_worst) != sampler.params(15, ignored)


def test_bayesian_accepts_any_history():
    sampler = TrialSampler({"x": ["uniform", [0, 1]], "c": ["choice", [["a", "b"]]]},
                           {"samplingAlgorithmType": "Bayesian"}, "Maximize")
    only_failures = [(n, {"x": 0.1 * n, "c": "a"}, None) for n in range(12)]
    assert set(sampler.params(12, only_failures)) == {"x", "c"}
    odd = [(0, {"x": 0.5, "c": "zzz"}, 1.0), (1, {"y": 2}, 1.0), (2, {"x": 0.2, "c": "b"}, math.nan),
           (3, {"x": 7.0, "c": "a"}, 2.0)]  # an unknown choice, a missing name, NaN, a value out of bounds
    params = sampler.params(4, odd)
    assert 0 <= params["x"] <= 1 and params["c"] in ("a", "b")


def test_bayesian_differs_between_concurrent_trials_with_the_same_history():
    sampler = TrialSampler({"x": ["uniform", [0, 1]]}, {"samplingAlgorithmType": "Bayesian", "seed": 0}, "Minimize")
    history = _best_after(sampler, lambda x: x, trials=12)
    assert sampler.params(12, history) != sampler.params(13, history)
    assert sampler.params(12, history) == sampler.params(12, history)


@pytest.mark.parametrize("space, algorithm, message", [
    ({"x": ["gamma", [1]]}, RANDOM, r"search_space.x: expected \[type, \[parameters\]\] with a type of choice, "),
    ({"x": ["uniform", [1]]}, RANDOM, r"search_space.x: expected \[type, \[parameters\]\]"),
    ({"x": ["choice", [[]]]}, RANDOM, "search_space.x.values: a choice needs at least one value"),
    ({"x": ["randint", [0]]}, RANDOM, r"search_space.x.upper: upper is the exclusive bound of \[0, upper\)"),
    ({"x": ["uniform", [2, 1]]}, RANDOM, r"search_space.x.min_value: min_value \(2\) is greater than max_value"),
    ({"x": ["normal", [0, -1]]}, RANDOM, "search_space.x.sigma: sigma is a standard deviation and must be positive"),
    ({"x": ["normal", ["a", 1]]}, RANDOM, "search_space.x: normal takes numbers"),
    ({}, RANDOM, "search_space: a sweep needs at least one parameter"),
    ({"x": 3}, RANDOM, r"search_space.x: expected \[type, \[parameters\]\]"),
    ({"x": ["uniform", [0, 1]]}, GRID, "search_space.x: grid sampling takes only choice, not uniform"),
    ({"x": ["uniform", [0, 1]]}, {"samplingAlgorithmType": "Hyperband"}, "unknown sampling algorithm 'hyperband'"),
])
def test_bad_input_is_a_located_validation_error(space, algorithm, message):
    with pytest.raises(ValidationError, match=message):
        TrialSampler(space, algorithm, "Minimize")


def test_a_missing_optuna_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    sampler = TrialSampler({"x": ["uniform", [0, 1]]}, {"samplingAlgorithmType": "Bayesian"}, "Minimize")
    with pytest.raises(ImportError, match=r"pip install 'azureml_v2\[sweep\]'"):
        sampler.params(0, [])
