"""Datastore operations against the local workspace: create, get with and without secrets, default, list,
delete."""
from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from azureml_v2.entities.datastore import AccountKeyConfiguration, AzureBlobDatastore

KEY = "c2VjcmV0LWFjY291bnQta2V5LWZvci10ZXN0cw=="


def _blob(name="training", **kwargs):
    return AzureBlobDatastore(name=name, account_name="mystorage", container_name="data",
                              credentials=AccountKeyConfiguration(account_key=KEY), **kwargs)


def test_secrets_come_back_only_when_asked_for(ml_client):
    created = ml_client.datastores.create_or_update(_blob(description="training data"))
    assert (created.name, created.account_name, created.description) == ("training", "mystorage", "training data")
    assert created.credentials.account_key is None
    assert ml_client.datastores.get("training").credentials.account_key is None
    assert ml_client.datastores.get("training", include_secrets=True).credentials.account_key == KEY
    listed = {d.name: d for d in ml_client.datastores.list(include_secrets=True)}
    assert listed["training"].credentials.account_key == KEY
    assert listed["workspaceblobstore"].credentials is None  # identity-based: nothing to fetch


def test_default_list_and_delete(ml_client):
    assert ml_client.datastores.get_default().name == "workspaceblobstore"
    ml_client.datastores.create_or_update(_blob())
    assert sorted(d.name for d in ml_client.datastores.list()) == [
        "training", "workspaceartifactstore", "workspaceblobstore"]
    ml_client.datastores.delete("training")
    with pytest.raises(ResourceNotFoundError, match="training"):
        ml_client.datastores.get("training")
