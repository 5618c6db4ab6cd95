"""Import time of `from azureml_v2 import MLClient` in fresh interpreters, and which heavy modules it loads.

    python benchmarks/bench_import.py [--runs N]

Prints the median, min and max wall time of N (default 7) fresh `python -c` runs after one warm-up
(which fills the bytecode cache), the bare interpreter's start-up for comparison, and the heavy
modules (azure.*, marshmallow, yaml, requests, ...) present after the import: there should be none.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATEMENT = "from azureml_v2 import MLClient"
HEAVY = ("azure", "marshmallow", "yaml", "requests", "isodate", "urllib3", "tqdm", "pathspec")
BUDGET = 0.15  # seconds, wall, for the whole interpreter run


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - start


def _row(label: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{label:<40} {statistics.median(ms):>8.1f} {min(ms):>8.1f} {max(ms):>8.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = max(5, parser.parse_args().runs)

    _wall(STATEMENT)  # warm-up: compile .pyc files
    bare = [_wall("pass") for _ in range(runs)]
    ours = [_wall(STATEMENT) for _ in range(runs)]
    probe = (f"import sys; {STATEMENT}; "
             f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    heavy = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split()

    print(f"{'':<40} {'median':>8} {'min':>8} {'max':>8}   (ms, {runs} fresh interpreters)")
    print(_row("python -c pass", bare))
    print(_row(STATEMENT, ours))
    print(f"budget {BUDGET * 1000:.0f} ms: {'met' if statistics.median(ours) <= BUDGET else 'MISSED'}")
    print(f"heavy modules imported: {', '.join(heavy) if heavy else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
