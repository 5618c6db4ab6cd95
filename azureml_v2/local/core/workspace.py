"""The local scope and the home's stores, as the API and the job processes see them.

A local workspace lives in one ARM subscription and resource group; its resources are stored by
:class:`~azureml_v2.local.storage.workspace.Store` (re-exported here with the errors and paging it raises and takes,
so that the layers above need not reach into storage).
"""
from __future__ import annotations

from ..._contract import LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION, PROVIDER
from ..storage.paths import default_home
from ..storage.sqlite import MAX_FILTER_TERMS, BadRequest, Conflict, NotFound, Page, kv_filter, now
from ..storage.workspace import BUILTIN_DATASTORES, ENDPOINT_COLLECTIONS, Store

LOCAL_COMPUTE = "local"
SCOPE = ("subscriptions", LOCAL_SUBSCRIPTION, "resourceGroups", LOCAL_RESOURCE_GROUP, "providers", PROVIDER,
         "workspaces")

__all__ = ["BUILTIN_DATASTORES", "ENDPOINT_COLLECTIONS", "LOCAL_COMPUTE", "MAX_FILTER_TERMS", "SCOPE", "BadRequest", "Conflict", "NotFound",
           "Page", "Store", "default_home", "kv_filter", "now", "workspace_id"]


def workspace_id(ws: str) -> str:
    """The ARM id of local workspace `ws`."""
    return "/" + "/".join((*SCOPE, ws))
