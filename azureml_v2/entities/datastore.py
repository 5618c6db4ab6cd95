"""Datastores: where data lives (Azure Blob, Azure Files, Data Lake Gen1/Gen2, OneLake, or a local folder),
with the credentials to reach it.

Secrets are masked in repr() and str(); `dump()` writes them as the user gave them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from .._contract import LOCAL_FOLDER_PROPERTY
from ..exceptions import NotSupportedError
from ._base import Resource
from ._rest import compact, str_map

MASK = "***"


@dataclass(kw_only=True, repr=False)
class _Credentials:
    """Base of the credential classes: knows its REST type and which of its fields are secret."""

    _TYPE = ""
    _SECRETS: ClassVar[tuple] = ()  # (attribute, REST key inside `secrets`)
    _PLAIN: ClassVar[tuple] = ()  # (attribute, REST key beside `secrets`)

    def __repr__(self) -> str:
        shown = self._masked()
        members = ", ".join(f"{f.name}={getattr(shown, f.name)!r}" for f in dataclasses.fields(self))
        return f"{type(self).__name__}({members})"

    def _masked(self) -> "_Credentials":
        return dataclasses.replace(self, **{attr: MASK for attr, _ in self._SECRETS if getattr(self, attr)})

    def _to_rest(self) -> dict:
        secrets = {"secretsType": self._TYPE, **compact({rest: getattr(self, attr) for attr, rest in self._SECRETS})}
        return {"credentialsType": self._TYPE,
                **compact({rest: getattr(self, attr) for attr, rest in self._PLAIN}), "secrets": secrets}

    @classmethod
    def _from_rest(cls, body: dict) -> "_Credentials":
        secrets = body.get("secrets") or {}
        return cls(**{attr: body.get(rest) for attr, rest in cls._PLAIN},
                   **{attr: secrets.get(rest) for attr, rest in cls._SECRETS})


@dataclass(kw_only=True, repr=False)
class AccountKeyConfiguration(_Credentials):
    """A storage account key."""

    account_key: str | None = None
    _TYPE = "AccountKey"
    _SECRETS = (("account_key", "key"),)


@dataclass(kw_only=True, repr=False)
class SasTokenConfiguration(_Credentials):
    """A shared access signature token."""

    sas_token: str | None = None
    _TYPE = "Sas"
    _SECRETS = (("sas_token", "sasToken"),)


_TENANT = (("tenant_id", "tenantId"), ("client_id", "clientId"), ("authority_url", "authorityUrl"),
           ("resource_url", "resourceUrl"))


@dataclass(kw_only=True, repr=False)
class ServicePrincipalConfiguration(_Credentials):
    """A service principal (Microsoft Entra application) and its client secret."""

    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    authority_url: str | None = None
    resource_url: str | None = None
    _TYPE = "ServicePrincipal"
    _SECRETS = (("client_secret", "clientSecret"),)
    _PLAIN = _TENANT


@dataclass(kw_only=True, repr=False)
class CertificateConfiguration(_Credentials):
    """A service principal that authenticates with a certificate."""

    tenant_id: str | None = None
    client_id: str | None = None
    certificate: str | None = None
    thumbprint: str | None = None
    authority_url: str | None = None
    resource_url: str | None = None
    _TYPE = "Certificate"
    _SECRETS = (("certificate", "certificate"),)
    _PLAIN = _TENANT + (("thumbprint", "thumbprint"),)


_CREDENTIALS = {c._TYPE: c for c in (AccountKeyConfiguration, SasTokenConfiguration, ServicePrincipalConfiguration,
                                     CertificateConfiguration)}

# serviceDataAccessAuthIdentity: which identity the service uses to reach the storage
_IDENTITY_REST = {"none": "None", "workspace_system_assigned_identity": "WorkspaceSystemAssignedIdentity",
                  "workspace_user_assigned_identity": "WorkspaceUserAssignedIdentity"}
_IDENTITY_YAML = {v: k for k, v in _IDENTITY_REST.items()}
SERVICE_IDENTITIES = tuple(_IDENTITY_REST)


@dataclass(kw_only=True)
class Datastore(Resource):
    """A named pointer to storage; no credentials (None) means identity-based access."""

    type: str = field(default="", init=False)
    credentials: _Credentials | None = None

    _REST_TYPE = ""
    _REST_FIELDS: ClassVar[tuple] = ()  # (attribute, REST property), copied as they are

    def __str__(self) -> str:
        if self.credentials is None:
            return self.dump()
        return dataclasses.replace(self, credentials=self.credentials._masked()).dump()

    def _own_rest(self) -> dict:
        return {rest: getattr(self, attr) for attr, rest in self._REST_FIELDS}

    def _rest(self, scope: str) -> dict:
        credentials = self.credentials._to_rest() if self.credentials else {"credentialsType": "None"}
        return {"properties": compact({"description": self.description, "tags": str_map(self.tags),
                                       "properties": str_map(self.properties), "credentials": credentials,
                                       "datastoreType": self._REST_TYPE, **self._own_rest()})}

    @classmethod
    def _from_rest(cls, resource: dict) -> "Datastore":
        """Any datastore resource -> the entity of its `datastoreType`."""
        props = resource.get("properties", {})
        if LOCAL_FOLDER_PROPERTY in (props.get("properties") or {}):
            return LocalDatastore._from_rest_props(resource.get("name"), props)
        kind = props.get("datastoreType")
        target = _BY_REST_TYPE.get(kind)
        if target is None:
            return UnsupportedDatastore(name=resource.get("name"), type=kind, description=props.get("description"),
                                        tags=props.get("tags") or None, is_default=bool(props.get("isDefault")))
        body = props.get("credentials") or {}
        credential_cls = _CREDENTIALS.get(body.get("credentialsType"))
        store = target(name=resource.get("name"), description=props.get("description"),
                       tags=props.get("tags") or None, properties=props.get("properties") or None,
                       credentials=credential_cls._from_rest(body) if credential_cls else None,
                       **target._own_fields(props))
        return store

    @classmethod
    def _own_fields(cls, props: dict) -> dict:
        return {attr: props.get(rest) for attr, rest in cls._REST_FIELDS}


@dataclass(kw_only=True)
class _AzureDatastore(Datastore):
    """What every Azure storage datastore may say about where its storage account lives."""

    subscription_id: str | None = None
    resource_group: str | None = None
    service_data_access_auth_identity: str | None = None

    _AZURE_FIELDS = (("subscription_id", "subscriptionId"), ("resource_group", "resourceGroup"))

    def _own_rest(self) -> dict:
        identity = self.service_data_access_auth_identity
        return {**super()._own_rest(), **{rest: getattr(self, attr) for attr, rest in self._AZURE_FIELDS},
                "serviceDataAccessAuthIdentity": _IDENTITY_REST.get(identity, identity)}

    @classmethod
    def _own_fields(cls, props: dict) -> dict:
        identity = props.get("serviceDataAccessAuthIdentity")
        return {**super()._own_fields(props), **{attr: props.get(rest) for attr, rest in cls._AZURE_FIELDS},
                "service_data_access_auth_identity": _IDENTITY_YAML.get(identity, identity)}


@dataclass(kw_only=True)
class _AccountDatastore(_AzureDatastore):
    """Storage reached through a storage account (blob, file share, Data Lake Gen2)."""

    account_name: str | None = None
    endpoint: str | None = None  # the storage suffix, core.windows.net unless another cloud
    protocol: str | None = None
    _ACCOUNT_FIELDS = (("account_name", "accountName"), ("endpoint", "endpoint"), ("protocol", "protocol"))


@dataclass(kw_only=True)
class AzureBlobDatastore(_AccountDatastore):
    """A blob container; credentials: account key, SAS token, or none (identity-based)."""

    type: str = field(default="azure_blob", init=False)
    container_name: str | None = None
    _REST_TYPE = "AzureBlob"
    _REST_FIELDS = _AccountDatastore._ACCOUNT_FIELDS + (("container_name", "containerName"),)


@dataclass(kw_only=True)
class AzureFileDatastore(_AccountDatastore):
    """An Azure Files share; credentials: account key or SAS token."""

    type: str = field(default="azure_file", init=False)
    file_share_name: str | None = None
    _REST_TYPE = "AzureFile"
    _REST_FIELDS = _AccountDatastore._ACCOUNT_FIELDS + (("file_share_name", "fileShareName"),)


@dataclass(kw_only=True)
class AzureDataLakeGen1Datastore(_AzureDatastore):
    """An Azure Data Lake Storage Gen1 store; credentials: service principal, certificate or none."""

    type: str = field(default="azure_data_lake_gen1", init=False)
    store_name: str | None = None
    _REST_TYPE = "AzureDataLakeGen1"
    _REST_FIELDS = (("store_name", "storeName"),)


@dataclass(kw_only=True)
class AzureDataLakeGen2Datastore(_AccountDatastore):
    """An Azure Data Lake Storage Gen2 filesystem; credentials: service principal, certificate or none."""

    type: str = field(default="azure_data_lake_gen2", init=False)
    filesystem: str | None = None
    _REST_TYPE = "AzureDataLakeGen2"
    _REST_FIELDS = _AccountDatastore._ACCOUNT_FIELDS + (("filesystem", "filesystem"),)


@dataclass(kw_only=True)
class OneLakeArtifact:
    """What a OneLake datastore reaches in its Fabric workspace: a lakehouse, by name."""

    name: str
    type: str = "lake_house"


@dataclass(kw_only=True)
class OneLakeDatastore(Datastore):
    """A Microsoft Fabric OneLake artifact (a lakehouse); credentials: service principal or none."""

    type: str = field(default="one_lake", init=False)
    one_lake_workspace_name: str | None = None
    endpoint: str | None = None
    artifact: OneLakeArtifact | None = None
    service_data_access_auth_identity: str | None = None
    _REST_TYPE = "OneLake"
    _REST_FIELDS = (("one_lake_workspace_name", "oneLakeWorkspaceName"), ("endpoint", "endpoint"))

    def _own_rest(self) -> dict:
        identity = self.service_data_access_auth_identity
        artifact = None if self.artifact is None else {"artifactType": "LakeHouse",
                                                       "artifactName": self.artifact.name}
        return {**super()._own_rest(), "artifact": artifact,
                "serviceDataAccessAuthIdentity": _IDENTITY_REST.get(identity, identity)}

    @classmethod
    def _own_fields(cls, props: dict) -> dict:
        artifact, identity = props.get("artifact") or {}, props.get("serviceDataAccessAuthIdentity")
        return {**super()._own_fields(props), "service_data_access_auth_identity": _IDENTITY_YAML.get(identity, identity),
                "artifact": OneLakeArtifact(name=artifact["artifactName"]) if artifact.get("artifactName") else None}


@dataclass(kw_only=True)
class LocalDatastore(Datastore):
    """A folder on this machine: the local workspace's file datastore.

    On the wire it is a spec type every client reads, an AzureBlob datastore of account `local` (container: its
    name), with the folder in the property `LOCAL_FOLDER_PROPERTY`; only the local workspace reads it as a folder.
    """

    type: str = field(default="local", init=False)
    path: str | None = None
    _REST_TYPE = "AzureBlob"

    def _rest(self, scope: str) -> dict:
        body = super()._rest(scope)
        body["properties"].update(accountName="local", containerName=self.name,
                                  properties={**(str_map(self.properties) or {}), LOCAL_FOLDER_PROPERTY: self.path})
        return body

    @classmethod
    def _from_rest_props(cls, name: str, props: dict) -> "LocalDatastore":
        own = dict(props.get("properties") or {})
        path = own.pop(LOCAL_FOLDER_PROPERTY)
        return cls(name=name, description=props.get("description"), tags=props.get("tags") or None,
                   properties=own or None, path=path)


@dataclass(kw_only=True)
class UnsupportedDatastore(Datastore):
    """A datastore of a type this project does not handle yet (Hdfs, ...), as Azure ML lists it:
    name, type as the service spells it, description, tags, whether it is the default. Read only."""

    type: str | None = None
    is_default: bool = False

    def _refuse(self):
        return NotSupportedError(f"datastore {self.name!r}: type {self.type} is not supported yet")

    def __str__(self) -> str:
        return repr(self)

    def dump(self, dest=None, **kwargs):
        raise self._refuse()

    def _rest(self, scope: str) -> dict:
        raise self._refuse()


_BY_REST_TYPE = {c._REST_TYPE: c for c in (AzureBlobDatastore, AzureFileDatastore, AzureDataLakeGen1Datastore,
                                           AzureDataLakeGen2Datastore, OneLakeDatastore)}
