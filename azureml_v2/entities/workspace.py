"""Workspaces: where jobs, assets, datastores, connections and endpoints live. On the local workspace, several of
them share one home (its datastore folders and registries); on Azure, each is an ARM resource with its storage
account, key vault, container registry and Application Insights."""
from __future__ import annotations

from dataclasses import dataclass

from ._base import Resource

_RULE_TYPES = {"fqdn": "FQDN", "private_endpoint": "PrivateEndpoint", "service_tag": "ServiceTag"}
_ISOLATION = {"disabled": "Disabled", "allow_internet_outbound": "AllowInternetOutbound",
              "allow_only_approved_outbound": "AllowOnlyApprovedOutbound"}
# an outbound rule's destination members: YAML name -> REST name
_DESTINATION = {"service_resource_id": "serviceResourceId", "spark_enabled": "sparkEnabled",
                "subresource_target": "subresourceTarget", "port_ranges": "portRanges", "protocol": "protocol",
                "service_tag": "serviceTag", "action": "action"}


@dataclass(kw_only=True)
class CustomerManagedKey:
    """The key that encrypts the workspace's data at rest, in `key_vault` (an ARM id) at `key_uri`."""

    key_vault: str | None = None
    key_uri: str | None = None


@dataclass(kw_only=True)
class OutboundRule:
    """A managed network's outbound rule: `type` fqdn (destination: a host name), private_endpoint or service_tag
    (destination: a mapping)."""

    name: str | None = None
    type: str | None = None
    destination: str | dict | None = None
    category: str | None = None  # what the service answers (required, recommended, user_defined)

    def _rest(self) -> dict:
        rest = {"type": _RULE_TYPES[self.type]}
        if isinstance(self.destination, dict):
            rest["destination"] = {_DESTINATION[k]: v for k, v in self.destination.items()}
        elif self.destination is not None:
            rest["destination"] = self.destination
        return rest

    @classmethod
    def _from_rest(cls, name: str, rest: dict) -> "OutboundRule":
        destination = rest.get("destination")
        if isinstance(destination, dict):
            yaml_names = {v: k for k, v in _DESTINATION.items()}
            destination = {yaml_names[k]: v for k, v in destination.items() if k in yaml_names}
        kind = {v: k for k, v in _RULE_TYPES.items()}.get(rest.get("type"), rest.get("type"))
        category = rest.get("category")
        return cls(name=name, type=kind, destination=destination,
                   category=category and {"UserDefined": "user_defined"}.get(category, category.lower()))


@dataclass(kw_only=True)
class ManagedNetwork:
    isolation_mode: str | None = None
    outbound_rules: list[OutboundRule] | None = None

    def _rest(self) -> dict:
        rest = {"isolationMode": _ISOLATION[self.isolation_mode or "disabled"]}
        if self.outbound_rules:
            rest["outboundRules"] = {rule.name: rule._rest() for rule in self.outbound_rules}
        return rest

    @classmethod
    def _from_rest(cls, rest: dict) -> "ManagedNetwork":
        mode = {v: k for k, v in _ISOLATION.items()}.get(rest.get("isolationMode"), rest.get("isolationMode"))
        rules = [OutboundRule._from_rest(name, rule) for name, rule in (rest.get("outboundRules") or {}).items()]
        return cls(isolation_mode=mode, outbound_rules=rules or None)


# YAML attribute -> REST member of properties, for the plain ones
_PLAIN = (("display_name", "friendlyName"), ("description", "description"), ("storage_account", "storageAccount"),
          ("container_registry", "containerRegistry"), ("key_vault", "keyVault"),
          ("application_insights", "applicationInsights"), ("hbi_workspace", "hbiWorkspace"),
          ("image_build_compute", "imageBuildCompute"), ("public_network_access", "publicNetworkAccess"),
          ("primary_user_assigned_identity", "primaryUserAssignedIdentity"),
          ("enable_data_isolation", "enableDataIsolation"))


@dataclass(kw_only=True)
class Workspace(Resource):
    """A workspace. `discovery_url`, `mlflow_tracking_uri` and `workspace_id` are what the service answers."""

    location: str | None = None
    display_name: str | None = None
    storage_account: str | None = None
    container_registry: str | None = None
    key_vault: str | None = None
    application_insights: str | None = None
    customer_managed_key: CustomerManagedKey | None = None
    hbi_workspace: bool | None = None
    image_build_compute: str | None = None
    public_network_access: str | None = None
    primary_user_assigned_identity: str | None = None
    enable_data_isolation: bool | None = None
    managed_network: ManagedNetwork | None = None
    discovery_url: str | None = None
    mlflow_tracking_uri: str | None = None
    workspace_id: str | None = None

    def _rest(self, scope: str) -> dict:
        props = {rest: getattr(self, attr) for attr, rest in _PLAIN if getattr(self, attr) is not None}
        key = self.customer_managed_key
        if key is not None:
            props["encryption"] = {"status": "Enabled",
                                   "keyVaultProperties": {"keyVaultArmId": key.key_vault, "keyIdentifier": key.key_uri}}
        if self.managed_network is not None:
            props["managedNetwork"] = self.managed_network._rest()
        body = {"location": self.location, "tags": dict(self.tags or {}), "identity": {"type": "SystemAssigned"},
                "properties": props}
        return {k: v for k, v in body.items() if v is not None}

    @classmethod
    def _from_rest(cls, resource: dict) -> "Workspace":
        props = resource.get("properties") or {}
        key = (props.get("encryption") or {}).get("keyVaultProperties")
        network = props.get("managedNetwork")
        return cls(name=resource.get("name"), location=resource.get("location"), tags=resource.get("tags") or None,
                   **{attr: props.get(rest) for attr, rest in _PLAIN},
                   customer_managed_key=key and CustomerManagedKey(key_vault=key.get("keyVaultArmId"),
                                                                    key_uri=key.get("keyIdentifier")),
                   managed_network=network and ManagedNetwork._from_rest(network),
                   discovery_url=props.get("discoveryUrl"), mlflow_tracking_uri=props.get("mlFlowTrackingUri"),
                   workspace_id=props.get("workspaceId"))
