"""What every entity shares: keyword construction, equality, YAML dump."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO, Any

from .._contract import check_scope
from ..exceptions import ValidationError


@dataclass(kw_only=True)
class Resource:
    """A named resource with the metadata every Azure ML resource carries."""

    name: str | None = None
    description: str | None = None
    tags: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    schema: str | None = field(default=None, repr=False)  # `$schema`, kept for editors

    def dump(self, dest: "str | os.PathLike[str] | IO[str] | None" = None, **kwargs: Any) -> str | None:
        """Write this resource as YAML to a path or stream; with no destination, return the text.

        Local paths are written relative to the destination file's folder.
        """
        from .._yaml.api import dump  # import budget: entities load without YAML or marshmallow
        return dump(self, dest, **kwargs)

    def __str__(self) -> str:
        return self.dump()

    def to_rest(self, *, scope: str) -> dict:
        """This resource's REST body (api-version 2024-04-01), references as ARM ids under `scope`.

        `scope` is the workspace's ARM id: `azureml_v2._contract.workspace_scope(subscription,
        resource_group, workspace)`, or `LOCAL_SCOPE` for the local workspace.
        """
        try:
            check_scope(scope)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return self._rest(scope)

    def _rest(self, scope: str) -> dict:
        """The REST body under a checked `scope` (see to_rest)."""
        raise NotImplementedError(f"{type(self).__name__} has no REST form")


@dataclass(kw_only=True)
class Asset(Resource):
    """A versioned asset (code, data, environment, model, component)."""

    version: str | None = None
