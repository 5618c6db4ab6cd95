"""Datastores: named storage with its credentials. Secrets come back only when asked for (listSecrets)."""
from __future__ import annotations

import dataclasses

from azure.core.exceptions import ResourceNotFoundError
from azure.core.paging import ItemPaged

from .._artifacts.storage import open_container, upload_snapshot
from ..entities.datastore import (AccountKeyConfiguration, AzureBlobDatastore, AzureDataLakeGen2Datastore,
                                  AzureFileDatastore, CertificateConfiguration, Datastore, LocalDatastore,
                                  ServicePrincipalConfiguration)
from ..exceptions import ValidationError
from ._base import Operations

_ACCOUNT_TYPES = (AzureBlobDatastore, AzureFileDatastore, AzureDataLakeGen2Datastore)  # on a storage account
_PRINCIPALS = (ServicePrincipalConfiguration, CertificateConfiguration)


def cloud_defaults(datastore, backend):
    """`datastore` with what azure-ai-ml fills from its cloud when the YAML does not say: a storage account's
    `endpoint` (the cloud's storage suffix) and `protocol` (https), and a service principal's `authority_url` (the
    cloud's sign-in). A datastore that names its endpoint (an emulator's address) keeps its own protocol."""
    if isinstance(datastore, _ACCOUNT_TYPES) and datastore.endpoint is None:
        datastore = dataclasses.replace(datastore, endpoint=backend.storage_endpoint,
                                        protocol=datastore.protocol or "https")
    credentials = datastore.credentials
    if isinstance(credentials, _PRINCIPALS) and credentials.authority_url is None:
        datastore = dataclasses.replace(datastore, credentials=dataclasses.replace(
            credentials, authority_url=backend.authority_url))
    return datastore


class DatastoreOperations(Operations):
    """create_or_update, get, get_default, list and delete datastores."""

    def _from_rest(self, resource: dict, include_secrets: bool = False):
        store = Datastore._from_rest(resource)
        if include_secrets and store.credentials is not None:
            credentials = resource["properties"]["credentials"]
            credentials["secrets"] = self._send("POST", "datastores", resource["name"], "listSecrets").json()
            store.credentials = type(store.credentials)._from_rest(credentials)
        return store

    def create_or_update(self, datastore):
        """Create or replace a datastore; the returned one carries no secrets. What it leaves unsaid of where its
        storage is comes from the client's cloud, as azure-ai-ml fills it (see `cloud_defaults`)."""
        body = cloud_defaults(datastore, self._backend).to_rest(scope=self._ml_client._scope)
        return self._from_rest(self._put(body, "datastores", datastore.name))

    def get(self, name: str, *, include_secrets: bool = False):
        """A datastore; with include_secrets=True also its account key, SAS token or client secret."""
        return self._from_rest(self._get("datastores", name), include_secrets)

    def get_default(self, *, include_secrets: bool = False):
        """The workspace's default datastore (workspaceblobstore unless changed)."""
        for resource in self._paged(lambda r: r, "datastores", params={"isDefault": "true"}):
            if resource.get("properties", {}).get("isDefault"):
                return self._from_rest(resource, include_secrets)
        raise ResourceNotFoundError("this workspace has no default datastore")

    def list(self, *, include_secrets: bool = False) -> ItemPaged:
        """All datastores of the workspace; those of a type not handled yet (Hdfs) come as read-only
        UnsupportedDatastore (name, type, description, tags, is_default)."""
        return self._paged(lambda r: self._from_rest(r, include_secrets), "datastores")

    def delete(self, name: str) -> None:
        """Remove a datastore (the storage it points to is not touched)."""
        self._delete("datastores", name)

    def _storage(self, store):
        """What the artifact layer reads and writes: a local datastore's folder, or a blob ContainerClient
        authenticated by the datastore's key or SAS token, else by the client's own credential."""
        if isinstance(store, LocalDatastore):
            return store.path
        if not isinstance(store, AzureBlobDatastore):
            raise ValidationError(f"datastore {store.name!r} ({store.type}): uploads go to a blob or local "
                                  "datastore only")
        credentials = store.credentials
        if credentials is None:
            secret = self._backend.storage_credential
        elif isinstance(credentials, AccountKeyConfiguration):
            secret = credentials.account_key
        else:
            secret = credentials.sas_token
        return open_container(store.container_name, account_url=_account_url(store), credential=secret)

    def _upload(self, snapshot, *, blob_url: bool = False, datastore: str | None = None) -> str:
        """Upload a snapshot to `datastore` (a name or azureml:<name>), by default the default datastore
        (nothing moves when it is there already); its `azureml://datastores/<name>/paths/LocalUpload/<hash>/<name>`
        URI, or with blob_url=True its https URL on a blob datastore (what Azure wants in a code version's
        codeUri)."""
        store = (self.get(datastore.removeprefix("azureml:"), include_secrets=True) if datastore
                 else self.get_default(include_secrets=True))
        storage = self._storage(store)
        result = self._backend.offload(upload_snapshot, snapshot, storage)
        if blob_url and not isinstance(storage, str):
            return f"{storage.url}/{result.path}"
        return f"azureml://datastores/{store.name}/paths/{result.path}"


def _account_url(store) -> str:
    """A blob datastore's account URL: `https://<account>.blob.<endpoint suffix>`, or, when `endpoint` is a URL or
    host:port (an emulator such as Azurite), that address path-style: `http://127.0.0.1:10000/devstoreaccount1`."""
    endpoint = (store.endpoint or "core.windows.net").rstrip("/")
    scheme = {"wasbs": "https", "wasb": "http"}.get(store.protocol, store.protocol)
    if "://" in endpoint:
        return endpoint
    if ":" in endpoint:
        return f"{scheme or 'http'}://{endpoint}/{store.account_name}"
    return f"{scheme or 'https'}://{store.account_name}.blob.{endpoint}"
