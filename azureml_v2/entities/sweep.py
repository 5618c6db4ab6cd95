"""What a sweep job is made of: search-space distributions, sampling, objective, limits, early
termination, and Azure ML's rules across them (the SweepJob itself is in entities.job).

Names, YAML spellings and rules follow Azure ML's sweep job (CLI v2 `sweepJob` schema and
the api-version 2024-04-01 REST contract).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from .._contract import MAX_TRIALS, iso_from_seconds, seconds_from_iso
from ._rest import compact
from .inputs import placeholder_problems


# -- search-space distributions ------------------------------------------------------------
@dataclass
class SweepDistribution:
    """A hyperparameter's distribution; its REST form is `[type, [parameters...]]`."""

    type: ClassVar[str]

    def _to_rest(self) -> list:
        return [self.type, [getattr(self, f.name) for f in dataclasses.fields(self)]]

    @classmethod
    def _from_rest_params(cls, params: list) -> "SweepDistribution":
        return cls(*params)

    def _problems(self) -> list[tuple[str, str]]:
        """(field, message) for values no sampler can use."""
        return []


@dataclass
class Choice(SweepDistribution):
    """One of a list of discrete values (a list, a range or any iterable)."""

    type: ClassVar[str] = "choice"
    values: list

    def __post_init__(self):
        if not isinstance(self.values, (list, str, dict)):  # range, tuple, generator ...
            self.values = list(self.values)

    def _to_rest(self) -> list:
        return [self.type, [list(self.values)]]  # the service nests the value list once more

    @classmethod
    def _from_rest_params(cls, params: list) -> "Choice":
        return cls(list(params[0]))

    def _problems(self):
        if not self.values:
            return [("values", "a choice needs at least one value")]
        return []


@dataclass
class Randint(SweepDistribution):
    """An integer in [0, upper)."""

    type: ClassVar[str] = "randint"
    upper: int

    def _problems(self):
        if isinstance(self.upper, bool) or not isinstance(self.upper, int) or self.upper < 1:
            return [("upper", f"upper is the exclusive bound of [0, upper): expected an integer of 1 or more, "
                              f"got {self.upper!r}")]
        return []


@dataclass
class _Range(SweepDistribution):
    min_value: float
    max_value: float

    def _problems(self):
        low, high = self.min_value, self.max_value
        if low is not None and high is not None and low > high:
            return [("min_value", f"min_value ({low}) is greater than max_value ({high})")]
        return []


@dataclass
class _Gaussian(SweepDistribution):
    mu: float
    sigma: float

    def _problems(self):
        if self.sigma is not None and self.sigma <= 0:
            return [("sigma", f"sigma is a standard deviation and must be positive, got {self.sigma}")]
        return []


def _q_problems(q) -> list[tuple[str, str]]:
    if q is not None and q <= 0:
        return [("q", f"q (the rounding step) must be positive, got {q}")]
    return []


@dataclass
class _QRange(_Range):
    q: float

    def _problems(self):
        return super()._problems() + _q_problems(self.q)


@dataclass
class _QGaussian(_Gaussian):
    q: float

    def _problems(self):
        return super()._problems() + _q_problems(self.q)


class Uniform(_Range):
    """A real value uniformly distributed in [min_value, max_value]."""

    type = "uniform"


class LogUniform(_Range):
    """exp(Uniform(min_value, max_value)): a value whose logarithm is uniform."""

    type = "loguniform"


class Normal(_Gaussian):
    """A real value normally distributed with mean mu and standard deviation sigma."""

    type = "normal"


class LogNormal(_Gaussian):
    """exp(Normal(mu, sigma)): a value whose logarithm is normal."""

    type = "lognormal"


class QUniform(_QRange):
    """round(Uniform(min_value, max_value) / q) * q."""

    type = "quniform"


class QLogUniform(_QRange):
    """round(exp(Uniform(min_value, max_value)) / q) * q."""

    type = "qloguniform"


class QNormal(_QGaussian):
    """round(Normal(mu, sigma) / q) * q."""

    type = "qnormal"


class QLogNormal(_QGaussian):
    """round(exp(Normal(mu, sigma)) / q) * q."""

    type = "qlognormal"


DISTRIBUTIONS: dict[str, type[SweepDistribution]] = {
    cls.type: cls for cls in (Choice, Randint, Uniform, LogUniform, Normal, LogNormal,
                              QUniform, QLogUniform, QNormal, QLogNormal)}


def search_value_from_rest(value):
    """`[type, [params]]` -> a distribution; a form this SDK does not know is kept as sent."""
    if (isinstance(value, list) and len(value) == 2 and value[0] in DISTRIBUTIONS
            and isinstance(value[1], list)):
        try:
            return DISTRIBUTIONS[value[0]]._from_rest_params(value[1])
        except (TypeError, IndexError):
            pass
    return value


# -- sampling --------------------------------------------------------------------------------
SAMPLING_TYPES = ("random", "grid", "bayesian")
RANDOM_RULES = ("random", "sobol")


@dataclass(kw_only=True)
class SamplingAlgorithm:
    """How trial parameters are drawn from the search space."""

    type: ClassVar[str]

    def _to_rest(self) -> dict:
        return {"samplingAlgorithmType": self.type.capitalize()}


@dataclass(kw_only=True)
class RandomSamplingAlgorithm(SamplingAlgorithm):
    """Random sampling; `rule: sobol` draws a Sobol quasi-random sequence; `seed` makes it repeatable."""

    type: ClassVar[str] = "random"
    seed: int | None = None
    rule: str | None = None

    def __post_init__(self):
        if isinstance(self.rule, str):
            self.rule = self.rule.lower()

    def _to_rest(self) -> dict:
        return compact({**super()._to_rest(), "rule": self.rule.capitalize() if self.rule else None,
                        "seed": self.seed})


@dataclass(kw_only=True)
class GridSamplingAlgorithm(SamplingAlgorithm):
    """Every combination of the (choice-only) search space."""

    type: ClassVar[str] = "grid"


@dataclass(kw_only=True)
class BayesianSamplingAlgorithm(SamplingAlgorithm):
    """Parameters chosen from how earlier trials did."""

    type: ClassVar[str] = "bayesian"


SAMPLING_ALGORITHMS: dict[str, type[SamplingAlgorithm]] = {
    cls.type: cls for cls in (RandomSamplingAlgorithm, GridSamplingAlgorithm, BayesianSamplingAlgorithm)}


def sampling_type(value: str | SamplingAlgorithm | None) -> str | None:
    """`random`, `grid` or `bayesian`, whether written as a string or an object."""
    if isinstance(value, SamplingAlgorithm):
        return value.type
    return value.lower() if isinstance(value, str) else None


def sampling_to_rest(value: str | SamplingAlgorithm) -> dict:
    if isinstance(value, str):
        return {"samplingAlgorithmType": value.capitalize()}
    return value._to_rest()


def sampling_from_rest(body: dict) -> str | SamplingAlgorithm:
    """The string form unless the body carries options, as users write it."""
    kind = body["samplingAlgorithmType"].lower()
    if kind == "random" and (body.get("rule") is not None or body.get("seed") is not None):
        return RandomSamplingAlgorithm(seed=body.get("seed"), rule=body.get("rule"))
    return kind


# -- objective and limits --------------------------------------------------------------------
@dataclass(kw_only=True)
class Objective:
    """The metric each trial logs (with MLflow) and whether lower or higher is better."""

    goal: str
    primary_metric: str

    def __post_init__(self):
        if isinstance(self.goal, str):  # azure-ai-ml users write "Maximize"
            self.goal = self.goal.lower()

    def _to_rest(self) -> dict:
        return {"goal": self.goal.capitalize(), "primaryMetric": self.primary_metric}

    @classmethod
    def _from_rest(cls, body: dict) -> "Objective":
        return cls(goal=body["goal"], primary_metric=body["primaryMetric"])


@dataclass(kw_only=True)
class SweepJobLimits:
    """Trial counts, and timeouts in seconds (ISO 8601 durations on the wire)."""

    max_total_trials: int | None = None
    max_concurrent_trials: int | None = None
    timeout: int | float | None = None
    trial_timeout: int | float | None = None

    def _to_rest(self) -> dict:
        return compact({"jobLimitsType": "Sweep", "maxTotalTrials": self.max_total_trials,
                        "maxConcurrentTrials": self.max_concurrent_trials, "timeout": iso_from_seconds(self.timeout),
                        "trialTimeout": iso_from_seconds(self.trial_timeout)})

    @classmethod
    def _from_rest(cls, body: dict) -> "SweepJobLimits":
        return cls(max_total_trials=body.get("maxTotalTrials"), max_concurrent_trials=body.get("maxConcurrentTrials"),
                   timeout=seconds_from_iso(body.get("timeout")),
                   trial_timeout=seconds_from_iso(body.get("trialTimeout")))


# -- early termination -----------------------------------------------------------------------
@dataclass(kw_only=True)
class EarlyTerminationPolicy:
    """Cancels poorly performing trials; applied every `evaluation_interval` metric reports
    once `delay_evaluation` reports have been made."""

    type: ClassVar[str]
    _REST_TYPE: ClassVar[str]
    _REST_FIELDS: ClassVar[tuple[tuple[str, str], ...]] = ()
    evaluation_interval: int | None = None
    delay_evaluation: int | None = None

    def _to_rest(self) -> dict:
        return compact({"policyType": self._REST_TYPE, "evaluationInterval": self.evaluation_interval,
                        "delayEvaluation": self.delay_evaluation,
                        **{rest: getattr(self, attr) for attr, rest in self._REST_FIELDS}})

    @staticmethod
    def _from_rest(body: dict) -> "EarlyTerminationPolicy":
        cls = next((c for c in POLICIES.values() if c._REST_TYPE == body.get("policyType")), None)
        if cls is None:
            raise ValueError(f"unknown policyType {body.get('policyType')!r}")
        own = {attr: body.get(rest) for attr, rest in cls._REST_FIELDS}
        if own.get("slack_factor") and own.get("slack_amount") == 0:  # the spec's default for the unused slack
            own["slack_amount"] = None
        elif own.get("slack_amount") and own.get("slack_factor") == 0:
            own["slack_factor"] = None
        return cls(evaluation_interval=body.get("evaluationInterval"), delay_evaluation=body.get("delayEvaluation"),
                   **own)

    def _problems(self) -> list[tuple[str, str]]:
        return []


@dataclass(kw_only=True)
class BanditPolicy(EarlyTerminationPolicy):
    """Cancels trials whose metric falls outside a slack (a ratio or an absolute amount) of the best trial."""

    type: ClassVar[str] = "bandit"
    _REST_TYPE: ClassVar[str] = "Bandit"
    _REST_FIELDS: ClassVar = (("slack_factor", "slackFactor"), ("slack_amount", "slackAmount"))
    slack_factor: float | None = None
    slack_amount: float | None = None

    def _problems(self):
        if (self.slack_factor is None) == (self.slack_amount is None):
            where = "slack_amount" if self.slack_factor is not None else ""
            return [(where, "a bandit policy takes exactly one of slack_factor or slack_amount")]
        return []


@dataclass(kw_only=True)
class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Cancels trials whose best metric is worse than the median of the running averages of all trials."""

    type: ClassVar[str] = "median_stopping"
    _REST_TYPE: ClassVar[str] = "MedianStopping"


@dataclass(kw_only=True)
class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Cancels the given percentage of lowest performing trials at each evaluation."""

    type: ClassVar[str] = "truncation_selection"
    _REST_TYPE: ClassVar[str] = "TruncationSelection"
    _REST_FIELDS: ClassVar = (("truncation_percentage", "truncationPercentage"),)
    truncation_percentage: int | None = None

    def _problems(self):
        p = self.truncation_percentage
        if p is None or isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 99:
            return [("truncation_percentage", f"truncation_percentage must be an integer from 1 to 99, got {p!r}")]
        return []


POLICIES: dict[str, type[EarlyTerminationPolicy]] = {
    cls.type: cls for cls in (BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy)}


# -- Azure ML's rules ------------------------------------------------------------------------
# Grid enumerates discrete values only; Bayesian sampling models choice, uniform and quniform
# and takes no early termination (Azure ML: "Hyperparameter tuning a model (v2)").
GRID_TYPES = ("choice",)
BAYESIAN_TYPES = ("choice", "uniform", "quniform")


def sweep_problems(job: dict, declared: dict) -> list[tuple[tuple, str]]:
    """Azure ML's cross-field rules for a sweep, as (path, message).

    `job` maps SweepJob field names to entities (from the YAML loader or a SweepJob);
    `declared` maps `inputs`, `outputs`, `search_space` to the names the trial command may use,
    or to None where they could not be read.
    """
    problems = []
    space = job.get("search_space") or {}
    algorithm = sampling_type(job.get("sampling_algorithm"))
    policy = job.get("early_termination")
    for key, dist in space.items():
        if not isinstance(dist, SweepDistribution):
            problems.append((("search_space", key), "expected a distribution (Choice, Uniform, ...)"))
            continue
        problems += [(("search_space", key) + ((name,) if name else ()), message) for name, message in dist._problems()]
        if algorithm == "grid" and dist.type not in GRID_TYPES:
            problems.append((("search_space", key, "type"),
                             f"grid sampling takes only choice, not {dist.type}: list the values to try, "
                             "or use random sampling"))
        elif algorithm == "bayesian" and dist.type not in BAYESIAN_TYPES:
            problems.append((("search_space", key, "type"),
                             f"bayesian sampling takes only {', '.join(BAYESIAN_TYPES)}, not {dist.type}"))
    if algorithm not in (None, *SAMPLING_TYPES):
        problems.append((("sampling_algorithm",), f"unknown sampling algorithm {algorithm!r}: expected one of "
                                                  + ", ".join(SAMPLING_TYPES)))
    if isinstance(policy, EarlyTerminationPolicy):
        problems += [(("early_termination",) + ((name,) if name else ()), message)
                     for name, message in policy._problems()]
        if algorithm == "bayesian":
            problems.append((("early_termination",), "bayesian sampling does not support early termination: "
                                                     "remove early_termination or use random sampling"))
    objective = job.get("objective")
    if isinstance(objective, Objective) and objective.goal not in ("minimize", "maximize"):
        problems.append((("objective", "goal"), f"goal must be minimize or maximize, got {objective.goal!r}"))
    limits = job.get("limits")
    if isinstance(limits, SweepJobLimits):
        total, concurrent = limits.max_total_trials, limits.max_concurrent_trials
        for name, value in (("max_total_trials", total), ("max_concurrent_trials", concurrent)):
            if value is not None and not 1 <= value <= MAX_TRIALS:
                problems.append((("limits", name), f"{name} must be from 1 to {MAX_TRIALS}, got {value}"))
        # more concurrent trials than trials in all is no mistake: the service runs at most max_total_trials
    trial = job.get("trial")
    command = getattr(trial, "command", None)
    if isinstance(command, str):
        names = {root: None if found is None else [n for n in found if isinstance(n, str)]  # others: bad keys
                 for root, found in declared.items()}
        problems += [(("trial", "command"), message) for message in placeholder_problems(command, names)]
    return problems
