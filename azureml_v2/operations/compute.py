"""Compute targets. Creating, deleting, starting and stopping are long-running on Azure (LROPoller);
the local workspace has one built-in compute, `local` (this machine), which can be read but not changed."""
from __future__ import annotations

from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from ..entities.compute import Compute
from ._base import Operations

class ComputeOperations(Operations):
    """get, list, begin_create_or_update, begin_delete, begin_start, begin_stop, begin_restart."""

    def get(self, name: str) -> Compute:
        return Compute._from_rest(self._get("computes", name))

    def list(self, *, compute_type: str | None = None) -> ItemPaged:
        """All compute targets, or those of one type (amlcompute, computeinstance, kubernetes, ...)."""
        wanted = compute_type and compute_type.lower()
        keep = None if wanted is None else lambda r: str(r.get("properties", {}).get("computeType")).lower() == wanted
        return self._paged(Compute._from_rest, "computes", keep=keep)

    def begin_create_or_update(self, compute: Compute) -> LROPoller:
        """Create or update a compute target; the poller's result is the compute once provisioned."""
        return self._begin("PUT", "computes", compute.name, json=compute.to_rest(scope=self._ml_client._scope),
                           ok=(200, 201), from_rest=Compute._from_rest)

    def begin_delete(self, name: str, *, action: str = "Delete") -> LROPoller:
        """Delete a compute target; action="Detach" leaves an attached resource in place."""
        return self._begin("DELETE", "computes", name, params={"underlyingResourceAction": action})

    def begin_start(self, name: str) -> LROPoller:
        return self._begin("POST", "computes", name, "start", ok=(202,))

    def begin_stop(self, name: str) -> LROPoller:
        return self._begin("POST", "computes", name, "stop", ok=(202,))

    def begin_restart(self, name: str) -> LROPoller:
        return self._begin("POST", "computes", name, "restart", ok=(202,))
