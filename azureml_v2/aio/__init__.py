"""The async client: `from azureml_v2.aio import MLClient`, the same operation groups awaited on azure-core's async
pipeline (AsyncARMPipelineClient), for services that embed the SDK in an event loop. Needs the `aio` extra."""
from ._client import AsyncOperations, MLClient

__all__ = ["AsyncOperations", "MLClient"]
