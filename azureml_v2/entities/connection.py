"""Workspace connections: where a workspace reaches outside services (git, package feeds, container registries,
S3, Snowflake, SQL databases, ...), with the credentials to use.

Secrets (a token, a password, a key) go to the service when a connection is created and come back only from
`ml_client.connections.get(name, populate_secrets=True)` (the listsecrets call); they are never shown by repr, never
written by `dump` (a secret is written as null, so that the file asks for it) and absent from what reads return.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from .._contract import CONNECTION_CATEGORIES
from ._base import Resource


def _secret():
    return field(default=None, repr=False)


@dataclass(kw_only=True)
class _Credentials:
    _AUTH = ""  # the spec's authType
    _MEMBERS = ()  # (attribute, REST member) pairs

    def _rest(self) -> dict:
        return {rest: getattr(self, attr) for attr, rest in self._MEMBERS if getattr(self, attr) is not None}

    @classmethod
    def _from_rest(cls, credentials: dict) -> "_Credentials":
        return cls(**{attr: credentials.get(rest) for attr, rest in cls._MEMBERS})


@dataclass(kw_only=True)
class PatTokenConfiguration(_Credentials):
    type: str = "pat"
    pat: str | None = _secret()
    _AUTH, _MEMBERS = "PAT", (("pat", "pat"),)


@dataclass(kw_only=True)
class UsernamePasswordConfiguration(_Credentials):
    type: str = "username_password"
    username: str | None = None
    password: str | None = _secret()
    security_token: str | None = _secret()
    _AUTH = "UsernamePassword"
    _MEMBERS = (("username", "username"), ("password", "password"), ("security_token", "securityToken"))


@dataclass(kw_only=True)
class ManagedIdentityConnectionConfiguration(_Credentials):
    type: str = "managed_identity"
    client_id: str | None = None
    resource_id: str | None = None
    _AUTH, _MEMBERS = "ManagedIdentity", (("client_id", "clientId"), ("resource_id", "resourceId"))


@dataclass(kw_only=True)
class AccessKeyConfiguration(_Credentials):
    type: str = "access_key"
    access_key_id: str | None = None
    secret_access_key: str | None = _secret()
    _AUTH, _MEMBERS = "AccessKey", (("access_key_id", "accessKeyId"), ("secret_access_key", "secretAccessKey"))


@dataclass(kw_only=True)
class ApiKeyConfiguration(_Credentials):
    type: str = "api_key"
    key: str | None = _secret()
    _AUTH, _MEMBERS = "ApiKey", (("key", "key"),)


@dataclass(kw_only=True)
class AccountKeyConnectionConfiguration(_Credentials):
    type: str = "account_key"
    account_key: str | None = _secret()
    _AUTH, _MEMBERS = "AccountKey", (("account_key", "key"),)


@dataclass(kw_only=True)
class SasTokenConnectionConfiguration(_Credentials):
    type: str = "sas"
    sas_token: str | None = _secret()
    _AUTH, _MEMBERS = "SAS", (("sas_token", "sas"),)


@dataclass(kw_only=True)
class ServicePrincipalConnectionConfiguration(_Credentials):
    type: str = "service_principal"
    client_id: str | None = None
    client_secret: str | None = _secret()
    tenant_id: str | None = None
    _AUTH = "ServicePrincipal"
    _MEMBERS = (("client_id", "clientId"), ("client_secret", "clientSecret"), ("tenant_id", "tenantId"))


@dataclass(kw_only=True)
class CustomKeysConfiguration(_Credentials):
    type: str = "custom_keys"
    keys: dict[str, str] | None = _secret()
    _AUTH, _MEMBERS = "CustomKeys", (("keys", "keys"),)


CREDENTIAL_TYPES = (PatTokenConfiguration, UsernamePasswordConfiguration, ManagedIdentityConnectionConfiguration,
                    AccessKeyConfiguration, ApiKeyConfiguration, AccountKeyConnectionConfiguration,
                    SasTokenConnectionConfiguration, ServicePrincipalConnectionConfiguration, CustomKeysConfiguration)
_BY_AUTH = {cls._AUTH: cls for cls in CREDENTIAL_TYPES}


def secret_attributes(credentials: _Credentials) -> set[str]:
    """The attributes of `credentials` that hold secrets (never written to a dump)."""
    return {f.name for f in fields(credentials) if not f.repr}


def _snake(category: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", category).lower()


# A connection's YAML `type` -> the spec's category: the snake_case form of each, and azure-ai-ml's other names
CONNECTION_TYPES = {_snake(c): c for c in CONNECTION_CATEGORIES}
CONNECTION_TYPES.update(custom="CustomKeys", azure_data_lake_gen2="ADLSGen2", azure_ai_search="CognitiveSearch",
                        azure_ai_services="AIServices")
_TYPE_OF = {c: _snake(c) for c in CONNECTION_CATEGORIES}


@dataclass(kw_only=True)
class WorkspaceConnection(Resource):
    """A connection: `type` (git, python_feed, container_registry, s3, snowflake, azure_sql_db, ...), `target`
    (a URL, a connection string), `credentials` (None: no authentication), `metadata` (free strings) and
    `is_shared` (visible to every user of the workspace, Azure ML's default)."""

    type: str | None = None
    target: str | None = None
    credentials: _Credentials | None = None
    metadata: dict[str, str] | None = None
    is_shared: bool | None = None

    def _rest(self, scope: str) -> dict:
        props: dict[str, Any] = {"authType": self.credentials._AUTH if self.credentials else "None",
                                 "category": CONNECTION_TYPES.get(self.type, self.type)}
        if self.target is not None:
            props["target"] = self.target
        if self.credentials is not None:
            props["credentials"] = self.credentials._rest()
        if self.metadata:
            props["metadata"] = dict(self.metadata)
        if self.is_shared is not None:
            props["isSharedToAll"] = self.is_shared
        return {"properties": props}

    @classmethod
    def _from_rest(cls, resource: dict) -> "WorkspaceConnection":
        props = resource.get("properties") or {}
        credentials_type = _BY_AUTH.get(props.get("authType"))
        credentials = None
        if credentials_type is not None:
            credentials = credentials_type._from_rest(props.get("credentials") or {})
        category = props.get("category")
        return cls(name=resource.get("name"), type=_TYPE_OF.get(category, category), target=props.get("target"),
                   credentials=credentials, metadata=props.get("metadata") or None,
                   is_shared=props.get("isSharedToAll"))
