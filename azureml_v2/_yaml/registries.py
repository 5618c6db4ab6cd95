"""Schema for registries (azure-ai-ml's registry YAML)."""
from __future__ import annotations

from marshmallow import fields, validate

from ..entities.registry import Registry, RegistryRegionDetails, SystemCreatedStorageAccount
from .base import BaseSchema
from .fields import Enum, ShortName, StrMap

_STORAGE_TYPES = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS",
                  "Standard_RAGZRS", "Premium_LRS", "Premium_ZRS")


class StorageSchema(BaseSchema):
    entity = SystemCreatedStorageAccount
    storage_account_hns = fields.Boolean()
    storage_account_type = Enum(_STORAGE_TYPES)
    replication_count = fields.Integer(validate=validate.Range(min=1))


class RegionSchema(BaseSchema):
    entity = RegistryRegionDetails
    location = fields.String(required=True)
    storage_config = fields.Nested(StorageSchema)
    not_supported = ("acr_config",)


class RegistrySchema(BaseSchema):
    entity = Registry
    schema = fields.String(data_key="$schema")
    name = ShortName("registry", required=True)
    description = fields.String()
    tags = StrMap(nulls=True)
    location = fields.String(required=True)
    replication_locations = fields.List(fields.Nested(RegionSchema))
    public_network_access = Enum(("Enabled", "Disabled"))
    intellectual_property_publisher = fields.String()
    discovery_url = fields.String(dump_only=True)
    mlflow_registry_uri = fields.String(dump_only=True)
    not_supported = ("container_registry", "identity", "intellectual_property", "managed_resource_group")
