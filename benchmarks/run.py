"""Every benchmark figure in one table, side by side with azure-ai-ml: python benchmarks/run.py [--quick] [--runs 7].

Runs the measurements of the bench_*.py scripts beside it (and a few of its own: `azml --help`, a local job, the
job list) and prints one table (figure, ours, reference, ratio, target); the figures go as JSON to
benchmarks/results/all-<UTC>.json. Each figure is the median of >= 5 runs after a warm-up, with min and max. The
reference column runs the same operations on the same files with azure-ai-ml in the cached virtual environment of
bench_yaml.py (never a dependency of azureml_v2); a figure that cannot be measured says why in the table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO), str(REPO / "tests")]

import bench_yaml  # noqa: E402
from bench_yaml import fmt, import_wall, per_call, summary  # noqa: E402

WS = "local"
JOB_LIST_SIZE = 10_000


class Table:
    """Rows of figures; each cell is the summary of a list of timings (or None with a note)."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, figure: str, unit: str, ours, reference=None, target: float | None = None, note: str = "",
            reference_name: str = "", higher_is_better: bool = False) -> None:
        """Ratio is reference / ours (how many times faster we are), inverted when higher is better."""
        mine, theirs = summary(ours), summary(reference)
        ratio = None
        if mine and theirs:
            ratio = mine["median"] / theirs["median"] if higher_is_better else theirs["median"] / mine["median"]
        met = None
        if target is not None and mine is not None:
            met = mine["median"] >= target if higher_is_better else mine["median"] <= target
        self.rows.append({"figure": figure, "unit": unit, "ours": mine, "reference": theirs,
                          "reference_name": reference_name, "ratio": ratio, "target": target,
                          "higher_is_better": higher_is_better, "note": note, "met": met})
        print(f"  measured: {figure}", file=sys.stderr)

    def skip(self, figure: str, why: str) -> None:
        self.add(figure, "", None, note=why)

    def print(self) -> None:
        header = ("figure", "ours (median [min-max])", "reference (or note)", "ratio", "target")
        lines = []
        for r in self.rows:
            ref = fmt(r["reference"], r["unit"]) + (f" ({r['reference_name']})" if r["reference"] else "")
            target = "" if r["target"] is None else (f"{'>=' if r['higher_is_better'] else '<='} {r['target']:g} "
                                                     f"{r['unit']}" + ("" if r["met"] else " MISSED"))
            ours = fmt(r["ours"], r["unit"]) if r["ours"] else f"n/a: {r['note']}"
            lines.append((r["figure"], ours, ref if r["reference"] else (r["note"] if r["ours"] else ""),
                          f"{r['ratio']:.1f}x" if r["ratio"] else "", target))
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
        for row in [header, tuple("-" * w for w in widths), *lines]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def timed(fn, runs: int) -> list[float]:
    """Seconds of `runs` calls of `fn` after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def in_reference(python: str, code: str, runs: int, cwd: Path) -> list[float]:
    """Milliseconds per call of the expression `call` defined by `code`, in the reference interpreter."""
    script = (f"import json, sys; sys.path.insert(0, {str(BENCH)!r}); from bench_yaml import per_call\n{code}\n"
              f"print(json.dumps(per_call(call, {runs})))")
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=600)
    if done.returncode:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1])
    return json.loads(done.stdout.splitlines()[-1])


# -- the figures -------------------------------------------------------------------------------------------------

def yaml_figures(table: Table, ref: str | None, ref_name: str, runs: int) -> None:
    statement = bench_yaml.our_import_statement()
    root, files = bench_yaml.workdir()
    try:
        ours = bench_yaml.run_worker(sys.executable, "ours", files, runs, root)
        theirs = bench_yaml.run_worker(ref, "reference", files, runs, root) if ref else {}
        table.add(f"import: {statement}", "s", import_wall(sys.executable, statement, runs),
                  import_wall(ref, "from azure.ai.ml import MLClient", runs) if ref else None,
                  bench_yaml.FIGURES["import"][1], reference_name=ref_name, note=ref_name)
        for figure, (unit, target) in bench_yaml.FIGURES.items():
            if figure != "import":
                table.add(figure, unit, ours[figure], theirs.get(figure), target, reference_name=ref_name,
                          note=ref_name)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def hash_figures(table: Table, ref: str | None, ref_name: str, runs: int, quick: bool, base: Path) -> None:
    from bench_artifacts import plain_sha256, write_tree

    from azureml_v2._artifacts.snapshot import take_snapshot
    count, size = (50, 64 << 10) if quick else (500, 64 << 10)
    root = base / "code"
    write_tree(root, count, size)
    paths = [f.path for f in take_snapshot(root).files]
    label = f"code hash, {count} files x {size >> 10} KiB"
    ours = per_call(lambda: take_snapshot(root).content_hash, runs)
    table.add(f"{label} vs plain sha256", "ms", ours, per_call(lambda: plain_sha256(paths), runs),
              reference_name="sha256 of the bytes")
    theirs, note = None, ref_name
    if ref:
        try:
            theirs = in_reference(ref, "from azure.ai.ml._utils._asset_utils import get_content_hash\n"
                                       f"call = lambda: get_content_hash({str(root)!r})", runs, base)
        except RuntimeError as exc:
            note = f"azure-ai-ml get_content_hash failed: {exc}"
    table.add(f"{label} vs azure-ai-ml", "ms", ours, theirs, reference_name="get_content_hash", note=note)


def upload_figures(table: Table, runs: int, quick: bool, base: Path) -> None:
    figure = "upload to Azurite (ours vs raw azure-storage-blob, parallel)"
    if shutil.which("azurite-blob") is None and "AZURITE_BLOB_URL" not in os.environ:
        table.skip(figure, "skipped: azurite-blob is not on PATH")
        return
    from bench_artifacts import blob_rounds
    measured = blob_rounds(base, quick, rounds=runs + 1)
    if isinstance(measured, str):
        table.skip(figure, measured)
        return
    for name, _, rounds in measured:
        rounds = rounds[1:]  # the first round is the warm-up
        table.add(f"upload {name} to Azurite", "s", [r["ours"] for r in rounds],
                  [r["raw_parallel"] for r in rounds], reference_name="raw azure-storage-blob, parallel")


def azml() -> str:
    return shutil.which("azml", path=str(Path(sys.executable).parent)) or shutil.which("azml")


def help_figure(table: Table, runs: int) -> None:
    exe = azml()
    if exe is None:
        table.skip("azml --help", "skipped: azml is not installed")
        return
    table.add("azml --help (wall)", "s",
              timed(lambda: subprocess.run([exe, "--help"], check=True, capture_output=True), runs), target=0.3)


def local_job_figure(table: Table, runs: int, base: Path) -> None:
    from azureml_v2 import Environment, MLClient, command

    ended = {"Completed", "Failed", "Canceled", "NotResponding"}
    with MLClient.local(base / "job-home") as ml:
        ml.environments.create_or_update(Environment(name="host", version="1", image="python:3.11-slim"))

        def echo_hello():
            job = ml.jobs.create_or_update(command(command="echo hello", environment="azureml:host:1"))
            while (status := ml.jobs.get(job.name).status) not in ended:
                time.sleep(0.02)
            if status != "Completed":
                raise RuntimeError(f"job {job.name} ended {status}")

        table.add("local `echo hello` job, create to Completed (SDK)", "s", timed(echo_hello, runs), target=1.0)


ECHO_JOB = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: echo hello
environment:
  image: python:3.11-slim
"""


def cli_job_figure(table: Table, runs: int, base: Path) -> None:
    exe = azml()
    if exe is None:
        table.skip("azml job create --stream", "skipped: azml is not installed")
        return
    job = base / "echo.yml"
    job.write_text(ECHO_JOB)
    env = {**os.environ, "AZUREML_V2_HOME": str(base / "cli-home")}
    table.add("`azml job create -f echo.yml --stream`, to Completed (wall)", "s",
              timed(lambda: subprocess.run([exe, "job", "create", "-f", str(job), "--stream"], check=True,
                                           capture_output=True, env=env), runs), target=0.5)


def job_list_figure(table: Table, runs: int, quick: bool, base: Path) -> None:
    from azureml_v2.local import make_app
    from azureml_v2.local.core.assets import put_asset_version
    from azureml_v2.local.core.workspace import workspace_id

    count = 1000 if quick else JOB_LIST_SIZE
    home = base / "list-home"
    app = make_app(home, run_jobs=False, user="bench")
    app.store.ensure_workspace(WS, "bench")
    put_asset_version(app.store, WS, "environments", "host", "1", {"image": "python:3.11-slim"}, "bench")
    props = {"jobType": "Command", "command": "echo hello",
             "environmentId": f"{workspace_id(WS)}/environments/host/versions/1"}
    for i in range(count):
        app.jobs.create(WS, f"job-{i:05d}", dict(props))
    app.close()
    exe = azml()
    env = {**os.environ, "AZUREML_V2_HOME": str(home)}
    table.add(f"azml job list, first page of {count:,} jobs (wall)", "s",
              timed(lambda: subprocess.run([exe, "job", "list"], check=True, capture_output=True, env=env), runs),
              target=0.5)


def sweep_figures(table: Table, runs: int, quick: bool, base: Path) -> None:
    from bench_sweep_overhead import run
    trials, sleep, concurrent = (4, 0.1, 2) if quick else (10, 0.2, 2)
    results = [run(base / f"sweep-{i}", trials, sleep, concurrent) for i in range(runs + 1)][1:]
    what = f"{trials} trials x sleep {sleep} s, {concurrent} at a time"
    table.add(f"sweep controller overhead per trial ({what})", "s", [r["gap_mean"] for r in results], target=0.2)
    table.add(f"sweep wall / ideal ({what})", "x", [r["wall"] / r["ideal"] for r in results], target=1.3)


def parallel_figures(table: Table, runs: int, quick: bool, base: Path) -> None:
    from bench_parallel import run
    files = 20 if quick else 100
    walls = run(base / "parallel", runs, files=files, rows=100)
    loop = sorted(walls["loop"])[len(walls["loop"]) // 2]
    what = f"sklearn, {files} files x 100 rows, {os.cpu_count()} workers"
    for key, how in (("engine", "10 files per mini-batch"), ("engine_size_1", "1 file per mini-batch"),
                     ("engine_table", "rows as DataFrames, 10 mini-batches"), ("job", "the job, PUT to Completed")):
        table.add(f"parallel throughput / plain loop ({what}; {how})", "x", [loop / w for w in walls[key]],
                  target=0.8, higher_is_better=True)
    table.add(f"parallel CPU seconds ({what}; 10 files per mini-batch)", "s", walls["cpu_engine"],
              walls["cpu_loop"], reference_name="plain loop", note="plain loop")


def warm_figures(table: Table, runs: int, quick: bool, base: Path) -> None:
    """Warm starts against cold ones (bench_warm.py), the cold start as the reference: the LightGBM example's job,
    the README sweep, a parallel job. The LightGBM environment is kept in bench_warm's home between runs."""
    import bench_warm

    cold = "cold start (AZUREML_V2_COLD_START=1)"
    bench_warm.HOME.mkdir(parents=True, exist_ok=True)
    lives = bench_warm.startups(bench_warm.HOME, base, "python train.py", True, runs)
    table.add("LightGBM example job, process life (Running -> exit), warm", "s", lives["warm"], lives["cold"],
              reference_name=cold, note=cold)
    figure = "README sweep (10 LightGBM trials, 2 at a time), azml job create --stream, warm"
    if quick:
        table.skip(figure, "not in --quick (three sweeps a run)")
    else:
        walls = bench_warm.sweep(bench_warm.HOME, runs)
        for key, how in (("warm_zygote_alive", "zygote alive"), ("warm_fresh_zygote", "a fresh zygote")):
            table.add(f"{figure}, {how}", "s", walls[key], walls["cold"],
                      reference_name="cold (AZUREML_V2_WARM_START=0)")
    files = 20 if quick else 100
    walls = bench_warm.parallel(base / "warm-parallel", runs, files)
    what = f"parallel job, sklearn, {files} files x 100 rows, {os.cpu_count()} workers"
    table.add(f"{what}: PUT to Completed, warm", "s", walls["warm_wall"], walls["cold_wall"], reference_name=cold,
              note=cold)
    table.add(f"{what}: a worker's start (spawn -> past init()), warm", "s", walls["warm_worker_start"],
              walls["cold_worker_start"], reference_name=cold, note=cold)


def pipeline_load_figure(table: Table, ref: str | None, ref_name: str, runs: int) -> None:
    from bench_pipeline_load import measure
    result = measure(200, runs, ref)
    table.add("load+validate, 200-node pipeline job", "ms", result["ours"], result["reference"], target=50,
              reference_name=ref_name, note=ref_name)


def server_figures(table: Table, runs: int, quick: bool) -> None:
    from bench_server import measure
    result = measure(quick=quick, runs=runs)
    table.add("azml server throughput, GETs", "GET/s", result["get_per_second"], target=1000, note=result["note"],
              higher_is_better=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: 5 runs, smaller data")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (at least 5)")
    parser.add_argument("--no-reference", action="store_true", help="measure azureml_v2 only")
    args = parser.parse_args()
    runs = 5 if args.quick else max(5, args.runs)
    ref, ref_name = (None, "not measured (--no-reference)") if args.no_reference else bench_yaml.reference_python()
    table = Table()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        base = Path(tmp)
        yaml_figures(table, ref, ref_name, runs)
        hash_figures(table, ref, ref_name, runs, args.quick, base)
        upload_figures(table, runs, args.quick, base)
        help_figure(table, runs)
        local_job_figure(table, runs, base)
        cli_job_figure(table, runs, base)
        job_list_figure(table, runs, args.quick, base)
        sweep_figures(table, runs, args.quick, base)
        parallel_figures(table, runs, args.quick, base)
        warm_figures(table, runs, args.quick, base)
        pipeline_load_figure(table, ref, ref_name, runs)
        server_figures(table, runs, args.quick)
    table.print()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = BENCH / "results" / f"all-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "when": stamp, "quick": args.quick, "runs": runs, "python": platform.python_version(),
        "machine": platform.platform(), "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "reference": ref_name if ref else None, "figures": table.rows}, indent=2) + "\n")
    print(f"written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
