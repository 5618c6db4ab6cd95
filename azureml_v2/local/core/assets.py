"""Asset containers and versions (codes, data, environments, models, components): checked, then stored."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..._contract import DATA_TYPES
from ..storage.workspace import Store
from . import checks

# Fields a PUT may change on an existing version; any other difference is a 409.
VERSION_MUTABLE = frozenset({"description", "tags", "isArchived", "stage"})


@dataclass(frozen=True)
class AssetKind:
    stateful: bool  # whether its containers and versions show provisioningState
    check: Callable[[dict], None]  # the version check


ASSETS = {
    "codes": AssetKind(True, checks.check_code),
    "data": AssetKind(False, checks.check_data),
    "environments": AssetKind(True, checks.check_environment),
    "models": AssetKind(True, checks.check_model),
    "components": AssetKind(True, checks.check_component),
}


def put_container(store: Store, ws: str, kind: str, name: str, props: dict, user: str) -> tuple[dict, bool]:
    """Check and store an asset container's REST `properties` -> (record, created)."""
    props = checks.base(props, ("isArchived",))
    if kind == "data":
        checks.check_enum(props, "dataType", DATA_TYPES, required=True)
    return store.put_container(ws, kind, name, props, user, immutable=("dataType",) if kind == "data" else ())


def put_asset_version(store: Store, ws: str, kind: str, name: str, version: str, props: dict,
                      user: str, *, create_only: bool = False) -> tuple[dict, bool]:
    """Check and store an asset version's REST `properties` (as a PUT does) -> (record, created); with
    `create_only`, an existing version raises Exists."""
    props = checks.base(props, ("isAnonymous", "isArchived"))
    ASSETS[kind].check(props)
    container = {"isArchived": False, "tags": {}, "properties": {}}
    if kind == "data":
        container["dataType"] = props["dataType"]
    return store.put_version(ws, kind, name, version, props, user, mutable=VERSION_MUTABLE, container_doc=container,
                             create_only=create_only)
