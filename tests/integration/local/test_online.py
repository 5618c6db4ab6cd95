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

from support.local import Client

from azureml_v2.local import make_app
from azureml_v2.local.core import endpoints, serving
from azureml_v2.local.core.processes import process_alive
from azureml_v2.local.core.workspace import workspace_id

pytestmark = pytest.mark.integration
WS = "local"
WS_ID = workspace_id(WS)

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


class Local:
    """The local workspace in-process (run_jobs: endpoints are served), with helpers named as az ml's verbs."""

    def __init__(self, home: Path, tmp: Path):
        self.app = make_app(home, user="tester")
        self.client, self.tmp = Client(self.app), tmp
        # an image without a conda file runs on this machine's Python, which has the scoring server
        image = {"properties": {"image": "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"}}
        assert self.client.put("/environments/host/versions/1", image).status in (200, 201)
        self.environment_id = f"{WS_ID}/environments/host/versions/1"

    def code(self, name: str, script: str) -> str:
        folder = self.tmp / "code" / name
        folder.mkdir(parents=True)
        (folder / "score.py").write_text(textwrap.dedent(script))
        assert self.client.put(f"/codes/{name}/versions/1", {"properties": {"codeUri": str(folder)}}).status == 201
        return f"{WS_ID}/codes/{name}/versions/1"

    def model(self) -> str:
        folder = self.tmp / "model" / "model"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weights.txt").write_text("42")
        body = {"properties": {"modelUri": str(folder), "modelType": "custom_model"}}
        assert self.client.put("/models/tiny/versions/3", body).status in (200, 201)
        return f"{WS_ID}/models/tiny/versions/3"

    def endpoint(self, name: str, auth: str = "Key", traffic: dict | None = None, mirror: dict | None = None):
        props = {"authMode": auth, **({"traffic": traffic} if traffic is not None else {}),
                 **({"mirrorTraffic": mirror} if mirror is not None else {})}
        response = self.client.put(f"/onlineEndpoints/{name}", {"location": "local", "properties": props})
        assert response.status in (200, 201), response.json
        self.wait(f"/onlineEndpoints/{name}")

    def deploy(self, endpoint: str, name: str, code: str, model: str, count: int = 1, tag: str = "blue",
               wait: bool = True, **settings) -> str:
        props = {"endpointComputeType": "Managed", "model": model, "environmentVariables": {"TAG": tag},
                 "environmentId": self.environment_id, "codeConfiguration": {"codeId": code, "scoringScript": "score.py"}}
        if settings:
            props["requestSettings"] = settings
        body = {"location": "local", "sku": {"name": "Default", "capacity": count}, "properties": props}
        response = self.client.put(f"/onlineEndpoints/{endpoint}/deployments/{name}", body)
        assert response.status in (200, 201), response.json
        return self.wait(f"/onlineEndpoints/{endpoint}/deployments/{name}") if wait else \
            response.json["properties"]["provisioningState"]

    def wait(self, path: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.client.get(path).json["properties"]["provisioningState"]
            if state in ("Succeeded", "Failed"):
                return state
            time.sleep(0.05)
        raise AssertionError(f"{path} is still {state}")

    def show(self, path: str) -> dict:
        return self.client.get(path).json

    def keys(self, endpoint: str) -> dict:
        return self.client.post(f"/onlineEndpoints/{endpoint}/listKeys").json

    def logs(self, endpoint: str, name: str, container: str = "InferenceServer") -> str:
        return self.client.call("POST", f"/onlineEndpoints/{endpoint}/deployments/{name}/getLogs",
                                {"containerType": container}).json["content"]

    def delete(self, path: str, timeout: float = 30) -> None:
        response = self.client.delete(path)
        if response.status == 204:
            return
        assert response.status == 202, response.json
        deadline = time.monotonic() + timeout
        while self.client.get(path).status != 404:
            assert time.monotonic() < deadline, f"{path} was not deleted"
            time.sleep(0.05)

    def folder(self, endpoint: str) -> Path:
        return serving.endpoint_folder(self.app.store.home, WS, "online", endpoint)

    def state(self, endpoint: str) -> dict:
        return serving.read_json(self.folder(endpoint) / "state.json")

    def close(self) -> None:
        self.app.close()


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
    local = Local(tmp / "home", tmp)
    try:
        local.code_id, local.model_id = local.code("echo", ECHO), local.model()
        local.endpoint("my-ep")
        for name in ("blue", "green"):
            assert local.deploy("my-ep", name, local.code_id, local.model_id, tag=name) == "Succeeded", \
                local.logs("my-ep", name)
        local.endpoint("my-ep", traffic={"blue": 90, "green": 10})
        local.uri = local.show("/onlineEndpoints/my-ep")["properties"]["scoringUri"]
        local.key = local.keys("my-ep")["primaryKey"]
        yield local
    finally:
        local.delete("/onlineEndpoints/my-ep")
        local.close()


def test_scores_with_the_model_laid_out_as_azure_ml_does(served):
    props = served.show("/onlineEndpoints/my-ep")["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert urlsplit(props["scoringUri"]).hostname == "127.0.0.1" and props["scoringUri"].endswith("/score")
    status, headers, body = call(served.uri, {"x": 7}, served.key, headers={"azureml-model-deployment": "green"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["tag"] == "green" and answer["echo"] == 7 and headers["azureml-model-deployment"] == "green"
    model_dir = Path(answer["model_dir"])
    assert model_dir.parts[-3:] == ("azureml-models", "tiny", "3")
    assert (model_dir / "model" / "weights.txt").read_text() == "42"
    status, _, body = call(props["swaggerUri"], key=served.key, method="GET")
    assert status == 200 and json.loads(body)["swagger"] == "2.0"
    assert "environment" in served.logs("my-ep", "green", "StorageInitializer")


def test_auth_refuses_missing_and_wrong_keys_and_an_old_key_after_regenerate(served):
    assert call(served.uri, {"x": 1})[0] == 401
    assert call(served.uri, {"x": 1}, "wrong")[0] == 401
    assert call(served.uri, {"x": 1}, headers={"Authorization": served.key})[0] == 401
    keys = served.keys("my-ep")
    assert call(served.uri, {"x": 1}, keys["secondaryKey"])[0] == 200
    response = served.client.call("POST", "/onlineEndpoints/my-ep/regenerateKeys", {"keyType": "Secondary"})
    assert response.status == 202
    assert call(served.uri, {"x": 1}, keys["secondaryKey"])[0] == 401
    assert call(served.uri, {"x": 1}, served.keys("my-ep")["secondaryKey"])[0] == 200


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
    assert "the scoring script refused: bad-row-17" in served.logs("my-ep", "blue")


def test_kill_9_of_a_server_gives_fast_502_or_503_then_it_is_restarted(served):
    deadline = time.monotonic() + 60
    while served.state("my-ep")["deployments"]["green"]["spare"] is None:  # its warm spare is ready
        assert time.monotonic() < deadline, served.logs("my-ep", "green")
        time.sleep(0.1)
    instances = served.state("my-ep")["deployments"]["green"]["instances"]
    assert len(instances) == 1
    pids = _server_pids(served.folder("my-ep"), "green")
    assert instances[0] in pids
    target = {"azureml-model-deployment": "green"}
    os.kill(instances[0], signal.SIGKILL)
    killed = time.monotonic()
    statuses = []
    while True:  # until the restarted server answers
        start = time.monotonic()
        status, _, _ = call(served.uri, {"x": 1}, served.key, headers=target, timeout=10)
        assert time.monotonic() - start < 3, "a request during the restart hung"
        statuses.append(status)
        assert status in (200, 502, 503), status
        if status == 200 and "instance 0 restarted" in served.logs("my-ep", "green"):
            break
        assert time.monotonic() - killed < 5, f"not served again within 5 s: {statuses}"
        time.sleep(0.02)
    assert f"instance 0 (pid {instances[0]}) exited with code -9: restarting it" in served.logs("my-ep", "green")
    replaced = served.state("my-ep")["deployments"]["green"]["instances"]
    assert replaced != instances
    # killed again before a new spare is ready: the instance itself is restarted (slower: a server boots)
    os.kill(replaced[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (status := call(served.uri, {"x": 1}, served.key, headers=target, timeout=10)[0]) != 200 or \
            served.state("my-ep")["deployments"]["green"]["instances"] == replaced:
        assert status in (200, 502, 503) and time.monotonic() < deadline, status
        time.sleep(0.05)


def test_mirrored_requests_reach_the_shadow_and_their_answers_are_dropped(served):
    served.endpoint("my-ep", traffic={"blue": 100, "green": 0}, mirror={"green": 50})
    before = served.logs("my-ep", "green").count("POST /score 200")
    for _ in range(20):
        status, headers, _ = call(served.uri, {"x": 2}, served.key)
        assert status == 200 and headers["azureml-model-deployment"] == "blue"
    deadline = time.monotonic() + 5
    while served.logs("my-ep", "green").count("POST /score 200") - before < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.logs("my-ep", "green").count("POST /score 200") - before == 10
    served.endpoint("my-ep", traffic={"blue": 90, "green": 10}, mirror={})


def test_an_update_switches_to_new_servers_without_a_failed_request(served):
    results, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            results.append(call(served.uri, {"x": 3}, served.key, headers={"azureml-model-deployment": "blue"})[0])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.3)
        code = served.code("echo2", ECHO)
        assert served.deploy("my-ep", "blue", code, served.model_id, count=2, tag="v2", wait=False) == "Updating"
        assert served.wait("/onlineEndpoints/my-ep/deployments/blue") == "Succeeded"
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    assert len(results) > 10 and set(results) == {200}, Counter(results)
    status, _, body = call(served.uri, {"x": 3}, served.key, headers={"azureml-model-deployment": "blue"})
    assert json.loads(body)["tag"] == "v2" and len(served.state("my-ep")["deployments"]["blue"]["instances"]) == 2


def test_a_crashed_host_is_brought_back_by_supervision_on_the_same_uri(served):
    folder = served.folder("my-ep")
    servers = _server_pids(folder, "blue") + _server_pids(folder, "green")
    served.app.close()  # no supervision while the host is down
    os.kill(served.state("my-ep")["pid"], signal.SIGKILL)
    for pid in servers:  # as a reboot would
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while serving.host_alive(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(OSError):  # nothing serves the endpoint now
        call(served.uri, {"x": 4}, served.key, timeout=2)
    served.app = make_app(served.app.store.home, user="tester")  # the next access supervises
    served.client.app = served.app
    deadline = time.monotonic() + 30
    while True:
        try:
            if call(served.uri, {"x": 4}, served.key, timeout=5)[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, served.logs("my-ep", "blue")
        time.sleep(0.1)
    assert served.show("/onlineEndpoints/my-ep")["properties"]["scoringUri"] == served.uri


def _server_pids(folder: Path, deployment: str) -> list[int]:
    """The scoring server processes of a deployment (their own session: pid == process group)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"azureml_inference_server_http.amlserver" in b" ".join(cmdline) and \
                cwd.startswith(str(folder / "deployments" / deployment)) and os.getpgid(int(entry.name)) == int(entry.name):
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def solo(tmp_path):
    local = Local(tmp_path / "home", tmp_path)
    local.model_id = local.model()
    yield local
    for endpoint in ("tok-ep", "slow", "schema", "gone-ep"):
        local.delete(f"/onlineEndpoints/{endpoint}")
    local.close()


def test_request_settings_give_429_past_the_queue_wait_and_408_past_the_timeout(solo):
    solo.endpoint("slow")
    assert solo.deploy("slow", "blue", solo.code("slow", ECHO), solo.model_id, requestTimeout="PT1S",
                       maxQueueWait="PT0.2S", maxConcurrentRequestsPerInstance=1) == "Succeeded"
    solo.endpoint("slow", traffic={"blue": 100})
    uri, key = solo.show("/onlineEndpoints/slow")["properties"]["scoringUri"], solo.keys("slow")["primaryKey"]
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


def test_aml_tokens_open_the_endpoint_until_they_expire(solo, monkeypatch):
    solo.endpoint("tok-ep", auth="AMLToken")
    assert solo.deploy("tok-ep", "blue", solo.code("tok-ep", ECHO), solo.model_id) == "Succeeded"
    solo.endpoint("tok-ep", auth="AMLToken", traffic={"blue": 100})
    uri = solo.show("/onlineEndpoints/tok-ep")["properties"]["scoringUri"]
    token = solo.client.post("/onlineEndpoints/tok-ep/token").json
    assert token["tokenType"] == "Bearer" and token["expiryTimeUtc"] > time.time() + 3000
    assert call(uri, {"x": 1}, token["accessToken"])[0] == 200
    monkeypatch.setattr(endpoints, "TOKEN_LIFETIME", 1)
    short = solo.client.post("/onlineEndpoints/tok-ep/token").json["accessToken"]
    assert call(uri, {"x": 1}, short)[0] == 200
    assert call(uri, {"x": 1}, "a.forged-token")[0] == 401
    time.sleep(2.1)
    assert call(uri, {"x": 1}, short)[0] == 401
    assert call(uri, {"x": 1}, token["accessToken"])[0] == 200


def test_schema_scripts_refuse_malformed_json_with_400_and_failed_deployments_say_why(solo):
    good = solo.code("schema", SCHEMA)
    bad = solo.code("broken", "def init():\n    raise OSError('no model here')\ndef run(data):\n    return data\n")
    solo.endpoint("schema")
    assert solo.deploy("schema", "blue", good, solo.model_id) == "Succeeded"
    put = solo.client.put("/onlineEndpoints/schema/deployments/red", {
        "location": "local", "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "model": solo.model_id, "environmentId": solo.environment_id,
                       "codeConfiguration": {"codeId": bad, "scoringScript": "score.py"}}})
    assert solo.wait("/onlineEndpoints/schema/deployments/red") == "Failed"
    status = solo.client.get(put.headers["Azure-AsyncOperation"]).json
    assert status["status"] == "Failed" and "no model here" in status["error"]["message"]
    solo.endpoint("schema", traffic={"blue": 100})
    props = solo.show("/onlineEndpoints/schema")["properties"]
    key = solo.keys("schema")["primaryKey"]
    assert json.loads(call(props["scoringUri"], {"data": [[1.0, 2.0], [3.0, 4.0]]}, key)[2]) == [3.0, 7.0]
    status, _, body = call(props["scoringUri"], key=key, raw=b'{"data": [[1.0, 2.0]')
    assert status == 400 and b"could not be decoded as JSON" in body
    swagger = json.loads(call(props["swaggerUri"], key=key, method="GET")[2])
    assert "data" in json.dumps(swagger["definitions"])


def test_delete_stops_every_server_and_frees_the_port(solo):
    code = solo.code("gone-ep", ECHO)
    solo.endpoint("gone-ep")
    assert solo.deploy("gone-ep", "blue", code, solo.model_id, count=2) == "Succeeded"
    folder = solo.folder("gone-ep")
    port = solo.state("gone-ep")["port"]
    pids = _server_pids(folder, "blue")
    assert set(solo.state("gone-ep")["deployments"]["blue"]["instances"]) <= set(pids)
    assert solo.deploy("gone-ep", "green", code, solo.model_id) == "Succeeded"
    green = _server_pids(folder, "green")
    solo.delete("/onlineEndpoints/gone-ep/deployments/green")
    assert not any(process_alive(pid) for pid in green)
    solo.delete("/onlineEndpoints/gone-ep")
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert not any(process_alive(pid) for pid in pids)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again
