"""Parallel job throughput: an sklearn model scores 100 files x 100 rows, by the mini-batch engine and by a plain loop.

Run: python benchmarks/bench_parallel.py [--runs 5] [--files 100] [--rows 100]

Figures (and their goals):
- engine / plain loop (goal >= 0.8x): the wall of a plain Python loop over the files (a fresh interpreter: import
  pandas and sklearn, load the model, read and score each file, write the lines) divided by the wall of the engine
  (``Engine.run``: cut the input, start max_concurrency_per_instance = cores workers in the same interpreter, init()
  loads the model, run() per mini-batch of 10 files, output assembled), so > 1 is faster than the loop;
- the same with mini_batch_size 1 (100 mini-batches: the per-mini-batch overhead shows), and the rows read as a
  table (an MLTable over the files, mini-batches of about a tenth of the data, run() gets DataFrames);
- job: the same through the local workspace, a Parallel job from its PUT to Completed (executor, code snapshot,
  environment, outputs stored), against the loop;
- the CPU seconds each spent in child processes (each worker imports pandas and sklearn once: the engine spends
  about one such import per extra worker more than the loop).
Results go to benchmarks/results/parallel-<UTC>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2.local.executors import minibatch  # noqa: E402
from azureml_v2.local.executors.parallel import Engine, Work  # noqa: E402

FEATURES = 8

SCORE = """
import os, pickle
import pandas as pd

def init():
    global model
    with open(os.environ["MODEL"], "rb") as f:
        model = pickle.load(f)

def score(frame, name):
    return [f"{name} {n} {p}" for n, p in enumerate(model.predict(frame))]

def run(mini_batch):
    if isinstance(mini_batch, pd.DataFrame):
        return score(mini_batch, "table")
    out = []
    for path in mini_batch:
        out += score(pd.read_csv(path), os.path.basename(path))
    return out
"""

LOOP = """
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score

score.init()
folder, output = sys.argv[1], sys.argv[2]
lines = []
for name in sorted(n for n in os.listdir(folder) if n.endswith(".csv")):
    lines += score.run([os.path.join(folder, name)])
with open(output, "w") as f:
    f.writelines(line + "\\n" for line in lines)
"""


def prepare(base: Path, files: int, rows: int) -> dict:
    """The data (CSV files), the model and the scripts under `base`."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    import pandas as pd

    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(FEATURES)]
    x = pd.DataFrame(rng.normal(size=(2000, FEATURES)), columns=columns)
    model = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0).fit(x, x["f0"] + x["f1"] > 0)
    (base / "model.pkl").write_bytes(pickle.dumps(model))
    data = base / "data"
    data.mkdir()
    header = ",".join(columns)
    for n in range(files):
        values = rng.normal(size=(rows, FEATURES))
        (data / f"part-{n:04}.csv").write_text(header + "\n" + "".join(",".join(f"{v:.6f}" for v in row) + "\n"
                                                                       for row in values))
    (data / "MLTable").write_text("paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited:\n"
                                  "      header: all_files_same_headers\n")
    code = base / "code"
    code.mkdir()
    (code / "score.py").write_text(SCORE)
    (code / "loop.py").write_text(LOOP)
    return {"data": data, "code": code, "model": base / "model.pkl", "rows": files * rows}


def loop(setup: dict, out: Path) -> float:
    env = {**os.environ, "MODEL": str(setup["model"])}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(setup["code"] / "loop.py"), str(setup["data"]), str(out)], env=env,
                   check=True)
    return time.perf_counter() - start


def engine(setup: dict, state: Path, *, size, table: bool = False, workers: int | None = None) -> float:
    data = minibatch.read_input(setup["data"], "mltable") if table else minibatch.Files(
        tuple(str(p) for p in sorted(setup["data"].glob("*.csv"))))
    state.mkdir(parents=True)
    work = Work(python=sys.executable, entry_script=setup["code"] / "score.py", argv=[], cwd=setup["code"],
                env={**os.environ, "MODEL": str(setup["model"])}, data=data,
                size=minibatch.mini_batch_size(size, table), state=state, logs=state / "logs",
                workers=workers or os.cpu_count() or 1, output=state / "out.txt")
    start = time.perf_counter()
    summary = Engine(work, log=lambda line: None, stop=threading.Event()).run()
    wall = time.perf_counter() - start
    assert summary["failed"] == 0 and summary["results"] == setup["rows"], summary
    return wall


def job(setup: dict, home: Path, name: str, env: dict | None = None, logging_level: str = "INFO") -> float:
    """A Parallel job through the local workspace, PUT to Completed (`env`: more of its environment variables)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.local import WS as WS_ID
    from support.local import Client

    from azureml_v2.local import make_app

    app = make_app(home, user="bench")
    client = Client(app)
    try:
        client.put("/environments/host/versions/1", {"properties": {"image": "python:3.11-slim"}})
        client.put("/codes/score/versions/1", {"properties": {"codeUri": str(setup["code"])}})
        body = {"properties": {
            "jobType": "Parallel", "codeId": f"{WS_ID}/codes/score/versions/1",
            "environmentId": f"{WS_ID}/environments/host/versions/1",
            "inputs": {"data": {"jobInputType": "uri_folder", "uri": str(setup["data"])}},
            "outputs": {"scores": {"jobOutputType": "uri_folder"}}, "input_data": "${{inputs.data}}",
            "environmentVariables": {"MODEL": str(setup["model"]), **(env or {})}, "logging_level": logging_level,
            "max_concurrency_per_instance": os.cpu_count() or 1, "mini_batch_size": "10", "input_kind": "files",
            "task": {"type": "run_function", "entry_script": "score.py", "append_row_to": "${{outputs.scores}}"}}}
        start = time.perf_counter()
        assert client.put(f"/jobs/{name}", body).status == 201
        while (props := client.get(f"/jobs/{name}").json["properties"])["status"] not in (
                "Completed", "Failed", "Canceled"):
            time.sleep(0.02)
        wall = time.perf_counter() - start
        assert props["status"] == "Completed", props["properties"].get("Error")
        return wall
    finally:
        app.close()


def run(base: Path, runs: int = 5, files: int = 100, rows: int = 100) -> dict:
    """Every figure, `runs` times each after a warm-up -> lists of walls in seconds, by name."""
    base.mkdir(parents=True, exist_ok=True)
    setup = prepare(base, files, rows)
    table_size = max(1, sum(p.stat().st_size for p in setup["data"].glob("*.csv")) // 10)
    variants = {"loop": lambda n: loop(setup, base / f"loop-{n}.txt"),
                "engine": lambda n: engine(setup, base / f"engine-{n}", size=10),
                "engine_size_1": lambda n: engine(setup, base / f"engine1-{n}", size=1),
                "engine_table": lambda n: engine(setup, base / f"table-{n}", size=table_size, table=True)}
    walls: dict[str, list[float]] = {key: [] for key in [*variants, "job"]}
    cpu: dict[str, list[float]] = {key: [] for key in variants}
    for n in range(runs + 1):
        for key, measure in variants.items():
            used = _children_cpu()
            wall = measure(n)
            if n:  # the first round warms caches
                walls[key].append(wall)
                cpu[key].append(_children_cpu() - used)
    # last: the job's executor is reaped when its app notices, which would blur the CPU counts above
    walls["job"] = [job(setup, base / "home", f"bench{n}") for n in range(runs + 1)][1:]
    return {**walls, **{f"cpu_{key}": values for key, values in cpu.items()}}


def _children_cpu() -> float:
    """CPU seconds of the ended child processes (the loop, the workers, the job's executor once reaped)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        walls = run(Path(tmp), args.runs, args.files, args.rows)
    loop_median = statistics.median(walls["loop"])
    print(f"{args.files} files x {args.rows} rows, {os.cpu_count()} cores, {args.runs} runs (median [min-max]):")
    for key, values in walls.items():
        ratio = "" if key == "loop" else f"   loop/this = {loop_median / statistics.median(values):.2f}x"
        if key.startswith("cpu_"):
            ratio = "   (CPU seconds in child processes)"
        print(f"  {key:18} {statistics.median(values):.3f} s [{min(values):.3f}-{max(values):.3f}]{ratio}")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"parallel-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps({"walls": walls, "files": args.files, "rows": args.rows, "cpus": os.cpu_count(),
                                "load": os.getloadavg()}, indent=1))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
