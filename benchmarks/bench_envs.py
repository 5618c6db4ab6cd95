"""Environments benchmark: cold build and cached prepare of a conda spec on the local workspace.

Run: python benchmarks/bench_envs.py [--spec examples/lightgbm/environment/conda.yml] [--runs 9] [--no-fresh-cache]

Figures:
- cold, empty uv cache: the first build on a machine (every wheel downloaded), uv's cache in a temporary folder;
- cold, warm uv cache: a new workspace home building a spec whose wheels uv already holds;
- cached, in process: `prepare` of a ready environment (what the runner pays per job);
- cached, fresh interpreter: `import azureml_v2.local.executors.envs` + `prepare`, timed inside a new `python` (what a
  runner process that has imported nothing else pays).
Cached figures are medians of --runs runs (min and max shown). Results go to benchmarks/results/envs-<UTC>.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2.local.executors.envs import prepare


def cold(spec: dict, home: Path, cache: Path | None) -> float:
    saved = os.environ.get("UV_CACHE_DIR")
    if cache is not None:
        os.environ["UV_CACHE_DIR"] = str(cache)
    try:
        start = time.perf_counter()
        env = prepare(spec, home, log=io.StringIO())
        seconds = time.perf_counter() - start
    finally:
        if cache is not None:
            os.environ.pop("UV_CACHE_DIR")
            if saved is not None:
                os.environ["UV_CACHE_DIR"] = saved
    assert not env.cached
    return seconds


def in_process(spec: dict, home: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert prepare(spec, home, log=io.StringIO()).cached
        times.append(time.perf_counter() - start)
    return times


def fresh_interpreter(spec: dict, home: Path, runs: int) -> list[float]:
    """Time of `import azureml_v2.local.executors.envs` + `prepare`, measured inside a new interpreter each run."""
    code = f"""
import time
start = time.perf_counter()
import io
from pathlib import Path
from azureml_v2.local.executors.envs import prepare
assert prepare({spec!r}, Path({str(home)!r}), log=io.StringIO()).cached
print(time.perf_counter() - start)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [float(subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True,
                                 text=True).stdout) for _ in range(runs)]


def row(label: str, times: list[float]) -> tuple[str, str, str, str]:
    if len(times) == 1:
        return label, f"{times[0]:.2f} s", "", ""
    return (label, f"{statistics.median(times) * 1000:.1f} ms", f"{min(times) * 1000:.1f} ms",
            f"{max(times) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "examples/lightgbm/environment/conda.yml"))
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-fresh-cache", action="store_true", help="skip the build with an empty uv cache")
    args = parser.parse_args()
    spec = {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
            "condaFile": Path(args.spec).read_text(encoding="utf-8")}
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-envs-") as tmp:
        tmp = Path(tmp)
        if not args.no_fresh_cache:
            results["cold, empty uv cache"] = [cold(spec, tmp / "home-empty-cache", tmp / "uv-cache")]
        home = tmp / "home"
        results["cold, warm uv cache"] = [cold(spec, home, None)]
        results["cached, in process"] = in_process(spec, home, args.runs)
        results["cached, fresh interpreter"] = fresh_interpreter(spec, home, args.runs)
    rows = [("figure", "median", "min", "max")] + [row(k, v) for k, v in results.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"spec: {os.path.relpath(args.spec, ROOT)}  python {sys.version.split()[0]}  cpus {os.cpu_count()}")
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    out = ROOT / "benchmarks" / "results" / f"envs-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"spec": args.spec, "python": sys.version.split()[0], "cpus": os.cpu_count(),
                               "load": os.getloadavg(), "seconds": results}, indent=1))


if __name__ == "__main__":
    main()
