"""Datastores: every type and kind of credentials, secrets kept out of sight, located errors."""
from __future__ import annotations

import pytest

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2.entities import datastore as D

from .test_models import located_problems, write_yaml

SECRETS = {"account_key": "acc0untKEY==", "sas_token": "?sv=2024&sig=s1gnature", "client_secret": "cl1ent-s3cret",
           "certificate": "MIIcertificate"}


def _problems(path):
    return located_problems(azureml_v2.load_datastore, path)


@pytest.mark.parametrize("name, cls, credentials", [
    ("blob.yml", D.AzureBlobDatastore, D.AccountKeyConfiguration),
    ("blob-sas.yml", D.AzureBlobDatastore, D.SasTokenConfiguration),
    ("blob-credless.yml", D.AzureBlobDatastore, type(None)),
    ("file.yml", D.AzureFileDatastore, D.AccountKeyConfiguration),
    ("file-sas.yml", D.AzureFileDatastore, D.SasTokenConfiguration),
    ("adls-gen1.yml", D.AzureDataLakeGen1Datastore, D.ServicePrincipalConfiguration),
    ("adls-gen1-credless.yml", D.AzureDataLakeGen1Datastore, type(None)),
    ("adls-gen2.yml", D.AzureDataLakeGen2Datastore, D.ServicePrincipalConfiguration),
])
def test_corpus_datastores_load_as_their_type(corpus_root, name, cls, credentials, rest_validate):
    store = azureml_v2.load_datastore(corpus_root / "cli/resources/datastore" / name)
    assert type(store) is cls and type(store.credentials) is credentials
    body = store.to_rest(scope=LOCAL_SCOPE)
    expected = credentials._TYPE if store.credentials else "None"
    assert body["properties"]["credentials"]["credentialsType"] == expected
    assert not rest_validate(body, "DatastoreResource")


CREDENTIALS = {
    "account_key": (D.AccountKeyConfiguration(account_key=SECRETS["account_key"]), "azure_blob"),
    "sas_token": (D.SasTokenConfiguration(sas_token=SECRETS["sas_token"]), "azure_file"),
    "service_principal": (D.ServicePrincipalConfiguration(
        tenant_id="00000000-1111-2222-3333-444444444444", client_id="00000000-1111-2222-3333-555555555555",
        client_secret=SECRETS["client_secret"], authority_url="https://login.microsoftonline.com",
        resource_url="https://datalake.azure.net/"), "azure_data_lake_gen2"),
    "certificate": (D.CertificateConfiguration(
        tenant_id="00000000-1111-2222-3333-444444444444", client_id="00000000-1111-2222-3333-555555555555",
        thumbprint="A1B2C3", certificate=SECRETS["certificate"]), "azure_data_lake_gen1"),
}
_STORES = {
    "azure_blob": lambda c: D.AzureBlobDatastore(name="blobs", account_name="acct", container_name="data",
                                                 credentials=c),
    "azure_file": lambda c: D.AzureFileDatastore(name="share", account_name="acct", file_share_name="s",
                                                 credentials=c),
    "azure_data_lake_gen1": lambda c: D.AzureDataLakeGen1Datastore(name="lake1", store_name="lake", credentials=c),
    "azure_data_lake_gen2": lambda c: D.AzureDataLakeGen2Datastore(name="lake2", account_name="acct",
                                                                   filesystem="fs", credentials=c),
}


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_secrets_are_masked_in_repr_and_str_but_kept_by_dump_and_rest(kind, tmp_path, rest_validate):
    credentials, store_type = CREDENTIALS[kind]
    store = _STORES[store_type](credentials)
    secret = next(v for k, v in SECRETS.items() if getattr(credentials, k, None))
    assert secret not in repr(store) and secret not in repr(credentials) and secret not in str(store)
    assert "'***'" in repr(credentials)
    assert secret in vars(credentials).values()  # masked in sight only
    path = tmp_path / "store.yml"
    store.dump(path)
    assert secret in path.read_text()
    assert azureml_v2.load_datastore(path) == store
    body = store.to_rest(scope=LOCAL_SCOPE)
    assert secret in str(body["properties"]["credentials"]["secrets"])
    assert not rest_validate(body, "DatastoreResource")
    back = D.Datastore._from_rest({"name": store.name, **body})
    assert back == store


def test_a_datastore_read_from_the_service_has_no_secrets_and_sends_none_back():
    response = {"name": "blobs", "properties": {
        "datastoreType": "AzureBlob", "accountName": "acct", "containerName": "data", "isDefault": True,
        "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity", "subscriptionId": "sub",
        "resourceGroup": "rg",
        "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}}}}
    store = D.Datastore._from_rest(response)
    assert store.credentials == D.AccountKeyConfiguration(account_key=None)
    assert store.service_data_access_auth_identity == "workspace_system_assigned_identity"
    props = store.to_rest(scope=LOCAL_SCOPE)["properties"]
    assert props["credentials"] == {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}}
    assert (props["serviceDataAccessAuthIdentity"], props["subscriptionId"], props["resourceGroup"]) == (
        "WorkspaceSystemAssignedIdentity", "sub", "rg")
    assert "isDefault" not in props  # the service's, not ours to send


def test_a_dump_without_the_secret_asks_for_it_instead_of_dropping_the_credentials(tmp_path):
    store = D.AzureBlobDatastore(name="blobs", account_name="acct", container_name="data",
                                 credentials=D.AccountKeyConfiguration())
    path = tmp_path / "blobs.yml"
    store.dump(path)
    assert "account_key: null" in path.read_text()
    assert _problems(path) == [(6, "credentials.account_key", "must have a value (got null)")]


def test_azure_ai_ml_spelling_authority_uri_is_read_as_authority_url(tmp_path):
    path = write_yaml(tmp_path, """
        name: lake
        type: azure_data_lake_gen2
        account_name: acct
        filesystem: fs
        credentials:
          tenant_id: t
          client_id: c
          client_secret: s
          authority_uri: https://login.microsoftonline.us
        """)
    store = azureml_v2.load_datastore(path)
    assert store.credentials.authority_url == "https://login.microsoftonline.us"
    assert "authority_url: https://login.microsoftonline.us" in store.dump()


def test_local_datastore_is_a_folder_here_and_a_spec_blob_datastore_on_the_wire(tmp_path, rest_validate):
    (tmp_path / "data").mkdir()
    path = write_yaml(tmp_path, "name: scratch\ntype: local\npath: ./data\ndescription: files on this machine\n")
    store = azureml_v2.load_datastore(path)
    assert isinstance(store, D.LocalDatastore) and store.path == str(tmp_path / "data")
    out = tmp_path / "elsewhere" / "ds.yml"
    out.parent.mkdir()
    store.dump(out)
    assert "path: ../data" in out.read_text()
    assert azureml_v2.load_datastore(out) == store
    body = store.to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["datastoreType"] == "AzureBlob"  # a type every client reads
    assert body["properties"]["properties"] == {"azureml.localFolder": store.path}
    assert D.Datastore._from_rest({"name": "scratch", **body}) == store
    assert rest_validate(body, "DatastoreResource") == []


def test_bad_datastore_files_report_every_problem_with_its_line(tmp_path):
    path = write_yaml(tmp_path, """
        name: blobs
        type: azure_blob
        container: data
        service_data_access_auth_identity: workspace_identity
        credentials:
          acount_key: k
        """)
    assert _problems(path) == [
        (1, "account_name", "required field is missing"),
        (1, "container_name", "required field is missing"),
        (3, "container", "unknown field (did you mean container_name?)"),
        (4, "service_data_access_auth_identity", "invalid value 'workspace_identity': expected one of none, "
         "workspace_system_assigned_identity, workspace_user_assigned_identity "
         "(did you mean workspace_user_assigned_identity?)"),
        (6, "credentials.acount_key", "unknown field (did you mean account_key?)"),
    ]


@pytest.mark.parametrize("text, expected", [
    ("name: d\ntype: azure_blobb\n",
     (2, "type", "invalid value 'azure_blobb': expected one of azure_blob, azure_file, azure_data_lake_gen1, "
                 "azure_data_lake_gen2, one_lake, local (did you mean azure_blob?)")),
    ("name: d\naccount_name: a\n", (1, "type", "required field is missing")),
    ("name: d\ntype: hdfs\n", (2, "type", "not supported yet: 'hdfs' datastores")),
    ("name: d\ntype: azure_file\naccount_name: a\nfile_share_name: s\n",
     (1, "credentials", "required field is missing")),
    ("name: d\ntype: azure_file\naccount_name: a\nfile_share_name: s\ncredentials: {}\n",
     (5, "credentials", "give account_key or sas_token")),
    ("name: d\ntype: azure_blob\naccount_name: a\ncontainer_name: c\ncredentials:\n  tenant_id: t\n"
     "  client_id: c\n  client_secret: s\n",
     (5, "credentials", "this datastore type takes account_key or sas_token credentials, or none (identity-based "
                        "access), not a service principal (tenant_id, client_id, client_secret)")),
    ("name: d\ntype: azure_data_lake_gen2\naccount_name: a\nfilesystem: f\ncredentials:\n  tenant_id: t\n"
     "  client_id: c\n",
     (5, "credentials.client_secret", "required field is missing")),
    ("name: d\ntype: local\npath: https://host/folder\n",
     (3, "path", "expected a local path, got 'https://host/folder'")),
])
def test_one_bad_datastore_problem_is_located_and_explained(tmp_path, text, expected):
    assert _problems(write_yaml(tmp_path, text)) == [expected]
