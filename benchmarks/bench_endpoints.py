"""Online endpoints on the local workspace: the router's cost, instance scaling, and create -> first answer.

Run: python benchmarks/bench_endpoints.py [--requests 2000] [--duration 5] [--clients 4]

Three figures, on a fresh home (the environment is this machine's Python: an image without a conda file, cached
after the first deployment):

- latency and throughput through the endpoint's router vs calling the same azureml-inference-server-http instance
  directly (and the router process's CPU time per request, which a busy machine does not inflate), for a trivial score.py and for the corpus's model-1 sklearn model (../shared/corpus): p50/p99 of
  `--requests` sequential requests (one keep-alive connection to the router; a new connection per request to the
  server, whose gunicorn sync worker closes each one), and requests/s of `--clients` client threads for `--duration`
  seconds. Goals: router overhead <= 0.5 ms at p50, throughput >= 0.9x direct.
- a CPU-bound score.py (about 20 ms of Python per request) at instance_count 2 vs 1, requests/s with 4 clients and
  max_concurrent_requests_per_instance 1. Goal: >= 1.6x on 2 cores.
- endpoint + deployment create -> first successful invoke, with the environment already built. Goal: <= 5 s.

The figures go to benchmarks/results/endpoints-<UTC>.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2.local import make_app  # noqa: E402
from azureml_v2.local.core import serving  # noqa: E402
from azureml_v2.local.core.workspace import workspace_id  # noqa: E402

WS_ID = workspace_id("local")
SHARED = Path(os.environ.get("AZUREML_V2_SHARED") or ROOT.parent / "shared")
MODEL_1 = SHARED / "corpus/azureml-examples/cli/endpoints/online/model-1"
TRIVIAL = "def init():\n    pass\ndef run(raw_data):\n    return raw_data\n"
CPU_BOUND = textwrap.dedent("""
    def init():
        pass
    def run(raw_data):
        total = 0
        for i in range(400_000):
            total += i * i
        return total
""")
IMAGE = {"properties": {"image": "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"}}


class Workspace:
    """A fresh local workspace in-process, served endpoints (its app supervises their hosts)."""

    def __init__(self, home: Path):
        from support.local import Client  # the tests' in-process client
        self.home, self.app = home, make_app(home, user="bench")
        self.client = Client(self.app)
        self._put("/environments/host/versions/1", IMAGE)

    def _put(self, path: str, body: dict) -> dict:
        response = self.client.put(path, body)
        assert response.status in (200, 201), response.json
        return response.json

    def wait(self, path: str) -> str:
        while (state := self.client.get(path).json["properties"]["provisioningState"]) not in ("Succeeded", "Failed"):
            time.sleep(0.02)
        return state

    def deploy(self, endpoint: str, name: str, script: str, count: int = 1, model: Path | None = None,
               code: Path | None = None, script_name: str = "score.py") -> tuple[str, str]:
        """An endpoint with one deployment taking all traffic -> (scoring URI, key)."""
        if code is None:
            code = self.home.parent / f"code-{endpoint}-{name}"
            code.mkdir(parents=True, exist_ok=True)
            (code / script_name).write_text(script)
        self._put(f"/codes/{endpoint}-{name}/versions/1", {"properties": {"codeUri": str(code)}})
        model_dir = model or self.home.parent / "model"
        model_dir.mkdir(exist_ok=True)
        self._put(f"/models/{endpoint}-{name}/versions/1", {"properties": {"modelUri": str(model_dir)}})
        self._put(f"/onlineEndpoints/{endpoint}", {"location": "local", "properties": {"authMode": "Key"}})
        self.wait(f"/onlineEndpoints/{endpoint}")
        self._put(f"/onlineEndpoints/{endpoint}/deployments/{name}", {
            "location": "local", "sku": {"name": "Default", "capacity": count},
            "properties": {"endpointComputeType": "Managed", "model": f"{WS_ID}/models/{endpoint}-{name}/versions/1",
                           "environmentId": f"{WS_ID}/environments/host/versions/1",
                           "codeConfiguration": {"codeId": f"{WS_ID}/codes/{endpoint}-{name}/versions/1",
                                                 "scoringScript": script_name},
                           "requestSettings": {"requestTimeout": "PT60S", "maxQueueWait": "PT60S"}}})
        assert self.wait(f"/onlineEndpoints/{endpoint}/deployments/{name}") == "Succeeded"
        self._put(f"/onlineEndpoints/{endpoint}", {"location": "local",
                                                   "properties": {"authMode": "Key", "traffic": {name: 100}}})
        self.wait(f"/onlineEndpoints/{endpoint}")
        uri = self.client.get(f"/onlineEndpoints/{endpoint}").json["properties"]["scoringUri"]
        return uri, self.client.post(f"/onlineEndpoints/{endpoint}/listKeys").json["primaryKey"]

    def instance_port(self, endpoint: str, name: str) -> int:
        """The port of the deployment's first instance (to call the scoring server directly)."""
        state = serving.read_json(serving.endpoint_folder(self.home, "local", "online", endpoint) / "state.json")
        pid = state["deployments"][name]["instances"][0]
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return int(argv[argv.index(b"--port") + 1])

    def close(self) -> None:
        for endpoint in [e["name"] for e in self.client.get("/onlineEndpoints").json["value"]]:
            self.client.delete(f"/onlineEndpoints/{endpoint}")
        self.app.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _post(conn: http.client.HTTPConnection, body: bytes, key: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn.request("POST", "/score", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"answer {response.status}")
    return response.status


def latency(port: int, key: str | None, body: bytes, n: int, keep_alive: bool) -> tuple[float, float]:
    """p50 and p99 in ms of `n` sequential requests."""
    times = []
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(n + 20):
        if not keep_alive:
            conn = http.client.HTTPConnection("127.0.0.1", port)
        start = time.perf_counter()
        _post(conn, body, key)
        times.append((time.perf_counter() - start) * 1000)
        if not keep_alive:
            conn.close()
    times = sorted(times[20:])
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def throughput(port: int, key: str | None, body: bytes, clients: int, duration: float, keep_alive: bool) -> float:
    counts = [0] * clients
    stop = time.monotonic() + duration

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.monotonic() < stop:
            if not keep_alive:
                conn = http.client.HTTPConnection("127.0.0.1", port)
            _post(conn, body, key)
            counts[i] += 1
            if not keep_alive:
                conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / duration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    results = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        try:
            cases = [("trivial", TRIVIAL, None, None, b'{"x": 1}')]
            if MODEL_1.is_dir():
                cases.append(("model-1", None, MODEL_1 / "model", MODEL_1 / "onlinescoring",
                              (MODEL_1 / "sample-request.json").read_bytes()))
            for name, script, model, code, body in cases:
                uri, key = ws.deploy(f"bench-{name}", "blue", script, model=model, code=code)
                router = int(uri.split(":")[2].split("/")[0])
                direct = ws.instance_port(f"bench-{name}", "blue")
                row = {}
                host = serving.read_json(serving.endpoint_folder(ws.home, "local", "online", f"bench-{name}")
                                         / "state.json")["pid"]
                cpu = _cpu_seconds(host)
                row["router p50 ms"], row["router p99 ms"] = latency(router, key, body, args.requests, True)
                row["router CPU per request ms"] = (_cpu_seconds(host) - cpu) * 1000 / (args.requests + 20)
                row["direct p50 ms"], row["direct p99 ms"] = latency(direct, None, body, args.requests, False)
                row["router req/s"] = throughput(router, key, body, args.clients, args.duration, True)
                row["direct req/s"] = throughput(direct, None, body, args.clients, args.duration, False)
                row["overhead p50 ms"] = row["router p50 ms"] - row["direct p50 ms"]
                row["throughput ratio"] = row["router req/s"] / row["direct req/s"]
                results[name] = row
                print(name, json.dumps({k: round(v, 3) for k, v in row.items()}), flush=True)
            scaling = {}
            for count in (1, 2):
                uri, key = ws.deploy(f"bench-cpu-{count}", "blue", CPU_BOUND, count=count)
                port = int(uri.split(":")[2].split("/")[0])
                throughput(port, key, b"{}", 4, 1.0, True)  # warm-up
                scaling[count] = throughput(port, key, b"{}", 4, args.duration, True)
            results["cpu-bound req/s"] = {"1 instance": scaling[1], "2 instances": scaling[2],
                                          "ratio": scaling[2] / scaling[1]}
            print("cpu-bound", json.dumps(results["cpu-bound req/s"]), flush=True)
            start = time.perf_counter()
            uri, key = ws.deploy("bench-create", "blue", TRIVIAL)
            conn = http.client.HTTPConnection("127.0.0.1", int(uri.split(":")[2].split("/")[0]))
            _post(conn, b'{"x": 1}', key)
            results["create -> first answer s"] = time.perf_counter() - start
            print("create -> first answer s", round(results["create -> first answer s"], 2), flush=True)
        finally:
            ws.close()
    out = ROOT / "benchmarks" / "results" / f"endpoints-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
