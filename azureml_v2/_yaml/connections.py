"""Schema for workspace connections (azure-ai-ml's connection YAML): `type`, `target`, `credentials`, `metadata`."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_dump

from ..entities import connection as C
from ..exceptions import suggest
from .base import BaseSchema
from .fields import ShortName, StrMap, Switch, shown


class _CredentialsSchema(BaseSchema):
    type = fields.String()

    @post_dump(pass_original=True)
    def _no_secrets(self, data, original, **_):
        # a secret is never written: null, so that the file asks for it
        secrets = C.secret_attributes(original)
        return {"type": data.get("type"), **{attr: None if attr in secrets else data[attr]
                                             for attr, _ in original._MEMBERS if attr in secrets or attr in data}}


def _credentials_schema(cls) -> type:
    # a secret left null asks for it: loaded as unset
    members = {attr: (StrMap(allow_none=True) if attr == "keys" else fields.String(allow_none=True))
               for attr, _ in cls._MEMBERS}
    return type(f"{cls.__name__}Schema", (_CredentialsSchema,), {"entity": cls, **members})


_CREDENTIALS = {cls.type: _credentials_schema(cls) for cls in C.CREDENTIAL_TYPES}


class ConnectionType(fields.String):
    """A connection type: the snake_case name of one of the spec's categories (git, python_feed, s3, ...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        key = value.lower() if value.lower() in C.CONNECTION_TYPES else C._snake(value)
        if key not in C.CONNECTION_TYPES:
            raise ValidationError(f"invalid value {shown(value)}: expected a connection type such as git, python_feed, "
                                  "container_registry, s3, snowflake or azure_sql_db"
                                  + suggest(value, list(C.CONNECTION_TYPES)))
        return key


class ConnectionSchema(BaseSchema):
    entity = C.WorkspaceConnection
    schema = fields.String(data_key="$schema")
    name = ShortName("connection", required=True)
    description = fields.String()
    tags = StrMap(nulls=True)
    type = ConnectionType(required=True)
    target = fields.String()
    credentials = Switch(_CREDENTIALS, allow_none=True)
    metadata = StrMap()
    is_shared = fields.Boolean()
    not_supported = ("api_version", "resource_id", "api_base", "azure_endpoint", "kind", "one_lake_workspace_name",
                     "artifact", "url", "endpoint")
