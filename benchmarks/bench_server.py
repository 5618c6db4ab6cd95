"""`azml server` under load: concurrent keep-alive clients against GET and list routes, with concurrent PUTs.

Run: python benchmarks/bench_server.py [--clients 32] [--writers 4] [--duration 10] [--requests 20000]
                                       [--processes 2] [--rate 1000] [--put-rate 100]

Loopback only, bounded: every client stops after `--requests` requests or `--duration` seconds, whichever comes
first. A fresh home gets a detached server (`azureml_v2.local.api.server.start`, the code behind `azml server start`),
seeded with one data asset of 20 versions; readers (reader token) spread over get-version, list-versions and
list-containers, writers (contributor token) PUT new data versions. Two runs: every client as fast as it is
answered (throughput), then paced on a fixed schedule at the goal rate (latency at that rate). The client threads
are spread over `--processes` worker processes so that the load generator's GIL does not cap the figures; they
share the server's CPUs. Goal: >= 1,000 GET/s on 2 cores, p99 < 50 ms, 0 errors. Results go to
benchmarks/results/server-<UTC>.json. `measure()` gives benchmarks/run.py its figure.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2.local.api import server
from azureml_v2._contract import API_VERSION
from azureml_v2.local.core.workspace import workspace_id

WS = workspace_id("local")
Q = f"?api-version={API_VERSION}"
SEED_VERSIONS = 20
READS = {  # route -> path; readers take them in turn
    "get": f"{WS}/data/bench/versions/{{n}}{Q}",
    "list versions": f"{WS}/data/bench/versions{Q}",
    "list containers": f"{WS}/data{Q}",
}


def data_body(n) -> bytes:
    return json.dumps({"properties": {"dataType": "uri_file", "dataUri": f"azureml://datastores/x/paths/f{n}.csv",
                                      "tags": {"n": str(n)}}}).encode()


def request(conn: http.client.HTTPConnection, method: str, path: str, token: str, body: bytes | None = None):
    """One request on a keep-alive connection -> (status, response body)."""
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _client(endpoint: str, token: str, index: int, writer: bool, deadline: float, requests: int,
            interval: float) -> dict:
    """One client: requests until `requests` are answered or the deadline passes -> its latencies and errors.
    With an `interval`, one request per interval on a fixed schedule, the latency counted from its scheduled
    time (a late start counts against the server, no coordinated omission)."""
    parts = urlsplit(endpoint)
    start = time.perf_counter() + interval * (index % 32) / 32  # paced clients spread their phases
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    sent = 0
    try:
        while sent < requests and time.monotonic() < deadline:
            if writer:
                route, method, body = "put", "PUT", data_body(sent)
                path = f"{WS}/data/w{index}/versions/{sent + 1}{Q}"
            else:
                route = list(READS)[(index + sent) % len(READS)]
                method, body = "GET", None
                path = READS[route].format(n=(index + sent) % SEED_VERSIONS + 1)
            began = time.perf_counter()
            if interval:
                began = start + sent * interval
                time.sleep(max(0.0, began - time.perf_counter()))
            sent += 1
            try:
                status, _ = request(conn, method, path, token, body)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{route}: {type(exc).__name__}: {exc}")
                conn.close()  # a new connection for the next request
                continue
            latencies.setdefault(route, []).append(time.perf_counter() - began)
            if not 200 <= status < 300:
                errors.append(f"{route}: HTTP {status}")
    finally:
        conn.close()
    return {"sent": sent, "latencies": latencies, "errors": errors}


def _clients(endpoint: str, tokens: dict, specs: list[tuple[int, bool]], deadline: float, requests: int,
             intervals: tuple[float, float]) -> list:
    """Run `specs` (index, writer) as threads in this process; `intervals`: (reader's, writer's)."""
    results: list = [None] * len(specs)

    def run(slot, index, writer):
        results[slot] = _client(endpoint, tokens["writer" if writer else "reader"], index, writer, deadline,
                                requests, intervals[writer])

    threads = [threading.Thread(target=run, args=(slot, *spec)) for slot, spec in enumerate(specs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def load(endpoint: str, tokens: dict, *, clients: int = 32, writers: int = 4, duration: float = 10.0,
         requests: int = 20000, processes: int = 1, rate: float | None = None,
         put_rate: float | None = None) -> dict:
    """`clients` readers and `writers` writers at once, each for at most `requests` requests or `duration`
    seconds -> figures per route ({"routes": {route: {...}}, "sent", "answered", "errors", "wall"}).
    `tokens` has a "reader" and a "writer" token. With `rate`, the readers together send that many GETs per
    second on a fixed schedule (else each as fast as it is answered); `put_rate` paces the writers so."""
    intervals = (clients / rate if rate else 0.0, writers / put_rate if put_rate else 0.0)
    specs = [(i, False) for i in range(clients)] + [(i, True) for i in range(writers)]
    began = time.monotonic()
    deadline = began + duration
    if processes <= 1:
        results = _clients(endpoint, tokens, specs, deadline, requests, intervals)
    else:
        with ProcessPoolExecutor(processes) as pool:
            # workers start before the clock matters: the deadline is shared, the spawn time not counted
            futures = [pool.submit(_clients, endpoint, tokens, specs[p::processes], deadline, requests,
                                   intervals)
                       for p in range(processes)]
            results = [r for f in futures for r in f.result()]
    wall = time.monotonic() - began
    routes: dict[str, list[float]] = {}
    for r in results:
        for route, values in r["latencies"].items():
            routes.setdefault(route, []).extend(values)
    errors = [e for r in results for e in r["errors"]]
    answered = sum(len(v) for v in routes.values())
    figures = {route: {"count": len(v), "per_s": len(v) / wall, **_percentiles(v)} for route, v in routes.items()}
    gets = [x for route, v in routes.items() if route != "put" for x in v]
    figures["all GETs"] = {"count": len(gets), "per_s": len(gets) / wall, **_percentiles(gets)}
    return {"routes": figures, "sent": sum(r["sent"] for r in results), "answered": answered,
            "errors": errors, "wall": wall}


def _percentiles(values: list[float]) -> dict:
    if len(values) < 2:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "max_ms": max(values) * 1000}


def seed(endpoint: str, token: str) -> None:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    for n in range(1, SEED_VERSIONS + 1):
        status, body = request(conn, "PUT", f"{WS}/data/bench/versions/{n}{Q}", token, data_body(n))
        if status not in (200, 201):
            raise RuntimeError(f"seeding failed: HTTP {status} {body[:200]!r}")
    conn.close()


def table(result: dict) -> str:
    lines = [f"{'route':<16} {'requests':>9} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for route, f in result["routes"].items():
        cells = [f"{f[k]:7.1f}" if f[k] is not None else "    n/a" for k in ("p50_ms", "p99_ms", "max_ms")]
        lines.append(f"{route:<16} {f['count']:>9} {f['per_s']:>8.0f} {' '.join(cells)}")
    lines.append(f"sent {result['sent']}, answered {result['answered']}, errors {len(result['errors'])}, "
                 f"wall {result['wall']:.1f} s")
    lines += [f"  error: {e}" for e in result["errors"][:10]]
    return "\n".join(lines)


@contextmanager
def served():
    """A detached server over a fresh, seeded home -> (endpoint, {"writer": token, "reader": token})."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        home = Path(tmp)
        state, _ = server.start(home)
        try:
            tokens = {"writer": server.ensure_token(home)[0], "reader": server.ensure_token(home, server.READER)[0]}
            seed(state["endpoint"], tokens["writer"])
            yield state["endpoint"], tokens
        finally:
            server.stop(home)


def measure(quick: bool = False, runs: int = 5) -> dict:
    """For benchmarks/run.py: GET/s of 32 readers + 4 writers as fast as answered, `runs` runs after a warm-up
    -> {"get_per_second": [...], "note": p99 and errors}."""
    duration = 1.0 if quick else 3.0
    with served() as (endpoint, tokens):
        load(endpoint, tokens, duration=1.0, processes=2)
        results = [load(endpoint, tokens, duration=duration, processes=2) for _ in range(runs)]
    p99 = statistics.median(r["routes"]["all GETs"]["p99_ms"] for r in results)
    errors = sum(len(r["errors"]) for r in results)
    return {"get_per_second": [r["routes"]["all GETs"]["per_s"] for r in results],
            "note": f"32 readers + 4 writers, {duration:g} s per run; GET p99 {p99:.1f} ms (median), {errors} errors"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="reading clients (default 32)")
    parser.add_argument("--writers", type=int, default=4, help="writing clients (default 4)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at most (default 10)")
    parser.add_argument("--requests", type=int, default=20000, help="requests per client at most (default 20000)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="GET/s of the paced run (default 1000, the goal; 0 skips it)")
    parser.add_argument("--put-rate", type=float, default=100.0, help="PUT/s of the paced run (default 100)")
    args = parser.parse_args()
    runs = {"as fast as answered": (None, None),
            f"paced at {args.rate:.0f} GET/s + {args.put_rate:.0f} PUT/s": (args.rate, args.put_rate)}
    with served() as (endpoint, tokens):
        results = {name: load(endpoint, tokens, clients=args.clients, writers=args.writers, duration=args.duration,
                              requests=args.requests, processes=args.processes, rate=rate, put_rate=put_rate)
                   for name, (rate, put_rate) in runs.items() if rate != 0}
    print(f"azml server, {args.clients} readers + {args.writers} writers, {os.cpu_count()} CPUs, "
          f"threads {server.SERVER_OPTIONS['threads']}, load generator on the same CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, result in results.items():
        print(f"\n{name}:\n{table(result)}")
    out = ROOT / "benchmarks" / "results" / f"server-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                               "server_options": server.SERVER_OPTIONS, "runs": results}, indent=2))
    print(f"\nwritten {out}")
    errors = sum(len(r["errors"]) for r in results.values())
    for name, result in results.items():
        gets = result["routes"]["all GETs"]
        # a paced run sends its rate and no more: within 1% of it is the rate reached
        floor = 1000 if runs[name][0] is None else min(1000.0, 0.99 * runs[name][0])
        met = gets["per_s"] >= floor and (gets["p99_ms"] or 0) < 50 and not errors
        print(f"goal (>= 1,000 GET/s, p99 < 50 ms, 0 errors), {name}: {gets['per_s']:.0f} GET/s, "
              f"p99 {gets['p99_ms']:.1f} ms, {len(result['errors'])} errors: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
