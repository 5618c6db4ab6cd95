"""Registries: create, get, list and delete (ARM tracked resources in the client's resource group)."""
from __future__ import annotations

from urllib.parse import quote

from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from .._contract import PROVIDER
from ..entities.registry import Registry
from ..exceptions import ValidationError
from ._base import Operations


class RegistryOperations(Operations):
    """The registries of the client's resource group (locally: of its home)."""

    def _url(self, *segments) -> str:  # under the resource group, not the workspace
        path = "".join("/" + quote(str(s), safe="") for s in segments)
        return (f"{self._ml_client.endpoint}/subscriptions/{self._ml_client.subscription_id}/resourceGroups/"
                f"{self._ml_client.resource_group_name}/providers/{PROVIDER}/registries{path}")

    def begin_create(self, registry: Registry) -> LROPoller:
        """Create or update a registry -> a poller whose result is the registry."""
        if not registry.name or not registry.location:
            raise ValidationError("a registry needs a name and a location")
        body = registry.to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", registry.name, json=body, ok=(200, 201), from_rest=Registry._from_rest)

    def get(self, name: str | None = None) -> Registry:
        """A registry (by default the client's own, for a registry client)."""
        name = name or self._ml_client.registry_name
        if not name:
            raise ValidationError("registries.get needs a name")
        return Registry._from_rest(self._get(name))

    def list(self) -> ItemPaged:
        """The registries of the resource group."""
        return self._paged(Registry._from_rest)

    def begin_delete(self, name: str) -> LROPoller:
        """Delete a registry with all its assets."""
        return self._begin("DELETE", name, ok=(200, 202, 204))
