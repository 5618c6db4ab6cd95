"""Schemas for computes: one per `type` (amlcompute, computeinstance, kubernetes, virtualmachine, synapsespark) and
`ComputeSchema`, which picks among them. Field names and checks are Azure ML's compute YAML."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, post_dump, validates_schema
from marshmallow.validate import Range

from ..entities import compute as C
from ..exceptions import suggest
from .base import BaseSchema
from .endpoints import IdentitySchema
from .fields import Enum, LocalPath, Switch, shown
from .jobs import TypedSchema
from .schedules import trigger_field

# Azure ML's compute names: a letter, then letters, digits and '-', not ending with '-'; clusters and attached
# computes take 2 to 16 characters, compute instances 3 to 24.
_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*(?<!-)")
_LENGTHS = {"computeinstance": (3, 24)}
_KUBERNETES_PROPERTIES = ("relayConnectionString", "serviceBusConnectionString", "extensionPrincipalId",
                          "extensionInstanceReleaseTrain", "vcName", "defaultInstanceType", "instanceTypes")


def _count(low: int = 0) -> fields.Integer:
    return fields.Integer(strict=True, validate=Range(min=low, error=f"must be at least {low}"))


class ComputeName(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        kind = str(data.get("type", "")).lower() if isinstance(data, dict) else ""
        low, high = _LENGTHS.get(kind, (2, 16))
        if not (_NAME.fullmatch(value) and low <= len(value) <= high):
            raise ValidationError(f"invalid compute name {shown(value)}: use {low} to {high} letters, digits and "
                                  "'-', starting with a letter and not ending with '-'")
        return value


class _ComputeSchema(TypedSchema):
    schema = fields.String(data_key="$schema")
    name = ComputeName(required=True)
    type = fields.String(required=True)  # checked by ComputeSchema's dispatch
    description = fields.String()
    tags = fields.Dict(keys=fields.String(), values=fields.String())
    location = fields.String()
    resource_id = fields.String()
    # the service's: read back by `show`, loaded again from its output, never sent
    provisioning_state = fields.String()
    order = ("$schema", "name", "type", "description", "location", "size", "tier", "min_instances", "max_instances",
             "idle_time_before_scale_down", "resource_id", "namespace")
    _SERVICE = ("provisioning_state", "state", "last_operation")

    @post_dump
    def _service_last(self, data, **_):
        return {**{k: v for k, v in data.items() if k not in self._SERVICE},
                **{k: data[k] for k in self._SERVICE if k in data}}


class NetworkSettingsSchema(BaseSchema):
    entity = C.NetworkSettings
    vnet_name = fields.String()
    subnet = fields.String()
    not_supported = ("public_ip_address", "private_ip_address")


class AmlComputeSshSettingsSchema(BaseSchema):
    entity = C.AmlComputeSshSettings
    admin_username = fields.String(required=True)
    admin_password = fields.String()
    ssh_key_value = fields.String()


class AmlComputeSchema(_ComputeSchema):
    entity = C.AmlCompute
    size = fields.String()
    tier = Enum(tuple(C._TIERS))
    min_instances = _count()
    max_instances = _count(1)
    idle_time_before_scale_down = _count()
    ssh_public_access_enabled = fields.Boolean()
    ssh_settings = fields.Nested(AmlComputeSshSettingsSchema)
    network_settings = fields.Nested(NetworkSettingsSchema)
    identity = fields.Nested(IdentitySchema)
    enable_node_public_ip = fields.Boolean()

    @validates_schema(skip_on_field_errors=True)
    def _bounds(self, data, **_):
        low, high = data.get("min_instances"), data.get("max_instances", C.DEFAULT_MAX_INSTANCES)
        if low is not None and low > high:
            raise ValidationError(f"min_instances {low} is more than max_instances {high}", "min_instances")


# -- compute instances and their schedules -------------------------------------------------------------------
class ComputeStartStopScheduleSchema(BaseSchema):
    entity = C.ComputeStartStopSchedule
    action = Enum(("start", "stop"), required=True)
    trigger = trigger_field()
    state = Enum(("enabled", "disabled"))
    schedule_id = fields.String()  # the service's
    provisioning_state = fields.String()  # the service's

    @validates_schema(skip_on_field_errors=True)
    def _no_end(self, data, **_):
        if getattr(data.get("trigger"), "end_time", None):
            raise ValidationError({"trigger": {"end_time": ["a compute instance's schedule has no end time: remove "
                                                            "it, or disable the schedule (state: disabled)"]}})


class ComputeSchedulesSchema(BaseSchema):
    entity = C.ComputeSchedules
    compute_start_stop = fields.List(fields.Nested(ComputeStartStopScheduleSchema))


class ComputeInstanceSshSettingsSchema(BaseSchema):
    entity = C.ComputeInstanceSshSettings
    ssh_key_value = fields.String()
    admin_username = fields.String()  # the service's
    ssh_port = fields.String()  # the service's


class CreateOnBehalfOfSchema(BaseSchema):
    entity = C.AssignedUserConfiguration
    user_tenant_id = fields.String(required=True)
    user_object_id = fields.String(required=True)


class ComputeInstanceSchema(_ComputeSchema):
    entity = C.ComputeInstance
    size = fields.String()
    ssh_public_access_enabled = fields.Boolean()
    ssh_settings = fields.Nested(ComputeInstanceSshSettingsSchema)
    network_settings = fields.Nested(NetworkSettingsSchema)
    create_on_behalf_of = fields.Nested(CreateOnBehalfOfSchema)
    schedules = fields.Nested(ComputeSchedulesSchema)
    identity = fields.Nested(IdentitySchema)
    enable_node_public_ip = fields.Boolean()
    state = fields.String()  # the service's
    last_operation = fields.Dict(keys=fields.String(), values=fields.String())  # the service's
    # newer than api-version 2024-04-01, whose bodies this project sends
    not_supported = ("idle_time_before_shutdown", "idle_time_before_shutdown_minutes", "custom_applications",
                     "setup_scripts", "enable_sso", "enable_root_access", "release_quota_on_stop", "enable_os_patching")


# -- attached computes ---------------------------------------------------------------------------------------
class KubernetesComputeSchema(_ComputeSchema):
    entity = C.KubernetesCompute
    resource_id = fields.String(required=True)
    namespace = fields.String()
    properties = fields.Dict(keys=fields.String())
    identity = fields.Nested(IdentitySchema)

    @validates_schema(skip_on_field_errors=True)
    def _properties(self, data, **_):
        bad = {k: ["unknown field" + suggest(k, _KUBERNETES_PROPERTIES)]
               for k in data.get("properties") or {} if k not in _KUBERNETES_PROPERTIES}
        if bad:
            raise ValidationError({"properties": bad})


class VirtualMachineSshSettingsSchema(BaseSchema):
    entity = C.VirtualMachineSshSettings
    admin_username = fields.String()
    admin_password = fields.String()
    ssh_port = fields.Integer(strict=True, validate=Range(1, 65535))
    ssh_private_key_file = LocalPath(local_only=True)


class VirtualMachineComputeSchema(_ComputeSchema):
    entity = C.VirtualMachineCompute
    resource_id = fields.String(required=True)
    ssh_settings = fields.Nested(VirtualMachineSshSettingsSchema)
    public_key_data = fields.String()


class SynapseSparkComputeSchema(_ComputeSchema):
    entity = C.SynapseSparkCompute
    resource_id = fields.String(required=True)
    identity = fields.Nested(IdentitySchema)
    not_supported = ("scale_settings", "auto_pause_settings")


_BY_TYPE = {"amlcompute": AmlComputeSchema, "computeinstance": ComputeInstanceSchema,
            "kubernetes": KubernetesComputeSchema, "virtualmachine": VirtualMachineComputeSchema,
            "synapsespark": SynapseSparkComputeSchema}


class ComputeSchema:
    """Any compute: its `type` picks the schema (as `load_with` and `dump` expect of a schema)."""

    def __init__(self):
        self._switch = Switch(_BY_TYPE)

    def load(self, data):
        return self._switch.deserialize(data)

    def dump(self, entity) -> dict:
        return self._switch._serialize(entity, None, None)
