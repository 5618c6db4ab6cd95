"""Registries: create, get, list and delete (ARM tracked resources in the client's resource group)."""
from __future__ import annotations

from azure.core.polling import LROPoller

from ..entities.registry import Registry
from ..exceptions import ValidationError
from ._base import ResourceGroupOperations


class RegistryOperations(ResourceGroupOperations):
    """The registries of the client's resource group (locally: of its home)."""

    _COLLECTION = "registries"
    _ENTITY = Registry
    _OWN = "registry_name"  # a registry's client knows its own

    def begin_create(self, registry: Registry) -> LROPoller:
        """Create or update a registry -> a poller whose result is the registry."""
        if not registry.name or not registry.location:
            raise ValidationError("a registry needs a name and a location")
        body = registry.to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", registry.name, json=body, ok=(200, 201), from_rest=Registry._from_rest)
