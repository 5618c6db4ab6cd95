"""Datastore operations against the local workspace: create, get with and without secrets, default, list,
delete."""
from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from azureml_v2.entities.datastore import (AccountKeyConfiguration, AzureBlobDatastore, AzureDataLakeGen1Datastore,
                                          ServicePrincipalConfiguration)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
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


@pytest.mark.parametrize("endpoint, protocol, url", [
    (None, None, "https://mystorage.blob.core.windows.net"),
    ("core.chinacloudapi.cn", "wasbs", "https://mystorage.blob.core.chinacloudapi.cn"),
    ("http://127.0.0.1:10000/devstoreaccount1/", None, "http://127.0.0.1:10000/devstoreaccount1"),
    ("127.0.0.1:10000", None, "http://127.0.0.1:10000/mystorage"),
    ("azurite:10000", "https", "https://azurite:10000/mystorage"),
])
def test_blob_account_url_is_the_cloud_suffix_or_an_emulator_address(endpoint, protocol, url):
    from azureml_v2.operations.datastores import _account_url
    assert _account_url(_blob(endpoint=endpoint, protocol=protocol)) == url


_ONE_LAKE = {"name": "fabric", "properties": {
    "datastoreType": "OneLake", "description": "lakehouse", "tags": {"team": "bi"}, "isDefault": True,
    "oneLakeWorkspaceName": "ws", "endpoint": "onelake.dfs.fabric.microsoft.com",
    "artifact": {"artifactType": "LakeHouse", "artifactName": "sales"}, "credentials": {"credentialsType": "None"}}}
_HDFS = {"name": "cluster", "properties": {
    "datastoreType": "Hdfs", "nameNodeAddress": "namenode", "protocol": "http",
    "credentials": {"credentialsType": "KerberosPassword", "kerberosPrincipal": "me", "kerberosRealm": "R",
                    "kerberosKdcAddress": "kdc"}}}


def _azure_workspace_with(*datastores):
    """An MLClient on a stub Azure ML workspace that answers datastore GETs (list and by name) and counts
    requests; listSecrets must never be asked for a type we cannot read."""
    import json

    from azure.core.credentials import AccessToken

    from azureml_v2._client import MLClient
    from azureml_v2._http.inprocess import WSGITransport

    by_name = {d["name"]: d for d in datastores}
    requests = []

    def app(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        requests.append((method, path))
        name = path.rsplit("/datastores", 1)[1].strip("/")
        body = by_name.get(name) if name else {"value": list(datastores)}
        status = "200 OK" if method == "GET" and body else "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body or {"error": {"code": "NotFound", "message": f"{method} {path}"}}).encode()]

    class Credential:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("t", 2**40)

    client = MLClient(Credential(), "11111111-2222-3333-4444-555555555555", "rg", "ws",
                      transport=WSGITransport(app), retry_total=0)
    return client, requests


def test_datastore_types_we_do_not_handle_are_listed_and_read_but_not_written():
    from azureml_v2 import OneLakeArtifact, OneLakeDatastore, ValidationError

    client, requests = _azure_workspace_with(_ONE_LAKE, _HDFS)
    listed = {d.name: d for d in client.datastores.list(include_secrets=True)}
    fabric, cluster = listed["fabric"], listed["cluster"]
    assert fabric == OneLakeDatastore(name="fabric", description="lakehouse", tags={"team": "bi"},
                                      one_lake_workspace_name="ws", endpoint="onelake.dfs.fabric.microsoft.com",
                                      artifact=OneLakeArtifact(name="sales"))
    assert fabric.to_rest(scope=client._scope)["properties"]["artifact"] == _ONE_LAKE["properties"]["artifact"]
    assert (cluster.type, cluster.description, cluster.tags, cluster.is_default) == ("Hdfs", None, None, False)
    assert all(method == "GET" for method, _ in requests)  # no listSecrets for what we cannot read
    assert client.datastores.get("cluster", include_secrets=True) == cluster
    assert "Hdfs" in str(cluster)
    with pytest.raises(ValidationError, match="datastore 'cluster': type Hdfs is not supported yet"):
        client.datastores.create_or_update(cluster)
    with pytest.raises(ValidationError, match="not supported yet"):
        cluster.dump()
    assert [m for m, _ in requests].count("PUT") == 0


@pytest.mark.parametrize(("cloud", "arm", "suffix", "login"), [
    (None, "management.azure.com", "core.windows.net", "https://login.microsoftonline.com"),
    ("AzureChinaCloud", "management.chinacloudapi.cn", "core.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    ("AzureUSGovernment", "management.usgovcloudapi.net", "core.usgovcloudapi.net", "https://login.microsoftonline.us")])
def test_a_new_datastore_gets_the_storage_and_sign_in_of_the_clients_cloud(cloud, arm, suffix, login):
    import json

    from support.credentials import FakeCredential

    from azureml_v2._client import MLClient
    from azureml_v2._http.inprocess import WSGITransport

    sent = []

    def app(environ, start_response):
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        sent.append((environ["HTTP_HOST"], body))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"name": "training", "properties": body["properties"]}).encode()]

    credential = FakeCredential()
    with MLClient(credential, "11111111-2222-3333-4444-555555555555", "rg", "ws", cloud=cloud,
                  transport=WSGITransport(app), retry_total=0) as client:
        client.datastores.create_or_update(_blob())
        client.datastores.create_or_update(_blob(endpoint="127.0.0.1:10000"))  # its own address: kept as given
        client.datastores.create_or_update(AzureDataLakeGen1Datastore(name="lake", store_name="lake", credentials=(
            ServicePrincipalConfiguration(tenant_id=TENANT, client_id=TENANT, client_secret="s"))))
    (host, body), (_, own), (_, lake) = sent
    assert (host, body["properties"]["endpoint"], body["properties"]["protocol"]) == (arm, suffix, "https")
    assert own["properties"]["endpoint"] == "127.0.0.1:10000" and "protocol" not in own["properties"]
    assert lake["properties"]["credentials"]["authorityUrl"] == login
    assert set(credential.scopes) == {f"https://{arm}/.default"}


def test_an_unknown_cloud_is_one_validation_error():
    from support.credentials import FakeCredential

    from azureml_v2 import MLClient, ValidationError

    with pytest.raises(ValidationError, match="cloud 'Mars'"):
        MLClient(FakeCredential(), "11111111-2222-3333-4444-555555555555", "rg", "ws", cloud="Mars")
    with pytest.raises(ValidationError, match="cloud is for an Azure ML workspace"):
        MLClient(cloud="AzureChinaCloud")
