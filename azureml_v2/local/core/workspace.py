"""The local scope and the home's stores, as the API and the job processes see them.

A local workspace lives in one ARM subscription and resource group; its resources are stored by
:class:`~azureml_v2.local.storage.workspace.Store` (re-exported here with the errors and paging it raises and takes,
so that the layers above need not reach into storage).
"""
from __future__ import annotations

from ..._contract import LOCAL_COMPUTE, LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION, PROVIDER
from ..storage.paths import default_home, writable_by_others
from ..storage.sqlite import (MAX_FILTER_TERMS, BadRequest, Conflict, Exists, NotFound, Page, disk_full, kv_filter,
                              now)
from ..storage.workspace import BUILTIN_DATASTORES, ENDPOINT_COLLECTIONS, REGISTRY_PREFIX, Store, registry_key

SCOPE = ("subscriptions", LOCAL_SUBSCRIPTION, "resourceGroups", LOCAL_RESOURCE_GROUP, "providers", PROVIDER,
         "workspaces")

__all__ = ["BUILTIN_DATASTORES", "ENDPOINT_COLLECTIONS", "LOCAL_COMPUTE", "MAX_FILTER_TERMS", "SCOPE", "BadRequest",
           "Conflict", "Exists", "NotFound", "Page", "REGISTRY_PREFIX", "Store", "default_home", "disk_full", "kv_filter",
           "now", "registry_key", "scope_id", "workspace_id", "writable_by_others"]


def workspace_id(ws: str) -> str:
    """The ARM id of local workspace `ws`."""
    return "/" + "/".join((*SCOPE, ws))


def scope_id(key: str) -> str:
    """The ARM id of the workspace or registry stored under `key` (a workspace's name, or `registries/<name>`)."""
    if key.startswith(REGISTRY_PREFIX):
        return "/" + "/".join((*SCOPE[:-1], key))
    return workspace_id(key)
