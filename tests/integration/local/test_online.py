"""Online endpoints served on this machine: Azure ML's scoring server behind the endpoint's router, its auth,
traffic, request settings, supervision, updates without a failed request, and delete.

Deployments here run on the host interpreter (no environment: its overlay is made in well under a second) with
small scoring scripts written by the tests; the corpus's own deployments are in test_online_corpus.py.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from azureml_v2.local.core import serving
from azureml_v2.local.core.serving import Serving
from azureml_v2.local.core.workspace import Store
from azureml_v2.local.core.assets import put_asset_version

pytestmark = pytest.mark.integration
WS = "local"

ECHO = """
import json, os, time
def init():
    global tag
    tag = os.environ.get("TAG", "?")
def run(raw_data):
    data = json.loads(raw_data)
    if data.get("fail"):
        raise ValueError("the scoring script refused: " + str(data["fail"]))
    if data.get("sleep"):
        time.sleep(data["sleep"])
    return {"tag": tag, "echo": data.get("x"), "model_dir": os.environ["AZUREML_MODEL_DIR"]}
"""

SCHEMA = """
import numpy as np
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
def init():
    pass
@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0]])))
@output_schema(NumpyParameterType(np.array([3.0])))
def run(data):
    return data.sum(axis=1).tolist()
"""


def _code(store: Store, tmp: Path, name: str, script: str) -> str:
    folder = tmp / "code" / name
    folder.mkdir(parents=True)
    (folder / "score.py").write_text(textwrap.dedent(script))
    put_asset_version(store, WS, "codes", name, "1", {"codeUri": str(folder)}, "tester")
    return f"azureml:{name}:1"


def _model(store: Store, tmp: Path) -> str:
    folder = tmp / "model" / "model"
    folder.mkdir(parents=True)
    (folder / "weights.txt").write_text("42")
    put_asset_version(store, WS, "models", "tiny", "3", {"modelUri": str(folder),
                                                                        "modelType": "custom_model"}, "tester")
    return "azureml:tiny:3"


def deployment(code: str, model: str | None = None, count: int = 1, tag: str = "blue", **settings) -> dict:
    props = {"endpointComputeType": "Managed", "codeConfiguration": {"codeId": code, "scoringScript": "score.py"},
             "environmentVariables": {"TAG": tag}}
    if model:
        props["model"] = model
    if settings:
        props["requestSettings"] = settings
    return {"properties": props, "sku": {"name": "Default", "capacity": count}}


def wait_for(serve: Serving, endpoint: str, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = serve.deployment_state(WS, endpoint, name)
        if state in ("Succeeded", "Failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"{name} is still {serve.deployment_state(WS, endpoint, name)}: "
                         f"{serve.logs(WS, endpoint, name)}")


def call(uri: str, body=None, key: str | None = None, headers: dict | None = None, timeout: float = 10,
         raw: bytes | None = None, method: str = "POST"):
    parts = urlsplit(uri)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key:
            all_headers["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn.request(method, parts.path, body=data, headers=all_headers)
        response = conn.getresponse()
        text = response.read()
        return response.status, dict(response.getheaders()), text
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One endpoint `ep` with blue (90) and green (10), each of one instance, on a home of the module."""
    tmp = tmp_path_factory.mktemp("online")
    store = Store(tmp / "home")
    store.ensure_workspace(WS, "tester")
    serve = Serving(store.home)
    code = _code(store, tmp, "echo", ECHO)
    model = _model(store, tmp)
    serve.put_endpoint(WS, "ep", {"authMode": "Key"})
    serve.put_deployment(WS, "ep", "blue", deployment(code, model, tag="blue"))
    serve.put_deployment(WS, "ep", "green", deployment(code, model, tag="green"))
    assert wait_for(serve, "ep", "blue") == "Succeeded", serve.logs(WS, "ep", "blue")
    assert wait_for(serve, "ep", "green") == "Succeeded", serve.logs(WS, "ep", "green")
    serve.put_endpoint(WS, "ep", {"authMode": "Key", "traffic": {"blue": 90, "green": 10}})
    serve._wait_applied(WS, "ep", serve.spec(WS, "ep")["generation"])
    ns = type("Served", (), {})()
    ns.serve, ns.store, ns.tmp, ns.code, ns.model = serve, store, tmp, code, model
    ns.uri = serve.endpoint_view(WS, "ep")["scoringUri"]
    ns.key = serve.keys(WS, "ep")["primaryKey"]
    yield ns
    serve.delete_endpoint(WS, "ep")
    deadline = time.monotonic() + 15
    while serving.host_alive(serve.folder(WS, "ep")) and time.monotonic() < deadline:
        time.sleep(0.1)
    store.close()


def test_scores_with_the_model_laid_out_as_azure_ml_does(served):
    view = served.serve.endpoint_view(WS, "ep")
    assert view["provisioningState"] == "Succeeded"
    assert urlsplit(view["scoringUri"]).hostname == "127.0.0.1" and view["scoringUri"].endswith("/score")
    status, headers, body = call(served.uri, {"x": 7}, served.key, headers={"azureml-model-deployment": "green"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["tag"] == "green" and answer["echo"] == 7 and headers["azureml-model-deployment"] == "green"
    model_dir = Path(answer["model_dir"])
    assert model_dir.parts[-3:] == ("azureml-models", "tiny", "3")
    assert (model_dir / "model" / "weights.txt").read_text() == "42"
    status, _, body = call(view["swaggerUri"], key=served.key, method="GET")
    assert status == 200 and json.loads(body)["swagger"] == "2.0"


def test_auth_refuses_missing_and_wrong_keys_and_an_old_key_after_regenerate(served):
    assert call(served.uri, {"x": 1})[0] == 401
    assert call(served.uri, {"x": 1}, "wrong")[0] == 401
    assert call(served.uri, {"x": 1}, headers={"Authorization": served.key})[0] == 401
    keys = served.serve.keys(WS, "ep")
    assert call(served.uri, {"x": 1}, keys["secondaryKey"])[0] == 200
    served.serve.regenerate_key(WS, "ep", "Secondary")
    assert call(served.uri, {"x": 1}, keys["secondaryKey"])[0] == 401
    assert call(served.uri, {"x": 1}, served.serve.keys(WS, "ep")["secondaryKey"])[0] == 200


def test_the_router_listens_on_loopback_only(served):
    port = urlsplit(served.uri).port
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    addresses.discard("127.0.0.1")
    for address in addresses:  # another address of this machine does not reach the router
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0


def test_traffic_splits_by_weight_and_the_header_picks_a_deployment(served):
    counts = Counter()
    for _ in range(200):
        status, headers, _ = call(served.uri, {"x": 0}, served.key)
        assert status == 200
        counts[headers["azureml-model-deployment"]] += 1
    assert counts == {"blue": 180, "green": 20}
    assert call(served.uri, {"x": 0}, served.key, headers={"azureml-model-deployment": "nope"})[0] == 404


def test_a_raising_script_gives_500_with_the_error_in_the_logs(served):
    status, _, body = call(served.uri, {"fail": "bad-row-17"}, served.key, headers={"azureml-model-deployment": "blue"})
    assert status == 500, body
    time.sleep(0.3)
    assert "the scoring script refused: bad-row-17" in served.serve.logs(WS, "ep", "blue")


def test_kill_9_of_a_server_gives_fast_502_or_503_then_it_is_restarted(served):
    state = served.serve.state(WS, "ep")
    assert state["deployments"]["green"]["instances"] == 1
    pids = _server_pids(served.serve.folder(WS, "ep"), "green")
    target = {"azureml-model-deployment": "green"}
    os.kill(pids[0], signal.SIGKILL)
    killed = time.monotonic()
    statuses = []
    while True:  # until the restarted server answers
        start = time.monotonic()
        status, _, _ = call(served.uri, {"x": 1}, served.key, headers=target, timeout=10)
        assert time.monotonic() - start < 3, "a request during the restart hung"
        statuses.append(status)
        assert status in (200, 502, 503), status
        if status == 200 and "instance 0 restarted" in served.serve.logs(WS, "ep", "green"):
            break
        assert time.monotonic() - killed < 5, f"not served again within 5 s: {statuses}"
        time.sleep(0.02)
    assert f"instance 0 (pid {pids[0]}) exited with code -9: restarting it" in served.serve.logs(WS, "ep", "green")
    assert _server_pids(served.serve.folder(WS, "ep"), "green") != pids


def test_mirrored_requests_reach_the_shadow_and_their_answers_are_dropped(served):
    served.serve.put_endpoint(WS, "ep", {"authMode": "Key", "traffic": {"blue": 100}, "mirrorTraffic": {"green": 50}})
    served.serve._wait_applied(WS, "ep", served.serve.spec(WS, "ep")["generation"])
    before = served.serve.logs(WS, "ep", "green").count("POST /score 200")
    for _ in range(20):
        status, headers, _ = call(served.uri, {"x": 2}, served.key)
        assert status == 200 and headers["azureml-model-deployment"] == "blue"
    deadline = time.monotonic() + 5
    while served.serve.logs(WS, "ep", "green").count("POST /score 200") - before < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.serve.logs(WS, "ep", "green").count("POST /score 200") - before == 10
    served.serve.put_endpoint(WS, "ep", {"authMode": "Key", "traffic": {"blue": 90, "green": 10}})
    served.serve._wait_applied(WS, "ep", served.serve.spec(WS, "ep")["generation"])


def test_an_update_switches_to_new_servers_without_a_failed_request(served):
    results, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            results.append(call(served.uri, {"x": 3}, served.key, headers={"azureml-model-deployment": "blue"})[0])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.3)
        code = _code(served.store, served.tmp, "echo2", ECHO.replace('"?"', '"v2"'))
        assert served.serve.put_deployment(WS, "ep", "blue", deployment(code, served.model, count=2, tag="")) \
            == "Updating"
        assert wait_for(served.serve, "ep", "blue") == "Succeeded"
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    assert len(results) > 10 and set(results) == {200}, Counter(results)
    status, _, body = call(served.uri, {"x": 3}, served.key, headers={"azureml-model-deployment": "blue"})
    assert json.loads(body)["tag"] == "" and served.serve.state(WS, "ep")["deployments"]["blue"]["instances"] == 2


def test_a_crashed_host_is_brought_back_by_supervision_on_the_same_uri(served):
    folder = served.serve.folder(WS, "ep")
    host = served.serve.state(WS, "ep")["pid"]
    servers = _server_pids(folder, "blue") + _server_pids(folder, "green")
    os.kill(host, signal.SIGKILL)
    for pid in servers:  # as a reboot would
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while serving.host_alive(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(OSError):  # nothing serves the endpoint now
        call(served.uri, {"x": 4}, served.key, timeout=2)
    served.serve.supervise()
    assert wait_for(served.serve, "ep", "blue") == "Succeeded"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if call(served.uri, {"x": 4}, served.key, timeout=5)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    assert call(served.uri, {"x": 4}, served.key)[0] == 200


def _server_pids(folder: Path, deployment: str) -> list[int]:
    """The scoring server processes of a deployment (their own session: pid == process group)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            env_dir = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"azureml_inference_server_http.amlserver" in b" ".join(cmdline) and \
                env_dir.startswith(str(folder / "deployments" / deployment)) and os.getpgid(int(entry.name)) == int(entry.name):
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def solo(tmp_path):
    store = Store(tmp_path / "home")
    store.ensure_workspace(WS, "tester")
    serve = Serving(store.home)
    yield serve, store, tmp_path
    for endpoint in ("tok", "slow", "schema", "gone"):
        serve.delete_endpoint(WS, endpoint)
    store.close()


def test_request_settings_give_429_past_the_queue_wait_and_408_past_the_timeout(solo):
    serve, store, tmp = solo
    code = _code(store, tmp, "slow", ECHO)
    serve.put_endpoint(WS, "slow", {"authMode": "Key"})
    serve.put_deployment(WS, "slow", "blue", deployment(code, requestTimeout="PT1S", maxQueueWait="PT0.2S",
                                                        maxConcurrentRequestsPerInstance=1))
    assert wait_for(serve, "slow", "blue") == "Succeeded", serve.logs(WS, "slow", "blue")
    serve.put_endpoint(WS, "slow", {"authMode": "Key", "traffic": {"blue": 100}})
    serve._wait_applied(WS, "slow", serve.spec(WS, "slow")["generation"])
    uri, key = serve.endpoint_view(WS, "slow")["scoringUri"], serve.keys(WS, "slow")["primaryKey"]
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(call(uri, {"sleep": 0.6}, key)[0])) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 429, 429]
    start = time.monotonic()
    assert call(uri, {"sleep": 3}, key)[0] == 408
    assert time.monotonic() - start < 2


def test_aml_tokens_open_the_endpoint_until_they_expire(solo):
    serve, store, tmp = solo
    code = _code(store, tmp, "tok", ECHO)
    serve.put_endpoint(WS, "tok", {"authMode": "AMLToken"})
    serve.put_deployment(WS, "tok", "blue", deployment(code))
    assert wait_for(serve, "tok", "blue") == "Succeeded"
    serve.put_endpoint(WS, "tok", {"authMode": "AMLToken", "traffic": {"blue": 100}})
    serve._wait_applied(WS, "tok", serve.spec(WS, "tok")["generation"])
    uri = serve.endpoint_view(WS, "tok")["scoringUri"]
    short = serve.token(WS, "tok", lifetime=1.5)["accessToken"]
    assert call(uri, {"x": 1}, serve.token(WS, "tok")["accessToken"])[0] == 200
    assert call(uri, {"x": 1}, short)[0] == 200
    assert call(uri, {"x": 1}, serve.keys(WS, "tok")["primaryKey"])[0] == 401  # keys do not open a token endpoint
    time.sleep(1.6)
    assert call(uri, {"x": 1}, short)[0] == 401


def test_schema_scripts_refuse_malformed_json_with_400_and_failed_deployments_say_why(solo):
    serve, store, tmp = solo
    good = _code(store, tmp, "schema", SCHEMA)
    bad = _code(store, tmp, "broken", "def init():\n    raise OSError('no model here')\ndef run(data):\n    return data\n")
    serve.put_endpoint(WS, "schema", {"authMode": "Key"})
    serve.put_deployment(WS, "schema", "blue", deployment(good))
    serve.put_deployment(WS, "schema", "red", deployment(bad))
    assert wait_for(serve, "schema", "blue") == "Succeeded"
    assert wait_for(serve, "schema", "red") == "Failed"
    assert "no model here" in serve.deployment_error(WS, "schema", "red")
    serve.put_endpoint(WS, "schema", {"authMode": "Key", "traffic": {"blue": 100}})
    serve._wait_applied(WS, "schema", serve.spec(WS, "schema")["generation"])
    uri, key = serve.endpoint_view(WS, "schema")["scoringUri"], serve.keys(WS, "schema")["primaryKey"]
    assert json.loads(call(uri, {"data": [[1.0, 2.0], [3.0, 4.0]]}, key)[2]) == [3.0, 7.0]
    status, _, body = call(uri, key=key, raw=b'{"data": [[1.0, 2.0]')
    assert status == 400 and b"could not be decoded as JSON" in body
    swagger = json.loads(call(serve.endpoint_view(WS, "schema")["swaggerUri"], key=key, method="GET")[2])
    assert "data" in json.dumps(swagger["definitions"])


def test_delete_stops_every_server_and_frees_the_port(solo):
    serve, store, tmp = solo
    code = _code(store, tmp, "gone", ECHO)
    serve.put_endpoint(WS, "gone", {"authMode": "Key"})
    serve.put_deployment(WS, "gone", "blue", deployment(code, count=2))
    assert wait_for(serve, "gone", "blue") == "Succeeded"
    folder = serve.folder(WS, "gone")
    port = serve.state(WS, "gone")["port"]
    pids = _server_pids(folder, "blue")
    assert len(pids) == 2
    serve.put_deployment(WS, "gone", "green", deployment(code))
    assert wait_for(serve, "gone", "green") == "Succeeded"
    assert serve.delete_deployment(WS, "gone", "green") in ("Deleting", None)
    deadline = time.monotonic() + 10
    while serve.deployment_state(WS, "gone", "green") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serve.deployment_state(WS, "gone", "green") is None
    assert serve.delete_endpoint(WS, "gone") is False  # its host stops it: Deleting
    deadline = time.monotonic() + 15
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again
