"""Every operation-group test runs twice: on MLClient and on azureml_v2.aio.MLClient (the `ml_client` and
`replay` fixtures build the one this parameter names)."""
import pytest


@pytest.fixture(params=["sync", "aio"])
def client_api(request):
    return request.param
