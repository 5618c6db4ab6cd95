"""Workspaces: create, get, list, update and delete (ARM tracked resources in the client's resource group; locally,
the workspaces of the home)."""
from __future__ import annotations

from azure.core.polling import LROPoller

from ..entities.workspace import Workspace
from ..exceptions import ValidationError
from ._base import ResourceGroupOperations


class WorkspaceOperations(ResourceGroupOperations):
    """The workspaces of the client's resource group."""

    _COLLECTION = "workspaces"
    _ENTITY = Workspace
    _OWN = "workspace_name"

    def begin_create(self, workspace: Workspace) -> LROPoller:
        """Create a workspace (or replace its settings) -> a poller whose result is the workspace."""
        if not workspace.name:
            raise ValidationError("a workspace needs a name")
        body = workspace.to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", workspace.name, json=body, ok=(200, 201, 202), from_rest=Workspace._from_rest)

    def begin_update(self, workspace: Workspace) -> LROPoller:
        """Change a workspace's tags, description, display name and the settings the spec lets a PATCH change."""
        return self._begin("PATCH", workspace.name, json=update_body(workspace, self._ml_client._scope),
                           ok=(200, 202), from_rest=Workspace._from_rest)



# What WorkspacePropertiesUpdateParameters lets a PATCH change
_UPDATABLE = ("description", "friendlyName", "imageBuildCompute", "primaryUserAssignedIdentity",
              "publicNetworkAccess", "applicationInsights", "containerRegistry", "managedNetwork",
              "enableDataIsolation")


def update_body(workspace: Workspace, scope: str) -> dict:
    """The spec's WorkspaceUpdateParameters for `workspace`: tags and the properties a PATCH may change (of the
    customer-managed key, its key identifier)."""
    body = workspace.to_rest(scope=scope)
    props = {k: v for k, v in body["properties"].items() if k in _UPDATABLE}
    key = body["properties"].get("encryption")
    if key is not None:
        props["encryption"] = {"keyVaultProperties": {"keyIdentifier": key["keyVaultProperties"]["keyIdentifier"]}}
    return {"tags": body.get("tags", {}), "properties": props}
