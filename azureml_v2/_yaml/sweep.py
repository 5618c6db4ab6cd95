"""Schemas for sweep jobs: search space, sampling algorithm, objective, limits, early termination, trial."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Range, Regexp

from ..entities import sweep as S
from ..entities.job import CommandJob, SweepJob
from ..exceptions import suggest
from .api import _schema
from .base import BaseSchema
from .fields import Duration, Enum, StrMap, Switch
from .io import Num
from .jobs import (JobFields, ResourcesSchema, TypedSchema, _names, code_field, distribution_field,
                   environment_field)


# -- search space ----------------------------------------------------------------------------
class ChoiceValue(fields.Field):
    """One of a choice's values: a plain string, number or boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            raise ValidationError("not supported yet: nested search spaces (a mapping among choice values)")
        if isinstance(value, (str, int, float, bool)):
            return value
        raise ValidationError("expected a plain value (string, number or boolean)")


def _distribution_schema(entity, **own) -> type:
    """The schema of one distribution: its `type` plus its parameters, all required."""
    return type(f"{entity.__name__}Schema", (TypedSchema,), {"entity": entity, **own})


def _reals(*names) -> dict:
    return {name: Num(required=True) for name in names}


DISTRIBUTION_SCHEMAS = {
    "choice": _distribution_schema(S.Choice, values=fields.List(ChoiceValue(), required=True)),
    "randint": _distribution_schema(S.Randint, upper=fields.Integer(strict=True, required=True)),
    "uniform": _distribution_schema(S.Uniform, **_reals("min_value", "max_value")),
    "loguniform": _distribution_schema(S.LogUniform, **_reals("min_value", "max_value")),
    "normal": _distribution_schema(S.Normal, **_reals("mu", "sigma")),
    "lognormal": _distribution_schema(S.LogNormal, **_reals("mu", "sigma")),
    "quniform": _distribution_schema(S.QUniform, **_reals("min_value", "max_value", "q")),
    "qloguniform": _distribution_schema(S.QLogUniform, **_reals("min_value", "max_value", "q")),
    "qnormal": _distribution_schema(S.QNormal, **_reals("mu", "sigma", "q")),
    "qlognormal": _distribution_schema(S.QLogNormal, **_reals("mu", "sigma", "q")),
}


# -- sampling algorithm ----------------------------------------------------------------------
class SamplingAlgorithmSchema(TypedSchema):
    type = Enum(S.SAMPLING_TYPES, required=True)
    seed = fields.Integer(strict=True)
    rule = Enum(S.RANDOM_RULES)
    not_supported = ("logbase",)

    @validates_schema(skip_on_field_errors=False)
    def _random_only(self, data, **_):
        kind = data.get("type")
        if kind is not None and kind != "random":  # None: missing or invalid, reported by its field
            wrong = {key: [f"{key} applies to random sampling only (type: random), not {kind}"]
                     for key in ("rule", "seed") if data.get(key) is not None}
            if wrong:
                raise ValidationError(wrong)

    @post_load
    def _build(self, data, **_):
        return S.SAMPLING_ALGORITHMS[data.pop("type")](**data)


class SamplingAlgorithmField(fields.Field):
    """`random`, `grid`, `bayesian`, or a mapping `{type: random, seed, rule}`; the string form stays a string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if value.lower() not in S.SAMPLING_TYPES:
                raise ValidationError(f"invalid value {value!r}: expected one of {', '.join(S.SAMPLING_TYPES)}"
                                      + suggest(value, S.SAMPLING_TYPES))
            return value.lower()
        if isinstance(value, dict):
            return _schema("sweep", "SamplingAlgorithmSchema").load(value)
        raise ValidationError(f"expected one of {', '.join(S.SAMPLING_TYPES)} or a mapping with a type")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return _schema("sweep", "SamplingAlgorithmSchema").dump(value)


# -- objective, limits, early termination ----------------------------------------------------
class ObjectiveSchema(BaseSchema):
    entity = S.Objective
    goal = Enum(("minimize", "maximize"), required=True)
    primary_metric = fields.String(required=True, validate=Regexp(r"\S", error="the metric name is empty"))


class SweepJobLimitsSchema(BaseSchema):
    entity = S.SweepJobLimits
    max_total_trials = fields.Integer(strict=True)
    max_concurrent_trials = fields.Integer(strict=True)
    timeout = Duration()
    trial_timeout = Duration()


class _PolicySchema(TypedSchema):
    evaluation_interval = fields.Integer(strict=True, validate=Range(min=0))
    delay_evaluation = fields.Integer(strict=True, validate=Range(min=0))


class BanditPolicySchema(_PolicySchema):
    entity = S.BanditPolicy
    slack_factor = Num(validate=Range(min=0))
    slack_amount = Num(validate=Range(min=0))


class MedianStoppingPolicySchema(_PolicySchema):
    entity = S.MedianStoppingPolicy


class TruncationSelectionPolicySchema(_PolicySchema):
    entity = S.TruncationSelectionPolicy
    truncation_percentage = fields.Integer(strict=True, required=True)
    not_supported = ("exclude_finished_jobs",)


POLICY_SCHEMAS = {"bandit": BanditPolicySchema, "median_stopping": MedianStoppingPolicySchema,
                  "truncation_selection": TruncationSelectionPolicySchema}


# -- trial -----------------------------------------------------------------------------------
class TrialSchema(BaseSchema):
    """The command template of every trial (a CommandJob with only these fields)."""

    entity = CommandJob
    command = fields.String(required=True, validate=Regexp(r"\S", error="the command is empty"))
    code = code_field()
    environment = environment_field(required=True)
    environment_variables = StrMap()
    distribution = distribution_field()
    resources = fields.Nested(ResourcesSchema)
    not_supported = ("queue_settings",)


# -- the job ---------------------------------------------------------------------------------
class SweepJobSchema(TypedSchema, JobFields):
    entity = SweepJob
    schema = fields.String(data_key="$schema")
    type = Enum(("sweep",), required=True)
    trial = fields.Nested(TrialSchema, required=True)
    search_space = fields.Dict(keys=fields.String(), values=Switch(DISTRIBUTION_SCHEMAS), required=True)
    sampling_algorithm = SamplingAlgorithmField(required=True)
    objective = fields.Nested(ObjectiveSchema, required=True)
    limits = fields.Nested(SweepJobLimitsSchema)
    early_termination = Switch(POLICY_SCHEMAS)
    order = ("$schema", "type", "name", "display_name", "experiment_name", "description", "tags", "properties",
             "compute", "inputs", "outputs", "trial", "search_space", "sampling_algorithm", "objective", "limits",
             "early_termination", "identity", "services", "queue_settings")
    not_supported = ("resources", "component", "notification_setting", "parent_job_name")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _azure_rules(self, data, original, **_):
        declared = {root: _names(original.get(root)) for root in ("inputs", "outputs", "search_space")}
        # values that did not load are reported by their fields already
        space = {k: v for k, v in (data.get("search_space") or {}).items() if isinstance(v, S.SweepDistribution)}
        problems = S.sweep_problems({**data, "search_space": space}, declared)
        if problems:
            raise ValidationError(_nest(problems))


def _nest(problems) -> dict:
    """[(path, message)] -> marshmallow's nested error mapping, so each problem keeps its path.

    Messages sit under `_schema` at their node, so a path may also prefix another one.
    """
    out: dict = {}
    for path, message in problems:
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node.setdefault("_schema", []).append(message)
    return out
