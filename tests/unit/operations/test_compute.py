"""Compute operations against the local workspace: the built-in `local` compute, read-only."""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError


def test_the_local_compute_is_listed_and_readable(ml_client):
    local = ml_client.compute.get("local")
    assert (local.name, local.type, local.provisioning_state) == ("local", "virtualmachine", "Succeeded")
    assert [c.name for c in ml_client.compute.list()] == ["local"]
    assert [c.name for c in ml_client.compute.list(compute_type="VirtualMachine")] == ["local"]
    assert list(ml_client.compute.list(compute_type="amlcompute")) == []


def test_unknown_computes_and_changes_are_refused_with_the_service_message(ml_client):
    with pytest.raises(ResourceNotFoundError, match="compute 'gpu-cluster' not found"):
        ml_client.compute.get("gpu-cluster")
    with pytest.raises(HttpResponseError) as info:
        ml_client.compute.begin_delete("local")
    assert info.value.status_code == 405
