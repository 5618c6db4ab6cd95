"""azureml_v2: Azure ML 2.0 jobs, sweeps and assets from YAML or Python, locally or on Azure ML.

Public names load on first use so that `import azureml_v2` stays fast.
"""
from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import budget)
if TYPE_CHECKING:  # annotations only: type checkers see the real names
    from ._builders import command
    from ._client import MLClient
    from ._contract import LOCAL_SCOPE, workspace_scope
    from ._yaml.api import (load_code, load_component, load_compute, load_data, load_datastore, load_environment, load_job,
                            load_model, load_online_endpoint, load_online_deployment, load_batch_endpoint,
                            load_batch_deployment, load_schedule)
    from .entities import (AccountKeyConfiguration, AmlTokenIdentity, AzureBlobDatastore, AzureDataLakeGen1Datastore,
                           AzureDataLakeGen2Datastore, AzureFileDatastore, BuildContext, CertificateConfiguration,
                           Code, CommandComponent, CommandJob, CommandJobLimits, Compute, Data, Environment, Input,
                           JobResources, JobService, LocalDatastore, ManagedIdentity, Model, MpiDistribution,
                           OneLakeArtifact, OneLakeDatastore, Output, PyTorchDistribution, QueueSettings, SasTokenConfiguration, ServicePrincipalConfiguration,
                           SweepJob, TensorFlowDistribution, UnsupportedDatastore, UserIdentity)
    from .exceptions import (AzureMLError, EndpointStateError, JobFailedError, JobStateError, NotAvailableError,
                             NotSupportedError, ValidationError)
    from .operations._base import ListViewType

__version__ = "0.3.0"

# public name -> module that defines it
_EXPORTS = {
    "LOCAL_SCOPE": "._contract",
    "workspace_scope": "._contract",
    "AzureMLError": ".exceptions",
    "ValidationError": ".exceptions",
    "NotSupportedError": ".exceptions",
    "NotAvailableError": ".exceptions",
    "JobStateError": ".exceptions",
    "EndpointStateError": ".exceptions",
    "JobFailedError": ".exceptions",
    "load_job": "._yaml.api",
    "load_data": "._yaml.api",
    "load_environment": "._yaml.api",
    "load_model": "._yaml.api",
    "load_component": "._yaml.api",
    "load_code": "._yaml.api",
    "load_datastore": "._yaml.api",
    "load_compute": "._yaml.api",
    "load_online_endpoint": "._yaml.api",
    "load_online_deployment": "._yaml.api",
    "load_batch_endpoint": "._yaml.api",
    "load_batch_deployment": "._yaml.api",
    "load_schedule": "._yaml.api",
    "Code": ".entities.assets",
    "Data": ".entities.assets",
    "Environment": ".entities.assets",
    "BuildContext": ".entities.assets",
    "Input": ".entities.inputs",
    "Output": ".entities.inputs",
    "command": "._builders",
    "CommandJob": ".entities.job",
    "CommandComponent": ".entities.component",
    "JobResources": ".entities.job",
    "CommandJobLimits": ".entities.job",
    "QueueSettings": ".entities.job",
    "JobService": ".entities.job",
    "PyTorchDistribution": ".entities.job",
    "MpiDistribution": ".entities.job",
    "TensorFlowDistribution": ".entities.job",
    "UserIdentity": ".entities.job",
    "ManagedIdentity": ".entities.job",
    "AmlTokenIdentity": ".entities.job",
    "SweepJob": ".entities.job",
    "MLClient": "._client",
    "ListViewType": ".operations._base",
    "Compute": ".entities.compute",
    "Model": ".entities.model",
    "AzureBlobDatastore": ".entities.datastore",
    "AzureFileDatastore": ".entities.datastore",
    "AzureDataLakeGen1Datastore": ".entities.datastore",
    "AzureDataLakeGen2Datastore": ".entities.datastore",
    "LocalDatastore": ".entities.datastore",
    "OneLakeDatastore": ".entities.datastore",
    "OneLakeArtifact": ".entities.datastore",
    "UnsupportedDatastore": ".entities.datastore",
    "AccountKeyConfiguration": ".entities.datastore",
    "SasTokenConfiguration": ".entities.datastore",
    "ServicePrincipalConfiguration": ".entities.datastore",
    "CertificateConfiguration": ".entities.datastore",
    "ManagedOnlineEndpoint": ".entities.endpoints",
    "KubernetesOnlineEndpoint": ".entities.endpoints",
    "BatchEndpoint": ".entities.endpoints",
    "BatchEndpointDefaults": ".entities.endpoints",
    "ManagedOnlineDeployment": ".entities.endpoints",
    "KubernetesOnlineDeployment": ".entities.endpoints",
    "ModelBatchDeployment": ".entities.endpoints",
    "ModelBatchDeploymentSettings": ".entities.endpoints",
    "PipelineComponentBatchDeployment": ".entities.endpoints",
    "BatchDeployment": ".entities.endpoints",
    "CodeConfiguration": ".entities.endpoints",
    "OnlineRequestSettings": ".entities.endpoints",
    "ProbeSettings": ".entities.endpoints",
    "DefaultScaleSettings": ".entities.endpoints",
    "TargetUtilizationScaleSettings": ".entities.endpoints",
    "BatchRetrySettings": ".entities.endpoints",
    "ResourceRequirementsSettings": ".entities.endpoints",
    "ResourceSettings": ".entities.endpoints",
    "ResourceConfiguration": ".entities.endpoints",
    "IdentityConfiguration": ".entities.endpoints",
    "load_registry": "._yaml.api",
    "registry_scope": "._contract",
    "Registry": ".entities.registry",
    "RegistryRegionDetails": ".entities.registry",
    "SystemCreatedStorageAccount": ".entities.registry",
    "load_connection": "._yaml.api",
    "load_workspace": "._yaml.api",
    "Workspace": ".entities.workspace",
    "CustomerManagedKey": ".entities.workspace",
    "ManagedNetwork": ".entities.workspace",
    "OutboundRule": ".entities.workspace",
    "WorkspaceConnection": ".entities.connection",
    "PatTokenConfiguration": ".entities.connection",
    "UsernamePasswordConfiguration": ".entities.connection",
    "ManagedIdentityConnectionConfiguration": ".entities.connection",
    "AccessKeyConfiguration": ".entities.connection",
    "ApiKeyConfiguration": ".entities.connection",
    "AccountKeyConnectionConfiguration": ".entities.connection",
    "SasTokenConnectionConfiguration": ".entities.connection",
    "ServicePrincipalConnectionConfiguration": ".entities.connection",
    "CustomKeysConfiguration": ".entities.connection",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'azureml_v2' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
