"""Workspace connections on the local workspace, in-process: every corpus type, and secrets that only listsecrets
returns (never a read, a list, a dump, a repr or an error)."""
from __future__ import annotations

import logging

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from azureml_v2 import ValidationError, load_connection
from azureml_v2.entities import (AccessKeyConfiguration, PatTokenConfiguration, UsernamePasswordConfiguration,
                                 WorkspaceConnection)

CORPUS = ("azure-sql-user-passwd.yml", "container-registry-managed-identity.yml", "git-pat.yml", "git-user-passwd.yml",
          "python-feed-pat.yml", "s3-access-key.yml", "snowflake-db-user-passwd.yml")
SCOPE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_connection_loads_round_trips_and_gives_a_spec_valid_body(corpus_root, rest_validate, name):
    connection = load_connection(corpus_root / "cli" / "resources" / "connections" / name)
    body = connection.to_rest(scope=SCOPE)
    assert rest_validate(body, "WorkspaceConnectionPropertiesV2BasicResource") == []
    text = connection.dump()
    assert text == load_connection(yaml.safe_load(text)).dump()  # deterministic, and it loads back
    again = load_connection(yaml.safe_load(text))
    assert (again.name, again.type, again.target, type(again.credentials)) == \
        (connection.name, connection.type, connection.target, type(connection.credentials))


def test_the_corpus_types_map_to_the_spec_categories():
    expected = {"git": "Git", "python_feed": "PythonFeed", "container_registry": "ContainerRegistry", "s3": "S3",
                "snowflake": "Snowflake", "azure_sql_db": "AzureSqlDb", "custom": "CustomKeys",
                "azure_open_ai": "AzureOpenAI", "adls_gen2": "ADLSGen2"}
    for kind, category in expected.items():
        body = WorkspaceConnection(name="abc", type=kind, target="t").to_rest(scope=SCOPE)
        assert body["properties"]["category"] == category
        assert body["properties"]["authType"] == "None"


def test_secrets_come_back_only_from_listsecrets(ml_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = ml_client.connections.create_or_update(WorkspaceConnection(
        name="feed", type="python_feed", target="https://pkgs.example.com/simple",
        credentials=UsernamePasswordConfiguration(username="ada", password="hunter2-secret")))
    shown = ml_client.connections.get("feed")
    listed = list(ml_client.connections.list())
    for connection in (created, shown, *listed):
        assert connection.credentials.username == "ada" and connection.credentials.password is None
        assert "hunter2-secret" not in repr(connection) + connection.dump()
    assert "hunter2-secret" not in caplog.text
    with_secrets = ml_client.connections.get("feed", populate_secrets=True)
    assert with_secrets.credentials.password == "hunter2-secret"
    assert "hunter2-secret" not in repr(with_secrets) + with_secrets.dump()  # even when it has them


def test_a_connection_is_replaced_listed_by_type_and_deleted(ml_client):
    ml_client.connections.create_or_update(WorkspaceConnection(
        name="repo", type="git", target="https://git.example.com/a", credentials=PatTokenConfiguration(pat="p1")))
    ml_client.connections.create_or_update(WorkspaceConnection(
        name="bucket", type="s3", target="s3://bucket",
        credentials=AccessKeyConfiguration(access_key_id="AKIA", secret_access_key="k")))
    ml_client.connections.create_or_update(WorkspaceConnection(
        name="repo", type="git", target="https://git.example.com/b", credentials=PatTokenConfiguration(pat="p2")))
    assert ml_client.connections.get("repo").target == "https://git.example.com/b"
    assert ml_client.connections.get("repo", populate_secrets=True).credentials.pat == "p2"
    assert [c.name for c in ml_client.connections.list(connection_type="git")] == ["repo"]
    assert sorted(c.name for c in ml_client.connections.list()) == ["bucket", "repo"]
    ml_client.connections.delete("repo")
    with pytest.raises(ResourceNotFoundError, match="connection 'repo' not found"):
        ml_client.connections.get("repo")


def test_bad_connections_are_one_located_error(tmp_path, ml_client):
    path = tmp_path / "c.yml"
    path.write_text("name: my-conn\ntype: gitt\ntarget: https://x\n")
    with pytest.raises(ValidationError, match=r"c.yml:2:\d+ type: invalid value 'gitt'.*git"):
        load_connection(path)
    path.write_text("name: my-conn\ntype: git\ncredentials:\n  type: pat\n  token: x\n")
    with pytest.raises(ValidationError, match=r"c.yml:5:\d+ credentials.token: unknown field"):
        load_connection(path)
    with pytest.raises(HttpResponseError, match="invalid connection name"):
        ml_client.connections.create_or_update(WorkspaceConnection(name="ab", type="git", target="t"))
    with pytest.raises(ValidationError, match="not a connection type"):
        ml_client.connections.list(connection_type="svn")
