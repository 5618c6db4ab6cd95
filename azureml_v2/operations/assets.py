"""Versioned assets: code, data, environments, models and components, each a container of versions.

The same methods for every kind, after the Azure SDK guidelines: `create_or_update`, `get` (by version or
`label="latest"`), `list` (containers, or one asset's versions; archived ones hidden by default), `archive`,
`restore` and `delete`. Local files are uploaded to the workspace's default datastore first.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.core.paging import ItemPaged

from .._artifacts.snapshot import COMPONENT_IGNORES, HASH_VERSION, take_snapshot
from .._contract import ASSET_ID, DATASTORE_URI, JOB_OUTPUT_URI, is_local, job_artifacts_uri, parse_ref, to_arm
from .._http.pipeline import http_error
from ..entities.assets import Code, Data, Environment
from ..entities.job import ANONYMOUS_ENVIRONMENT, environment_to_rest_id
from ..entities.model import Model
from ..entities.component import component_from_rest
from ..entities.pipeline import (ANONYMOUS_COMPONENT, ParallelComponent, PipelineComponent, Sweep, component_to_rest_id,
                                 registered)
from ..exceptions import ValidationError
from ._base import ListViewType, Operations

# Properties the service computes; sent back on archive/restore they would be refused or ignored.
_VERSION_TRIES = 100  # a version is taken by another create at most this often in a row
_READ_ONLY = frozenset(("latestVersion", "nextVersion", "provisioningState", "environmentType"))


def _list_view(value) -> str:
    try:
        return ListViewType(value).value
    except ValueError:
        raise ValidationError(f"list_view_type: {value!r} is not one of "
                              f"{', '.join(v.value for v in ListViewType)}") from None


class _AssetOperations(Operations):
    """What every asset kind shares; subclasses name the REST collection, the entity and what to upload."""

    _KIND = ""  # the REST collection under the workspace
    _GROUP = ""  # the client's attribute for this kind
    _ENTITY = None  # the entity class, read from REST with its _from_rest
    _LIST_VIEW = False  # whether the service filters lists by listViewType (archived assets)

    def _from_rest(self, resource: dict):
        return self._ENTITY._from_rest(resource)

    def create_or_update(self, asset):
        """Create a version of an asset (or get it back unchanged when it exists with the same content).

        Local files are uploaded first. Without a version, the asset gets the next integer version
        of its name. The caller's object is left as it was; the service's version is returned.
        """
        asset = copy.copy(asset)
        self._prepare(asset)
        return self._put_version(asset)

    def _prepare(self, asset) -> None:
        """Upload what lives on this machine and point the asset at it: by default its `path`, to the asset's
        own `datastore` when it names one."""
        if asset.path and is_local(asset.path):
            asset.path = self._upload(asset.path, getattr(asset, "datastore", None))

    def _put(self, body: dict, *segments, params=None, **kwargs) -> dict:
        if not self._ml_client.registry_name:
            return super()._put(body, *segments, params=params, **kwargs)
        # a registry's asset PUTs are long-running operations
        return self._backend.result(self._begin("PUT", *segments, params=params, json=body, ok=(200, 201),
                                                from_rest=lambda resource: resource))

    def _put_version(self, asset, *, anonymous: bool = False):
        if not asset.name:
            raise ValidationError(f"{self._KIND}: name is required")
        if asset.version is not None:
            return self._from_rest(self._put(self._body(asset, anonymous), self._KIND, asset.name, "versions",
                                             str(asset.version)))
        # The next version, created only if no one else took it meanwhile (If-None-Match: *, a 412 when
        # taken): concurrent creates of one asset get a version each, never one another's.
        for _ in range(_VERSION_TRIES):
            asset.version = self._next_version(asset.name)
            if self._ml_client.registry_name:  # a long-running operation, without the precondition
                return self._from_rest(self._put(self._body(asset, anonymous), self._KIND, asset.name, "versions",
                                                 asset.version))
            response = self._send("PUT", self._KIND, asset.name, "versions", asset.version,
                                  json=self._body(asset, anonymous), headers={"If-None-Match": "*"},
                                  ok=(200, 201, 412))
            if response.status_code != 412:
                return self._from_rest(response.json())
        raise http_error(response)

    def _body(self, asset, anonymous: bool) -> dict:
        body = asset.to_rest(scope=self._ml_client._scope)
        if anonymous:
            body["properties"]["isAnonymous"] = True
        return body

    def _next_version(self, name: str) -> str:
        try:
            container = self._get(self._KIND, name)
        except ResourceNotFoundError:
            return "1"
        return str(container.get("properties", {}).get("nextVersion") or 1)

    def get(self, name: str, version: str | None = None, label: str | None = None):
        """One version of an asset: by `version`, or `label="latest"` for the newest active one."""
        if (version is None) == (label is None):
            raise ValidationError(f"{self._KIND} {name!r}: give either version or label (label='latest')")
        if label is not None:
            return self._from_rest(self._latest(name, label))
        return self._from_rest(self._get(self._KIND, name, "versions", str(version)))

    def _latest(self, name: str, label: str = "latest") -> dict:
        if label != "latest":
            raise ValidationError(f"label {label!r}: only 'latest' is supported")
        params = {"$orderBy": "createdtime desc", "$top": 1}
        if self._LIST_VIEW:
            params["listViewType"] = ListViewType.ACTIVE_ONLY.value
        versions = self._get(self._KIND, name, "versions", params=params).get("value") or []
        if not versions:
            raise ResourceNotFoundError(f"{self._KIND} {name!r} has no active version to be 'latest'")
        return versions[0]

    def _list(self, name: str | None, params: dict | None) -> ItemPaged:
        segments = (self._KIND,) if name is None else (self._KIND, name, "versions")
        return self._paged(self._from_rest, *segments, params=params)

    def delete(self, name: str, version: str | None = None) -> None:
        """Delete one version, or without version the asset with all its versions."""
        if version is None:
            self._delete(self._KIND, name)
        else:
            self._delete(self._KIND, name, "versions", str(version))

    def _resolve(self, value: str) -> str:
        """`azureml:name@latest` -> the ARM id of that version; other references are returned as they are."""
        if not value.startswith("azureml:"):
            return value
        ref = parse_ref(value, self._KIND)
        if ref.form != "short" or ref.label is None:
            return value
        return self._latest(ref.name, ref.label)["id"]

    def _upload(self, path: str, datastore: str | None = None) -> str:
        """Upload a local file or folder to `datastore` (by default the default datastore); its URI there."""
        if self._ml_client.registry_name:
            raise ValidationError(f"{path}: a registry takes files from a workspace: create the asset in a workspace "
                                  f"and share it (ml_client.{self._GROUP}.share(...)), or give its path in a "
                                  "workspace (azureml://subscriptions/<id>/resourcegroups/<group>/workspaces/"
                                  "<workspace>/datastores/<datastore>/paths/<path>)")
        return self._ml_client.datastores._upload(self._backend.offload(take_snapshot, path), datastore=datastore)

    def share(self, name: str, version: str, *, share_with_name: str | None = None,
              share_with_version: str | None = None, registry_name: str):
        """Copy version `version` of asset `name` of this workspace, with its files, into registry `registry_name`
        (as `share_with_name`, `share_with_version`: by default the same) -> the registry's version, which jobs
        of any workspace name `azureml://registries/<registry>/<kind>/<name>/versions/<version>`."""
        if self._ml_client.registry_name:
            raise ValidationError("share copies a workspace's asset: call it on a workspace's client")
        if not registry_name:
            raise ValidationError("share needs a registry_name")
        asset = self.get(name, version=str(version))
        registry = self._ml_client._for_registry(registry_name)
        asset = self._shareable(asset, registry)
        asset.name, asset.version = share_with_name or name, str(share_with_version or version)
        return getattr(registry, self._GROUP)._put_version(asset)

    def _shareable(self, asset, registry):
        """`asset` as a registry takes it: its files named with this workspace, which the registry copies."""
        asset = copy.copy(asset)
        if getattr(asset, "path", None):
            asset.path = self._in_workspace(asset.path)
        return asset

    def _in_workspace(self, uri: str) -> str:
        """A datastore path or job output of this workspace, named with the workspace (what a registry copies
        from; a job's artifacts as the datastore path Azure ML documents for it); other URIs as they are."""
        m = JOB_OUTPUT_URI.match(uri)
        if m and m.group("output") == "artifacts":
            uri = job_artifacts_uri(m.group("name")) + "/" + (m.group("path") or "")
        if uri.startswith("azureml://") and (DATASTORE_URI.match(uri) or JOB_OUTPUT_URI.match(uri)) \
                and not uri.startswith("azureml://subscriptions/"):
            ml = self._ml_client
            return (f"azureml://subscriptions/{ml.subscription_id}/resourcegroups/{ml.resource_group_name}/"
                    f"workspaces/{ml.workspace_name}/{uri[len('azureml://'):]}")
        return uri


class _ArchivableOperations(_AssetOperations):
    """Assets whose versions (or whole containers) can be archived: hidden from lists and `latest`."""

    _LIST_VIEW = True

    def list(self, name: str | None = None, *, list_view_type=ListViewType.ACTIVE_ONLY) -> ItemPaged:
        """The assets of this kind (one entry per name), or the versions of `name`, newest first.

        list_view_type: ActiveOnly (default), ArchivedOnly or All.
        """
        return self._list(name, {"listViewType": _list_view(list_view_type)})

    def archive(self, name: str, version: str | None = None) -> None:
        """Hide a version (or, without version, the whole asset) from default lists and `latest`."""
        self._set_archived(name, version, True)

    def restore(self, name: str, version: str | None = None) -> None:
        """Undo `archive`."""
        self._set_archived(name, version, False)

    def _set_archived(self, name: str, version: str | None, archived: bool) -> None:
        segments = (self._KIND, name) if version is None else (self._KIND, name, "versions", str(version))
        properties = {k: v for k, v in self._get(*segments).get("properties", {}).items() if k not in _READ_ONLY}
        properties["isArchived"] = archived
        self._put({"properties": properties}, *segments)


class CodeOperations(_AssetOperations):
    """Code snapshots. A local folder without a name becomes an anonymous asset named by its content hash
    and uploaded once: the same snapshot again costs one GET. Code cannot be archived through the API."""

    _KIND = "codes"
    _GROUP = "code"
    _ENTITY = Code

    def create_or_update(self, code):
        return self._create(code)

    def _create(self, code, ignore=()):
        if not (code.path and is_local(code.path)):
            return self._put_version(copy.copy(code))
        snapshot = self._backend.offload(take_snapshot, code.path, ignore=ignore)
        code = copy.copy(code)
        # as azure-ai-ml records them, so either SDK finds the other's snapshot by content
        code.properties = {**(code.properties or {}), "hash_sha256": snapshot.content_hash,
                           "hash_version": str(HASH_VERSION)}
        anonymous = not code.name
        if anonymous:
            try:
                return self.get(snapshot.content_hash, version="1")
            except ResourceNotFoundError:
                code.name, code.version = snapshot.content_hash, "1"
        code.path = self._ml_client.datastores._upload(snapshot, blob_url=True)
        return self._put_version(code, anonymous=anonymous)

    def list(self, name: str | None = None) -> ItemPaged:
        """The code assets, or the versions of `name`."""
        return self._list(name, None)

    def _arm_id_for(self, code: str, *, includes: list[str] | None = None) -> str:
        """A job's or component's `code`: a local path becomes an anonymous code asset (with the ignores
        azure-ai-ml adds for job code, so both SDKs name it alike; with a component's `includes` copied beside
        it); `@latest` is resolved."""
        if not is_local(code):
            if includes:
                raise ValidationError(f"additional_includes need local code, not {code!r}")
            return self._resolve(code)
        if not includes:
            created = self._create(Code(path=code), ignore=COMPONENT_IGNORES)
        else:
            with tempfile.TemporaryDirectory(prefix="azureml_v2-code-") as tmp:
                created = self._create(Code(path=_with_includes(code, includes, Path(tmp) / "code")),
                                       ignore=COMPONENT_IGNORES)
        return self._arm_id(self._KIND, created.name, "versions", created.version)


def _with_includes(code: str, includes: list[str], dest: Path) -> str:
    """A copy of `code` in `dest` with each of `includes` (a file or folder) copied into its root, as Azure ML
    builds a component's snapshot; a name taken twice is a ValidationError."""
    source = Path(code)
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
    else:
        dest.mkdir(parents=True)
        shutil.copy2(source, dest / source.name)
    for include in includes:
        path = Path(include)
        target = dest / path.name
        if target.exists():
            raise ValidationError(f"additional_includes: {include} would replace {path.name} of the code "
                                  f"{code}: rename one of them")
        if path.is_dir():
            shutil.copytree(path, target, symlinks=True)
        else:
            shutil.copy2(path, target)
    return str(dest)


class DataOperations(_ArchivableOperations):
    """Data assets: files, folders and MLTables; local paths are uploaded."""

    _KIND = "data"
    _GROUP = "data"
    _ENTITY = Data


class EnvironmentOperations(_ArchivableOperations):
    """Environments: docker images with a conda file, or docker build contexts (uploaded when local)."""

    _KIND = "environments"
    _GROUP = "environments"
    _ENTITY = Environment

    def _prepare(self, environment) -> None:
        build = environment.build
        if build is not None and build.path and is_local(build.path):
            uri = self._ml_client.datastores._upload(self._backend.offload(take_snapshot, build.path), blob_url=True)
            environment.build = copy.copy(build)
            # Azure ML builds from the blob folder's https URL, which its environment service wants ending in '/'
            environment.build.path = uri if uri.startswith("azureml://") else uri + "/"

    def _shareable(self, environment, registry):
        if environment.build is not None:
            raise ValidationError(f"environment {environment.name}: one built from a context is not shared yet; "
                                  "share one made from an image (with its conda file)")
        return copy.copy(environment)

    def _arm_id_for(self, environment) -> str | None:
        """A job's or component's `environment`: `@latest` is resolved; an inline Environment is created
        as an anonymous version named by its content, so the same definition is stored once."""
        if environment is None or isinstance(environment, str):
            if environment and self._backend.keeps_curated_environment(environment):
                return environment  # goes as it is, for a job's step as for the job
            return environment and self._resolve(environment)
        environment = copy.copy(environment)
        arm_id = environment_to_rest_id(environment, self._ml_client._scope)  # a local build context by its files
        self._prepare(environment)
        environment.name, environment.version = ANONYMOUS_ENVIRONMENT, arm_id.rsplit("/", 1)[1]
        self._put_version(environment, anonymous=True)
        return arm_id


class ModelOperations(_ArchivableOperations):
    """Models: custom, MLflow and Triton; local files are uploaded."""

    _KIND = "models"
    _GROUP = "models"
    _ENTITY = Model

    def _arm_id_for(self, model) -> str | None:
        """A deployment's `model`: `@latest` is resolved; an inline Model is created first, a nameless local one as
        an anonymous version named by its content hash (as code snapshots are), so the same files are stored once."""
        if model is None or isinstance(model, str):
            return model and self._resolve(model)
        if model.name or not (model.path and is_local(model.path)):
            if not model.name:
                raise ValidationError("an inline model without a name must be local files (a path on this machine)")
            created = self.create_or_update(model)
            return self._arm_id(self._KIND, created.name, "versions", created.version)
        snapshot = self._backend.offload(take_snapshot, model.path)
        model = copy.copy(model)
        model.name, model.version = snapshot.content_hash, "1"
        try:
            return self._get(self._KIND, model.name, "versions", model.version)["id"]
        except ResourceNotFoundError:
            model.path = self._ml_client.datastores._upload(snapshot)
        self._put_version(model, anonymous=True)
        return self._arm_id(self._KIND, model.name, "versions", model.version)


class ComponentOperations(_ArchivableOperations):
    """Components (command, parallel, pipeline): local code is uploaded as a code asset (with a command
    component's additional_includes), an inline environment is created anonymously, `@latest` references are
    resolved, and a pipeline component's inline components are created as anonymous versions, before the
    component is sent."""

    _KIND = "components"
    _GROUP = "components"

    def _from_rest(self, resource: dict):
        return component_from_rest(resource)

    def _prepare(self, component) -> None:
        ml = self._ml_client
        if isinstance(component, PipelineComponent):
            component.jobs = self._resolve_nodes(component.jobs)
            return
        if isinstance(component, ParallelComponent):
            component.task = task = copy.copy(component.task)
            if task.code is not None:
                task.code = ml.code._arm_id_for(task.code)
            task.environment = ml.environments._arm_id_for(task.environment)
            return
        if component.code is not None:
            component.code = ml.code._arm_id_for(component.code, includes=component.additional_includes)
            component.additional_includes = None
        if component.environment is not None:
            component.environment = ml.environments._arm_id_for(component.environment)

    def _shareable(self, component, registry):
        """A command component as a registry takes it: its code and environment of this workspace shared first."""
        if isinstance(component, (PipelineComponent, ParallelComponent)):
            raise ValidationError(f"component {component.name}: share shares command components; share the "
                                  "components of a pipeline one by one")
        component = copy.copy(component)
        for attr, group in (("code", "code"), ("environment", "environments")):
            m = ASSET_ID.match(getattr(component, attr) or "")
            if m and m.group("workspace").lower() == self._ml_client.workspace_name.lower():
                ops = getattr(self._ml_client, group)
                shared = ops.share(m.group("name"), m.group("version"), registry_name=registry.registry_name)
                setattr(component, attr, "azureml:" + registry._scope + f"/{ops._KIND}/{shared.name}/versions/"
                                                                        f"{shared.version}")
        return component

    def _arm_id_for(self, component) -> str | None:
        """A node's component: a reference with `@latest` resolved, or an inline component created as an
        anonymous version named by its content (azure-ai-ml's name for it), so the same definition is stored
        once -> its ARM id."""
        if component is None or isinstance(component, str):
            return component and to_arm(self._resolve(component), self._KIND, self._ml_client._scope)
        if registered(component):  # got from the service: that version, as it is
            return component_to_rest_id(component, self._ml_client._scope)
        component = copy.copy(component)
        self._prepare(component)
        arm_id = component_to_rest_id(component, self._ml_client._scope)
        component.name, component.version = ANONYMOUS_COMPONENT, arm_id.rsplit("/", 1)[1]
        self._put_version(component, anonymous=True)
        return arm_id

    def _resolve_nodes(self, jobs: dict) -> dict:
        """Copies of a pipeline's nodes with their components as ARM ids (inline ones created) and their local
        data inputs uploaded."""
        resolved = {}
        for name, node in jobs.items():
            node = copy.copy(node)
            if isinstance(node, Sweep):
                node.trial = self._arm_id_for(node.trial)
            else:
                node.component = self._arm_id_for(node.component)
            node.inputs = self._ml_client.jobs._resolve_inputs(node.inputs)
            resolved[name] = node
        return resolved
