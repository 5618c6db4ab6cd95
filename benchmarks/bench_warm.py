"""Warm starts against cold starts, side by side in one run, on the local workspace.

Run: python benchmarks/bench_warm.py [--home DIR] [--runs 5] [--skip-sweep] [--skip-pipeline] [--skip-parallel]

Figures (each cold and warm):
- start-up of a bare `python -c pass` job and of the LightGBM example (`examples/lightgbm/job.yml`): the job's
  process life, from its runner's `status Running` to the command's exit (runner.log), median of --runs; the
  LightGBM one includes its training (well under 0.5 s), so cold - warm is the start-up saved;
- the README sweep (`examples/lightgbm/sweep.yml`, 10 trials, 2 at a time): wall of `azml job create --stream`,
  cold (AZUREML_V2_WARM_START=0), warm with a fresh zygote (it imports first), warm with its zygote alive, in
  rounds (one of each per round);
- a parallel job (bench_parallel.py's: an sklearn model scores 100 files x 100 rows, cores workers), PUT to
  Completed, and each worker's start (from its spawn until past init(), the engine's DEBUG log), cold and warm in
  turns;
- a pipeline of 16 small scikit-learn steps (the example's environment), wall, cold and warm;
- the limit: Optuna's in-process loop over the same 10 trials (one interpreter that imported once);
- the zygote's resident memory (what it reports with each fork).
The home (default ~/.cache/azureml_v2-bench/warm-home) keeps the example's environment between runs. The load
average is printed with the figures: on a busy machine wall times are noisy; compare the columns of one run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]
from support.jobs import zygotes  # noqa: E402  (the tests' helpers, as the other benchmarks use them)
AZML = [sys.executable, "-m", "azureml_v2.cli.main"]
HOME = Path.home() / ".cache" / "azureml_v2-bench" / "warm-home"  # keeps the LightGBM example's environment
COLD = {"AZUREML_V2_COLD_START": "1"}


def azml(home: Path, *args: str, env: dict | None = None) -> float:
    start = time.monotonic()
    subprocess.run([*AZML, *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   env={**os.environ, "AZUREML_V2_HOME": str(home), **(env or {})})
    return time.monotonic() - start


def latest_job(home: Path) -> Path:
    return max((home / "jobs" / "local").iterdir(), key=lambda p: p.stat().st_mtime)


def stamp(line: str) -> float:
    return datetime.fromisoformat(line.split()[0].rstrip("Z")).timestamp()


def process_life(job: Path) -> tuple[float, bool, int | None]:
    """(Running -> exit seconds, started warm, zygote RSS MB) from a job's runner.log."""
    lines = (job / "system_logs" / "runner.log").read_text().splitlines()
    running = next(stamp(line) for line in lines if line.split()[1:] == ["status", "Running"])
    ended = next(stamp(line) for line in lines if " exit code(s) " in line)
    rss = next((int(m.group(1)) for line in lines if (m := re.search(r"RSS (\d+) MB", line))), None)
    return ended - running, rss is not None, rss


def job_yaml(folder: Path, command: str, env: dict, conda: bool) -> Path:
    path = folder / f"job-{abs(hash((command, json.dumps(env)))) % 10**8}.yml"
    environment = (f"environment:\n  image: python:3.11\n  conda_file: {ROOT / 'examples/lightgbm/environment/conda.yml'}\n"
                   if conda else "environment:\n  image: python:3.11-slim\n")
    path.write_text(f"type: command\ncode: {ROOT / 'examples/lightgbm/src'}\ncommand: {command}\n{environment}"
                    f"compute: local\nenvironment_variables: {json.dumps(env)}\n")
    return path


def startups(home: Path, folder: Path, command: str, conda: bool, runs: int) -> dict:
    found = {}
    for label, env in (("cold", COLD), ("warm", {})):
        path = job_yaml(folder, command, env, conda)
        azml(home, "job", "create", "-f", str(path), "--stream")  # warm-up: builds, learns, starts the zygote
        lives = []
        for _ in range(runs):
            azml(home, "job", "create", "-f", str(path), "--stream")
            life, warm, rss = process_life(latest_job(home))
            assert warm == (label == "warm"), f"{label} run started {'warm' if warm else 'cold'}"
            lives.append(life)
            if rss:
                found["zygote_rss_mb"] = rss
        found[label] = lives
    return found


def kill_zygotes(home: Path) -> None:
    for pid in zygotes(home):
        os.kill(pid, signal.SIGKILL)


def sweep(home: Path, rounds: int = 1) -> dict:
    sweep_file = str(ROOT / "examples/lightgbm/sweep.yml")
    azml(home, "job", "create", "-f", sweep_file, "--stream")  # the environment cached, the trials learned
    found: dict[str, list[float]] = {"cold": [], "warm_fresh_zygote": [], "warm_zygote_alive": []}
    for _ in range(rounds):
        found["cold"].append(azml(home, "job", "create", "-f", sweep_file, "--stream",
                                  env={"AZUREML_V2_WARM_START": "0"}))
        kill_zygotes(home)
        found["warm_fresh_zygote"].append(azml(home, "job", "create", "-f", sweep_file, "--stream"))
        found["warm_zygote_alive"].append(azml(home, "job", "create", "-f", sweep_file, "--stream"))
    return found


WORKER_READY = re.compile(r"parallel: worker \d+ past init\(\) ([\d.]+) s after its start \((warm|cold)\)")


def parallel(folder: Path, runs: int, files: int = 100) -> dict:
    """bench_parallel.py's Parallel job, cold and warm in turns after two rounds (the first warm one learns, the
    second starts the zygote) -> walls and worker starts, by label."""
    from bench_parallel import job, prepare

    (folder / "parallel").mkdir(parents=True, exist_ok=True)
    setup = prepare(folder / "parallel", files, 100)
    home = folder / "parallel-home"
    found: dict[str, list[float]] = {f"{label}_{what}": [] for label in ("cold", "warm")
                                     for what in ("wall", "worker_start")}
    for n in range(runs + 2):
        for label, env in (("cold", COLD), ("warm", {})):
            wall = job(setup, home, f"{label}{n}", env=env, logging_level="DEBUG")
            if n < 2:
                continue
            found[f"{label}_wall"].append(wall)
            log = (home / "jobs" / "local" / f"{label}{n}" / "user_logs" / "std_log.txt").read_text()
            starts = WORKER_READY.findall(log)
            assert starts and {how for _, how in starts} == {label}, f"{label} job's workers: {starts}"
            found[f"{label}_worker_start"] += [float(seconds) for seconds, _ in starts]
    kill_zygotes(home)
    return found


def pipeline(home: Path, folder: Path) -> dict:
    step = folder / "src" / "step.py"
    step.parent.mkdir(exist_ok=True)
    step.write_text("import sys\nfrom sklearn.datasets import load_diabetes\n"
                    "from sklearn.linear_model import Ridge\nx, y = load_diabetes(return_X_y=True)\n"
                    "print(Ridge(alpha=float(sys.argv[1])).fit(x, y).score(x, y))\n")
    found = {}
    for label, env in (("cold", COLD), ("warm", {})):
        nodes = "".join(
            f"  s{i}:\n    type: command\n    command: python step.py {i / 10}\n    code: {step.parent}\n"
            f"    environment:\n      image: python:3.11\n"
            f"      conda_file: {ROOT / 'examples/lightgbm/environment/conda.yml'}\n"
            f"    environment_variables: {json.dumps(env)}\n" for i in range(16))
        path = folder / f"pipeline-{label}.yml"
        path.write_text(f"type: pipeline\nsettings:\n  default_compute: local\n  force_rerun: true\njobs:\n{nodes}")
        azml(home, "job", "create", "-f", str(path), "--stream")  # warm-up
        found[label] = azml(home, "job", "create", "-f", str(path), "--stream")
    return found


def in_process_limit(home: Path) -> float:
    """Optuna's in-process loop over the README sweep's 10 trials (random sampler, seed 42, the same search space):
    one interpreter that imported once, no start-up at all. Optuna is added to the example's requirements in an
    environment of its own."""
    from azureml_v2.local.executors import envs

    conda = (ROOT / "examples/lightgbm/environment/conda.yml").read_text().replace("  - pip:\n", "  - pip:\n      - optuna\n")
    python = envs.prepare({"condaFile": conda}, home, log=sys.stderr).python
    code = ("import sys, time, runpy\nimport lightgbm, mlflow, sklearn, optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
            "def objective(trial):\n"
            "    sys.argv = ['train.py', '--lr', str(trial.suggest_float('lr', 0.01, 0.1)),\n"
            "                '--feature_fraction', str(trial.suggest_float('feature_fraction', 0.7, 0.9)),\n"
            "                '--bagging_fraction', str(trial.suggest_float('bagging_fraction', 0.6, 0.8))]\n"
            "    runpy.run_path('train.py', run_name='__main__')\n    return 0.0\n"
            "start = time.monotonic()\n"
            "optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=42)).optimize(objective, n_trials=10)\n"
            "print(time.monotonic() - start)\n")
    with tempfile.TemporaryDirectory() as tracking:  # train.py writes outputs/ where it runs: never the example
        shutil.copy(ROOT / "examples/lightgbm/src/train.py", tracking)
        out = subprocess.run([python, "-c", code], cwd=tracking, capture_output=True, text=True,
                             env={**os.environ, "MLFLOW_TRACKING_URI": f"file://{tracking}/mlruns",
                                  "MLFLOW_ALLOW_FILE_STORE": "true"})
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=HOME)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-parallel", action="store_true")
    args = parser.parse_args()
    args.home.mkdir(parents=True, exist_ok=True)
    results = {"load_before": os.getloadavg()}
    out = ROOT / "benchmarks" / "results" / f"warm-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = [("python -c pass", lambda: startups(args.home, folder, "python -c pass", False, args.runs)),
                   ("lightgbm job", lambda: startups(args.home, folder, "python train.py", True,
                                                     max(3, args.runs // 2)))]
        if not args.skip_pipeline:
            figures.append(("pipeline 16 sklearn steps", lambda: pipeline(args.home, folder)))
        if not args.skip_sweep:
            figures.append(("README sweep", lambda: sweep(args.home)))
        if not args.skip_parallel:
            figures.append(("parallel job, 100 files", lambda: parallel(folder, args.runs)))
        figures.append(("optuna in-process, 10 trials", lambda: in_process_limit(args.home)))
        for name, measure in figures:
            results[name] = measure()
            results["load_after"] = os.getloadavg()
            out.write_text(json.dumps(results, indent=1))  # what was measured so far
    for name, value in results.items():
        if isinstance(value, dict):
            cells = ", ".join(f"{k} {statistics.median(v) if isinstance(v, list) else v:.3f}"
                              + (f" [{min(v):.3f}-{max(v):.3f}]" if isinstance(v, list) else "")
                              for k, v in value.items())
            print(f"{name:32} {cells}")
        else:
            print(f"{name:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
