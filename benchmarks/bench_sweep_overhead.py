"""Sweep controller overhead: N trivial trials (`sleep S`) with max_concurrent_trials C on the local workspace.

Run: python benchmarks/bench_sweep_overhead.py [--trials 20] [--sleep 0.5] [--concurrent 2]

Figures (and their goals):
- total wall: the PUT of the sweep to its end, against the ideal, sum of the trials' times / C (goal <= 1.3x). A
  trial's time is its job's life, created to ended (runner start, environment, command, finalising); the ideal over
  the commands alone (N * S / C) is shown too;
- controller overhead per trial (goal <= 0.2 s): for each trial after the first C, the time from the end of the
  trial whose slot it takes to its own creation; and the PUT to the first trial's creation; and the controller
  process's CPU time (from its log) per trial.
Results go to benchmarks/results/sweep-overhead-<UTC>.json.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2._contract import TERMINAL_STATUSES
from azureml_v2.local import make_app
from azureml_v2.local.core.assets import put_asset_version
from azureml_v2.local.core.workspace import Page, workspace_id

WS = "local"


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def run(home: Path, trials: int, sleep: float, concurrent: int) -> dict:
    app = make_app(home, user="bench")
    store = app.store
    store.ensure_workspace(WS, "bench")
    put_asset_version(store, WS, "environments", "host", "1", {"image": "python:3.11-slim"}, "bench")
    props = {
        "jobType": "Sweep", "searchSpace": {"i": ["choice", [list(range(trials))]]},
        "samplingAlgorithm": {"samplingAlgorithmType": "Grid"},
        "objective": {"goal": "Minimize", "primaryMetric": "loss"},
        "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": trials, "maxConcurrentTrials": concurrent},
        "trial": {"command": f"sleep {sleep} # ${{{{search_space.i}}}}",
                  "environmentId": f"{workspace_id(WS)}/environments/host/versions/1"},
    }
    start = time.time()
    app.jobs.create(WS, "bench", props)
    while (sweep := store.get_job(WS, "bench"))["status"] not in TERMINAL_STATUSES:
        time.sleep(0.02)
    wall = time.time() - start
    children = store.list_jobs(WS, Page(10 * trials, ascending=True), "All", parent="bench")[0]
    log = (store.job_folder(WS, "bench") / "system_logs" / "runner.log").read_text()
    cpu = float(re.search(r"controller cpu ([\d.]+) s", log).group(1))
    app.close()
    assert sweep["status"] == "Completed" and len(children) == trials, (sweep["status"], sweep["error"])
    children.sort(key=lambda r: int(r["doc"]["properties"]["azureml.trial"]))
    created = [stamp(r["created_at"]) for r in children]
    ended = [stamp(r["ended_at"]) for r in children]
    lives = [e - c for c, e in zip(created, ended)]
    freed = sorted(ended)
    gaps = [created[i] - freed[i - concurrent] for i in range(concurrent, trials)]
    return {"trials": trials, "sleep": sleep, "concurrent": concurrent, "wall": wall,
            "ideal": sum(lives) / concurrent, "ideal_commands": trials * sleep / concurrent,
            "trial_life_median": statistics.median(lives),
            "first_trial_after": created[0] - start, "gap_mean": statistics.mean(gaps),
            "gap_max": max(gaps), "sweep_end_after_last_trial": stamp(sweep["ended_at"]) - max(ended),
            "controller_cpu_per_trial": cpu / trials}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--concurrent", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(Path(tmp) / "home", args.trials, args.sleep, args.concurrent)
    rows = [
        ("total wall (PUT to sweep end)", f"{r['wall']:.2f} s", ""),
        ("ideal: sum of trial lives / C", f"{r['ideal']:.2f} s",
         f"wall / ideal {r['wall'] / r['ideal']:.2f}x (goal <= 1.3x)"),
        ("ideal over commands: N * S / C", f"{r['ideal_commands']:.2f} s",
         f"wall / that {r['wall'] / r['ideal_commands']:.2f}x"),
        ("trial life, median (created to ended)", f"{r['trial_life_median']:.3f} s", f"command {args.sleep} s"),
        ("controller overhead per trial (mean gap)", f"{r['gap_mean']:.3f} s", "goal <= 0.2 s"),
        ("  largest gap", f"{r['gap_max']:.3f} s", ""),
        ("controller CPU time per trial", f"{r['controller_cpu_per_trial']:.3f} s", ""),
        ("PUT to first trial created", f"{r['first_trial_after']:.3f} s", ""),
        ("last trial end to sweep end", f"{r['sweep_end_after_last_trial']:.3f} s", ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"sweep of {args.trials} trials (sleep {args.sleep} s), max_concurrent_trials {args.concurrent}")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>9}  {note}")
    out = ROOT / "benchmarks" / "results" / f"sweep-overhead-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + "\n")
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
