"""Fixtures of the integration tests that run jobs: the local workspace service in-process, with the host
environment registered. A module that needs more (code, components) overrides `client` and asks for this one."""
from __future__ import annotations

import pytest
from support.jobs import host_environment
from support.local import Client

from azureml_v2.local import make_app


@pytest.fixture
def app(home):
    app = make_app(home, user="tester")
    yield app
    app.close()


@pytest.fixture
def client(app):
    client = Client(app)
    host_environment(client)
    return client
