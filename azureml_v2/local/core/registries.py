"""Local registries: stores of assets shared by the workspaces of a home.

A registry keeps models, environments, components, data and code like a workspace does (under the store key
`registries/<name>`), and the files of its assets in its own folder, `<home>/registries/<name>/<kind>/<asset>/<version>/`:
an asset version whose files are named with their workspace (`azureml://subscriptions/.../workspaces/<ws>/datastores/
<d>/paths/<p>`, as Azure ML takes them to copy a workspace's asset into a registry, or `.../workspaces/<ws>/jobs/<job>/
outputs/<o>`) gets a copy there, and its URI names the copy (`file://`). A job of any workspace reads them through
`azureml://registries/<name>/<kind>/<asset>/versions/<version>` or the version's ARM id.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..._contract import DATASTORE_URI, WORKSPACE_URI
from ..storage.workspace import Store
from . import checks
from .refs import References, RefError

# The member of each kind's version that names its files
FILE_MEMBERS = {"models": "modelUri", "data": "dataUri", "codes": "codeUri"}


def folder(store: Store, registry: str) -> Path:
    """Where registry `registry` keeps its assets' files."""
    return store.home / "registries" / registry


def registry_props(body: dict) -> dict:
    """A registry PUT's body (a tracked resource: location, tags, identity, sku, kind, properties), checked."""
    if not isinstance(body, dict):
        raise checks.Invalid("the request body must be a JSON object")
    doc = checks.tracked(body)
    props = checks.check(doc, "properties", dict) or {}
    doc["properties"] = {k: v for k, v in props.items() if k not in ("discoveryUrl", "mlFlowRegistryUri")}
    regions = doc["properties"].get("regionDetails")
    if regions is not None and not (isinstance(regions, list) and all(isinstance(r, dict) for r in regions)):
        raise checks.Invalid("properties.regionDetails: expected an array of objects")
    return doc


def copy_in(store: Store, registry: str, kind: str, name: str, version: str, props: dict) -> dict:
    """`props` of a version put into `registry`, with the files its URI names in a workspace copied into the
    registry's folder and the URI naming the copy; a URI elsewhere (https, a file) is kept as it is."""
    member = FILE_MEMBERS.get(kind)
    uri = props.get(member) if member else None
    if not isinstance(uri, str):
        return props
    m = WORKSPACE_URI.match(uri)
    if m is None:
        if DATASTORE_URI.match(uri) or uri.startswith("azureml://jobs/"):
            raise checks.Invalid(f"properties.{member}: {uri!r} names no workspace, and a registry has no datastores "
                                 "or jobs: write azureml://subscriptions/<id>/resourcegroups/<group>/workspaces/"
                                 "<workspace>/datastores/<datastore>/paths/<path>")
        return props
    try:
        source = References(store, m.group("workspace")).path("azureml://" + m.group("rest"), f"properties.{member}",
                                                               _no_download)
    except RefError as exc:
        raise checks.Invalid(str(exc)) from None
    target = folder(store, registry) / kind / name / version
    if target.exists():  # a version put again (its files may have been copied before it failed)
        shutil.rmtree(target)
    target.mkdir(parents=True)
    copied = target / source.name
    if source.is_dir():
        shutil.copytree(source, copied, symlinks=False)
    else:
        shutil.copy2(source, copied)
    return {**props, member: copied.as_uri()}


def _no_download(url: str) -> Path:
    raise RefError(f"{url}: a registry copies files of this machine's workspaces, not URLs")


def forget_files(store: Store, registry: str, *path: str) -> None:
    """Remove the files of a deleted registry, or asset (kind, name), or version (kind, name, version)."""
    shutil.rmtree(folder(store, registry).joinpath(*path), ignore_errors=True)