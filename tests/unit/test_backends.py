"""The backend an MLClient picks (Azure ML, the local workspace in this process or served), what each answers
where workspaces differ, and the one error a capability a backend lacks raises."""
from __future__ import annotations

import argparse
import ast
import io
import json
import logging
import os
import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from azureml_v2 import LOCAL_SCOPE, ValidationError, workspace_scope
from azureml_v2._backends.azure import ARM_ENDPOINT, AzureBackend
from azureml_v2._backends.local import FIRST_LOOKS, IN_PROCESS_URL, LOG_POLL, LocalBackend
from azureml_v2._client import MLClient
from azureml_v2._http.inprocess import WSGITransport
from azureml_v2._yaml.api import load_job
from azureml_v2.cli import commands
from azureml_v2.exceptions import JobStateError, NotAvailableError
from azureml_v2.local.api import server
from azureml_v2.local.core.processes import process_start
from azureml_v2.local.storage.sqlite import StoreError

from support.local import local_client

PACKAGE = Path(__file__).resolve().parents[2] / "azureml_v2"
EXAMPLES = PACKAGE.parent / "examples"
NOT_ON_AZURE = "is not available on an Azure ML workspace: "


class Credential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("token", int(time.time()) + 3600)


@pytest.fixture
def local(tmp_path):
    """The local workspace in this process, running no job."""
    with local_client(tmp_path / "home", run_jobs=False) as client:
        yield client
    client.sent.close()


@pytest.fixture
def cloud(local):
    """An Azure ML client (ARM URLs, bearer token) answered by the local workspace's ARM routes."""
    with MLClient(Credential(), local.subscription_id, local.resource_group_name, local.workspace_name,
                  transport=WSGITransport(local.sent.app), polling_interval=0) as client:
        yield client


def _sweep(local, name: str = "sweep", status: str = "Completed") -> None:
    local.jobs.create_or_update(load_job(EXAMPLES / "lightgbm" / "sweep.yml"), name=name)
    store = local.sent.app.store
    for step in ("Queued", "Running", status):
        store.set_job_status(local.workspace_name, name, step)


# -- selection --------------------------------------------------------------------------------------------
def test_no_workspace_arguments_pick_the_local_workspace_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_V2_HOME", str(tmp_path / "home"))
    client = MLClient()
    backend = client._backend
    assert type(backend) is LocalBackend and backend.home == tmp_path / "home" == client.home
    assert client.endpoint == IN_PROCESS_URL and client.is_local and client.polling_interval == 1
    assert backend.storage_credential is None and backend.verifies_environment_at_submit
    assert backend.job_log("ws", "job") == tmp_path / "home" / "jobs" / "ws" / "job" / "user_logs" / "std_log.txt"
    delays = backend.follow_delays(7)  # soon at first, then every LOG_POLL
    assert [next(delays) for _ in range(len(FIRST_LOOKS) + 2)] == [*FIRST_LOOKS, LOG_POLL, LOG_POLL]
    assert not (tmp_path / "home").exists()  # choosing a backend opens nothing


@pytest.mark.parametrize("kwargs, message", [
    ({"home": 5}, "home 5: expected the path of a local workspace folder"),
    ({"endpoint": "http://127.0.0.1:1", "credential": "t", "home": 5}, "home 5: expected the path"),
    ({"polling_interval": "x"}, "polling_interval 'x': expected seconds"),
    ({"polling_interval": -1}, "polling_interval -1: expected seconds"),
    ({"workspace_name": "a/b"}, "workspace_name 'a/b': expected a name"),
    ({"credential": object(), "subscription_id": "s", "resource_group_name": 5, "workspace_name": "w"},
     "resource_group_name 5: expected a name"),
])
def test_arguments_that_are_no_path_or_interval_are_one_validation_error(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        MLClient(**kwargs)


def test_an_endpoint_picks_the_served_local_workspace():
    client = MLClient(endpoint="http://127.0.0.1:9/", credential="tok", polling_interval=3)
    backend = client._backend
    assert type(backend) is LocalBackend and client.is_local and client.home is None
    assert client.endpoint == "http://127.0.0.1:9" and client.polling_interval == 3
    assert backend.job_log("ws", "job") is None  # the job's files are the server's
    assert next(backend.follow_delays(3)) == 3
    assert backend.child_jobs("parent", "listing") == {"parentJobName": "parent"}


def test_a_subscription_picks_azure():
    credential = Credential()
    client = MLClient(credential, "sub", "rg", "ws")
    backend = client._backend
    assert type(backend) is AzureBackend and not client.is_local and client.home is None
    assert client.endpoint == ARM_ENDPOINT and client.polling_interval == 30
    assert backend.storage_credential is credential  # blob datastores without credentials: the client's
    assert not backend.verifies_environment_at_submit
    assert not backend.keeps_curated_environment("azureml:AzureML-sklearn-1.5@latest")  # registered on Azure
    assert backend.job_log("ws", "job") is None and next(backend.follow_delays(30)) == 30


def test_a_curated_environment_is_kept_for_the_local_runner_only_when_it_has_a_local_equivalent(tmp_path):
    backend = MLClient(home=tmp_path)._backend
    assert backend.keeps_curated_environment("azureml:AzureML-sklearn-1.5@latest")
    assert not backend.keeps_curated_environment("azureml:my-own-env:1")


def test_closing_releases_the_in_process_workspace(tmp_path):
    client = MLClient(home=tmp_path / "home")
    assert [c.name for c in client.compute.list()] == ["local"]
    assert client._backend._app is not None
    client.close()
    assert client._backend._app is None and client._backend._client is None


# -- what an Azure ML workspace does not offer --------------------------------------------------------------
def test_each_capability_azure_lacks_raises_one_error_with_a_hint(cloud, local, tmp_path):
    _sweep(local)
    cases = [
        (lambda: cloud.jobs.get_metrics("sweep"), "get_metrics " + NOT_ON_AZURE, "tracking URI"),
        (lambda: cloud.jobs.list(parent_job_name="sweep"), "listing child jobs (parent_job_name) " + NOT_ON_AZURE,
         "run history service"),
        (lambda: cloud.jobs.list_trials("sweep"), "listing a sweep's trials " + NOT_ON_AZURE, "run history service"),
        (lambda: cloud.jobs.plot("sweep", tmp_path / "sweep.html"), "listing a sweep's trials " + NOT_ON_AZURE,
         "run history service"),
    ]
    for call, start, hint in cases:
        with pytest.raises(NotAvailableError) as info:
            call()
        message = str(info.value)
        assert message.startswith("<input>: " + start) and hint in message, message
        assert isinstance(info.value, ValidationError)  # callers catching bad input catch it too
    assert not (tmp_path / "sweep.html").exists()
    # the same calls answer on the local workspace
    assert [t.name for t in local.jobs.list_trials("sweep")] == []
    assert list(local.jobs.list(parent_job_name="sweep")) == []


def test_a_sweep_on_azure_streams_its_status_changes_as_any_job(cloud, local):
    _sweep(local)
    out = io.StringIO()
    assert cloud.jobs.stream("sweep", out=out).status == "Completed"
    assert out.getvalue() == ("RunId: sweep\n(logs are not streamed from this workspace: status changes only)\n"
                              "Status: Completed\n")


def test_a_sweep_on_the_local_workspace_streams_its_trials(local):
    _sweep(local)
    out = io.StringIO()
    assert local.jobs.stream("sweep", out=out).status == "Completed"
    assert out.getvalue().startswith("RunId: sweep\n") and "status changes only" not in out.getvalue()


# -- operations and the CLI never ask which backend they are on ----------------------------------------------
def _modules(*folders: str):
    for folder in folders:
        for path in sorted((PACKAGE / folder).glob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_operations_and_the_cli_never_test_which_backend_answers():
    found = []
    for path, tree in _modules("operations", "cli"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("is_local", "home"):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and "_backends." in f".{node.module or ''}." and \
                    node.module.split(".")[-1] in ("azure", "local"):
                found.append(f"{path.name}:{node.lineno} imports a backend")
            if isinstance(node, ast.Name) and node.id.endswith("Backend"):
                found.append(f"{path.name}:{node.lineno} {node.id}")
    assert found == []


def _local_imports(path: Path, tree) -> list[str]:
    names = []
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module)))
            for alias in node.names:
                full = f"{module}.{alias.name}" if module == "azureml_v2" else module
                if full == "azureml_v2.local" or full.startswith("azureml_v2.local."):
                    names.append(module if module != "azureml_v2" else full)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("azureml_v2.local")]
    return names


def test_only_the_local_backend_and_the_server_command_import_the_local_workspace():
    importers = {}
    for path, tree in _modules(".", "operations", "cli", "_backends", "_http", "entities", "_yaml",
                               "_artifacts"):
        if _local_imports(path, tree):
            importers[str(path.relative_to(PACKAGE))] = sorted(set(_local_imports(path, tree)))
    assert importers == {
        "_backends/local.py": ["azureml_v2.local"],
        "cli/commands.py": ["azureml_v2.local.api"],
    }


def test_azml_job_show_of_a_sweep_lists_trials_where_they_can_be_listed(cloud, local, monkeypatch, capsys):
    _sweep(local)
    args = argparse.Namespace(verb="show", name="sweep", output="json")
    for client, has_trials in ((cloud, False), (local, True)):
        monkeypatch.setattr(commands, "client_for", lambda _: client)
        assert commands.run_job(args) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["name"] == "sweep" and shown["status"] == "Completed"
        assert ("trials" in shown) is has_trials


def test_an_azure_workspace_without_a_working_credential_is_one_line_of_azml(monkeypatch):
    monkeypatch.setattr(logging.getLogger("azure.identity"), "level", logging.NOTSET)
    args = argparse.Namespace(workspace_name="w", resource_group="r", subscription="s", debug=False)
    commands.client_for(args).close()
    assert not logging.getLogger("azure.identity").isEnabledFor(logging.WARNING)  # its warnings repeat the error
    reasons = "\n".join(["DefaultAzureCredential failed to retrieve a token from the included credentials.",
                         "Attempted credentials:", "\tEnvironmentCredential: unavailable.", "To mitigate ..."])
    line = commands.describe_error(ClientAuthenticationError(message=reasons))
    assert "\n" not in line and line.startswith("azml: error: DefaultAzureCredential failed") and "az login" in line


def test_azml_reports_the_package_s_own_errors_as_their_message():
    for error in (StoreError("/h/workspace.db: cannot open the local workspace database"),
                  JobStateError("job 'j' is Running: it has no outputs yet")):
        assert commands.describe_error(error) == f"azml: error: {error}"


def test_an_endpoint_with_a_home_takes_the_token_of_that_home_s_server(tmp_path):
    home = tmp_path / "served"
    home.mkdir()
    token, _ = server.ensure_token(home)
    (home / server.STATE_FILE).write_text(json.dumps({  # this process plays the server listening there
        "pid": os.getpid(), "started": process_start(os.getpid()), "endpoint": "http://127.0.0.1:9"}))
    client = MLClient(endpoint="http://127.0.0.1:9", home=home)
    assert client._backend._auth["token"] == token
    with pytest.raises(ValidationError, match=f"no server of {tmp_path / 'other'} listens there"):
        MLClient(endpoint="http://127.0.0.1:9", home=tmp_path / "other")


@pytest.mark.parametrize("endpoint", ["not a url", "127.0.0.1:8080", "ftp://127.0.0.1:1", "http://127.0.0.1:abc",
                                      "http://127.0.0.1:99999", "http://", 5])
def test_an_endpoint_that_is_no_http_url_is_one_error_before_any_request(endpoint):
    with pytest.raises(ValidationError, match="expected http://HOST:PORT"):
        MLClient(endpoint=endpoint, credential="token")


def test_azml_job_validate_rest_takes_the_workspace_options_whole(tmp_path, capsys):
    job = tmp_path / "job.yml"
    job.write_text("command: echo hi\nenvironment: azureml:e:1\n")

    def validate(**workspace):
        options = {"workspace_name": None, "resource_group": None, "subscription": None, **workspace}
        args = argparse.Namespace(verb="validate", file=str(job), overrides=[], rest=True, output="json", **options)
        assert commands.run_job(args) == 0
        return json.loads(capsys.readouterr().out)["properties"]["environmentId"]

    assert validate().startswith(LOCAL_SCOPE + "/environments/e/")
    assert validate(workspace_name="w", resource_group="r", subscription="s").startswith(
        workspace_scope("s", "r", "w") + "/environments/e/")
    with pytest.raises(commands.UsageError, match="together"):
        validate(subscription="s")
