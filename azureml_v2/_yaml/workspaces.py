"""Schema for workspaces (azure-ai-ml's workspace YAML)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from ..entities.workspace import _DESTINATION, _ISOLATION, _RULE_TYPES, CustomerManagedKey, ManagedNetwork, \
    OutboundRule, Workspace
from .base import BaseSchema
from .fields import Enum, ShortName, StrMap


class CustomerManagedKeySchema(BaseSchema):
    entity = CustomerManagedKey
    key_vault = fields.String(required=True)
    key_uri = fields.String(required=True)


class OutboundRuleSchema(BaseSchema):
    entity = OutboundRule
    name = fields.String(required=True)
    type = Enum(tuple(_RULE_TYPES), required=True)
    destination = fields.Raw(required=True)
    category = fields.String(dump_only=True)

    @validates_schema
    def _destination(self, data, **_):
        destination, kind = data.get("destination"), data.get("type")
        if kind == "fqdn":
            if not isinstance(destination, str):
                raise ValidationError("an fqdn rule's destination is a host name", "destination")
        elif not isinstance(destination, dict):
            raise ValidationError(f"a {kind} rule's destination is a mapping", "destination")
        else:
            unknown = sorted(set(destination) - set(_DESTINATION))
            if unknown:
                raise ValidationError(f"unknown field {unknown[0]!r} (known: {', '.join(_DESTINATION)})",
                                      "destination")


class ManagedNetworkSchema(BaseSchema):
    entity = ManagedNetwork
    isolation_mode = Enum(tuple(_ISOLATION))
    outbound_rules = fields.List(fields.Nested(OutboundRuleSchema))


class WorkspaceSchema(BaseSchema):
    entity = Workspace
    schema = fields.String(data_key="$schema")
    name = ShortName("workspace", required=True)
    location = fields.String()
    display_name = fields.String()
    description = fields.String()
    tags = StrMap(nulls=True)
    storage_account = fields.String()
    container_registry = fields.String()
    key_vault = fields.String()
    application_insights = fields.String()
    customer_managed_key = fields.Nested(CustomerManagedKeySchema)
    hbi_workspace = fields.Boolean()
    image_build_compute = fields.String()
    public_network_access = Enum(("Enabled", "Disabled"))
    primary_user_assigned_identity = fields.String()
    enable_data_isolation = fields.Boolean()
    managed_network = fields.Nested(ManagedNetworkSchema)
    discovery_url = fields.String(dump_only=True)
    mlflow_tracking_uri = fields.String(dump_only=True)
    workspace_id = fields.String(dump_only=True)
    not_supported = ("identity", "serverless_compute", "feature_store_settings", "system_datastores_auth_mode",
                     "allow_roleassignment_on_rg", "provision_network_now", "kind", "hub_id", "network_acls")
