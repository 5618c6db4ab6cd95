"""load_* and dump: the one path from YAML to entities and back."""
from __future__ import annotations

import importlib
import os

import yaml

from .document import read

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import budget)
if TYPE_CHECKING:  # annotations only
    from typing import IO, Any, Union

    from ..entities._base import Resource
    from ..entities.assets import Code, Data, Environment
    from ..entities.component import CommandComponent
    from ..entities.compute import Compute
    from ..entities.datastore import Datastore
    from ..entities.endpoints import (BatchEndpoint, ModelBatchDeployment, OnlineDeployment, OnlineEndpoint,
                                      PipelineComponentBatchDeployment)
    from ..entities.job import Job
    from ..entities.model import Model
    from ..entities.schedule import ImportDataSchedule, JobSchedule
    from ..entities.registry import Registry
    from ..entities.connection import WorkspaceConnection
    from ..entities.workspace import Workspace

    # What the loaders read: a path, a text stream, or the document as a mapping.
    Source = Union[str, "os.PathLike[str]", IO[str], dict]
    # --set style overrides: mappings of dotted paths to values, applied in order.
    Overrides = Union[list, None]

# What each load_* reads: kind -> (module under _yaml, schema name). Loaded on first use.
_LOADERS = {
    "code": ("assets", "CodeSchema"),
    "data": ("assets", "DataSchema"),
    "environment": ("assets", "EnvironmentSchema"),
    "model": ("models", "ModelSchema"),
    "datastore": ("datastores", "DatastoreSchema"),
    "compute": ("compute", "ComputeSchema"),
    "component": ("kinds", "ComponentSchema"),
    "job": ("kinds", "JobSchema"),
    "online_endpoint": ("endpoints", "OnlineEndpointSchema"),
    "online_deployment": ("endpoints", "OnlineDeploymentSchema"),
    "batch_endpoint": ("endpoints", "BatchEndpointSchema"),
    "batch_deployment": ("endpoints", "BatchDeploymentSchema"),
    "schedule": ("schedules", "ScheduleSchema"),
    "data_import": ("schedules", "DataImportSchema"),
    "registry": ("registries", "RegistrySchema"),
    "connection": ("connections", "ConnectionSchema"),
    "workspace": ("workspaces", "WorkspaceSchema"),
}
# What dump writes an entity with: entity class name -> (module, schema name).
_DUMPERS = {
    "Code": ("assets", "CodeSchema"),
    "Data": ("assets", "DataSchema"),
    "Environment": ("assets", "EnvironmentSchema"),
    "Model": ("models", "ModelSchema"),
    "CommandJob": ("jobs", "CommandJobSchema"),
    "CommandComponent": ("jobs", "CommandComponentSchema"),
    "SweepJob": ("sweep", "SweepJobSchema"),
    "PipelineJob": ("pipelines", "PipelineJobSchema"),
    "PipelineComponent": ("pipelines", "PipelineComponentSchema"),
    "ParallelComponent": ("pipelines", "ParallelComponentSchema"),
    "SparkJob": ("spark", "SparkJobSchema"),
    "SparkComponent": ("spark", "SparkComponentSchema"),
    "AzureBlobDatastore": ("datastores", "DatastoreSchema"),
    "AzureFileDatastore": ("datastores", "DatastoreSchema"),
    "AzureDataLakeGen1Datastore": ("datastores", "DatastoreSchema"),
    "AzureDataLakeGen2Datastore": ("datastores", "DatastoreSchema"),
    "LocalDatastore": ("datastores", "DatastoreSchema"),
    **{kind: ("compute", "ComputeSchema") for kind in ("AmlCompute", "ComputeInstance", "KubernetesCompute",
                                                        "VirtualMachineCompute", "SynapseSparkCompute")},
    "ManagedOnlineEndpoint": ("endpoints", "ManagedOnlineEndpointSchema"),
    "KubernetesOnlineEndpoint": ("endpoints", "KubernetesOnlineEndpointSchema"),
    "BatchEndpoint": ("endpoints", "BatchEndpointSchema"),
    "ManagedOnlineDeployment": ("endpoints", "ManagedOnlineDeploymentSchema"),
    "KubernetesOnlineDeployment": ("endpoints", "KubernetesOnlineDeploymentSchema"),
    "ModelBatchDeployment": ("endpoints", "ModelBatchDeploymentSchema"),
    "PipelineComponentBatchDeployment": ("endpoints", "PipelineComponentBatchDeploymentSchema"),
    "JobSchedule": ("schedules", "JobScheduleSchema"),
    "ImportDataSchedule": ("schedules", "ImportDataScheduleSchema"),
    "DataImport": ("schedules", "DataImportSchema"),
    "Registry": ("registries", "RegistrySchema"),
    "WorkspaceConnection": ("connections", "ConnectionSchema"),
    "Workspace": ("workspaces", "WorkspaceSchema"),
}
_instances: dict = {}


def _schema(module: str, name: str):
    key = (module, name)
    schema = _instances.get(key)
    if schema is None:
        cls = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        schema = _instances[key] = cls()
    return schema


def load(kind: str, source: Source, *, params_override: Overrides = None, **kwargs: Any) -> Any:
    """Read `source` (path, stream or dict) as a `kind` and return its entity."""
    # import budget: `from azureml_v2 import load_job` loads no schema and no marshmallow
    from .base import load_with
    from .dialect import NORMALISERS  # import budget: as above

    extra = {k: v for k, v in kwargs.items() if v is not None}  # load_job(path, name="x"): like --set
    doc = read(source, params_override=[*(params_override or ()), extra] if extra else params_override)
    normalise = NORMALISERS.get(kind)
    if normalise is not None:
        normalise(doc)
    return load_with(_schema(*_LOADERS[kind]), doc)


def dump(entity: "Resource", dest: Union[str, "os.PathLike[str]", IO[str], None] = None, **_: Any) -> str | None:
    from .base import DUMP_DIR  # import budget: as in load

    kind = _DUMPERS.get(type(entity).__name__)
    if kind is None:
        raise TypeError(f"cannot write a {type(entity).__name__} as YAML")
    to_file = isinstance(dest, (str, os.PathLike))
    folder = os.path.dirname(os.path.abspath(dest)) if to_file else os.getcwd()
    token = DUMP_DIR.set(folder)
    try:
        data = _schema(*kind).dump(entity)
    finally:
        DUMP_DIR.reset(token)
    text = to_text(data)
    if dest is None:
        return text
    if to_file:
        os.makedirs(folder, exist_ok=True)  # `job.dump("out/job.yml")` makes out/, as a user expects
        tmp = f"{dest}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, dest)  # a crash never leaves half a file
    else:
        dest.write(text)
    return None


def to_text(data: dict) -> str:
    """A resource's YAML mapping as the text every dump writes."""
    if "$schema" in data:  # editors look for it on the first line
        data = {"$schema": data.pop("$schema"), **data}
    # a wide line limit keeps long commands on one line instead of folding them
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=1 << 16)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


def _str(dumper, value: str):
    # commands and scripts read best as literal blocks
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) and " \n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def load_job(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Job":
    """Load a command or sweep job from a YAML path, a text stream or a dict."""
    return load("job", source, params_override=params_override, **kwargs)


def load_data(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Data":
    """Load a data asset (uri_file, uri_folder, mltable)."""
    return load("data", source, params_override=params_override, **kwargs)


def load_environment(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Environment":
    """Load an environment (image, conda file, build context)."""
    return load("environment", source, params_override=params_override, **kwargs)


def load_model(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Model":
    """Load a model (custom_model, mlflow_model, triton_model)."""
    return load("model", source, params_override=params_override, **kwargs)


def load_component(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "CommandComponent":
    """Load a command component."""
    return load("component", source, params_override=params_override, **kwargs)


def load_code(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Code":
    """Load a code asset."""
    return load("code", source, params_override=params_override, **kwargs)


def load_datastore(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Datastore":
    """Load a datastore (azure_blob, azure_file, azure_data_lake_gen1/gen2, local)."""
    return load("datastore", source, params_override=params_override, **kwargs)


def load_compute(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Compute":
    """Load a compute (amlcompute, computeinstance, kubernetes, virtualmachine, synapsespark)."""
    return load("compute", source, params_override=params_override, **kwargs)


def load_online_endpoint(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "OnlineEndpoint":
    """Load an online endpoint (managed; Kubernetes when it names a compute)."""
    return load("online_endpoint", source, params_override=params_override, **kwargs)


def load_online_deployment(source: Source, *, params_override: Overrides = None,
                           **kwargs: Any) -> "OnlineDeployment":
    """Load an online deployment (type managed, the default, or kubernetes)."""
    return load("online_deployment", source, params_override=params_override, **kwargs)


def load_batch_endpoint(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "BatchEndpoint":
    """Load a batch endpoint."""
    return load("batch_endpoint", source, params_override=params_override, **kwargs)


def load_batch_deployment(source: Source, *, params_override: Overrides = None,
                          **kwargs: Any) -> "ModelBatchDeployment | PipelineComponentBatchDeployment":
    """Load a batch deployment (type model, the default, or pipeline)."""
    return load("batch_deployment", source, params_override=params_override, **kwargs)


def load_schedule(source: Source, *, params_override: Overrides = None,
                  **kwargs: Any) -> "JobSchedule | ImportDataSchedule":
    """Load a schedule: a job schedule (`create_job`) or a data import schedule (`import_data`)."""
    return load("schedule", source, params_override=params_override, **kwargs)


def load_registry(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Registry":
    """Load a registry."""
    return load("registry", source, params_override=params_override, **kwargs)


def load_connection(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "WorkspaceConnection":
    """Load a workspace connection (git, python_feed, container_registry, s3, snowflake, azure_sql_db, ...)."""
    return load("connection", source, params_override=params_override, **kwargs)


def load_workspace(source: Source, *, params_override: Overrides = None, **kwargs: Any) -> "Workspace":
    """Load a workspace."""
    return load("workspace", source, params_override=params_override, **kwargs)


def as_dict(entity: "Resource") -> dict:
    """The entity as its YAML mapping (paths relative to the current folder), for printing."""
    kind = _DUMPERS.get(type(entity).__name__)
    if kind is None:
        raise TypeError(f"cannot show a {type(entity).__name__}")
    return _schema(*kind).dump(entity)


def definition(entity: "Resource") -> dict:
    """The entity as its YAML mapping without what the service reports (dump-only fields such as
    provisioning_state): what a user writes to make it again. Local paths are absolute."""
    kind = _DUMPERS.get(type(entity).__name__)
    if kind is None:
        raise TypeError(f"cannot write a {type(entity).__name__} as YAML")
    schema = _schema(*kind)
    fields = getattr(schema, "fields", {})  # a type switch (DatastoreSchema) is no marshmallow schema itself
    reported = {f.data_key or name for name, f in fields.items() if f.dump_only}
    return {k: v for k, v in schema.dump(entity).items() if k not in reported}
