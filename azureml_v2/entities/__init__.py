"""The object model, named as in `azure.ai.ml.entities`: plain classes, each with its YAML form
(`dump`) and its REST body (`to_rest(scope=...)`).

    from azureml_v2.entities import CommandJob, Data, Environment, Input, Model

Classes load on first use, so that importing this package stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

# public name -> module under entities that defines it
_EXPORTS = {
    "Resource": "._base",
    "Asset": "._base",
    "Code": ".assets",
    "Data": ".assets",
    "Environment": ".assets",
    "BuildContext": ".assets",
    "InferenceConfig": ".assets",
    "Route": ".assets",
    "Model": ".model",
    "CommandComponent": ".component",
    "ParallelComponent": ".pipeline",
    "PipelineComponent": ".pipeline",
    "ParallelTask": ".pipeline",
    "RetrySettings": ".pipeline",
    "PipelineJob": ".pipeline",
    "PipelineJobSettings": ".pipeline",
    "Node": ".pipeline",
    "Command": ".pipeline",
    "Sweep": ".pipeline",
    "Parallel": ".pipeline",
    "Pipeline": ".pipeline",
    "Spark": ".spark",
    "SparkJob": ".spark",
    "SparkComponent": ".spark",
    "SparkJobEntry": ".spark",
    "SparkResourceConfiguration": ".spark",
    "NodeOutput": ".pipeline",
    "NodeOutputs": ".pipeline",
    "Compute": ".compute",
    "AmlCompute": ".compute",
    "ComputeInstance": ".compute",
    "KubernetesCompute": ".compute",
    "VirtualMachineCompute": ".compute",
    "SynapseSparkCompute": ".compute",
    "AmlComputeSshSettings": ".compute",
    "ComputeInstanceSshSettings": ".compute",
    "VirtualMachineSshSettings": ".compute",
    "NetworkSettings": ".compute",
    "AssignedUserConfiguration": ".compute",
    "ComputeSchedules": ".compute",
    "ComputeStartStopSchedule": ".compute",
    "Input": ".inputs",
    "Output": ".inputs",
    "Job": ".job",
    "CommandJob": ".job",
    "SweepJob": ".job",
    "JobResources": ".job",
    "CommandJobLimits": ".job",
    "QueueSettings": ".job",
    "JobService": ".job",
    "PyTorchDistribution": ".job",
    "MpiDistribution": ".job",
    "TensorFlowDistribution": ".job",
    "UserIdentityConfiguration": ".job",
    "ManagedIdentityConfiguration": ".job",
    "AmlTokenConfiguration": ".job",
    "UserIdentity": ".job",
    "ManagedIdentity": ".job",
    "AmlTokenIdentity": ".job",
    "Datastore": ".datastore",
    "AzureBlobDatastore": ".datastore",
    "AzureFileDatastore": ".datastore",
    "AzureDataLakeGen1Datastore": ".datastore",
    "AzureDataLakeGen2Datastore": ".datastore",
    "LocalDatastore": ".datastore",
    "OneLakeDatastore": ".datastore",
    "OneLakeArtifact": ".datastore",
    "UnsupportedDatastore": ".datastore",
    "AccountKeyConfiguration": ".datastore",
    "SasTokenConfiguration": ".datastore",
    "ServicePrincipalConfiguration": ".datastore",
    "CertificateConfiguration": ".datastore",
    "ManagedOnlineEndpoint": ".endpoints",
    "KubernetesOnlineEndpoint": ".endpoints",
    "BatchEndpoint": ".endpoints",
    "BatchEndpointDefaults": ".endpoints",
    "ManagedOnlineDeployment": ".endpoints",
    "KubernetesOnlineDeployment": ".endpoints",
    "ModelBatchDeployment": ".endpoints",
    "ModelBatchDeploymentSettings": ".endpoints",
    "PipelineComponentBatchDeployment": ".endpoints",
    "BatchDeployment": ".endpoints",
    "Endpoint": ".endpoints",
    "OnlineEndpoint": ".endpoints",
    "Deployment": ".endpoints",
    "OnlineDeployment": ".endpoints",
    "EndpointAuthKeys": ".endpoints",
    "EndpointAuthToken": ".endpoints",
    "CodeConfiguration": ".endpoints",
    "OnlineRequestSettings": ".endpoints",
    "ProbeSettings": ".endpoints",
    "DefaultScaleSettings": ".endpoints",
    "TargetUtilizationScaleSettings": ".endpoints",
    "BatchRetrySettings": ".endpoints",
    "ResourceRequirementsSettings": ".endpoints",
    "ResourceSettings": ".endpoints",
    "ResourceConfiguration": ".endpoints",
    "IdentityConfiguration": ".endpoints",
    "Schedule": ".schedule",
    "JobSchedule": ".schedule",
    "ImportDataSchedule": ".schedule",
    "DataImport": ".schedule",
    "CronTrigger": ".schedule",
    "RecurrenceTrigger": ".schedule",
    "RecurrencePattern": ".schedule",
    "DataImportSource": ".schedule",
    "OtherSchedule": ".schedule",
    "ScheduleTriggerResult": ".schedule",
    "ScheduleFiring": ".schedule",
    "Registry": ".registry",
    "RegistryRegionDetails": ".registry",
    "SystemCreatedStorageAccount": ".registry",
    "WorkspaceConnection": ".connection",
    "Workspace": ".workspace",
    "CustomerManagedKey": ".workspace",
    "ManagedNetwork": ".workspace",
    "OutboundRule": ".workspace",
    "PatTokenConfiguration": ".connection",
    "UsernamePasswordConfiguration": ".connection",
    "ManagedIdentityConnectionConfiguration": ".connection",
    "AccessKeyConfiguration": ".connection",
    "ApiKeyConfiguration": ".connection",
    "AccountKeyConnectionConfiguration": ".connection",
    "SasTokenConnectionConfiguration": ".connection",
    "ServicePrincipalConnectionConfiguration": ".connection",
    "CustomKeysConfiguration": ".connection",
}
# azure-ai-ml's names for the identity classes
_ALIASES = {"UserIdentityConfiguration": "UserIdentity", "ManagedIdentityConfiguration": "ManagedIdentity",
            "AmlTokenConfiguration": "AmlTokenIdentity"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
