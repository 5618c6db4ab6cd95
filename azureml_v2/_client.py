"""MLClient: one client, two backends (an Azure ML workspace over ARM, or the local workspace), the same
operation groups. Importing this module is cheap: the pipeline and each group are built on first use."""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from ._contract import LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION, LOCAL_WORKSPACE, registry_scope, workspace_scope
from .exceptions import Problem, ValidationError



class _Group:
    """An operation group attribute, imported and built on first access, then cached on the client."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __set_name__(self, owner, attr):
        self.attr = attr

    def __get__(self, client, owner=None):
        if client is None:
            return self
        # import-time budget: the operation modules load azure-core and the schemas
        group = getattr(importlib.import_module(self.module, __package__), self.name)(client)
        client.__dict__[self.attr] = group
        return group


class MLClient:
    """Talk to an Azure ML workspace or the local one; the operation groups are the same for both.

    - Azure: `MLClient(credential, subscription_id, resource_group_name, workspace_name)` with any
      azure-identity credential, or `MLClient.from_config(credential)`.
    - Local, in this process: `MLClient()` or `MLClient.local(path)`; the workspace lives in `home`
      ($AZUREML_V2_HOME, default ~/.azureml_v2) and is created on first use.
    - Local, served by `azml server start`: `MLClient(endpoint="http://127.0.0.1:PORT", credential=token)`;
      without a credential, the token of the server of `home` (default: $AZUREML_V2_HOME) when it listens on
      `endpoint`.

    `cloud` names the Azure cloud of the workspace: AzureCloud (the default, or $AZUREML_CURRENT_CLOUD as
    azure-ai-ml reads it), AzureChinaCloud or AzureUSGovernment; it picks Resource Manager and the storage
    suffix new datastores get.

    `registry_name` makes a client of a registry instead of a workspace (`MLClient(credential, subscription_id,
    resource_group_name, registry_name=...)`, or `MLClient(registry_name=...)` for a local one): its models,
    environments, components, data and code are the registry's.

    Other keywords configure the azure-core pipeline (retry_total, logging_enable, transport, ...);
    `polling_interval` is the delay between polls of a long-running operation without Retry-After.
    """

    code = _Group(".operations.assets", "CodeOperations")
    data = _Group(".operations.assets", "DataOperations")
    environments = _Group(".operations.assets", "EnvironmentOperations")
    models = _Group(".operations.assets", "ModelOperations")
    components = _Group(".operations.assets", "ComponentOperations")
    datastores = _Group(".operations.datastores", "DatastoreOperations")
    compute = _Group(".operations.compute", "ComputeOperations")
    jobs = _Group(".operations.jobs", "JobOperations")
    online_endpoints = _Group(".operations.endpoints", "OnlineEndpointOperations")
    online_deployments = _Group(".operations.endpoints", "OnlineDeploymentOperations")
    batch_endpoints = _Group(".operations.endpoints", "BatchEndpointOperations")
    batch_deployments = _Group(".operations.endpoints", "BatchDeploymentOperations")
    schedules = _Group(".operations.schedules", "ScheduleOperations")
    registries = _Group(".operations.registries", "RegistryOperations")
    connections = _Group(".operations.connections", "WorkspaceConnectionOperations")
    workspaces = _Group(".operations.workspaces", "WorkspaceOperations")

    def __init__(self, credential=None, subscription_id: str | None = None, resource_group_name: str | None = None,
                 workspace_name: str | None = None, *, endpoint: str | None = None, home=None,
                 polling_interval: float | None = None, cloud: str | None = None, registry_name: str | None = None,
                 **kwargs):
        if registry_name is not None and workspace_name is not None:
            raise ValidationError("give workspace_name or registry_name, not both: a client works in one of them")
        if subscription_id or resource_group_name:
            missing = [label for label, value in (("credential", credential), ("subscription_id", subscription_id),
                                                  ("resource_group_name", resource_group_name),
                                                  ("workspace_name", workspace_name or registry_name)) if not value]
            if missing:
                raise ValidationError(f"an Azure ML workspace needs {', '.join(missing)} as well")
            if isinstance(credential, str):
                raise ValidationError("credential: Azure needs an azure-identity credential (for example "
                                      "DefaultAzureCredential()), not a token string")
            if endpoint is not None or home is not None:
                raise ValidationError("endpoint and home are for a local workspace, not an Azure one")
        elif cloud is not None:
            raise ValidationError("cloud is for an Azure ML workspace: give subscription_id, resource_group_name "
                                  "and workspace_name as well")
        elif endpoint is not None:
            if credential is not None and not isinstance(credential, str):
                raise ValidationError("credential: a served local workspace takes the token string "
                                      "`azml server start` printed")
        elif credential is not None:
            raise ValidationError("a credential needs a workspace: give subscription_id, resource_group_name "
                                  "and workspace_name, use MLClient.from_config(credential), or "
                                  "endpoint= for a served local workspace")
        if polling_interval is not None and (isinstance(polling_interval, bool)
                                             or not isinstance(polling_interval, (int, float)) or polling_interval < 0):
            raise ValidationError(f"polling_interval {polling_interval!r}: expected seconds, a number >= 0")
        self.subscription_id = subscription_id or LOCAL_SUBSCRIPTION
        self.resource_group_name = resource_group_name or LOCAL_RESOURCE_GROUP
        self.workspace_name = None if registry_name else workspace_name or LOCAL_WORKSPACE
        self.registry_name = registry_name
        for label in ("subscription_id", "resource_group_name", "registry_name" if registry_name else "workspace_name"):
            value = getattr(self, label)
            if not isinstance(value, str) or "/" in value or value.strip() != value:
                raise ValidationError(f"{label} {value!r}: expected a name (no '/', no surrounding spaces)")
        if subscription_id:
            from ._backends.azure import AzureBackend  # import budget: a backend loads azure-core
            self._backend = AzureBackend(credential, self._scope, kwargs, cloud)
        else:
            from ._backends.local import LocalBackend  # import budget: as above
            self._backend = LocalBackend(self._scope, kwargs, home=home, endpoint=endpoint, token=credential)
        self.polling_interval = (self._backend.default_polling_interval if polling_interval is None
                                 else polling_interval)

    @classmethod
    def local(cls, path=None, **kwargs) -> "MLClient":
        """The local workspace in `path` (default: $AZUREML_V2_HOME or ~/.azureml_v2), in this process."""
        return cls(home=path, **kwargs)

    @classmethod
    def from_config(cls, credential, path=None, *, file_name: str | None = None, **kwargs) -> "MLClient":
        """The Azure workspace named by `.azureml/config.json` or `config.json` in `path` (default: the current
        folder) or the nearest folder above it; `path` may also name the file itself."""
        config = find_config(path, file_name)
        values = read_config(config)
        return cls(credential, values["subscription_id"], values["resource_group"], values["workspace_name"],
                   **kwargs)

    @property
    def is_local(self) -> bool:
        """Whether this client talks to the local workspace (in this process or served), not Azure ML."""
        return self._backend.is_local

    @property
    def home(self) -> Path | None:
        """The folder of the local workspace this process serves itself; None otherwise."""
        return self._backend.home

    @property
    def endpoint(self) -> str:
        """Where requests go: Azure Resource Manager, a served local workspace, or this process."""
        return self._backend.endpoint

    @property
    def _scope(self) -> str:
        """The workspace's (or registry's) ARM id, prefix of every resource path."""
        if self.registry_name:
            return registry_scope(self.subscription_id, self.resource_group_name, self.registry_name)
        return workspace_scope(self.subscription_id, self.resource_group_name, self.workspace_name)

    def _for_registry(self, name: str) -> "MLClient":
        """A client of registry `name` in this client's subscription and resource group, on its connection."""
        client = object.__new__(MLClient)
        client.__dict__.update(subscription_id=self.subscription_id, resource_group_name=self.resource_group_name,
                               workspace_name=None, registry_name=name, _backend=self._backend,
                               polling_interval=self.polling_interval)
        return client

    @property
    def _pipeline(self):
        """The ARM pipeline client, built on the first call that needs it."""
        return self._backend.pipeline

    def close(self) -> None:
        """Release the connection pool (Azure, served workspace) or the local store (in-process)."""
        self._backend.close()

    def __enter__(self) -> "MLClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"home={str(self.home)!r}" if self.home else f"endpoint={self.endpoint!r}"
        scope = (f"registry_name={self.registry_name!r}" if self.registry_name
                 else f"workspace_name={self.workspace_name!r}")
        return (f"MLClient(subscription_id={self.subscription_id!r}, resource_group_name="
                f"{self.resource_group_name!r}, {scope}, {where})")


def find_config(path=None, file_name: str | None = None) -> Path:
    """The nearest `.azureml/<file_name>` or `<file_name>` (default config.json) from `path` upwards."""
    start = Path(path or os.getcwd()).expanduser().resolve()
    if start.is_file():
        return start
    if not start.is_dir():
        raise ValidationError(f"{path}: no such file or folder")
    name = file_name or "config.json"
    for folder in (start, *start.parents):
        for candidate in (folder / ".azureml" / name, folder / name):
            if candidate.is_file():
                return candidate
    raise ValidationError(f"no .azureml/{name} or {name} in {start} or any folder above it: download it from the "
                          "Azure portal (workspace overview, 'Download config.json')")


def read_config(path: Path) -> dict:
    """subscription_id, resource_group and workspace_name from an Azure ML config.json (or its `Scope` id)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValidationError([Problem(f"not valid JSON: {err.msg}", source=str(path), line=err.lineno,
                                       column=err.colno)]) from None
    if not isinstance(data, dict):
        raise ValidationError([Problem("expected a JSON object", source=str(path))])
    scope = data.get("Scope") or data.get("scope")
    if isinstance(scope, str):
        parts = scope.strip("/").split("/")
        pairs = {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}
        data.setdefault("subscription_id", pairs.get("subscriptions"))
        data.setdefault("resource_group", pairs.get("resourcegroups"))
        data.setdefault("workspace_name", pairs.get("workspaces"))
    missing = [key for key in ("subscription_id", "resource_group", "workspace_name") if not data.get(key)]
    if missing:
        raise ValidationError([Problem(f"missing {key}", source=str(path)) for key in missing])
    return data
