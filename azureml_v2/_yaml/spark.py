"""Schemas for spark jobs, spark components and spark pipeline nodes (`type: spark`), with the checks Azure ML
makes before it takes one: the entry, the driver and executor settings in `conf`, direct data, serverless
resources or an attached compute."""
from __future__ import annotations

import os
import re

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Regexp

from ..entities import spark as S
from ..entities.inputs import placeholder_problems
from .base import BaseSchema
from .fields import Enum, LocalPath, Name, StrMap
from .jobs import JobFields, TypedSchema, _names, code_field, environment_field, identity_field
from .pipelines import ComponentField, _ComponentFields, _NodeSchema
from .sweep import _nest


class SparkEntrySchema(BaseSchema):
    entity = S.SparkJobEntry
    file = fields.String(validate=Regexp(r"\S", error="the entry file is empty"))
    class_name = fields.String(validate=Regexp(r"\S", error="the entry class is empty"))

    @validates_schema(skip_on_field_errors=False)
    def _one(self, data, **_):
        if ("file" in data) == ("class_name" in data):
            raise ValidationError("expected one of file (a Python file of the code) or class_name (a JVM class)"
                                  + (", not both" if "file" in data else ""))


class RuntimeVersion(fields.Field):
    """`3.4`: a Spark runtime, written as a string or a number."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not re.fullmatch(r"\d+\.\d+", text):
            raise ValidationError(f"expected a Spark runtime version such as 3.4, got {value!r}")
        return text

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class SparkResourceConfigurationSchema(BaseSchema):
    entity = S.SparkResourceConfiguration
    instance_type = Enum(S.INSTANCE_TYPES, required=True)
    runtime_version = RuntimeVersion(required=True)


def _unique(kind: str):
    def check(values):
        seen = set()
        for value in values:
            if value in seen:
                raise ValidationError(f"{value!r} is listed twice in {kind}")
            seen.add(value)
    return check


class Conf(StrMap):
    """Spark properties: plain values; the wire's strings (`2`, `True`) read as the numbers and booleans they
    spell, so that a job read back from the service equals the one loaded from YAML."""

    def _deserialize(self, value, attr, data, **kwargs):
        return S.conf_from_rest(super()._deserialize(value, attr, data, **kwargs)) or {}


class _SparkFields(Schema):
    """The application and how Spark runs it: what spark jobs and spark components share."""

    code = code_field(required=True)
    entry = fields.Nested(SparkEntrySchema, required=True)
    py_files = fields.List(fields.String(), validate=_unique("py_files"))
    jars = fields.List(fields.String(), validate=_unique("jars"))
    files = fields.List(fields.String(), validate=_unique("files"))
    archives = fields.List(fields.String(), validate=_unique("archives"))
    conf = Conf()
    args = fields.String()
    environment = environment_field()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _spark(self, data, original, **_):
        if not isinstance(original, dict):
            return
        conf_failed = "conf" in original and "conf" not in data  # reported by its field
        problems = [] if conf_failed else S.conf_problems(data.get("conf"))
        args = original.get("args")
        if isinstance(args, str):
            declared = {r: _names(original.get(r)) for r in ("inputs", "outputs")}
            problems += [(("args",), m) for m in placeholder_problems(args, declared)]
        code, entry = data.get("code"), data.get("entry")
        if isinstance(code, str) and os.path.isdir(code) and isinstance(entry, S.SparkJobEntry) and entry.file \
                and not os.path.isfile(os.path.join(code, entry.file)):
            problems.append((("entry", "file"), f"no such file in the code folder {code}: {entry.file}"))
        problems += self._own_problems(data, original)
        if problems:
            raise ValidationError(_nest(problems))

    def _own_problems(self, data, original) -> list:
        return []


def _placement_problems(original: dict) -> list:
    """Serverless resources or an attached compute (as written, valid or not): one of them, never both."""
    if original.get("compute") is not None and original.get("resources") is not None:
        return [(("compute",), "a spark job runs either on an attached Spark pool (compute) or on serverless Spark "
                               "(resources), not both")]
    if original.get("compute") is None and original.get("resources") is None:
        return [(("resources",), "required: resources (instance_type, runtime_version) for serverless Spark, or "
                                 "compute: an attached Spark pool (on the local workspace: compute: local)")]
    return []


class SparkJobSchema(_SparkFields, TypedSchema, JobFields):
    entity = S.SparkJob
    schema = fields.String(data_key="$schema")
    type = Enum(("spark",), required=True)
    resources = fields.Nested(SparkResourceConfigurationSchema)
    environment_variables = StrMap()
    not_supported = ("component", "notification_setting", "parent_job_name")
    order = ("$schema", "type", "name", "display_name", "experiment_name", "description", "tags", "properties",
             "code", "entry", "py_files", "jars", "files", "archives", "conf", "args", "environment",
             "environment_variables", "compute", "resources", "inputs", "outputs", "identity", "services",
             "queue_settings")

    def _own_problems(self, data, original) -> list:
        return (_placement_problems(original) + S.mode_problems(data.get("inputs"), "inputs")
                + S.mode_problems(data.get("outputs"), "outputs"))


class SparkComponentSchema(_SparkFields, _ComponentFields):
    entity = S.SparkComponent
    type = Enum(("spark",), required=True)
    is_deterministic = fields.Boolean()
    additional_includes = fields.List(LocalPath())
    order = ("$schema", "type", "name", "version", "display_name", "description", "tags", "is_deterministic",
             "inputs", "outputs", "code", "entry", "py_files", "jars", "files", "archives", "conf", "args",
             "environment", "additional_includes")


class InlineSparkComponentSchema(SparkComponentSchema):
    name = Name()


class SparkNodeSchema(_NodeSchema):
    entity = S.Spark
    type = Enum(("spark",), required=True)
    component = ComponentField(("spark",), required=True)
    resources = fields.Nested(SparkResourceConfigurationSchema)
    identity = identity_field()
    conf = Conf()
    args = fields.String()
    not_supported = ("services", "queue_settings", "code", "entry", "py_files", "jars", "files", "archives",
                     "environment")
    order = ("type", "display_name", "description", "tags", "properties", "component", "compute", "resources",
             "identity", "inputs", "outputs", "conf", "args")

    def _component_or_inline(self, data, original, **_):
        pass  # the component is required by its field

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _spark(self, data, original, **_):
        problems = _placement_problems(original) + S.mode_problems(data.get("inputs"), "inputs") \
            + S.mode_problems({k: v for k, v in (data.get("outputs") or {}).items() if not isinstance(v, str)},
                              "outputs")
        component = data.get("component")
        if data.get("conf") and isinstance(component, S.SparkComponent):  # the node's conf over its component's
            problems += S.conf_problems({**(component.conf or {}), **data["conf"]})
        if problems:
            raise ValidationError(_nest(problems))
