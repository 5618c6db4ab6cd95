"""Schemas for command jobs and command components, and the parts sweep jobs share with them."""
from __future__ import annotations

import os
import re

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, validates_schema
from marshmallow.validate import Range, Regexp

from .._contract import compute_placeholder_problem, parse_ref
from ..entities import job as J
from ..entities.component import CommandComponent
from ..entities.inputs import placeholder_problems
from .api import _schema, load
from .assets import EnvironmentSchema
from .base import BASE_DIR, BaseSchema
from .fields import Duration, Enum, LocalPath, Name, Reference, StrMap, Switch, Version
from .io import component_outputs_field, input_specs_field, inputs_field, outputs_field


def _at_least(n: int) -> Range:
    return Range(min=n, error=f"must be at least {n}")


class TypedSchema(BaseSchema):
    """An entity whose `type` is a class attribute: `type` picks the class and is not passed on."""

    type = fields.String()
    order: tuple[str, ...] = ()  # key order of a dump, as people write these files

    @post_load
    def _build(self, data, **_):
        data.pop("type", None)
        return self.entity(**data)

    @post_dump
    def _ordered(self, data, **_):
        return {k: data[k] for k in sorted(data, key=lambda k: self.order.index(k) if k in self.order else 99)}


# -- resources, distribution, identity, services, limits -----------------------------------
class ResourcesSchema(BaseSchema):
    entity = J.JobResources
    instance_count = fields.Integer(strict=True, validate=_at_least(1))
    instance_type = fields.String()
    shm_size = fields.String(validate=Regexp(r"^\d+[bBkKmMgG]$", error="expected a size such as 2g, 512m or 1024k"))
    docker_args = fields.String()
    properties = fields.Dict(keys=fields.String())
    not_supported = ("locations", "max_instance_count")


class PyTorchSchema(TypedSchema):
    entity = J.PyTorchDistribution
    process_count_per_instance = fields.Integer(strict=True, validate=_at_least(1))


class MpiSchema(TypedSchema):
    entity = J.MpiDistribution
    process_count_per_instance = fields.Integer(strict=True, validate=_at_least(1))


class TensorFlowSchema(TypedSchema):
    entity = J.TensorFlowDistribution
    worker_count = fields.Integer(strict=True, validate=_at_least(1))
    parameter_server_count = fields.Integer(strict=True, validate=_at_least(0))


def distribution_field(**kwargs) -> Switch:
    return Switch({"pytorch": PyTorchSchema, "mpi": MpiSchema, "tensorflow": TensorFlowSchema}, **kwargs)


class UserIdentitySchema(TypedSchema):
    entity = J.UserIdentity


class ManagedIdentitySchema(TypedSchema):
    entity = J.ManagedIdentity
    client_id = fields.String()
    object_id = fields.String()
    resource_id = fields.String()


class AmlTokenSchema(TypedSchema):
    entity = J.AmlTokenIdentity


def identity_field(**kwargs) -> Switch:
    # the YAML names first (a dump writes those), then what else the service takes: `managed_identity`, and
    # the REST spellings (`UserIdentity`, `AMLToken`; `Managed` matches `managed` in any case)
    return Switch({"user_identity": UserIdentitySchema, "managed": ManagedIdentitySchema,
                   "aml_token": AmlTokenSchema, "managed_identity": ManagedIdentitySchema,
                   "UserIdentity": UserIdentitySchema, "AMLToken": AmlTokenSchema}, **kwargs)


class JobServiceSchema(BaseSchema):
    entity = J.JobService
    type = Enum(tuple(J.SERVICE_TYPES), required=True)
    nodes = Enum(("all",))
    port = fields.Integer(strict=True, validate=Range(min=1, max=65535, error="expected a port from 1 to 65535"))
    properties = StrMap(nulls=True)
    log_dir = fields.String()
    ssh_public_keys = fields.String()

    @validates_schema(skip_on_field_errors=False)
    def _own_fields(self, data, **_):
        if data.get("type") is None:  # missing or invalid: reported by its field
            return
        for key, kind in (("log_dir", "tensor_board"), ("ssh_public_keys", "ssh")):
            if data.get(key) is not None and data.get("type") != kind:
                raise ValidationError(f"only a {kind} service takes {key}", key)


class _Services(fields.Dict):
    """A job's services; a dump leaves out the ones the service adds to every job (Studio, Tracking), which no YAML
    sets."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value:
            value = {name: s for name, s in value.items() if s.type in J.SERVICE_TYPES} or None
        return super()._serialize(value, attr, obj, **kwargs)


def services_field(**kwargs):
    return _Services(keys=fields.String(), values=fields.Nested(JobServiceSchema), **kwargs)


class CommandJobLimitsSchema(BaseSchema):
    entity = J.CommandJobLimits
    timeout = Duration()


class QueueSettingsSchema(BaseSchema):
    entity = J.QueueSettings
    job_tier = Enum(J.JOB_TIERS)
    not_supported = ("priority",)


# -- environment, code, compute ------------------------------------------------------------
class EnvironmentField(fields.Field):
    """`azureml:name:version` (or @label, ARM id, registry URI), `file:env.yml`, or an inline mapping."""

    _reference = Reference("environments")

    @staticmethod
    def schema() -> EnvironmentSchema:
        return _schema("assets", "EnvironmentSchema")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            return self.schema().load(value)
        if isinstance(value, str) and value.startswith("file:"):
            path = os.path.join(BASE_DIR.get(os.getcwd()), value[len("file:"):])
            if not os.path.isfile(path):
                raise ValidationError(f"no such environment file: {os.path.normpath(path)} (from {value!r})")
            return load("environment", path)  # problems inside it are located in that file
        if isinstance(value, str):
            return self._reference.deserialize(value)
        raise ValidationError("expected a reference (azureml:<name>:<version>) or an environment mapping")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return self.schema().dump(value)


def environment_field(**kwargs) -> EnvironmentField:
    return EnvironmentField(**kwargs)


def code_field(**kwargs) -> LocalPath:
    return LocalPath(kind="codes", **kwargs)  # a reference names its version: the service has no code labels


class ComputeField(fields.String):
    """`cpu-cluster`, `azureml:cpu-cluster` or an ARM id."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if compute_placeholder_problem(value):  # refused when submitted: it may be set after loading
            return value
        if "/" in value:
            try:
                parse_ref(value, "computes")
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        elif not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$", value.removeprefix("azureml:")):
            raise ValidationError(f"invalid compute {value!r}: expected a compute name, azureml:<name> or an ARM id")
        return value


def _names(value):
    return list(value) if isinstance(value, dict) else ([] if value is None else None)


class _CommandBase(TypedSchema):
    """What command jobs and command components share."""

    type = Enum(("command",), load_only=True)  # the default: not written back
    schema = fields.String(data_key="$schema")
    display_name = fields.String()
    description = fields.String()
    tags = StrMap(nulls=True)
    command = fields.String(required=True, validate=Regexp(r"\S", error="the command is empty"))
    code = code_field()
    environment = environment_field(required=True)
    distribution = distribution_field()
    resources = fields.Nested(ResourcesSchema)
    placeholder_roots = ("inputs", "outputs")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _placeholders(self, data, original, **_):
        command = original.get("command") if isinstance(original, dict) else None
        if not isinstance(command, str):
            return
        problems = placeholder_problems(command, {r: _names(original.get(r)) for r in self.placeholder_roots})
        if problems:
            raise ValidationError(problems, "command")


# -- the job -------------------------------------------------------------------------------
class JobFields(Schema):
    """The fields every job kind has (entities.job.Job), mixed into each job schema."""

    name = Name()
    display_name = fields.String()
    experiment_name = fields.String()
    description = fields.String()
    tags = StrMap(nulls=True)
    properties = StrMap(nulls=True)
    compute = ComputeField()
    inputs = inputs_field()
    outputs = outputs_field()
    identity = identity_field()
    services = services_field()
    queue_settings = fields.Nested(QueueSettingsSchema)


class CommandJobSchema(_CommandBase, JobFields):
    entity = J.CommandJob
    environment_variables = StrMap()
    limits = fields.Nested(CommandJobLimitsSchema)
    not_supported = ("component", "notification_setting", "parent_job_name", "job_tier", "priority")
    order = ("$schema", "name", "display_name", "experiment_name", "description", "tags", "properties", "command",
             "code", "environment", "environment_variables", "compute", "inputs", "outputs", "distribution",
             "resources", "limits", "identity", "services", "queue_settings")


# -- the component -------------------------------------------------------------------------
class CommandComponentSchema(_CommandBase):
    entity = CommandComponent
    name = Name(required=True)
    version = Version()
    inputs = input_specs_field()
    outputs = component_outputs_field()
    is_deterministic = fields.Boolean()
    additional_includes = fields.List(LocalPath())
    not_supported = ("instance_count",)
    order = ("$schema", "name", "version", "display_name", "description", "tags", "is_deterministic", "inputs",
             "outputs", "command", "code", "environment", "distribution", "resources", "additional_includes")
