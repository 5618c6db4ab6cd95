"""Registries: stores of models, environments, components, data and code that several workspaces share."""
from __future__ import annotations

from dataclasses import dataclass

from ._base import Resource


@dataclass(kw_only=True)
class SystemCreatedStorageAccount:
    """The storage account Azure ML creates for a registry in one region."""

    storage_account_hns: bool = False
    storage_account_type: str | None = None  # Standard_LRS, Standard_GRS, ... (Azure's default when None)
    replication_count: int = 1


@dataclass(kw_only=True)
class RegistryRegionDetails:
    """A region a registry keeps its assets in."""

    location: str | None = None
    storage_config: SystemCreatedStorageAccount | None = None


@dataclass(kw_only=True)
class Registry(Resource):
    """A registry: `location` is its primary region; `replication_locations` where its assets are kept.
    `discovery_url` and `mlflow_registry_uri` are what the service answers."""

    location: str | None = None
    replication_locations: list[RegistryRegionDetails] | None = None
    public_network_access: str | None = None
    intellectual_property_publisher: str | None = None
    discovery_url: str | None = None
    mlflow_registry_uri: str | None = None

    def _rest(self, scope: str) -> dict:
        # the spec's RegistryTrackedResource; a registry has no description on the wire (azure-ai-ml drops it too)
        regions = [_region_rest(r) for r in self.replication_locations or ()]
        props = {"regionDetails": regions or [{"location": self.location, "acrDetails": [],
                                               "storageAccountDetails": []}]}
        if self.public_network_access is not None:
            props["publicNetworkAccess"] = self.public_network_access
        if self.intellectual_property_publisher is not None:
            props["intellectualPropertyPublisher"] = self.intellectual_property_publisher
        return {"location": self.location, "tags": dict(self.tags or {}), "identity": {"type": "SystemAssigned"},
                "properties": props}

    @classmethod
    def _from_rest(cls, resource: dict) -> "Registry":
        props = resource.get("properties") or {}
        regions = []
        for region in props.get("regionDetails") or ():
            storage = next((s.get("systemCreatedStorageAccount") for s in region.get("storageAccountDetails") or ()
                            if s.get("systemCreatedStorageAccount")), None)
            count = sum(1 for s in region.get("storageAccountDetails") or () if s.get("systemCreatedStorageAccount"))
            regions.append(RegistryRegionDetails(location=region.get("location"), storage_config=storage and (
                SystemCreatedStorageAccount(storage_account_hns=bool(storage.get("storageAccountHnsEnabled")),
                                            storage_account_type=storage.get("storageAccountType"),
                                            replication_count=count))))
        return cls(name=resource.get("name"), location=resource.get("location"), tags=resource.get("tags") or None,
                   replication_locations=regions or None, public_network_access=props.get("publicNetworkAccess"),
                   intellectual_property_publisher=props.get("intellectualPropertyPublisher"),
                   discovery_url=props.get("discoveryUrl"), mlflow_registry_uri=props.get("mlFlowRegistryUri"))


def _region_rest(region: RegistryRegionDetails) -> dict:
    storage = region.storage_config
    accounts = []
    if storage is not None:
        account = {"storageAccountHnsEnabled": storage.storage_account_hns}
        if storage.storage_account_type is not None:
            account["storageAccountType"] = storage.storage_account_type
        accounts = [{"systemCreatedStorageAccount": dict(account)} for _ in range(storage.replication_count)]
    return {"location": region.location, "acrDetails": [], "storageAccountDetails": accounts}
