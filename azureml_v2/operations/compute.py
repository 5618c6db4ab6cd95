"""Compute targets, as azure-ai-ml's `compute`. Creating, updating, deleting, starting, stopping and restarting are
long-running (LROPoller). A compute other than a cluster takes the workspace's region, as on Azure ML.

The local workspace has the built-in `local` (this machine) and records the computes created in it: a cluster
bounds the jobs that target it (see `local.core.computes`), a compute instance's start and stop are recorded."""
from __future__ import annotations

import copy

from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from ..entities.compute import AmlCompute, Compute
from ..exceptions import ValidationError
from .endpoints import _WorkspaceRegion


class ComputeOperations(_WorkspaceRegion):
    """get, list, begin_create_or_update, begin_update, begin_delete, begin_start, begin_stop, begin_restart."""

    def get(self, name: str) -> Compute:
        return Compute._from_rest(self._get("computes", name))

    def list(self, *, compute_type: str | None = None) -> ItemPaged:
        """All compute targets, or those of one type (amlcompute, computeinstance, kubernetes, ...)."""
        wanted = compute_type and compute_type.lower()
        keep = None if wanted is None else lambda r: str(r.get("properties", {}).get("computeType")).lower() == wanted
        return self._paged(Compute._from_rest, "computes", keep=keep)

    def begin_create_or_update(self, compute: Compute) -> LROPoller:
        """Create or update a compute target; the poller's result is the compute once provisioned."""
        if not compute.name:
            raise ValidationError(f"{type(compute).__name__}: name is required")
        if not isinstance(compute, AmlCompute) and compute.location:  # only clusters may live in another region
            compute = copy.copy(compute)
            compute.location = None
        body = self._located(compute).to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", "computes", compute.name, json=body, ok=(200, 201), from_rest=Compute._from_rest)

    def begin_attach(self, compute: Compute) -> LROPoller:
        """Attach a Kubernetes cluster, virtual machine or Synapse Spark pool (begin_create_or_update)."""
        return self.begin_create_or_update(compute)

    def begin_update(self, compute: Compute) -> LROPoller:
        """Update a cluster (its scale settings, tier, ...): the whole definition is sent again."""
        if not isinstance(compute, AmlCompute):
            raise ValidationError(f"compute {compute.name!r} is a {compute.type}: only clusters (amlcompute) are "
                                  "updated; create the others again")
        return self.begin_create_or_update(compute)

    def begin_delete(self, name: str, *, action: str = "Delete") -> LROPoller:
        """Delete a compute target; action="Detach" leaves an attached resource in place."""
        return self._begin("DELETE", "computes", name, params={"underlyingResourceAction": action})

    def begin_start(self, name: str) -> LROPoller:
        """Start a compute instance."""
        return self._begin("POST", "computes", name, "start", ok=(202,))

    def begin_stop(self, name: str) -> LROPoller:
        """Stop a compute instance."""
        return self._begin("POST", "computes", name, "stop", ok=(202,))

    def begin_restart(self, name: str) -> LROPoller:
        """Restart a compute instance."""
        return self._begin("POST", "computes", name, "restart", ok=(202,))
