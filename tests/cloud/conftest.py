"""MLClient on its Azure path, replaying the vcrpy cassettes in recordings/ through azure-core's real
requests transport. Nothing signs in (a fake credential) and nothing waits (sleeps are recorded)."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import vcr
from test_client import TOKEN, FakeCredential  # tests/ is on sys.path, as for tests/conftest.py

from azureml_v2._client import MLClient

from .make_cassettes import RECORDINGS, RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

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
    return delays


@pytest.fixture
def replay(sleeps):
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
            client = stack.enter_context(MLClient(
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
        assert set(run.credential.scopes) == {"https://management.azure.com/.default"}
