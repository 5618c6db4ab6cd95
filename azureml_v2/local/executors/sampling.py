"""Trial parameters of a local sweep: Azure ML's ten distributions under random, Sobol, grid and bayesian sampling.

Parameters are handled in sorted name order. Random and Sobol draw one point u of [0, 1) per parameter
and map it through the distribution (`_from_unit`), so trial n's parameters depend only on (seed, n):
the same sequence whatever the concurrency or the order in which trials finish. Grid walks the
cartesian product of the choice values, the last name varying fastest (itertools.product's order).
Bayesian is Optuna's TPE, rebuilt from the finished trials at each call. Azure ML semantics
("Hyperparameter tuning a model (v2)"): loguniform(min, max) = exp(uniform(min, max)), min and max
being exponents; lognormal = exp(normal); q-variants = round(x / q) * q; randint(upper) in [0, upper).
"""
from __future__ import annotations

import copy
import importlib
import math
import random
import warnings
from decimal import Decimal
from statistics import NormalDist

from ...entities.sweep import DISTRIBUTIONS, GRID_TYPES, SweepDistribution, search_value_from_rest
from ...exceptions import Problem, ValidationError

_EPS = 1e-12  # keeps inv_cdf finite at the ends of the unit interval
DEFAULT_SEED = 0  # the sweep controller gives an unseeded sweep a random seed; this one serves direct callers


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this sampling algorithm needs {module.split('.')[0]}: "
                          "pip install 'azureml_v2[sweep]'") from None


def _rng(seed: int, n: int) -> random.Random:
    # a string seed is hashed (sha512) by random.Random, identically in every process
    return random.Random(f"azureml_v2:{seed}:{n}")


def _round_to(x: float, q) -> int | float:
    steps = round(x / q)
    if float(q).is_integer():
        return int(steps * int(q))
    decimals = max(0, -Decimal(repr(float(q))).as_tuple().exponent)
    return round(steps * q, decimals) + 0.0  # 0.30000000000000004 -> 0.3 for q = 0.1; -0.0 -> 0.0


def _from_unit(kind: str, args: list, u: float):
    """The value of distribution `kind(*args)` at quantile u in [0, 1)."""
    if kind == "choice":
        return copy.deepcopy(args[0][min(int(u * len(args[0])), len(args[0]) - 1)])
    if kind == "randint":
        return min(int(u * args[0]), args[0] - 1)
    base = kind.removeprefix("q").removeprefix("log")
    if base == "uniform":
        x = args[0] + u * (args[1] - args[0])
    else:
        x = NormalDist(args[0], args[1]).inv_cdf(min(max(u, _EPS), 1 - _EPS))
    if "log" in kind:
        x = math.exp(x)
    return _round_to(x, args[2]) if kind.startswith("q") else float(x)


def _to_unit(kind: str, args: list, value) -> float:
    """The quantile of `value` under a non-choice distribution (inverse of `_from_unit`, up to rounding)."""
    if kind == "randint":
        return min(max((value + 0.5) / args[0], 0.0), 1.0)
    x = float(value)
    if "log" in kind:
        x = math.log(x) if x > 0 else -math.inf
    if kind.removeprefix("q").removeprefix("log") == "uniform":
        width = args[1] - args[0]
        u = (x - args[0]) / width if width else 0.5
    else:
        u = NormalDist(args[0], args[1]).cdf(x) if math.isfinite(x) else 0.0
    return min(max(u, 0.0), 1.0)


def _parse(name: str, value) -> tuple[str, list]:
    """(type, parameters) of a search-space entry in REST form, checked by the distribution entities' rules."""
    dist = search_value_from_rest(value)
    if not isinstance(dist, SweepDistribution):
        problems = [("", f"expected [type, [parameters]] with a type of {', '.join(DISTRIBUTIONS)} "
                         "and its parameters")]
    else:
        kind, args = dist._to_rest()
        numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
        problems = dist._problems() if kind == "choice" or numbers else [("", f"{kind} takes numbers, got {args!r}")]
    if problems:
        raise ValidationError([Problem(message, ".".join(filter(None, ("search_space", name, field))))
                               for field, message in problems])
    return kind, args


class TrialSampler:
    """Parameters of trial n of a sweep, from the REST forms of its search space and sampling algorithm."""

    def __init__(self, search_space: dict, sampling_algorithm: dict | None, goal: str):
        if not search_space:
            raise ValidationError([Problem("a sweep needs at least one parameter", "search_space")])
        self._names = sorted(search_space)
        self._dists = [_parse(name, search_space[name]) for name in self._names]
        sampling = sampling_algorithm or {}
        kind = str(sampling.get("samplingAlgorithmType") or "Random").lower()
        if kind == "random" and str(sampling.get("rule") or "Random").lower() == "sobol":
            kind = "sobol"
        if kind not in ("random", "sobol", "grid", "bayesian"):
            raise ValidationError([Problem(f"unknown sampling algorithm {kind!r}", "sampling_algorithm")])
        if kind == "grid":
            problems = [Problem(f"grid sampling takes only choice, not {dist[0]}", f"search_space.{name}")
                        for name, dist in zip(self._names, self._dists) if dist[0] not in GRID_TYPES]
            if problems:
                raise ValidationError(problems)
        self._kind = kind
        seed = sampling.get("seed")
        self._seed = DEFAULT_SEED if seed is None else int(seed)
        self._minimize = str(goal).lower() == "minimize"
        self._sobol = None

    def size(self) -> int | None:
        """The number of grid points (None unless grid sampling)."""
        return math.prod(len(args[0]) for _, args in self._dists) if self._kind == "grid" else None

    def params(self, n: int, history: list[tuple[int, dict, float | None]] = ()) -> dict | None:
        """Trial n's parameters (None once a grid is exhausted). `history` holds the finished trials as
        (number, parameters, primary metric or None when the trial failed); only bayesian reads it."""
        if self._kind == "grid":
            return self._grid(n)
        if self._kind == "bayesian":
            return self._bayesian(n, history)
        if self._kind == "sobol":
            units = self._sobol_point(n)
        else:
            rng = _rng(self._seed, n)
            units = [rng.random() for _ in self._names]
        return {name: _from_unit(kind, args, u) for name, (kind, args), u in zip(self._names, self._dists, units)}

    def _grid(self, n: int) -> dict | None:
        if n >= self.size():
            return None
        chosen = {}
        for name, (_, (values,)) in reversed(list(zip(self._names, self._dists))):
            n, index = divmod(n, len(values))
            chosen[name] = copy.deepcopy(values[index])
        return {name: chosen[name] for name in self._names}

    def _sobol_point(self, n: int) -> list[float]:
        if self._sobol is None:
            qmc = _require("scipy.stats.qmc")
            self._sobol = qmc.Sobol(d=len(self._names), scramble=True, seed=self._seed)
        self._sobol.reset()
        if n:  # scipy refuses fast_forward(0)
            self._sobol.fast_forward(n)
        with warnings.catch_warnings():  # "balance properties need 2**m points": true of any prefix we stop at
            warnings.simplefilter("ignore", UserWarning)
            return [float(u) for u in self._sobol.random(1)[0]]

    def _bayesian(self, n: int, history) -> dict:
        optuna = _require("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # choice is categorical (Azure's choice is unordered); every other parameter is modelled by its
        # quantile in [0, 1], so that TPE sees a bounded space even for normal distributions
        distributions = {
            name: (optuna.distributions.CategoricalDistribution(tuple(range(len(args[0])))) if kind == "choice"
                   else optuna.distributions.FloatDistribution(0.0, 1.0))
            for name, (kind, args) in zip(self._names, self._dists)}
        finished = [(self._internal(params), value) for _, params, value in history]
        values = [value for _, value in finished if _is_score(value)]
        worst = (max if self._minimize else min)(values) if values else None
        # multivariate TPE (Optuna 5's default, opt-in before) found better optima on Branin and Hartmann-6
        # than independent TPE or fewer start-up trials (benchmarks/bench_sweep_quality.py)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=_rng(self._seed, n).getrandbits(32), multivariate=True)
        study = optuna.create_study(direction="minimize" if self._minimize else "maximize", sampler=sampler)
        for internal, value in finished:
            if internal is None:
                continue
            # a failed trial counts as the worst trial seen, so that TPE steers away from where trials fail;
            # before any trial succeeded there is nothing to rank it against
            score = value if _is_score(value) else worst
            state = optuna.trial.TrialState.COMPLETE if score is not None else optuna.trial.TrialState.FAIL
            study.add_trial(optuna.trial.create_trial(params=internal, distributions=distributions,
                                                      value=score, state=state))
        trial = study.ask(distributions)
        return {name: copy.deepcopy(args[0][trial.params[name]]) if kind == "choice"
                else _from_unit(kind, args, trial.params[name]) for name, (kind, args) in zip(self._names, self._dists)}

    def _internal(self, params: dict) -> dict | None:
        """The values TPE models for a finished trial's parameters; None when they are not from this space."""
        internal = {}
        try:
            for name, (kind, args) in zip(self._names, self._dists):
                value = params[name]
                internal[name] = args[0].index(value) if kind == "choice" else _to_unit(kind, args, value)
        except (KeyError, ValueError, TypeError):
            return None
        return internal


def _is_score(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
