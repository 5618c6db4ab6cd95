"""The async client (azureml_v2.aio.MLClient) against the sync one, on the same workspace.

Run: python benchmarks/bench_aio.py [--requests 400] [--runs 5] [--concurrency 16]

- served: a local workspace served by waitress (8 threads, as `azml server`) in another process, on loopback; `--requests`
  `environments.get` calls made (a) one after another by MLClient, (b) by MLClient from `--concurrency` threads,
  (c) by aio.MLClient, `--concurrency` at a time in one event loop. Requests/s and the client process's CPU time
  per request (what a busy machine inflates least).
- in-process: the cost of one `environments.get` on MLClient.local vs aio.MLClient.local (the greenlet bridge and
  the worker thread the in-process async transport answers in), per call, sequential.

Each figure is the median of `--runs` runs after a warm-up. The figures go to benchmarks/results/aio-<UTC>.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2 import MLClient  # noqa: E402
from azureml_v2 import aio  # noqa: E402
from azureml_v2.entities.assets import Environment  # noqa: E402

NAMES = [f"env-{i}" for i in range(20)]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, requests: int) -> tuple[float, float]:
    """(requests/s, client CPU ms per request) of fn()."""
    cpu, start = _cpu(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    return requests / wall, 1000 * cpu / requests


SERVER = """
import logging, sys
from waitress.server import create_server
from azureml_v2.local import make_app
from azureml_v2.local.api.http import require_token
logging.getLogger("waitress").setLevel(logging.ERROR)
server = create_server(require_token(make_app(sys.argv[1], run_jobs=False), "bench"), host="127.0.0.1", port=0,
                       threads=8)
print(server.effective_port, flush=True)
server.run()
"""


def _serve(home: Path):
    """The workspace in `home` served by waitress in a process of its own (so the client's CPU time is its own)."""
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(home)], stdout=subprocess.PIPE, text=True,
                               cwd=ROOT)
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}"


def served(requests: int, runs: int, concurrency: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench-aio-"))
    server, endpoint = _serve(home)
    names = [NAMES[i % len(NAMES)] for i in range(requests)]
    try:
        sync = MLClient(endpoint=endpoint, credential="bench")
        for name in NAMES:
            sync.environments.create_or_update(Environment(name=name, version="1", image="python:3.11"))

        def sequential():
            for name in names:
                sync.environments.get(name, version="1")

        def threads():
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(lambda n: sync.environments.get(n, version="1"), names))

        async def gathered(client):
            limit = asyncio.Semaphore(concurrency)

            async def one(name):
                async with limit:
                    return await client.environments.get(name, version="1")

            await asyncio.gather(*(one(n) for n in names))

        loop = asyncio.new_event_loop()
        async_client = aio.MLClient(endpoint=endpoint, credential="bench")
        figures = {"sync, sequential": sequential, f"sync, {concurrency} threads": threads,
                   f"aio, {concurrency} at a time": lambda: loop.run_until_complete(gathered(async_client))}
        out = {}
        for label, fn in figures.items():
            fn()  # warm-up: connections, imports
            samples = [_timed(fn, requests) for _ in range(runs)]
            out[label] = {"requests_per_s": statistics.median(s[0] for s in samples),
                          "client_cpu_ms_per_request": statistics.median(s[1] for s in samples)}
        loop.run_until_complete(async_client.close())
        loop.close()
        sync.close()
        return out
    finally:
        server.terminate()
        server.wait()


def in_process(requests: int, runs: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench-aio-"))
    sync = MLClient.local(home)
    sync.environments.create_or_update(Environment(name="env", version="1", image="python:3.11"))

    async def sequential(client):
        for _ in range(requests):
            await client.environments.get("env", version="1")

    loop = asyncio.new_event_loop()
    async_client = aio.MLClient.local(home)
    figures = {"sync": lambda: [sync.environments.get("env", version="1") for _ in range(requests)],
               "aio": lambda: loop.run_until_complete(sequential(async_client))}
    out = {}
    for label, fn in figures.items():
        fn()
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - start)
        out[label] = {"us_per_call": 1e6 * statistics.median(walls) / requests}
    loop.run_until_complete(async_client.close())
    loop.close()
    sync.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    results = {"served": served(args.requests, args.runs, args.concurrency),
               "in_process": in_process(max(args.requests // 4, 50), args.runs),
               "python": sys.version.split()[0], "cpus": os.cpu_count(), "load": os.getloadavg()}
    print(f"{'figure':42} {'req/s':>8} {'client CPU ms/req':>18}")
    for label, figure in results["served"].items():
        print(f"served, {label:34} {figure['requests_per_s']:8.0f} {figure['client_cpu_ms_per_request']:18.2f}")
    for label, figure in results["in_process"].items():
        print(f"in-process get, {label:26} {figure['us_per_call']:8.0f} us/call")
    print(f"load average {results['load'][0]:.1f} on {results['cpus']} CPUs")
    out = ROOT / "benchmarks" / "results" / f"aio-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
