"""Schemas for datastores: one per `type`, and `DatastoreSchema`, which picks among them."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_dump, post_load, pre_load
from marshmallow.validate import Regexp

from ..entities import datastore as D
from ..exceptions import suggest
from .base import BaseSchema
from .fields import Enum, LocalPath, Name, StrMap, Switch, shown


class _CredentialsSchema(BaseSchema):
    @post_dump(pass_original=True)
    def _drop_unset(self, data, original, **_):
        # a secret the service did not return is written as null, so that the file asks for it
        secrets = {attr for attr, _ in original._SECRETS}
        return {k: v for k, v in data.items() if v is not None or k in secrets}


class AccountKeySchema(_CredentialsSchema):
    entity = D.AccountKeyConfiguration
    account_key = fields.String(required=True)


class SasTokenSchema(_CredentialsSchema):
    entity = D.SasTokenConfiguration
    sas_token = fields.String(required=True)


class _TenantSchema(_CredentialsSchema):
    tenant_id = fields.String(required=True)
    client_id = fields.String(required=True)
    authority_url = fields.String()
    resource_url = fields.String()

    @pre_load
    def _authority_uri(self, data, **_):
        # azure-ai-ml writes this key as `authority_uri`
        if isinstance(data, dict) and "authority_uri" in data and "authority_url" not in data:
            data = dict(data)
            data["authority_url"] = data.pop("authority_uri")
        return data


class ServicePrincipalSchema(_TenantSchema):
    entity = D.ServicePrincipalConfiguration
    client_secret = fields.String(required=True)


class CertificateSchema(_TenantSchema):
    entity = D.CertificateConfiguration
    thumbprint = fields.String(required=True)
    certificate = fields.String(required=True)


# the key that tells which kind of credentials a mapping holds, strongest first
_KINDS = ((("account_key",), AccountKeySchema), (("sas_token",), SasTokenSchema),
          (("thumbprint", "certificate"), CertificateSchema),
          (("client_secret", "tenant_id", "client_id"), ServicePrincipalSchema))
_DESCRIBE = {AccountKeySchema: "account_key", SasTokenSchema: "sas_token",
             ServicePrincipalSchema: "a service principal (tenant_id, client_id, client_secret)",
             CertificateSchema: "a certificate (tenant_id, client_id, thumbprint)"}


class Credentials(fields.Field):
    """`credentials:` whose keys say their kind; absent or empty means identity-based access."""

    def __init__(self, kinds: tuple, **kwargs):
        super().__init__(**kwargs)
        self.kinds = kinds
        self._schemas: dict = {}

    def _schema(self, cls):
        if cls not in self._schemas:
            self._schemas[cls] = cls()
        return self._schemas[cls]

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("expected a mapping")
        if not value:
            if self.required:
                raise ValidationError(f"give {self._allowed()}")
            return None
        chosen = next((cls for keys, cls in _KINDS if any(k in value for k in keys)), None)
        if chosen is None:
            known = [f for _, cls in _KINDS if cls in self.kinds for f in self._schema(cls).fields]
            raise ValidationError({k: ["unknown field" + suggest(k, known)] for k in value})
        if chosen not in self.kinds:
            raise ValidationError(f"this datastore type takes {self._allowed()}, not {_DESCRIBE[chosen]}")
        return self._schema(chosen).load(value)

    def _allowed(self) -> str:
        names = [_DESCRIBE[cls] for cls in self.kinds]
        text = " or ".join(names)
        return text if self.required else f"{text} credentials, or none (identity-based access)"

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        schema = next(cls for cls in self.kinds if cls.entity is type(value))
        return self._schema(schema).dump(value)


class _DatastoreSchema(BaseSchema):
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    type = fields.String(required=True)  # checked by DatastoreSchema's dispatch; fixed per entity class
    description = fields.String()
    tags = StrMap(nulls=True)
    properties = StrMap(nulls=True)

    @post_load
    def _build(self, data, **_):
        data.pop("type", None)
        return self.entity(**data)


class _AzureSchema(_DatastoreSchema):
    subscription_id = fields.String()
    resource_group = fields.String()
    service_data_access_auth_identity = Enum(D.SERVICE_IDENTITIES)


_KEYS = (AccountKeySchema, SasTokenSchema)
_PRINCIPALS = (ServicePrincipalSchema, CertificateSchema)


class _AccountSchema(_AzureSchema):
    account_name = fields.String(required=True)
    endpoint = fields.String()
    protocol = fields.String()


class AzureBlobSchema(_AccountSchema):
    entity = D.AzureBlobDatastore
    container_name = fields.String(required=True)
    credentials = Credentials(_KEYS)


class AzureFileSchema(_AccountSchema):
    entity = D.AzureFileDatastore
    file_share_name = fields.String(required=True)
    credentials = Credentials(_KEYS, required=True)


class AzureDataLakeGen1Schema(_AzureSchema):
    entity = D.AzureDataLakeGen1Datastore
    store_name = fields.String(required=True)
    credentials = Credentials(_PRINCIPALS)


class AzureDataLakeGen2Schema(_AccountSchema):
    entity = D.AzureDataLakeGen2Datastore
    filesystem = fields.String(required=True)
    credentials = Credentials(_PRINCIPALS)


class OneLakeArtifactSchema(BaseSchema):
    entity = D.OneLakeArtifact
    name = fields.String(required=True, validate=Regexp(r"\w", error="expected a lakehouse name"))
    type = Enum(("lake_house",))


class OneLakeSchema(_DatastoreSchema):
    entity = D.OneLakeDatastore
    one_lake_workspace_name = fields.String(required=True)
    endpoint = fields.String(required=True)
    artifact = fields.Nested(OneLakeArtifactSchema, required=True)
    service_data_access_auth_identity = Enum(D.SERVICE_IDENTITIES)
    credentials = Credentials((ServicePrincipalSchema,))


class LocalSchema(_DatastoreSchema):
    entity = D.LocalDatastore
    path = LocalPath(required=True, local_only=True)


_BY_TYPE = {"azure_blob": AzureBlobSchema, "azure_file": AzureFileSchema,
            "azure_data_lake_gen1": AzureDataLakeGen1Schema, "azure_data_lake_gen2": AzureDataLakeGen2Schema,
            "one_lake": OneLakeSchema, "local": LocalSchema}
_NOT_SUPPORTED = ("hdfs",)  # Azure ML datastore types this project does not handle yet


class DatastoreSchema:
    """Any datastore: its `type` picks the schema (as `load_with` and `dump` expect of a schema)."""

    def __init__(self):
        self._switch = Switch(_BY_TYPE)

    def load(self, data):
        kind = data.get("type") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind.lower() in _NOT_SUPPORTED:
            raise ValidationError({"type": [f"not supported yet: {shown(kind)} datastores"]})
        return self._switch.deserialize(data)

    def dump(self, entity) -> dict:
        return self._switch._serialize(entity, None, None)
