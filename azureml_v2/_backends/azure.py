"""An Azure ML workspace, over ARM with an azure-identity credential."""
from __future__ import annotations

from .base import Backend

ARM_ENDPOINT = "https://management.azure.com"


class AzureBackend(Backend):
    """ARM only: logs, child jobs, trials and metrics live in Azure ML's run history and tracking services,
    which this client does not use; curated environments are registered in Azure ML's registry and resolved
    like any other reference; blob datastores without credentials are reached with the client's credential."""

    where = "an Azure ML workspace"
    default_polling_interval = 30

    def __init__(self, credential, scope: str, options: dict):
        super().__init__(ARM_ENDPOINT, scope, options, credential=credential)
        self.storage_credential = credential

    def aad_token(self) -> str | None:
        return self.storage_credential.get_token("https://ml.azure.com/.default").token
