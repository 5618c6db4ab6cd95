"""An Azure ML workspace, over ARM with an azure-identity credential, in one of Azure's clouds."""
from __future__ import annotations

import os
from typing import NamedTuple

from ..exceptions import ValidationError
from .base import Backend


class Cloud(NamedTuple):
    """Where a cloud's services are, as azure-ai-ml names them."""

    resource_manager: str
    storage_endpoint: str  # the storage account suffix: <account>.blob.<storage_endpoint>
    aml_resource_id: str  # the audience of Azure ML's data-plane tokens
    active_directory: str  # where a service principal signs in (a datastore credential's authority URL)


CLOUDS = {
    "AzureCloud": Cloud("https://management.azure.com", "core.windows.net", "https://ml.azure.com/",
                        "https://login.microsoftonline.com"),
    "AzureChinaCloud": Cloud("https://management.chinacloudapi.cn", "core.chinacloudapi.cn", "https://ml.azure.cn/",
                             "https://login.chinacloudapi.cn"),
    "AzureUSGovernment": Cloud("https://management.usgovcloudapi.net", "core.usgovcloudapi.net",
                               "https://ml.azure.us/", "https://login.microsoftonline.us"),
}
CLOUD_ENV = "AZUREML_CURRENT_CLOUD"  # the cloud when MLClient is given none, as azure-ai-ml reads it
ARM_ENDPOINT = CLOUDS["AzureCloud"].resource_manager


def cloud_named(name: str | None) -> Cloud:
    """The cloud `name` (default: $AZUREML_CURRENT_CLOUD, else the public AzureCloud); ValidationError if unknown."""
    name = name or os.environ.get(CLOUD_ENV) or "AzureCloud"
    if name not in CLOUDS:
        raise ValidationError(f"cloud {name!r}: expected one of {', '.join(CLOUDS)}")
    return CLOUDS[name]


class AzureBackend(Backend):
    """ARM only: logs, child jobs, trials and metrics live in Azure ML's run history and tracking services,
    which this client does not use; curated environments are registered in Azure ML's registry and resolved
    like any other reference; blob datastores without credentials are reached with the client's credential."""

    where = "an Azure ML workspace"
    default_polling_interval = 30

    def __init__(self, credential, scope: str, options: dict, cloud: str | None = None):
        self.cloud = cloud_named(cloud)
        super().__init__(self.cloud.resource_manager, scope, options, credential=credential)
        self.storage_credential = credential
        self.storage_endpoint = self.cloud.storage_endpoint
        self.authority_url = self.cloud.active_directory

    def aad_token(self) -> str | None:
        return self.storage_credential.get_token(f"{self.cloud.aml_resource_id}.default").token
