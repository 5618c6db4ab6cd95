"""YAML benchmark, side by side with azure-ai-ml: import, load+validate and dump of corpus jobs.

    python benchmarks/bench_yaml.py [--runs 7] [--no-reference]

Prints a table (figure, ours, reference, ratio, target) and writes the figures as JSON under
benchmarks/results/. The reference runs in its own virtual environment with azure-ai-ml,
created once and cached (see --help); azure-ai-ml is never a dependency of azureml_v2.
Each figure is the median of the runs after a warm-up, with min and max.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AZUREML_V2_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus" / "azureml-examples"
JOBS = {"command": "cli/jobs/single-step/scikit-learn/iris/job.yml",
        "sweep": "cli/jobs/single-step/scikit-learn/iris/job-sweep.yml"}
REFERENCE = os.environ.get("AZUREML_V2_BENCH_REFERENCE", "azure-ai-ml==1.35.2")
CACHE = Path(os.environ.get("AZUREML_V2_BENCH_CACHE", Path.home() / ".cache" / "azureml_v2-bench"))
# figure -> (unit, target in that unit or None)
FIGURES = {
    "import": ("s", 0.15),
    "command job load+validate": ("ms", 0.3),
    "sweep job load+validate": ("ms", 0.4),
    "command job dump": ("ms", 0.5),
    "sweep job dump": ("ms", 0.5),
}


# -- the worker: runs inside the measured interpreter (ours or the reference venv) -------------------
def per_call(fn, runs: int, budget: float = 0.2) -> list[float]:
    """Milliseconds per call of `fn`: a warm-up, then `runs` timed batches of ~`budget` seconds."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < budget / 2 or calls < 10:  # warm-up, and calibrates the batch
        fn()
        calls += 1
    batch = max(1, int(calls * budget / (time.perf_counter() - start)))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - start) / batch * 1e3)
    return times


def worker(impl: str, files: dict[str, str], runs: int) -> dict[str, list[float]]:
    if impl == "ours":
        from azureml_v2 import load_job
    else:
        from azure.ai.ml import load_job
    out = {}
    for kind, path in files.items():
        job = load_job(path)
        out[f"{kind} job load+validate"] = per_call(lambda: load_job(path), runs)
        out[f"{kind} job dump"] = per_call(lambda: job.dump(io.StringIO()), runs)
    return out


# -- the driver ------------------------------------------------------------------------------------------
def reference_python() -> tuple[str | None, str]:
    """The reference venv's interpreter (created on first use), or None and the reason."""
    venv = CACHE / ("venv-" + REFERENCE.replace("=", "").replace("<", "").replace(">", ""))
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if (venv / ".installed").exists():
        return str(python), REFERENCE
    print(f"creating the reference environment in {venv} ({REFERENCE}); this happens once ...", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", REFERENCE],
                       check=True, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        reason = getattr(exc, "stderr", None) or str(exc)
        return None, reason.strip().splitlines()[-1] if reason.strip() else type(exc).__name__
    (venv / ".installed").write_text(REFERENCE)
    return str(python), REFERENCE


def run_worker(python: str, impl: str, files: dict[str, str], runs: int, cwd: Path) -> dict[str, list[float]]:
    spec = json.dumps({"impl": impl, "files": files, "runs": runs})
    done = subprocess.run([python, __file__, "--worker", spec], capture_output=True, text=True, cwd=cwd,
                          env=_env(), timeout=1800)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "worker failed")
    return json.loads(done.stdout.splitlines()[-1])


def import_wall(python: str, statement: str, runs: int) -> list[float]:
    """Seconds for a fresh interpreter to run `statement` (after one warm-up run that writes .pyc)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([python, "-c", statement], check=True, capture_output=True, env=_env())
        if i:
            times.append(time.perf_counter() - start)
    return times


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def our_import_statement() -> str:
    probe = subprocess.run([sys.executable, "-c", "from azureml_v2 import MLClient"], capture_output=True, env=_env())
    return "from azureml_v2 import MLClient" if probe.returncode == 0 else "import azureml_v2"


def workdir() -> tuple[Path, dict[str, str]]:
    """A copy of the corpus folders of the benchmarked jobs, with the local paths they name created."""
    if not CORPUS.exists():
        sys.exit(f"the corpus is not at {CORPUS} (set AZUREML_V2_SHARED)")
    root = Path(tempfile.mkdtemp(prefix="bench-yaml-"))
    for rel in JOBS.values():
        src = CORPUS / rel
        dest = root / rel
        if not dest.parent.exists():
            shutil.copytree(src.parent, dest.parent)
    sys.path.insert(0, str(REPO / "tests"))
    from support.corpus_kinds import create_missing_paths
    create_missing_paths(root)
    return root, {kind: str(root / rel) for kind, rel in JOBS.items()}


def summary(values: list[float] | None) -> dict | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def fmt(stats: dict | None, unit: str) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['median']:.3f} {unit} [{stats['min']:.3f}-{stats['max']:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (at least 5)")
    parser.add_argument("--no-reference", action="store_true", help="measure azureml_v2 only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(worker(spec["impl"], spec["files"], spec["runs"])))
        return
    runs = max(5, args.runs)
    root, files = workdir()
    try:
        statement = our_import_statement()
        ours = {"import": import_wall(sys.executable, statement, runs),
                **run_worker(sys.executable, "ours", files, runs, root)}
        ref_python, ref_name = (None, "not measured (--no-reference)") if args.no_reference else reference_python()
        reference: dict = {}
        if ref_python:
            reference["import"] = import_wall(ref_python, "from azure.ai.ml import MLClient", runs)
            try:
                reference.update(run_worker(ref_python, "reference", files, runs, root))
            except RuntimeError as exc:
                print(f"reference: load/dump failed: {exc}", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    label = {"import": f"import: python -c \"{statement}\""}
    rows, results = [], {}
    for figure, (unit, target) in FIGURES.items():
        mine, theirs = summary(ours.get(figure)), summary(reference.get(figure))
        ratio = theirs["median"] / mine["median"] if mine and theirs else None
        results[figure] = {"unit": unit, "target": target, "ours": mine, "reference": theirs,
                           "ratio": ratio, "met": mine is not None and mine["median"] <= target}
        rows.append((label.get(figure, figure), fmt(mine, unit), fmt(theirs, unit),
                     f"{ratio:.1f}x" if ratio else "n/a", f"<= {target} {unit}" + ("" if results[figure]["met"]
                                                                               else " MISSED")))
    header = ("figure", "ours (median [min-max])", f"reference ({ref_name})" if ref_python else "reference",
              "ratio", "target")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    if not ref_python:
        print(f"reference: n/a ({ref_name})")

    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out / f"yaml-{stamp}.json"
    path.write_text(json.dumps({
        "when": stamp, "python": platform.python_version(), "machine": platform.platform(),
        "cpus": os.cpu_count(), "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "reference": ref_name if ref_python else None, "files": JOBS, "import_statement": statement,
        "figures": results}, indent=2))
    print(f"written: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
