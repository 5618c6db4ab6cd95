"""Compute targets as the REST API describes them (Microsoft.MachineLearningServices/workspaces/computes).

One class per `type` of the YAML: `AmlCompute` (a cluster sized by min/max instances), `ComputeInstance` (with
start/stop schedules), and the attached ones, `KubernetesCompute`, `VirtualMachineCompute` and
`SynapseSparkCompute` (each names its ARM `resource_id`). A type the YAML has no schema for (AKS, Databricks, ...)
is read from the service as a plain `Compute`.

`provisioning_state`, and a compute instance's `state` and `last_operation`, are the service's: read, never sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._contract import iso_from_seconds, seconds_from_iso
from ._base import Resource
from ._rest import compact, str_map
from .endpoints import IdentityConfiguration
from .schedule import CronTrigger, RecurrenceTrigger

_TIERS = {"dedicated": "Dedicated", "low_priority": "LowPriority"}
_SSH_ACCESS = {True: "Enabled", False: "Disabled"}


def _pascal(value: str | None) -> str | None:
    return value[:1].upper() + value[1:] if value else value


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _reverse(mapping: dict, value):
    return next((k for k, v in mapping.items() if v == value), value)


# -- settings -----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class AmlComputeSshSettings:
    """The administrator account created on each node of a cluster."""

    admin_username: str
    admin_password: str | None = None
    ssh_key_value: str | None = None

    def _to_rest(self) -> dict:
        return compact({"adminUserName": self.admin_username, "adminUserPassword": self.admin_password,
                        "adminUserSshPublicKey": self.ssh_key_value})

    @classmethod
    def _from_rest(cls, body: dict) -> "AmlComputeSshSettings":
        return cls(admin_username=body.get("adminUserName"), admin_password=body.get("adminUserPassword"),
                   ssh_key_value=body.get("adminUserSshPublicKey"))


@dataclass(kw_only=True)
class ComputeInstanceSshSettings:
    """The public key that may log in to a compute instance (its admin user and port are the service's)."""

    ssh_key_value: str | None = None
    admin_username: str | None = None
    ssh_port: str | None = None


@dataclass(kw_only=True)
class VirtualMachineSshSettings:
    """How the service reaches an attached virtual machine; `ssh_private_key_file` is a local file whose text is
    sent."""

    admin_username: str | None = None
    admin_password: str | None = None
    ssh_port: int | None = None
    ssh_private_key_file: str | None = None


@dataclass(kw_only=True)
class NetworkSettings:
    """The virtual network subnet the nodes join: `subnet` as an ARM id, or a name inside `vnet_name`."""

    vnet_name: str | None = None
    subnet: str | None = None

    def _subnet_id(self) -> dict | None:
        if not self.subnet:
            return None
        if self.subnet.startswith("/") or not self.vnet_name:
            return {"id": self.subnet}
        return {"id": f"{self.vnet_name}/subnets/{self.subnet}"}

    @classmethod
    def _from_rest(cls, subnet: dict | None) -> "NetworkSettings | None":
        return cls(subnet=subnet["id"]) if subnet and subnet.get("id") else None


@dataclass(kw_only=True)
class AssignedUserConfiguration:
    """The user a compute instance is created for (`create_on_behalf_of`)."""

    user_tenant_id: str
    user_object_id: str


# -- compute instance schedules ----------------------------------------------------------------------------
def _compute_trigger(trigger: CronTrigger | RecurrenceTrigger) -> dict:
    """A trigger as a compute schedule's `cron` or `recurrence` member (a job schedule's, without its type and end)."""
    return {k: v for k, v in trigger._rest().items() if k not in ("triggerType", "endTime")}


@dataclass(kw_only=True)
class ComputeStartStopSchedule:
    """Start or stop a compute instance on a trigger; `state` enabled (the default) or disabled.

    The service runs it; the local workspace records it."""

    action: str  # start | stop
    trigger: CronTrigger | RecurrenceTrigger | None = None
    state: str = "enabled"  # or disabled
    schedule_id: str | None = None
    provisioning_state: str | None = None

    def _to_rest(self) -> dict:
        body = {"action": _pascal(self.action), "status": _pascal(self.state)}
        if self.trigger is not None:
            kind = "Cron" if isinstance(self.trigger, CronTrigger) else "Recurrence"
            body.update({"triggerType": kind, kind.lower(): _compute_trigger(self.trigger)})
        return body

    @classmethod
    def _from_rest(cls, body: dict) -> "ComputeStartStopSchedule":
        kind = body.get("triggerType")
        own = body.get(str(kind).lower())
        trigger = CronTrigger._from_rest({**own, "triggerType": kind}) if kind in ("Cron", "Recurrence") and own \
            else None
        return cls(action=_lower(body.get("action")), state=_lower(body.get("status")) or "enabled", trigger=trigger,
                   schedule_id=body.get("id"), provisioning_state=body.get("provisioningStatus"))


@dataclass(kw_only=True)
class ComputeSchedules:
    """A compute instance's schedules: `compute_start_stop`, a list of ComputeStartStopSchedule."""

    compute_start_stop: list[ComputeStartStopSchedule] | None = None

    def _to_rest(self) -> dict:
        return {"computeStartStop": [s._to_rest() for s in self.compute_start_stop or ()]}

    @classmethod
    def _from_rest(cls, body: dict) -> "ComputeSchedules":
        return cls(compute_start_stop=[ComputeStartStopSchedule._from_rest(s) for s in body.get("computeStartStop")
                                       or ()])


# -- computes ------------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Compute(Resource):
    """A compute target. The subclasses are the YAML's types; this class stands for the others the service
    lists (`type` is their REST computeType, lowercased)."""

    type: str = ""
    location: str | None = None
    resource_id: str | None = None
    provisioning_state: str | None = None

    _REST_TYPE: ClassVar[str] = ""

    def _own(self, scope: str) -> dict | None:
        """The members of the compute's inner `properties` (its type's own)."""
        return None

    def _envelope(self) -> dict:
        """Members of the ARM resource beside `properties`."""
        return {}

    def _envelope_properties(self) -> dict:
        """Members of `properties` beside the type's own."""
        return {}

    def _rest(self, scope: str) -> dict:
        own = self._own(scope)
        return compact({"location": self.location, "tags": str_map(self.tags), **self._envelope(),
                        "properties": compact({"computeType": self._REST_TYPE or _REST_TYPES.get(self.type, self.type),
                                               "description": self.description, "resourceId": self.resource_id,
                                               **self._envelope_properties(), "properties": own or None})})

    @classmethod
    def _from_rest(cls, resource: dict) -> "Compute":
        props = resource.get("properties") or {}
        rest_type = str(props.get("computeType", ""))
        kind = _CLASSES.get(rest_type.lower(), Compute)
        common = {"name": resource.get("name"), "description": props.get("description"),
                  "tags": resource.get("tags") or None,
                  "location": resource.get("location") or props.get("computeLocation"),
                  "resource_id": props.get("resourceId"), "provisioning_state": props.get("provisioningState")}
        if kind is Compute:
            return Compute(type=rest_type.lower(), **common)
        return kind._read(resource, props.get("properties") or {}, common)

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "Compute":
        return cls(**common)


def _identity(resource: dict) -> IdentityConfiguration | None:
    body = resource.get("identity")
    return IdentityConfiguration._from_rest(body) if body else None


@dataclass(kw_only=True)
class AmlCompute(Compute):
    """A cluster: `size` VMs of `tier` dedicated or low_priority, scaled between `min_instances` and
    `max_instances` (4 when unset, as the service), idle nodes released after `idle_time_before_scale_down` seconds.

    On the local workspace a cluster is honoured on this machine: `max_instances` bounds the nodes its jobs hold at
    once (a job holds `resources.instance_count` of them), so jobs beyond it wait Queued."""

    type: str = field(default="amlcompute", init=False)
    size: str | None = None
    tier: str | None = None  # dedicated | low_priority
    min_instances: int | None = None
    max_instances: int | None = None
    idle_time_before_scale_down: int | None = None  # seconds
    ssh_public_access_enabled: bool | None = None
    ssh_settings: AmlComputeSshSettings | None = None
    network_settings: NetworkSettings | None = None
    identity: IdentityConfiguration | None = None
    enable_node_public_ip: bool | None = None

    _REST_TYPE: ClassVar[str] = "AmlCompute"

    def _envelope(self) -> dict:
        return compact({"identity": self.identity._to_rest() if self.identity else None})

    def _envelope_properties(self) -> dict:
        return {"disableLocalAuth": self.ssh_settings is None}  # SSH only to a cluster given an admin account

    def _own(self, scope: str) -> dict:
        def given(value, default):
            return default if value is None else value

        scale = {"minNodeCount": given(self.min_instances, 0),
                 "maxNodeCount": given(self.max_instances, DEFAULT_MAX_INSTANCES),
                 "nodeIdleTimeBeforeScaleDown": iso_from_seconds(given(self.idle_time_before_scale_down,
                                                                       DEFAULT_IDLE_SECONDS))}
        return compact({"vmSize": self.size or DEFAULT_SIZE, "vmPriority": _TIERS.get(self.tier, self.tier),
                        "scaleSettings": scale,
                        "userAccountCredentials": self.ssh_settings._to_rest() if self.ssh_settings else None,
                        "subnet": self.network_settings._subnet_id() if self.network_settings else None,
                        "remoteLoginPortPublicAccess": _SSH_ACCESS.get(self.ssh_public_access_enabled),
                        "enableNodePublicIp": self.enable_node_public_ip})

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "AmlCompute":
        scale = own.get("scaleSettings") or {}
        credentials = own.get("userAccountCredentials")
        access = own.get("remoteLoginPortPublicAccess")
        return cls(**common, size=own.get("vmSize"), tier=_reverse(_TIERS, own.get("vmPriority")),
                   min_instances=scale.get("minNodeCount"), max_instances=scale.get("maxNodeCount"),
                   idle_time_before_scale_down=seconds_from_iso(scale.get("nodeIdleTimeBeforeScaleDown")),
                   ssh_settings=AmlComputeSshSettings._from_rest(credentials) if credentials else None,
                   ssh_public_access_enabled=_reverse(_SSH_ACCESS, access) if access in ("Enabled", "Disabled")
                   else None,
                   network_settings=NetworkSettings._from_rest(own.get("subnet")), identity=_identity(resource),
                   enable_node_public_ip=own.get("enableNodePublicIp"))


# what azure-ai-ml sends for a cluster or compute instance whose YAML leaves these out
DEFAULT_MAX_INSTANCES = 4
DEFAULT_IDLE_SECONDS = 120
DEFAULT_SIZE = "STANDARD_DS3_V2"


@dataclass(kw_only=True)
class ComputeInstance(Compute):
    """A single-user workstation VM of `size`, started and stopped by hand or on `schedules`."""

    type: str = field(default="computeinstance", init=False)
    size: str | None = None
    ssh_public_access_enabled: bool | None = None
    ssh_settings: ComputeInstanceSshSettings | None = None
    network_settings: NetworkSettings | None = None
    create_on_behalf_of: AssignedUserConfiguration | None = None
    schedules: ComputeSchedules | None = None
    identity: IdentityConfiguration | None = None
    enable_node_public_ip: bool | None = None
    state: str | None = None  # the service's: Running, Stopped, ...
    last_operation: dict[str, Any] | None = None  # the service's: operation_name, operation_time, ...

    _REST_TYPE: ClassVar[str] = "ComputeInstance"

    def _envelope(self) -> dict:
        return compact({"identity": self.identity._to_rest() if self.identity else None})

    def _envelope_properties(self) -> dict:
        return {"disableLocalAuth": not self.ssh_public_access_enabled}

    def _own(self, scope: str) -> dict:
        ssh = None
        if self.ssh_public_access_enabled is not None or self.ssh_settings is not None:
            ssh = compact({"sshPublicAccess": _SSH_ACCESS[bool(self.ssh_public_access_enabled)],
                           "adminPublicKey": self.ssh_settings.ssh_key_value if self.ssh_settings else None})
        owner = self.create_on_behalf_of
        return compact({"vmSize": self.size or DEFAULT_SIZE, "sshSettings": ssh,
                        "subnet": self.network_settings._subnet_id() if self.network_settings else None,
                        "personalComputeInstanceSettings": {"assignedUser": {
                            "objectId": owner.user_object_id, "tenantId": owner.user_tenant_id}} if owner else None,
                        "schedules": self.schedules._to_rest() if self.schedules else None,
                        "enableNodePublicIp": self.enable_node_public_ip})

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "ComputeInstance":
        ssh = own.get("sshSettings") or {}
        user = (own.get("personalComputeInstanceSettings") or {}).get("assignedUser")
        last = own.get("lastOperation")
        settings = compact({"ssh_key_value": ssh.get("adminPublicKey"), "admin_username": ssh.get("adminUserName"),
                            "ssh_port": None if ssh.get("sshPort") is None else str(ssh["sshPort"])})
        return cls(**common, size=own.get("vmSize"),
                   ssh_public_access_enabled=_reverse(_SSH_ACCESS, ssh["sshPublicAccess"])
                   if ssh.get("sshPublicAccess") in ("Enabled", "Disabled") else None,
                   ssh_settings=ComputeInstanceSshSettings(**settings) if settings else None,
                   network_settings=NetworkSettings._from_rest(own.get("subnet")),
                   create_on_behalf_of=AssignedUserConfiguration(user_tenant_id=user.get("tenantId"),
                                                                 user_object_id=user.get("objectId"))
                   if user else None,
                   schedules=ComputeSchedules._from_rest(own["schedules"]) if own.get("schedules") else None,
                   identity=_identity(resource), enable_node_public_ip=own.get("enableNodePublicIp"),
                   state=own.get("state"),
                   last_operation={_LAST_OPERATION[k]: v for k, v in last.items() if k in _LAST_OPERATION}
                   if last else None)


_LAST_OPERATION = {"operationName": "operation_name", "operationTime": "operation_time",
                   "operationStatus": "operation_status", "operationTrigger": "operation_trigger"}


@dataclass(kw_only=True)
class KubernetesCompute(Compute):
    """An attached Kubernetes cluster (`resource_id` of the AKS or Arc cluster) and the `namespace` jobs run in;
    `properties` are the REST KubernetesProperties (defaultInstanceType, instanceTypes, ...)."""

    type: str = field(default="kubernetes", init=False)
    namespace: str = "default"
    identity: IdentityConfiguration | None = None

    _REST_TYPE: ClassVar[str] = "Kubernetes"

    def _envelope(self) -> dict:
        return compact({"identity": self.identity._to_rest() if self.identity else None})

    def _rest(self, scope: str) -> dict:
        body = super()._rest(scope)
        if self.location:  # the cluster's region, as azure-ai-ml sends it
            body["properties"]["computeLocation"] = self.location
        return body

    def _own(self, scope: str) -> dict:
        return {**(self.properties or {}), "namespace": self.namespace}

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "KubernetesCompute":
        rest = {k: v for k, v in own.items() if k != "namespace" and v is not None}
        return cls(**common, namespace=own.get("namespace") or "default", properties=rest or None,
                   identity=_identity(resource))


@dataclass(kw_only=True)
class VirtualMachineCompute(Compute):
    """An attached virtual machine (`resource_id`), reached over SSH with `ssh_settings`."""

    type: str = field(default="virtualmachine", init=False)
    ssh_settings: VirtualMachineSshSettings | None = None
    public_key_data: str | None = None

    _REST_TYPE: ClassVar[str] = "VirtualMachine"

    def _own(self, scope: str) -> dict | None:
        ssh = self.ssh_settings
        if ssh is None:
            return None
        key = None
        if ssh.ssh_private_key_file:
            with open(ssh.ssh_private_key_file, encoding="utf-8") as fh:
                key = fh.read()
        account = compact({"username": ssh.admin_username, "password": ssh.admin_password,
                           "publicKeyData": self.public_key_data, "privateKeyData": key})
        return compact({"sshPort": ssh.ssh_port or 22, "administratorAccount": account or None})

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "VirtualMachineCompute":
        account = own.get("administratorAccount") or {}
        ssh = compact({"admin_username": account.get("username"), "admin_password": account.get("password"),
                       "ssh_port": own.get("sshPort")})
        return cls(**common, ssh_settings=VirtualMachineSshSettings(**ssh) if ssh else None,
                   public_key_data=account.get("publicKeyData"))


@dataclass(kw_only=True)
class SynapseSparkCompute(Compute):
    """An attached Synapse Spark pool (`resource_id`), reached with `identity`."""

    type: str = field(default="synapsespark", init=False)
    identity: IdentityConfiguration | None = None

    _REST_TYPE: ClassVar[str] = "SynapseSpark"

    def _envelope(self) -> dict:
        return compact({"identity": self.identity._to_rest() if self.identity else None})

    @classmethod
    def _read(cls, resource: dict, own: dict, common: dict) -> "SynapseSparkCompute":
        return cls(**common, identity=_identity(resource))


_CLASSES = {c._REST_TYPE.lower(): c for c in (AmlCompute, ComputeInstance, KubernetesCompute, VirtualMachineCompute,
                                              SynapseSparkCompute)}
# REST computeType -> the `type` az ml and azure-ai-ml show, for the types without a class here
_REST_TYPES = {t.lower(): t for t in ("AmlCompute", "ComputeInstance", "Kubernetes", "VirtualMachine", "AKS",
                                      "Databricks", "HDInsight", "DataFactory", "DataLakeAnalytics", "SynapseSpark")}
