"""Workspace connections: create_or_update, get (secrets only when asked for: listsecrets), list and delete."""
from __future__ import annotations

from azure.core.paging import ItemPaged

from ..entities.connection import CONNECTION_TYPES, WorkspaceConnection
from ..exceptions import ValidationError
from ._base import Operations


class WorkspaceConnectionOperations(Operations):
    """The connections of the workspace."""

    def create_or_update(self, connection: WorkspaceConnection) -> WorkspaceConnection:
        """Create or replace a connection; the returned one carries no secrets."""
        if not connection.name or not connection.type:
            raise ValidationError("a connection needs a name and a type")
        body = connection.to_rest(scope=self._ml_client._scope)
        return WorkspaceConnection._from_rest(self._put(body, "connections", connection.name))

    def get(self, name: str, *, populate_secrets: bool = False) -> WorkspaceConnection:
        """A connection; with populate_secrets=True (the listsecrets call, for a contributor) its secrets too."""
        if populate_secrets:
            return WorkspaceConnection._from_rest(self._send("POST", "connections", name, "listsecrets").json())
        return WorkspaceConnection._from_rest(self._get("connections", name))

    def list(self, connection_type: str | None = None) -> ItemPaged:
        """The workspace's connections, or those of one type (git, python_feed, ...), without secrets."""
        params = None
        if connection_type is not None:
            if connection_type not in CONNECTION_TYPES:
                raise ValidationError(f"connection_type {connection_type!r} is not a connection type (git, "
                                      "python_feed, container_registry, s3, snowflake, azure_sql_db, ...)")
            params = {"category": CONNECTION_TYPES[connection_type]}
        return self._paged(WorkspaceConnection._from_rest, "connections", params=params)

    def delete(self, name: str) -> None:
        """Remove a connection."""
        self._delete("connections", name)
