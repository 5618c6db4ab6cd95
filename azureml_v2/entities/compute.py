"""Compute targets as the REST API describes them (Microsoft.MachineLearningServices/workspaces/computes)."""
from __future__ import annotations

from dataclasses import dataclass

from ._base import Resource
from .._contract import iso_from_seconds, seconds_from_iso
from ._rest import compact, str_map

# REST computeType -> the `type` az ml and azure-ai-ml show
_TYPES = {t.lower(): t for t in ("AmlCompute", "ComputeInstance", "Kubernetes", "VirtualMachine", "AKS",
                                 "Databricks", "HDInsight", "DataFactory", "DataLakeAnalytics", "SynapseSpark")}
_TIERS = {"dedicated": "Dedicated", "low_priority": "LowPriority"}


@dataclass(kw_only=True)
class Compute(Resource):
    """A compute target: a cluster (`amlcompute`, sized by min/max instances), a compute instance, or an
    attached resource (`virtualmachine`, `kubernetes`, ... with its ARM `resource_id`).

    `provisioning_state` is the service's, read-only.
    """

    type: str = "amlcompute"
    location: str | None = None
    size: str | None = None
    tier: str | None = None  # dedicated | low_priority
    min_instances: int | None = None
    max_instances: int | None = None
    idle_time_before_scale_down: int | None = None  # seconds
    resource_id: str | None = None
    provisioning_state: str | None = None

    def _rest(self, scope: str) -> dict:
        rest_type = _TYPES.get(self.type.lower(), self.type)
        own = None
        if rest_type == "AmlCompute":
            scale = compact({"minNodeCount": self.min_instances, "maxNodeCount": self.max_instances,
                             "nodeIdleTimeBeforeScaleDown": iso_from_seconds(self.idle_time_before_scale_down)})
            scale.setdefault("maxNodeCount", 1)  # required by the API once scale settings are sent
            own = compact({"vmSize": self.size, "vmPriority": _TIERS.get(self.tier, self.tier),
                           "scaleSettings": scale})
        elif rest_type == "ComputeInstance":
            own = compact({"vmSize": self.size})
        return compact({"location": self.location, "tags": str_map(self.tags), "properties": compact({
            "computeType": rest_type, "description": self.description, "resourceId": self.resource_id,
            "properties": own or None})})

    @classmethod
    def _from_rest(cls, resource: dict) -> "Compute":
        props = resource.get("properties") or {}
        own = props.get("properties") or {}
        scale = own.get("scaleSettings") or {}
        tier = own.get("vmPriority")
        return cls(name=resource.get("name"), description=props.get("description"),
                   tags=resource.get("tags") or None, type=str(props.get("computeType", "")).lower(),
                   location=resource.get("location") or props.get("computeLocation"),
                   size=own.get("vmSize") or own.get("virtualMachineSize"),
                   tier={v: k for k, v in _TIERS.items()}.get(tier, tier),
                   min_instances=scale.get("minNodeCount"), max_instances=scale.get("maxNodeCount"),
                   idle_time_before_scale_down=seconds_from_iso(scale.get("nodeIdleTimeBeforeScaleDown")),
                   resource_id=props.get("resourceId"), provisioning_state=props.get("provisioningState"))
