"""Shared fixtures: the reference corpus and REST spec from ../shared, copied or skipped clearly; Azurite; the local
workspace service in-process; the Azure path replaying cassettes. Tests under tests/unit start no process and
open no socket: a test there that tries fails, naming what it started."""
from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import croniter  # noqa: F401 - its import asks `file` about the interpreter (a process): once, here, not in a test
import pytest
import vcr
from hypothesis import settings
from support.credentials import TOKEN, FakeCredential
from support.local import Client, local_client
from support.make_cassettes import RECORDINGS, RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

from azure.core.pipeline.transport import AioHttpTransport
from support import aio

from azureml_v2 import aio as azureml_aio
from azureml_v2._client import MLClient
from azureml_v2.local import make_app

# the client behind the `ml_client` and `replay` fixtures, by client_api
CLIENTS = {"sync": MLClient, "aio": lambda *args, **kwargs: aio.Client(azureml_aio.MLClient(*args, **kwargs))}

settings.register_profile("long", max_examples=20_000)  # pytest --hypothesis-profile=long: >= 100,000 fuzzed inputs

SHARED = Path(os.environ.get("AZUREML_V2_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "azureml-examples"
SPEC = SHARED / "azure-rest-spec"
TOOLS = SHARED / "tools"
SEED = SHARED / "seed" / "azureml-2.0-preview.md"
UNIT = Path(__file__).resolve().parent / "unit"
# The warm interpreters of test workspaces end soon after their tests (jobs processes inherit this)
os.environ.setdefault("AZUREML_V2_WARM_IDLE", "20")


def _needs(path: Path, what: str):
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (reference data lives in ../shared beside the checkout)")


# -- tests/unit starts no process and opens no socket ------------------------------------------------------
class StartedProcessError(AssertionError):
    """A unit test started a process or used a socket."""


def _refuse(what: str, method: bool, started: list):
    def refused(*args, **kwargs):
        shown = ", ".join([*map(repr, args[1:] if method else args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        started.append(f"{what}({shown})")
        raise StartedProcessError(f"a test under tests/unit called {what}({shown}): tests that start processes "
                                  "or open sockets belong under tests/integration")

    return refused


# platform.platform() (in the SDK's user agent) runs `uname -p` once per process and caches it: run it now,
# before any test, so that building an MLClient starts nothing inside a unit test.
platform.platform()

_STARTED = pytest.StashKey[list]()
_GUARDED = [(subprocess.Popen, "__init__", "subprocess.Popen"), (os, "fork", "os.fork"),
            (os, "posix_spawn", "os.posix_spawn"), (os, "posix_spawnp", "os.posix_spawnp"), (os, "system", "os.system"),
            (socket.socket, "connect", "socket.connect"), (socket.socket, "connect_ex", "socket.connect_ex"),
            (socket.socket, "bind", "socket.bind")]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Around setup, call and teardown of a test under tests/unit: Popen, fork and socket connect/bind raise.
    The test fails even if the code under test swallows the error."""
    if UNIT not in Path(item.path).resolve().parents:
        yield
        return
    started: list[str] = []
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in _GUARDED if hasattr(owner, name)]
    for owner, name, what in _GUARDED:
        if hasattr(owner, name):
            setattr(owner, name, _refuse(what, owner is not os, started))
    item.stash[_STARTED] = started
    try:
        yield
    finally:
        for owner, name, real in saved:
            setattr(owner, name, real)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    started = item.stash.get(_STARTED, None)
    report = outcome.get_result()
    if started and report.passed and call.when == "call":
        report.outcome = "failed"
        report.longrepr = ("a test under tests/unit started a process or used a socket (the error was caught): "
                           + "; ".join(started) + " - move it under tests/integration")


# -- reference data -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def corpus_root(tmp_path_factory) -> Path:
    """A private copy of the corpus with the source folders its YAMLs name (left out upstream) created."""
    _needs(CORPUS, "the YAML corpus")
    root = tmp_path_factory.mktemp("corpus") / "azureml-examples"
    shutil.copytree(CORPUS, root)
    from support.corpus_kinds import create_missing_paths
    create_missing_paths(root)
    return root


def _restcheck():
    sys.path.insert(0, str(TOOLS))
    try:
        import restcheck
    finally:
        sys.path.remove(str(TOOLS))
    return restcheck


@pytest.fixture(scope="session")
def rest_validate():
    """validate(body, definition) -> list of problems, using ../shared/tools/restcheck.py."""
    _needs(SPEC, "the Azure REST spec")
    _needs(TOOLS / "restcheck.py", "restcheck.py")
    restcheck = _restcheck()

    def validate(body: dict, definition: str) -> list[str]:
        return restcheck.validate(body, definition, str(SPEC))

    return validate


@pytest.fixture(scope="session")
def rest_response(rest_validate):
    """validate(body, definition) -> problems, checking read-only fields too (as a response)."""
    restcheck = _restcheck()
    return lambda body, definition: restcheck.validate(body, definition, str(SPEC), request=False)


# -- Azurite ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def azurite_url():
    """The blob endpoint of a running Azurite (`http://127.0.0.1:PORT/devstoreaccount1`); skipped without one,
    a failure when CI=true."""
    from support import azurite
    with azurite.azurite() as url:
        if url is None:
            if os.environ.get("CI") == "true":
                pytest.fail(azurite.MISSING + " (CI=true: a missing Azurite is a failure)")
            pytest.skip(azurite.MISSING)
        yield url


@pytest.fixture(scope="session")
def azurite_connection_string(azurite_url):
    from support import azurite
    return azurite.connection_string(azurite_url)


@pytest.fixture
def blob_container(azurite_connection_string):
    """A fresh, empty container on Azurite, deleted afterwards."""
    import uuid

    from azureml_v2._artifacts.storage import open_container

    container = open_container(f"test-{uuid.uuid4().hex[:16]}", connection_string=azurite_connection_string)
    container.create_container()
    yield container
    container.delete_container()


# -- the local workspace service, in-process ----------------------------------------------------------------
@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def app(home):
    app = make_app(home, page_size=3, max_body=64 * 1024, user="tester")
    yield app
    app.close()


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def client_api():
    """Which client a test drives: MLClient ("sync"). The operation-group tests override this fixture to run
    every test on both MLClient and azureml_v2.aio.MLClient ("aio", behind a synchronous face)."""
    return "sync"


@pytest.fixture
def ml_client(tmp_path, request, client_api):
    """The local workspace; on teardown every PUT body it was sent must validate against the spec
    (when ../shared holds the spec). Under tests/unit it starts nothing: jobs stay NotStarted, endpoints and
    deployments are provisioned as soon as they are stored."""
    try:
        validate = request.getfixturevalue("rest_validate")
    except pytest.skip.Exception:
        validate = None
    client = local_client(tmp_path / "home", api=client_api,
                          run_jobs=UNIT not in Path(request.node.path).resolve().parents)
    yield client
    client.close()
    client.sent.close()
    for path, body in client.sent.puts() if validate else ():
        assert validate(body, client.sent.definition(path)) == [], f"PUT {path}: {body}"


# -- the Azure path: MLClient replaying the vcrpy cassettes in recordings/ ----------------------------------
# MLClient on its Azure path, replaying the cassettes through azure-core's real requests transport. Nothing
# signs in (a fake credential) and nothing waits (sleeps are recorded).
# A request matches an interaction on method, the full URI (path and query, api-version included, in any
# parameter order) and, for JSON, the body compared as JSON. Tokens are never written, should someone
# record against a live workspace.
cloud_vcr = vcr.VCR(cassette_library_dir=str(RECORDINGS), record_mode="none",
                    match_on=("method", "scheme", "host", "port", "path", "query", "body"),
                    filter_headers=["authorization"], decode_compressed_response=True)


@dataclass
class Replay:
    client: MLClient
    cassette: object  # vcr.cassette.Cassette
    credential: FakeCredential
    sent: list  # azure-core HttpRequests as they left the pipeline (after auth), retries and polls included
    sleeps: list  # delays asked of time.sleep (retries, polling)


@pytest.fixture
def sleeps(monkeypatch):
    delays = []
    monkeypatch.setattr(time, "sleep", delays.append)

    async def transport_sleep(transport, seconds):  # the async pipeline's retries wait on its transport
        delays.append(seconds)

    monkeypatch.setattr(AioHttpTransport, "sleep", transport_sleep)
    return delays


@pytest.fixture
def replay(sleeps, client_api):
    """replay("data/get") -> Replay: a cloud MLClient with that cassette playing (polling interval 0).

    Afterwards every interaction of the cassette must have been played, and every request must have
    carried the bearer token and our user agent.
    """
    started = []
    with ExitStack() as stack:
        def start(name: str) -> Replay:
            credential = FakeCredential()
            sent = []
            cassette = stack.enter_context(cloud_vcr.use_cassette(f"{name}.yaml"))
            client = stack.enter_context(CLIENTS[client_api](
                credential, SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE, polling_interval=0,
                raw_request_hook=lambda pipeline_request: sent.append(pipeline_request.http_request)))
            started.append(Replay(client, cassette, credential, sent, sleeps))
            return started[-1]

        yield start
    for run in started:
        assert run.cassette.all_played, f"{run.cassette._path}: {run.cassette.play_count} of {len(run.cassette)} " \
                                        "interactions played"
        assert run.sent and all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in run.sent)
        assert all(r.headers["User-Agent"].startswith("azureml_v2/") for r in run.sent)
        # ARM's scope; Azure ML's data plane's too where an aad_token endpoint was called
        assert "https://management.azure.com/.default" in run.credential.scopes
        assert set(run.credential.scopes) <= {"https://management.azure.com/.default", "https://ml.azure.com/.default"}


def pytest_terminal_summary(terminalreporter):
    test_corpus = sys.modules.get("unit._yaml.test_corpus")
    if test_corpus is None:
        return
    if test_corpus.COUNTS:
        counts = test_corpus.COUNTS
        terminalreporter.write_line(
            f"corpus: {counts['files']} files of supported kinds; {counts['loaded']} load, "
            f"{counts['round-trip']} round-trip, {counts['spec-valid']} spec-valid, "
            f"{counts['not supported']} located 'not supported yet'")
        for line in test_corpus.UNSUPPORTED:
            terminalreporter.write_line(f"  not supported yet: {line}")
