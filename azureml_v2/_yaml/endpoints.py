"""Schemas for online and batch endpoints and deployments, and the dispatch of each load_* on `type`."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_dump, pre_load, validates_schema
from marshmallow.validate import Range

from ..entities import endpoints as E
from .api import _schema
from .base import BaseSchema
from .fields import Enum, LocalPath, Name, Reference, StrMap, Switch, shown
from .jobs import ComputeField, TypedSchema, environment_field
from .models import ModelSchema

_ENDPOINT_NAME_HINT = "use 3 to 32 letters, digits and '-', starting with a letter and not ending with '-'"


def _at_least(n: int) -> Range:
    return Range(min=n, error=f"must be at least {n}")


def _integer(low: int | None = None, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=_at_least(low) if low is not None else None, **kwargs)


class EndpointName(Name):
    """Endpoint names become host names on Azure ML."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not (3 <= len(value) <= 32 and value[0].isalpha() and value[-1] != "-" and "_" not in value):
            raise ValidationError(f"invalid endpoint name {shown(value)}: {_ENDPOINT_NAME_HINT}")
        return value


class Percentages(fields.Dict):
    """Deployment names to whole percentages."""

    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), values=fields.Integer(strict=True, validate=Range(0, 100)), **kwargs)


# -- endpoints -------------------------------------------------------------------------------------------------
class UserIdentitySchema(BaseSchema):
    entity = E.ManagedIdentity
    resource_id = fields.String(required=True)
    client_id = fields.String()
    object_id = fields.String()


class IdentitySchema(BaseSchema):
    entity = E.IdentityConfiguration
    type = Enum(tuple(E.IDENTITY_TYPES), required=True)
    user_assigned_identities = fields.List(fields.Nested(UserIdentitySchema))
    principal_id = fields.String()
    tenant_id = fields.String()


class _EndpointSchema(BaseSchema):
    schema = fields.String(data_key="$schema")
    name = EndpointName(required=True)
    description = fields.String()
    tags = StrMap()
    properties = StrMap()
    location = fields.String()
    identity = fields.Nested(IdentitySchema)
    # the service's, shown by `show` and never sent
    scoring_uri = fields.String(dump_only=True)
    openapi_uri = fields.String(dump_only=True)
    provisioning_state = fields.String(dump_only=True)


class _OnlineEndpointSchema(_EndpointSchema):
    auth_mode = Enum(tuple(E.AUTH_MODES))
    traffic = Percentages()
    mirror_traffic = Percentages()
    public_network_access = Enum(E.NETWORK_ACCESS)
    kind = fields.String()

    @validates_schema(skip_on_field_errors=True)
    def _shares(self, data, **_):
        traffic, mirror = data.get("traffic") or {}, data.get("mirror_traffic") or {}
        if traffic and sum(traffic.values()) not in (0, 100):
            raise ValidationError(f"the shares add up to {sum(traffic.values())}; they must add up to 100", "traffic")
        if sum(mirror.values()) > 50:
            raise ValidationError("at most 50 percent of the traffic can be mirrored", "mirror_traffic")
        both = sorted(n for n, share in mirror.items() if share and traffic.get(n))
        if both:
            raise ValidationError(f"deployment {both[0]!r} takes live traffic; only a deployment without live "
                                  "traffic can receive mirrored traffic", "mirror_traffic")


class ManagedOnlineEndpointSchema(_OnlineEndpointSchema):
    entity = E.ManagedOnlineEndpoint


class KubernetesOnlineEndpointSchema(_OnlineEndpointSchema):
    entity = E.KubernetesOnlineEndpoint
    compute = ComputeField(required=True)


class OnlineEndpointSchema:
    """A managed online endpoint, or a Kubernetes one when it names a `compute`."""

    def load(self, data):
        key = "KubernetesOnlineEndpointSchema" if isinstance(data, dict) and "compute" in data else \
            "ManagedOnlineEndpointSchema"
        return _schema("endpoints", key).load(data)


class BatchEndpointDefaultsSchema(BaseSchema):
    entity = E.BatchEndpointDefaults
    deployment_name = Name()


class BatchEndpointSchema(_EndpointSchema):
    entity = E.BatchEndpoint
    auth_mode = Enum(("aad_token",))  # batch endpoints take Microsoft Entra tokens only
    defaults = fields.Nested(BatchEndpointDefaultsSchema)


# -- deployment parts ------------------------------------------------------------------------------------------
class InlineModelSchema(ModelSchema):
    """A model written inside a deployment: a name is optional (without one it is anonymous)."""

    name = Name()


class ModelField(fields.Field):
    """`azureml:name:version` (or @label, an ARM id, a registry URI) or an inline model mapping."""

    _reference = Reference("models")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            return _schema("endpoints", "InlineModelSchema").load(value)
        if isinstance(value, str):
            return self._reference.deserialize(value)
        raise ValidationError("expected a reference (azureml:<name>:<version>) or a model mapping with a path")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return _schema("endpoints", "InlineModelSchema").dump(value)


class CodeConfigurationSchema(BaseSchema):
    entity = E.CodeConfiguration
    code = LocalPath(required=True)
    scoring_script = fields.String(required=True)


class RequestSettingsSchema(BaseSchema):
    entity = E.OnlineRequestSettings
    request_timeout_ms = _integer(1)
    max_concurrent_requests_per_instance = _integer(1)
    max_queue_wait_ms = _integer(0)


class ProbeSchema(BaseSchema):
    entity = E.ProbeSettings
    initial_delay = _integer(0)
    period = _integer(1)
    timeout = _integer(1)
    success_threshold = _integer(1)
    failure_threshold = _integer(1)


class _Typed(TypedSchema):
    """A schema whose entity has no `type`: `type_name` is written first in dumps (after name and endpoint)."""

    type_name: str | None = None

    @post_dump
    def _ordered(self, data, **_):
        if self.type_name:
            data = {**data, "type": self.type_name}
        return {k: data[k] for k in sorted(data, key=lambda k: self.order.index(k) if k in self.order else 99)}


class DefaultScaleSchema(TypedSchema):
    entity = E.DefaultScaleSettings
    type = Enum(("default",))



class TargetUtilizationScaleSchema(TypedSchema):
    entity = E.TargetUtilizationScaleSettings
    type = Enum(("target_utilization",))
    min_instances = _integer(0)
    max_instances = _integer(1)
    polling_interval = _integer(1)
    target_utilization_percentage = _integer(1)



class ResourceSettingsSchema(BaseSchema):
    entity = E.ResourceSettings
    cpu = fields.String()
    memory = fields.String()
    gpu = fields.String(data_key="nvidia.com/gpu")


class ResourceRequirementsSchema(BaseSchema):
    entity = E.ResourceRequirementsSettings
    requests = fields.Nested(ResourceSettingsSchema)
    limits = fields.Nested(ResourceSettingsSchema)


class _DeploymentSchema(BaseSchema):
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    endpoint_name = EndpointName(required=True)
    description = fields.String()
    tags = StrMap()
    properties = StrMap()
    location = fields.String()
    model = ModelField()
    code_configuration = fields.Nested(CodeConfigurationSchema)
    environment = environment_field()
    environment_variables = StrMap()
    provisioning_state = fields.String(dump_only=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _environment_for_code(self, data, original, **_):
        if isinstance(original, dict) and original.get("code_configuration") and not original.get("environment"):
            raise ValidationError("a deployment with a scoring script needs an environment to run it in",
                                  "environment")


class _OnlineDeploymentSchema(_DeploymentSchema, _Typed):
    instance_type = fields.String()
    instance_count = _integer(1)
    request_settings = fields.Nested(RequestSettingsSchema)
    liveness_probe = fields.Nested(ProbeSchema)
    readiness_probe = fields.Nested(ProbeSchema)
    scale_settings = Switch({"default": DefaultScaleSchema, "target_utilization": TargetUtilizationScaleSchema})
    app_insights_enabled = fields.Boolean()
    egress_public_network_access = Enum(E.NETWORK_ACCESS)
    model_mount_path = fields.String()
    not_supported = ("data_collector", "private_network_connection", "code_path", "scoring_script")
    order = ("$schema", "name", "endpoint_name", "type", "description", "model", "code_configuration",
             "environment", "instance_type", "instance_count")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _something_to_serve(self, data, original, **_):
        if isinstance(original, dict) and original.get("model") is None and original.get("environment") is None:
            raise ValidationError("a deployment serves a `model` (or an environment that holds one)", "model")


class ManagedOnlineDeploymentSchema(_OnlineDeploymentSchema):
    entity = E.ManagedOnlineDeployment
    type = Enum(("managed",), load_only=True)


class KubernetesOnlineDeploymentSchema(_OnlineDeploymentSchema):
    entity = E.KubernetesOnlineDeployment
    type = Enum(("kubernetes",), load_only=True)
    type_name = "kubernetes"
    resources = fields.Nested(ResourceRequirementsSchema)



class RetrySettingsSchema(BaseSchema):
    entity = E.BatchRetrySettings
    max_retries = _integer(0)
    timeout = _integer(1)


class BatchSettingsSchema(BaseSchema):
    entity = E.ModelBatchDeploymentSettings
    mini_batch_size = _integer(1)
    max_concurrency_per_instance = _integer(1)
    output_action = Enum(tuple(E.OUTPUT_ACTIONS))
    output_file_name = fields.String()
    error_threshold = _integer(-1)
    retry_settings = fields.Nested(RetrySettingsSchema)
    logging_level = Enum(E.LOGGING_LEVELS)
    environment_variables = StrMap()


class BatchResourcesSchema(BaseSchema):
    entity = E.ResourceConfiguration
    instance_count = _integer(1)
    instance_type = fields.String()
    properties = fields.Dict(keys=fields.String())


_FLAT_SETTINGS = ("mini_batch_size", "max_concurrency_per_instance", "output_action", "output_file_name",
                  "error_threshold", "retry_settings", "logging_level")


class ModelBatchDeploymentSchema(_DeploymentSchema, _Typed):
    entity = E.ModelBatchDeployment
    type = Enum(("model",), load_only=True)
    type_name = "model"
    model = ModelField(required=True)
    compute = ComputeField()
    resources = fields.Nested(BatchResourcesSchema)
    settings = fields.Nested(BatchSettingsSchema)
    order = ("$schema", "name", "endpoint_name", "type", "description", "model", "code_configuration",
             "environment", "compute", "resources", "settings")

    @pre_load
    def _flat_settings(self, data, **_):
        # the first batch deployment schema wrote the settings at the top level
        if isinstance(data, dict) and any(k in data for k in _FLAT_SETTINGS) and "settings" not in data:
            data = dict(data)
            data["settings"] = {k: data.pop(k) for k in _FLAT_SETTINGS if k in data}
        return data



class PipelineComponentBatchDeploymentSchema(_Typed):
    entity = E.PipelineComponentBatchDeployment
    type = Enum(("pipeline",), load_only=True)
    type_name = "pipeline"
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    endpoint_name = EndpointName(required=True)
    description = fields.String()
    tags = StrMap()
    properties = StrMap()
    location = fields.String()
    component = Reference("components")
    settings = fields.Dict(keys=fields.String(), values=fields.Raw())
    provisioning_state = fields.String(dump_only=True)
    not_supported = ("job_definition",)  # needs pipeline jobs
    order = ("$schema", "name", "endpoint_name", "type", "description", "component", "settings")

    @validates_schema(pass_original=True)
    def _component(self, data, original, **_):
        if isinstance(original, dict) and original.get("component") is None and "job_definition" not in original:
            raise ValidationError("required field is missing: the pipeline component to run", "component")



# -- load_* dispatch -------------------------------------------------------------------------------------------
class _ByType:
    """Picks a schema by the document's `type` (as load_with expects of a schema)."""

    choices: dict[str, str] = {}
    default = ""

    def load(self, data):
        kind = data.get("type", self.default) if isinstance(data, dict) else self.default
        if not isinstance(kind, str) or kind.lower() not in self.choices:
            raise ValidationError({"type": [f"invalid value {shown(kind)}: expected one of "
                                            f"{', '.join(self.choices)}"]})
        return _schema("endpoints", self.choices[kind.lower()]).load(data)


class OnlineDeploymentSchema(_ByType):
    choices = {"managed": "ManagedOnlineDeploymentSchema", "kubernetes": "KubernetesOnlineDeploymentSchema"}
    default = "managed"


class BatchDeploymentSchema(_ByType):
    choices = {"model": "ModelBatchDeploymentSchema", "pipeline": "PipelineComponentBatchDeploymentSchema"}
    default = "model"
